//! Batch jobs: moving many followers at once, in the background, surviving restarts.
//!
//! - `parse.rs`: a pasted or uploaded list of OpenIDs (CSV or plain text) read into a preview.
//! - `worker.rs`: the one task that writes jobs, chunk by chunk, narrowing refused chunks.
//! - `pages.rs`: the jobs page, the preview and confirm, progress, cancel, the outcome CSV.

mod pacing;
mod pages;
pub mod parse;
mod worker;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use tokio::{sync::Notify, time::Instant};

pub use pages::{create_job, start_sync};

use crate::{
    settings::JobSettings,
    store::{JobRow, JobState, Outcome},
    web::AppState,
};

/// The largest upload or paste: 100,000 OpenIDs of 28 characters with line breaks are 3 MB;
/// room for CSV files with other columns.
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(pages::index))
        .route(
            "/jobs/preview",
            post(pages::preview).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/jobs/{id}", get(pages::show))
        .route("/jobs/{id}/progress", get(pages::progress))
        .route("/jobs/{id}/confirm", post(pages::confirm))
        .route("/jobs/{id}/discard", post(pages::discard))
        .route("/jobs/{id}/cancel", post(pages::cancel))
        .route("/jobs/{id}/outcome.csv", get(pages::outcome_csv))
        .route("/followers/sync", get(pages::sync_panel).post(pages::sync))
        .merge(crate::followers::routes())
}

/// A move made through wxgroups confirms the follower's group at once in the follower table.
/// A failure to write it only makes that row stale until the next sync, so it is logged, not shown.
pub async fn follower_moved(
    state: &AppState,
    openid: &crate::domain::OpenId,
    to: crate::domain::GroupId,
) {
    if let Err(e) = state
        .store
        .followers_moved(&[openid.as_str()], to.get())
        .await
    {
        tracing::warn!(error = %e, "cannot record a moved follower's new group");
    }
}

/// Owns the background workers: one for batch jobs (so only one job writes at a time; the others
/// queue) and one for follower syncs. Both are woken when there is new work and also look on
/// their own every few seconds.
pub struct Runner {
    pub(crate) settings: JobSettings,
    pub(crate) jobs_wake: Notify,
    pub(crate) sync_wake: Notify,
    /// When the next batchupdate may be sent.
    pacer: std::sync::Mutex<pacing::Pacer>,
}

impl Runner {
    pub fn new(settings: JobSettings) -> Arc<Self> {
        let interval = settings.interval();
        Arc::new(Runner {
            settings,
            jobs_wake: Notify::new(),
            sync_wake: Notify::new(),
            pacer: std::sync::Mutex::new(pacing::Pacer::new(interval, Instant::now())),
        })
    }

    /// Starts the workers on the current runtime. A job or sync left running by a process that
    /// stopped is picked up first.
    pub fn start(self: &Arc<Self>, state: AppState) {
        tokio::spawn(worker::job_loop(state.clone(), self.clone()));
        tokio::spawn(crate::followers::sync_loop(state, self.clone()));
    }

    /// There is a new job in the queue.
    pub fn wake_jobs(&self) {
        self.jobs_wake.notify_one();
    }

    /// A sync was asked for.
    pub fn wake_sync(&self) {
        self.sync_wake.notify_one();
    }

    /// Waits for the next batchupdate slot (`batch_per_minute`).
    pub(crate) async fn pace(&self) {
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

/// What the audit log says of a finished job (see [`crate::store::Describe`]).
pub(crate) fn audit_summary(job: &JobRow) -> (Outcome, String) {
    let outcome = match job.state {
        JobState::Done if job.failed == 0 => Outcome::Ok,
        JobState::Cancelled => Outcome::Ok,
        _ => Outcome::Failed,
    };
    let detail = format!(
        "{}: moved {}, invalid {}, failed {}, cancelled {} of {} ({} calls){}",
        job.state.as_str(),
        job.moved,
        job.invalid,
        job.failed,
        job.cancelled,
        job.total,
        job.calls,
        job.error
            .as_deref()
            .map(|e| format!("; {e}"))
            .unwrap_or_default()
    );
    (outcome, detail)
}
