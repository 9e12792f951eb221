//! HTTP to WeChat and the reading of its answers: one request out, one typed answer (or one
//! typed error) back, counted and logged once. Knows nothing about tokens or retries, which sit
//! above it (`token.rs`, `retry.rs`, the client).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::errors::{TransportKind, WeChatError, scrub};

/// The largest answer we read. A full group list (500 groups) is about 30 KB; anything near this
/// is not WeChat's API talking.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Told about every HTTP request the client actually sends to WeChat (retries and token fetches
/// included; a connection that could not be opened sent nothing and is not reported), e.g. to
/// keep a per-endpoint daily quota meter.
///
/// Called on the request's task right after the exchange: keep it quick and non-blocking.
pub trait CallObserver: Send + Sync {
    /// `endpoint` is the path under `/cgi-bin/`, e.g. `"groups/get"` or `"stable_token"`.
    fn upstream_call(&self, endpoint: &str);
}

/// One request to an endpoint: its method, its query parameters and its JSON body, if any.
pub(super) struct Request<'a, B: ?Sized> {
    pub endpoint: Endpoint,
    pub method: Method,
    pub query: &'a [(&'a str, &'a str)],
    pub body: Option<&'a B>,
}

impl<'a> Request<'a, ()> {
    /// A GET with these query parameters and no body.
    pub(super) fn get(endpoint: Endpoint, query: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            endpoint,
            method: Method::GET,
            query,
            body: None,
        }
    }
}

impl<'a, B: ?Sized> Request<'a, B> {
    /// A POST of `body` as JSON.
    pub(super) fn post(endpoint: Endpoint, body: &'a B) -> Self {
        Self {
            endpoint,
            method: Method::POST,
            query: &[],
            body: Some(body),
        }
    }

    /// The same request with `query` instead of its own parameters (the client puts the
    /// access_token in front of them).
    pub(super) fn with_query<'b>(&self, query: &'b [(&'b str, &'b str)]) -> Request<'b, B>
    where
        'a: 'b,
    {
        Request {
            endpoint: self.endpoint,
            method: self.method.clone(),
            query,
            body: self.body,
        }
    }
}

/// HTTP to WeChat and the reading of its answers; knows nothing about tokens.
pub(super) struct Transport {
    http: reqwest::Client,
    base_url: String,
    /// The external token service's URL, if configured.
    pub(super) token_url: Option<reqwest::Url>,
    observer: Option<Arc<dyn CallObserver>>,
}

impl Transport {
    /// Builds the HTTP client. Fails (as `Local`) if the base URL or the token URL is not a URL
    /// or the HTTP client cannot be built; nothing is sent yet.
    pub(super) fn new(
        base_url: &str,
        token_url: Option<&str>,
        timeout: Duration,
        connect_timeout: Duration,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<Self, WeChatError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        if let Err(e) = reqwest::Url::parse(&base_url) {
            return Err(WeChatError::Local(format!(
                "the WeChat base URL {base_url:?} is not a URL: {e}"
            )));
        }
        // reqwest is built without a default TLS provider; installing ring is idempotent and the
        // Err only says another part of the process got there first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("wxgroups/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            // A redirect from WeChat's API is not part of it; following one would carry the token
            // to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                WeChatError::Local(format!("could not build the HTTP client: {}", chain(&e)))
            })?;
        let token_url = match token_url.map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(reqwest::Url::parse(raw).map_err(|e| {
                // The URL itself is not shown: it may carry the token service's credential.
                WeChatError::Local(format!("the token URL is not a URL: {e}"))
            })?),
        };
        Ok(Self {
            http,
            base_url,
            token_url,
            observer,
        })
    }

    /// The base URL, without a trailing slash (for `Debug`).
    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one request and reads its answer as `T`.
    ///
    /// `secrets` are scrubbed from every error detail and log field this produces; the query is
    /// never logged. Each exchange logs one line: endpoint path, errcode or failure kind, elapsed ms.
    ///
    /// Also the one place that counts upstream calls: the metrics, and the observer for every
    /// request that went out.
    pub(super) async fn exchange<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
        secrets: &[&str],
    ) -> Result<T, WeChatError> {
        let endpoint = request.endpoint;
        let started = Instant::now();
        let result = self.exchange_unlogged(request, secrets).await;
        let elapsed = started.elapsed();
        self.count(endpoint, &result, elapsed);
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let path = endpoint.path();
        match &result {
            Ok(_) => tracing::info!(endpoint = path, errcode = 0, elapsed_ms, "wechat call"),
            Err(WeChatError::Api { code, errmsg }) => {
                tracing::warn!(endpoint = path, errcode = code, errmsg = %errmsg, elapsed_ms, "wechat call")
            }
            Err(WeChatError::Transport { kind, detail }) => tracing::warn!(
                endpoint = path,
                failure = %kind,
                detail = %detail,
                elapsed_ms,
                "wechat call"
            ),
            Err(WeChatError::Local(detail)) => {
                tracing::warn!(endpoint = path, detail = %detail, "wechat call not sent")
            }
            // Never made by a single exchange; listed so a new variant is a compile error here.
            Err(e @ (WeChatError::OutcomeUnknown { .. } | WeChatError::CircuitOpen { .. })) => {
                tracing::warn!(endpoint = path, failure = %e.outcome_label(), "wechat call")
            }
        }
        result
    }

    /// Metrics for one exchange with WeChat, and the observer if the request went out. The
    /// external token service is not WeChat: its fetches are counted as token fetches only.
    fn count<T>(&self, endpoint: Endpoint, result: &Result<T, WeChatError>, elapsed: Duration) {
        if endpoint == Endpoint::ExternalToken {
            return;
        }
        let outcome = match result {
            Ok(_) => "ok".to_owned(),
            Err(err) => err.outcome_label(),
        };
        let label = endpoint.label();
        metrics::counter!("wxgroups_upstream_calls_total", "endpoint" => label, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("wxgroups_upstream_duration_seconds", "endpoint" => label)
            .record(elapsed.as_secs_f64());
        let sent = !matches!(
            result,
            Err(WeChatError::Local(_))
                | Err(WeChatError::Transport {
                    kind: TransportKind::Connect,
                    ..
                })
        );
        if sent && let Some(observer) = &self.observer {
            observer.upstream_call(label);
        }
    }

    async fn exchange_unlogged<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
        secrets: &[&str],
    ) -> Result<T, WeChatError> {
        let endpoint = request.endpoint;
        // Built by hand rather than with reqwest's `query` (a feature we don't enable); the
        // pairs are percent-encoded by `url`.
        let mut url = match (endpoint, &self.token_url) {
            (Endpoint::ExternalToken, Some(url)) => url.clone(),
            (Endpoint::ExternalToken, None) => {
                return Err(WeChatError::Local("no token URL configured".into()));
            }
            _ => reqwest::Url::parse(&format!("{}{}", self.base_url, endpoint.path()))
                .map_err(|e| WeChatError::Local(format!("{}: bad URL: {e}", endpoint.path())))?,
        };
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query);
        }
        let mut outgoing = self.http.request(request.method.clone(), url);
        if let Some(body) = request.body {
            outgoing = outgoing.json(body);
        }
        let mut response = outgoing
            .send()
            .await
            .map_err(|e| from_reqwest(e, endpoint, secrets))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WeChatError::Transport {
                kind: TransportKind::HttpStatus(status.as_u16()),
                detail: format!("{} answered HTTP {status}", endpoint.path()),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| from_reqwest(e, endpoint, secrets))?
        {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(bad_body(
                    endpoint,
                    format!("answer larger than {MAX_BODY_BYTES} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        decode(endpoint, &bytes, secrets)
    }
}

/// Reads an answer: a non-zero errcode is an `Api` error, anything else must be the documented
/// shape `T`.
///
/// Two passes over the bytes: the first reads only `errcode` and `errmsg` (skipping the rest
/// without building anything), the second the documented shape. Building a `serde_json::Value`
/// of the whole answer first cost more than both (500 groups are 1,500 map entries).
fn decode<T: DeserializeOwned>(
    endpoint: Endpoint,
    bytes: &[u8],
    secrets: &[&str],
) -> Result<T, WeChatError> {
    /// The part of every answer that says whether it is an error. Values, so that a mistyped
    /// errcode is named as such rather than failing the parse.
    #[derive(serde::Deserialize)]
    struct Status {
        #[serde(default)]
        errcode: Option<serde_json::Value>,
        #[serde(default)]
        errmsg: Option<serde_json::Value>,
    }
    // Every documented answer is an object; serde would otherwise accept `[102]` for
    // `{"groupid":102}` (a struct also reads from an array).
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let status: Status = match serde_json::from_slice(bytes) {
        Ok(status) if is_object => status,
        Err(e) if e.is_syntax() || e.is_eof() || e.is_io() => {
            return Err(bad_body(
                endpoint,
                format!("not JSON ({e}){}", snippet(endpoint, bytes, secrets)),
            ));
        }
        _ => {
            return Err(bad_body(
                endpoint,
                format!("not a JSON object{}", snippet(endpoint, bytes, secrets)),
            ));
        }
    };
    if let Some(errcode) = status.errcode {
        let Some(code) = errcode.as_i64() else {
            return Err(bad_body(endpoint, "errcode is not an integer".into()));
        };
        if code != 0 {
            let errmsg = status
                .errmsg
                .as_ref()
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            return Err(WeChatError::Api {
                code,
                errmsg: scrub(errmsg, secrets),
            });
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde quotes offending values; in a token answer that value could be the token.
        let why = if endpoint.answers_a_token() {
            "no string access_token and integer expires_in".to_owned()
        } else {
            scrub(&e.to_string(), secrets)
        };
        bad_body(
            endpoint,
            format!(
                "not the documented shape: {why}{}",
                snippet(endpoint, bytes, secrets)
            ),
        )
    })
}

fn bad_body(endpoint: Endpoint, why: String) -> WeChatError {
    WeChatError::Transport {
        kind: TransportKind::BadBody,
        detail: format!("{}: {why}", endpoint.path()),
    }
}

/// The start of an answer, for the log: enough to recognise a gateway's error page.
fn snippet(endpoint: Endpoint, bytes: &[u8], secrets: &[&str]) -> String {
    if endpoint.answers_a_token() {
        return String::new();
    }
    let text = String::from_utf8_lossy(bytes);
    let start: String = text.chars().take(120).collect();
    format!("; the answer starts with {:?}", scrub(&start, secrets))
}

/// Turns a reqwest error into a transport error whose detail holds no URL and no secret.
///
/// A connect failure is checked before a timeout so that a connect timeout counts as `Connect`:
/// what matters to a caller is that the request never left.
fn from_reqwest(err: reqwest::Error, endpoint: Endpoint, secrets: &[&str]) -> WeChatError {
    // The URL carries `access_token=` (or the classic endpoint's `secret=`): drop it first.
    let err = err.without_url();
    let detail = scrub(&format!("{}: {}", endpoint.path(), chain(&err)), secrets);
    if err.is_builder() {
        return WeChatError::Local(detail);
    }
    let kind = if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        // The connection broke after the request went out, or the body was cut off.
        TransportKind::Closed
    };
    WeChatError::Transport { kind, detail }
}

/// An error and its causes on one line ("error sending request: client error (Connect): …").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::wire;

    #[test]
    fn a_nonzero_errcode_is_an_api_error_with_secrets_scrubbed_from_errmsg() {
        let body = br#"{"errcode":40001,"errmsg":"invalid credential TOK-1 rid: 9"}"#;
        let err = decode::<wire::Ack>(Endpoint::GroupsUpdate, body, &["TOK-1"])
            .err()
            .expect("an error");
        match err {
            WeChatError::Api { code, errmsg } => {
                assert_eq!(code, 40001);
                assert!(
                    !errmsg.contains("TOK-1") && errmsg.contains("rid: 9"),
                    "{errmsg}"
                );
            }
            other => panic!("expected Api, got {other:?}"),
        }
    }

    #[test]
    fn a_write_needs_its_errcode_zero_and_a_read_needs_its_fields() {
        assert!(
            decode::<wire::Ack>(
                Endpoint::GroupsDelete,
                br#"{"errcode":0,"errmsg":"ok"}"#,
                &[]
            )
            .is_ok()
        );
        for (endpoint, body) in [
            (Endpoint::GroupsDelete, &br#"{}"#[..]),
            (Endpoint::GroupsGet, br#"{"errcode":0,"errmsg":"ok"}"#),
            (
                Endpoint::GroupsGet,
                br#"{"groups":[{"id":-3,"name":"x","count":1}]}"#,
            ),
            (Endpoint::GroupsGetId, br#"[102]"#),
            (Endpoint::GroupsGetId, br#"{"errcode":"40001"}"#),
        ] {
            let result = if endpoint == Endpoint::GroupsDelete {
                decode::<wire::Ack>(endpoint, body, &[]).map(|_| ())
            } else if endpoint == Endpoint::GroupsGet {
                decode::<wire::GroupList>(endpoint, body, &[]).map(|_| ())
            } else {
                decode::<wire::UserGroup>(endpoint, body, &[]).map(|_| ())
            };
            assert!(
                matches!(
                    result,
                    Err(WeChatError::Transport {
                        kind: TransportKind::BadBody,
                        ..
                    })
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_bad_answer_says_what_is_wrong_with_it() {
        for (body, says) in [
            (&b"<html>502 Bad Gateway</html>"[..], "not JSON"),
            (b"{\"groupid\":", "not JSON"),
            (b"[102]", "not a JSON object"),
            (b"\"102\"", "not a JSON object"),
            (br#"{"errcode":"40001"}"#, "errcode is not an integer"),
            (br#"{"group":{"id":"x"}}"#, "not the documented shape"),
        ] {
            let err = decode::<wire::UserGroup>(Endpoint::GroupsGetId, body, &[])
                .err()
                .expect("an error");
            let shown = err.to_string();
            assert!(
                shown.contains(says),
                "{} → {shown}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_malformed_token_answer_is_never_quoted() {
        let body = br#"{"access_token":"NEW-TOKEN-VALUE","expires_in":"soon"}"#;
        let err = decode::<wire::TokenResponse>(Endpoint::StableToken, body, &[])
            .err()
            .expect("an error");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("NEW-TOKEN-VALUE"), "{shown}");
        assert!(matches!(
            err,
            WeChatError::Transport {
                kind: TransportKind::BadBody,
                ..
            }
        ));
    }

    #[test]
    fn an_html_page_echoing_the_url_is_scrubbed_in_the_detail() {
        let body = b"<html>502 Bad Gateway for /cgi-bin/groups/get?access_token=TOK-7</html>";
        let err = decode::<wire::GroupList>(Endpoint::GroupsGet, body, &["TOK-7"])
            .err()
            .expect("an error");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("TOK-7"), "{shown}");
        assert!(shown.contains("502 Bad Gateway"), "{shown}");
    }
}
