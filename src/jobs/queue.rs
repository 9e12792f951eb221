//! Queueing a job: confirming a previewed list, and the jobs other pages queue.

use axum::{
    extract::{Path, State},
    response::Response,
};

use crate::{
    auth::{CanChange, Who},
    domain::{GroupId, OpenId},
    jobs::{
        order::TagOrder,
        page::{RecentJobs, job_or_404, listed_name},
        progress::JobProgress,
        summary::audit_after,
    },
    state::AppState,
    store::{AuditEntry, JobAction, JobPlan, JobState},
    web::{AppError, Chrome, HxRequest, Notice, Reply, htmx::HxCurrentUrl},
};

/// Queues a group move for `openids` (already parsed and without duplicates) and writes its
/// audit row with the totals. Used by the list preview's confirm and by a group's member page.
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
    queue_draft(state, who, id).await?;
    Ok(id)
}

/// Queues a tags-mode job doing `order` to `openids` (parsed, without duplicates) and writes
/// its audit row (`batch_tag`, `batch_untag`, `batch_retag`, `batch_blacklist`,
/// `batch_unblacklist`). `order` should come from [`TagOrder::parse`], which checks its tags
/// against the tag list (an order that is not [`TagOrder::is_sound`], such as a move from a tag
/// to itself, is a 400 and nothing is stored); `origin` says where the list came from ("tag:ID"
/// for a tag's members). Answers the job's id (its page: `state.urls.job(id)`).
pub async fn create_tag_job(
    state: &AppState,
    who: &Who,
    order: TagOrder,
    openids: &[OpenId],
    origin: &str,
) -> Result<i64, AppError> {
    if !order.is_sound() {
        return Err(AppError::BadForm(format!("not a list job: {order:?}")));
    }
    let list: Vec<String> = openids.iter().map(|o| o.to_string()).collect();
    let id = draft_tag_job(state, who, order, &list, origin).await?;
    queue_draft(state, who, id).await?;
    Ok(id)
}

/// Stores a tags-mode job as a draft (what a list preview shows before it is confirmed), with
/// its tags' names as the list has them now.
pub(super) async fn draft_tag_job(
    state: &AppState,
    who: &Who,
    order: TagOrder,
    openids: &[String],
    origin: &str,
) -> Result<i64, AppError> {
    let snapshot = state.groups.peek();
    let named = |id: GroupId| listed_name(snapshot.as_deref(), id.get());
    let job = who.new_job(order.target(), origin);
    let plan = JobPlan {
        from: order.retag_from().map(|a| (a.get(), named(a))),
        ..JobPlan::new(order.action, order.to.or(order.from).and_then(named))
    };
    Ok(state.store.job_create(&job, &plan, openids).await?)
}

/// Queues draft `id` and opens its audit row under the job's action, saying what it does
/// ("10000 OpenIDs → group 101 (VIP客户)", see [`audit_after`]). False if it was not a draft
/// (confirmed twice, or discarded).
pub(super) async fn queue_draft(state: &AppState, who: &Who, id: i64) -> Result<bool, AppError> {
    let Some(job) = state.store.job(id).await? else {
        return Ok(false);
    };
    let groups = if job.action == JobAction::CopyGroups {
        let copies = state.store.job_copy_groups(id).await?;
        copies.iter().filter(|g| g.copied()).count()
    } else {
        0
    };
    let snapshot = state.groups.peek();
    let entry = AuditEntry {
        target: Some(format!("job #{id}")),
        after: Some(audit_after(&job, snapshot.as_deref(), groups)),
        ..who.audit_entry(job.action.audit_action())
    };
    let audit_id = state.store.audit_begin(&entry).await?;
    let queued = state.store.job_confirm(id, audit_id).await?;
    if queued {
        tracing::info!(operator = %who.actor.name, job = id, total = job.total, action = job.action.as_str(), to = job.to_group, "batch job queued");
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
        queue_draft(&state, &who, job.id).await?;
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
