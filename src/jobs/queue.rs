//! Queueing a job: confirming a previewed list, and the jobs other pages queue.

use axum::{
    extract::{Path, State},
    response::Response,
};

use crate::{
    auth::{CanChange, Who},
    domain::{GroupId, OpenId},
    jobs::{
        page::{RecentJobs, job_or_404, listed_name},
        progress::JobProgress,
    },
    state::AppState,
    store::{AuditEntry, JobState},
    web::{AppError, Chrome, HxRequest, Notice, Reply, htmx::HxCurrentUrl},
};

/// Queues a job for `openids` (already parsed and without duplicates) and writes its audit row
/// with the totals. Used by the list preview's confirm and by a group's member page.
pub async fn create_job(
    state: &AppState,
    who: &Who,
    to: GroupId,
    openids: &[OpenId],
    origin: &str,
) -> Result<i64, AppError> {
    let job = who.new_job(to.get(), origin);
    let list: Vec<String> = openids.iter().map(|o| o.to_string()).collect();
    // The name is kept with the job, for its pages while the group list is not loaded.
    let snapshot = state.groups.peek();
    let name = listed_name(snapshot.as_deref(), to.get());
    let id = state.store.job_create_draft(&job, name, &list).await?;
    queue(state, who, id, (to, name), list.len()).await?;
    Ok(id)
}

/// Queues draft `id` and opens its audit row, which names the target group `to` by `name` too
/// when one is known ("10000 OpenIDs → group 101 (VIP客户)").
async fn queue(
    state: &AppState,
    who: &Who,
    id: i64,
    (to, name): (GroupId, Option<&str>),
    total: usize,
) -> Result<bool, AppError> {
    let named = name.map(|n| format!(" ({n})")).unwrap_or_default();
    let entry = AuditEntry {
        target: Some(format!("job #{id}")),
        after: Some(format!("{total} OpenIDs → group {to}{named}")),
        ..who.audit_entry("batch_move")
    };
    let audit_id = state.store.audit_begin(&entry).await?;
    let queued = state.store.job_confirm(id, audit_id).await?;
    if queued {
        tracing::info!(operator = %who.actor.name, job = id, total, to = %to, "batch job queued");
        state.jobs.wake_jobs();
    } else {
        state
            .store
            .audit_finish(
                audit_id,
                crate::store::Outcome::Failed,
                None,
                Some("not a draft any more (confirmed twice or discarded)"),
            )
            .await?;
    }
    Ok(queued)
}

/// `POST /jobs/{id}/confirm`: the previewed list becomes a queued job.
pub async fn confirm(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    from: HxCurrentUrl,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    // A preview that is gone (discarded, or older than a day) says so: the operator only has to
    // paste the list again.
    let job = job_or_404(&state, &id).await.map_err(|e| match e {
        AppError::NotFound if id.parse::<i64>().is_ok() => AppError::PreviewGone,
        other => other,
    })?;
    if job.state == JobState::Draft {
        // Named as the list names the group now, else as the preview stored it.
        let snapshot = state.groups.peek();
        let name = listed_name(snapshot.as_deref(), job.to_group).or(job.to_group_name.as_deref());
        queue(
            &state,
            &who,
            job.id,
            (GroupId::from_upstream(job.to_group), name),
            usize::try_from(job.total).unwrap_or(0),
        )
        .await?;
    }
    let reply = Reply::new(hx);
    if !reply.is_htmx() {
        return reply.or_redirect(chrome.urls.job(job.id));
    }
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    let recent = RecentJobs::oob_for(&state, &chrome, &from).await?;
    reply
        .notice(Notice::success(chrome.t1("jobs.queued", "id", job.id)))
        .swap(&progress)?
        .swap_html(&recent)
        .fragments()
}
