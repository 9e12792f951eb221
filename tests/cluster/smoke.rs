//! The harness itself, with what the app can do today: each instance still has a SQLite file
//! of its own (PostgreSQL for the app is on its way), so these tests look at the processes,
//! the balancer and the database server, not at state shared between instances.

use crate::harness::{PgServer, Tool, lacks};

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
