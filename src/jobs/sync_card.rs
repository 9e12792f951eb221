//! The follower sync card: when followers were last synced, and a live progress bar while a
//! sync runs.

use askama::Template;
use axum::{extract::State, response::Response};

use crate::{
    auth::{CanChange, CanView, Who},
    state::AppState,
    store::{AuditEntry, SyncRow},
    web::{AppError, Chrome, HxRequest, Notice, NoticeKind, Reply, html},
};

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
    pub async fn load(state: &AppState, chrome: &Chrome) -> Result<Self, AppError> {
        Ok(SyncPanel {
            chrome: chrome.clone(),
            latest: state.store.sync_latest().await?,
            last_done: state.store.sync_last_done().await?,
            stored: state.store.follower_count().await?,
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
pub async fn start_sync(state: &AppState, who: &Who) -> Result<bool, AppError> {
    let (sync, started) = state.store.sync_start(&who.actor.name).await?;
    if started {
        let entry = AuditEntry {
            target: Some(format!("sync #{}", sync.id)),
            ..who.audit_entry("follower_sync")
        };
        let audit_id = state.store.audit_begin(&entry).await?;
        state.store.sync_set_audit(sync.id, audit_id).await?;
        tracing::info!(operator = %who.actor.name, sync = sync.id, "follower sync asked for");
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
    html(&SyncPanel::load(&state, &chrome).await?)
}

/// `POST /followers/sync`: start a sync (or join the running one).
pub async fn sync(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
) -> Result<Response, AppError> {
    let started = start_sync(&state, &who).await?;
    let reply = Reply::new(hx);
    if !hx.0 {
        return reply.or_redirect(chrome.urls.jobs());
    }
    let notice = if started {
        Notice::success(chrome.t("sync.started"))
    } else {
        Notice::success(chrome.t("sync.already")).with_kind(NoticeKind::Info)
    };
    reply
        .notice(notice)
        .swap(&SyncPanel::load(&state, &chrome).await?)?
        .fragments()
}
