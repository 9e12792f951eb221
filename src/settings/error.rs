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

/// The first thing figment could not read, naming the setting.
pub(super) fn explain(err: figment::Error) -> SettingsError {
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
        figment::error::Kind::UnknownField(field, _) => {
            return SettingsError(format!(
                "unknown setting {}: check its spelling (see README.md, Configuration)",
                named(field)
            ));
        }
        other => other.to_string(),
    };
    if key.is_empty() {
        SettingsError(format!("settings: {what}"))
    } else {
        SettingsError(format!("setting {} {what}", named(&key)))
    }
}

/// What a wrongly typed value was, without the value itself.
fn kind_of(actual: &figment::error::Actual) -> &'static str {
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
