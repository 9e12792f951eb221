//! Allowed hosts: with `WXGROUPS_ALLOWED_HOSTS` or `WXGROUPS_PUBLIC_URL` set, a request for any
//! other `Host` is refused before it reaches a page.
//!
//! Why: a page served for any name can be reached through a name an attacker controls (DNS
//! rebinding points `evil.example` at this server); the browser then treats the dashboard as
//! that site's own and the origin check sees `Host` and `Origin` agree. Django's
//! `ALLOWED_HOSTS` and Grafana's `enforce_domain` refuse such requests outright, and so do we.
//! The probes keep their own rule (`WXGROUPS_METRICS_ALLOW`): a load balancer's health check
//! asks by address, not by name.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    state::AppState,
    web::{AppError, form::header_text, paths},
};

/// Refuses a page request whose `Host` is not allowed.
pub async fn allowed_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let allowed = &state.site.allowed_hosts;
    if allowed.is_empty() || is_probe(&state, request.uri().path()) {
        return next.run(request).await;
    }
    let host = header_text(request.headers(), header::HOST).to_ascii_lowercase();
    if allowed.iter().any(|a| matches(a, &host)) {
        next.run(request).await
    } else {
        tracing::warn!(host = %host, "refused a request for a host that is not allowed");
        AppError::UnknownHost(host).into_response()
    }
}

fn is_probe(state: &AppState, path: &str) -> bool {
    let path = path.strip_prefix(state.urls.root()).unwrap_or(path);
    [paths::HEALTHZ, paths::READYZ, paths::METRICS].contains(&path)
}

/// An entry with a port matches exactly; one without matches its host on any port.
fn matches(allowed: &str, host: &str) -> bool {
    if allowed == host {
        return true;
    }
    let has_port = |h: &str| {
        h.rsplit_once(':')
            .is_some_and(|(name, _)| !name.ends_with(':'))
    };
    !has_port(allowed)
        && host
            .rsplit_once(':')
            .is_some_and(|(name, port)| name == allowed && port.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn hosts_match_by_name_and_by_port_when_one_is_given() {
        assert!(matches("ops.example.com", "ops.example.com"));
        assert!(matches("ops.example.com", "ops.example.com:8443"));
        assert!(matches("ops.example.com:8443", "ops.example.com:8443"));
        assert!(!matches("ops.example.com:8443", "ops.example.com:9000"));
        assert!(!matches("ops.example.com", "evil.example"));
        assert!(!matches("ops.example.com", "ops.example.com.evil.example"));
        assert!(!matches("ops.example.com", ""));
        assert!(matches("[::1]", "[::1]:8080"));
    }
}
