//! What we can believe about where a request came from.
//!
//! Forwarding headers (`X-Forwarded-For`, `X-Forwarded-Proto`) and the proxy's identity header
//! are honoured only when the TCP peer is one of `WXGROUPS_TRUSTED_PROXIES`; from anyone else
//! they are ignored (and a spoofed identity header is logged).

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use crate::state::AppState;

/// Facts about the client, put in the request's extensions by [`client_info`].
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The TCP peer (the proxy, when there is one).
    pub peer: Option<IpAddr>,
    /// The client as far as we can trust the chain: the right-most untrusted hop.
    pub ip: Option<IpAddr>,
    /// The browser spoke HTTPS, to us or to a trusted proxy.
    pub https: bool,
    /// The identity a trusted proxy vouched for.
    pub proxy_user: Option<String>,
}

impl ClientInfo {
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    let ip = match ip {
        // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    proxies.iter().any(|net| net.contains(&ip))
}

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies: the first hop we do not
/// trust is the client. Anything to its left could have been written by the client itself.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(s) = value.to_str() else { return peer };
        for part in s.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A malformed hop: stop believing anything left of here.
                Err(_) => hops.clear(),
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !trusted(hop, proxies) {
            break;
        }
    }
    client
}

/// A sane identity header value: printable ASCII (emails, user names), not too long.
fn identity(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty() && v.len() <= 254 && v.bytes().all(|b| b.is_ascii_graphic())).then_some(v)
}

/// Fills [`ClientInfo`] for every request.
pub async fn client_info(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let proxies = &state.access.trusted_proxies;
    let headers = request.headers();
    let from_proxy = peer.is_some_and(|p| trusted(p, proxies));
    let ip = peer.map(|p| client_ip(p, headers, proxies));
    let https = request.uri().scheme_str() == Some("https")
        || (from_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")));
    let mut proxy_user = None;
    if let Some(name) = &state.access.auth_header
        && let Some(value) = headers.get(name)
    {
        if from_proxy {
            match value.to_str().ok().and_then(identity) {
                Some(v) => proxy_user = Some(v.to_owned()),
                None => {
                    tracing::warn!(header = %name, "ignored a malformed identity header from the trusted proxy")
                }
            }
        } else {
            tracing::warn!(
                header = %name,
                peer = ?peer,
                "ignored an identity header from a peer that is not a trusted proxy"
            );
        }
    }
    request.extensions_mut().insert(ClientInfo {
        peer,
        ip,
        https,
        proxy_user,
    });
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let ip = client_ip(
            "203.0.113.9".parse().unwrap(),
            &xff("1.2.3.4"),
            &nets(&["127.0.0.1/32"]),
        );
        assert_eq!(ip.to_string(), "203.0.113.9");
    }

    #[test]
    fn through_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        // The client wrote "6.6.6.6" itself; the proxies appended the real address.
        let ip = client_ip(
            "127.0.0.1".parse().unwrap(),
            &xff("6.6.6.6, 198.51.100.7, 10.1.1.1"),
            &proxies,
        );
        assert_eq!(ip.to_string(), "198.51.100.7");
    }

    #[test]
    fn a_malformed_hop_is_not_believed() {
        let proxies = nets(&["127.0.0.1/32"]);
        let ip = client_ip("127.0.0.1".parse().unwrap(), &xff("nonsense"), &proxies);
        assert_eq!(ip.to_string(), "127.0.0.1");
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_an_ipv4_range() {
        assert!(trusted(
            "::ffff:127.0.0.1".parse().unwrap(),
            &nets(&["127.0.0.0/8"])
        ));
    }
}
