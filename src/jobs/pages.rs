//! The jobs page: follower sync, batch move by list (preview, confirm), progress, cancel, CSV.

use std::sync::Arc;

use askama::Template;
use axum::{
    body::Bytes,
    extract::{Multipart, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{
    audit::csv_safe,
    auth::{Actor, CanChange, CanView, ClientInfo},
    domain::{GroupId, OpenId},
    groups::Snapshot,
    jobs::parse::{self, InvalidLine, MAX_LISTED_INVALID},
    store::{AuditEntry, CancelResult, ItemOutcome, ItemRow, JobRow, JobState, NewJob, SyncRow},
    web::{AppError, AppState, Chrome, HxRequest, Notice, NoticeKind, Notices},
    wechat::Group,
};

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

// ---------------------------------------------------------------- follower sync

/// The sync card: last synced, and a live progress bar while a sync runs (htmx polls it).
#[derive(Template)]
#[template(path = "jobs/_sync.html")]
pub struct SyncPanel {
    pub chrome: Chrome,
    pub latest: Option<SyncRow>,
    pub last_done: Option<SyncRow>,
    pub stored: u64,
}

impl SyncPanel {
    async fn load(state: &AppState, chrome: &Chrome) -> Result<Self, AppError> {
        Ok(SyncPanel {
            chrome: chrome.clone(),
            latest: state.store.sync_latest().await.map_err(internal)?,
            last_done: state.store.sync_last_done().await.map_err(internal)?,
            stored: state.store.follower_count().await.map_err(internal)?,
        })
    }

    fn running(&self) -> bool {
        self.latest.as_ref().is_some_and(|s| s.state == "running")
    }

    fn failed(&self) -> Option<&SyncRow> {
        self.latest.as_ref().filter(|s| s.state == "failed")
    }

    fn when(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }

    fn seen(&self, s: &SyncRow) -> u64 {
        u64::try_from(s.seen).unwrap_or(0)
    }

    fn total(&self, s: &SyncRow) -> u64 {
        s.total.and_then(|t| u64::try_from(t).ok()).unwrap_or(0)
    }
}

/// Starts a follower sync unless one is running; writes its audit row. Answers whether it
/// started one.
pub async fn start_sync(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    let (sync, started) = state
        .store
        .sync_start(&actor.name)
        .await
        .map_err(internal)?;
    if started {
        let entry = AuditEntry {
            operator: actor.name.clone(),
            source: actor.source.as_str().into(),
            ip: client.ip_string(),
            action: "follower_sync".into(),
            target: Some(format!("sync #{}", sync.id)),
            before: None,
            after: None,
        };
        let audit_id = state.store.audit_begin(&entry).await.map_err(internal)?;
        state
            .store
            .sync_set_audit(sync.id, audit_id)
            .await
            .map_err(internal)?;
        tracing::info!(operator = %actor.name, sync = sync.id, "follower sync asked for");
        state.jobs.wake_sync();
    }
    Ok(started)
}

/// `GET /followers/sync`: the sync card alone (what the progress bar polls).
pub async fn sync_panel(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
) -> Result<Response, AppError> {
    Ok(Html(SyncPanel::load(&state, &chrome).await?.render()?).into_response())
}

/// `POST /followers/sync`: start a sync (or join the running one).
pub async fn sync(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
) -> Result<Response, AppError> {
    let started = start_sync(&state, &actor, &client).await?;
    if !hx {
        return Ok(Redirect::to(&chrome.urls.jobs()).into_response());
    }
    let notice = if started {
        Notice::success(chrome.t("sync.started"))
    } else {
        Notice::success(chrome.t("sync.already")).with_kind(NoticeKind::Info)
    };
    let html = format!(
        "{}{}",
        SyncPanel::load(&state, &chrome).await?.render()?,
        Notices::one(notice).oob().render()?
    );
    Ok(Html(html).into_response())
}

// ---------------------------------------------------------------- batch move by list

/// The "move a list" form: paste or upload, choose the target group.
#[derive(Template)]
#[template(path = "jobs/_list_form.html")]
pub struct ListForm {
    pub chrome: Chrome,
    pub groups: Vec<Group>,
    pub to_value: String,
    pub text_value: String,
    pub error: Option<String>,
    pub to_error: Option<String>,
}

impl ListForm {
    pub fn new(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Self {
        ListForm {
            chrome: chrome.clone(),
            groups: snapshot.map(|s| s.groups.clone()).unwrap_or_default(),
            to_value: String::new(),
            text_value: String::new(),
            error: None,
            to_error: None,
        }
    }

    fn is_selected(&self, id: &GroupId) -> bool {
        self.to_value == id.to_string()
    }
}

/// What a preview shows before anything is sent.
#[derive(Template)]
#[template(path = "jobs/_preview.html")]
pub struct Preview {
    pub chrome: Chrome,
    pub job_id: i64,
    pub to_name: String,
    pub valid: usize,
    pub duplicates: usize,
    pub blank: usize,
    pub lines: usize,
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
    pub column: Option<usize>,
}

/// The jobs page.
#[derive(Template)]
#[template(path = "jobs/page.html")]
pub struct JobsPage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub sync: SyncPanel,
    /// The list form, or a preview in its place.
    pub panel: String,
    pub recent: RecentJobs,
}

/// The newest jobs, as the jobs page lists them.
#[derive(Template)]
#[template(path = "jobs/_recent.html")]
pub struct RecentJobs {
    pub chrome: Chrome,
    pub jobs: Vec<JobRow>,
    pub names: Option<Arc<Snapshot>>,
    pub oob: bool,
}

impl RecentJobs {
    pub async fn load(state: &AppState, chrome: &Chrome) -> Result<Self, AppError> {
        Ok(RecentJobs {
            chrome: chrome.clone(),
            jobs: state.store.jobs_recent(20).await.map_err(internal)?,
            names: state.groups.peek(),
            oob: false,
        })
    }

    /// The list again, out of band, when the request came from the jobs page itself (the job's
    /// own page has no list). Empty otherwise.
    async fn oob_for(
        state: &AppState,
        chrome: &Chrome,
        headers: &HeaderMap,
    ) -> Result<String, AppError> {
        let jobs_url = chrome.urls.jobs();
        let from_jobs_page = headers
            .get("hx-current-url")
            .and_then(|v| v.to_str().ok())
            .and_then(|u| u.split(['?', '#']).next())
            .is_some_and(|path| path.ends_with(&jobs_url));
        if !from_jobs_page {
            return Ok(String::new());
        }
        let mut recent = RecentJobs::load(state, chrome).await?;
        recent.oob = true;
        Ok(recent.render()?)
    }

    fn group_name(&self, id: &u32) -> String {
        group_label(self.names.as_deref(), *id)
    }

    fn state_name(&self, job: &JobRow) -> String {
        self.chrome.t(&format!("jobs.state.{}", job.state.as_str()))
    }

    fn when(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }
}

fn group_label(snapshot: Option<&Snapshot>, id: u32) -> String {
    match snapshot.and_then(|s| s.find(GroupId::from_upstream(id))) {
        Some(g) => format!("{} ({id})", g.name),
        None => format!("({id})"),
    }
}

async fn jobs_page(
    state: &AppState,
    chrome: Chrome,
    notices: Notices,
    panel: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = JobsPage {
        sync: SyncPanel::load(state, &chrome).await?,
        recent: RecentJobs::load(state, &chrome).await?,
        notices,
        panel,
        chrome,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /jobs`.
pub async fn index(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
) -> Result<Response, AppError> {
    let view = state.groups.view(&state.client).await;
    let form = ListForm::new(&chrome, view.snapshot.as_deref()).render()?;
    jobs_page(&state, chrome, Notices::default(), form, StatusCode::OK).await
}

/// The fields of the list form, read from a multipart body.
#[derive(Default)]
struct ListInput {
    to_groupid: String,
    text: String,
    file: Vec<u8>,
}

async fn read_list(mut multipart: Multipart) -> Result<ListInput, AppError> {
    let mut input = ListInput::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadForm(e.body_text())
        }
    })? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadForm(e.body_text())
            }
        })?;
        match name.as_str() {
            "to_groupid" => input.to_groupid = String::from_utf8_lossy(&bytes).into_owned(),
            "text" => input.text = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => input.file = bytes.to_vec(),
            _ => {}
        }
    }
    Ok(input)
}

/// `POST /jobs/preview`: reads the list and shows what would be sent. Nothing is sent: the list
/// is kept as a draft job until it is confirmed.
pub async fn preview(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let input = read_list(multipart).await?;
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut form = ListForm::new(&chrome, snapshot.as_deref());
    form.to_value = input.to_groupid.trim().to_owned();
    if input.text.len() <= 64 * 1024 {
        form.text_value = input.text.clone();
    }
    let to = GroupId::parse(&input.to_groupid)
        .map_err(|e| e.message(chrome.lang))
        .and_then(|id| match snapshot.as_deref() {
            Some(s) if s.find(id).is_none() => Err(chrome.t1("members.no_such_group", "id", id)),
            _ => Ok(id),
        });
    // A file wins over the text box when both are given.
    let bytes: &[u8] = if input.file.is_empty() {
        input.text.as_bytes()
    } else {
        &input.file
    };
    let parsed = parse::parse(bytes, chrome.lang).map_err(|e| e.message(chrome.lang));
    let (to, parsed) = match (to, parsed) {
        (Ok(to), Ok(p)) if !p.valid.is_empty() => (to, p),
        (to, parsed) => {
            form.to_error = to.err();
            form.error = match parsed {
                Err(e) => Some(e),
                Ok(_) => Some(chrome.t("jobs.list.none_valid")),
            };
            return respond_panel(
                &state,
                chrome,
                hx,
                form.render()?,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let openids: Vec<String> = parsed.valid.iter().map(|o| o.to_string()).collect();
    let job = NewJob {
        operator: actor.name.clone(),
        source: actor.source.as_str().into(),
        ip: client.ip_string(),
        to_group: to.get(),
        origin: "list".into(),
    };
    let job_id = state
        .store
        .job_create_draft(&job, &openids)
        .await
        .map_err(internal)?;
    let invalid_total = parsed.invalid.len();
    let mut invalid = parsed.invalid;
    invalid.truncate(MAX_LISTED_INVALID);
    let preview = Preview {
        chrome: chrome.clone(),
        job_id,
        to_name: group_label(snapshot.as_deref(), to.get()),
        valid: parsed.valid.len(),
        duplicates: parsed.duplicates,
        blank: parsed.blank,
        lines: parsed.lines,
        invalid,
        invalid_total,
        column: parsed.column,
    };
    respond_panel(&state, chrome, hx, preview.render()?, StatusCode::OK).await
}

/// The panel alone (htmx) or the jobs page around it.
async fn respond_panel(
    state: &AppState,
    chrome: Chrome,
    hx: bool,
    panel: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    if hx {
        return Ok((status, Html(panel)).into_response());
    }
    jobs_page(state, chrome, Notices::default(), panel, status).await
}

/// Queues a job for `openids` (already parsed and without duplicates) and writes its audit row
/// with the totals. Used by the list preview's confirm and by a group's member page.
pub async fn create_job(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    to: GroupId,
    openids: &[OpenId],
    origin: &str,
) -> Result<i64, AppError> {
    let job = NewJob {
        operator: actor.name.clone(),
        source: actor.source.as_str().into(),
        ip: client.ip_string(),
        to_group: to.get(),
        origin: origin.into(),
    };
    let list: Vec<String> = openids.iter().map(|o| o.to_string()).collect();
    let id = state
        .store
        .job_create_draft(&job, &list)
        .await
        .map_err(internal)?;
    queue(state, actor, client, id, to, list.len()).await?;
    Ok(id)
}

async fn queue(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    id: i64,
    to: GroupId,
    total: usize,
) -> Result<bool, AppError> {
    let entry = AuditEntry {
        operator: actor.name.clone(),
        source: actor.source.as_str().into(),
        ip: client.ip_string(),
        action: "batch_move".into(),
        target: Some(format!("job #{id}")),
        before: None,
        after: Some(format!("{total} OpenIDs → group {to}")),
    };
    let audit_id = state.store.audit_begin(&entry).await.map_err(internal)?;
    let queued = state
        .store
        .job_confirm(id, audit_id)
        .await
        .map_err(internal)?;
    if queued {
        tracing::info!(operator = %actor.name, job = id, total, to = %to, "batch job queued");
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
            .await
            .map_err(internal)?;
    }
    Ok(queued)
}

async fn job_or_404(state: &AppState, id: &str) -> Result<JobRow, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    state
        .store
        .job(id)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)
}

/// `POST /jobs/{id}/confirm`: the previewed list becomes a queued job.
pub async fn confirm(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    // A preview that is gone (discarded, or older than a day) says so: the operator only has to
    // paste the list again.
    let job = job_or_404(&state, &id).await.map_err(|e| match e {
        AppError::NotFound if id.parse::<i64>().is_ok() => AppError::PreviewGone,
        other => other,
    })?;
    if job.state == JobState::Draft {
        queue(
            &state,
            &actor,
            &client,
            job.id,
            GroupId::from_upstream(job.to_group),
            usize::try_from(job.total).unwrap_or(0),
        )
        .await?;
    }
    if !hx {
        return Ok(Redirect::to(&chrome.urls.job(job.id)).into_response());
    }
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    let html = format!(
        "{}{}{}",
        progress.render()?,
        Notices::one(Notice::success(chrome.t1("jobs.queued", "id", job.id)))
            .oob()
            .render()?,
        RecentJobs::oob_for(&state, &chrome, &headers).await?
    );
    Ok(Html(html).into_response())
}

/// `POST /jobs/{id}/discard`: forget a previewed list.
pub async fn discard(
    State(state): State<AppState>,
    _: CanChange,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    // Discarding one that is already gone (twice, or after it expired) is the same as once.
    if let Ok(id) = id.parse::<i64>() {
        state.store.job_discard(id).await.map_err(internal)?;
    }
    if !hx {
        return Ok(Redirect::to(&chrome.urls.jobs()).into_response());
    }
    let snapshot = state.groups.peek();
    Ok(Html(ListForm::new(&chrome, snapshot.as_deref()).render()?).into_response())
}

// ---------------------------------------------------------------- progress

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
        let job = state
            .store
            .job(id)
            .await
            .map_err(internal)?
            .ok_or(AppError::NotFound)?;
        let ahead = if job.state == JobState::Queued {
            state.store.jobs_ahead(id).await.map_err(internal)?
        } else {
            0
        };
        let invalid = state
            .store
            .job_items_with(id, ItemOutcome::Invalid, 100)
            .await
            .map_err(internal)?;
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
            group: group_label(snapshot.as_deref(), job.to_group),
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
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = job_or_404(&state, &id).await?;
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    let page = JobPage {
        chrome,
        notices: Notices::default(),
        progress,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /jobs/{id}/progress`: the progress card alone.
pub async fn progress(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = job_or_404(&state, &id).await?;
    let progress = JobProgress::load(&state, &chrome, job.id).await?;
    let mut html = progress.render()?;
    // The last poll (the job has ended, polling stops) brings the list up to date too.
    if progress.job.state.is_final() {
        html.push_str(&RecentJobs::oob_for(&state, &chrome, &headers).await?);
    }
    Ok(Html(html).into_response())
}

/// `POST /jobs/{id}/cancel`. Twice is harmless: the second time says so.
pub async fn cancel(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = job_or_404(&state, &id).await?;
    // A queued job ends here, not in the worker: its audit row says who cancelled it.
    let cancelled_by = |_: &JobRow| {
        (
            crate::store::Outcome::Ok,
            format!("cancelled before it started by {}", actor.name),
        )
    };
    let result = state
        .store
        .job_request_cancel(job.id, &cancelled_by)
        .await
        .map_err(internal)?;
    tracing::info!(operator = %actor.name, job = job.id, ?result, "cancel asked for");
    if !hx {
        return Ok(Redirect::to(&chrome.urls.job(job.id)).into_response());
    }
    let notice = match result {
        CancelResult::Cancelled => Notice::success(chrome.t("jobs.cancelled")),
        CancelResult::Requested => Notice::success(chrome.t("jobs.cancelling")),
        CancelResult::AlreadyFinal | CancelResult::NotFound => {
            Notice::success(chrome.t("jobs.cancel_again")).with_kind(NoticeKind::Info)
        }
    };
    let html = format!(
        "{}{}",
        JobProgress::load(&state, &chrome, job.id).await?.render()?,
        Notices::one(notice).oob().render()?
    );
    Ok(Html(html).into_response())
}

/// `GET /jobs/{id}/outcome.csv`: every OpenID of the job with its outcome, formula-safe.
pub async fn outcome_csv(
    State(state): State<AppState>,
    _: CanView,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = job_or_404(&state, &id).await?;
    let items = state.store.job_items(job.id).await.map_err(internal)?;
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
