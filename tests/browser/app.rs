//! The dashboard under test, on a loopback socket on port 0: the demo account, or an account whose
//! WeChat cannot be reached.

use std::net::SocketAddr;

use wxgroups::{
    auth::password,
    settings::Settings,
    simulator::{SimConfig, Simulator, spawn_local},
    startup::Application,
    store::Role,
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

impl TestApp {
    /// The demo account: the simulator seeded with groups 0, 1, 2, 100–103 and 300 followers.
    pub async fn demo() -> TestApp {
        Self::start(Settings::for_tests()).await
    }

    /// The demo account managed through WeChat's tags (`WXGROUPS_API=tags`).
    pub async fn tags_demo() -> TestApp {
        let mut settings = Settings::for_tests();
        settings.api = wxgroups::domain::Api::Tags;
        Self::start(settings).await
    }

    /// The demo with its two accounts (one in each API), as `cargo run` starts it.
    pub async fn two_demo_accounts() -> TestApp {
        let mut settings = Settings::for_tests();
        settings.demo_accounts = 2;
        Self::start(settings).await
    }

    /// A real-account configuration pointed at a port nobody listens on, so every WeChat call
    /// fails the way it does when the server's network is down.
    pub async fn wechat_unreachable() -> TestApp {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        Self::start(Settings::for_tests().with_account(
            "wxbrowser00000000",
            "browser-test-secret",
            format!("http://{closed}"),
        ))
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
        let sim_url = spawn_local(&sim).await.expect("the simulator listens");
        let mut app = Self::start_as(
            Settings::for_tests().with_account(appid, secret, sim_url),
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
