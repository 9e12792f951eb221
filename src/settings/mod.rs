//! Settings: `WXGROUPS_*` environment variables over an optional TOML file.
//!
//! figment does the merging; we only turn its errors into sentences that name the setting the
//! way the operator wrote it (the variable *and* the file key), and check what serde cannot:
//! a secret given twice, an AppID without a secret, a URL that is not one.
//!
//! One file per concern, each checking its own settings: `server.rs` (listen address, log
//! format, base path, public URL), `wechat.rs` (the account, the token source, the API URL and
//! timeout), `accounts.rs` (several accounts: the config file's `[[accounts]]`), `access.rs`
//! (proxies, identity header, roles, sessions, who may read the metrics), `jobs.rs` (batch
//! pacing); `error.rs` says what is wrong.

mod access;
mod accounts;
mod error;
mod jobs;
mod server;
mod wechat;

pub use accounts::AccountSettings;
pub use error::SettingsError;
pub use jobs::JobSettings;
pub use server::LogFormat;
pub use wechat::Account;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
    value::Value,
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::Access,
    domain::{AccountKey, Api},
    wechat::TokenMode,
};
use error::Scope;

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The single account of `WXGROUPS_APPID`; `None` with no `[[accounts]]` either runs the
    /// in-process simulator: the demo. [`Self::account_list`] gives the accounts to serve.
    pub account: Option<Account>,
    /// The config file's `[[accounts]]`, checked, in the file's order; empty when it has none.
    /// Never beside [`Self::account`] (the start refuses both).
    pub accounts: Vec<AccountSettings>,
    pub wechat_api: String,
    /// `WXGROUPS_API`: manage the account through WeChat's groups (the default) or its tags.
    pub api: Api,
    pub token_mode: TokenMode,
    /// With `token_mode = external`: the company's token service.
    pub token_url: Option<String>,
    /// How long the cached group list counts as fresh.
    pub groups_max_age: Duration,
    /// Whole-request timeout for every WeChat call.
    pub upstream_timeout: Duration,
    /// Followers seeded into the demo account.
    pub demo_followers: u32,
    /// Simulated accounts in the demo: 2 (one in each API, so the switcher shows), or 1.
    pub demo_accounts: u8,
    pub log_format: LogFormat,
    /// Where operators, sessions and the audit log live.
    pub database_url: String,
    /// "" or a prefix like "/wx" under which the reverse proxy serves the app.
    pub base_path: String,
    /// The origin the browser sees (scheme://host[:port]), trusted for CSRF checks.
    pub public_origin: Option<String>,
    /// The `Host`s pages are served for (lower case, `host` or `host:port`); empty: any.
    /// `WXGROUPS_ALLOWED_HOSTS`, else the public URL's host.
    pub allowed_hosts: Vec<String>,
    /// Sign-in, proxy and session settings (`demo` is filled in at start-up).
    pub access: Access,
    /// Who may read /healthz, /readyz and /metrics (empty: anyone who reaches the port).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// How batch jobs pace their calls to WeChat.
    pub jobs: JobSettings,
    /// `WXGROUPS_SECRET_KEY(_FILE)`: shared by every instance of a deployment (see
    /// `server::secret_key`); without it each process makes its own CSRF key and shares no token.
    pub secret_key: Option<secrecy::SecretString>,
}

/// The raw shape, as figment reads it. Field names are the lower-cased variable names without
/// the `WXGROUPS_` prefix, and the keys of the TOML file.
// No Debug: it holds the secret as a plain string until the account is built.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: String,
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
    wechat_api: String,
    api: String,
    token_mode: String,
    token_url: Option<String>,
    groups_max_age_secs: u64,
    upstream_timeout_secs: u64,
    demo_followers: u32,
    demo_accounts: u8,
    log_format: LogFormat,
    database_url: String,
    base_path: String,
    public_url: Option<String>,
    allowed_hosts: String,
    auth_header: Option<String>,
    trusted_proxies: String,
    proxy_default_role: String,
    proxy_roles: String,
    session_idle_mins: u64,
    session_max_hours: u64,
    metrics_allow: String,
    batch_per_minute: u32,
    batch_backoff_ms: u64,
    lease_secs: u64,
    secret_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    /// The `[[accounts]]` tables, left as values so that each is read on its own and its
    /// errors can name the account (see `accounts.rs`).
    accounts: Vec<Value>,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            listen: "127.0.0.1:8080".into(),
            appid: None,
            appsecret: None,
            appsecret_file: None,
            wechat_api: "https://api.weixin.qq.com".into(),
            api: "groups".into(),
            token_mode: "stable".into(),
            token_url: None,
            groups_max_age_secs: 300,
            upstream_timeout_secs: 10,
            demo_followers: 1_000,
            demo_accounts: 2,
            log_format: LogFormat::Human,
            database_url: "sqlite://wxgroups.db".into(),
            base_path: String::new(),
            public_url: None,
            allowed_hosts: String::new(),
            auth_header: None,
            trusted_proxies: String::new(),
            proxy_default_role: "viewer".into(),
            proxy_roles: String::new(),
            session_idle_mins: 60,
            session_max_hours: 12,
            metrics_allow: String::new(),
            batch_per_minute: 300,
            batch_backoff_ms: 60_000,
            lease_secs: 15,
            secret_key: None,
            secret_key_file: None,
            accounts: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads the environment (and `file`, when given). Environment variables win over the file.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Raw::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "the config file {} does not exist or is not a file",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        // WXGROUPS_CONFIG names the file itself; it is not a setting.
        figment = figment.merge(Env::prefixed("WXGROUPS_").ignore(&["config"]));
        Self::from_figment(figment)
    }

    /// Checks every setting, in a fixed order, so that the first one wrong is the one named.
    fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let raw: Raw = figment.extract().map_err(error::explain)?;
        let listen = server::listen(&raw.listen)?;
        let (token_mode, token_url) = wechat::token(Scope::Global, &raw.token_mode, raw.token_url)?;
        let wechat_api = wechat::api(Scope::Global, &raw.wechat_api)?;
        let api = wechat::which_api(Scope::Global, &raw.api)?;
        let upstream_timeout = wechat::upstream_timeout(raw.upstream_timeout_secs)?;
        accounts::single_account_unset(
            &raw.accounts,
            raw.appid.as_deref().is_some_and(|a| !a.trim().is_empty()),
            raw.appsecret.is_some(),
            raw.appsecret_file.is_some(),
        )?;
        let account = wechat::account(Scope::Global, raw.appid, raw.appsecret, raw.appsecret_file)?;
        let accounts = accounts::parse(
            &raw.accounts,
            &accounts::Inherited {
                api,
                token_mode,
                token_url: token_url.as_deref(),
                wechat_api: &wechat_api,
            },
        )?;
        let base_path = server::base_path(&raw.base_path)?;
        let public_origin = server::public_origin(raw.public_url.as_deref())?;
        let allowed_hosts = server::allowed_hosts(&raw.allowed_hosts, public_origin.as_deref())?;
        let trusted_proxies = access::cidr_list("trusted_proxies", &raw.trusted_proxies)?;
        let metrics_allow = access::cidr_list("metrics_allow", &raw.metrics_allow)?;
        let auth_header = access::auth_header(raw.auth_header.as_deref(), &trusted_proxies)?;
        let (proxy_default_role, proxy_roles) =
            access::proxy_roles(&raw.proxy_default_role, &raw.proxy_roles)?;
        let (session_idle, session_max) =
            access::session_limits(raw.session_idle_mins, raw.session_max_hours)?;
        let jobs = JobSettings::parse(raw.batch_per_minute, raw.batch_backoff_ms, raw.lease_secs)?;
        Ok(Settings {
            listen,
            account,
            accounts,
            wechat_api,
            api,
            token_mode,
            token_url,
            groups_max_age: Duration::from_secs(raw.groups_max_age_secs),
            upstream_timeout,
            demo_followers: raw.demo_followers,
            demo_accounts: server::demo_accounts(raw.demo_accounts)?,
            log_format: raw.log_format,
            database_url: raw.database_url,
            base_path,
            public_origin,
            allowed_hosts,
            access: Access {
                auth_header,
                trusted_proxies,
                proxy_default_role,
                proxy_roles,
                demo: false,
                session_idle,
                session_max,
            },
            metrics_allow,
            jobs,
            secret_key: server::secret_key(raw.secret_key, raw.secret_key_file)?,
        })
    }

    /// Settings for tests and benchmarks: the demo account with 300 followers, a free loopback
    /// port, an in-memory database, a 5 s upstream timeout, and the defaults otherwise. WeChat is
    /// a port where nothing listens until [`Self::with_account`] names one, so a test never
    /// reaches the real API by accident.
    pub fn for_tests() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            account: None,
            accounts: Vec::new(),
            wechat_api: "http://127.0.0.1:9".into(),
            api: Api::Groups,
            token_mode: TokenMode::Stable,
            token_url: None,
            groups_max_age: Duration::from_secs(300),
            upstream_timeout: Duration::from_secs(5),
            demo_followers: 300,
            demo_accounts: 1,
            log_format: LogFormat::Human,
            database_url: crate::store::testing::database_url(),
            base_path: String::new(),
            public_origin: None,
            allowed_hosts: Vec::new(),
            access: Access::default(),
            metrics_allow: Vec::new(),
            jobs: JobSettings::default(),
            secret_key: None,
        }
    }

    /// These settings for the account `appid` with `secret`, whose WeChat answers at
    /// `wechat_api` (a simulator's URL, or one where nothing listens).
    pub fn with_account(
        mut self,
        appid: &str,
        secret: &str,
        wechat_api: impl Into<String>,
    ) -> Self {
        self.account = Some(Account {
            appid: appid.to_owned(),
            secret: secret.to_owned().into(),
        });
        self.wechat_api = wechat_api.into();
        self
    }

    /// These settings with `accounts` as if the config file had them as `[[accounts]]`: they
    /// are what [`Self::account_list`] gives, whatever [`Self::with_account`] set.
    pub fn with_accounts(mut self, accounts: Vec<AccountSettings>) -> Self {
        self.accounts = accounts;
        self
    }

    /// The accounts to serve: the `[[accounts]]` when there are any; else the one account of
    /// `WXGROUPS_APPID`, with the key `default`, named by its AppID, and the single-account
    /// settings (api, token mode and URL, WeChat's URL; its `proxy_roles` are empty, the global
    /// `WXGROUPS_PROXY_ROLES` staying in [`Self::access`]); else none: the demo, whose
    /// simulated accounts the caller makes.
    pub fn account_list(&self) -> Vec<AccountSettings> {
        if !self.accounts.is_empty() {
            return self.accounts.clone();
        }
        let Some(account) = &self.account else {
            return Vec::new();
        };
        vec![AccountSettings {
            key: AccountKey::default(),
            name: account.appid.clone(),
            appid: account.appid.clone(),
            secret: account.secret.clone(),
            api: self.api,
            token_mode: self.token_mode,
            token_url: self.token_url.clone(),
            wechat_api: self.wechat_api.clone(),
            proxy_roles: Vec::new(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::store::Role;

    fn load(env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Raw::default()));
        for (k, v) in env {
            figment = figment.merge((k.to_ascii_lowercase(), *v));
        }
        Settings::from_figment(figment)
    }

    #[test]
    fn no_appid_means_the_demo_account() {
        let s = load(&[]).unwrap();
        assert!(s.account.is_none());
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.token_mode, TokenMode::Stable);
    }

    #[test]
    fn an_appid_without_a_secret_is_refused_by_name() {
        let e = load(&[("appid", "wx123")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_APPSECRET"), "{e}");
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let e = load(&[("listen", "8080")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_LISTEN"), "{e}");
    }

    #[test]
    fn a_bad_number_names_the_setting_without_echoing_the_value() {
        let e = load(&[("groups_max_age_secs", "five")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("WXGROUPS_GROUPS_MAX_AGE_SECS"), "{e}");
        assert!(!e.contains("five"), "{e}");
    }

    #[test]
    fn an_unknown_setting_is_refused_so_typos_do_not_pass_silently() {
        let e = load(&[("apid", "wx123")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_APID"), "{e}");
    }

    #[test]
    fn the_api_is_groups_unless_tags_is_chosen_and_anything_else_names_the_choices() {
        assert_eq!(load(&[]).unwrap().api, Api::Groups);
        assert_eq!(load(&[("api", "tags")]).unwrap().api, Api::Tags);
        let e = load(&[("api", "labels")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_API") && e.contains("`tags`"), "{e}");
    }

    #[test]
    fn a_bad_token_mode_names_the_choices() {
        let e = load(&[("token_mode", "fast")]).unwrap_err().to_string();
        assert!(e.contains("stable") && e.contains("classic"), "{e}");
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let s = load(&[("appid", "wx123"), ("appsecret", "s3cr3t-value")]).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn a_secret_file_is_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("wxgroups-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let s = load(&[
            ("appid", "wx123"),
            ("appsecret_file", file.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(s.account.unwrap().secret.expose_secret(), "from-file");
        let e = load(&[
            ("appid", "wx123"),
            ("appsecret_file", "/nonexistent/secret"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/secret"), "{e}");
    }

    #[test]
    fn the_secret_key_is_long_from_one_place_and_never_shown() {
        assert!(load(&[]).unwrap().secret_key.is_none());
        let key = "k".repeat(40);
        let s = load(&[("secret_key", key.as_str())]).unwrap();
        assert_eq!(s.secret_key.as_ref().unwrap().expose_secret(), key);
        assert!(!format!("{s:?}").contains(&key), "not in Debug");
        let e = load(&[("secret_key", "short")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_SECRET_KEY") && e.contains("32"), "{e}");
        assert!(!e.contains("short\""), "the value is not repeated: {e}");
        let e = load(&[("secret_key", key.as_str()), ("secret_key_file", "/x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("keep only one"), "{e}");
        let e = load(&[("secret_key_file", "/nonexistent/key")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WXGROUPS_SECRET_KEY_FILE") && e.contains("/nonexistent/key"),
            "{e}"
        );
    }

    #[test]
    fn the_lease_has_a_default_and_bounds() {
        assert_eq!(load(&[]).unwrap().jobs.lease, Duration::from_secs(15));
        let with = |secs: u64| {
            Settings::from_figment(
                Figment::from(Serialized::defaults(Raw::default())).merge(("lease_secs", secs)),
            )
        };
        assert_eq!(with(3).unwrap().jobs.lease, Duration::from_secs(3));
        for bad in [0, 3601] {
            let e = with(bad).unwrap_err().to_string();
            assert!(
                e.contains("WXGROUPS_LEASE_SECS") && e.contains("3600"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn batch_pacing_has_defaults_and_bounds() {
        let s = load(&[]).unwrap();
        assert_eq!(s.jobs, JobSettings::default());
        assert_eq!(s.jobs.interval(), Duration::from_millis(200));
        let figment = Figment::from(Serialized::defaults(Raw::default()))
            .merge(("batch_per_minute", 6000))
            .merge(("batch_backoff_ms", 50));
        let s = Settings::from_figment(figment).unwrap();
        assert_eq!(s.jobs.interval(), Duration::from_millis(10));
        assert_eq!(s.jobs.quota_backoff, Duration::from_millis(50));
        let figment =
            Figment::from(Serialized::defaults(Raw::default())).merge(("batch_per_minute", 0));
        let e = Settings::from_figment(figment).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_BATCH_PER_MINUTE"), "{e}");
    }

    #[test]
    fn both_secret_forms_at_once_are_refused() {
        let e = load(&[
            ("appid", "wx123"),
            ("appsecret", "a"),
            ("appsecret_file", "/tmp/x"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("keep only one"), "{e}");
    }

    #[test]
    fn a_base_path_loses_its_trailing_slash_and_must_be_a_path() {
        assert_eq!(load(&[("base_path", "/wx/")]).unwrap().base_path, "/wx");
        let e = load(&[("base_path", "wx")]).unwrap_err().to_string();
        assert!(e.contains("WXGROUPS_BASE_PATH"), "{e}");
        assert!(load(&[("base_path", "/w x")]).is_err());
    }

    #[test]
    fn the_public_url_gives_the_origin() {
        let s = load(&[("public_url", "https://Ops.Example.com:8443/wx/")]).unwrap();
        assert_eq!(
            s.public_origin.as_deref(),
            Some("https://ops.example.com:8443")
        );
        assert!(load(&[("public_url", "ftp://x")]).is_err());
    }

    #[test]
    fn allowed_hosts_come_from_the_setting_or_the_public_url() {
        let s = load(&[("public_url", "https://Ops.Example.com/wx")]).unwrap();
        assert_eq!(s.allowed_hosts, ["ops.example.com"]);
        let s = load(&[
            ("public_url", "https://ops.example.com/wx"),
            ("allowed_hosts", "Ops.Example.com, 10.0.0.5:8080,[::1]:8080"),
        ])
        .unwrap();
        assert_eq!(
            s.allowed_hosts,
            ["ops.example.com", "10.0.0.5:8080", "[::1]:8080"]
        );
        assert!(
            load(&[]).unwrap().allowed_hosts.is_empty(),
            "neither set: any host"
        );
        for bad in ["evil example", "x:port", "a/b", "host:99999"] {
            let err = load(&[("allowed_hosts", bad)]).unwrap_err().to_string();
            assert!(err.contains("WXGROUPS_ALLOWED_HOSTS"), "{bad}: {err}");
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges_and_name_a_bad_one() {
        let s = load(&[("trusted_proxies", "127.0.0.1, 10.0.0.0/8,::1")]).unwrap();
        assert_eq!(s.access.trusted_proxies.len(), 3);
        let e = load(&[("trusted_proxies", "10.0.0.0/33")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WXGROUPS_TRUSTED_PROXIES") && e.contains("10.0.0.0/33"),
            "{e}"
        );
    }

    #[test]
    fn an_auth_header_needs_trusted_proxies() {
        let e = load(&[("auth_header", "X-Auth-Request-Email")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("WXGROUPS_TRUSTED_PROXIES"), "{e}");
        let s = load(&[
            ("auth_header", "X-Auth-Request-Email"),
            ("trusted_proxies", "127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(
            s.access.auth_header.unwrap().as_str(),
            "x-auth-request-email"
        );
    }

    #[test]
    fn proxy_roles_are_parsed_and_bad_roles_named() {
        let s = load(&[("proxy_roles", "Alice@Example.com=admin, bob=operator")]).unwrap();
        assert_eq!(s.access.proxy_roles["alice@example.com"], Role::Admin);
        assert_eq!(s.access.proxy_roles["bob"], Role::Operator);
        let e = load(&[("proxy_roles", "carol=boss")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WXGROUPS_PROXY_ROLES") && e.contains("boss"),
            "{e}"
        );
    }
}
