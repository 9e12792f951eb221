//! Who may do what: roles per route, sign-in and out, sessions, CSRF, the proxy's headers.

use reqwest::header;
use wxgroups::store::Role;

use crate::helpers::{ADMIN, Browser, PASSWORD, TestApp, read};

/// Every route with what it needs: (method, path, form, minimum role).
/// (method, path, form fields, the least role that may)
type Route = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Role,
);

fn routes() -> Vec<Route> {
    vec![
        ("GET", "/groups", vec![], Role::Viewer),
        ("GET", "/audit", vec![], Role::Viewer),
        ("GET", "/audit.csv", vec![], Role::Viewer),
        (
            "GET",
            "/members/lookup?openid=oAbcdef123456",
            vec![],
            Role::Viewer,
        ),
        ("GET", "/groups/100/row", vec![], Role::Viewer),
        ("POST", "/groups/refresh", vec![], Role::Viewer),
        ("GET", "/groups/100/edit", vec![], Role::Operator),
        (
            "POST",
            "/groups",
            vec![("name", "from a role test")],
            Role::Operator,
        ),
        (
            "POST",
            "/groups/100/rename",
            vec![("name", "renamed by a role test")],
            Role::Operator,
        ),
        (
            "POST",
            "/members/move",
            vec![("openid", "oAbcdef123456"), ("to_groupid", "2")],
            Role::Operator,
        ),
    ]
}

async fn send(
    b: &Browser,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    hx: bool,
) -> crate::helpers::Page {
    match (method, hx) {
        ("GET", false) => b.get(path).await,
        ("GET", true) => b.get_hx(path).await,
        (_, false) => b.post(path, form).await,
        (_, true) => b.post_hx(path, form).await,
    }
}

#[tokio::test]
async fn each_role_is_allowed_exactly_what_it_may_do_on_every_route() {
    let app = TestApp::spawn().await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let operator = app.signed_in("otto", Role::Operator).await;
    for (who, browser, role) in [
        ("viewer", &viewer, Role::Viewer),
        ("operator", &operator, Role::Operator),
        ("admin", &app.admin, Role::Admin),
    ] {
        for (method, path, form, needs) in routes() {
            for hx in [false, true] {
                let page = send(browser, method, path, &form, hx).await;
                if role >= needs {
                    assert_ne!(
                        page.status, 403,
                        "{who} {method} {path} hx={hx}: {}",
                        page.body
                    );
                    assert!(
                        page.status.as_u16() < 500,
                        "{who} {method} {path}: {}",
                        page.status
                    );
                } else {
                    assert_eq!(
                        page.status, 403,
                        "{who} {method} {path} hx={hx} must be refused"
                    );
                    if !hx {
                        assert!(
                            page.text("h1").contains("没有权限"),
                            "a clear page: {}",
                            page.body
                        );
                    } else {
                        assert!(
                            page.text(".notice").contains("没有权限"),
                            "a clear message: {}",
                            page.body
                        );
                    }
                }
            }
        }
    }
    // Only the first allowed create reached WeChat (the others were refused as duplicates of
    // its name, before WeChat); the viewer's never did.
    assert_eq!(app.calls("groups/create"), 1);
}

#[tokio::test]
async fn each_role_sees_the_row_actions_of_its_own_role_whoever_looked_first() {
    let app = TestApp::spawn().await;
    // The admin's view of the list is rendered (and kept) first.
    assert!(app.get("/groups").await.has("#group-100 a.delete-link"));
    let operator = app.signed_in("otto", Role::Operator).await;
    let page = operator.get("/groups").await;
    assert!(
        page.has("#group-100 a[hx-get$='/edit']"),
        "operators rename"
    );
    assert!(!page.has("#group-100 a.delete-link"), "only admins delete");
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let page = viewer.get("/groups").await;
    assert!(
        !page.has("#group-100 td.actions a:not(.members-link)"),
        "viewers only look"
    );
}

#[tokio::test]
async fn a_viewer_sees_no_buttons_for_what_they_cannot_do() {
    let app = TestApp::spawn().await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let page = viewer.get("/groups").await;
    assert!(!page.has("#create-form"));
    assert!(!page.has("tbody td.actions a:not(.members-link)"));
    let page = viewer
        .get(&format!("/groups?openid={}", app.sim.follower_openid(3)))
        .await;
    assert!(page.has(".found") && !page.has("form.move"));
}

#[tokio::test]
async fn without_a_session_every_page_leads_to_the_sign_in_page_and_back() {
    let app = TestApp::spawn().await;
    let anon = app.browser();
    for (method, path, form, _) in routes() {
        let page = send(&anon, method, path, &form, false).await;
        if method == "GET" {
            assert_eq!(page.status, 303, "{path}");
            assert!(
                page.location().starts_with("/signin?next="),
                "{path}: {}",
                page.location()
            );
        } else {
            // A POST without a session has no CSRF token either: refused before anything else.
            assert_eq!(page.status, 403, "{path}");
        }
    }
    let page = anon.get_hx("/groups/100/row").await;
    assert!(
        page.headers.get("hx-redirect").is_some(),
        "htmx is told to load the sign-in page"
    );

    // Signing in comes back to where the operator wanted to go.
    let signin = anon.get("/signin?next=%2Fgroups%3Fedit%3D100").await;
    assert_eq!(signin.status, 200);
    assert_eq!(
        signin.attr(".signin input[name=next]", "value").as_deref(),
        Some("/groups?edit=100")
    );
    let page = anon
        .post(
            "/signin",
            &[
                ("name", ADMIN),
                ("password", PASSWORD),
                ("next", "/groups?edit=100"),
            ],
        )
        .await;
    assert_eq!(page.location(), "/groups?edit=100");
    assert_eq!(app.calls("groups/create"), 0);
}

#[tokio::test]
async fn a_wrong_password_or_name_gets_the_same_message_and_is_audited() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.get("/signin").await;
    let wrong_pw = b
        .post(
            "/signin",
            &[("name", ADMIN), ("password", "nope nope nope")],
        )
        .await;
    let wrong_name = b
        .post("/signin", &[("name", "nobody"), ("password", PASSWORD)])
        .await;
    assert_eq!(wrong_pw.status, 401);
    assert_eq!(wrong_name.status, 401);
    assert_eq!(wrong_pw.text(".notice"), wrong_name.text(".notice"));
    assert!(
        !wrong_pw.body.contains("nope nope nope"),
        "the password is never echoed"
    );
    let csv = app.get("/audit.csv?action=signin").await.body;
    assert!(
        csv.contains(",nobody,builtin,127.0.0.1,signin,,,,failed"),
        "{csv}"
    );
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_per_name() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    b.get("/signin").await;
    for _ in 0..5 {
        let p = b
            .post(
                "/signin",
                &[("name", "otto"), ("password", "guess guess guess")],
            )
            .await;
        assert_eq!(p.status, 401);
    }
    let p = b
        .post(
            "/signin",
            &[("name", "otto"), ("password", "guess guess guess")],
        )
        .await;
    assert_eq!(p.status, 429);
    assert!(p.text(".notice").contains("分钟"), "{}", p.body);
    // Even the right password waits now: the limit is on the name, not the guess.
    app.add_operator("otto", Role::Operator).await;
    let p = app.browser();
    p.get("/signin").await;
    let p = p
        .post("/signin", &[("name", "otto"), ("password", PASSWORD)])
        .await;
    assert_eq!(p.status, 429);
    // Another name is not affected.
    let other = app.browser();
    other.get("/signin").await;
    assert_eq!(
        other
            .post("/signin", &[("name", ADMIN), ("password", PASSWORD)])
            .await
            .status,
        303
    );
}

fn session_cookie(b: &Browser) -> String {
    let url: reqwest::Url = b.url("/").parse().unwrap();
    let jar = reqwest::cookie::CookieStore::cookies(&*b.jar, &url).unwrap();
    let all = jar.to_str().unwrap().to_owned();
    all.split("; ")
        .find(|c| c.starts_with("wxgroups_session="))
        .expect("a session cookie")
        .to_owned()
}

/// A client that sends exactly this cookie and nothing else.
async fn with_cookie(app: &TestApp, cookie: &str, path: &str) -> crate::helpers::Page {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    read(
        http.get(app.url(path))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_session_id_planted_before_sign_in_is_dead_after_it() {
    let app = TestApp::spawn().await;
    // The sign-in page makes no session any more, so the attacker plants a real one: their own.
    let mallory = app.signed_in("mallory", Role::Viewer).await;
    let planted = session_cookie(&mallory);
    let b = app.browser();
    b.jar
        .add_cookie_str(&planted, &b.url("/").parse::<reqwest::Url>().unwrap());
    b.get("/signin").await;
    let p = b
        .post("/signin", &[("name", ADMIN), ("password", PASSWORD)])
        .await;
    assert_eq!(p.status, 303);
    let after = session_cookie(&b);
    assert_ne!(planted, after, "the id is cycled");
    assert_eq!(with_cookie(&app, &after, "/groups").await.status, 200);
    let old = with_cookie(&app, &planted, "/groups").await;
    assert_eq!(old.status, 303, "the old id does not carry the sign-in");
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let b = app.signed_in("sam", Role::Operator).await;
    let cookie = session_cookie(&b);
    assert_eq!(with_cookie(&app, &cookie, "/groups").await.status, 200);
    let out = b.post("/signout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/signin");
    assert_eq!(
        with_cookie(&app, &cookie, "/groups").await.status,
        303,
        "a copied cookie is dead too"
    );
    let csv = app.get("/audit.csv?operator=sam").await.body;
    assert!(
        csv.contains(",sam,builtin,127.0.0.1,signin,")
            && csv.contains(",sam,builtin,127.0.0.1,signout,"),
        "{csv}"
    );
}

#[tokio::test]
async fn disabling_an_operator_ends_their_sessions_and_sign_ins() {
    let app = TestApp::spawn().await;
    let b = app.signed_in("dora", Role::Operator).await;
    assert_eq!(b.get("/groups").await.status, 200);
    assert!(app.store.disable_operator("dora").await.unwrap());
    let p = b.get("/groups").await;
    assert_eq!(p.status, 303, "the live session ends");
    let again = app.browser();
    again.get("/signin").await;
    assert_eq!(
        again
            .post("/signin", &[("name", "dora"), ("password", PASSWORD)])
            .await
            .status,
        401
    );
}

/// The `Set-Cookie` values of a response that start with `name=`.
fn set_cookies(page: &crate::helpers::Page, name: &str) -> Vec<String> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with(&format!("{name}=")))
        .collect()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_scoped() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let page = b.get("/signin").await;
    assert!(
        set_cookies(&page, "wxgroups_session").is_empty(),
        "the sign-in page makes no session"
    );
    let nonce = set_cookies(&page, "wxgroups_csrf");
    assert_eq!(nonce.len(), 1, "the sign-in form's CSRF nonce");
    let signed_in = b
        .post("/signin", &[("name", ADMIN), ("password", PASSWORD)])
        .await;
    assert_eq!(signed_in.status, 303);
    let session = set_cookies(&signed_in, "wxgroups_session");
    assert_eq!(session.len(), 1, "a session from the sign-in");
    for cookie in [&nonce[0], &session[0]] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP from an untrusted peer: {cookie}"
        );
    }
}

#[tokio::test]
async fn a_change_without_the_sessions_token_is_refused() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let other = app.signed_in("eve", Role::Admin).await;
    let raw = |token: Option<String>, origin: Option<&'static str>| {
        let mut req = app
            .http
            .post(app.url("/groups"))
            .form(&[("name", "csrf test")]);
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        if let Some(o) = origin {
            req = req
                .header(header::ORIGIN, o)
                .header("Sec-Fetch-Site", "cross-site");
        }
        req.send()
    };
    // No token at all.
    assert_eq!(raw(None, None).await.unwrap().status(), 403);
    // Another session's token.
    assert_eq!(raw(Some(other.csrf()), None).await.unwrap().status(), 403);
    // The right token, but from a foreign origin.
    assert_eq!(
        raw(Some(app.csrf()), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(app.calls("groups/create"), 0);
    // The right token from here works (a plain post: redirect-after-post).
    assert_eq!(raw(Some(app.csrf()), None).await.unwrap().status(), 303);
    assert_eq!(app.calls("groups/create"), 1);
}

#[tokio::test]
async fn proxy_headers_from_an_untrusted_peer_are_ignored() {
    // The proxy is somewhere else: our loopback test client is not it.
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.access.auth_header = Some("x-auth-request-email".parse().unwrap());
        s.access.trusted_proxies = vec!["10.99.0.0/16".parse().unwrap()];
        s
    })
    .await;
    let spoof = crate::helpers::client();
    let r = read(
        spoof
            .get(app.url("/groups"))
            .header("X-Auth-Request-Email", "boss@example.com")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 303, "not signed in by a header anyone can send");
    assert!(r.location().starts_with("/signin"));

    let r = spoof
        .get(app.url("/signin"))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        !cookie.contains("Secure"),
        "X-Forwarded-Proto from an untrusted peer: {cookie}"
    );

    // X-Forwarded-For is not believed either: the audit log has the real peer.
    let b = app.browser();
    b.get("/signin").await;
    read(
        b.http
            .post(b.url("/signin"))
            .header("X-Forwarded-For", "203.0.113.66")
            .form(&[("name", "mallory"), ("password", "x"), ("csrf", &b.csrf())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let csv = app.get("/audit.csv?action=signin").await.body;
    assert!(csv.contains(",mallory,builtin,127.0.0.1,"), "{csv}");
    assert!(!csv.contains("203.0.113.66"));
}

#[tokio::test]
async fn a_trusted_proxy_signs_operators_in_with_their_configured_roles() {
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.access.auth_header = Some("x-auth-request-email".parse().unwrap());
        s.access.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.access
            .proxy_roles
            .insert("olga@example.com".into(), Role::Operator);
        s
    })
    .await;
    let as_user = |email: &'static str| {
        let http = crate::helpers::client();
        let url = app.url("/groups");
        async move {
            read(
                http.get(url)
                    .header("X-Auth-Request-Email", email)
                    .header("X-Forwarded-For", "198.51.100.23")
                    .header("X-Forwarded-Proto", "https")
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let viewer = as_user("someone@example.com").await;
    assert_eq!(viewer.status, 200);
    assert!(viewer.text(".user").contains("someone@example.com"));
    assert!(!viewer.has("#create-form"), "the default role is viewer");
    let cookie = viewer.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("Secure"),
        "HTTPS at the trusted proxy: {cookie}"
    );

    let olga = as_user("olga@example.com").await;
    assert!(olga.has("#create-form"), "olga is an operator");
}

#[tokio::test]
async fn the_demo_signs_in_as_its_admin_and_says_so() {
    let sim = wxgroups::simulator::Simulator::new(crate::helpers::sim_config());
    let _ = sim;
    let mut settings = crate::helpers::settings_for("http://127.0.0.1:9".into());
    settings.account = None;
    settings.demo_followers = 10;
    let app = wxgroups::startup::Application::build(settings)
        .await
        .unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run());
    let b = Browser::new(format!("http://{addr}"));
    let page = b.get("/groups").await;
    assert_eq!(page.status, 200);
    assert!(page.text(".user").contains("demo"));
    assert!(page.has(".badge-demo"));
    assert!(page.has("#create-form"), "the demo admin may change things");
}
