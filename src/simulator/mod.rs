//! A faithful stand-in for WeChat's API: the demo's account and the tests' double.
//!
//! Same paths, same JSON, same rules and error codes as `api.weixin.qq.com` for the calls wxgroups
//! makes (see `shared/WECHAT_API.md`): access_tokens (classic and stable), the groups API and the
//! user list. Errors are HTTP 200 with `{"errcode":N,"errmsg":"..."}`, as WeChat sends them.
//!
//! Every request enters through one function (`entry`) that counts it, applies any injected
//! [`Fault`] (latency, forced errcodes, 5xx, garbage bodies, dropped connections, hangs), checks
//! the method and the access_token and only then runs the endpoint's rules under one lock.
//!
//! Faults are set with [`Simulator::inject`], from `--fault` specs ([`parse_fault_spec`]) or over
//! HTTP from loopback only: `POST /_sim/faults` (`{"endpoint":"groups/get","fault":{...}}` or
//! `{"spec":"groups/get=errcode:-1"}`), `DELETE /_sim/faults`, `GET /_sim/stats`.

mod account;
mod endpoints;
mod errcode;
mod faults;
mod openid;
mod tokens;

pub use faults::{Fault, parse_fault_spec};

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use self::account::Account;
use self::endpoints::Endpoint;
use self::errcode::Errcode;
use self::faults::Faults;
use self::openid::OpenIdCodec;
use self::tokens::Tokens;

/// How the simulated account is set up.
#[derive(Clone)]
pub struct SimConfig {
    /// The AppID token requests must name.
    pub appid: String,
    /// The AppSecret token requests must carry. The simulator's own copy, so a plain `String`;
    /// it is never logged and `Debug` hides it.
    pub secret: String,
    /// How many followers the account starts with.
    pub followers: u32,
    /// A token's lifetime (`expires_in`).
    pub token_lifetime: Duration,
    /// How long the previous classic token keeps working after a new classic fetch.
    pub classic_grace: Duration,
    /// At most this many `groups/members/batchupdate` calls are carried out per `batch_window`;
    /// beyond that WeChat's 45011 ("API调用太频繁") answers and nothing moves. `None`: no limit.
    pub batch_per_minute: Option<u32>,
    /// The sliding window `batch_per_minute` counts in: a minute, as WeChat's quota; tests
    /// shorten it.
    pub batch_window: Duration,
}

impl Default for SimConfig {
    /// The demo account: 1,000 followers, WeChat's 7200 s tokens and 5-minute overlap.
    fn default() -> Self {
        Self {
            appid: "wxdemo0000000000".to_owned(),
            secret: "demo-secret".to_owned(),
            followers: 1_000,
            token_lifetime: Duration::from_secs(7200),
            classic_grace: Duration::from_secs(300),
            batch_per_minute: None,
            batch_window: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("followers", &self.followers)
            .field("token_lifetime", &self.token_lifetime)
            .field("classic_grace", &self.classic_grace)
            .field("batch_per_minute", &self.batch_per_minute)
            .field("batch_window", &self.batch_window)
            .finish()
    }
}

/// A simulated WeChat Official Account. Cheap to clone: clones share one account.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    codec: OpenIdCodec,
    /// Tokens and account under one lock: a request checks its token and applies its change
    /// atomically, and no handler holds it across an await.
    state: Mutex<SimState>,
    calls: Mutex<HashMap<String, u64>>,
    total_calls: AtomicU64,
    faults: Mutex<Faults>,
}

struct SimState {
    tokens: Tokens,
    account: Account,
    /// When recent `batchupdate` calls were carried out, for the per-minute limit.
    batch_times: std::collections::VecDeque<std::time::Instant>,
    /// Every `batchupdate` carried out: the follower indexes and the target group, in order.
    batch_log: Vec<(Vec<u32>, u32)>,
}

/// The batch log keeps at most this many calls (a million followers in chunks of 50 is 20,000).
const MAX_BATCH_LOG: usize = 100_000;

/// Unknown paths are counted too, but only this many distinct ones, so a scanner cannot grow the
/// counter map without bound.
const MAX_COUNTED_UNKNOWN_PATHS: usize = 256;

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Seeds the account: groups 0/1/2, a few demo groups (ids 100–103) and `followers` followers
    /// spread over them, deterministically.
    pub fn new(config: SimConfig) -> Self {
        let state = SimState {
            tokens: Tokens::new(config.token_lifetime, config.classic_grace),
            account: Account::seeded(config.followers),
            batch_times: std::collections::VecDeque::new(),
            batch_log: Vec::new(),
        };
        Self {
            inner: Arc::new(Inner {
                codec: OpenIdCodec::new(&config.appid),
                config,
                state: Mutex::new(state),
                calls: Mutex::new(HashMap::new()),
                total_calls: AtomicU64::new(0),
                faults: Mutex::new(Faults::default()),
            }),
        }
    }

    /// The simulator's HTTP API: every path under `/cgi-bin/`, with its state inside.
    ///
    /// Also the control endpoints under `/_sim/`, which answer only to loopback peers and need
    /// the peer's address: serve with `into_make_service_with_connect_info::<SocketAddr>()` (as
    /// [`serve`] does); without it they refuse every request.
    ///
    /// No fallback is set, so the router can be merged into another one.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cgi-bin/{*path}", any(entry))
            .route("/_sim/faults", post(control_inject).delete(control_clear))
            .route("/_sim/stats", get(control_stats))
            .with_state(self.clone())
    }

    /// Applies `fault` to the requests for `endpoint` (`"groups/get"`, `"/cgi-bin/groups/get"`,
    /// or `"*"` for every path), replacing any fault that endpoint had.
    pub fn inject(&self, endpoint: &str, fault: Fault) {
        let key = faults::endpoint_key(endpoint);
        tracing::info!(endpoint = %key, ?fault, "simulator: fault injected");
        lock(&self.inner.faults).set(key, fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// The call counts as `/_sim/stats` shows them.
    fn stats(&self) -> Value {
        let calls = lock(&self.inner.calls).clone();
        let faults = lock(&self.inner.faults).snapshot();
        json!({
            "total_calls": self.total_calls(),
            "calls": calls,
            "faults": faults,
        })
    }

    /// How many requests hit `path` (e.g. `"/cgi-bin/groups/get"`), successful or not.
    pub fn calls(&self, path: &str) -> u64 {
        lock(&self.inner.calls).get(path).copied().unwrap_or(0)
    }

    /// How many requests hit the simulator, all paths together.
    pub fn total_calls(&self) -> u64 {
        self.inner.total_calls.load(Ordering::Relaxed)
    }

    /// Starts counting from zero again.
    pub fn reset_calls(&self) {
        lock(&self.inner.calls).clear();
        self.inner.total_calls.store(0, Ordering::Relaxed);
    }

    /// The OpenID of the `index`-th seeded follower (0-based), the same on every run for the same
    /// AppID. An index at or beyond `followers` gives a well-formed OpenID of someone who does not
    /// follow the account.
    pub fn follower_openid(&self, index: u32) -> String {
        self.inner.codec.encode(index)
    }

    /// The group a follower is in, or `None` if the OpenID is not a follower. For test
    /// assertions: not counted as a call.
    pub fn group_of(&self, openid: &str) -> Option<u32> {
        let index = self.inner.codec.decode(openid)?;
        self.state().account.group_of(index)
    }

    /// Every `groups/members/batchupdate` the simulator carried out (refused ones are not
    /// listed), in order: the OpenIDs moved and the group they went to. For test assertions such
    /// as "no chunk was sent twice".
    pub fn batch_log(&self) -> Vec<(Vec<String>, u32)> {
        self.state()
            .batch_log
            .iter()
            .map(|(indexes, to)| {
                (
                    indexes
                        .iter()
                        .map(|&i| self.inner.codec.encode(i))
                        .collect(),
                    *to,
                )
            })
            .collect()
    }

    /// How many groups exist, 0, 1 and 2 included.
    pub fn group_count(&self) -> usize {
        self.state().account.group_count()
    }

    /// Every token handed out so far answers 42001 (expired) from now on.
    pub fn expire_tokens(&self) {
        self.state().tokens.expire_all();
    }

    /// Every access_token handed out so far (for tests that check none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().tokens.all()
    }

    /// Every token handed out so far answers 40001 (invalid) from now on.
    pub fn invalidate_tokens(&self) {
        self.state().tokens.invalidate_all();
    }

    fn state(&self) -> MutexGuard<'_, SimState> {
        lock(&self.inner.state)
    }

    fn count(&self, path: &str, known: bool) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let mut calls = lock(&self.inner.calls);
        if let Some(n) = calls.get_mut(path) {
            *n += 1;
        } else if known || calls.len() < MAX_COUNTED_UNKNOWN_PATHS {
            calls.insert(path.to_owned(), 1);
        }
    }
}

/// A panic while holding a lock cannot leave the state half-changed in a way that matters more
/// than refusing every later request would, so a poisoned lock is used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves the simulator on a bound listener until the future is dropped (used by `wxgroups sim`
/// and tests).
///
/// With the peer's address, so that the control endpoints can tell loopback from the rest.
pub async fn serve(listener: tokio::net::TcpListener, sim: Simulator) -> std::io::Result<()> {
    axum::serve(
        listener,
        sim.router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// Whether the request comes from this machine. No peer address (the router served without
/// connect info, or driven in-process) is not proof of that, so it is refused too.
fn from_loopback(request: &Request) -> bool {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback())
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the simulator's control endpoints answer only to loopback peers\n",
    )
        .into_response()
}

/// `POST /_sim/faults`: `{"endpoint": "groups/get", "fault": {...}}` or `{"spec": "..."}`.
async fn control_inject(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Body {
        Fault { endpoint: String, fault: Fault },
        Spec { spec: String },
    }
    let bytes = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::BAD_REQUEST, "unreadable body\n").into_response(),
    };
    let (endpoint, fault) = match serde_json::from_slice::<Body>(&bytes) {
        Ok(Body::Fault { endpoint, fault }) => (endpoint, fault),
        Ok(Body::Spec { spec }) => match parse_fault_spec(&spec) {
            Ok(parsed) => parsed,
            Err(why) => return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response(),
        },
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("expected {{\"endpoint\":…,\"fault\":{{…}}}} or {{\"spec\":…}}: {e}\n"),
            )
                .into_response();
        }
    };
    sim.inject(&endpoint, fault);
    axum::Json(sim.stats()).into_response()
}

/// `DELETE /_sim/faults`: clears every fault.
async fn control_clear(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    sim.clear_faults();
    axum::Json(sim.stats()).into_response()
}

/// `GET /_sim/stats`: call counts per path and the faults in force.
async fn control_stats(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    axum::Json(sim.stats()).into_response()
}

/// What an endpoint got: the query string and the raw body.
pub(crate) struct Call<'a> {
    query: &'a HashMap<String, String>,
    body: &'a [u8],
}

impl Call<'_> {
    /// A query parameter, `None` when absent.
    fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The body as JSON of the expected shape; anything else is WeChat's 47001.
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Errcode> {
        serde_json::from_slice(self.body).map_err(|_| Errcode::DataFormat)
    }
}

/// The one way into the simulator: counts the call, then answers as WeChat would.
async fn entry(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = uri.path();
    let endpoint = Endpoint::from_path(path);
    sim.count(path, endpoint.is_some());

    let fault = lock(&sim.inner.faults).take(path);
    let failure = match fault {
        None => None,
        Some(fault) => {
            if fault.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
            }
            // Without after_write the failure comes instead of the request's effect, as when
            // WeChat refuses; with it, the effect happens and only the answer is lost.
            match fault.failure() {
                Some(failure) if !fault.after_write => {
                    tracing::debug!(path, "simulator: injected fault");
                    return failure.respond().await;
                }
                other => other,
            }
        }
    };

    let answer = match endpoint {
        None => Err(Errcode::ApiUnauthorized),
        Some(endpoint) => {
            // A malformed query string is treated as an empty one: the missing parameter then
            // gets its own errcode, which is what a client needs to see.
            let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
                .map(|Query(q)| q)
                .unwrap_or_default();
            let body = body.unwrap_or_default();
            let call = Call {
                query: &query,
                body: &body,
            };
            sim.answer(endpoint, &method, &call)
        }
    };
    // The path only: the query holds the token or the secret.
    match &answer {
        Ok(_) => tracing::debug!(path, "simulator: ok"),
        Err(e) => tracing::debug!(path, errcode = e.code(), "simulator: error"),
    }
    if let Some(failure) = failure {
        tracing::debug!(
            path,
            "simulator: done, but the answer is replaced by a fault"
        );
        return failure.respond().await;
    }
    wechat_json(answer.unwrap_or_else(Errcode::body))
}

impl Simulator {
    /// The WeChat rules every endpoint shares (method, access_token), then the endpoint's own.
    fn answer(
        &self,
        endpoint: Endpoint,
        method: &Method,
        call: &Call<'_>,
    ) -> Result<Value, Errcode> {
        if endpoint.post_only() && method != Method::POST {
            return Err(Errcode::RequirePost);
        }
        let now = std::time::Instant::now();
        let mut state = self.state();
        if endpoint.needs_token() {
            let token = call
                .param("access_token")
                .filter(|t| !t.is_empty())
                .ok_or(Errcode::AccessTokenMissing)?;
            state.tokens.check(token, now)?;
        }
        endpoints::run(endpoint, &self.inner, &mut state, call, now)
    }
}

/// WeChat answers `application/json` with this exact (non-standard) parameter.
fn wechat_json(body: Value) -> Response {
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; encoding=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use serde_json::json;

    async fn send(router: Router, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_owned()))
            .expect("a valid request");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status();
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(
                "application/json; encoding=utf-8"
            ))
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn the_router_merges_into_an_app_that_has_its_own_fallback() {
        let sim = Simulator::new(SimConfig::default());
        let app = Router::new()
            .fallback(|| async { "the app's own 404" })
            .merge(sim.router());
        let (status, v) = send(app, Method::GET, "/cgi-bin/groups/get", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["errcode"], 41001);
        assert_eq!(sim.calls("/cgi-bin/groups/get"), 1);
    }

    #[tokio::test]
    async fn an_error_carries_wechats_message_and_a_request_id() {
        let sim = Simulator::new(SimConfig::default());
        let (_, v) = send(sim.router(), Method::GET, "/cgi-bin/groups/get", "").await;
        let msg = v["errmsg"].as_str().expect("an errmsg");
        assert!(msg.starts_with("access_token missing rid: "), "{msg}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_moves_keep_the_counts_consistent() {
        let sim = Simulator::new(SimConfig::default());
        let uri =
            "/cgi-bin/token?grant_type=client_credential&appid=wxdemo0000000000&secret=demo-secret";
        let (_, v) = send(sim.router(), Method::GET, uri, "").await;
        let token = v["access_token"].as_str().expect("a token").to_owned();
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let router = sim.router();
            let to = [0, 1, 2, 100, 101][(i % 5) as usize];
            let body =
                json!({ "openid": sim.follower_openid(i % 50), "to_groupid": to }).to_string();
            let uri = format!("/cgi-bin/groups/members/update?access_token={token}");
            tasks.push(tokio::spawn(async move {
                send(router, Method::POST, &uri, &body).await.1
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("no panic")["errcode"], 0);
        }
        let uri = format!("/cgi-bin/groups/get?access_token={token}");
        let (_, v) = send(sim.router(), Method::GET, &uri, "").await;
        let groups = v["groups"].as_array().expect("groups");
        let total: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
        assert_eq!(total, 1_000);
        for g in groups {
            let id = g["id"].as_u64().expect("an id") as u32;
            let members = (0..1_000)
                .filter(|&i| sim.group_of(&sim.follower_openid(i)) == Some(id))
                .count() as u64;
            assert_eq!(g["count"], members, "group {id}");
        }
    }
}
