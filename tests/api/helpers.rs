//! `TestApp`: the simulator and the dashboard, each on a real loopback socket on port 0.

use std::net::SocketAddr;

use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use std::sync::Mutex;

use wxgroups::{
    auth::password,
    settings::Settings,
    simulator::{SimConfig, Simulator, spawn_local},
    startup::Application,
    store::{Role, Store},
};

pub const APPID: &str = "wxtest1234567890";
pub const SECRET: &str = "test-secret-do-not-leak";

pub struct TestApp {
    pub addr: SocketAddr,
    pub sim: Simulator,
    /// The simulator's base URL, to call it directly behind the dashboard's back.
    pub sim_url: String,
    pub store: Store,
    /// A browser signed in as an admin; `app.get(…)` etc. go through it.
    pub admin: Browser,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.admin
    }
}

/// One browser: its own cookie jar, and the CSRF token of its session.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    /// The cookie jar, to look at (and copy) the session cookie.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    csrf: Mutex<String>,
}

/// A response read to the end, with its body parsed as HTML on demand.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        // A bare <tr> fragment (what htmx swaps into a table) is dropped by an HTML parser
        // outside a table, as a browser would: give it one, as htmx does.
        if self.body.trim_start().starts_with("<tr") {
            return Html::parse_document(&format!("<table><tbody>{}</tbody></table>", self.body));
        }
        Html::parse_document(&self.body)
    }

    /// The trimmed text of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let sel = Selector::parse(css).expect("a valid selector");
        self.html()
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn text(&self, css: &str) -> String {
        self.texts(css).join(" | ")
    }

    pub fn has(&self, css: &str) -> bool {
        !self.texts(css).is_empty()
    }

    /// The value of `attr` on the first element matching `css`.
    pub fn attr(&self, css: &str, attr: &str) -> Option<String> {
        let sel = Selector::parse(css).expect("a valid selector");
        self.html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_owned))
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The follower count shown in the row of group `id`.
    pub fn count_of(&self, id: u32) -> u64 {
        let cell = self.text(&format!("#group-{id} td.num:nth-child(3)"));
        cell.replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("no count for group {id} in {cell:?}"))
    }
}

pub fn sim_config() -> SimConfig {
    SimConfig {
        appid: APPID.into(),
        secret: SECRET.into(),
        followers: 500,
        ..SimConfig::default()
    }
}

/// Test settings for the test account, whose WeChat answers at `wechat_api`.
pub fn settings_for(wechat_api: String) -> Settings {
    Settings::for_tests().with_account(APPID, SECRET, wechat_api)
}

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery staple";

/// Starts the app with `settings`, adds the admin and signs a browser in as them.
pub async fn start(settings: Settings) -> (SocketAddr, Store, Browser) {
    let base_path = settings.base_path.clone();
    let app = Application::build(settings).await.expect("the app builds");
    let addr = app.local_addr();
    let store = app.store().clone();
    tokio::spawn(app.run());
    let hash = password::hash(PASSWORD).unwrap();
    store.add_operator(ADMIN, Role::Admin, &hash).await.unwrap();
    let admin = Browser::new(format!("http://{addr}{base_path}"));
    let page = admin.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(page.status, 303, "the admin signs in: {}", page.body);
    (addr, store, admin)
}

impl TestApp {
    /// The simulator with 500 followers, and the dashboard pointed at it, signed in as an admin.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(sim_config(), |s| s).await
    }

    pub async fn spawn_with(
        config: SimConfig,
        tweak: impl FnOnce(Settings) -> Settings,
    ) -> TestApp {
        let sim = Simulator::new(config);
        let sim_url = spawn_local(&sim).await.expect("the simulator listens");
        let (addr, store, admin) = start(tweak(settings_for(sim_url.clone()))).await;
        TestApp {
            addr,
            sim,
            sim_url,
            admin,
            store,
        }
    }

    /// Adds a built-in operator with the test password.
    pub async fn add_operator(&self, name: &str, role: Role) {
        let hash = password::hash(PASSWORD).unwrap();
        self.store
            .add_operator(name, role, &hash)
            .await
            .unwrap()
            .expect("a new name");
    }

    /// A fresh browser (no cookies) on this app.
    pub fn browser(&self) -> Browser {
        Browser::new(self.admin.base.clone())
    }

    /// A browser signed in as a new operator with `role`.
    pub async fn signed_in(&self, name: &str, role: Role) -> Browser {
        self.add_operator(name, role).await;
        let b = self.browser();
        let page = b.sign_in(name, PASSWORD).await;
        assert_eq!(page.status, 303, "{name} signs in: {}", page.body);
        b
    }

    /// Upstream calls to one endpoint so far.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.sim.calls(&format!("/cgi-bin/{endpoint}"))
    }
}

impl Browser {
    pub fn new(base: String) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            base,
            http: client_with(jar.clone()),
            jar,
            csrf: Mutex::new(String::new()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn csrf(&self) -> String {
        self.csrf.lock().unwrap().clone()
    }

    /// Remembers the CSRF token a page carries, as a browser would from its forms.
    fn learn(&self, page: &Page) {
        if let Some(token) = page
            .attr("input[name=csrf]", "value")
            .filter(|t| !t.is_empty())
        {
            *self.csrf.lock().unwrap() = token;
        }
    }

    async fn read(&self, r: reqwest::Response) -> Page {
        let page = read(r).await;
        self.learn(&page);
        page
    }

    /// Signs in through the sign-in page, then loads the groups page (for its token).
    pub async fn sign_in(&self, name: &str, password: &str) -> Page {
        self.get("/signin").await;
        let page = self
            .post(
                "/signin",
                &[("name", name), ("password", password), ("next", "")],
            )
            .await;
        if page.status == 303 {
            self.get("/groups").await;
        }
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        self.read(self.http.get(self.url(path)).send().await.unwrap())
            .await
    }

    pub async fn get_hx(&self, path: &str) -> Page {
        self.read(
            self.http
                .get(self.url(path))
                .header("HX-Request", "true")
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A plain form post, with the session's token in the hidden field.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        self.read(
            self.http
                .post(self.url(path))
                .form(&fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// An htmx post, with the token in `X-CSRF-Token` as `hx-headers` sends it.
    pub async fn post_hx(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.read(
            self.http
                .post(self.url(path))
                .header("HX-Request", "true")
                .header("X-CSRF-Token", self.csrf())
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// A client builder that does not follow redirects (tests look at them).
pub fn builder() -> reqwest::ClientBuilder {
    // reqwest is built without a bundled TLS provider; it wants one installed even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// A client that does not follow redirects and keeps cookies in `jar`.
pub fn client_with(jar: std::sync::Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    builder().cookie_provider(jar).build().unwrap()
}

/// A client that does not follow redirects and keeps cookies.
pub fn client() -> reqwest::Client {
    builder().cookie_store(true).build().unwrap()
}

pub async fn read(r: reqwest::Response) -> Page {
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap();
    Page {
        status,
        headers,
        body,
    }
}
