//! Which database engine the store talks to, and opening it.
//!
//! `sqlite:` (the default) is one file owned by one process; `postgres:` is a server that
//! several instances of wxgroups share. The store's queries are the same for both (through
//! sqlx's `Any` driver); each engine has its own migrations, and the concrete pool is kept for
//! what only that engine's driver offers (the session store, PostgreSQL's LISTEN/NOTIFY).

use std::{str::FromStr, time::Duration};

use sqlx::{
    AnyPool, PgPool, SqlitePool,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::MigrateDatabase,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// The database through its own driver.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A storage failure, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database URL {0:?} is neither a SQLite URL such as sqlite://wxgroups.db nor a \
         PostgreSQL URL such as postgres://wxgroups@db.example.com/wxgroups"
    )]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Open(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A worker found that its instance no longer holds the lease of its work (renewals
    /// failed for too long): another instance carries on, and this one stops before its
    /// next call to WeChat.
    #[error("this instance no longer holds the lease {0:?}; another instance carries on")]
    LeaseLost(String),
}

impl StoreError {
    /// The database could not be reached (down, restarting, the network): nothing about the
    /// request was wrong, and the same request later may well succeed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Open(e) | StoreError::Query(e) => unavailable(e),
            StoreError::Migrate(_) | StoreError::BadUrl(_) | StoreError::LeaseLost(_) => false,
        }
    }
}

fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        // A server shutting down or starting answers with these SQLSTATEs (class 57, 08).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57") || c.starts_with("08")),
        _ => false,
    }
}

impl Engine {
    /// Whether several processes may share this database (so nothing may assume it is the
    /// only one: settling leftovers, caches, the job worker).
    pub fn is_shared(&self) -> bool {
        matches!(self, Engine::Postgres(_))
    }

    pub fn postgres(&self) -> Option<&PgPool> {
        match self {
            Engine::Postgres(pool) => Some(pool),
            Engine::Sqlite(_) => None,
        }
    }
}

/// `url` as it may be shown: a PostgreSQL URL can carry a password (`postgres://u:pw@host/db`),
/// which no message or log line may repeat.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:…@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// How long a request waits for a connection before the page says the database is unavailable
/// (rather than hanging while PostgreSQL restarts).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens and migrates the database at `url`.
pub(super) async fn open(url: &str) -> Result<(AnyPool, Engine), StoreError> {
    sqlx::any::install_default_drivers();
    let bad = || StoreError::BadUrl(redacted(url));
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url).map_err(|_| bad())?;
        let any = AnyConnectOptions::from_str(url).map_err(|_| bad())?;
        open_sqlite(url, options, any).await
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url).map_err(|_| bad())?;
        let any = AnyConnectOptions::from_str(url).map_err(|_| bad())?;
        open_postgres(url, options, any).await
    } else {
        Err(bad())
    }
}

async fn open_sqlite(
    url: &str,
    options: SqliteConnectOptions,
    any: AnyConnectOptions,
) -> Result<(AnyPool, Engine), StoreError> {
    let options = options
        .create_if_missing(true)
        // WAL lets the audit page read while a change is written; NORMAL is durable
        // across a process crash, which is the failure the audit log must survive.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    // The concrete pool first: it creates the file, and only it sets these options (the Any
    // driver reads just the URL), so its connections' settings are repeated below.
    let sessions = sqlite_pool(in_memory)
        .connect_with(options)
        .await
        .map_err(StoreError::Open)?;
    let pool = AnyPoolOptions::new()
        .max_connections(if in_memory { 1 } else { 8 })
        .min_connections(if in_memory { 1 } else { 0 })
        .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
        .max_lifetime((!in_memory).then_some(Duration::from_secs(3600)))
        .after_connect(|conn, _| {
            Box::pin(async move {
                use sqlx::Executor;
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(any)
        .await
        .map_err(StoreError::Open)?;
    sqlx::migrate!("src/store/migrations").run(&pool).await?;
    Ok((pool, Engine::Sqlite(sessions)))
}

/// An in-memory database exists per connection: keep exactly one.
fn sqlite_pool(in_memory: bool) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(if in_memory { 1 } else { 4 })
        .min_connections(if in_memory { 1 } else { 0 })
        .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
        .max_lifetime((!in_memory).then_some(Duration::from_secs(3600)))
}

async fn open_postgres(
    url: &str,
    options: PgConnectOptions,
    any: AnyConnectOptions,
) -> Result<(AnyPool, Engine), StoreError> {
    // Created like the SQLite file, so that a fresh server needs nothing but the URL (a user
    // without CREATEDB on a managed server creates it beforehand; then this only checks).
    if !sqlx::Postgres::database_exists(url)
        .await
        .map_err(StoreError::Open)?
    {
        // Two instances starting at once may both try: the loser finds it made.
        if let Err(e) = sqlx::Postgres::create_database(url).await
            && !sqlx::Postgres::database_exists(url).await.unwrap_or(false)
        {
            return Err(StoreError::Open(e));
        }
    }
    let shared = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(StoreError::Open)?;
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx prepares and keeps every statement, and after five runs PostgreSQL may keep a
        // generic plan made while a table was nearly empty: a batch job's follower lookups
        // (50 OpenIDs at a time into a table that grows by 50 a chunk) then went from 1 ms to
        // 250 ms, a sequential scan each. A plan made for each run's values costs a
        // millisecond and follows the table as it grows.
        .after_connect(|conn, _| {
            Box::pin(async move {
                use sqlx::Executor;
                conn.execute("SET plan_cache_mode = force_custom_plan")
                    .await?;
                Ok(())
            })
        })
        .idle_timeout(Some(Duration::from_secs(600)))
        .max_lifetime(Some(Duration::from_secs(1800)))
        .connect_with(any)
        .await
        .map_err(StoreError::Open)?;
    sqlx::migrate!("src/store/pg_migrations").run(&pool).await?;
    Ok((pool, Engine::Postgres(shared)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Any driver reads only the URL: the settings SQLite's own options would set are
    /// applied to each of its connections by hand, and must be there.
    #[tokio::test]
    async fn every_sqlite_connection_has_the_settings_the_store_relies_on() {
        let dir = std::env::temp_dir().join(format!("wxgroups-engine-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("settings.db").display());
        let (pool, _) = open(&url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let pragma = |name: &'static str| sqlx::query_scalar::<_, i64>(name);
        assert_eq!(
            pragma("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap(),
            1,
            "NORMAL"
        );
        assert_eq!(
            pragma("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            pragma("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap(),
            5000
        );
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_password_in_a_database_url_is_never_repeated() {
        assert_eq!(
            redacted("postgres://wx:s3cret@db.internal:5432/wx"),
            "postgres://wx:…@db.internal:5432/wx"
        );
        assert_eq!(redacted("sqlite://wxgroups.db"), "sqlite://wxgroups.db");
        assert_eq!(redacted("postgres://wx@db/wx"), "postgres://wx:…@db/wx");
    }

    #[tokio::test]
    async fn a_url_of_another_engine_is_refused_naming_the_two_it_could_be() {
        let e = open("mysql://wx:s3cret@db/wx")
            .await
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
        for bad in ["mysql://db/wx", "wxgroups.db", "postgres://[::1"] {
            let e = open(bad).await.unwrap_err().to_string();
            assert!(
                e.contains("sqlite://") && e.contains("postgres://"),
                "{bad}: {e}"
            );
        }
    }

    #[tokio::test]
    async fn postgres_connections_plan_each_run_for_its_values() {
        if !crate::store::testing::postgres() {
            return;
        }
        let (pool, _) = open(&crate::store::testing::database_url()).await.unwrap();
        let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(mode, "force_custom_plan");
    }
}
