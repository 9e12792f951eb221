//! Storage: one database, SQLite (the default: one file, one process) or PostgreSQL (several
//! instances of wxgroups on one server), created and migrated on start, behind plain async
//! functions. Handlers never write SQL and do not know which engine answers.
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
mod engine;
mod follower_tags;
mod followers;
mod forms;
mod jobs;
mod operators;
mod quota;
mod shared;
mod sql;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use sqlx::AnyPool;

pub use audit::{AuditEntry, AuditFilter, AuditRow, Outcome, SETTLE_PENDING_AFTER};
pub use engine::{Engine, StoreError, redacted};
pub use followers::{FollowerRow, SeenFollower, SyncRow};
pub use forms::FormClaim;
pub use jobs::{
    BLACKLIST_CHUNK, CHUNK, CancelResult, ChunkDone, ChunkRow, CopyGroup, Describe, Effect,
    ItemOutcome, ItemRow, JobAction, JobPlan, JobRow, JobState, NewJob,
};
pub use operators::{OperatorRecord, Role, now_us};
pub use shared::{CHANNEL, StoredList};
pub(crate) use sql::QueryBuilder;

/// The account key of a single-account deployment's account (its environment settings make
/// one account), and of every row stored before there were accounts.
pub const DEFAULT_ACCOUNT: &str = crate::domain::AccountKey::DEFAULT;

/// The database handle, scoped to one account: cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Every query of the store goes through sqlx's `Any` driver, so one text serves both
    /// engines (each has its own migrations; the queries keep to what both understand).
    pool: AnyPool,
    /// The same database through its own driver: the session store, and PostgreSQL's
    /// notifications and advisory locks, need the concrete type.
    engine: Engine,
    /// Operators recently read for a request (see `operator_by_id_cached`): shared by every
    /// account's handle, as operators are.
    operators: Arc<operators::OperatorCache>,
    /// The account whose rows this handle reads and writes.
    account: Arc<str>,
}

impl Store {
    /// Opens (creating it if needed) and migrates the database at `url` (`sqlite:` or
    /// `postgres:`); answers a handle for the account [`DEFAULT_ACCOUNT`].
    ///
    /// What a stopped process left unfinished is settled here, for every account (on
    /// PostgreSQL, shared by several instances, only what no live instance can still be doing:
    /// see `settle_interrupted`; jobs and syncs are resumed by whoever holds their lease).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let (pool, engine) = engine::open(url).await?;
        let store = Store {
            pool,
            engine,
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
            engine: self.engine.clone(),
            operators: self.operators.clone(),
            account: Arc::from(key),
        }
    }

    /// The account this handle reads and writes.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The pool the store's queries use (tests read tables through it directly).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The database through its own driver (sessions, notifications, locks).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A transaction that reads and then writes, and must not interleave with another such:
    /// SQLite's `BEGIN IMMEDIATE` (it takes the one write lock first, instead of failing when a
    /// read turns into a write); on PostgreSQL, where several instances write at once, the
    /// same single-writer rule through a transaction-scoped advisory lock.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        if self.engine.is_shared() {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('wxgroups-write'))")
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        } else {
            Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
        }
    }

    /// Whether the database answers (for readiness checks): within a second, so that a load
    /// balancer's probe (often given one or two) hears "not ready" rather than nothing while
    /// a page would still wait its three seconds for a connection.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let ping = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(std::time::Duration::from_secs(1), ping).await {
            Ok(answer) => answer.map(|_| ()).map_err(StoreError::from),
            Err(_) => Err(StoreError::Query(sqlx::Error::PoolTimedOut)),
        }
    }
}

/// Appends ` AND openid IN (…)` with `openids` bound: the one way the store lists OpenIDs.
pub(crate) fn and_openid_in<'a>(
    q: &mut QueryBuilder<'a>,
    openids: impl IntoIterator<Item = &'a str>,
) {
    q.push(" AND openid IN (");
    let mut sep = q.separated(", ");
    for o in openids {
        sep.push_bind(o);
    }
    q.push(")");
}
