//! One writer per account across the deployment: a worker works while its instance holds the
//! account's lease, and another instance takes over when it runs out.
//!
//! The lease is a row (`Store::lease_take`) renewed every third of its lifetime. A worker asks
//! [`Lease::held`] before each call it is about to make to WeChat: held means renewed recently
//! enough that nobody else can have taken it, counted from when the renewal was *sent* (so a
//! slow answer only makes the holder more careful). An instance killed with `kill -9` stops
//! renewing; its lease runs out after its lifetime and the next instance that asks takes it,
//! with the work where the database says it was.
//!
//! Why not a PostgreSQL job-queue crate (apalis-postgres, underway): their unit is a task that
//! is retried whole when its worker dies. A batch job here is hundreds of chunks, each marked
//! `sending` before its call and checked against WeChat after a crash instead of being sent
//! again; what must move between instances is the right to continue that job, which a lease
//! says exactly, with the crash checks the single-instance worker already has.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

use crate::store::{Store, StoreError};

pub struct Lease {
    store: Store,
    name: String,
    holder: Arc<str>,
    ttl: Duration,
    /// Until when it is certainly ours (a margin before it runs out at the database).
    until: Mutex<Option<Instant>>,
}

impl Lease {
    pub fn new(store: Store, name: String, holder: Arc<str>, ttl: Duration) -> Lease {
        Lease {
            store,
            name,
            holder,
            ttl,
            until: Mutex::new(None),
        }
    }

    /// This instance's name, as the lease table has it.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Which instance holds the lease now, if any (this one or another).
    pub async fn current_holder(&self) -> Result<Option<String>, StoreError> {
        self.store.lease_holder(&self.name).await
    }

    /// Whether this instance holds the lease now (and will for a while).
    pub fn held(&self) -> bool {
        self.lock().is_some_and(|until| Instant::now() < until)
    }

    /// Tries once to take or renew it; answers whether it is held.
    pub async fn try_take(&self) -> Result<bool, StoreError> {
        let asked = Instant::now();
        let got = self
            .store
            .lease_take(&self.name, &self.holder, self.ttl)
            .await?;
        // Ours for its lifetime from when we asked, less a third for what a late worker
        // still does after looking (one call to WeChat).
        *self.lock() = got.then(|| asked + self.ttl * 2 / 3);
        Ok(got)
    }

    /// Waits until this instance holds the lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_take().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(lease = %self.name, error = %e, "cannot take the lease"),
            }
            tokio::time::sleep(self.ttl / 3).await;
        }
    }

    /// Renews the lease every third of its lifetime while held, for as long as the process
    /// runs; a renewal that fails (the database is down) leaves it to run out.
    pub async fn keep(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            let held = self.lock().is_some();
            if held && let Err(e) = self.try_take().await {
                tracing::warn!(lease = %self.name, error = %e, "cannot renew the lease");
                *self.lock() = None;
            }
        }
    }

    /// [`StoreError::LeaseLost`] unless held: what a worker checks before each call.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.held() {
            Ok(())
        } else {
            Err(StoreError::LeaseLost(self.name.clone()))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.until.lock().unwrap_or_else(|p| p.into_inner())
    }
}
