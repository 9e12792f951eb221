//! The harness itself, with what the app can do today: each instance still has a SQLite file
//! of its own (PostgreSQL for the app is on its way), so these tests look at the processes,
//! the balancer and the database server, not at state shared between instances.

use wxgroups::{
    simulator::{SimConfig, Simulator, spawn_local},
    store::Role,
};

use crate::harness::{Browser, Env, Instance, PgServer, Scratch, Tool, add_operator, lacks};

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
