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
    jobs::{
        copy::skip_reason,
        page::{JobInUrl, RecentJobs, group_label, job_group_label},
    },
    state::{AppState, Snapshot},
    store::{CancelResult, CopyGroup, ItemOutcome, ItemRow, JobAction, JobRow, JobState},
    web::{
        AppError, Chrome, HxRequest, Notice, NoticeKind, Notices, Reply, html, htmx::HxCurrentUrl,
    },
    wechat::explain_code,
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
    /// What the job does, in a sentence ("Moving 10,000 OpenIDs to VIP客户 (101)").
    pub what: String,
    pub ahead: i64,
    pub estimate: Option<String>,
    pub invalid: Vec<ItemRow>,
    /// A retag's followers left with neither tag (the first 100), and how many there are.
    pub between: Vec<ItemRow>,
    pub between_total: i64,
    /// A copy's groups and their tags.
    pub groups: Vec<CopyGroup>,
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
        let (between, between_total) = if job.action == JobAction::Retag {
            let list = state.store.job_items_between(id, 100).await?;
            (list, state.store.job_between_count(id).await?)
        } else {
            (Vec::new(), 0)
        };
        let groups = if job.action == JobAction::CopyGroups {
            state.store.job_copy_groups(id).await?
        } else {
            Vec::new()
        };
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
            what: what(chrome, snapshot.as_deref(), &job),
            job,
            ahead,
            estimate,
            invalid,
            between,
            between_total,
            groups,
        })
    }

    /// The counter of OpenIDs done, named for the action ("Moved", "Tagged", …).
    fn done_label(&self) -> String {
        match self.job.action {
            JobAction::Move => self.chrome.t("jobs.col.moved"),
            a => self.chrome.t(&format!("jobs.tags.done.{}", a.as_str())),
        }
    }

    /// A refused OpenID's reason: what WeChat's errcode means (the tags API's jobs; a group
    /// move's list stays as it was, the code alone).
    fn reason(&self, item: &ItemRow) -> Option<String> {
        match (self.job.action, item.errcode) {
            (JobAction::Move, _) | (_, None) => None,
            (_, Some(code)) => explain_code(code, self.chrome.lang),
        }
    }

    /// A copied group's tag as the job has it: found, created, not had (why), or not yet.
    fn tag_label(&self, g: &CopyGroup) -> String {
        match (g.tag_id, &g.error) {
            (Some(id), _) if g.created => {
                self.chrome
                    .t1("jobs.copy.created", "tag", format!("{} ({id})", g.name))
            }
            (Some(id), _) => format!("{} ({id})", g.name),
            (None, Some(_)) => {
                let why = g.errcode.and_then(|c| explain_code(c, self.chrome.lang));
                let code = g
                    .errcode
                    .map(|c| format!("errcode {c}"))
                    .unwrap_or_default();
                self.chrome.t2(
                    "jobs.copy.tag_failed",
                    "code",
                    code,
                    "why",
                    why.unwrap_or_default(),
                )
            }
            (None, None) => self.chrome.t1("jobs.copy.new_tag", "name", &g.name),
        }
    }

    fn skip_reason(&self, g: &CopyGroup) -> String {
        skip_reason(&self.chrome, g)
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

/// What `job` does, in a sentence: a move as before ("Moving %{n} OpenIDs to %{group}"), the
/// tags API's jobs in their own words with their tags.
fn what(chrome: &Chrome, list: Option<&Snapshot>, job: &JobRow) -> String {
    let to = job_group_label(list, job);
    let n = chrome
        .num(u64::try_from(job.total).unwrap_or(0))
        .to_string();
    if job.action == JobAction::Move {
        return chrome.t2("jobs.moving_to", "n", n, "group", to);
    }
    let from = job
        .from_tag
        .map(|id| listed(list, id, job.from_name.as_deref()));
    let key = match job.action {
        JobAction::Untag if job.listing || job.origin.ends_with(":all") => {
            "jobs.tags.what.untag_all".to_owned()
        }
        a => format!("jobs.tags.what.{}", a.as_str()),
    };
    rust_i18n::replace_patterns(
        &chrome.t(&key),
        &["n", "from", "to"],
        &[n, from.unwrap_or_default(), to],
    )
}

/// "VIP (101)" as the list names tag `id` now, else as the job stored it.
fn listed(list: Option<&Snapshot>, id: u32, stored: Option<&str>) -> String {
    match crate::jobs::page::listed_name(list, id).or(stored) {
        Some(name) => format!("{name} ({id})"),
        None => group_label(None, id),
    }
}

/// Time left: from the pace so far once there is one, else from the configured pace (a call
/// per chunk, two for a retag's).
fn estimate(state: &AppState, job: &JobRow) -> Option<std::time::Duration> {
    if job.state.is_final() || job.state == JobState::Draft || job.listing {
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
    let chunks = remaining.div_ceil(job.action.chunk() as u64);
    Some(state.jobs.estimate(chunks * u64::from(job.action.steps())))
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

/// A group move's CSV, as it always was: line, openid, to_groupid, outcome, errcode.
fn move_csv(job: &JobRow, items: Vec<ItemRow>) -> Result<Vec<u8>, AppError> {
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
    Ok(out)
}

/// A copy's tag for each chunk (its group's); empty for other jobs.
async fn item_tags(
    state: &AppState,
    job: &JobRow,
) -> Result<std::collections::HashMap<i64, u32>, AppError> {
    if job.action != JobAction::CopyGroups {
        return Ok(Default::default());
    }
    let tags: std::collections::HashMap<u32, u32> = state
        .store
        .job_copy_groups(job.id)
        .await?
        .into_iter()
        .filter_map(|g| g.tag_id.map(|t| (g.group_id, t)))
        .collect();
    Ok(state
        .store
        .job_chunk_groups(job.id)
        .await?
        .into_iter()
        .filter_map(|(seq, group)| tags.get(&group).map(|t| (seq, *t)))
        .collect())
}

/// `GET /jobs/{id}/outcome.csv`: every OpenID of the job with its outcome, formula-safe.
pub async fn outcome_csv(
    State(state): State<AppState>,
    _: CanView,
    JobInUrl(job): JobInUrl,
) -> Result<Response, AppError> {
    let items = state.store.job_items(job.id).await?;
    let out = if job.action == JobAction::Move {
        move_csv(&job, items)?
    } else {
        let tags = item_tags(&state, &job).await?;
        crate::jobs::outcome::tags_csv(&job, items, &tags).map_err(internal)?
    };
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
