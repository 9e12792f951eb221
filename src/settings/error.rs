//! The one error of settings parsing, how a setting is named in it, and figment's own errors
//! said the same way.

/// A setting that cannot be used, said so that the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub(super) String);

/// A setting as the operator may have written it: the variable *and* the file key.
pub(super) fn named(key: &str) -> String {
    format!(
        "WXGROUPS_{} (or `{key}` in the config file)",
        key.to_ascii_uppercase()
    )
}

/// Where a setting sits, for naming it in a message: among the `WXGROUPS_*` settings, or in one
/// `[[accounts]]` table of the config file (whose errors are then prefixed with the account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Global,
    Account,
}

impl Scope {
    /// `WXGROUPS_TOKEN_MODE (or `token_mode` in the config file)`, or `` `token_mode` `` in an
    /// account's table.
    pub(super) fn name(self, key: &str) -> String {
        match self {
            Scope::Global => named(key),
            Scope::Account => format!("`{key}`"),
        }
    }
}

/// The first thing figment could not read, naming the setting.
pub(super) fn explain(err: figment::Error) -> SettingsError {
    explain_in(Scope::Global, err)
}

/// The first thing figment could not read, naming the setting as `scope` does.
pub(super) fn explain_in(scope: Scope, err: figment::Error) -> SettingsError {
    let e = err
        .into_iter()
        .next()
        .expect("a figment error has at least one cause");
    let key = e.path.join(".");
    let what = match &e.kind {
        // Never echo a value back: it might be the secret in the wrong place.
        figment::error::Kind::InvalidType(actual, expected) => {
            format!("is {}; expected {expected}", kind_of(actual))
        }
        figment::error::Kind::InvalidValue(_, expected) => {
            format!("has an invalid value; expected {expected}")
        }
        figment::error::Kind::UnknownField(field, expected) => {
            return SettingsError(match scope {
                Scope::Global => format!(
                    "unknown setting {}: check its spelling (see README.md, Configuration)",
                    named(field)
                ),
                Scope::Account => format!(
                    "unknown field {}: check its spelling (an [[accounts]] table has {})",
                    scope.name(field),
                    expected.join(", ")
                ),
            });
        }
        // A TOML syntax error quotes the line at fault, which may be `appsecret = "…`.
        other => without_quoted_lines(&other.to_string()),
    };
    if key.is_empty() {
        SettingsError(format!("settings: {what}"))
    } else if scope == Scope::Global && key == "accounts" {
        SettingsError(format!(
            "`accounts` {what}: give each account as an [[accounts]] table in the config file"
        ))
    } else {
        SettingsError(format!("setting {} {what}", scope.name(&key)))
    }
}

/// A parser's message without the lines it quotes from the file (`5 | appsecret = "…`, the
/// `|` and `^` lines around it), on one line.
fn without_quoted_lines(message: &str) -> String {
    message
        .lines()
        .filter(|line| {
            let rest = line
                .trim_start()
                .trim_start_matches(|c: char| c.is_ascii_digit());
            !rest.trim_start().starts_with('|') && !line.trim().is_empty()
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// What a wrongly typed value was, without the value itself.
pub(super) fn kind_of(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Str(_) | Actual::Char(_) => "text",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Bool(_) => "true/false",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of the wrong kind",
    }
}
