//! Where this server listens, how it logs, and the address operators reach it by behind a
//! reverse proxy (the base path and the public URL).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::error::{SettingsError, named};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// `listen`: an address and port such as 127.0.0.1:8080.
pub(super) fn listen(value: &str) -> Result<SocketAddr, SettingsError> {
    value.parse().map_err(|_| {
        SettingsError(format!(
            "setting {} is {value:?}, which is not an address:port such as 127.0.0.1:8080",
            named("listen"),
        ))
    })
}

/// `base_path`: "" or a path such as /wx, without its trailing slash.
pub(super) fn base_path(value: &str) -> Result<String, SettingsError> {
    let base_path = value.trim().trim_end_matches('/').to_owned();
    if !base_path.is_empty()
        && (!base_path.starts_with('/')
            || base_path.contains("//")
            || !base_path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)))
    {
        return Err(SettingsError(format!(
            "setting {} is {value:?}; use a path such as /wx (letters, digits, - _ . ~)",
            named("base_path"),
        )));
    }
    Ok(base_path)
}

/// `public_url`: the origin of the URL operators type, if one is set.
pub(super) fn public_origin(value: Option<&str>) -> Result<Option<String>, SettingsError> {
    match value.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(url) => origin_of(url).map(Some).ok_or_else(|| {
            SettingsError(format!(
                "setting {} is {url:?}, which is not an http(s) URL such as https://ops.example.com/wx",
                named("public_url")
            ))
        }),
    }
}

/// `allowed_hosts`: `host` or `host:port` entries, comma-separated; when empty, the public URL's
/// host (so setting `WXGROUPS_PUBLIC_URL` is enough to refuse requests for other names).
pub(super) fn allowed_hosts(
    value: &str,
    public_origin: Option<&str>,
) -> Result<Vec<String>, SettingsError> {
    let listed: Vec<String> = value
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if let Some(bad) = listed.iter().find(|h| !is_host(h)) {
        return Err(SettingsError(format!(
            "setting {} has {bad:?}, which is not a host name or host:port such as ops.example.com",
            named("allowed_hosts")
        )));
    }
    if !listed.is_empty() {
        return Ok(listed);
    }
    Ok(public_origin
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| vec![authority.to_owned()])
        .unwrap_or_default())
}

/// A host name, an IPv4 address or a bracketed IPv6 one, with an optional port.
fn is_host(entry: &str) -> bool {
    let (host, port) = match entry.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (entry, None),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok())
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

/// `demo_accounts`: 1 or 2 simulated accounts.
pub(super) fn demo_accounts(n: u8) -> Result<u8, SettingsError> {
    if (1..=2).contains(&n) {
        Ok(n)
    } else {
        Err(SettingsError(format!(
            "setting {} is {n}; the demo has 1 or 2 accounts",
            named("demo_accounts")
        )))
    }
}

/// The deployment's secret key (`secret_key`, or a file in `secret_key_file`, trimmed; never
/// both): what every instance of one deployment must share to sign the CSRF tokens of pages
/// without a session and to seal the access_token it shares. At least 32 characters, so that
/// it is a key and not a password.
pub(super) fn secret_key(
    value: Option<String>,
    file: Option<std::path::PathBuf>,
) -> Result<Option<secrecy::SecretString>, SettingsError> {
    let key = match (value, file) {
        (Some(_), Some(_)) => {
            return Err(SettingsError(format!(
                "both {} and {} are set: keep only one",
                named("secret_key"),
                named("secret_key_file")
            )));
        }
        (Some(v), None) => v,
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
            SettingsError(format!(
                "setting {}: cannot read {} ({e})",
                named("secret_key_file"),
                path.display()
            ))
        })?,
        (None, None) => return Ok(None),
    };
    let key = key.trim().to_owned();
    if key.chars().count() < 32 {
        return Err(SettingsError(format!(
            "setting {} is too short: use at least 32 random characters, e.g. the output of \
             `openssl rand -base64 48`, the same for every instance",
            named("secret_key")
        )));
    }
    Ok(Some(secrecy::SecretString::from(key)))
}
