//! A hostile outside look: nothing stored before sign-in, no lossy decoding, every refusal a
//! page in the operator's language.

use reqwest::{Method, StatusCode, header};

use crate::helpers::{ADMIN, Browser, PASSWORD, Page, TestApp, client, read};

async fn count(app: &TestApp, table: &str) -> i64 {
    use wxgroups::store::Engine;
    // The session table is the session store's, on its engine's own pool (an in-memory SQLite
    // database is one per pool), and named after the engine's habits.
    match (table, app.store.engine()) {
        ("tower_sessions", Engine::Sqlite(pool)) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        ("tower_sessions", Engine::Postgres(pool)) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions.session")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        _ => sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.store.pool())
            .await
            .unwrap(),
    }
}

/// Sends one request exactly as given (no cookies unless `browser` has them).
async fn raw(
    http: &reqwest::Client,
    method: Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Page {
    let mut req = http.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some((content_type, bytes)) = body {
        req = req.header(header::CONTENT_TYPE, content_type).body(bytes);
    }
    read(req.send().await.unwrap()).await
}

/// A plain form post of `body` as it is.
async fn post_form(http: &reqwest::Client, url: String, body: String) -> Page {
    let form = ("application/x-www-form-urlencoded", body.into_bytes());
    raw(http, Method::POST, url, &[], Some(form)).await
}

#[tokio::test]
async fn a_thousand_cookieless_visits_store_nothing() {
    let app = TestApp::spawn().await;
    let (sessions, audit) = (
        count(&app, "tower_sessions").await,
        count(&app, "audit_log").await,
    );
    let http = client();
    for i in 0..1000 {
        let path = ["/signin", "/", "/groups"][i % 3];
        let page = raw(&http, Method::GET, app.url(path), &[], None).await;
        assert!(
            page.status.is_success() || page.status.is_redirection(),
            "{path}"
        );
    }
    assert_eq!(count(&app, "tower_sessions").await, sessions);
    assert_eq!(count(&app, "audit_log").await, audit);
}

#[tokio::test]
async fn the_sign_in_form_is_protected_without_a_session() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let page = b.get("/signin").await;
    let token = page.attr("input[name=csrf]", "value").unwrap();
    assert!(!token.is_empty(), "the form carries a token");
    // Without the cookie that token belongs to, the same form is refused.
    let body = format!("name={ADMIN}&password=x&csrf={token}");
    let stranger = post_form(&client(), app.url("/signin"), body).await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    assert!(stranger.has("section.error-page"), "{}", stranger.body);
    // Another browser's nonce with this browser's token: refused too.
    let other = app.browser();
    other.get("/signin").await;
    let forged = other
        .post(
            "/signin",
            &[("name", ADMIN), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER);
    assert_eq!(
        b.sign_in(ADMIN, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn proxy_users_change_things_without_a_stored_session() {
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.access.auth_header = Some("x-auth-request-email".parse().unwrap());
        s.access.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.access.proxy_default_role = wxgroups::store::Role::Operator;
        s
    })
    .await;
    let sessions = count(&app, "tower_sessions").await;
    // A monitoring probe: the identity header on every request, no cookie ever kept.
    let probe = as_proxy_user("probe@example.com", false);
    for _ in 0..50 {
        let page = raw(&probe, Method::GET, app.url("/groups"), &[], None).await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let http = as_proxy_user("ops@example.com", true);
    let page = raw(&http, Method::GET, app.url("/groups"), &[], None).await;
    let token = page.attr("input[name=csrf]", "value").unwrap();
    let body = format!("name=proxy-made&csrf={token}");
    let created = post_form(&http, app.url("/groups"), body).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(app.calls("groups/create"), 1);
    assert_eq!(count(&app, "tower_sessions").await, sessions);
}

/// A browser behind the SSO proxy: `email` in the identity header, cookies kept or not.
fn as_proxy_user(email: &str, cookies: bool) -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    headers.insert("x-auth-request-email", email.parse().unwrap());
    crate::helpers::builder()
        .cookie_store(cookies)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The admin's own cookies and token, with a body exactly as given.
async fn post_bytes(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> Page {
    raw(
        &app.http,
        Method::POST,
        app.url(path),
        &[],
        Some((content_type, body)),
    )
    .await
}

#[tokio::test]
async fn a_name_that_is_not_utf8_never_reaches_wechat() {
    let app = TestApp::spawn().await;
    let token = app.csrf();
    let form = "application/x-www-form-urlencoded";
    for (content_type, name) in [
        (form, b"%FF%FE".to_vec()),
        (form, b"\xff\xfe".to_vec()),
        (form, b"%ED%A0%80".to_vec()),
        (
            "application/x-www-form-urlencoded; charset=ISO-8859-1",
            b"caf%E9".to_vec(),
        ),
    ] {
        let mut body = b"name=".to_vec();
        body.extend(name);
        body.extend(format!("&csrf={token}").into_bytes());
        let page = post_bytes(&app, "/groups", content_type, body).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{content_type}");
        assert!(page.body.contains("UTF-8"), "{}", page.body);
        assert!(page.has("section.error-page"));
    }
    assert_eq!(app.calls("groups/create"), 0);
}

/// The refusals a browser (or a careless proxy) can meet, each with what triggers it.
async fn refusals(app: &TestApp, lang: &str) -> Vec<(&'static str, StatusCode, Page)> {
    let token = app.csrf();
    let form = "application/x-www-form-urlencoded";
    let accept = [("accept-language", lang)];
    let get = |path: &'static str| raw(&app.http, Method::GET, app.url(path), &accept, None);
    let post = |headers: Vec<(&'static str, &'static str)>, body: String| {
        let mut all = headers;
        all.push(("accept-language", lang));
        let http = &app.http;
        let url = app.url("/groups");
        async move {
            let h: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, *v)).collect();
            raw(http, Method::POST, url, &h, Some((form, body.into_bytes()))).await
        }
    };
    let good = format!("name=ok&csrf={token}");
    vec![
        ("not found", StatusCode::NOT_FOUND, get("/nope").await),
        (
            "bad path",
            StatusCode::BAD_REQUEST,
            get("/groups/%FF/edit").await,
        ),
        (
            "bad query",
            StatusCode::BAD_REQUEST,
            get("/audit?page=-1").await,
        ),
        (
            "bad query",
            StatusCode::BAD_REQUEST,
            get("/groups/100/members?page=abc").await,
        ),
        (
            "method",
            StatusCode::METHOD_NOT_ALLOWED,
            get("/groups/refresh").await,
        ),
        (
            "too large",
            StatusCode::PAYLOAD_TOO_LARGE,
            post(vec![], format!("{good}&x={}", "a".repeat(100_000))).await,
        ),
        (
            "csrf",
            StatusCode::FORBIDDEN,
            post(vec![], "name=ok&csrf=wrong".into()).await,
        ),
        (
            "origin",
            StatusCode::FORBIDDEN,
            post(vec![("origin", "https://evil.example")], good.clone()).await,
        ),
        (
            "origin",
            StatusCode::FORBIDDEN,
            post(vec![("origin", "null")], good.clone()).await,
        ),
        (
            "origin",
            StatusCode::FORBIDDEN,
            post(vec![("sec-fetch-site", "cross-site")], good.clone()).await,
        ),
    ]
}

#[tokio::test]
async fn every_refusal_is_a_page_in_the_operators_language() {
    let app = TestApp::spawn().await;
    for (lang, html_lang) in [("zh-CN", "zh-CN"), ("en", "en")] {
        for (what, status, page) in refusals(&app, lang).await {
            assert_eq!(page.status, status, "{what} ({lang}): {}", page.body);
            let content_type = page.headers.get(header::CONTENT_TYPE).unwrap();
            assert!(
                content_type.to_str().unwrap().starts_with("text/html"),
                "{what}"
            );
            assert!(
                page.body.contains(&format!("<html lang=\"{html_lang}\">")),
                "{what} ({lang})"
            );
            let title = page.text("section.error-page h1");
            assert!(!title.trim().is_empty(), "{what} ({lang}) has a title");
            let id = page.headers.get("x-request-id").unwrap().to_str().unwrap();
            assert!(
                page.text("section.error-page code").contains(id),
                "{what}: the request id"
            );
        }
    }
    assert_eq!(app.calls("groups/create"), 0, "no refusal reached WeChat");
}

#[tokio::test]
async fn an_htmx_refusal_is_a_message_not_a_page() {
    let app = TestApp::spawn().await;
    let page = raw(
        &app.http,
        Method::POST,
        app.url("/groups"),
        &[
            ("hx-request", "true"),
            ("origin", "https://evil.example"),
            ("x-csrf-token", &app.csrf()),
        ],
        Some(("application/x-www-form-urlencoded", b"name=x".to_vec())),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.headers.get("hx-reswap").unwrap(), "none");
    assert!(page.has("#messages .notice-error"), "{}", page.body);
}

#[tokio::test]
async fn a_fresh_browser_signs_in_and_gets_a_session_only_then() {
    let app = TestApp::spawn().await;
    let before = count(&app, "tower_sessions").await;
    let b = Browser::new(app.admin.base.clone());
    assert_eq!(
        b.sign_in(ADMIN, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count(&app, "tower_sessions").await, before + 1);
}

/// The three ways a create's answer gets lost on the way back.
fn lost_answers(after_write: bool) -> Vec<(&'static str, wxgroups::simulator::Fault)> {
    use wxgroups::simulator::Fault;
    let once = |f: Fault| Fault {
        after_write,
        ..f.times(1)
    };
    vec![
        (
            "connection closed",
            once(Fault {
                drop: true,
                ..Fault::default()
            }),
        ),
        (
            "HTTP 502",
            once(Fault {
                http_status: Some(502),
                ..Fault::default()
            }),
        ),
        (
            "garbage",
            once(Fault {
                garbage: true,
                ..Fault::default()
            }),
        ),
    ]
}

/// The latest audit row's outcome and detail.
async fn last_audit(app: &TestApp) -> (String, String) {
    sqlx::query_as("SELECT outcome, COALESCE(detail, '') FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lost_answer_that_created_nothing_says_not_created_and_names_the_fault() {
    let app = TestApp::spawn().await;
    app.post("/lang", &[("lang", "en"), ("next", "/groups")])
        .await;
    let named = [
        (
            "connection closed",
            "connection closed before a whole answer",
        ),
        ("HTTP 502", "(HTTP 502)"),
        ("garbage", "not what the API documents"),
    ];
    for ((label, fault), (_, says)) in lost_answers(false).into_iter().zip(named) {
        app.sim.inject("groups/create", fault);
        let name = format!("lost-{}", label.len());
        let page = app.post_hx("/groups", &[("name", name.as_str())]).await;
        let notice = page.text("#messages .notice");
        assert!(notice.contains("was not created"), "{label}: {notice}");
        assert!(notice.contains("you may try again"), "{label}: {notice}");
        assert!(notice.contains(says), "{label} is named: {notice}");
        let (outcome, detail) = last_audit(&app).await;
        assert_eq!(outcome, "failed", "{label}");
        assert!(detail.starts_with("not created"), "{label}: {detail}");
        // Not created, so the same name goes through now.
        let again = app.post_hx("/groups", &[("name", name.as_str())]).await;
        assert_eq!(again.status, StatusCode::OK, "{label}: {}", again.body);
    }
}

#[tokio::test]
async fn a_lost_answer_that_did_create_says_created_with_its_id() {
    let app = TestApp::spawn().await;
    app.post("/lang", &[("lang", "en"), ("next", "/groups")])
        .await;
    for (label, fault) in lost_answers(true) {
        app.sim.inject("groups/create", fault);
        let name = format!("made-{}", label.len());
        let page = app.post_hx("/groups", &[("name", name.as_str())]).await;
        assert_eq!(page.status, StatusCode::OK, "{label}");
        let notice = page.text("#messages .notice");
        assert!(notice.contains(&name), "{label}: {notice}");
        assert!(
            notice.contains("the group list read again shows the group"),
            "{label}: {notice}"
        );
        let (outcome, detail) = last_audit(&app).await;
        assert_eq!(outcome, "ok", "{label}");
        assert!(detail.starts_with("created, id "), "{label}: {detail}");
    }
}

#[tokio::test]
async fn five_settled_creates_leave_the_circuit_closed() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let (_, fault) = lost_answers(false).swap_remove(i % 3);
        app.sim.inject("groups/create", fault);
        let name = format!("settled-{i}");
        app.post_hx("/groups", &[("name", name.as_str())]).await;
    }
    let page = app.get("/status").await;
    assert!(
        !page.has("#circuit-banner"),
        "no 'WeChat is not answering' banner"
    );
    // And a sixth create goes through at once.
    let sixth = app.post_hx("/groups", &[("name", "sixth")]).await;
    assert!(sixth.text("#messages .notice").contains("sixth"));
}

#[tokio::test]
async fn a_foreign_host_is_refused_but_the_probes_still_answer() {
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.allowed_hosts = vec!["127.0.0.1".into()];
        s
    })
    .await;
    assert_eq!(
        app.get("/groups").await.status,
        StatusCode::OK,
        "our own host"
    );
    let token = app.csrf();
    let evil = [("host", "evil.example"), ("origin", "http://evil.example")];
    let page = raw(&app.http, Method::GET, app.url("/groups"), &evil, None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("evil.example"), "{}", page.body);
    assert!(page.has("section.error-page"));
    let body = format!("name=rebound&csrf={token}").into_bytes();
    let post = raw(
        &app.http,
        Method::POST,
        app.url("/groups"),
        &evil,
        Some(("application/x-www-form-urlencoded", body)),
    )
    .await;
    assert_eq!(post.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.calls("groups/create"), 0);
    let probe = raw(
        &client(),
        Method::GET,
        app.url("/healthz"),
        &[("host", "evil.example")],
        None,
    )
    .await;
    assert_eq!(probe.status, StatusCode::OK, "probes keep their own rule");
}

/// The create form's one-time id on the groups page as it is now.
async fn create_form_id(app: &TestApp) -> String {
    let page = app.get("/groups").await;
    page.attr("#create-form input[name=form_id]", "value")
        .expect("the create form carries a one-time id")
}

#[tokio::test]
async fn a_plain_form_posted_twice_changes_wechat_once() {
    let app = TestApp::spawn().await;
    app.post("/lang", &[("lang", "en"), ("next", "/groups")])
        .await;
    let form_id = create_form_id(&app).await;
    let fields = [("name", "twice"), ("form_id", form_id.as_str())];
    let first = app.post("/groups", &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let second = app.post("/groups", &fields).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(
        second
            .text("section.error-page h1")
            .contains("already sent"),
        "{}",
        second.body
    );
    assert_eq!(
        second
            .attr("section.error-page a.button", "href")
            .as_deref(),
        Some(first.location()),
        "the way to the first post's result"
    );
    assert_eq!(app.calls("groups/create"), 1);
    // A post the app refused changed nothing, so the same form may be sent again.
    let form_id = create_form_id(&app).await;
    let bad = [("name", ""), ("form_id", form_id.as_str())];
    assert_eq!(
        app.post("/groups", &bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post("/groups", &bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // htmx requests are not held to it: their buttons are disabled while they run.
    let hx = app
        .post_hx(
            "/groups",
            &[("name", "hx-one"), ("form_id", form_id.as_str())],
        )
        .await;
    assert_eq!(hx.status, StatusCode::OK);
}
