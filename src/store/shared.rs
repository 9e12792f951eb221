//! What several instances on one PostgreSQL coordinate through: a lock held across the
//! deployment while one of them does something that must happen once.
//!
//! On SQLite there is one process per database, and its own locks (the group list's mutex,
//! the token's) already make these things happen once: there the lock is no lock.

use std::future::Future;

use sqlx::Connection;

use super::{Engine, Store, StoreError};

impl Store {
    /// Runs `work` while holding the deployment-wide lock `name` (a PostgreSQL advisory lock),
    /// so that of several instances asking at once, one works and the others wait for it.
    ///
    /// The lock lives on a connection of its own, closed afterwards: if `work` is abandoned
    /// (the request was dropped), closing the connection is what frees the lock, and no
    /// pooled connection is ever handed back still holding one.
    pub async fn exclusively<F: Future>(
        &self,
        name: &str,
        work: F,
    ) -> Result<F::Output, StoreError> {
        let Engine::Postgres(pool) = &self.engine else {
            return Ok(work.await);
        };
        let mut conn = pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
            .bind(name)
            .execute(&mut conn)
            .await?;
        let out = work.await;
        // Closing frees the lock; a failure to say goodbye frees it just the same.
        let _ = conn.close().await;
        Ok(out)
    }
}

impl Store {
    /// Takes (or renews) the lease `name` for `holder` until `ttl` from now, if nobody else
    /// holds it: it is free, expired, or already `holder`'s. Answers whether `holder` has it.
    ///
    /// Times are the instances' clocks (µs since the epoch): a skew between machines shortens
    /// or lengthens a lease by as much, which the lease time must dwarf (seconds against the
    /// milliseconds NTP keeps clocks within).
    ///
    /// On SQLite, the one process is the only holder there can be: it always has the lease.
    pub async fn lease_take(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        if !self.engine.is_shared() {
            return Ok(true);
        }
        let now = super::now_us();
        let until = now + i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2);
        let got: Option<(String,)> = sqlx::query_as(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(got.is_some())
    }

    /// Gives the lease up (a clean stop), so that another instance need not wait it out.
    pub async fn lease_release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        if self.engine.is_shared() {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Who holds the lease `name` now, if anyone (for the status page and tests).
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        if !self.engine.is_shared() {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at >= $2")
                .bind(name)
                .bind(super::now_us())
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// The group (or tag) list as an instance last fetched or patched it, for the others.
#[derive(Debug, Clone)]
pub struct StoredList {
    /// Bumped by every fetch and every patch.
    pub version: i64,
    /// When it was fetched from WeChat (µs since the epoch): its age decides the next fetch.
    pub fetched_at: i64,
    /// The list, as the group cache writes it (JSON).
    pub body: String,
}

/// The channel every instance listens on (PostgreSQL only).
pub const CHANNEL: &str = "wxgroups";

type ListTuple = (i64, i64, String);

impl Store {
    /// The account's stored list of `api` (`groups`, `tags`), if any instance stored one.
    pub async fn list_stored(&self, api: &str) -> Result<Option<StoredList>, StoreError> {
        let row: Option<ListTuple> = sqlx::query_as(
            "SELECT version, fetched_at, body FROM list_snapshots WHERE account = $1 AND api = $2",
        )
        .bind(self.account())
        .bind(api)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(version, fetched_at, body)| StoredList {
            version,
            fetched_at,
            body,
        }))
    }

    /// Stores a list just fetched from WeChat and tells the other instances.
    pub async fn list_store(
        &self,
        api: &str,
        fetched_at: i64,
        body: &str,
    ) -> Result<StoredList, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO list_snapshots (account, api, version, fetched_at, body)
             VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (account, api) DO UPDATE SET version = list_snapshots.version + 1,
                 fetched_at = excluded.fetched_at, body = excluded.body
             RETURNING version",
        )
        .bind(self.account())
        .bind(api)
        .bind(fetched_at)
        .bind(body)
        .fetch_one(&mut *tx)
        .await?;
        announce(&mut tx, &format!("list {} {version}", self.account())).await?;
        tx.commit().await?;
        Ok(StoredList {
            version,
            fetched_at,
            body: body.to_owned(),
        })
    }

    /// Changes the stored list with `change` (one of this instance's writes that WeChat
    /// accepted), one instance at a time (the row is locked), and tells the others. Nothing is
    /// stored yet: nothing to change (the next fetch has it).
    pub async fn list_patch(
        &self,
        api: &str,
        change: impl FnOnce(&str) -> Option<String>,
    ) -> Result<Option<StoredList>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<ListTuple> = sqlx::query_as(
            "SELECT version, fetched_at, body FROM list_snapshots
             WHERE account = $1 AND api = $2 FOR UPDATE",
        )
        .bind(self.account())
        .bind(api)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((version, fetched_at, body)) = row else {
            return Ok(None);
        };
        let Some(body) = change(&body) else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE list_snapshots SET version = $1, body = $2 WHERE account = $3 AND api = $4",
        )
        .bind(version + 1)
        .bind(&body)
        .bind(self.account())
        .bind(api)
        .execute(&mut *tx)
        .await?;
        announce(&mut tx, &format!("list {} {}", self.account(), version + 1)).await?;
        tx.commit().await?;
        Ok(Some(StoredList {
            version: version + 1,
            fetched_at,
            body,
        }))
    }

    /// Tells the other instances `what` (e.g. `jobs shop`: a job was queued), if there are any.
    pub async fn announce(&self, what: &str) -> Result<(), StoreError> {
        if self.engine.is_shared() {
            let mut conn = self.pool.acquire().await?;
            announce(&mut conn, what).await?;
        }
        Ok(())
    }
}

/// A notification on [`CHANNEL`], sent when the transaction commits.
async fn announce(conn: &mut sqlx::AnyConnection, what: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(what)
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// The account's shared access_token as stored: sealed, with its fingerprint and when to
    /// stop using it (µs since the epoch).
    pub async fn token_stored(&self) -> Result<Option<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT sealed, fingerprint, refresh_at FROM access_tokens WHERE account = $1",
        )
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Shares a token: `sealed` (never the token in clear), its `fingerprint` (to tell which
    /// token a refusal was about) and when to stop using it.
    pub async fn token_store(
        &self,
        sealed: &str,
        fingerprint: &str,
        refresh_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_tokens (account, sealed, fingerprint, refresh_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (account) DO UPDATE SET sealed = excluded.sealed,
                 fingerprint = excluded.fingerprint, refresh_at = excluded.refresh_at",
        )
        .bind(self.account())
        .bind(sealed)
        .bind(fingerprint)
        .bind(refresh_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the shared token if it is still the one with `fingerprint`.
    pub async fn token_discard(&self, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM access_tokens WHERE account = $1 AND fingerprint = $2")
            .bind(self.account())
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
