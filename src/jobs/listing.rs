//! "Untag everyone": a job whose list is read from WeChat when it starts.
//!
//! WeChat refuses to delete a tag with more than 100,000 followers (45057) and asks to untag them
//! first. [`create_untag_all_job`] queues an untag job for the tag with an empty list; the worker
//! first reads the tag's members (`user/tag/get`, following `next_openid` until it is empty; the
//! page size is not documented) into the job's items, one page per transaction with the page's
//! `next_openid` as the checkpoint, then untags them 50 a call like any untag job. The list is
//! read whole before anything is untagged: untagging while paging would change the pages being
//! read. A restart reads on from the checkpoint, so no page is stored twice.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    auth::{CanChange, Who},
    domain::{Api, GroupId, OpenId},
    jobs::{page::listed_name, queue::queue_draft, steps::Stop},
    state::AppState,
    store::{JobAction, JobPlan, JobRow, JobState, StoreError},
    web::{AppError, Chrome, Form, HxRequest, htmx::HxRedirect},
    wechat::WeChatError,
};

/// The untag-everyone form: the tag's id.
#[derive(Debug, Deserialize)]
pub struct UntagAllForm {
    #[serde(default)]
    pub tag: String,
}

/// `POST /jobs/untag-all` (`tag=ID`, tags mode): queues [`create_untag_all_job`] and goes to the
/// job's page (303; for htmx, `HX-Redirect`), where its progress shows. A form on any page can
/// post here, e.g. the delete page of a tag WeChat will not delete (45057).
pub async fn untag_all(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Form(form): Form<UntagAllForm>,
) -> Result<Response, AppError> {
    if state.site.api != Api::Tags {
        return Err(AppError::NotFound);
    }
    let tag = GroupId::parse(&form.tag).map_err(|_| AppError::NotFound)?;
    let id = create_untag_all_job(&state, &who, tag).await?;
    let to = chrome.urls.job(id);
    Ok(if hx {
        (HxRedirect(to), "").into_response()
    } else {
        axum::response::Redirect::to(&to).into_response()
    })
}

/// Queues a job that takes `tag` off every follower carrying it (read from WeChat when the job
/// starts), audited as `batch_untag`. Answers the job's id, for a link to its page
/// (`state.urls.job(id)`). A system tag (0, 1, 2: never deleted anyway) and a tag the cached
/// list does not have are [`AppError::NotFound`], and nothing is queued. With no list loaded
/// the job is queued, and WeChat's answer (45159 for no such tag) ends it.
pub async fn create_untag_all_job(
    state: &AppState,
    who: &Who,
    tag: GroupId,
) -> Result<i64, AppError> {
    let snapshot = state.groups.peek();
    let name = listed_name(snapshot.as_deref(), tag.get());
    if tag.is_system() || (snapshot.is_some() && name.is_none()) {
        return Err(AppError::NotFound);
    }
    let job = who.new_job(tag.get(), &format!("tag:{tag}:all"));
    let plan = JobPlan {
        listing: true,
        ..JobPlan::new(JobAction::Untag, name)
    };
    let id = state.store.job_create(&job, &plan, &[]).await?;
    queue_draft(state, who, id).await?;
    Ok(id)
}

/// Reads the members of the job's tag into its items, from the checkpoint on. Answers why the
/// job must stop instead (the list cannot be read, or the job was cancelled meanwhile).
pub(super) async fn read_members(
    state: &AppState,
    job: &JobRow,
) -> Result<Option<Stop>, StoreError> {
    let tag = GroupId::from_upstream(job.to_group);
    let mut after = match state.store.job_list_next(job.id).await? {
        Some(next) => OpenId::parse(&next).ok(),
        None => None,
    };
    let mut pages = 0u32;
    loop {
        if state.store.job_cancel_requested(job.id).await? {
            return Ok(Some((JobState::Cancelled, None)));
        }
        let page = match state.client.tag_members(tag, after.as_ref()).await {
            Ok(page) => page,
            Err(e) => return Ok(Some((JobState::Failed, Some(cannot_list(job, e))))),
        };
        pages += 1;
        // An answer that points back at where it started would be read forever: it ends here.
        let next = page.next.filter(|n| Some(n) != after.as_ref());
        let list: Vec<String> = page.openids.iter().map(ToString::to_string).collect();
        let next_str = next.as_ref().map(OpenId::as_str);
        state.store.job_list_page(job.id, &list, next_str).await?;
        match next {
            Some(n) => after = Some(n),
            None => {
                tracing::info!(job = job.id, pages, "batch job: read the tag's members");
                return Ok(None);
            }
        }
    }
}

fn cannot_list(job: &JobRow, e: WeChatError) -> WeChatError {
    tracing::warn!(job = job.id, error = %e, "batch job: cannot read the tag's members");
    e
}
