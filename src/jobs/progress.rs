//! A job as it runs: its page, the progress card htmx polls, cancel, and the outcome CSV.

use askama::Template;
use axum::{
    body::Bytes,
    extract::State,
    http::header,
    response::{Html, IntoResponse, Response},
};

use crate::{
    audit::csv_safe,
    auth::{CanChange, CanView},
    jobs::page::{JobInUrl, RecentJobs, job_group_label},
    state::AppState,
    store::{CancelResult, ItemOutcome, ItemRow, JobRow, JobState},
    web::{
        AppError, Chrome, HxRequest, Notice, NoticeKind, Notices, Reply, html, htmx::HxCurrentUrl,
    },
};

/// Writing the CSV into memory fails only on a bug.
fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

/// A job's live state: polled every second until it ends.
#[derive(Template)]
#[template(path = "jobs/_progress.html")]
pub struct JobProgress {
    pub chrome: Chrome,
    pub job: JobRow,
    pub group: String,
    pub ahead: i64,
    pub estimate: Option<String>,
    pub invalid: Vec<ItemRow>,
}

impl JobProgress {
    pub async fn load(state: &AppState, chrome: &Chrome, id: i64) -> Result<Self, AppError> {
        let job = state.store.job(id).await?.ok_or(AppError::NotFound)?;
        let ahead = if job.state == JobState::Queued {
            state.store.jobs_ahead(id).await?
        } else {
            0
        };
        let invalid = state
            .store
            .job_items_with(id, ItemOutcome::Invalid, 100)
            .await?;
        let estimate = estimate(state, &job).map(|d| {
            let secs = d.as_secs().max(1);
            if secs < 90 {
                chrome.t1("jobs.estimate.seconds", "n", secs)
            } else {
                chrome.t1("jobs.estimate.minutes", "n", secs.div_ceil(60))
            }
        });
        let snapshot = state.groups.peek();
        Ok(JobProgress {
            chrome: chrome.clone(),
            group: job_group_label(snapshot.as_deref(), &job),
            job,
            ahead,
            estimate,
            invalid,
        })
    }

    fn running(&self) -> bool {
        matches!(self.job.state, JobState::Queued | JobState::Running)
    }

    fn finished(&self) -> bool {
        self.job.state.is_final()
    }

    fn state_name(&self) -> String {
        self.chrome
            .t(&format!("jobs.state.{}", self.job.state.as_str()))
    }

    fn settled(&self) -> i64 {
        self.job.settled()
    }

    fn percent(&self) -> i64 {
        if self.job.total == 0 {
            100
        } else {
            self.job.settled() * 100 / self.job.total
        }
    }

    fn when(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }
}

/// Time left: from the pace so far once there is one, else from the configured pace.
fn estimate(state: &AppState, job: &JobRow) -> Option<std::time::Duration> {
    if job.state.is_final() || job.state == JobState::Draft {
        return None;
    }
    let remaining = u64::try_from(job.remaining()).unwrap_or(0);
    let settled = u64::try_from(job.settled()).unwrap_or(0);
    if let (Some(started), true) = (job.started_at, settled > 0) {
        let elapsed = u64::try_from(crate::store::now_us() - started).unwrap_or(0);
        return Some(std::time::Duration::from_micros(
            elapsed.saturating_mul(remaining) / settled,
        ));
    }
    Some(
        state
            .jobs
            .estimate(remaining.div_ceil(crate::store::CHUNK as u64)),
    )
}

/// The job page.
#[derive(Template)]
#[template(path = "jobs/show.html")]
pub struct JobPage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub progress: JobProgress,
}

/// `GET /jobs/{id}`: a job's page. Closing it does not stop the job; opening it again shows
/// where it is.
pub async fn show(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    JobInUrl(job): JobInUrl,
) -> Result<Response, AppError> {
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    html(&JobPage {
        chrome,
        notices: Notices::default(),
        progress,
    })
}

/// `GET /jobs/{id}/progress`: the progress card alone.
pub async fn progress(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    from: HxCurrentUrl,
    JobInUrl(job): JobInUrl,
) -> Result<Response, AppError> {
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    let mut html = progress.render()?;
    // The last poll (the job has ended, polling stops) brings the list up to date too.
    if progress.job.state.is_final() {
        html.push_str(&RecentJobs::oob_for(&state, &chrome, &from).await?);
    }
    Ok(Html(html).into_response())
}

/// `POST /jobs/{id}/cancel`. Twice is harmless: the second time says so.
pub async fn cancel(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    JobInUrl(job): JobInUrl,
) -> Result<Response, AppError> {
    // A queued job ends here, not in the worker: its audit row says who cancelled it.
    let cancelled_by = |_: &JobRow| {
        (
            crate::store::Outcome::Ok,
            format!("cancelled before it started by {}", who.actor.name),
        )
    };
    let result = state
        .store
        .job_request_cancel(job.id, &cancelled_by)
        .await?;
    tracing::info!(operator = %who.actor.name, job = job.id, ?result, "cancel asked for");
    let reply = Reply::new(hx);
    if !reply.is_htmx() {
        return reply.or_redirect(chrome.urls.job(job.id));
    }
    let notice = match result {
        CancelResult::Cancelled => Notice::success(chrome.t("jobs.cancelled")),
        CancelResult::Requested => Notice::success(chrome.t("jobs.cancelling")),
        CancelResult::AlreadyFinal | CancelResult::NotFound => {
            Notice::success(chrome.t("jobs.cancel_again")).with_kind(NoticeKind::Info)
        }
    };
    reply
        .notice(notice)
        .swap(&JobProgress::load(&state, &chrome, job.id).await?)?
        .fragments()
}

/// `GET /jobs/{id}/outcome.csv`: every OpenID of the job with its outcome, formula-safe.
pub async fn outcome_csv(
    State(state): State<AppState>,
    _: CanView,
    JobInUrl(job): JobInUrl,
) -> Result<Response, AppError> {
    let items = state.store.job_items(job.id).await?;
    let mut out = Vec::from("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(["line", "openid", "to_groupid", "outcome", "errcode"])
            .map_err(internal)?;
        for item in items {
            let record = [
                (item.pos + 1).to_string(),
                item.openid,
                job.to_group.to_string(),
                item.outcome
                    .map_or("pending", ItemOutcome::as_str)
                    .to_owned(),
                item.errcode.map(|c| c.to_string()).unwrap_or_default(),
            ];
            w.write_record(record.iter().map(|c| csv_safe(c)))
                .map_err(internal)?;
        }
        w.flush().map_err(internal)?;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"wxgroups-job-{}.csv\"", job.id),
            ),
        ],
        Bytes::from(out),
    )
        .into_response())
}
