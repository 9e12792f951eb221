//! The dashboard under test, on a loopback socket on port 0: the demo account, or an account whose
//! WeChat cannot be reached.

use std::{net::SocketAddr, time::Duration};

use wxgroups::{
    auth::{Access, password},
    settings::{Account, LogFormat, Settings},
    simulator::{SimConfig, Simulator},
    startup::Application,
    store::Role,
    wechat::TokenMode,
};

pub struct TestApp {
    pub addr: SocketAddr,
    /// The demo's in-process simulator (`None` when WeChat is unreachable on purpose).
    pub sim: Option<Simulator>,
    /// Name and password to sign in with, for a configured account (the demo signs in itself).
    pub signin: Option<(String, String)>,
}

pub const OPERATOR: &str = "browser-admin";
pub const PASSWORD: &str = "browser test password";

fn settings() -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: None,
        wechat_api: "http://127.0.0.1:9".into(),
        token_mode: TokenMode::Stable,
        token_url: None,
        groups_max_age: Duration::from_secs(300),
        upstream_timeout: Duration::from_secs(5),
        demo_followers: 300,
        log_format: LogFormat::Human,
        database_url: "sqlite::memory:".into(),
        base_path: String::new(),
        public_origin: None,
        access: Access::default(),
        metrics_allow: Vec::new(),
        jobs: Default::default(),
    }
}

impl TestApp {
    /// The demo account: the simulator seeded with groups 0, 1, 2, 100–103 and 300 followers.
    pub async fn demo() -> TestApp {
        Self::start(settings()).await
    }

    /// A real-account configuration pointed at a port nobody listens on, so every WeChat call
    /// fails the way it does when the server's network is down.
    pub async fn wechat_unreachable() -> TestApp {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        Self::start(Settings {
            account: Some(Account {
                appid: "wxbrowser00000000".into(),
                secret: "browser-test-secret".to_owned().into(),
            }),
            wechat_api: format!("http://{closed}"),
            ..settings()
        })
        .await
    }

    /// A configured account (not the demo) on a working simulator, signed in as an admin.
    pub async fn configured() -> TestApp {
        Self::configured_as(Role::Admin).await
    }

    /// The same, signed in as a viewer (who may look but not change).
    pub async fn configured_viewer() -> TestApp {
        Self::configured_as(Role::Viewer).await
    }

    /// Starts the simulator on a port of its own, as a real WeChat would be, and the dashboard
    /// pointed at it with the simulator's AppID and secret.
    async fn configured_as(role: Role) -> TestApp {
        let (appid, secret) = ("wxbrowser00000000", "browser-test-secret");
        let sim = Simulator::new(SimConfig {
            appid: appid.into(),
            secret: secret.into(),
            followers: 300,
            ..SimConfig::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(wxgroups::simulator::serve(listener, sim.clone()));
        let mut app = Self::start_as(
            Settings {
                account: Some(Account {
                    appid: appid.into(),
                    secret: secret.to_owned().into(),
                }),
                wechat_api: sim_url,
                ..settings()
            },
            role,
        )
        .await;
        app.sim = Some(sim);
        app
    }

    async fn start(settings: Settings) -> TestApp {
        Self::start_as(settings, Role::Admin).await
    }

    async fn start_as(settings: Settings, role: Role) -> TestApp {
        let demo = settings.account.is_none();
        let app = Application::build(settings).await.expect("the app builds");
        let addr = app.local_addr();
        let sim = app.demo.clone();
        let signin = if demo {
            None
        } else {
            let hash = password::hash(PASSWORD).unwrap();
            app.store()
                .add_operator(OPERATOR, role, &hash)
                .await
                .unwrap();
            Some((OPERATOR.to_owned(), PASSWORD.to_owned()))
        };
        tokio::spawn(app.run());
        TestApp { addr, sim, signin }
    }
}
