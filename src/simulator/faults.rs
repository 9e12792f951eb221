//! Injected faults: what WeChat does on a bad day, on demand, per endpoint.
//!
//! A [`Fault`] is set for one endpoint path or for `"*"` (every path) with
//! [`super::Simulator::inject`], the control endpoint `POST /_sim/faults`, or a `--fault` spec
//! parsed by [`parse_fault_spec`]. The simulator's one entry function consults it for every
//! request (the request is counted either way).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::endpoints::Endpoint;

/// How long a `timeout` fault holds the request: far beyond any client's timeout, but bounded so
/// a forgotten demo connection does not hang forever.
const HANG: Duration = Duration::from_secs(600);

/// One fault. Several failure fields may be set; the first of hang, drop, HTTP status, garbage,
/// errcode (in that order) decides the answer. Only `latency_ms` set means "slow but right".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// Wait this long before answering.
    pub latency_ms: u64,
    /// Answer `{"errcode": N, "errmsg": ...}` instead (-1, 45009, 45011, 40001, 42001, any code).
    pub errcode: Option<i64>,
    /// Answer this HTTP status (e.g. 502) with a gateway's HTML page.
    pub http_status: Option<u16>,
    /// Answer HTTP 200 with an HTML error page instead of JSON.
    pub garbage: bool,
    /// Break the connection instead of answering.
    pub drop: bool,
    /// Never answer (within any sensible client timeout).
    pub hang: bool,
    /// Carry the request out first, then answer with the failure: "the write happened but the
    /// answer was lost". Without it a faulted write changes nothing, as when WeChat refuses.
    pub after_write: bool,
    /// How many requests the fault applies to; `None` means until cleared.
    pub times: Option<u32>,
}

impl Fault {
    /// An errcode fault, for every request until cleared.
    pub fn errcode(code: i64) -> Self {
        Self {
            errcode: Some(code),
            ..Self::default()
        }
    }

    /// The same fault for the next `n` requests only.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// The answer replacing the normal one, if this fault fails the request.
    pub(super) fn failure(&self) -> Option<Failure> {
        if self.hang {
            Some(Failure::Hang)
        } else if self.drop {
            Some(Failure::Drop)
        } else if let Some(status) = self.http_status {
            Some(Failure::Status(status))
        } else if self.garbage {
            Some(Failure::Garbage)
        } else {
            self.errcode.map(Failure::Errcode)
        }
    }
}

pub(super) enum Failure {
    Hang,
    Drop,
    Status(u16),
    Garbage,
    Errcode(i64),
}

impl Failure {
    pub(super) async fn respond(self) -> Response {
        match self {
            Self::Hang => {
                tokio::time::sleep(HANG).await;
                Self::Errcode(-1).into_response()
            }
            other => other.into_response(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            // Hang is only reached through `respond`; answering "busy" is its honest fallback.
            Self::Hang => Self::Errcode(-1).into_response(),
            Self::Drop => {
                // A body that fails on its first read makes hyper abort the connection: the
                // client sees it close before a whole answer arrived.
                let broken = futures_util::stream::once(async {
                    Err::<Bytes, std::io::Error>(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "simulated dropped connection",
                    ))
                });
                let mut response = Body::from_stream(broken).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; encoding=utf-8"),
                );
                response
            }
            Self::Status(status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                let page = format!(
                    "<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center><hr><center>nginx</center></body></html>"
                );
                (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
            }
            Self::Garbage => (
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>502 Bad Gateway</h1><p>The upstream server is busy.</p></body></html>",
            )
                .into_response(),
            Self::Errcode(code) => {
                let rid: u32 = rand::random();
                let body = json!({
                    "errcode": code,
                    "errmsg": format!("{} rid: {rid:08x}", message(code)),
                });
                let mut response = body.to_string().into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; encoding=utf-8"),
                );
                response
            }
        }
    }
}

/// WeChat's errmsg for the codes a fault is usually made of.
fn message(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40014 => "invalid access_token",
        42001 => "access_token expired",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        _ => "simulated error",
    }
}

/// The faults in force, by endpoint path (`/cgi-bin/...`) or `"*"`.
#[derive(Default)]
pub(super) struct Faults {
    by_endpoint: HashMap<String, Fault>,
}

impl Faults {
    pub(super) fn set(&mut self, key: String, fault: Fault) {
        if fault.times == Some(0) {
            self.by_endpoint.remove(&key);
        } else {
            self.by_endpoint.insert(key, fault);
        }
    }

    pub(super) fn clear(&mut self) {
        self.by_endpoint.clear();
    }

    /// The fault for a request to `path` (its own before `"*"`), spending one of its `times`.
    pub(super) fn take(&mut self, path: &str) -> Option<Fault> {
        let key = if self.by_endpoint.contains_key(path) {
            path
        } else if self.by_endpoint.contains_key("*") {
            "*"
        } else {
            return None;
        };
        let key = key.to_owned();
        let fault = self.by_endpoint.get_mut(&key)?;
        let taken = fault.clone();
        if let Some(n) = &mut fault.times {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_endpoint.remove(&key);
            }
        }
        Some(taken)
    }

    pub(super) fn snapshot(&self) -> HashMap<String, Fault> {
        self.by_endpoint.clone()
    }
}

/// `"groups/get"`, `"/cgi-bin/groups/get"` and `"cgi-bin/groups/get"` all name
/// `/cgi-bin/groups/get`; `"*"` is every path.
pub(super) fn endpoint_key(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    if endpoint == "*" {
        return "*".to_owned();
    }
    let bare = endpoint.trim_start_matches('/');
    let bare = bare.strip_prefix("cgi-bin/").unwrap_or(bare);
    format!("/cgi-bin/{bare}")
}

/// Parses a `--fault` spec: `ENDPOINT=ITEM[,ITEM…]`, where ENDPOINT is a path under `/cgi-bin/`
/// (`groups/get`) or `*`, and each ITEM is one of `errcode:N`, `latency:MS`, `http:STATUS`,
/// `timeout`, `garbage`, `drop`, `after_write`, `times:N`.
///
/// Examples: `groups/get=errcode:-1`, `*=latency:200`, `groups/create=timeout,after_write`,
/// `groups/get=http:503,times:2`, `user/get=garbage`, `groups/getid=drop`.
///
/// Answers the endpoint key (`/cgi-bin/groups/get` or `*`) and the fault, or what is wrong.
pub fn parse_fault_spec(spec: &str) -> Result<(String, Fault), String> {
    let (endpoint, items) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: expected ENDPOINT=FAULT, e.g. groups/get=errcode:-1"))?;
    let key = endpoint_key(endpoint);
    if key != "*" && Endpoint::from_path(&key).is_none() {
        return Err(format!(
            "{spec:?}: unknown endpoint {:?}; use a path under /cgi-bin/ such as groups/get, or *",
            endpoint.trim()
        ));
    }
    let mut fault = Fault::default();
    let mut fails = false;
    for item in items.split(',').map(str::trim) {
        fails |= apply_item(spec, item, &mut fault)?;
    }
    if !fails && fault.latency_ms == 0 {
        return Err(format!("{spec:?}: nothing to inject"));
    }
    if fault.after_write && !fails {
        return Err(format!(
            "{spec:?}: after_write needs a failure to answer with (errcode, http, timeout, garbage or drop)"
        ));
    }
    Ok((key, fault))
}

/// Sets one ITEM of a `--fault` spec on `fault`; answers whether the item fails the request
/// (`latency`, `times` and `after_write` alone do not).
fn apply_item(spec: &str, item: &str, fault: &mut Fault) -> Result<bool, String> {
    let (name, value) = match item.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (item, None),
    };
    let number = |what: &str| -> Result<i64, String> {
        value
            .ok_or_else(|| format!("{spec:?}: {name} needs a value, e.g. {name}:{what}"))?
            .parse::<i64>()
            .map_err(|_| format!("{spec:?}: {name} takes a whole number, e.g. {name}:{what}"))
    };
    let flag = |set: &mut bool| -> Result<(), String> {
        if value.is_some() {
            return Err(format!("{spec:?}: {name} takes no value"));
        }
        *set = true;
        Ok(())
    };
    match name {
        "errcode" => {
            fault.errcode = Some(number("-1")?);
            Ok(true)
        }
        "latency" => {
            fault.latency_ms = u64::try_from(number("200")?)
                .map_err(|_| format!("{spec:?}: latency cannot be negative"))?;
            Ok(false)
        }
        "http" => {
            let status = number("503")?;
            if !(100..=599).contains(&status) {
                return Err(format!("{spec:?}: {status} is not an HTTP status"));
            }
            fault.http_status = u16::try_from(status).ok();
            Ok(true)
        }
        "times" => {
            let n = u32::try_from(number("1")?)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{spec:?}: times must be 1 or more"))?;
            fault.times = Some(n);
            Ok(false)
        }
        "timeout" => flag(&mut fault.hang).map(|()| true),
        "garbage" => flag(&mut fault.garbage).map(|()| true),
        "drop" => flag(&mut fault.drop).map(|()| true),
        "after_write" => flag(&mut fault.after_write).map(|()| false),
        "" => Err(format!("{spec:?}: an empty fault item")),
        other => Err(format!(
            "{spec:?}: unknown fault {other:?}; expected errcode:N, latency:MS, http:STATUS, timeout, garbage, drop, after_write or times:N"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(spec: &str) -> (String, Fault) {
        parse_fault_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    #[test]
    fn the_documented_examples_parse() {
        assert_eq!(
            parsed("groups/get=errcode:-1"),
            ("/cgi-bin/groups/get".into(), Fault::errcode(-1))
        );
        let (key, f) = parsed("*=latency:200");
        assert_eq!((key.as_str(), f.latency_ms), ("*", 200));
        assert!(f.failure().is_none());
        let (key, f) = parsed("groups/create=timeout,after_write");
        assert_eq!(key, "/cgi-bin/groups/create");
        assert!(f.hang && f.after_write && f.times.is_none());
        let (_, f) = parsed("groups/get=http:503,times:2");
        assert_eq!((f.http_status, f.times), (Some(503), Some(2)));
        let (key, f) = parsed("user/get=garbage");
        assert_eq!(key, "/cgi-bin/user/get");
        assert!(f.garbage);
        let (_, f) = parsed("/cgi-bin/groups/getid=drop");
        assert!(f.drop);
        let (_, f) = parsed(" groups/members/update = errcode:45009 , times:1 ");
        assert_eq!(f, Fault::errcode(45009).times(1));
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for bad in [
            "groups/get",
            "groups/gte=errcode:-1",
            "groups/get=",
            "groups/get=errcode",
            "groups/get=errcode:x",
            "groups/get=http:99",
            "groups/get=times:0",
            "groups/get=times:2",
            "groups/get=latency:-5",
            "groups/get=drop:1",
            "groups/get=explode",
            "groups/create=after_write",
        ] {
            let err = parse_fault_spec(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn a_fault_with_times_is_spent_and_the_endpoints_own_beats_the_wildcard() {
        let mut faults = Faults::default();
        faults.set("*".into(), Fault::errcode(-1));
        faults.set("/cgi-bin/groups/get".into(), Fault::errcode(42001).times(2));
        let code = |f: Option<Fault>| f.and_then(|f| f.errcode);
        assert_eq!(code(faults.take("/cgi-bin/groups/get")), Some(42001));
        assert_eq!(code(faults.take("/cgi-bin/groups/get")), Some(42001));
        assert_eq!(code(faults.take("/cgi-bin/groups/get")), Some(-1));
        assert_eq!(code(faults.take("/cgi-bin/token")), Some(-1));
        faults.clear();
        assert!(faults.take("/cgi-bin/token").is_none());
    }
}
