//! An in-memory copy of the session table in front of the database, so that a page view does
//! not read its session from it.
//!
//! tower-sessions' [`CachingSessionStore`] puts the cache in front: loads try the cache first
//! and fill it on a miss; create, save and delete go to the database *and* the cache
//! (write-through), so sign-in (a new id), sign-out and "disabled / password changed" (both
//! delete the session) are seen by this process's very next request. The database stays the
//! record: a restart, or an entry evicted here, just means one more read from it.
//!
//! Several instances on one PostgreSQL share the table, and a sign-out through one must end
//! the session on all: so an entry is served for at most [`SessionCache::FRESH`] after it was
//! read or written, then read again (one query per second per busy session, not per request).
//!
//! The cache is bounded ([`SessionCache::CAPACITY`] entries) and an entry past its expiry is
//! never served.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::{
    CachingSessionStore, ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The session store the app uses: this cache in front of the database's table.
pub type Sessions = CachingSessionStore<SessionCache, DbSessions>;

/// Wraps the database's store with a fresh cache.
pub fn cached(store: DbSessions) -> Sessions {
    CachingSessionStore::new(SessionCache::default(), store)
}

/// tower-sessions' store for the engine the deployment uses.
#[derive(Debug, Clone)]
pub enum DbSessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl DbSessions {
    /// Creates the table if needed.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self {
            DbSessions::Sqlite(s) => s.migrate().await,
            DbSessions::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for DbSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DbSessions::Sqlite(s) => s.create(record).await,
            DbSessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DbSessions::Sqlite(s) => s.save(record).await,
            DbSessions::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbSessions::Sqlite(s) => s.load(id).await,
            DbSessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbSessions::Sqlite(s) => s.delete(id).await,
            DbSessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbSessions::Sqlite(s) => s.delete_expired().await,
            DbSessions::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// A bounded map of session records with the time each was cached, shared by clones.
#[derive(Debug, Clone, Default)]
pub struct SessionCache {
    records: std::sync::Arc<Mutex<HashMap<Id, (Instant, Record)>>>,
}

impl SessionCache {
    /// Far more than the operators of one account; each entry is a few hundred bytes.
    pub const CAPACITY: usize = 10_000;

    /// How long an entry is served before the database is asked again: how late another
    /// instance's sign-out can be seen here.
    pub const FRESH: Duration = Duration::from_secs(1);

    fn records(&self) -> MutexGuard<'_, HashMap<Id, (Instant, Record)>> {
        // Nothing here can panic while holding the lock; a poisoned map is still a valid map.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, record: &Record) {
        let mut records = self.records();
        if records.len() >= Self::CAPACITY && !records.contains_key(&record.id) {
            let now = OffsetDateTime::now_utc();
            records.retain(|_, (_, r)| r.expiry_date > now);
            if records.len() >= Self::CAPACITY {
                // Still full of live sessions (a flood of anonymous visitors): start over.
                // Dropping entries is always safe, the database has them all.
                records.clear();
            }
        }
        records.insert(record.id, (Instant::now(), record.clone()));
    }

    /// How many records are held (for tests).
    pub fn len(&self) -> usize {
        self.records().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for SessionCache {
    /// The id was already made unique by the database (the caching store creates there first), so it
    /// is kept as it is.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.put(record);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.put(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut records = self.records();
        match records.get(id) {
            Some((at, r))
                if r.expiry_date > OffsetDateTime::now_utc() && at.elapsed() < Self::FRESH =>
            {
                Ok(Some(r.clone()))
            }
            Some(_) => {
                records.remove(id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.records().remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_in: time::Duration) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    #[tokio::test]
    async fn serves_live_records_and_forgets_deleted_ones() {
        let cache = SessionCache::default();
        let mut r = record(time::Duration::minutes(5));
        let id = r.id;
        cache.create(&mut r).await.unwrap();
        assert_eq!(r.id, id, "the id the database chose is kept");
        assert!(cache.load(&id).await.unwrap().is_some());
        cache.delete(&id).await.unwrap();
        assert!(cache.load(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn never_serves_an_expired_record() {
        let cache = SessionCache::default();
        let r = record(time::Duration::seconds(-1));
        cache.save(&r).await.unwrap();
        assert!(cache.load(&r.id).await.unwrap().is_none());
        assert!(cache.is_empty(), "and drops it");
    }

    #[tokio::test]
    async fn stays_bounded() {
        let cache = SessionCache::default();
        for _ in 0..SessionCache::CAPACITY + 10 {
            cache
                .save(&record(time::Duration::minutes(5)))
                .await
                .unwrap();
        }
        assert!(cache.len() <= SessionCache::CAPACITY);
    }
}
