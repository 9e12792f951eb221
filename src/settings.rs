//! Settings: `WXGROUPS_*` environment variables over an optional TOML file.
//!
//! figment does the merging; we only turn its errors into sentences that name the setting the
//! way the operator wrote it (the variable *and* the file key), and check what serde cannot:
//! a secret given twice, an AppID without a secret, a URL that is not one.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{auth::Access, store::Role, wechat::TokenMode};

/// Everything `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `None` runs the in-process simulator: the demo account.
    pub account: Option<Account>,
    pub wechat_api: String,
    pub token_mode: TokenMode,
    /// With `token_mode = external`: the company's token service.
    pub token_url: Option<String>,
    /// How long the cached group list counts as fresh.
    pub groups_max_age: Duration,
    /// Whole-request timeout for every WeChat call.
    pub upstream_timeout: Duration,
    /// Followers seeded into the demo account.
    pub demo_followers: u32,
    pub log_format: LogFormat,
    /// Where operators, sessions and the audit log live.
    pub database_url: String,
    /// "" or a prefix like "/wx" under which the reverse proxy serves the app.
    pub base_path: String,
    /// The origin the browser sees (scheme://host[:port]), trusted for CSRF checks.
    pub public_origin: Option<String>,
    /// Sign-in, proxy and session settings (`demo` is filled in at start-up).
    pub access: Access,
    /// Who may read /healthz, /readyz and /metrics (empty: anyone who reaches the port).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// How batch jobs pace their calls to WeChat.
    pub jobs: JobSettings,
}

/// Pacing of batch moves (`groups/members/batchupdate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// At most this many batchupdate calls a minute, narrowing calls included.
    pub batch_per_minute: u32,
    /// How long a job waits after WeChat answers 45011 (per-minute quota) before trying again.
    pub quota_backoff: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            batch_per_minute: 300,
            quota_backoff: Duration::from_secs(60),
        }
    }
}

impl JobSettings {
    /// The least time between two batchupdate calls.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.batch_per_minute.max(1)
    }
}

/// A real Official Account.
#[derive(Clone)]
pub struct Account {
    pub appid: String,
    pub secret: SecretString,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// The raw shape, as figment reads it. Field names are the lower-cased variable names without
/// the `WXGROUPS_` prefix, and the keys of the TOML file.
// No Debug: it holds the secret as a plain string until `from_figment` wraps it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: String,
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
    wechat_api: String,
    token_mode: String,
    token_url: Option<String>,
    groups_max_age_secs: u64,
    upstream_timeout_secs: u64,
    demo_followers: u32,
    log_format: LogFormat,
    database_url: String,
    base_path: String,
    public_url: Option<String>,
    auth_header: Option<String>,
    trusted_proxies: String,
    proxy_default_role: String,
    proxy_roles: String,
    session_idle_mins: u64,
    session_max_hours: u64,
    metrics_allow: String,
    batch_per_minute: u32,
    batch_backoff_ms: u64,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            listen: "127.0.0.1:8080".into(),
            appid: None,
            appsecret: None,
            appsecret_file: None,
            wechat_api: "https://api.weixin.qq.com".into(),
            token_mode: "stable".into(),
            token_url: None,
            groups_max_age_secs: 300,
            upstream_timeout_secs: 10,
            demo_followers: 1_000,
            log_format: LogFormat::Human,
            database_url: "sqlite://wxgroups.db".into(),
            base_path: String::new(),
            public_url: None,
            auth_header: None,
            trusted_proxies: String::new(),
            proxy_default_role: "viewer".into(),
            proxy_roles: String::new(),
            session_idle_mins: 60,
            session_max_hours: 12,
            metrics_allow: String::new(),
            batch_per_minute: 300,
            batch_backoff_ms: 60_000,
        }
    }
}

/// A setting that cannot be used, said so that the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

fn named(key: &str) -> String {
    format!(
        "WXGROUPS_{} (or `{key}` in the config file)",
        key.to_ascii_uppercase()
    )
}

/// A comma-separated list of addresses and CIDR ranges.
fn cidr_list(key: &str, value: &str) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    let mut nets = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let net = part
            .parse::<ipnet::IpNet>()
            .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                SettingsError(format!(
                    "setting {}: {part:?} is not an address or CIDR range such as 10.0.0.0/8",
                    named(key)
                ))
            })?;
        nets.push(net);
    }
    Ok(nets)
}

/// `scheme://host[:port]` of an http(s) URL, as browsers send it in `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
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

    fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let raw: Raw = figment
            .extract()
            .map_err(|e| {
                let e = e
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
                        return format!(
                            "unknown setting {}: check its spelling (see README.md, Configuration)",
                            named(field)
                        );
                    }
                    other => other.to_string(),
                };
                if key.is_empty() {
                    format!("settings: {what}")
                } else {
                    format!("setting {} {what}", named(&key))
                }
            })
            .map_err(SettingsError)?;

        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            SettingsError(format!(
                "setting {} is {:?}, which is not an address:port such as 127.0.0.1:8080",
                named("listen"),
                raw.listen
            ))
        })?;
        let token_mode: TokenMode = raw.token_mode.parse().map_err(|_| {
            SettingsError(format!(
                "setting {} is {:?}; use `stable` (the default), `classic` or `external`",
                named("token_mode"),
                raw.token_mode
            ))
        })?;
        let token_url = raw
            .token_url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        match (&token_mode, &token_url) {
            (TokenMode::External, None) => {
                return Err(SettingsError(format!(
                    "{} is external but {} is not set: name the token service's URL",
                    named("token_mode"),
                    named("token_url")
                )));
            }
            (TokenMode::External, Some(u))
                if !(u.starts_with("http://") || u.starts_with("https://")) =>
            {
                return Err(SettingsError(format!(
                    "setting {} is not an http(s) URL",
                    named("token_url")
                )));
            }
            (TokenMode::Stable | TokenMode::Classic, Some(_)) => {
                return Err(SettingsError(format!(
                    "{} is set but {} is not `external`: set both or neither",
                    named("token_url"),
                    named("token_mode")
                )));
            }
            _ => {}
        }
        let wechat_api = raw.wechat_api.trim_end_matches('/').to_owned();
        if !(wechat_api.starts_with("https://") || wechat_api.starts_with("http://"))
            || wechat_api.len() <= "https://".len()
        {
            return Err(SettingsError(format!(
                "setting {} is {:?}, which is not an http(s) URL such as https://api.weixin.qq.com",
                named("wechat_api"),
                raw.wechat_api
            )));
        }
        if raw.upstream_timeout_secs == 0 || raw.upstream_timeout_secs > 120 {
            return Err(SettingsError(format!(
                "setting {} must be between 1 and 120 seconds",
                named("upstream_timeout_secs")
            )));
        }

        let secret = match (raw.appsecret, raw.appsecret_file) {
            (Some(_), Some(_)) => {
                return Err(SettingsError(format!(
                    "both {} and {} are set: keep only one",
                    named("appsecret"),
                    named("appsecret_file")
                )));
            }
            (Some(s), None) => Some(SecretString::from(s)),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    SettingsError(format!(
                        "setting {}: cannot read {} ({e})",
                        named("appsecret_file"),
                        path.display()
                    ))
                })?;
                Some(SecretString::from(text.trim().to_owned()))
            }
            (None, None) => None,
        };
        let appid = raw
            .appid
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        let account = match (appid, secret) {
            (Some(appid), Some(secret)) => {
                if secret.expose_secret().is_empty() {
                    return Err(SettingsError(format!(
                        "setting {} is empty",
                        named("appsecret")
                    )));
                }
                if !appid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(SettingsError(format!(
                        "setting {} is {appid:?}; an AppID has only letters and digits (wx…)",
                        named("appid")
                    )));
                }
                Some(Account { appid, secret })
            }
            (Some(_), None) => {
                return Err(SettingsError(format!(
                    "{} is set but no AppSecret: set {} or {}",
                    named("appid"),
                    named("appsecret"),
                    named("appsecret_file")
                )));
            }
            (None, Some(_)) => {
                return Err(SettingsError(format!(
                    "an AppSecret is set but no AppID: set {}",
                    named("appid")
                )));
            }
            (None, None) => None,
        };

        let base_path = raw.base_path.trim().trim_end_matches('/').to_owned();
        if !base_path.is_empty()
            && (!base_path.starts_with('/')
                || base_path.contains("//")
                || !base_path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)))
        {
            return Err(SettingsError(format!(
                "setting {} is {:?}; use a path such as /wx (letters, digits, - _ . ~)",
                named("base_path"),
                raw.base_path
            )));
        }
        let public_origin = match raw.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => Some(origin_of(url).ok_or_else(|| {
                SettingsError(format!(
                    "setting {} is {url:?}, which is not an http(s) URL such as https://ops.example.com/wx",
                    named("public_url")
                ))
            })?),
        };
        let trusted_proxies = cidr_list("trusted_proxies", &raw.trusted_proxies)?;
        let metrics_allow = cidr_list("metrics_allow", &raw.metrics_allow)?;
        let auth_header = match raw.auth_header.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
            None => None,
            Some(h) => Some(axum::http::HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                SettingsError(format!(
                    "setting {} is {h:?}, which is not a header name such as X-Auth-Request-Email",
                    named("auth_header")
                ))
            })?),
        };
        if auth_header.is_some() && trusted_proxies.is_empty() {
            return Err(SettingsError(format!(
                "{} is set but {} is empty: the header would never be believed. Set the proxy's address range",
                named("auth_header"),
                named("trusted_proxies")
            )));
        }
        let role = |key: &str, v: &str| -> Result<Role, SettingsError> {
            v.parse::<Role>()
                .map_err(|e| SettingsError(format!("setting {}: {e}", named(key))))
        };
        let proxy_default_role = role("proxy_default_role", &raw.proxy_default_role)?;
        let mut proxy_roles = std::collections::HashMap::new();
        for pair in raw
            .proxy_roles
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some((user, r)) = pair.rsplit_once('=') else {
                return Err(SettingsError(format!(
                    "setting {}: {pair:?} is not user=role (e.g. alice@example.com=admin)",
                    named("proxy_roles")
                )));
            };
            proxy_roles.insert(user.trim().to_lowercase(), role("proxy_roles", r)?);
        }
        if raw.session_idle_mins == 0 || raw.session_max_hours == 0 {
            return Err(SettingsError(format!(
                "{} and {} must be at least 1",
                named("session_idle_mins"),
                named("session_max_hours")
            )));
        }
        let access = Access {
            auth_header,
            trusted_proxies,
            proxy_default_role,
            proxy_roles,
            demo: false,
            session_idle: Duration::from_secs(raw.session_idle_mins * 60),
            session_max: Duration::from_secs(raw.session_max_hours * 3600),
        };

        if raw.batch_per_minute == 0 || raw.batch_per_minute > 60_000 {
            return Err(SettingsError(format!(
                "setting {} must be between 1 and 60000 calls a minute",
                named("batch_per_minute")
            )));
        }
        let jobs = JobSettings {
            batch_per_minute: raw.batch_per_minute,
            quota_backoff: Duration::from_millis(raw.batch_backoff_ms),
        };

        Ok(Settings {
            listen,
            account,
            wechat_api,
            token_mode,
            token_url,
            groups_max_age: Duration::from_secs(raw.groups_max_age_secs),
            upstream_timeout: Duration::from_secs(raw.upstream_timeout_secs),
            demo_followers: raw.demo_followers,
            log_format: raw.log_format,
            database_url: raw.database_url,
            base_path,
            public_origin,
            access,
            metrics_allow,
            jobs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
