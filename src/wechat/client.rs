//! Typed calls to the group API, all funnelled through one private [`WeChatClient::call`].
//!
//! The funnel is deliberate: the token retry lives there today, and per-call retry policies, an
//! external token source and a circuit breaker will slot in there without touching the typed
//! calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::errors::{TransportKind, WeChatError, scrub};
use super::token::{AccessToken, TokenMode, TokenSource};
use super::wire;
use crate::domain::{GroupId, GroupName, OpenId};

/// The most openids WeChat takes in one `members/batchupdate`.
pub const MAX_BATCH: usize = 50;

/// The largest answer we read. A full group list (500 groups) is about 30 KB; anything near this
/// is not WeChat's API talking.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Where and how to reach WeChat.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://api.weixin.qq.com` or a simulator's `http://127.0.0.1:PORT`; a trailing slash
    /// is tolerated.
    pub base_url: String,
    pub appid: String,
    /// The AppSecret. `SecretString` prints as `[REDACTED]` in `Debug`.
    pub secret: SecretString,
    pub token_mode: TokenMode,
    /// Whole-request timeout for every call, token fetches included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Refresh this long before the token's `expires_in` runs out (half its life if it is shorter).
    pub refresh_margin: Duration,
}

impl ClientConfig {
    /// A configuration with the defaults: stable token, 10 s timeout, 3 s connect timeout,
    /// refresh 300 s before expiry.
    pub fn new(
        base_url: impl Into<String>,
        appid: impl Into<String>,
        secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            appid: appid.into(),
            secret: secret.into(),
            token_mode: TokenMode::default(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            refresh_margin: Duration::from_secs(300),
        }
    }
}

/// A group as WeChat lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    pub id: GroupId,
    /// The name as WeChat sent it: not re-validated, since WeChat's own names (未分组…) and names
    /// created elsewhere need not pass our rules.
    pub name: String,
    /// How many followers are in the group.
    pub count: u64,
}

/// The WeChat API client: one HTTP connection pool and one token cache, shared by every clone.
#[derive(Clone)]
pub struct WeChatClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: TokenSource,
}

impl fmt::Debug for WeChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatClient")
            .field("base_url", &self.inner.transport.base_url)
            .field("tokens", &self.inner.tokens)
            .finish()
    }
}

impl WeChatClient {
    /// Builds the client. Fails (as `Local`) only if the base URL is not a URL or the HTTP client
    /// cannot be built; nothing is sent yet.
    pub fn new(config: ClientConfig) -> Result<Self, WeChatError> {
        let transport = Transport::new(&config)?;
        let tokens = TokenSource::new(
            config.token_mode,
            config.appid,
            config.secret,
            config.refresh_margin,
        );
        Ok(Self {
            inner: Arc::new(Inner { transport, tokens }),
        })
    }

    /// Every group of the account, system groups included (`GET groups/get`).
    pub async fn get_groups(&self) -> Result<Vec<Group>, WeChatError> {
        let list: wire::GroupList = self
            .call(Endpoint::GroupsGet, Method::GET, None::<&()>)
            .await?;
        Ok(list
            .groups
            .into_iter()
            .map(|g| Group {
                id: GroupId::from_upstream(g.id),
                name: g.name,
                count: g.count,
            })
            .collect())
    }

    /// Creates a group; answers the id WeChat assigned and the name as WeChat stored it
    /// (`POST groups/create`).
    ///
    /// Not idempotent: a create that timed out may still have happened.
    pub async fn create_group(&self, name: &GroupName) -> Result<(GroupId, String), WeChatError> {
        let body = wire::CreateGroup {
            group: wire::NewGroup {
                name: name.as_str(),
            },
        };
        let created: wire::Created = self
            .call(Endpoint::GroupsCreate, Method::POST, Some(&body))
            .await?;
        Ok((GroupId::from_upstream(created.group.id), created.group.name))
    }

    /// Renames a group (`POST groups/update`).
    pub async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<(), WeChatError> {
        let body = wire::RenameGroup {
            group: wire::GroupIdName {
                id: id.get(),
                name: name.as_str(),
            },
        };
        self.ack(Endpoint::GroupsUpdate, &body).await
    }

    /// Which group a follower is in (`POST groups/getid`).
    pub async fn get_user_group(&self, openid: &OpenId) -> Result<GroupId, WeChatError> {
        let body = wire::GetUserGroup {
            openid: openid.as_str(),
        };
        let found: wire::UserGroup = self
            .call(Endpoint::GroupsGetId, Method::POST, Some(&body))
            .await?;
        Ok(GroupId::from_upstream(found.groupid))
    }

    /// Moves one follower to a group (`POST groups/members/update`).
    pub async fn move_user(&self, openid: &OpenId, to: GroupId) -> Result<(), WeChatError> {
        let body = wire::MoveUser {
            openid: openid.as_str(),
            to_groupid: to.get(),
        };
        self.ack(Endpoint::MembersUpdate, &body).await
    }

    /// Moves 1 to [`MAX_BATCH`] followers to a group (`POST groups/members/batchupdate`).
    ///
    /// Any other number is refused locally (`Local`) without a call: WeChat would answer 40032
    /// and still count the call against the quota.
    pub async fn move_users(&self, openids: &[OpenId], to: GroupId) -> Result<(), WeChatError> {
        if openids.is_empty() || openids.len() > MAX_BATCH {
            return Err(WeChatError::Local(format!(
                "a batch move takes 1 to {MAX_BATCH} OpenIDs, not {}",
                openids.len()
            )));
        }
        let body = wire::MoveUsers {
            openid_list: openids.iter().map(OpenId::as_str).collect(),
            to_groupid: to.get(),
        };
        self.ack(Endpoint::MembersBatchUpdate, &body).await
    }

    /// Deletes a group; WeChat moves its followers back to group 0 (`POST groups/delete`).
    pub async fn delete_group(&self, id: GroupId) -> Result<(), WeChatError> {
        let body = wire::DeleteGroup {
            group: wire::GroupRef { id: id.get() },
        };
        self.ack(Endpoint::GroupsDelete, &body).await
    }

    /// Obtains a token (or finds a cached one) without calling anything else: a readiness check
    /// that proves the AppID, secret, IP whitelist and network are all right.
    pub async fn access_token_ready(&self) -> Result<(), WeChatError> {
        self.inner
            .tokens
            .get(&self.inner.transport)
            .await
            .map(|_| ())
    }

    /// A write whose success is `{"errcode":0,"errmsg":"ok"}`.
    async fn ack<B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        body: &B,
    ) -> Result<(), WeChatError> {
        let _: wire::Ack = self.call(endpoint, Method::POST, Some(body)).await?;
        Ok(())
    }

    /// The one way to call WeChat with a token.
    ///
    /// If WeChat says the token is no good (40001, 40014, 42001), the token that failed is expired
    /// (unless someone already replaced it), a token is obtained and the call is retried exactly
    /// once: a second refusal is returned, so a bad secret or a token war never turns into a loop.
    /// Retrying is safe for every call here because a refused token means WeChat did nothing.
    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        body: Option<&B>,
    ) -> Result<T, WeChatError> {
        let tokens = &self.inner.tokens;
        let token = tokens.get(&self.inner.transport).await?;
        match self.send(endpoint, method.clone(), body, &token).await {
            Err(err) if err.is_token_error() => {
                tracing::info!(
                    endpoint = endpoint.path(),
                    errcode = err.code(),
                    "wechat refused the access_token; retrying once with another"
                );
                tokens.expire(&token).await;
                let fresh = tokens.get(&self.inner.transport).await?;
                self.send(endpoint, method, body, &fresh).await
            }
            other => other,
        }
    }

    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        body: Option<&B>,
        token: &AccessToken,
    ) -> Result<T, WeChatError> {
        let token = token.expose();
        let secrets = [token, self.inner.tokens.secret()];
        self.inner
            .transport
            .exchange(endpoint, method, &[("access_token", token)], body, &secrets)
            .await
    }
}

/// The upstream endpoints this client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Token,
    StableToken,
    GroupsGet,
    GroupsCreate,
    GroupsUpdate,
    GroupsGetId,
    MembersUpdate,
    MembersBatchUpdate,
    GroupsDelete,
}

impl Endpoint {
    /// The path under the base URL (no query: this is also what we log).
    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Token => "/cgi-bin/token",
            Self::StableToken => "/cgi-bin/stable_token",
            Self::GroupsGet => "/cgi-bin/groups/get",
            Self::GroupsCreate => "/cgi-bin/groups/create",
            Self::GroupsUpdate => "/cgi-bin/groups/update",
            Self::GroupsGetId => "/cgi-bin/groups/getid",
            Self::MembersUpdate => "/cgi-bin/groups/members/update",
            Self::MembersBatchUpdate => "/cgi-bin/groups/members/batchupdate",
            Self::GroupsDelete => "/cgi-bin/groups/delete",
        }
    }

    /// The token endpoints' answers hold a new token: their bodies are never quoted in a detail.
    fn answers_a_token(self) -> bool {
        matches!(self, Self::Token | Self::StableToken)
    }
}

/// HTTP to WeChat and the reading of its answers; knows nothing about tokens.
pub(super) struct Transport {
    http: reqwest::Client,
    base_url: String,
}

impl Transport {
    fn new(config: &ClientConfig) -> Result<Self, WeChatError> {
        let base_url = config.base_url.trim().trim_end_matches('/').to_owned();
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
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect from WeChat's API is not part of it; following one would carry the token
            // to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                WeChatError::Local(format!("could not build the HTTP client: {}", chain(&e)))
            })?;
        Ok(Self { http, base_url })
    }

    /// Sends one request and reads its answer as `T`.
    ///
    /// `secrets` are scrubbed from every error detail and log field this produces; the query is
    /// never logged. Each exchange logs one line: endpoint path, errcode or failure kind, elapsed ms.
    pub(super) async fn exchange<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        secrets: &[&str],
    ) -> Result<T, WeChatError> {
        let started = Instant::now();
        let result = self
            .exchange_unlogged(endpoint, method, query, body, secrets)
            .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
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
        }
        result
    }

    async fn exchange_unlogged<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        secrets: &[&str],
    ) -> Result<T, WeChatError> {
        // Built by hand rather than with reqwest's `query` (a feature we don't enable); the
        // pairs are percent-encoded by `url`.
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base_url, endpoint.path()))
            .map_err(|e| WeChatError::Local(format!("{}: bad URL: {e}", endpoint.path())))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request
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
fn decode<T: DeserializeOwned>(
    endpoint: Endpoint,
    bytes: &[u8],
    secrets: &[&str],
) -> Result<T, WeChatError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        bad_body(
            endpoint,
            format!("not JSON ({e}){}", snippet(endpoint, bytes, secrets)),
        )
    })?;
    // Every documented answer is an object; serde would otherwise accept `[102]` for `{"groupid":102}`.
    if !value.is_object() {
        return Err(bad_body(
            endpoint,
            format!("not a JSON object{}", snippet(endpoint, bytes, secrets)),
        ));
    }
    if let Some(errcode) = value.get("errcode") {
        let Some(code) = errcode.as_i64() else {
            return Err(bad_body(endpoint, "errcode is not an integer".into()));
        };
        if code != 0 {
            let errmsg = value
                .get("errmsg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            return Err(WeChatError::Api {
                code,
                errmsg: scrub(errmsg, secrets),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| {
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
        TransportKind::BadBody
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

    const SECRET: &str = "APPSECRET-do-not-print";

    #[test]
    fn config_debug_redacts_the_secret_and_defaults_are_as_documented() {
        let config = ClientConfig::new("https://api.weixin.qq.com/", "wx123", SECRET.to_owned());
        let shown = format!("{config:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("wx123"), "{shown}");
        assert_eq!(config.token_mode, TokenMode::Stable);
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.connect_timeout, Duration::from_secs(3));
        assert_eq!(config.refresh_margin, Duration::from_secs(300));
    }

    #[test]
    fn client_debug_redacts_the_secret_and_tolerates_a_trailing_slash() {
        let config = ClientConfig::new("http://127.0.0.1:9/", "wx123", SECRET.to_owned());
        let client = WeChatClient::new(config).expect("a valid config builds");
        let shown = format!("{client:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("\"http://127.0.0.1:9\""), "{shown}");
    }

    #[test]
    fn a_base_url_that_is_not_a_url_is_refused_locally() {
        let config = ClientConfig::new("api.weixin.qq.com", "wx123", SECRET.to_owned());
        assert!(matches!(
            WeChatClient::new(config),
            Err(WeChatError::Local(_))
        ));
    }

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
