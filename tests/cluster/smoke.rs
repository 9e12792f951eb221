//! The harness itself, with what the app can do today: each instance still has a SQLite file
//! of its own (PostgreSQL for the app is on its way), so these tests look at the processes,
//! the balancer and the database server, not at state shared between instances.

use std::{net::TcpStream, os::unix::process::ExitStatusExt, path::Path};

use wxgroups::{
    simulator::{SimConfig, Simulator, spawn_local},
    store::Role,
};

use crate::harness::{
    Balancer, Browser, Env, Instance, PgServer, Scratch, Tool, add_operator, http_client, lacks,
};

const APPID: &str = "wxcluster0000001";
const SECRET: &str = "cluster-secret-do-not-leak";
const PASSWORD: &str = "correct horse battery staple";

/// The in-process simulator, and the settings of an instance pointed at it.
async fn simulated_account() -> (Simulator, Env) {
    let sim = Simulator::new(SimConfig {
        appid: APPID.into(),
        secret: SECRET.into(),
        followers: 50,
        ..SimConfig::default()
    });
    let url = spawn_local(&sim).await.expect("the simulator listens");
    (sim, Env::new().account(APPID, SECRET, &url))
}

/// Three ready instances, each with its SQLite file in `dbs`, and nginx in front of them.
struct Trio {
    sim: Simulator,
    instances: Vec<Instance>,
    balancer: Balancer,
    _dbs: Scratch,
}

impl Trio {
    async fn start() -> Trio {
        let (sim, env) = simulated_account().await;
        let dbs = Scratch::new("dbs");
        let mut instances: Vec<Instance> = (1..=3)
            .map(|n| {
                let db = format!("sqlite://{}/i{n}.db", dbs.path().display());
                Instance::start(&format!("i{n}"), &env.clone().database(db))
            })
            .collect();
        // Started together above; the waits overlap with the other processes' start-up.
        for instance in &mut instances {
            instance.wait_ready().await;
        }
        let balancer = Balancer::start([0, 1, 2].map(|i| instances[i].addr()));
        Trio {
            sim,
            instances,
            balancer,
            _dbs: dbs,
        }
    }

    /// Sends `n` GET /readyz through nginx; each must be a 200. Answers each one's
    /// `X-Upstream`: the addresses nginx tried, the one that answered last.
    async fn readyz_through_nginx(&self, n: usize) -> Vec<Vec<String>> {
        let http = http_client(None);
        let mut tried = Vec::new();
        for _ in 0..n {
            let r = http
                .get(self.balancer.url("/readyz"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("nginx answers: {e}"));
            let status = r.status();
            let upstream = r
                .headers()
                .get("x-upstream")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = r.text().await.unwrap_or_default();
            assert_eq!(
                (status.as_u16(), body.as_str()),
                (200, "ready\n"),
                "through nginx (upstream {upstream:?}); nginx says:\n{}",
                self.balancer.error_log_tail(10)
            );
            tried.push(upstream.split(", ").map(str::to_owned).collect());
        }
        tried
    }
}

/// How many of `tried` were answered (last tried) by `instance`.
fn answered_by(tried: &[Vec<String>], instance: &Instance) -> usize {
    let addr = instance.addr().to_string();
    tried.iter().filter(|t| t.last() == Some(&addr)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_postgres_starts_stops_and_starts_again() {
    if lacks(Tool::Postgres) {
        return;
    }
    let pg = PgServer::start();
    pg.create_database("smoke").await;
    let mut db = pg.connect("smoke").await.expect("the server accepts us");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(one, 1);
    sqlx::query("CREATE TABLE kept (word text)")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES ('still here')")
        .execute(&mut db)
        .await
        .unwrap();
    drop(db);

    pg.stop();
    assert!(
        pg.connect("smoke").await.is_err(),
        "a stopped server refuses connections"
    );

    pg.start_again();
    assert_eq!(kept_word(&pg).await, "still here");

    // A restart, as a failover test will do it: the same port, the same data.
    pg.restart();
    assert_eq!(kept_word(&pg).await, "still here");
}

/// What the smoke test wrote in its table before stopping the server.
async fn kept_word(pg: &PgServer) -> String {
    let mut db = pg.connect("smoke").await.expect("the server is back");
    sqlx::query_scalar("SELECT word FROM kept")
        .fetch_one(&mut db)
        .await
        .expect("the table and its row survived")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_take_turns() {
    if lacks(Tool::Nginx) {
        return;
    }
    let trio = Trio::start().await;
    let tokens = trio.sim.calls("/cgi-bin/stable_token");
    assert!(
        tokens >= trio.instances.len() as u64,
        "each instance fetched its own access_token from the one simulator: {tokens} fetches"
    );
    let before = served_readyz(&trio.instances).await;

    let tried = trio.readyz_through_nginx(30).await;

    // nginx says who answered each request, and each instance counts what it answered:
    // the two agree, and every instance had its turn.
    let after = served_readyz(&trio.instances).await;
    for (i, instance) in trio.instances.iter().enumerate() {
        let by_nginx = answered_by(&tried, instance);
        assert!(
            by_nginx >= 1,
            "{} served none of {tried:?}",
            instance.name()
        );
        assert_eq!(
            (after[i] - before[i]) as usize,
            by_nginx,
            "{}'s own count of /readyz against nginx's X-Upstream",
            instance.name()
        );
    }
    assert!(
        tried.iter().all(|t| t.len() == 1),
        "no instance failed, so nginx never had to try a second one: {tried:?}"
    );
}

/// Each instance's own count of the /readyz requests it has answered.
async fn served_readyz(instances: &[Instance]) -> Vec<u64> {
    let mut counts = Vec::new();
    for instance in instances {
        counts.push(instance.served("/readyz").await);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_instance_killed_by_sigkill_nginx_answers_from_the_other_two() {
    if lacks(Tool::Nginx) {
        return;
    }
    let mut trio = Trio::start().await;
    // Warm: nginx holds idle keep-alive connections to all three, as in production.
    trio.readyz_through_nginx(6).await;

    let mut dead = trio.instances.remove(1);
    let (dead_addr, dead_pid) = (dead.addr(), dead.pid());
    let status = dead.kill9();
    assert_eq!(status.signal(), Some(9), "{} died of SIGKILL", dead.name());
    assert!(
        !Path::new(&format!("/proc/{dead_pid}")).exists(),
        "the process is gone (reaped, not a zombie)"
    );
    assert!(
        TcpStream::connect(dead_addr).is_err(),
        "nothing listens on its port any more"
    );

    let tried = trio.readyz_through_nginx(30).await;

    let dead_addr = dead_addr.to_string();
    assert!(
        tried.iter().all(|t| t.last() != Some(&dead_addr)),
        "the dead instance answered nothing: {tried:?}"
    );
    assert!(
        tried.iter().any(|t| t.len() > 1 && t[0] == dead_addr),
        "nginx tried the dead instance and passed the request on (passive check): {tried:?}"
    );
    for instance in &trio.instances {
        assert!(
            answered_by(&tried, instance) >= 1,
            "{} served none of {tried:?}",
            instance.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_added_from_the_command_line_signs_in_to_an_instance() {
    let (sim, env) = simulated_account().await;
    let dbs = Scratch::new("dbs");
    let env = env.database(format!("sqlite://{}/one.db", dbs.path().display()));
    add_operator(&env, "lead", Role::Admin, PASSWORD);
    let mut instance = Instance::start("one", &env);
    instance.wait_ready().await;

    let browser = Browser::new(instance.url(""));
    let signed_in = browser.sign_in("lead", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        303,
        "{}
{}",
        signed_in.body,
        instance.log_tail(20)
    );
    // Without a session this would be a 303 to the sign-in page.
    let groups = browser.get("/groups").await;
    assert_eq!(groups.status, 200, "{}", groups.body);
    assert!(
        sim.calls("/cgi-bin/groups/get") >= 1,
        "the groups page came from the simulator"
    );
}
