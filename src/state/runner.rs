//! The handle of the background workers: what wakes them and how fast they may call WeChat.
//!
//! The workers themselves (batch jobs, follower syncs) are features (`jobs`, `followers`) and are
//! started by `startup`; they and the pages that queue work share this handle.

use std::{sync::Arc, time::Duration};

use tokio::{sync::Notify, time::Instant};

use super::{lease::Lease, pacing::Pacer};
use crate::{settings::JobSettings, store::Store};

/// One worker for batch jobs (so only one job writes at a time; the others queue) and one for
/// follower syncs. Both are woken when there is new work and also look on their own every few
/// seconds.
pub struct Runner {
    pub settings: JobSettings,
    pub jobs_wake: Notify,
    pub sync_wake: Notify,
    /// The account's batch jobs and its follower sync each run on one instance at a time.
    pub jobs_lease: Arc<Lease>,
    pub sync_lease: Arc<Lease>,
    /// To tell the other instances (the one holding the lease may be another).
    store: Store,
    /// When the next batchupdate may be sent.
    pacer: std::sync::Mutex<Pacer>,
}

impl Runner {
    /// The workers' handle for the account of `store`, on the instance `instance`.
    pub fn new(settings: JobSettings, store: &Store, instance: &Arc<str>) -> Arc<Self> {
        let interval = settings.interval();
        let lease = |what: &str| {
            let name = format!("{what}:{}", store.account());
            Arc::new(Lease::new(
                store.clone(),
                name,
                instance.clone(),
                settings.lease,
            ))
        };
        Arc::new(Runner {
            settings,
            jobs_wake: Notify::new(),
            sync_wake: Notify::new(),
            jobs_lease: lease("jobs"),
            sync_lease: lease("sync"),
            store: store.clone(),
            pacer: std::sync::Mutex::new(Pacer::new(interval, Instant::now())),
        })
    }

    /// There is a new job in the queue.
    pub fn wake_jobs(&self) {
        self.jobs_wake.notify_one();
        self.tell_others("jobs");
    }

    /// A sync was asked for.
    pub fn wake_sync(&self) {
        self.sync_wake.notify_one();
        self.tell_others("sync");
    }

    /// Announces `what` for this account, in the background: on a shared database the worker
    /// holding the lease may run on another instance. A lost announcement costs that worker
    /// its next look (every ten seconds), not the work.
    fn tell_others(&self, what: &str) {
        if self.store.engine().is_shared() {
            let store = self.store.clone();
            let what = format!("{what} {}", store.account());
            tokio::spawn(async move {
                if let Err(e) = store.announce(&what).await {
                    tracing::debug!(error = %e, "cannot tell the other instances");
                }
            });
        }
    }

    /// Waits for the next batchupdate slot (`batch_per_minute`).
    pub async fn pace(&self) {
        let at = self
            .pacer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .slot(Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// A rough time left for `calls` more batchupdate calls at the configured pace.
    pub fn estimate(&self, calls: u64) -> Duration {
        self.settings.interval() * u32::try_from(calls).unwrap_or(u32::MAX)
    }
}
