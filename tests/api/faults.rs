//! Upstream faults, from a scripted fake WeChat: each shows a clear message and leaves the
//! cached list as it was.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use crate::helpers::{Browser, TestApp, settings_for, start};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    Ok = 0,
    Garbage,
    Html,
    Status500,
    Hang,
    Errcode45009,
    Errcode40164,
}

#[derive(Clone, Default)]
struct Fake {
    mode: Arc<AtomicU8>,
    group_calls: Arc<AtomicU64>,
}

impl Fake {
    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

async fn token() -> Json<serde_json::Value> {
    Json(json!({"access_token": "FAKE_TOKEN_abcdefghijklmnop", "expires_in": 7200}))
}

async fn groups(State(fake): State<Fake>) -> Response {
    fake.group_calls.fetch_add(1, Ordering::SeqCst);
    match fake.mode.load(Ordering::SeqCst) {
        m if m == Mode::Ok as u8 => Json(json!({"groups": [
            {"id": 0, "name": "未分组", "count": 10},
            {"id": 1, "name": "黑名单", "count": 1},
            {"id": 2, "name": "星标组", "count": 2},
            {"id": 100, "name": "老客户", "count": 7}
        ]}))
        .into_response(),
        m if m == Mode::Garbage as u8 => "{\"groups\": [ {\"id\": tru".into_response(),
        m if m == Mode::Html as u8 => (
            [("content-type", "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        m if m == Mode::Status500 as u8 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response()
        }
        m if m == Mode::Hang as u8 => std::future::pending().await,
        m if m == Mode::Errcode45009 as u8 => {
            Json(json!({"errcode": 45009, "errmsg": "reach max api daily quota limit"}))
                .into_response()
        }
        _ => Json(json!({"errcode": 40164, "errmsg": "invalid ip 1.2.3.4, not in whitelist"}))
            .into_response(),
    }
}

/// Serves the fake on port 0 until `stop` fires.
async fn spawn_fake(fake: Fake) -> (String, tokio::sync::oneshot::Sender<()>) {
    let router = Router::new()
        .route("/cgi-bin/stable_token", post(token))
        .route("/cgi-bin/groups/get", get(groups))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (url, stop)
}

async fn spawn_app(url: String) -> Browser {
    let mut settings = settings_for(url);
    settings.upstream_timeout = Duration::from_millis(300);
    start(settings).await.2
}

async fn refresh(browser: &Browser) -> crate::helpers::Page {
    crate::helpers::read(
        browser
            .http
            .post(browser.url("/groups/refresh"))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", browser.csrf())
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn every_kind_of_bad_answer_is_explained_and_the_cached_list_survives() {
    let fake = Fake::default();
    let (url, _stop) = spawn_fake(fake.clone()).await;
    let browser = spawn_app(url).await;
    let first = refresh(&browser).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.count_of(100), 7);

    for (mode, expect) in [
        (Mode::Garbage, "not answer properly"),
        (Mode::Html, "not answer properly"),
        (Mode::Status500, "500"),
        (Mode::Hang, "in time"),
        (Mode::Errcode45009, "45009"),
        (Mode::Errcode40164, "40164"),
    ] {
        fake.set(mode);
        let page = refresh(&browser).await;
        // 409: WeChat answered and refused; 502: it did not answer properly.
        let answered = matches!(mode, Mode::Errcode45009 | Mode::Errcode40164);
        assert_eq!(page.status, if answered { 409 } else { 502 }, "{mode:?}");
        let message = page.text("#messages");
        assert!(
            message.to_lowercase().contains(&expect.to_lowercase()),
            "{mode:?}: {message}"
        );
        // The list from before is still there, with its counts.
        assert_eq!(page.count_of(100), 7, "{mode:?}");
        assert!(
            !message.contains("FAKE_TOKEN"),
            "{mode:?}: the token leaked into {message}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_explained_and_the_cached_list_survives() {
    let fake = Fake::default();
    let (url, stop) = spawn_fake(fake.clone()).await;
    let browser = spawn_app(url).await;
    assert_eq!(refresh(&browser).await.count_of(100), 7);
    stop.send(()).unwrap();
    // Graceful shutdown closes the listener once the idle keep-alive connection goes away;
    // the client sees either a refused connect or a closed connection: both are "no answer".
    let page = refresh(&browser).await;
    assert_eq!(page.status, 502);
    let message = page.text("#messages").to_lowercase();
    assert!(
        message.contains("connect") || message.contains("answer"),
        "{message}"
    );
    assert_eq!(page.count_of(100), 7);
}

#[tokio::test]
async fn with_wechat_unreachable_from_the_start_the_page_still_renders_with_the_reason() {
    // Bind and drop: a port with nobody behind it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let browser = spawn_app(format!("http://127.0.0.1:{port}")).await;
    let page = crate::helpers::read(
        browser
            .http
            .get(browser.url("/groups"))
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text("#messages").to_lowercase().contains("connect"),
        "{}",
        page.text("#messages")
    );
    assert!(page.has("#groups-table .empty"));
}

#[tokio::test]
async fn an_upstream_failure_on_create_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    app.sim.invalidate_tokens();
    // The client drops the invalid token, fetches one and retries once: the create succeeds.
    let page = app
        .post_hx("/groups", &[("name", "after a token reset")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.calls("groups/create"), 2, "one refused, one retried");
    assert_eq!(app.calls("stable_token"), 2);
}
