//! Databases for tests, on the engine the test run asks for.
//!
//! `WXGROUPS_TEST_STORE=postgres` runs every test against PostgreSQL (the server at
//! `WXGROUPS_TEST_POSTGRES`, by default `postgres://postgres@127.0.0.1:5432`): each test gets a
//! database of its own, named for the test process, which the store creates on connect. A run
//! drops the databases that runs before it left (their process is gone): a test process has no
//! moment after its last test to drop its own. Without it, SQLite: in memory, or a file.

use std::{path::Path, sync::Once};

/// The engine the tests run on.
pub fn postgres() -> bool {
    std::env::var("WXGROUPS_TEST_STORE").is_ok_and(|v| v == "postgres")
}

fn server() -> String {
    std::env::var("WXGROUPS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

const PREFIX: &str = "wxgroups_test_";

/// A new, empty PostgreSQL database's URL (created on first connect).
fn fresh_postgres() -> String {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(sweep);
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}/{PREFIX}{}_{n}", server(), std::process::id())
}

/// A database that lives as long as the store that opens it: SQLite in memory, else a fresh
/// PostgreSQL database.
pub fn database_url() -> String {
    if postgres() {
        fresh_postgres()
    } else {
        "sqlite::memory:".into()
    }
}

/// A database that outlives its store, for tests that stop and start the app on it: a SQLite
/// file in `dir`, else a fresh PostgreSQL database.
pub fn database_url_in(dir: &Path) -> String {
    if postgres() {
        fresh_postgres()
    } else {
        format!("sqlite://{}", dir.join("wxgroups.db").display())
    }
}

/// Drops the test databases of processes that have ended.
fn sweep() {
    let url = format!("{}/postgres", server());
    // Its own thread and runtime: this may be called from inside a test's runtime.
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
            let names: Vec<String> =
                sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1")
                    .bind(format!("{PREFIX}%"))
                    .fetch_all(&mut conn)
                    .await
                    .ok()?;
            for name in names {
                let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(&drop).execute(&mut conn).await;
                }
            }
            Some(())
        })
    });
    let _ = done.join();
}
