//! The WeChat client against a scripted fake: a tiny axum router on 127.0.0.1:0 whose handlers each
//! test writes, counting calls with atomics. The fake is for faults and counting; the simulator is
//! for behaviour.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::watch;
use wxgroups::domain::{GroupId, GroupName, OpenId};
use wxgroups::i18n::Lang;
use wxgroups::wechat::{ClientConfig, Group, TokenMode, TransportKind, WeChatClient, WeChatError};

const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "APPSECRET-4f1d9c-never-print";
/// Every token the fake hands out starts with this, so one `contains` finds any of them.
const TOKEN_PREFIX: &str = "ACCESSTOKEN-";
const OPENID: &str = "oDF3iYx0ro3_7jD4HFRDfrjdCM58";

type Params = Query<HashMap<String, String>>;

/// The n-th token the fake issues (1-based).
fn token(n: usize) -> String {
    format!("{TOKEN_PREFIX}{n}-b7e2")
}

fn token_in(q: &HashMap<String, String>) -> String {
    q.get("access_token").cloned().unwrap_or_default()
}

fn errcode(code: i64, errmsg: &str) -> Response {
    Json(json!({"errcode": code, "errmsg": errmsg})).into_response()
}

fn ok() -> Response {
    errcode(0, "ok")
}

fn groups_body() -> Response {
    Json(json!({"groups": [
        {"id": 0, "name": "未分组", "count": 72596},
        {"id": 1, "name": "黑名单", "count": 36},
        {"id": 108, "name": "测试", "count": 8},
    ]}))
    .into_response()
}

/// A counter shared by the fake's handlers and the test.
#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Count {
    /// Counts one hit; answers its 1-based number.
    fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `POST /cgi-bin/stable_token`, checking the request as WECHAT_API.md documents it and issuing
/// token 1, 2, 3… that live `expires_in` seconds.
fn stable_token(fetches: Count, expires_in: u64) -> Router {
    Router::new().route(
        "/cgi-bin/stable_token",
        post(move |q: Params, Json(body): Json<Value>| async move {
            let n = fetches.hit();
            let expected = json!({
                "grant_type": "client_credential",
                "appid": APPID,
                "secret": SECRET,
                "force_refresh": false,
            });
            if body != expected || !q.is_empty() {
                return errcode(47001, "unexpected stable_token request");
            }
            Json(json!({"access_token": token(n), "expires_in": expires_in})).into_response()
        }),
    )
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`.
fn classic_token(fetches: Count) -> Router {
    Router::new().route(
        "/cgi-bin/token",
        get(move |Query(q): Params| async move {
            let n = fetches.hit();
            let get = |k: &str| q.get(k).map(String::as_str);
            if get("grant_type") != Some("client_credential")
                || get("appid") != Some(APPID)
                || get("secret") != Some(SECRET)
            {
                return errcode(40002, "unexpected token request");
            }
            Json(json!({"access_token": token(n), "expires_in": 7200})).into_response()
        }),
    )
}

/// Serves `router` on a fresh port; answers the base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake");
    let addr = listener.local_addr().expect("the fake's address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve the fake");
    });
    format!("http://{addr}/")
}

fn config(base_url: &str, mode: TokenMode) -> ClientConfig {
    let mut config = ClientConfig::new(base_url, APPID, SECRET.to_owned());
    config.token_mode = mode;
    config.timeout = Duration::from_millis(200);
    config.connect_timeout = Duration::from_millis(200);
    config
}

fn client(base_url: &str) -> WeChatClient {
    WeChatClient::new(config(base_url, TokenMode::Stable)).expect("build the client")
}

fn openid() -> OpenId {
    OpenId::parse(OPENID).expect("a valid OpenID")
}

fn group_id(id: u32) -> GroupId {
    GroupId::from_upstream(id)
}

/// Neither the secret nor any token appears in anything an error shows: Display, Debug, detail,
/// title or explanation.
fn assert_secret_free(err: &WeChatError) {
    let mut shown = vec![
        err.to_string(),
        format!("{err:?}"),
        err.title(Lang::En),
        err.explain(Lang::En),
        err.explain(Lang::Zh),
    ];
    if let WeChatError::Transport { detail, .. } = err {
        shown.push(detail.clone());
    }
    for text in shown {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(!text.contains(TOKEN_PREFIX), "a token leaked: {text}");
    }
}

fn assert_transport(result: Result<impl std::fmt::Debug, WeChatError>, expected: TransportKind) {
    match result {
        Err(err @ WeChatError::Transport { kind, .. }) => {
            assert_eq!(kind, expected, "{err:?}");
            assert_secret_free(&err);
        }
        other => panic!("expected Transport({expected:?}), got {other:?}"),
    }
}

fn assert_api(result: Result<impl std::fmt::Debug, WeChatError>, expected: i64) -> WeChatError {
    match result {
        Err(err @ WeChatError::Api { .. }) => {
            assert_eq!(err.code(), Some(expected), "{err:?}");
            assert_secret_free(&err);
            err
        }
        other => panic!("expected errcode {expected}, got {other:?}"),
    }
}

/// Captures this thread's tracing output (the tests that use it run on a current-thread runtime,
/// so the client's and the fake's tasks all log here).
struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = LogWriter(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        let bytes = self.buffer.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn assert_secret_free(&self) {
        let text = self.text();
        assert!(!text.contains(SECRET), "the secret is in the log:\n{text}");
        assert!(
            !text.contains(TOKEN_PREFIX),
            "a token is in the log:\n{text}"
        );
    }
}

#[tokio::test]
async fn every_call_sends_the_documented_request_and_one_token_serves_them_all() {
    let logs = Logs::capture();
    let fetches = Count::default();
    let calls = Count::default();
    let c = calls.clone();
    // Each handler checks the token and the body exactly; a mismatch answers 47001 so the call
    // fails loudly rather than passing by accident.
    let check = move |q: &HashMap<String, String>, body: &Value, expected: Value| {
        c.hit();
        token_in(q) == token(1) && *body == expected
    };
    let (c1, c2, c3, c4, c5, c6) = (
        check.clone(),
        check.clone(),
        check.clone(),
        check.clone(),
        check.clone(),
        check,
    );
    let router = stable_token(fetches.clone(), 7200)
        .route(
            "/cgi-bin/groups/get",
            get(move |Query(q): Params| async move {
                if c1(&q, &Value::Null, Value::Null) {
                    groups_body()
                } else {
                    errcode(47001, "bad groups/get")
                }
            }),
        )
        .route(
            "/cgi-bin/groups/create",
            post(move |Query(q): Params, Json(b): Json<Value>| async move {
                if c2(&q, &b, json!({"group": {"name": "新组"}})) {
                    Json(json!({"group": {"id": 109, "name": "新组"}})).into_response()
                } else {
                    errcode(47001, "bad create")
                }
            }),
        )
        .route(
            "/cgi-bin/groups/update",
            post(move |Query(q): Params, Json(b): Json<Value>| async move {
                if c3(&q, &b, json!({"group": {"id": 109, "name": "改名"}})) {
                    ok()
                } else {
                    errcode(47001, "bad update")
                }
            }),
        )
        .route(
            "/cgi-bin/groups/getid",
            post(move |Query(q): Params, Json(b): Json<Value>| async move {
                if c4(&q, &b, json!({"openid": OPENID})) {
                    Json(json!({"groupid": 102})).into_response()
                } else {
                    errcode(47001, "bad getid")
                }
            }),
        )
        .route(
            "/cgi-bin/groups/members/update",
            post(move |Query(q): Params, Json(b): Json<Value>| async move {
                if c5(&q, &b, json!({"openid": OPENID, "to_groupid": 109})) {
                    ok()
                } else {
                    errcode(47001, "bad members/update")
                }
            }),
        )
        .route(
            "/cgi-bin/groups/delete",
            post(move |Query(q): Params, Json(b): Json<Value>| async move {
                if c6(&q, &b, json!({"group": {"id": 109}})) {
                    ok()
                } else {
                    errcode(47001, "bad delete")
                }
            }),
        );
    let client = client(&serve(router).await);

    let groups = client.get_groups().await.expect("groups/get");
    assert_eq!(groups.len(), 3);
    assert_eq!(
        groups[2],
        Group {
            id: group_id(108),
            name: "测试".into(),
            count: 8
        }
    );
    let name = GroupName::parse("新组").expect("a valid name");
    assert_eq!(
        client.create_group(&name).await.expect("create"),
        (group_id(109), "新组".to_owned())
    );
    let new_name = GroupName::parse("改名").expect("a valid name");
    client
        .rename_group(group_id(109), &new_name)
        .await
        .expect("update");
    assert_eq!(
        client.get_user_group(&openid()).await.expect("getid"),
        group_id(102)
    );
    client
        .move_user(&openid(), group_id(109))
        .await
        .expect("members/update");
    client.delete_group(group_id(109)).await.expect("delete");
    client.access_token_ready().await.expect("ready");

    assert_eq!(calls.get(), 6);
    assert_eq!(fetches.get(), 1, "one token serves every call");

    let log = logs.text();
    assert!(log.contains("/cgi-bin/groups/members/update"), "{log}");
    assert!(log.contains("elapsed_ms"), "{log}");
    logs.assert_secret_free();
}

/// Starts 50 calls of `call` at once, waits until all have started and the token endpoint has
/// been reached (it waits behind `open_gate`), then opens the gate: the answers, in order.
async fn fifty_at_the_gate<T, F, Fut>(
    client: &WeChatClient,
    fetches: &Count,
    open_gate: watch::Sender<bool>,
    call: F,
) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(WeChatClient) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let started = Count::default();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let answer = call(client.clone());
            let started = started.clone();
            tokio::spawn(async move {
                started.hit();
                answer.await
            })
        })
        .collect();
    while started.get() < 50 || fetches.get() < 1 {
        tokio::task::yield_now().await;
    }
    open_gate.send_replace(true);
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the task ran"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_on_a_cold_client_fetch_exactly_one_token() {
    let fetches = Count::default();
    let calls = Count::default();
    let (open_gate, gate) = watch::channel(false);
    let f = fetches.clone();
    let c = calls.clone();
    // The token endpoint answers only when the test opens the gate, after all 50 callers have
    // started: a client without single flight would have sent 50 fetches by then.
    let router = Router::new()
        .route(
            "/cgi-bin/stable_token",
            post(move || {
                let mut gate = gate.clone();
                let n = f.hit();
                async move {
                    let _ = gate.wait_for(|open| *open).await;
                    Json(json!({"access_token": token(n), "expires_in": 7200}))
                }
            }),
        )
        .route(
            "/cgi-bin/groups/get",
            get(move |Query(q): Params| async move {
                c.hit();
                if token_in(&q) == token(1) {
                    groups_body()
                } else {
                    errcode(40001, "not the first token")
                }
            }),
        );
    let client = client(&serve(router).await);
    let answers = fifty_at_the_gate(&client, &fetches, open_gate, |c| async move {
        c.get_groups().await
    })
    .await;
    for groups in answers {
        assert_eq!(groups.expect("groups/get").len(), 3);
    }
    assert_eq!(fetches.get(), 1);
    assert_eq!(calls.get(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_for_a_failed_token_fetch_share_its_error_instead_of_each_fetching() {
    let fetches = Count::default();
    let (open_gate, gate) = watch::channel(false);
    let f = fetches.clone();
    let router = Router::new().route(
        "/cgi-bin/stable_token",
        post(move || {
            let mut gate = gate.clone();
            let n = f.hit();
            async move {
                let _ = gate.wait_for(|open| *open).await;
                if n == 1 {
                    errcode(40164, "invalid ip, not in whitelist")
                } else {
                    Json(json!({"access_token": token(n), "expires_in": 7200})).into_response()
                }
            }
        }),
    );
    let client = client(&serve(router).await);
    let answers = fifty_at_the_gate(&client, &fetches, open_gate, |c| async move {
        c.access_token_ready().await
    })
    .await;
    for answer in answers {
        assert_api(answer, 40164);
    }
    assert_eq!(fetches.get(), 1, "the waiters shared the one failure");
    // A caller that comes after the failure tries again rather than inheriting it.
    client.access_token_ready().await.expect("a later fetch");
    assert_eq!(fetches.get(), 2);
}

#[tokio::test]
async fn an_expired_token_is_replaced_and_the_call_retried_once() {
    let fetches = Count::default();
    let calls = Count::default();
    let c = calls.clone();
    let router = stable_token(fetches.clone(), 7200).route(
        "/cgi-bin/groups/get",
        get(move |Query(q): Params| async move {
            match (c.hit(), token_in(&q)) {
                (1, t) if t == token(1) => errcode(42001, "access_token expired"),
                (2, t) if t == token(2) => groups_body(),
                _ => errcode(47001, "unexpected call"),
            }
        }),
    );
    let client = client(&serve(router).await);
    let groups = client.get_groups().await.expect("the retry succeeds");
    assert_eq!(groups.len(), 3);
    assert_eq!(fetches.get(), 2);
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn a_token_refused_forever_is_retried_exactly_once_then_reported() {
    let logs = Logs::capture();
    let fetches = Count::default();
    let calls = Count::default();
    let c = calls.clone();
    let router = stable_token(fetches.clone(), 7200).route(
        "/cgi-bin/groups/get",
        get(move |Query(q): Params| async move {
            c.hit();
            // Echo the token back, as a careless upstream might; the client must scrub it.
            errcode(40001, &format!("invalid credential {}", token_in(&q)))
        }),
    );
    let client = client(&serve(router).await);
    let err = assert_api(client.get_groups().await, 40001);
    assert!(err.is_token_error());
    assert_eq!(fetches.get(), 2);
    assert_eq!(calls.get(), 2);
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_stale_failure_does_not_expire_a_newer_token() {
    let fetches = Count::default();
    let (arrived_tx, mut arrived) = watch::channel(false);
    let (release, gate) = watch::channel(false);
    let arrived_tx = Arc::new(arrived_tx);
    let router = stable_token(fetches.clone(), 7200)
        // Call A: with token 1 it is held until the test releases it, then refused.
        .route(
            "/cgi-bin/groups/get",
            get(move |Query(q): Params| {
                let mut gate = gate.clone();
                let arrived_tx = arrived_tx.clone();
                async move {
                    if token_in(&q) != token(1) {
                        return groups_body();
                    }
                    arrived_tx.send_replace(true);
                    let _ = gate.wait_for(|open| *open).await;
                    errcode(40001, "invalid credential")
                }
            }),
        )
        // Call B: refused with token 1 at once, served with any newer token.
        .route(
            "/cgi-bin/groups/getid",
            post(move |Query(q): Params| async move {
                if token_in(&q) == token(1) {
                    errcode(40001, "invalid credential")
                } else {
                    Json(json!({"groupid": 100})).into_response()
                }
            }),
        );
    let client = client(&serve(router).await);

    let a = tokio::spawn({
        let client = client.clone();
        async move { client.get_groups().await }
    });
    arrived
        .wait_for(|v| *v)
        .await
        .expect("call A reached the fake");
    // B finds token 1 refused, expires it and gets token 2.
    assert_eq!(
        client.get_user_group(&openid()).await.expect("B retried"),
        group_id(100)
    );
    assert_eq!(fetches.get(), 2);
    // Now A's refusal of token 1 arrives: token 2 must survive it.
    release.send_replace(true);
    let groups = a
        .await
        .expect("task A ran")
        .expect("A retried with token 2");
    assert_eq!(groups.len(), 3);
    assert_eq!(fetches.get(), 2, "A must reuse token 2, not fetch a third");
}

#[tokio::test]
async fn a_token_with_no_life_left_is_fetched_again_for_every_call() {
    let fetches = Count::default();
    let router = stable_token(fetches.clone(), 0)
        .route("/cgi-bin/groups/get", get(|| async { groups_body() }));
    let client = client(&serve(router).await);
    client.get_groups().await.expect("first");
    client.get_groups().await.expect("second");
    assert_eq!(fetches.get(), 2);
}

#[tokio::test]
async fn classic_mode_uses_the_token_endpoint_and_stable_mode_the_stable_one() {
    let logs = Logs::capture();
    let stable = Count::default();
    let classic = Count::default();
    let router = stable_token(stable.clone(), 7200)
        .merge(classic_token(classic.clone()))
        .route(
            "/cgi-bin/groups/get",
            get(|Query(q): Params| async move {
                if token_in(&q) == token(1) {
                    groups_body()
                } else {
                    errcode(40014, "invalid access_token")
                }
            }),
        );
    let base = serve(router).await;

    let classic_client =
        WeChatClient::new(config(&base, TokenMode::Classic)).expect("build the client");
    classic_client.get_groups().await.expect("classic");
    assert_eq!((classic.get(), stable.get()), (1, 0));

    let stable_client = client(&base);
    stable_client.get_groups().await.expect("stable");
    assert_eq!((classic.get(), stable.get()), (1, 1));

    assert!(logs.text().contains("/cgi-bin/token"));
    logs.assert_secret_free();
}

#[tokio::test]
async fn token_endpoint_errors_are_api_errors_that_are_not_retried() {
    let logs = Logs::capture();
    let fetches = Count::default();
    let calls = Count::default();
    let f = fetches.clone();
    let c = calls.clone();
    let router = Router::new()
        .route(
            "/cgi-bin/stable_token",
            post(move || async move {
                match f.hit() {
                    1 | 2 => errcode(40164, "invalid ip 203.0.113.9, not in whitelist"),
                    // A wrong secret answers 40001 from the token endpoint: not a stale token.
                    _ => errcode(40001, "invalid credential"),
                }
            }),
        )
        .route(
            "/cgi-bin/groups/get",
            get(move || async move {
                c.hit();
                groups_body()
            }),
        );
    let client = client(&serve(router).await);

    let err = assert_api(client.access_token_ready().await, 40164);
    assert!(err.explain(Lang::En).contains("whitelist"));
    assert!(err.explain(Lang::Zh).contains("白名单"));
    assert_api(client.get_groups().await, 40164);
    assert_eq!(fetches.get(), 2);
    assert_api(client.get_groups().await, 40001);
    assert_eq!(fetches.get(), 3, "a refused fetch is not retried");
    assert_eq!(calls.get(), 0, "no call goes out without a token");
    logs.assert_secret_free();
}

#[tokio::test]
async fn answers_that_are_not_the_documented_json_are_bad_bodies() {
    let logs = Logs::capture();
    let calls = Count::default();
    let c = calls.clone();
    let router = stable_token(Count::default(), 7200).route(
        "/cgi-bin/groups/get",
        get(move |Query(q): Params| async move {
            match c.hit() {
                1 => "garbage \u{0}\u{1} not json".into_response(),
                // A gateway's error page that quotes the request URL, token and all.
                2 => (
                    [("content-type", "text/html")],
                    format!(
                        "<html><body>502 Bad Gateway: /cgi-bin/groups/get?access_token={}</body></html>",
                        token_in(&q)
                    ),
                )
                    .into_response(),
                3 => Json(json!({"groups": [{"id": 1}]})).into_response(),
                _ => Json(json!({"errcode": 0, "errmsg": "ok"})).into_response(),
            }
        }),
    );
    let client = client(&serve(router).await);
    for _ in 0..4 {
        assert_transport(client.get_groups().await, TransportKind::BadBody);
    }
    assert_eq!(calls.get(), 4, "a bad body is not retried");
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_garbage_token_answer_is_a_bad_body() {
    let router = Router::new().route(
        "/cgi-bin/stable_token",
        post(|| async {
            Json(json!({"access_token": format!("{TOKEN_PREFIX}x"), "expires_in": "later"}))
        }),
    );
    let client = client(&serve(router).await);
    assert_transport(client.access_token_ready().await, TransportKind::BadBody);
}

#[tokio::test]
async fn an_http_error_status_is_reported_with_its_code() {
    let logs = Logs::capture();
    let router = stable_token(Count::default(), 7200).route(
        "/cgi-bin/groups/get",
        get(|Query(q): Params| async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("oops for access_token={}", token_in(&q)),
            )
        }),
    );
    let client = client(&serve(router).await);
    assert_transport(client.get_groups().await, TransportKind::HttpStatus(500));
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let followed = Count::default();
    let f = followed.clone();
    let router = stable_token(Count::default(), 7200)
        .route(
            "/cgi-bin/groups/get",
            get(|| async { (StatusCode::FOUND, [("location", "/elsewhere")]) }),
        )
        .route(
            "/elsewhere",
            get(move || async move {
                f.hit();
                groups_body()
            }),
        );
    let client = client(&serve(router).await);
    assert_transport(client.get_groups().await, TransportKind::HttpStatus(302));
    assert_eq!(
        followed.get(),
        0,
        "the token must not travel to a redirect target"
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_times_out() {
    let logs = Logs::capture();
    let router = stable_token(Count::default(), 7200).route(
        "/cgi-bin/groups/get",
        get(|| async {
            std::future::pending::<()>().await;
            groups_body()
        }),
    );
    let client = client(&serve(router).await);
    assert_transport(client.get_groups().await, TransportKind::Timeout);
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_classic_token_fetch_that_never_answers_times_out_without_showing_the_secret() {
    let logs = Logs::capture();
    let router = Router::new().route(
        "/cgi-bin/token",
        get(|| async {
            std::future::pending::<()>().await;
            "never"
        }),
    );
    let base = serve(router).await;
    let client = WeChatClient::new(config(&base, TokenMode::Classic)).expect("build the client");
    assert_transport(client.get_groups().await, TransportKind::Timeout);
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_in_both_modes() {
    let logs = Logs::capture();
    // Take a free port, then close it: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let base = format!("http://127.0.0.1:{port}");
    for mode in [TokenMode::Stable, TokenMode::Classic] {
        let client = WeChatClient::new(config(&base, mode)).expect("build the client");
        assert_transport(client.get_groups().await, TransportKind::Connect);
        assert_transport(client.access_token_ready().await, TransportKind::Connect);
    }
    logs.assert_secret_free();
}

#[tokio::test]
async fn a_batch_of_fifty_is_sent_and_fifty_one_or_none_is_refused_without_a_call() {
    let fetches = Count::default();
    let calls = Count::default();
    let c = calls.clone();
    let router = stable_token(fetches.clone(), 7200).route(
        "/cgi-bin/groups/members/batchupdate",
        post(move |Json(b): Json<Value>| async move {
            c.hit();
            let list = b["openid_list"].as_array().map(Vec::len);
            if list == Some(50) && b["to_groupid"] == json!(108) {
                ok()
            } else {
                errcode(40032, "invalid openid list size")
            }
        }),
    );
    let client = client(&serve(router).await);
    let ids: Vec<OpenId> = (0..51)
        .map(|i| OpenId::parse(&format!("oDF3iYx0ro3_7jD4HFRDfrjd{i:04}")).expect("valid"))
        .collect();

    for refused in [&ids[..], &ids[..0]] {
        match client.move_users(refused, group_id(108)).await {
            Err(err @ WeChatError::Local(_)) => {
                assert!(err.explain(Lang::En).contains("1 to 50"), "{err:?}")
            }
            other => panic!("expected a local refusal, got {other:?}"),
        }
    }
    assert_eq!((fetches.get(), calls.get()), (0, 0), "nothing was sent");

    client
        .move_users(&ids[..50], group_id(108))
        .await
        .expect("a batch of 50");
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_quota_error_is_reported_as_such_and_not_retried() {
    let calls = Count::default();
    let c = calls.clone();
    let router = stable_token(Count::default(), 7200).route(
        "/cgi-bin/groups/create",
        post(move || async move {
            c.hit();
            errcode(45009, "reach max api daily quota limit rid: 1")
        }),
    );
    let client = client(&serve(router).await);
    let name = GroupName::parse("新组").expect("a valid name");
    let err = assert_api(client.create_group(&name).await, 45009);
    assert!(err.is_quota_error());
    assert_eq!(err.title(Lang::Zh), "微信返回错误 45009");
    assert!(err.explain(Lang::En).contains("midnight Beijing time"));
    assert!(err.explain(Lang::En).contains("rid: 1"));
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_garbled_next_openid_is_a_bad_answer_not_the_end_of_the_list() {
    let fetches = Count::default();
    let router = stable_token(fetches, 7200).route(
        "/cgi-bin/user/get",
        get(|| async {
            Json(json!({
                "total": 3, "count": 1,
                "data": {"openid": [OPENID]},
                "next_openid": "not an openid!"
            }))
        }),
    );
    let client = client(&serve(router).await);
    assert_transport(client.list_followers(None).await, TransportKind::BadBody);
}
