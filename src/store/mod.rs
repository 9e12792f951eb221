//! Storage: one SQLite database (created and migrated on start) behind plain async functions.
//!
//! Handlers never write SQL; they call these functions. Adding PostgreSQL means a second
//! implementation of this module's queries, not a change to any handler.
//!
//! ## Accounts
//! One database serves every Official Account of the deployment. A [`Store`] is a handle scoped
//! to one account ([`Store::account`]): everything it reads or writes of the per-account data
//! (followers and their tags, syncs, jobs with their chunks and items, audit rows, quota counts)
//! is that account's, and another account's row is, through it, as if it did not exist: a job id,
//! a sync id or an OpenID of account A asked through B's handle answers nothing. So a handler
//! that holds the right handle cannot reach another account's data, and needs no account
//! argument. [`Store::for_account`] makes a handle for another account on the same pool.
//!
//! Deployment-wide: operators and their grants (one sign-in for every account), plain forms'
//! one-time ids, the sessions table, and the few calls that say so (settling what a stopped
//! process left at start, [`Store::job_accounts`], [`Store::jobs_orphaned`]).

mod audit;
mod follower_tags;
mod followers;
mod forms;
mod jobs;
mod operators;
mod quota;
#[cfg(test)]
mod tests;

use std::{str::FromStr, sync::Arc};

use sqlx::{
    QueryBuilder, Sqlite, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use audit::{AuditEntry, AuditFilter, AuditRow, Outcome};
pub use followers::{FollowerRow, SeenFollower, SyncRow};
pub use forms::FormClaim;
pub use jobs::{
    BLACKLIST_CHUNK, CHUNK, CancelResult, ChunkDone, ChunkRow, CopyGroup, Describe, Effect,
    ItemOutcome, ItemRow, JobAction, JobPlan, JobRow, JobState, NewJob,
};
pub use operators::{OperatorRecord, Role, now_us};

/// The account key of a single-account deployment's account (its environment settings make
/// one account), and of every row stored before there were accounts.
pub const DEFAULT_ACCOUNT: &str = crate::domain::AccountKey::DEFAULT;

/// The database handle, scoped to one account: cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Operators recently read for a request (see `operator_by_id_cached`): shared by every
    /// account's handle, as operators are.
    operators: Arc<operators::OperatorCache>,
    /// The account whose rows this handle reads and writes.
    account: Arc<str>,
}

/// A storage failure, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL {0:?} is not a SQLite URL such as sqlite://wxgroups.db")]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Open(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

impl Store {
    /// Opens (creating it if needed) and migrates the database at `url`; answers a handle for
    /// the account [`DEFAULT_ACCOUNT`]. What a stopped process left unfinished is settled for
    /// every account.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::BadUrl(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::BadUrl(url.to_owned()))?
            .create_if_missing(true)
            // WAL lets the audit page read while a change is written; NORMAL is durable
            // across a process crash, which is the failure the audit log must survive.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(std::time::Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(std::time::Duration::from_secs(3600))
            })
            .connect_with(options)
            .await
            .map_err(StoreError::Open)?;
        sqlx::migrate!("src/store/migrations").run(&pool).await?;
        let store = Store {
            pool,
            operators: Default::default(),
            account: Arc::from(DEFAULT_ACCOUNT),
        };
        store.settle_interrupted().await?;
        Ok(store)
    }

    /// A handle on the same database (and the same operator cache) for the account `key`.
    /// The key is not checked here: the accounts come from the configuration.
    pub fn for_account(&self, key: &str) -> Store {
        Store {
            pool: self.pool.clone(),
            operators: self.operators.clone(),
            account: Arc::from(key),
        }
    }

    /// The account this handle reads and writes.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The pool, for the session store (which keeps its own table in the same file).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether the database answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Appends ` AND openid IN (…)` with `openids` bound: the one way the store lists OpenIDs.
pub(crate) fn and_openid_in<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    openids: impl IntoIterator<Item = &'a str>,
) {
    q.push(" AND openid IN (");
    let mut sep = q.separated(", ");
    for o in openids {
        sep.push_bind(o);
    }
    q.push(")");
}
