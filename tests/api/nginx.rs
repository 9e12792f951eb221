//! A real nginx (Debian's) in front of wxgroups under /wx/, with the sample configs README shows.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use axum::{
    Router,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use wxgroups::store::Role;

use crate::helpers::{Browser, TestApp, client, read, sim_config};

/// nginx running one of `tests/nginx/*.conf`, in a folder of its own; stopped on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

/// A free port below Linux's ephemeral range (32768+), so that no `bind(…:0)` elsewhere in
/// this test run can be handed the same port between our check and nginx's bind.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Nginx {
    /// Starts nginx with the sample `name`, its addresses replaced as `swaps` says.
    fn start(name: &str, swaps: &[(&str, String)], port: u16) -> Nginx {
        let sample = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/nginx")
                .join(name),
        )
        .unwrap();
        let mut site = sample;
        for (from, to) in swaps {
            assert!(site.contains(from), "{name} has {from}");
            site = site.replace(from, to);
        }
        let dir =
            std::env::temp_dir().join(format!("wxgroups-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let d = dir.display();
        let conf = format!(
            "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               include {d}/site.conf;\n}}\n",
            // As root, nginx would hand its workers to `nobody`, who cannot write in our folder.
            user = if root { "user root;\n" } else { "" },
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is installed (apt-get install nginx; .ci/run does)");
        let mut nginx = Nginx { child, dir };
        // Wait until it accepts connections (bounded), or say why it did not.
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                nginx.child.try_wait().unwrap().is_none(),
                "nginx exited: {}",
                std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
            );
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }
}

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers (after SIGKILL they would live on, orphaned,
    /// still holding the port); SIGKILL only if it does not stop within a few seconds.
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().is_ok_and(|s| s.is_none())
            && std::time::Instant::now() < deadline
        {
            // The interval between two looks at the condition, not a guess at how long it takes.
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// wxgroups under /wx, trusting the proxy on loopback.
async fn app_behind_proxy(
    port: u16,
    tweak: impl FnOnce(&mut wxgroups::settings::Settings),
) -> TestApp {
    TestApp::spawn_with(sim_config(), move |mut s| {
        s.base_path = "/wx".into();
        s.public_origin = Some(format!("http://127.0.0.1:{port}"));
        s.access.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        tweak(&mut s);
        s
    })
    .await
}

fn app_addr(app: &TestApp) -> SocketAddr {
    app.addr
}

#[tokio::test]
async fn behind_nginx_under_wx_every_link_redirect_asset_and_cookie_keeps_the_prefix() {
    let port = free_port();
    let app = app_behind_proxy(port, |_| {}).await;
    let _nginx = Nginx::start(
        "wxgroups.conf",
        &[
            ("127.0.0.1:8088", format!("127.0.0.1:{port}")),
            (
                "http://127.0.0.1:8080",
                format!("http://{}", app_addr(&app)),
            ),
        ],
        port,
    );
    let origin = format!("http://127.0.0.1:{port}");
    let raw = client();
    let r = read(raw.get(format!("{origin}/wx")).send().await.unwrap()).await;
    assert_eq!(r.status, 301);
    assert!(r.location().ends_with("/wx/"), "{}", r.location());
    let r = read(raw.get(format!("{origin}/wx/")).send().await.unwrap()).await;
    assert_eq!(r.location(), "/wx/groups");
    let r = read(raw.get(format!("{origin}/wx/groups")).send().await.unwrap()).await;
    assert_eq!(r.location(), "/wx/signin?next=%2Fwx%2Fgroups");

    let b = Browser::new(format!("{origin}/wx"));
    let signin = b.get("/signin").await;
    assert_eq!(signin.status, 200);
    let cookie = signin.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Path=/wx"), "{cookie}");
    let r = b
        .post(
            "/signin",
            &[
                ("name", crate::helpers::ADMIN),
                ("password", crate::helpers::PASSWORD),
                ("next", "/wx/groups"),
            ],
        )
        .await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/wx/groups"));

    let page = b.get("/groups").await;
    assert_eq!(page.status, 200);
    // Every URL the page uses carries the prefix, and the assets load through nginx.
    let html = page.html();
    let sel = scraper::Selector::parse("[href], [src], [action], [hx-get], [hx-post]").unwrap();
    let mut assets = Vec::new();
    for el in html.select(&sel) {
        for attr in ["href", "src", "action", "hx-get", "hx-post"] {
            if let Some(url) = el.value().attr(attr) {
                if url.starts_with('#') {
                    continue;
                }
                assert!(url.starts_with("/wx/"), "{attr}={url}");
                if url.starts_with("/wx/assets/") {
                    assets.push(url.to_owned());
                }
            }
        }
    }
    assert!(assets.len() >= 4, "{assets:?}");
    for a in assets {
        let r = raw.get(format!("{origin}{a}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{a}");
    }

    // The operator's work, as plain forms (redirects) and htmx (fragments).
    let r = b.post("/groups", &[("name", "经由 nginx")]).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with("/wx/groups?done=created&id="),
        "{}",
        r.location()
    );
    let r = b
        .post_hx("/groups/100/rename", &[("name", "nginx 改名")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.attr("a[hx-get$='/edit']", "href")
            .unwrap()
            .starts_with("/wx/groups?edit=")
    );
    let openid = app.sim.follower_openid(4);
    let r = b
        .post("/members/move", &[("openid", &openid), ("to_groupid", "2")])
        .await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with("/wx/groups?done=moved"),
        "{}",
        r.location()
    );
    assert_eq!(app.sim.group_of(&openid), Some(2));
    let r = b
        .post("/lang", &[("lang", "en"), ("next", "/wx/groups")])
        .await;
    assert_eq!(r.location(), "/wx/groups");
    let audit = b.get("/audit.csv").await.body;
    for action in ["group_create", "group_rename", "member_move"] {
        assert!(
            audit.contains(&format!(",admin,builtin,127.0.0.1,{action},")),
            "{action}: {audit}"
        );
    }

    // The origin check sees the browser's Host through nginx: our own origin passes, another fails.
    let post = |o: &'static str| {
        b.http
            .post(b.url("/groups/refresh"))
            .header(header::ORIGIN, o.replace("SELF", &origin))
            .header("X-CSRF-Token", b.csrf())
            .send()
    };
    assert_eq!(post("SELF").await.unwrap().status(), 303);
    assert_eq!(post("https://evil.example").await.unwrap().status(), 403);

    let r = b.post("/signout", &[]).await;
    assert_eq!(r.location(), "/wx/signin");
}

/// A stand-in for oauth2-proxy's nginx endpoints: `/oauth2/auth` answers 202 with the e-mail
/// of the `_oauth2_proxy` cookie (or 401); `/oauth2/start` "signs in" as `?as=` (default
/// lead@example.com) and goes back to `rd`.
async fn fake_oauth2_proxy(listener: tokio::net::TcpListener) {
    async fn auth(headers: HeaderMap) -> impl IntoResponse {
        let email = headers
            .get(header::COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| {
                c.split("; ")
                    .find_map(|kv| kv.strip_prefix("_oauth2_proxy="))
            })
            .map(str::to_owned);
        match email {
            Some(e) => (StatusCode::ACCEPTED, [("x-auth-request-email", e)]).into_response(),
            None => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
    async fn start(
        axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    ) -> impl IntoResponse {
        let who = q
            .get("as")
            .cloned()
            .unwrap_or_else(|| "lead@example.com".into());
        let rd = q.get("rd").cloned().unwrap_or_else(|| "/wx/".into());
        (
            StatusCode::FOUND,
            [
                (
                    header::SET_COOKIE,
                    format!("_oauth2_proxy={who}; Path=/; HttpOnly"),
                ),
                (header::LOCATION, rd),
            ],
        )
    }
    async fn sign_in_page() -> impl IntoResponse {
        axum::response::Html("<a href=\"/oauth2/start\">Sign in with your company account</a>")
    }
    let router = Router::new()
        .route("/oauth2/auth", get(auth))
        .route("/oauth2/sign_in", get(sign_in_page))
        .route("/oauth2/start", get(start));
    axum::serve(listener, router).await.unwrap();
}

#[tokio::test]
async fn behind_nginx_and_oauth2_proxy_operators_arrive_signed_in_with_their_roles() {
    let port = free_port();
    let app = app_behind_proxy(port, |s| {
        s.access.auth_header = Some("x-auth-request-email".parse().unwrap());
        s.access
            .proxy_roles
            .insert("lead@example.com".into(), Role::Admin);
        s.access
            .proxy_roles
            .insert("ops@example.com".into(), Role::Operator);
    })
    .await;
    let oauth = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oauth_addr = oauth.local_addr().unwrap();
    tokio::spawn(fake_oauth2_proxy(oauth));
    let _nginx = Nginx::start(
        "wxgroups-oauth2-proxy.conf",
        &[
            ("127.0.0.1:8089", format!("127.0.0.1:{port}")),
            ("http://127.0.0.1:4180", format!("http://{oauth_addr}")),
            ("http://127.0.0.1:8080", format!("http://{}", app.addr)),
        ],
        port,
    );
    let origin = format!("http://127.0.0.1:{port}");

    // Not signed in at the proxy: nginx sends the browser to oauth2-proxy.
    let b = Browser::new(format!("{origin}/wx"));
    let r = b.get("/groups").await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("/oauth2/start"),
        "oauth2-proxy's sign-in page: {}",
        r.body
    );
    let r = read(
        b.http
            .get(format!("{origin}/oauth2/start?rd=/wx/groups"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.location(), "/wx/groups");

    // Signed in at the proxy: wxgroups knows the operator without a password.
    let page = b.get("/groups").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text(".user").contains("lead@example.com"));
    assert!(page.has("#create-form"), "lead is an admin");
    assert!(
        !page.has("form.signout"),
        "proxy users sign out at the proxy"
    );
    let r = b.post_hx("/groups", &[("name", "单点登录")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let audit = b.get("/audit.csv?action=group_create").await.body;
    assert!(audit.contains(",lead@example.com,proxy,"), "{audit}");

    // A browser claiming to be someone else: nginx overwrites the header with the proxy's answer.
    let ops = Browser::new(format!("{origin}/wx"));
    let start = format!("{origin}/oauth2/start?rd=/wx/groups&as=ops@example.com");
    read(ops.http.get(start).send().await.unwrap()).await;
    let page = read(
        ops.http
            .get(ops.url("/groups"))
            .header("X-Auth-Request-Email", "lead@example.com")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        page.text(".user").contains("ops@example.com"),
        "{}",
        page.text(".user")
    );
}

#[tokio::test]
async fn behind_nginx_under_wx_two_accounts_keep_both_the_prefix_and_their_key() {
    use wxgroups::{
        domain::Api,
        settings::{AccountSettings, Settings},
        simulator::{SimConfig, Simulator, spawn_local},
    };
    let port = free_port();
    let sim = |appid: &str| {
        Simulator::new(SimConfig {
            appid: appid.into(),
            secret: "s".into(),
            followers: 50,
            ..SimConfig::default()
        })
    };
    let (shop, brand) = (sim("wxshop00000000001"), sim("wxbrand0000000002"));
    let (shop_url, brand_url) = (
        spawn_local(&shop).await.unwrap(),
        spawn_local(&brand).await.unwrap(),
    );
    let mut settings = Settings::for_tests().with_accounts(vec![
        AccountSettings::for_tests("shop", "wxshop00000000001", "s", shop_url, Api::Groups),
        AccountSettings::for_tests("brand", "wxbrand0000000002", "s", brand_url, Api::Tags),
    ]);
    settings.base_path = "/wx".into();
    settings.public_origin = Some(format!("http://127.0.0.1:{port}"));
    settings.access.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let (addr, _store, _admin) = crate::helpers::start(settings).await;
    let _nginx = Nginx::start(
        "wxgroups.conf",
        &[
            ("127.0.0.1:8088", format!("127.0.0.1:{port}")),
            ("http://127.0.0.1:8080", format!("http://{addr}")),
        ],
        port,
    );
    let origin = format!("http://127.0.0.1:{port}");
    let raw = client();
    let r = read(raw.get(format!("{origin}/wx/")).send().await.unwrap()).await;
    assert_eq!(r.location(), "/wx/a", "the account list");

    let b = Browser::new(format!("{origin}/wx"));
    b.get("/signin").await;
    let r = b
        .post(
            "/signin",
            &[
                ("name", crate::helpers::ADMIN),
                ("password", crate::helpers::PASSWORD),
                ("next", "/wx/a/brand/groups"),
            ],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.location()),
        (303, "/wx/a/brand/groups")
    );
    let page = b.get("/a/brand/groups").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.html();
    let sel = scraper::Selector::parse("[href], [src], [action], [hx-get], [hx-post]").unwrap();
    for el in html.select(&sel) {
        for attr in ["href", "src", "action", "hx-get", "hx-post"] {
            if let Some(url) = el.value().attr(attr).filter(|u| !u.starts_with('#')) {
                assert!(url.starts_with("/wx/"), "{attr}={url}");
                let global = ["/wx/signin", "/wx/lang", "/wx/assets/", "/wx/a/shop/"]
                    .iter()
                    .any(|g| url.starts_with(g));
                assert!(url.starts_with("/wx/a/brand/") || global, "{attr}={url}");
            }
        }
    }
    assert!(page.has("details.switcher a[href='/wx/a/shop/groups']"));
    // A plain form's redirect keeps both.
    let r = b.post("/a/shop/groups", &[("name", "经由 nginx")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with("/wx/a/shop/groups?"),
        "{}",
        r.location()
    );
    assert_eq!(shop.group_count(), 8);
}
