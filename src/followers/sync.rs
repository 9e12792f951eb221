//! The follower sync: pages of `user/get` (10,000 OpenIDs) and, for each, `user/info/batchget`
//! in hundreds for their groups, stored page by page.
//!
//! Upstream calls for N followers: ⌈N / 10,000⌉ `user/get` pages (the pass stops when it has
//! seen as many followers as WeChat's `total` says, so no empty page is fetched after a full
//! one; when N is not a multiple of 10,000 the short last page ends it) and ⌈N / 100⌉ batchgets
//! (each page's OpenIDs in hundreds). 100,000 followers: 10 + 1,000 calls (plus a token).
//!
//! The checkpoint (the next page's `next_openid`) is stored in the same transaction as the page,
//! so a restart goes on from the first page not stored. A re-sync is a new full pass that
//! updates changed groups in place; followers it did not see have left and are dropped at its
//! end (unless a move through wxgroups confirmed them after the pass began).

use std::sync::Arc;

use crate::{
    domain::OpenId,
    state::{AppState, Runner},
    store::{Outcome, SeenFollower, StoreError, SyncRow},
    wechat::{FOLLOWER_PAGE, MAX_INFO_BATCH, WeChatError},
};

/// Runs syncs until the process ends: the one left running by a stopped process first.
pub async fn sync_loop(state: AppState) {
    let runner: Arc<Runner> = state.jobs.clone();
    tokio::spawn(runner.sync_lease.clone().keep());
    loop {
        // One sync writer per account across the deployment, as for jobs.
        if !runner.sync_lease.held() {
            runner.sync_lease.acquire().await;
        }
        match state.store.sync_running().await {
            Ok(Some(sync)) => {
                let id = sync.id;
                if let Err(e) = run_sync(&state, sync).await {
                    tracing::error!(sync = id, error = %e, "follower sync: database error; retrying shortly");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = runner.sync_wake.notified() => {}
                    () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "follower sync: cannot read its state");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

async fn run_sync(state: &AppState, sync: SyncRow) -> Result<(), StoreError> {
    let id = sync.id;
    let mut after = sync
        .next_openid
        .as_deref()
        .and_then(|o| OpenId::parse(o).ok());
    if sync.pages > 0 && after.is_none() {
        // Every page was stored; the process stopped before the pass was closed.
        return close(state, id).await;
    }
    if sync.pages > 0 {
        tracing::info!(
            sync = id,
            pages = sync.pages,
            "follower sync: resuming from its checkpoint"
        );
    }
    let mut seen = u64::try_from(sync.seen).unwrap_or(0);
    loop {
        state.jobs.sync_lease.check()?;
        let page = match state.client.list_followers(after.as_ref()).await {
            Ok(page) => page,
            Err(e) => return fail(state, id, sync.audit_id, &e).await,
        };
        let listed = page.openids.len();
        let mut rows = Vec::with_capacity(listed);
        for part in page.openids.chunks(MAX_INFO_BATCH) {
            match state.client.follower_infos(part).await {
                Ok(infos) => rows.extend(infos.into_iter().map(|i| SeenFollower {
                    openid: i.openid.to_string(),
                    group_id: i.group.map(|g| g.get()),
                    tags: i.tags.iter().map(|t| t.get()).collect(),
                })),
                Err(e) => return fail(state, id, sync.audit_id, &e).await,
            }
        }
        seen += rows.iter().filter(|r| r.group_id.is_some()).count() as u64;
        let last = listed < FOLLOWER_PAGE || page.next.is_none() || seen >= page.total;
        let checkpoint = if last { None } else { page.next.clone() };
        state
            .store
            .sync_store_page(
                id,
                &rows,
                checkpoint.as_ref().map(OpenId::as_str),
                page.total,
            )
            .await?;
        if last {
            return close(state, id).await;
        }
        after = checkpoint;
    }
}

async fn close(state: &AppState, id: i64) -> Result<(), StoreError> {
    let dropped = state.store.sync_finish(id).await?;
    let Some(sync) = state.store.sync_latest().await? else {
        return Ok(());
    };
    tracing::info!(
        sync = id,
        followers = sync.seen,
        pages = sync.pages,
        dropped,
        "follower sync: done"
    );
    if let Some(audit_id) = sync.audit_id {
        let detail = format!(
            "{} followers in {} pages; {} who left dropped",
            sync.seen, sync.pages, dropped
        );
        state
            .store
            .audit_finish(audit_id, Outcome::Ok, None, Some(&detail))
            .await?;
    }
    Ok(())
}

async fn fail(
    state: &AppState,
    id: i64,
    audit_id: Option<i64>,
    error: &WeChatError,
) -> Result<(), StoreError> {
    tracing::warn!(sync = id, error = %error, "follower sync: stopped");
    state.store.sync_fail(id, &error.to_string()).await?;
    if let Some(audit_id) = audit_id {
        state
            .store
            .audit_finish(
                audit_id,
                Outcome::Failed,
                error.code(),
                Some(&error.to_string()),
            )
            .await?;
    }
    Ok(())
}
