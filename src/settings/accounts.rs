//! Several Official Accounts in one deployment: the `[[accounts]]` tables of the config file.
//!
//! One table per account, in the TOML file given with `--config FILE` or `WXGROUPS_CONFIG`:
//!
//! ```toml
//! [[accounts]]
//! key = "shop"                           # required: in URLs (/a/shop/…)
//! name = "官方商城"                       # optional: what operators see; default: the key
//! appid = "wx0123456789abcdef"           # required
//! appsecret_file = "/run/secrets/shop"   # or appsecret = "…": exactly one of the two
//! api = "tags"                           # optional: groups | tags; default: WXGROUPS_API
//! token_mode = "external"                # optional: stable | classic | external
//! token_url = "https://tokens.example.com/shop"   # only with token_mode = "external"
//! wechat_api = "https://api.weixin.qq.com"        # optional; default: WXGROUPS_WECHAT_API
//! proxy_roles = { "ops@example.com" = "operator" } # optional: this account's proxy users
//!
//! [[accounts]]
//! key = "brand"
//! appid = "wxfedcba9876543210"
//! appsecret_file = "/run/secrets/brand"
//! ```
//!
//! - `key`: 1 to 32 lower-case letters a-z, digits and '-', not first or last (see
//!   [`AccountKey`]); each account its own.
//! - `name`: trimmed; left out, it is the key; given, it may not be blank.
//! - `appid`, `appsecret`, `appsecret_file`: as `WXGROUPS_APPID` and its secret; a secret file is
//!   read once at start and trimmed. Each AppID appears in one table only.
//! - `api`, `wechat_api`: each, when left out, is the value of the `WXGROUPS_*` setting of the
//!   same name (its default when that is unset too).
//! - `token_mode` and `token_url` go together: a table that sets neither uses
//!   `WXGROUPS_TOKEN_MODE` and `WXGROUPS_TOKEN_URL`; one that sets either takes neither from
//!   there (its `token_mode` is then `stable` unless given), so an account never pairs its own
//!   mode with another's token service.
//! - `proxy_roles`: users of the identity header (`WXGROUPS_AUTH_HEADER`, compared in lower case)
//!   and their role on this account, beside the global `WXGROUPS_PROXY_ROLES`, which is not copied
//!   here.
//!
//! Any other field stops the start, as does anything wrong in a table: the message names the
//! account by its key (or by its place, `accounts[2]`, when the key itself is wrong) and the field.
//! With `[[accounts]]`, the single-account settings `WXGROUPS_APPID`, `WXGROUPS_APPSECRET` and
//! `WXGROUPS_APPSECRET_FILE` must be unset; without, they make one account whose key is `default`
//! (see [`super::Settings::account_list`]). The other settings (timeouts, database, sign-in, …)
//! stay global.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use figment::value::Value;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{Scope, SettingsError, explain_in, kind_of, named};
use super::{access, wechat};
use crate::domain::{AccountKey, Api};
use crate::store::Role;
use crate::wechat::TokenMode;

/// One Official Account to serve, checked: from an `[[accounts]]` table, or the one the
/// single-account settings make.
#[derive(Clone)]
pub struct AccountSettings {
    /// In URLs: `/a/{key}/…`.
    pub key: AccountKey,
    /// What operators see (the key when the table gives none).
    pub name: String,
    pub appid: String,
    pub secret: SecretString,
    /// Managed through WeChat's groups or its tags.
    pub api: Api,
    pub token_mode: TokenMode,
    /// With `token_mode = external`: the token service for this account.
    pub token_url: Option<String>,
    /// Base URL of WeChat's API, without a trailing slash.
    pub wechat_api: String,
    /// This account's proxy users (lower case) and their roles on it, sorted by user.
    /// The global `WXGROUPS_PROXY_ROLES` are not in here: they stay in `Settings::access`.
    pub proxy_roles: Vec<(String, Role)>,
}

impl std::fmt::Debug for AccountSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSettings")
            .field("key", &self.key)
            .field("name", &self.name)
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("api", &self.api)
            .field("token_mode", &self.token_mode)
            .field("token_url", &self.token_url)
            .field("wechat_api", &self.wechat_api)
            .field("proxy_roles", &self.proxy_roles)
            .finish()
    }
}

impl AccountSettings {
    /// An account for tests: named by its key, `stable` tokens, no proxy roles, WeChat at
    /// `wechat_api` (a simulator's URL, or one where nothing listens).
    ///
    /// # Panics
    /// When `key` is not an [`AccountKey`].
    pub fn for_tests(
        key: &str,
        appid: &str,
        secret: &str,
        wechat_api: impl Into<String>,
        api: Api,
    ) -> Self {
        AccountSettings {
            key: AccountKey::parse(key).expect("a valid account key"),
            name: key.to_owned(),
            appid: appid.to_owned(),
            secret: secret.to_owned().into(),
            api,
            token_mode: TokenMode::Stable,
            token_url: None,
            wechat_api: wechat_api.into(),
            proxy_roles: Vec::new(),
        }
    }
}

/// What a table leaves out is taken from here: the checked `WXGROUPS_*` settings.
pub(super) struct Inherited<'a> {
    pub api: Api,
    pub token_mode: TokenMode,
    pub token_url: Option<&'a str>,
    pub wechat_api: &'a str,
}

/// One `[[accounts]]` table as written. Everything optional, so that a missing field gets our
/// sentence rather than serde's. No Debug: it holds the secret as a plain string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    key: Option<String>,
    name: Option<String>,
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
    api: Option<String>,
    token_mode: Option<String>,
    token_url: Option<String>,
    wechat_api: Option<String>,
    #[serde(default)]
    proxy_roles: BTreeMap<String, String>,
}

/// With `[[accounts]]`, the single-account settings must be unset: which of the two would
/// be served is not something to guess.
pub(super) fn single_account_unset(
    tables: &[Value],
    appid: bool,
    appsecret: bool,
    appsecret_file: bool,
) -> Result<(), SettingsError> {
    if tables.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = [
        ("appid", appid),
        ("appsecret", appsecret),
        ("appsecret_file", appsecret_file),
    ]
    .into_iter()
    .filter(|&(_, set)| set)
    .map(|(key, _)| named(key))
    .collect();
    if set.is_empty() {
        return Ok(());
    }
    Err(SettingsError(format!(
        "the config file has [[accounts]] and {} {} set too: with [[accounts]], give each \
         account's AppID and secret in its table and unset {}",
        set.join(" and "),
        if set.len() == 1 { "is" } else { "are" },
        if set.len() == 1 { "it" } else { "them" }
    )))
}

/// Every table, checked in order, then against each other (keys and AppIDs are unique).
pub(super) fn parse(
    tables: &[Value],
    inherited: &Inherited<'_>,
) -> Result<Vec<AccountSettings>, SettingsError> {
    let mut accounts: Vec<AccountSettings> = Vec::with_capacity(tables.len());
    for (position, table) in tables.iter().enumerate() {
        let account = one(position, table, inherited)?;
        if let Some(earlier) = accounts.iter().position(|a| a.key == account.key) {
            return Err(in_table(
                &by_position(position),
                format!(
                    "setting `key` is {:?}, which accounts[{earlier}] has already: each account \
                     needs its own key",
                    account.key.as_str()
                ),
            ));
        }
        if let Some(earlier) = accounts
            .iter()
            .find(|a| a.appid.eq_ignore_ascii_case(&account.appid))
        {
            return Err(in_table(
                &by_key(&account.key),
                format!(
                    "setting `appid` is {}, which account {:?} has already: configure each \
                     Official Account once",
                    account.appid,
                    earlier.key.as_str()
                ),
            ));
        }
        accounts.push(account);
    }
    Ok(accounts)
}

/// The table at `position`, named by its key once the key is known to be good.
fn one(
    position: usize,
    table: &Value,
    inherited: &Inherited<'_>,
) -> Result<AccountSettings, SettingsError> {
    if table.as_dict().is_none() {
        return Err(in_table(
            &by_position(position),
            format!(
                "is {}; expected a table ([[accounts]] with key = …, appid = …)",
                kind_of(&table.to_actual())
            ),
        ));
    }
    // The key first: every later message names the account by it.
    let key = match table.find_ref("key").and_then(Value::as_str) {
        Some(text) => Some(
            AccountKey::parse(text)
                .map_err(|e| in_table(&by_position(position), format!("setting `key` {e}")))?,
        ),
        None => None,
    };
    let label = match &key {
        Some(key) => by_key(key),
        None => by_position(position),
    };
    let within = |e: SettingsError| in_table(&label, e.0);
    let mut raw: RawAccount = table
        .deserialize()
        .map_err(|e| within(explain_in(Scope::Account, e)))?;
    let Some(key) = key else {
        return Err(within(SettingsError(
            "`key` is not set: give each account a key (lower-case letters, digits and '-'), \
             used in its URLs"
                .into(),
        )));
    };
    debug_assert_eq!(raw.key.as_deref(), Some(key.as_str()));

    let name = display_name(raw.name.take(), &key).map_err(within)?;
    let account = wechat::account(Scope::Account, raw.appid, raw.appsecret, raw.appsecret_file)
        .map_err(within)?
        .ok_or_else(|| {
            within(SettingsError(
                "`appid` is not set, nor `appsecret` or `appsecret_file`: each account needs \
                 its AppID and AppSecret"
                    .into(),
            ))
        })?;
    let api = match raw.api {
        Some(value) => wechat::which_api(Scope::Account, &value).map_err(within)?,
        None => inherited.api,
    };
    let (token_mode, token_url) = if raw.token_mode.is_none() && raw.token_url.is_none() {
        (inherited.token_mode, inherited.token_url.map(str::to_owned))
    } else {
        let mode = raw.token_mode.as_deref().unwrap_or("stable");
        wechat::token(Scope::Account, mode, raw.token_url).map_err(within)?
    };
    let wechat_api = match raw.wechat_api {
        Some(value) => wechat::api(Scope::Account, &value).map_err(within)?,
        None => inherited.wechat_api.to_owned(),
    };
    let proxy_roles = proxy_roles(raw.proxy_roles).map_err(within)?;
    Ok(AccountSettings {
        key,
        name,
        appid: account.appid,
        secret: account.secret,
        api,
        token_mode,
        token_url,
        wechat_api,
        proxy_roles,
    })
}

/// `name`: what operators see, trimmed; the key when it is left out, never blank.
fn display_name(name: Option<String>, key: &AccountKey) -> Result<String, SettingsError> {
    match name {
        None => Ok(key.to_string()),
        Some(name) if name.trim().is_empty() => Err(SettingsError(
            "setting `name` is empty: leave it out to show the key, or name the account".into(),
        )),
        Some(name) => Ok(name.trim().to_owned()),
    }
}

/// `proxy_roles = { "user" = "role", … }`: users in lower case, each once.
fn proxy_roles(table: BTreeMap<String, String>) -> Result<Vec<(String, Role)>, SettingsError> {
    let mut seen = HashSet::new();
    let mut list = Vec::with_capacity(table.len());
    for (user, role) in table {
        let user = user.trim().to_lowercase();
        if user.is_empty() {
            return Err(SettingsError(
                "setting `proxy_roles` has an empty user name".into(),
            ));
        }
        let role = access::role(&format!("`proxy_roles` (user {user:?})"), &role)?;
        if !seen.insert(user.clone()) {
            return Err(SettingsError(format!(
                "setting `proxy_roles` lists {user:?} twice (user names are compared in lower case)"
            )));
        }
        list.push((user, role));
    }
    list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(list)
}

fn by_key(key: &AccountKey) -> String {
    format!("account {:?} in the config file", key.as_str())
}

fn by_position(position: usize) -> String {
    format!(
        "accounts[{position}] in the config file (its {} [[accounts]] table)",
        ordinal(position + 1)
    )
}

fn in_table(label: &str, message: String) -> SettingsError {
    SettingsError(format!("{label}: {message}"))
}

/// 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 21st.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use figment::{
        Figment,
        providers::{Format, Serialized, Toml},
    };
    use secrecy::ExposeSecret;

    use super::super::{Raw, Settings};
    use super::*;

    const SECRET: &str = "s3cr3t-value";

    /// The settings from a config file's text and `WXGROUPS_*` pairs (which win, as in `load`),
    /// without the process environment.
    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut figment =
            Figment::from(Serialized::defaults(Raw::default())).merge(Toml::string(toml));
        for (k, v) in env {
            figment = figment.merge((*k, *v));
        }
        Settings::from_figment(figment)
    }

    fn error(toml: &str) -> String {
        load(toml, &[]).unwrap_err().to_string()
    }

    /// A file holding `text`, unique to this test process and `name`.
    fn secret_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wxgroups-accounts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        file
    }

    fn toml_path(path: &Path) -> String {
        format!("{:?}", path.to_str().unwrap())
    }

    #[test]
    fn two_accounts_are_read_with_their_own_settings_and_the_environments_defaults() {
        let file = secret_file("two-accounts", "brand-secret\n");
        let s = load(
            &format!(
                r#"
                [[accounts]]
                key = "shop"
                name = " 官方商城 "
                appid = "wxshop"
                appsecret = "shop-secret"
                api = "groups"
                wechat_api = "http://127.0.0.1:9000/"
                proxy_roles = {{ "Ops@Example.com" = "operator", "boss" = "admin" }}

                [[accounts]]
                key = "brand-2"
                appid = "wxbrand"
                appsecret_file = {}
                "#,
                toml_path(&file)
            ),
            &[("api", "tags"), ("wechat_api", "https://wx.example.com")],
        )
        .unwrap();
        assert!(s.account.is_none());
        let list = s.account_list();
        assert_eq!(list.len(), 2);
        let (shop, brand) = (&list[0], &list[1]);
        assert_eq!(shop.key.as_str(), "shop");
        assert_eq!(shop.name, "官方商城");
        assert_eq!(shop.appid, "wxshop");
        assert_eq!(shop.secret.expose_secret(), "shop-secret");
        assert_eq!(shop.api, Api::Groups);
        assert_eq!(shop.wechat_api, "http://127.0.0.1:9000");
        assert_eq!(shop.token_mode, TokenMode::Stable);
        assert_eq!(
            shop.proxy_roles,
            [
                ("boss".to_owned(), Role::Admin),
                ("ops@example.com".to_owned(), Role::Operator)
            ]
        );
        assert_eq!(brand.key.as_str(), "brand-2");
        assert_eq!(brand.name, "brand-2", "no name: the key");
        assert_eq!(brand.secret.expose_secret(), "brand-secret");
        assert_eq!(brand.api, Api::Tags, "WXGROUPS_API's value");
        assert_eq!(brand.wechat_api, "https://wx.example.com");
        assert!(brand.proxy_roles.is_empty());
        assert!(
            s.access.proxy_roles.is_empty(),
            "nothing copied to the global roles"
        );
    }

    #[test]
    fn the_token_mode_and_url_come_from_the_table_or_both_from_the_environment() {
        let env = [
            ("token_mode", "external"),
            ("token_url", "https://tokens.example.com/"),
        ];
        let s = load(
            r#"
            [[accounts]]
            key = "inherits"
            appid = "wx1"
            appsecret = "x"

            [[accounts]]
            key = "own-mode"
            appid = "wx2"
            appsecret = "x"
            token_mode = "classic"

            [[accounts]]
            key = "own-service"
            appid = "wx3"
            appsecret = "x"
            token_mode = "external"
            token_url = "https://tokens.example.com/brand"
            "#,
            &env,
        )
        .unwrap();
        let modes: Vec<_> = s
            .accounts
            .iter()
            .map(|a| (a.token_mode, a.token_url.as_deref()))
            .collect();
        assert_eq!(
            modes,
            [
                (TokenMode::External, Some("https://tokens.example.com/")),
                (TokenMode::Classic, None),
                (
                    TokenMode::External,
                    Some("https://tokens.example.com/brand")
                ),
            ]
        );
        let e = load(
            r#"
            [[accounts]]
            key = "half"
            appid = "wx1"
            appsecret = "x"
            token_url = "https://tokens.example.com/half"
            "#,
            &env,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "account \"half\" in the config file: `token_url` is set but `token_mode` is not \
             `external`: set both or neither"
        );
    }

    #[test]
    fn a_bad_key_names_the_table_by_its_place_and_the_rule() {
        let table = |key: &str| {
            format!(
                "[[accounts]]\nkey = \"ok\"\nappid = \"wx1\"\nappsecret = \"x\"\n\n\
                 [[accounts]]\n{key}\nappid = \"wx2\"\nappsecret = \"x\"\n"
            )
        };
        for (key, rule) in [
            ("key = \"Shop\"", "upper-case letter 'S'"),
            ("key = \"my shop\"", "' '"),
            ("key = \"shop/2\"", "'/'"),
            ("key = \"\"", "is empty"),
            (
                &format!("key = \"{}\"", "a".repeat(33)),
                "has 33 characters",
            ),
            ("key = \"-shop\"", "starts or ends with '-'"),
            ("key = 5", "is a number; expected a string"),
            ("", "`key` is not set"),
        ] {
            let e = error(&table(key));
            assert!(
                e.starts_with("accounts[1] in the config file (its 2nd [[accounts]] table): "),
                "{key}: {e}"
            );
            assert!(e.contains("`key`") && e.contains(rule), "{key}: {e}");
        }
        assert_eq!(
            error(&table("key = \"Shop\"")),
            "accounts[1] in the config file (its 2nd [[accounts]] table): setting `key` has the \
             upper-case letter 'S'; an account key is in lower case"
        );
    }

    #[test]
    fn a_duplicate_key_names_both_places() {
        let e = error(
            r#"
            [[accounts]]
            key = "shop"
            appid = "wx1"
            appsecret = "x"

            [[accounts]]
            key = "brand"
            appid = "wx2"
            appsecret = "x"

            [[accounts]]
            key = "shop"
            appid = "wx3"
            appsecret = "x"
            "#,
        );
        assert_eq!(
            e,
            "accounts[2] in the config file (its 3rd [[accounts]] table): setting `key` is \
             \"shop\", which accounts[0] has already: each account needs its own key"
        );
    }

    #[test]
    fn a_duplicate_appid_names_both_accounts() {
        let e = error(
            r#"
            [[accounts]]
            key = "shop"
            appid = "wxABC"
            appsecret = "x"

            [[accounts]]
            key = "brand"
            appid = "wxabc"
            appsecret = "y"
            "#,
        );
        assert_eq!(
            e,
            "account \"brand\" in the config file: setting `appid` is wxabc, which account \
             \"shop\" has already: configure each Official Account once"
        );
    }

    #[test]
    fn a_missing_secret_or_two_of_them_name_the_account_and_the_fields() {
        let e = error("[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\n");
        assert_eq!(
            e,
            "account \"shop\" in the config file: `appid` is set but no AppSecret: set \
             `appsecret` or `appsecret_file`"
        );
        let e = error(
            "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"a\"\n\
             appsecret_file = \"/tmp/x\"\n",
        );
        assert_eq!(
            e,
            "account \"shop\" in the config file: both `appsecret` and `appsecret_file` are set: \
             keep only one"
        );
        let e = error("[[accounts]]\nkey = \"shop\"\n");
        assert!(
            e.starts_with("account \"shop\" in the config file: `appid` is not set"),
            "{e}"
        );
        let e = error("[[accounts]]\nkey = \"shop\"\nappsecret = \"a\"\n");
        assert_eq!(
            e,
            "account \"shop\" in the config file: an AppSecret is set but no AppID: set `appid`"
        );
    }

    #[test]
    fn an_unreadable_secret_file_names_the_account_the_field_and_the_file() {
        let e = error(
            "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\n\
             appsecret_file = \"/nonexistent/shop\"\n",
        );
        assert!(
            e.starts_with(
                "account \"shop\" in the config file: setting `appsecret_file`: cannot read \
                 /nonexistent/shop ("
            ),
            "{e}"
        );
        let empty = secret_file("empty", "\n");
        let e = error(&format!(
            "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret_file = {}\n",
            toml_path(&empty)
        ));
        assert_eq!(
            e,
            "account \"shop\" in the config file: setting `appsecret` is empty"
        );
    }

    #[test]
    fn an_unknown_field_names_the_account_and_lists_the_fields() {
        let e = error(
            "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"x\"\nap = \"tags\"\n",
        );
        assert!(
            e.starts_with(
                "account \"shop\" in the config file: unknown field `ap`: check its spelling \
                 (an [[accounts]] table has key, name, appid, appsecret, appsecret_file, api,"
            ),
            "{e}"
        );
        let e = error("[[accounts]]\nkey = \"Shop\"\nmystery = 1\n");
        assert!(e.starts_with("accounts[0] "), "a bad key comes first: {e}");
    }

    #[test]
    fn a_bad_api_token_mode_url_or_role_names_the_account_and_the_field() {
        let base = "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"x\"\n";
        for (line, field, hint) in [
            ("api = \"labels\"", "`api`", "\"labels\"; use `groups`"),
            (
                "token_mode = \"fast\"",
                "`token_mode`",
                "\"fast\"; use `stable`",
            ),
            (
                "token_mode = \"external\"",
                "`token_url`",
                "is external but `token_url` is not set",
            ),
            (
                "token_mode = \"external\"\ntoken_url = \"ftp://x\"",
                "`token_url`",
                "is not an http(s) URL",
            ),
            (
                "wechat_api = \"api.weixin.qq.com\"",
                "`wechat_api`",
                "not an http(s) URL",
            ),
            (
                "proxy_roles = { \"ops@example.com\" = \"boss\" }",
                "`proxy_roles` (user \"ops@example.com\")",
                "\"boss\" is not a role",
            ),
            (
                "proxy_roles = { \"Ops\" = \"viewer\", \"ops\" = \"admin\" }",
                "`proxy_roles`",
                "\"ops\" twice",
            ),
            (
                "proxy_roles = \"ops=admin\"",
                "`proxy_roles`",
                "is text; expected a map",
            ),
            ("api = 3", "`api`", "is a number"),
            ("appid = \"wx-1\"", "`appid`", "only letters and digits"),
        ] {
            // A later `appid` stands for the base's.
            let base = if line.starts_with("appid") {
                base.replace("appid = \"wx1\"\n", "")
            } else {
                base.to_owned()
            };
            let e = error(&format!("{base}{line}\n"));
            assert!(
                e.starts_with("account \"shop\" in the config file: "),
                "{line}: {e}"
            );
            assert!(e.contains(field) && e.contains(hint), "{line}: {e}");
            assert!(
                !e.contains("WXGROUPS_"),
                "{line}: names a global setting: {e}"
            );
        }
    }

    #[test]
    fn a_name_is_optional_but_not_blank() {
        let base = "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"x\"\n";
        assert_eq!(load(base, &[]).unwrap().accounts[0].name, "shop");
        assert_eq!(
            error(&format!("{base}name = \"  \"\n")),
            "account \"shop\" in the config file: setting `name` is empty: leave it out to show \
             the key, or name the account"
        );
    }

    #[test]
    fn an_entry_that_is_not_a_table_or_accounts_that_are_not_tables_are_refused() {
        assert_eq!(
            error("accounts = [\"shop\"]\n"),
            "accounts[0] in the config file (its 1st [[accounts]] table): is text; expected a \
             table ([[accounts]] with key = …, appid = …)"
        );
        let e = error("accounts = \"shop\"\n");
        assert!(
            e.starts_with("`accounts` is text;") && e.contains("[[accounts]] table"),
            "{e}"
        );
    }

    #[test]
    fn the_environment_account_becomes_the_one_with_the_key_default() {
        let s = load(
            "",
            &[
                ("appid", "wx123"),
                ("appsecret", SECRET),
                ("api", "tags"),
                ("token_mode", "classic"),
                ("wechat_api", "http://127.0.0.1:9/"),
                ("proxy_roles", "alice=admin"),
            ],
        )
        .unwrap();
        assert!(s.accounts.is_empty());
        let list = s.account_list();
        assert_eq!(list.len(), 1);
        let a = &list[0];
        assert_eq!(a.key.as_str(), "default");
        assert_eq!(a.name, "wx123");
        assert_eq!(a.appid, "wx123");
        assert_eq!(a.secret.expose_secret(), SECRET);
        assert_eq!(a.api, Api::Tags);
        assert_eq!(a.token_mode, TokenMode::Classic);
        assert_eq!(a.token_url, None);
        assert_eq!(a.wechat_api, "http://127.0.0.1:9");
        assert!(a.proxy_roles.is_empty(), "the global roles stay global");
        assert_eq!(s.access.proxy_roles["alice"], Role::Admin);
    }

    #[test]
    fn no_account_at_all_is_the_demo_with_an_empty_list() {
        assert!(load("", &[]).unwrap().account_list().is_empty());
        assert!(
            load("accounts = []\n", &[])
                .unwrap()
                .account_list()
                .is_empty()
        );
        assert!(Settings::for_tests().account_list().is_empty());
    }

    #[test]
    fn accounts_and_the_environment_account_together_are_refused_naming_both() {
        let toml = "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"x\"\n";
        assert_eq!(
            load(toml, &[("appid", "wx2"), ("appsecret", SECRET)])
                .unwrap_err()
                .to_string(),
            "the config file has [[accounts]] and WXGROUPS_APPID (or `appid` in the config file) \
             and WXGROUPS_APPSECRET (or `appsecret` in the config file) are set too: with \
             [[accounts]], give each account's AppID and secret in its table and unset them"
        );
        let e = load(toml, &[("appsecret_file", "/run/secrets/x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[[accounts]]") && e.contains("WXGROUPS_APPSECRET_FILE"),
            "{e}"
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_or_in_any_error() {
        let good =
            format!("[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = \"{SECRET}\"\n");
        let s = load(&good, &[]).unwrap();
        assert!(!format!("{s:?}").contains(SECRET));
        assert!(!format!("{:?}", s.account_list()).contains(SECRET));
        let test_account = AccountSettings::for_tests("t", "wx9", SECRET, "http://x", Api::Groups);
        assert!(!format!("{test_account:?}").contains(SECRET));

        let secret_line = format!("appsecret = \"{SECRET}\"");
        for bad in [
            format!("{good}appsecret_file = \"/tmp/x\"\n"),
            format!("{good}apisecret = \"{SECRET}\"\n"),
            format!("{good}api = \"labels\"\n"),
            format!("{good}name = \"\"\n"),
            format!("{good}token_url = \"https://t\"\n"),
            format!("{good}proxy_roles = {{ \"a\" = \"boss\" }}\n"),
            format!("{good}\n[[accounts]]\nkey = \"shop\"\nappid = \"wx2\"\n{secret_line}\n"),
            format!("{good}\n[[accounts]]\nkey = \"brand\"\nappid = \"wx1\"\n{secret_line}\n"),
            format!("[[accounts]]\nkey = \"Shop\"\nappid = \"wx1\"\n{secret_line}\n"),
            format!("[[accounts]]\nappid = \"wx1\"\n{secret_line}\n"),
            format!("[[accounts]]\nkey = \"shop\"\nappid = \"wx-1\"\n{secret_line}\n"),
            format!("[[accounts]]\nkey = \"shop\"\n{secret_line}\n"),
            "[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = 12345\n".to_owned(),
            format!("[[accounts]]\nkey = \"shop\"\nappid = \"wx1\"\nappsecret = [\"{SECRET}\"]\n"),
        ] {
            let e = error(&bad);
            assert!(!e.contains(SECRET), "{bad}: {e}");
            assert!(!e.contains("12345"), "{bad}: {e}");
        }
        let unterminated = format!("[[accounts]]\nkey = \"shop\"\nappsecret = \"{SECRET}\n");
        let e = error(&unterminated);
        assert!(e.starts_with("settings: TOML parse error at line 3"), "{e}");
        assert!(!e.contains(SECRET), "{e}");
        let e = load(&good, &[("appid", "wx2"), ("appsecret", SECRET)])
            .unwrap_err()
            .to_string();
        assert!(!e.contains(SECRET), "{e}");
    }

    #[test]
    fn tests_can_give_accounts_directly() {
        let shop = AccountSettings::for_tests("shop", "wx1", "a", "http://127.0.0.1:9", Api::Tags);
        let s = Settings::for_tests()
            .with_account("wx0", "b", "http://127.0.0.1:9")
            .with_accounts(vec![shop]);
        let list = s.account_list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].key.as_str(), "shop");
        assert_eq!(list[0].name, "shop");
        assert_eq!(list[0].api, Api::Tags);
    }

    #[test]
    fn ordinals_read_as_english() {
        let words: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            words,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
