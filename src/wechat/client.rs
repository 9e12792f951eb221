//! Typed calls to the group API, all funnelled through one private [`WeChatClient::call`].
//!
//! The funnel is deliberate: the circuit breaker, the retry policy (`retry.rs`, one table by
//! call kind), the token retry and the create's re-read all live there, so the typed calls stay
//! one line each.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::circuit::{Circuit, CircuitStatus};
use super::errors::{TransportKind, WeChatError, scrub};
use super::retry::{self, CallKind};
use super::token::{AccessToken, TokenMode, TokenSource};
use super::wire;
use crate::domain::{GroupId, GroupName, OpenId};

/// The most openids WeChat takes in one `members/batchupdate`.
pub const MAX_BATCH: usize = 50;
/// The most users WeChat describes in one `user/info/batchget`.
pub const MAX_INFO_BATCH: usize = 100;
/// The most OpenIDs one `user/get` page holds.
pub const FOLLOWER_PAGE: usize = 10_000;

/// One page of `user/get`.
#[derive(Debug, Clone)]
pub struct FollowerPage {
    /// How many followers the account has, as WeChat counted them for this page.
    pub total: u64,
    pub openids: Vec<OpenId>,
    /// Where the next page starts; `None` when WeChat said "" (no more).
    pub next: Option<OpenId>,
}

/// What `user/info/batchget` says about one follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerInfo {
    pub openid: OpenId,
    /// `false`: the user no longer follows the account.
    pub subscribed: bool,
    /// Their group, when they follow.
    pub group: Option<GroupId>,
}

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

/// Where and how to reach WeChat.
#[derive(Clone)]
pub struct ClientConfig {
    /// e.g. `https://api.weixin.qq.com` or a simulator's `http://127.0.0.1:PORT`; a trailing slash
    /// is tolerated.
    pub base_url: String,
    pub appid: String,
    /// The AppSecret. `SecretString` prints as `[REDACTED]` in `Debug`.
    pub secret: SecretString,
    pub token_mode: TokenMode,
    /// For [`TokenMode::External`]: the URL answering `{"access_token":…,"expires_in":…}` to a
    /// GET. May carry a credential of its own in the query, so `Debug` shows only its path.
    pub token_url: Option<String>,
    /// Whole-request timeout for every call, token fetches included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Refresh this long before the token's `expires_in` runs out (half its life if it is shorter).
    pub refresh_margin: Duration,
    /// How many times a retryable failure is retried (see `retry.rs`); 0 turns retries off.
    pub max_retries: u32,
    /// The first retry waits up to this long (full jitter), each further one twice as long.
    pub backoff_base: Duration,
    /// No attempt (retry or re-read) starts after this much time since the call began.
    pub deadline: Duration,
    /// This many calls failing in a row (timeouts, connection errors, 5xx, broken answers, -1)
    /// open the circuit.
    pub circuit_threshold: u32,
    /// How long an open circuit fails calls fast before letting one trial call through.
    pub circuit_cooldown: Duration,
    /// Told about every request sent to WeChat.
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("token_mode", &self.token_mode)
            .field("token_url", &self.token_url.as_deref().map(redact_url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("refresh_margin", &self.refresh_margin)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("deadline", &self.deadline)
            .field("circuit_threshold", &self.circuit_threshold)
            .field("circuit_cooldown", &self.circuit_cooldown)
            .field("observer", &self.observer.as_ref().map(|_| "set"))
            .finish()
    }
}

/// A URL without its query, fragment or user info: what may be printed of a token URL.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "[not a URL]".to_owned(),
    }
}

impl ClientConfig {
    /// A configuration with the defaults: stable token, 10 s timeout, 3 s connect timeout,
    /// refresh 300 s before expiry, 2 retries from 100 ms within a 20 s deadline, a circuit that
    /// opens after 5 failures in a row for 30 s.
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
            token_url: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            refresh_margin: Duration::from_secs(300),
            max_retries: 2,
            backoff_base: Duration::from_millis(100),
            deadline: Duration::from_secs(20),
            circuit_threshold: 5,
            circuit_cooldown: Duration::from_secs(30),
            observer: None,
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

/// The WeChat API client: one HTTP connection pool, one token cache and one circuit breaker,
/// shared by every clone.
#[derive(Clone)]
pub struct WeChatClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: TokenSource,
    circuit: Circuit,
    retry: retry::Settings,
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
    /// Builds the client. Fails (as `Local`) only if the base URL (or, in external token mode,
    /// the token URL) is not a URL or the HTTP client cannot be built; nothing is sent yet.
    pub fn new(config: ClientConfig) -> Result<Self, WeChatError> {
        let transport = Transport::new(&config)?;
        if config.token_mode == TokenMode::External && transport.token_url.is_none() {
            return Err(WeChatError::Local(
                "token mode \"external\" needs a token URL".into(),
            ));
        }
        let tokens = TokenSource::new(
            config.token_mode,
            config.appid,
            config.secret,
            config.refresh_margin,
        );
        let circuit = Circuit::new(config.circuit_threshold, config.circuit_cooldown);
        let retry = retry::Settings {
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            deadline: config.deadline,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                tokens,
                circuit,
                retry,
            }),
        })
    }

    /// The circuit breaker's state, for a "WeChat is not answering" banner and `/metrics`.
    pub fn circuit(&self) -> CircuitStatus {
        self.inner.circuit.status()
    }

    /// Every group of the account, system groups included (`GET groups/get`).
    pub async fn get_groups(&self) -> Result<Vec<Group>, WeChatError> {
        self.guarded(self.groups_unguarded(Instant::now())).await
    }

    async fn groups_unguarded(&self, started: Instant) -> Result<Vec<Group>, WeChatError> {
        let list: wire::GroupList = self
            .run(Endpoint::GroupsGet, Method::GET, None::<&()>, started)
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
    /// Never retried blindly, since a create whose answer was lost may have happened. After such
    /// an ambiguous failure the group list is read once: a group of that name (the newest, if
    /// there are several) is taken as created; no such group means it was not created and the
    /// original error is returned; a failed re-read is [`WeChatError::OutcomeUnknown`].
    pub async fn create_group(&self, name: &GroupName) -> Result<(GroupId, String), WeChatError> {
        self.guarded(async {
            let started = Instant::now();
            let body = wire::CreateGroup {
                group: wire::NewGroup {
                    name: name.as_str(),
                },
            };
            let err = match self
                .run_detailed::<wire::Created, _>(
                    Endpoint::GroupsCreate,
                    Method::POST,
                    &[],
                    Some(&body),
                    started,
                )
                .await
            {
                Ok(created) => {
                    return Ok((GroupId::from_upstream(created.group.id), created.group.name));
                }
                Err(failed) if failed.may_have_happened() || failed.ambiguous_before => failed.err,
                Err(failed) => return Err(failed.err),
            };
            if retry::past_deadline(&self.inner.retry, started) {
                return Err(WeChatError::OutcomeUnknown {
                    cause: Box::new(err),
                });
            }
            match self.groups_unguarded(started).await {
                Ok(groups) => match groups
                    .into_iter()
                    .filter(|g| g.name == name.as_str())
                    .max_by_key(|g| g.id.get())
                {
                    Some(found) => {
                        tracing::info!(
                            group = found.id.get(),
                            failure = %err.outcome_label(),
                            "wechat create: answer lost, but the re-read found the group; recovered"
                        );
                        Ok((found.id, found.name))
                    }
                    None => {
                        tracing::info!(
                            failure = %err.outcome_label(),
                            "wechat create: answer lost and the re-read has no such group; not created"
                        );
                        Err(err)
                    }
                },
                Err(reread) => {
                    tracing::warn!(
                        failure = %err.outcome_label(),
                        reread = %reread.outcome_label(),
                        "wechat create: answer lost and the re-read failed; outcome unknown"
                    );
                    Err(WeChatError::OutcomeUnknown {
                        cause: Box::new(err),
                    })
                }
            }
        })
        .await
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
    ///
    /// Retried like an absolute write; a 40050 ("no such group") answering a *retry* means the
    /// attempt whose answer was lost did delete it, so it counts as success.
    pub async fn delete_group(&self, id: GroupId) -> Result<(), WeChatError> {
        let body = wire::DeleteGroup {
            group: wire::GroupRef { id: id.get() },
        };
        self.guarded(async {
            let started = Instant::now();
            match self
                .run_detailed::<wire::Ack, _>(
                    Endpoint::GroupsDelete,
                    Method::POST,
                    &[],
                    Some(&body),
                    started,
                )
                .await
            {
                Ok(_) => Ok(()),
                Err(failed) if failed.ambiguous_before && failed.err.code() == Some(40050) => {
                    tracing::info!(
                        group = id.get(),
                        "wechat delete: a retry found no such group; the lost attempt deleted it"
                    );
                    Ok(())
                }
                Err(failed) => Err(failed.err),
            }
        })
        .await
    }

    /// One page of the account's followers, in WeChat's order (`GET user/get`): up to
    /// [`FOLLOWER_PAGE`] OpenIDs starting after `after` (the previous page's `next_openid`), or
    /// from the first follower when `after` is `None`.
    pub async fn list_followers(
        &self,
        after: Option<&OpenId>,
    ) -> Result<FollowerPage, WeChatError> {
        let query: Vec<(&str, &str)> = after
            .map(|o| vec![("next_openid", o.as_str())])
            .unwrap_or_default();
        let page: wire::UserList = self
            .call_with_query(Endpoint::UserGet, Method::GET, &query, None::<&()>)
            .await?;
        let openids = page
            .data
            .map(|d| d.openid)
            .unwrap_or_default()
            .iter()
            .map(|o| OpenId::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WeChatError::Transport {
                kind: TransportKind::BadBody,
                detail: format!(
                    "{}: an OpenID in the list is not one: {e}",
                    Endpoint::UserGet.path()
                ),
            })?;
        let next = Some(page.next_openid)
            .filter(|n| !n.is_empty())
            .and_then(|n| OpenId::parse(&n).ok());
        Ok(FollowerPage {
            total: page.total,
            openids,
            next,
        })
    }

    /// The group (and whether they still follow) of 1 to [`MAX_INFO_BATCH`] followers
    /// (`POST user/info/batchget`), in the order asked. Any other number is refused locally.
    pub async fn follower_infos(
        &self,
        openids: &[OpenId],
    ) -> Result<Vec<FollowerInfo>, WeChatError> {
        if openids.is_empty() || openids.len() > MAX_INFO_BATCH {
            return Err(WeChatError::Local(format!(
                "user/info/batchget takes 1 to {MAX_INFO_BATCH} OpenIDs, not {}",
                openids.len()
            )));
        }
        let body = wire::BatchInfoRequest {
            user_list: openids
                .iter()
                .map(|o| wire::UserRef {
                    openid: o.as_str(),
                    lang: "zh_CN",
                })
                .collect(),
        };
        let answer: wire::BatchInfo = self
            .call(Endpoint::UserInfoBatchGet, Method::POST, Some(&body))
            .await?;
        answer
            .user_info_list
            .into_iter()
            .map(|u| {
                let openid = OpenId::parse(&u.openid).map_err(|e| WeChatError::Transport {
                    kind: TransportKind::BadBody,
                    detail: format!("{}: {e}", Endpoint::UserInfoBatchGet.path()),
                })?;
                Ok(FollowerInfo {
                    openid,
                    subscribed: u.subscribe == 1,
                    group: u
                        .groupid
                        .filter(|_| u.subscribe == 1)
                        .map(GroupId::from_upstream),
                })
            })
            .collect()
    }

    /// Obtains a token (or finds a cached one) without calling anything else: a readiness check
    /// that proves the AppID, secret, IP whitelist and network are all right. Not subject to the
    /// circuit breaker, so that readiness reports the real state of the token source.
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

    /// One call, through the circuit breaker and the retry policy.
    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        body: Option<&B>,
    ) -> Result<T, WeChatError> {
        self.call_with_query(endpoint, method, &[], body).await
    }

    /// [`Self::call`] with query parameters besides the token (`user/get`'s `next_openid`).
    async fn call_with_query<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, WeChatError> {
        self.guarded(async {
            self.run_detailed(endpoint, method, query, body, Instant::now())
                .await
                .map_err(|failed| failed.err)
        })
        .await
    }

    /// Runs `work` (one call, or a create and its re-read) if the circuit lets it, and counts
    /// its outcome once.
    async fn guarded<T>(
        &self,
        work: impl Future<Output = Result<T, WeChatError>>,
    ) -> Result<T, WeChatError> {
        let permit = self.inner.circuit.admit()?;
        let result = work.await;
        self.inner.circuit.record(permit, &result);
        result
    }

    /// [`Self::run_detailed`] for callers that only need the error.
    async fn run<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        body: Option<&B>,
        started: Instant,
    ) -> Result<T, WeChatError> {
        self.run_detailed(endpoint, method, &[], body, started)
            .await
            .map_err(|failed| failed.err)
    }

    /// The retry loop: attempts `endpoint` until it succeeds, fails in a way its call kind does
    /// not retry, runs out of retries, or would start after the deadline.
    ///
    /// The failure says whether the last attempt was sent and whether an earlier one failed
    /// ambiguously (it may have been carried out): what a create and a delete need to know.
    async fn run_detailed<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        started: Instant,
    ) -> Result<T, Failed> {
        let kind = CallKind::of(endpoint);
        let settings = &self.inner.retry;
        let mut token_retried = false;
        let mut retries = 0;
        let mut ambiguous_before = false;
        loop {
            let attempt = self
                .attempt(endpoint, method.clone(), query, body, &mut token_retried)
                .await;
            let mut failed = match attempt {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            failed.ambiguous_before = ambiguous_before;
            if retries >= settings.max_retries || !kind.retries(&failed.err, failed.broke) {
                return Err(failed);
            }
            let wait = retry::backoff(settings.backoff_base, retries);
            if started.elapsed() + wait >= settings.deadline {
                tracing::info!(
                    endpoint = endpoint.path(),
                    "wechat call: deadline reached; no further attempt"
                );
                return Err(failed);
            }
            ambiguous_before |= failed.may_have_happened();
            let err = failed.err;
            retries += 1;
            metrics::counter!("wxgroups_upstream_retries_total", "endpoint" => endpoint.label())
                .increment(1);
            tracing::info!(
                endpoint = endpoint.path(),
                failure = %err.outcome_label(),
                retry = retries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "wechat call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt with a token.
    ///
    /// If WeChat says the token is no good (40001, 40014, 42001), the token that failed is expired
    /// (unless someone already replaced it), a token is obtained and the request is sent again,
    /// once per call: a second refusal is returned, so a bad secret or a token war never turns
    /// into a loop. Safe for every call because a refused token means WeChat did nothing.
    ///
    async fn attempt<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        token_retried: &mut bool,
    ) -> Result<T, Failed> {
        let tokens = &self.inner.tokens;
        let token = tokens
            .get(&self.inner.transport)
            .await
            .map_err(Failed::unsent)?;
        match self
            .send(endpoint, method.clone(), query, body, &token)
            .await
        {
            Err(Failed { err, .. }) if err.is_token_error() && !*token_retried => {
                *token_retried = true;
                tracing::info!(
                    endpoint = endpoint.path(),
                    errcode = err.code(),
                    "wechat refused the access_token; retrying once with another"
                );
                tokens.expire(&token).await;
                let fresh = tokens
                    .get(&self.inner.transport)
                    .await
                    .map_err(Failed::unsent)?;
                self.send(endpoint, method, query, body, &fresh).await
            }
            other => other,
        }
    }

    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        token: &AccessToken,
    ) -> Result<T, Failed> {
        let token = token.expose();
        let secrets = [token, self.inner.tokens.secret()];
        let mut pairs = vec![("access_token", token)];
        pairs.extend_from_slice(query);
        self.inner
            .transport
            .exchange_detailed(endpoint, method, &pairs, body, &secrets)
            .await
            .map_err(|(err, broke)| Failed {
                err,
                broke,
                sent: true,
                ambiguous_before: false,
            })
    }
}

/// How an attempt (or, from `run_detailed`, a whole call) failed.
struct Failed {
    err: WeChatError,
    /// A `BadBody` that is a connection broken mid-exchange, not an answer we could read.
    broke: bool,
    /// The endpoint's own request went out (as opposed to failing at the token fetch).
    sent: bool,
    /// An earlier attempt of the same call may have been carried out.
    ambiguous_before: bool,
}

impl Failed {
    /// A failure before the request was sent (the token fetch).
    fn unsent(err: WeChatError) -> Self {
        Self {
            err,
            broke: false,
            sent: false,
            ambiguous_before: false,
        }
    }

    /// The request went out and no proper answer came back: it may have been carried out.
    fn may_have_happened(&self) -> bool {
        self.sent && retry::is_ambiguous(&self.err)
    }
}

/// The upstream endpoints this client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Token,
    StableToken,
    /// The external token service ([`TokenMode::External`]); not WeChat.
    ExternalToken,
    GroupsGet,
    GroupsCreate,
    GroupsUpdate,
    GroupsGetId,
    MembersUpdate,
    MembersBatchUpdate,
    GroupsDelete,
    UserGet,
    UserInfoBatchGet,
}

impl Endpoint {
    /// The path under the base URL (no query: this is also what we log).
    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Token => "/cgi-bin/token",
            Self::StableToken => "/cgi-bin/stable_token",
            // Its URL is configured and may carry a credential; logs name it only so.
            Self::ExternalToken => "external token URL",
            Self::GroupsGet => "/cgi-bin/groups/get",
            Self::GroupsCreate => "/cgi-bin/groups/create",
            Self::GroupsUpdate => "/cgi-bin/groups/update",
            Self::GroupsGetId => "/cgi-bin/groups/getid",
            Self::MembersUpdate => "/cgi-bin/groups/members/update",
            Self::MembersBatchUpdate => "/cgi-bin/groups/members/batchupdate",
            Self::GroupsDelete => "/cgi-bin/groups/delete",
            Self::UserGet => "/cgi-bin/user/get",
            Self::UserInfoBatchGet => "/cgi-bin/user/info/batchget",
        }
    }

    /// The metrics and observer label: the path under `/cgi-bin/` ("groups/get").
    pub(super) fn label(self) -> &'static str {
        let path = self.path();
        path.strip_prefix("/cgi-bin/").unwrap_or(path)
    }

    /// The token endpoints' answers hold a new token: their bodies are never quoted in a detail.
    fn answers_a_token(self) -> bool {
        matches!(self, Self::Token | Self::StableToken | Self::ExternalToken)
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
        let token_url = match config.token_url.as_deref().map(str::trim) {
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
            observer: config.observer.clone(),
        })
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
        self.exchange_detailed(endpoint, method, query, body, secrets)
            .await
            .map_err(|(err, _)| err)
    }

    /// [`Self::exchange`], telling with an error whether the connection broke mid-exchange (a
    /// `BadBody` from the network rather than from an answer we could read).
    ///
    /// Also the one place that counts upstream calls: the metrics, and the observer for every
    /// request that went out.
    pub(super) async fn exchange_detailed<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        secrets: &[&str],
    ) -> Result<T, (WeChatError, bool)> {
        let started = Instant::now();
        let detailed = self
            .exchange_unlogged(endpoint, method, query, body, secrets)
            .await;
        let elapsed = started.elapsed();
        let (result, broke) = match detailed {
            Ok(value) => (Ok(value), false),
            Err((err, broke)) => (Err(err), broke),
        };
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
        result.map_err(|err| (err, broke))
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
        endpoint: Endpoint,
        method: Method,
        query: &[(&str, &str)],
        body: Option<&B>,
        secrets: &[&str],
    ) -> Result<T, (WeChatError, bool)> {
        // A broken connection is a reqwest error; everything else is an answer we read.
        let unbroken = |err: WeChatError| (err, false);
        // Built by hand rather than with reqwest's `query` (a feature we don't enable); the
        // pairs are percent-encoded by `url`.
        let mut url = match (endpoint, &self.token_url) {
            (Endpoint::ExternalToken, Some(url)) => url.clone(),
            (Endpoint::ExternalToken, None) => {
                return Err(unbroken(WeChatError::Local(
                    "no token URL configured".into(),
                )));
            }
            _ => reqwest::Url::parse(&format!("{}{}", self.base_url, endpoint.path())).map_err(
                |e| {
                    unbroken(WeChatError::Local(format!(
                        "{}: bad URL: {e}",
                        endpoint.path()
                    )))
                },
            )?,
        };
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
            return Err(unbroken(WeChatError::Transport {
                kind: TransportKind::HttpStatus(status.as_u16()),
                detail: format!("{} answered HTTP {status}", endpoint.path()),
            }));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| from_reqwest(e, endpoint, secrets))?
        {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(unbroken(bad_body(
                    endpoint,
                    format!("answer larger than {MAX_BODY_BYTES} bytes"),
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        decode(endpoint, &bytes, secrets).map_err(unbroken)
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
fn from_reqwest(err: reqwest::Error, endpoint: Endpoint, secrets: &[&str]) -> (WeChatError, bool) {
    // The URL carries `access_token=` (or the classic endpoint's `secret=`): drop it first.
    let err = err.without_url();
    let detail = scrub(&format!("{}: {}", endpoint.path(), chain(&err)), secrets);
    if err.is_builder() {
        return (WeChatError::Local(detail), false);
    }
    let kind = if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        // The connection broke after the request went out, or the body was cut off.
        TransportKind::BadBody
    };
    (
        WeChatError::Transport { kind, detail },
        kind == TransportKind::BadBody,
    )
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
