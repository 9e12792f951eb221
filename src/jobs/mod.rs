//! Batch jobs: moving many followers at once, in the background, surviving restarts.
//!
//! - `page.rs`: the jobs page; `sync_card.rs` its follower-sync card.
//! - `list.rs`: a pasted or uploaded list (read by `parse.rs`) into a preview, or discarded.
//! - `queue.rs`: a preview confirmed (or a group's members chosen) becomes a queued job.
//! - `progress.rs`: a job's page and progress, cancel, the outcome CSV.
//! - `worker.rs`: the one task that writes jobs, chunk by chunk, narrowing refused chunks.

pub mod list;
pub mod page;
pub mod parse;
pub mod progress;
pub mod queue;
mod summary;
pub mod sync_card;
mod worker;

pub use queue::create_job;
pub use sync_card::start_sync;
pub use worker::job_loop;

use crate::{
    domain::{GroupId, OpenId},
    state::AppState,
};

/// A move made through wxgroups confirms the follower's group at once in the follower table.
/// A failure to write it only makes that row stale until the next sync, so it is logged, not shown.
pub async fn follower_moved(state: &AppState, openid: &OpenId, to: GroupId) {
    if let Err(e) = state
        .store
        .followers_moved(&[openid.as_str()], to.get())
        .await
    {
        tracing::warn!(error = %e, "cannot record a moved follower's new group");
    }
}
