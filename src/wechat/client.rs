//! Typed calls to the group API, all funnelled through one private [`WeChatClient::call`].
//!
//! The funnel is deliberate: the circuit breaker, the retry policy (`retry.rs`, one table by
//! call kind), the token retry and the create's re-read all live there, so the typed calls stay
//! one line each.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::circuit::{Circuit, CircuitStatus};
use super::endpoint::Endpoint;
use super::errors::{TransportKind, WeChatError};
use super::retry::{self, CallKind};
use super::token::{AccessToken, TokenMode, TokenSource};
use super::transport::{CallObserver, Request, Transport};
use super::wire;
use crate::domain::{Api, GroupId, GroupName, OpenId};

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
    /// Their tags, when they follow (empty otherwise).
    pub tags: Vec<GroupId>,
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
    /// Where the deployment's instances share the access_token (see `TokenShelf`).
    pub token_shelf: Option<Arc<dyn super::TokenShelf>>,
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
            .field("token_shelf", &self.token_shelf.as_ref().map(|_| "set"))
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
            token_shelf: None,
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

/// How a create ended, once a lost answer is settled by reading the list again.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    /// WeChat created the group. `recovered_from` is the fault that lost the create's answer,
    /// when it was the re-read of the list that found the group.
    Created {
        id: GroupId,
        name: String,
        recovered_from: Option<WeChatError>,
    },
    /// The create's answer was lost (`cause`) and the list read again has no such group:
    /// nothing was created, and it is safe to try again.
    NotCreated { cause: WeChatError },
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
            .field("base_url", &self.inner.transport.base_url())
            .field("tokens", &self.inner.tokens)
            .finish()
    }
}

impl WeChatClient {
    /// Builds the client. Fails (as `Local`) only if the base URL (or, in external token mode,
    /// the token URL) is not a URL or the HTTP client cannot be built; nothing is sent yet.
    pub fn new(config: ClientConfig) -> Result<Self, WeChatError> {
        let transport = Transport::new(
            &config.base_url,
            config.token_url.as_deref(),
            config.timeout,
            config.connect_timeout,
            config.observer,
        )?;
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
        )
        .shared_on(config.token_shelf);
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
        self.get_list(Api::Groups).await
    }

    /// Every entry of `api`'s list: the groups (`GET groups/get`) or the tags (`GET tags/get`).
    pub async fn get_list(&self, api: Api) -> Result<Vec<Group>, WeChatError> {
        self.guarded(self.list_unguarded(api, Instant::now())).await
    }

    async fn list_unguarded(&self, api: Api, started: Instant) -> Result<Vec<Group>, WeChatError> {
        let entries = match api {
            Api::Groups => {
                let list: wire::GroupList = self
                    .run(&Request::get(Endpoint::GroupsGet, &[]), started)
                    .await?;
                list.groups
            }
            Api::Tags => {
                let list: wire::TagList = self
                    .run(&Request::get(Endpoint::TagsGet, &[]), started)
                    .await?;
                list.tags
            }
        };
        Ok(entries
            .into_iter()
            .map(|g| Group {
                id: GroupId::from_upstream(g.id),
                name: g.name,
                count: g.count,
            })
            .collect())
    }

    /// Creates a group; answers the id WeChat assigned and the name as WeChat stored it
    /// (`POST groups/create`). A create whose answer was lost and whose re-read shows no such
    /// group is the original error here; [`Self::create_group_settled`] tells it apart.
    pub async fn create_group(&self, name: &GroupName) -> Result<(GroupId, String), WeChatError> {
        match self.create_group_settled(name).await? {
            CreateOutcome::Created { id, name, .. } => Ok((id, name)),
            CreateOutcome::NotCreated { cause } => Err(cause),
        }
    }

    /// Creates a group, settling a lost answer by reading the list again.
    ///
    /// Never retried blindly, since a create whose answer was lost may have happened. After such
    /// an ambiguous failure the group list is read once: a group of that name (the newest, if
    /// there are several) is taken as created; no such group means it was not created; a failed
    /// (or too late) re-read is [`WeChatError::OutcomeUnknown`]. A settled create counts for the
    /// circuit breaker as WeChat answering: the re-read was a proper answer.
    pub async fn create_group_settled(
        &self,
        name: &GroupName,
    ) -> Result<CreateOutcome, WeChatError> {
        self.create_settled(Api::Groups, name).await
    }

    /// Creates a group or a tag, settling a lost answer by reading `api`'s list again (see
    /// [`Self::create_group_settled`]). A tag of that name found by the re-read is taken as
    /// created, as for groups: tag names are unique (45157), so it can only be ours or one made
    /// elsewhere at the same moment.
    pub async fn create_settled(
        &self,
        api: Api,
        name: &GroupName,
    ) -> Result<CreateOutcome, WeChatError> {
        self.guarded(async {
            let started = Instant::now();
            let err = match self.create_once(api, name, started).await {
                Ok(created) => {
                    return Ok(CreateOutcome::Created {
                        id: GroupId::from_upstream(created.id),
                        name: created.name,
                        recovered_from: None,
                    });
                }
                Err(failed) if failed.may_have_happened() || failed.ambiguous_before => failed.err,
                Err(failed) => return Err(failed.err),
            };
            if retry::past_deadline(&self.inner.retry, started) {
                return Err(WeChatError::OutcomeUnknown {
                    cause: Box::new(err),
                });
            }
            self.settle_create(api, name, err, started).await
        })
        .await
    }

    /// One `groups/create` or `tags/create`, never retried (see `retry.rs`).
    async fn create_once(
        &self,
        api: Api,
        name: &GroupName,
        started: Instant,
    ) -> Result<wire::CreatedGroup, Failed> {
        let new = wire::NewGroup {
            name: name.as_str(),
        };
        match api {
            Api::Groups => {
                let body = wire::CreateGroup { group: new };
                let request = Request::post(Endpoint::GroupsCreate, &body);
                let created: wire::Created = self.run_detailed(&request, started).await?;
                Ok(created.group)
            }
            Api::Tags => {
                let body = wire::CreateTag { tag: new };
                let request = Request::post(Endpoint::TagsCreate, &body);
                let created: wire::CreatedTag = self.run_detailed(&request, started).await?;
                Ok(created.tag)
            }
        }
    }

    /// Reads the list once after a create's answer was lost (`err`) and says what it shows.
    async fn settle_create(
        &self,
        api: Api,
        name: &GroupName,
        err: WeChatError,
        started: Instant,
    ) -> Result<CreateOutcome, WeChatError> {
        let failure = err.outcome_label();
        match self.list_unguarded(api, started).await {
            Ok(groups) => match groups
                .into_iter()
                .filter(|g| g.name == name.as_str())
                .max_by_key(|g| g.id.get())
            {
                Some(found) => {
                    tracing::info!(group = found.id.get(), %failure, "wechat create: answer lost, but the re-read found the group; recovered");
                    Ok(CreateOutcome::Created {
                        id: found.id,
                        name: found.name,
                        recovered_from: Some(err),
                    })
                }
                None => {
                    tracing::info!(%failure, "wechat create: answer lost and the re-read has no such group; not created");
                    Ok(CreateOutcome::NotCreated { cause: err })
                }
            },
            Err(reread) => {
                tracing::warn!(%failure, reread = %reread.outcome_label(), "wechat create: answer lost and the re-read failed; outcome unknown");
                Err(WeChatError::OutcomeUnknown {
                    cause: Box::new(err),
                })
            }
        }
    }

    /// Renames a group (`POST groups/update`).
    pub async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<(), WeChatError> {
        self.rename(Api::Groups, id, name).await
    }

    /// Renames a group (`POST groups/update`) or a tag (`POST tags/update`).
    pub async fn rename(&self, api: Api, id: GroupId, name: &GroupName) -> Result<(), WeChatError> {
        let entry = wire::GroupIdName {
            id: id.get(),
            name: name.as_str(),
        };
        match api {
            Api::Groups => {
                let body = wire::RenameGroup { group: entry };
                self.ack(Endpoint::GroupsUpdate, &body).await
            }
            Api::Tags => {
                let body = wire::RenameTag { tag: entry };
                self.ack(Endpoint::TagsUpdate, &body).await
            }
        }
    }

    /// Which group a follower is in (`POST groups/getid`).
    pub async fn get_user_group(&self, openid: &OpenId) -> Result<GroupId, WeChatError> {
        let body = wire::GetUserGroup {
            openid: openid.as_str(),
        };
        let found: wire::UserGroup = self
            .call(&Request::post(Endpoint::GroupsGetId, &body))
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
        self.delete(Api::Groups, id).await
    }

    /// Deletes a group (`POST groups/delete`) or a tag (`POST tags/delete`, which WeChat refuses
    /// with 45057 above 100,000 followers). A "no such group/tag" (40050 / 45159) answering a
    /// *retry* means the attempt whose answer was lost did delete it.
    pub async fn delete(&self, api: Api, id: GroupId) -> Result<(), WeChatError> {
        let entry = wire::GroupRef { id: id.get() };
        self.guarded(async {
            let started = Instant::now();
            let (sent, gone) = match api {
                Api::Groups => {
                    let body = wire::DeleteGroup { group: entry };
                    let request = Request::post(Endpoint::GroupsDelete, &body);
                    (self.run_detailed::<wire::Ack, _>(&request, started).await, 40050)
                }
                Api::Tags => {
                    let body = wire::DeleteTag { tag: entry };
                    let request = Request::post(Endpoint::TagsDelete, &body);
                    (self.run_detailed::<wire::Ack, _>(&request, started).await, 45159)
                }
            };
            match sent {
                Ok(_) => Ok(()),
                Err(failed) if failed.ambiguous_before && failed.err.code() == Some(gone) => {
                    tracing::info!(
                        id = id.get(),
                        %api,
                        "wechat delete: a retry found nothing of that id; the lost attempt deleted it"
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
        let page: wire::UserList = self.call(&Request::get(Endpoint::UserGet, &query)).await?;
        let not_an_openid = |what: &str, e| WeChatError::Transport {
            kind: TransportKind::BadBody,
            detail: format!("{}: {what} is not an OpenID: {e}", Endpoint::UserGet.path()),
        };
        let openids = page
            .data
            .map(|d| d.openid)
            .unwrap_or_default()
            .iter()
            .map(|o| OpenId::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_an_openid("an OpenID in the list", e))?;
        // Empty means the end of the list; anything else must be an OpenID. Read as the end, a
        // garbled one would make a sync stop early and drop every follower it had not seen yet.
        let next = match page.next_openid.as_str() {
            "" => None,
            n => Some(OpenId::parse(n).map_err(|e| not_an_openid("next_openid", e))?),
        };
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
            .call(&Request::post(Endpoint::UserInfoBatchGet, &body))
            .await?;
        answer
            .user_info_list
            .into_iter()
            .map(|u| {
                let openid = OpenId::parse(&u.openid).map_err(|e| WeChatError::Transport {
                    kind: TransportKind::BadBody,
                    detail: format!("{}: {e}", Endpoint::UserInfoBatchGet.path()),
                })?;
                let subscribed = u.subscribe == 1;
                Ok(FollowerInfo {
                    openid,
                    subscribed,
                    group: u.groupid.filter(|_| subscribed).map(GroupId::from_upstream),
                    tags: if subscribed {
                        u.tagid_list
                            .into_iter()
                            .map(GroupId::from_upstream)
                            .collect()
                    } else {
                        Vec::new()
                    },
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
    pub(super) async fn ack<B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        body: &B,
    ) -> Result<(), WeChatError> {
        let _: wire::Ack = self.call(&Request::post(endpoint, body)).await?;
        Ok(())
    }

    /// One call, through the circuit breaker and the retry policy.
    pub(super) async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
    ) -> Result<T, WeChatError> {
        self.guarded(async { self.run(request, Instant::now()).await })
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
        request: &Request<'_, B>,
        started: Instant,
    ) -> Result<T, WeChatError> {
        self.run_detailed(request, started)
            .await
            .map_err(|failed| failed.err)
    }

    /// The retry loop: attempts `request` until it succeeds, fails in a way its call kind does
    /// not retry, runs out of retries, or would start after the deadline.
    ///
    /// The failure says whether the last attempt was sent and whether an earlier one failed
    /// ambiguously (it may have been carried out): what a create and a delete need to know.
    async fn run_detailed<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
        started: Instant,
    ) -> Result<T, Failed> {
        let endpoint = request.endpoint;
        let kind = CallKind::of(endpoint);
        let settings = &self.inner.retry;
        let mut token_retried = false;
        let mut retries = 0;
        let mut ambiguous_before = false;
        loop {
            let attempt = self.attempt(request, &mut token_retried).await;
            let mut failed = match attempt {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            failed.ambiguous_before = ambiguous_before;
            if retries >= settings.max_retries || !kind.retries(&failed.err) {
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
    async fn attempt<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
        token_retried: &mut bool,
    ) -> Result<T, Failed> {
        let tokens = &self.inner.tokens;
        let token = tokens
            .get(&self.inner.transport)
            .await
            .map_err(Failed::unsent)?;
        match self.send(request, &token).await {
            Err(Failed { err, .. }) if err.is_token_error() && !*token_retried => {
                *token_retried = true;
                tracing::info!(
                    endpoint = request.endpoint.path(),
                    errcode = err.code(),
                    "wechat refused the access_token; retrying once with another"
                );
                tokens.expire(&token).await;
                let fresh = tokens
                    .get(&self.inner.transport)
                    .await
                    .map_err(Failed::unsent)?;
                self.send(request, &fresh).await
            }
            other => other,
        }
    }

    /// Sends `request` once with `token` in front of its own query parameters.
    async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        request: &Request<'_, B>,
        token: &AccessToken,
    ) -> Result<T, Failed> {
        let token = token.expose();
        let secrets = [token, self.inner.tokens.secret()];
        let mut pairs = vec![("access_token", token)];
        pairs.extend_from_slice(request.query);
        self.inner
            .transport
            .exchange(&request.with_query(&pairs), &secrets)
            .await
            .map_err(|err| Failed {
                err,
                sent: true,
                ambiguous_before: false,
            })
    }
}

/// How an attempt (or, from `run_detailed`, a whole call) failed.
struct Failed {
    err: WeChatError,
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
            sent: false,
            ambiguous_before: false,
        }
    }

    /// The request went out and no proper answer came back: it may have been carried out.
    fn may_have_happened(&self) -> bool {
        self.sent && retry::is_ambiguous(&self.err)
    }
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
}
