//! `TestApp`: the simulator and the dashboard, each on a real loopback socket on port 0.

use std::{net::SocketAddr, time::Duration};

use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use wxgroups::{
    settings::{Account, LogFormat, Settings},
    simulator::{SimConfig, Simulator},
    startup::Application,
    wechat::TokenMode,
};

pub const APPID: &str = "wxtest1234567890";
pub const SECRET: &str = "test-secret-do-not-leak";

pub struct TestApp {
    pub addr: SocketAddr,
    pub sim: Simulator,
    /// The simulator's base URL, to call it directly behind the dashboard's back.
    pub sim_url: String,
    pub http: reqwest::Client,
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

pub fn settings_for(wechat_api: String) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: Some(Account {
            appid: APPID.into(),
            secret: SECRET.to_owned().into(),
        }),
        wechat_api,
        token_mode: TokenMode::Stable,
        groups_max_age: Duration::from_secs(300),
        upstream_timeout: Duration::from_secs(5),
        demo_followers: 0,
        log_format: LogFormat::Human,
    }
}

impl TestApp {
    /// The simulator with 500 followers, and the dashboard pointed at it.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(sim_config(), |s| s).await
    }

    pub async fn spawn_with(
        config: SimConfig,
        tweak: impl FnOnce(Settings) -> Settings,
    ) -> TestApp {
        let sim = Simulator::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(wxgroups::simulator::serve(listener, sim.clone()));
        let app = Application::build(tweak(settings_for(sim_url.clone())))
            .await
            .expect("the app builds");
        let addr = app.local_addr();
        tokio::spawn(app.run());
        TestApp {
            addr,
            sim,
            sim_url,
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Page {
        read(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn get_hx(&self, path: &str) -> Page {
        read(
            self.http
                .get(self.url(path))
                .header("HX-Request", "true")
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        read(
            self.http
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_hx(&self, path: &str, form: &[(&str, &str)]) -> Page {
        read(
            self.http
                .post(self.url(path))
                .header("HX-Request", "true")
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Upstream calls to one endpoint so far.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.sim.calls(&format!("/cgi-bin/{endpoint}"))
    }
}

/// A client that does not follow redirects (tests look at them) and keeps cookies.
pub fn client() -> reqwest::Client {
    // reqwest is built without a bundled TLS provider; it wants one installed even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
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
