//! Wiring: settings → WeChat client (or the demo's simulator) → store → state → workers →
//! router → listener.
//!
//! `build` binds but does not run, so tests can bind port 0, read the address and then run.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use tower_sessions::ExpiredDeletion;
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::{
    auth::session_cache::{self, DbSessions},
    cli::{Cli, Command, SimArgs},
    routes,
    settings::{LogFormat, Settings},
    simulator::{SimConfig, Simulator},
    state::{
        Access, AccountEntry, AppState, CsrfKey, Directory, GroupCache, QuotaMeter, Runner, Shared,
        SignInLimiter, Site,
    },
    store::{Engine, Store},
    web::Urls,
    wechat::{ClientConfig, TokenMode, WeChatClient},
};

/// Runs the chosen subcommand; the process's exit code says whether it went well.
pub fn main(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wxgroups: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wxgroups: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Sim(args) => sim(args).await,
            Command::Operator { command } => {
                let store = Store::connect(&settings.database_url).await.map_err(|e| {
                    anyhow::anyhow!(
                        "{e} (WXGROUPS_DATABASE_URL is {:?})",
                        crate::store::redacted(&settings.database_url)
                    )
                })?;
                crate::auth::cli::run(&store, &settings.account_list(), command).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("wxgroups: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,hyper=warn,reqwest=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Human => registry.with(fmt::layer()).try_init(),
        LogFormat::Json => registry.with(fmt::layer().json()).try_init(),
    };
}

/// A bound, ready-to-run dashboard.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    /// The demo's in-process simulator (its first account's), when there is no real account.
    pub demo: Option<Simulator>,
    /// Every demo account's simulator, in the directory's order.
    pub demos: Vec<Simulator>,
}

impl Application {
    /// Builds everything and binds `settings.listen` (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        crate::status::telemetry::install();
        let store = Store::connect(&settings.database_url).await.map_err(|e| {
            anyhow::anyhow!(
                "{e} (WXGROUPS_DATABASE_URL is {:?})",
                crate::store::redacted(&settings.database_url)
            )
        })?;
        let sessions = sessions(&store).await?;
        let accounts = accounts(&settings).await?;
        let demo = accounts.iter().all(|a| a.demo.is_some());
        let common = Common {
            directory: Directory::new(accounts.iter().map(|a| a.entry.clone()).collect()),
            access: Arc::new(Access {
                demo,
                ..settings.access.clone()
            }),
            limiter: Arc::new(SignInLimiter::new(Duration::from_secs(15 * 60), 5, 30)),
            csrf_key: settings
                .secret_key
                .as_ref()
                .map_or_else(CsrfKey::random, CsrfKey::derived),
            instance: instance_id(),
        };
        let mut states = Vec::new();
        let mut demos = Vec::new();
        for account in accounts {
            demos.extend(account.demo.clone());
            states.push(account_state(&settings, &store, &common, account).await?);
        }
        tokio::spawn(crate::state::listener::listen(
            store.clone(),
            states.clone(),
        ));
        for state in &states {
            // A job or sync a stopped process left running resumes now: one writer per account.
            tokio::spawn(crate::jobs::job_loop(state.clone()));
            tokio::spawn(crate::followers::sync_loop(state.clone()));
            tokio::spawn(state.quota.clone().follow());
        }
        let root = match states.as_slice() {
            [one] => one.clone(),
            several => AppState::new(several[0].root(Urls::new(&settings.base_path))),
        };
        let router = routes::router(&root, &states, session_cache::cached(sessions));
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} ({e}); set WXGROUPS_LISTEN to a free address:port",
                settings.listen
            )
        })?;
        // The first account's handle: what a single-account deployment (and its tests) calls
        // "the store".
        let store = states[0].store.clone();
        Ok(Application {
            listener,
            router,
            store,
            demo: demos.first().cloned(),
            demos,
        })
    }

    /// The database, as the first account's handle (tests add operators through it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until SIGTERM or Ctrl-C; requests in flight are finished first.
    pub async fn run(self) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    }
}

/// What every account's state shares.
struct Common {
    directory: Arc<Directory>,
    access: Arc<Access>,
    limiter: Arc<SignInLimiter>,
    csrf_key: CsrfKey,
    /// This process among the deployment's instances (whose leases are whose).
    instance: Arc<str>,
}

/// A name for this process that no other instance has: the host, the pid and a random part
/// (a restarted process is a new instance, whatever it reuses).
fn instance_id() -> Arc<str> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let random: u32 = rand::random();
    Arc::from(format!("{host}-{}-{random:08x}", std::process::id()))
}

/// One account to serve: what the directory says of it, and how its WeChat is reached.
struct Account {
    entry: AccountEntry,
    client: ClientConfig,
    /// The simulator of a demo account.
    demo: Option<Simulator>,
}

/// The configured accounts, or the demo's simulated ones.
async fn accounts(settings: &Settings) -> anyhow::Result<Vec<Account>> {
    let configured = settings.account_list();
    if configured.is_empty() {
        return demo_accounts(settings).await;
    }
    Ok(configured
        .into_iter()
        .map(|a| {
            let mut c = ClientConfig::new(a.wechat_api.clone(), a.appid.clone(), a.secret.clone());
            c.token_mode = a.token_mode;
            c.token_url = a.token_url.clone();
            c.timeout = settings.upstream_timeout;
            let entry = AccountEntry {
                key: a.key.to_string(),
                name: a.name.clone(),
                appid: a.appid.clone(),
                api: a.api,
                proxy_roles: a.proxy_roles.iter().cloned().collect(),
            };
            Account {
                entry,
                client: c,
                demo: None,
            }
        })
        .collect())
}

/// The demo: simulators on loopback ports of our own, so the demo goes through exactly the same
/// client code, HTTP and JSON as a real account. With two, the second speaks the other API and
/// is smaller, so the switcher has something to show.
async fn demo_accounts(settings: &Settings) -> anyhow::Result<Vec<Account>> {
    let mut out = Vec::new();
    let plan = [
        (
            "demo",
            "演示公众号",
            settings.api,
            settings.demo_followers,
            0,
        ),
        (
            "demo-2",
            "演示公众号二",
            settings.api.other(),
            settings.demo_followers / 2,
            1,
        ),
    ];
    for (key, name, api, followers, n) in plan.into_iter().take(settings.demo_accounts.into()) {
        let sim_config = SimConfig {
            followers,
            appid: format!("wxdemo000000000{n}"),
            ..SimConfig::default()
        };
        let (appid, secret) = (sim_config.appid.clone(), sim_config.secret.clone());
        let sim = Simulator::new(sim_config);
        let base = crate::simulator::spawn_local(&sim).await?;
        let mut c = ClientConfig::new(base, appid.clone(), secrecy::SecretString::from(secret));
        c.token_mode = settings.token_mode;
        c.timeout = settings.upstream_timeout;
        let entry = AccountEntry {
            key: key.into(),
            name: name.into(),
            appid,
            api,
            proxy_roles: Default::default(),
        };
        out.push(Account {
            entry,
            client: c,
            demo: Some(sim),
        });
    }
    Ok(out)
}

/// On a database several instances share, the token is shared through it (sealed with the
/// secret key): else each instance would fetch its own, and in classic mode knock out the
/// others'. An external token service is already shared. Without a secret key nothing can be
/// sealed, so nothing is shared (and the start says so).
fn token_shelf(
    settings: &Settings,
    store: &Store,
    mode: TokenMode,
) -> Option<Arc<dyn crate::wechat::TokenShelf>> {
    if !store.engine().is_shared() || mode == TokenMode::External {
        return None;
    }
    let Some(secret) = &settings.secret_key else {
        tracing::warn!(
            "several instances on one database each fetch their own access_token without \
             WXGROUPS_SECRET_KEY_FILE (the same for every instance); in classic token mode they \
             knock out each other's"
        );
        return None;
    };
    Some(Arc::new(crate::state::token_shelf::SealedShelf::new(
        store.clone(),
        secret,
    )))
}

/// One account's state: its own client (token, circuit), cached list, quota meter, store
/// handle and job runner, beside what every account shares.
async fn account_state(
    settings: &Settings,
    store: &Store,
    common: &Common,
    account: Account,
) -> anyhow::Result<AppState> {
    let key = account.entry.key.clone();
    let store = store.for_account(&key);
    let quota = QuotaMeter::load(store.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the quota meter of account {key}: {e}"))?;
    let site = site(
        settings,
        &account.entry,
        &account.client,
        account.demo.is_some(),
    );
    let mut client_config = account.client;
    client_config.observer = Some(quota.clone());
    if account.demo.is_none() {
        // A demo account's simulator lives in this process: its tokens are its own.
        client_config.token_shelf = token_shelf(settings, &store, client_config.token_mode);
    }
    let client = WeChatClient::new(client_config)
        .map_err(|e| anyhow::anyhow!("cannot build the WeChat client of account {key}: {e}"))?;
    let urls = if common.directory.several() {
        Urls::for_account(&settings.base_path, &key)
    } else {
        Urls::new(&settings.base_path)
    };
    let runner = Runner::new(settings.jobs, &store, &common.instance);
    Ok(AppState::new(Shared {
        client,
        groups: Arc::new(
            GroupCache::new(settings.groups_max_age, account.entry.api).shared_through(&store),
        ),
        site: Arc::new(site),
        urls,
        store,
        access: common.access.clone(),
        limiter: common.limiter.clone(),
        quota,
        jobs: runner,
        csrf_key: common.csrf_key.clone(),
        directory: common.directory.clone(),
    }))
}

/// Facts about this deployment and this account that pages show.
fn site(settings: &Settings, entry: &AccountEntry, client: &ClientConfig, demo: bool) -> Site {
    Site {
        key: entry.key.clone(),
        name: entry.name.clone(),
        demo,
        appid: (!demo).then(|| entry.appid.clone()),
        public_origin: settings.public_origin.clone(),
        metrics_allow: settings.metrics_allow.clone(),
        allowed_hosts: settings.allowed_hosts.clone(),
        api: entry.api,
        token_mode: client.token_mode.to_string(),
        wechat_api: if demo {
            "(demo simulator)".into()
        } else {
            client.base_url.clone()
        },
    }
}

/// The session table, migrated; expired sessions are deleted in the background, not only ignored.
async fn sessions(store: &Store) -> anyhow::Result<DbSessions> {
    let sessions = match store.engine() {
        Engine::Sqlite(pool) => DbSessions::Sqlite(SqliteStore::new(pool.clone())),
        Engine::Postgres(pool) => DbSessions::Postgres(PostgresStore::new(pool.clone())),
    };
    store
        .exclusively("sessions-migrate", sessions.migrate())
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the session table: {e}"))?
        .map_err(|e| anyhow::anyhow!("cannot prepare the session table: {e}"))?;
    tokio::spawn(
        sessions
            .clone()
            .continuously_delete_expired(Duration::from_secs(600)),
    );
    Ok(sessions)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let demo = settings.account.is_none();
    let app = Application::build(settings).await?;
    let addr = app.local_addr();
    if demo {
        tracing::info!(
            "wxgroups is serving the DEMO account (no WXGROUPS_APPID set) on http://{addr}/"
        );
    } else {
        tracing::info!("wxgroups is serving on http://{addr}/");
    }
    app.run().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn sim(args: SimArgs) -> anyhow::Result<()> {
    let sim = Simulator::new(SimConfig {
        appid: args.appid,
        secret: args.secret,
        followers: args.followers,
        token_lifetime: std::time::Duration::from_secs(args.token_lifetime),
        groups_api: !args.no_groups_api,
        tags_api: !args.no_tags_api,
        ..SimConfig::default()
    });
    for (endpoint, fault) in args.faults {
        tracing::info!(%endpoint, ?fault, "injecting a fault");
        sim.inject(&endpoint, fault);
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} ({e})", args.listen))?;
    tracing::info!(
        "WeChat simulator listening on http://{}/cgi-bin/",
        listener.local_addr()?
    );
    tokio::select! {
        r = crate::simulator::serve(listener, sim) => r?,
        () = shutdown_signal() => tracing::info!("stopped"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
