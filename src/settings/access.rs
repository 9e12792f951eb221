//! Who may do what: the proxies whose headers are believed, the identity header and the roles
//! of proxy users, how long a session lasts, and who may read the health and metrics endpoints.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderName;
use ipnet::IpNet;

use super::error::{SettingsError, named};
use crate::store::Role;

/// A comma-separated list of addresses and CIDR ranges (`trusted_proxies`, `metrics_allow`).
pub(super) fn cidr_list(key: &str, value: &str) -> Result<Vec<IpNet>, SettingsError> {
    let mut nets = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let net = part
            .parse::<IpNet>()
            .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
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

/// `auth_header`: a header name, believed only from `trusted_proxies`, so it needs some.
pub(super) fn auth_header(
    value: Option<&str>,
    trusted_proxies: &[IpNet],
) -> Result<Option<HeaderName>, SettingsError> {
    let auth_header = match value.map(str::trim).filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => Some(HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
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
    Ok(auth_header)
}

/// `proxy_default_role` and `proxy_roles` (`user=role,…`, users in lower case).
pub(super) fn proxy_roles(
    default_role: &str,
    roles: &str,
) -> Result<(Role, HashMap<String, Role>), SettingsError> {
    let proxy_default_role = role(&named("proxy_default_role"), default_role)?;
    let mut proxy_roles = HashMap::new();
    for pair in roles.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((user, r)) = pair.rsplit_once('=') else {
            return Err(SettingsError(format!(
                "setting {}: {pair:?} is not user=role (e.g. alice@example.com=admin)",
                named("proxy_roles")
            )));
        };
        proxy_roles.insert(user.trim().to_lowercase(), role(&named("proxy_roles"), r)?);
    }
    Ok((proxy_default_role, proxy_roles))
}

/// A role (`viewer`, `operator` or `admin`); `setting` names where it was given, for the message.
pub(super) fn role(setting: &str, value: &str) -> Result<Role, SettingsError> {
    value
        .parse::<Role>()
        .map_err(|e| SettingsError(format!("setting {setting}: {e}")))
}

/// `session_idle_mins` and `session_max_hours`: each at least 1.
pub(super) fn session_limits(
    idle_mins: u64,
    max_hours: u64,
) -> Result<(Duration, Duration), SettingsError> {
    if idle_mins == 0 || max_hours == 0 {
        return Err(SettingsError(format!(
            "{} and {} must be at least 1",
            named("session_idle_mins"),
            named("session_max_hours")
        )));
    }
    Ok((
        Duration::from_secs(idle_mins * 60),
        Duration::from_secs(max_hours * 3600),
    ))
}
