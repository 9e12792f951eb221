//! The background worker: one task writes one job at a time, chunk by chunk.
//!
//! ## Crash safety
//! A chunk's row says `sending` (committed) before its upstream call and `done` in the same
//! transaction as its OpenIDs' outcomes, so after a crash every chunk is in one of three states:
//! - `done`: never looked at again, so a finished chunk is never sent twice;
//! - `pending`: never sent; sent now;
//! - `sending`: the process died around the call, and WeChat may or may not have moved them. The
//!   chunk is *re-checked* with one `user/info/batchget` (a read, ≤ 100 OpenIDs): those already in
//!   the target group count as moved without another write, and only the rest are sent. If the
//!   re-check itself fails (e.g. the chunk holds an OpenID WeChat does not know), the chunk is sent
//!   again: `batchupdate` is an absolute write, so moving someone to the group they are already in
//!   is harmless.
//!
//! A chunk is recorded while the next one is sent (the database work overlaps the upstream
//! call), so a crash can leave two chunks `sending`; each is re-checked on its own.
//!
//! ## Counting calls
//! The job's `calls` (its audit row says "(N calls)") must match what reached WeChat, the call a
//! crash cut off included. So a call is counted before it goes out, never after its answer: a
//! chunk's first call in the same transaction that marks it `sending`, each further call of the
//! chunk (narrowing, a 45011 repeat, a retry in transit) by a write just before it. A crash between
//! the count and the request leaving counts one call too many; counting after the answer lost one
//! for every crash in the middle of a call, which is where a crash is most likely to land. The
//! client's own retries inside one `move_users` are not seen here and not counted.
//!
//! ## Narrowing
//! `batchupdate` is all or nothing: one OpenID WeChat does not know (40003) refuses the whole
//! chunk. The chunk is then split in halves (the first half is the larger), each half sent on its
//! own, and a refused half split again, down to single OpenIDs: good OpenIDs still move and
//! exactly the bad ones are reported. A chunk of 50 with one bad OpenID costs 1 + 2 × depth calls
//! (depth 5 or 6).
//!
//! ## Pacing
//! Every batchupdate call (narrowing ones included) waits for its slot: at most
//! `WXGROUPS_BATCH_PER_MINUTE` a minute. A 45011 (per-minute quota) waits
//! `WXGROUPS_BATCH_BACKOFF_MS` and sends the same OpenIDs again; it is not a failure.

use std::{collections::HashMap, sync::Arc};

use crate::{
    domain::{GroupId, OpenId},
    jobs::summary::audit_summary,
    state::{AppState, Runner},
    store::{ChunkDone, ItemOutcome, JobRow, JobState, StoreError},
    wechat::WeChatError,
};

/// Attempts for a list whose call failed in transit (after the client's own retries).
const TRANSIT_ATTEMPTS: u32 = 3;

/// How long an unconfirmed preview is kept (the preview says so).
const DRAFT_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Writes jobs until the process ends; between jobs, forgets stale previews (at start, then
/// at most hourly).
pub async fn job_loop(state: AppState) {
    let runner: Arc<Runner> = state.jobs.clone();
    let mut purged: Option<std::time::Instant> = None;
    loop {
        if purged.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
            purged = Some(std::time::Instant::now());
            purge_drafts(&state).await;
        }
        match state.store.job_next().await {
            Ok(Some(job)) => {
                let id = job.id;
                if let Err(e) = run_job(&state, &runner, job).await {
                    tracing::error!(job = id, error = %e, "batch job: database error; retrying shortly");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = runner.jobs_wake.notified() => {}
                    () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "batch job: cannot read the queue");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Deletes previews older than [`DRAFT_KEPT`] (with their lists: the chunks and items cascade).
async fn purge_drafts(state: &AppState) {
    let before = crate::store::now_us() - DRAFT_KEPT.as_micros() as i64;
    match state.store.job_drafts_purge(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(drafts = n, "forgot previews nobody confirmed within a day"),
        Err(e) => tracing::warn!(error = %e, "cannot forget old previews; trying again in an hour"),
    }
}

type Outcomes = Vec<(i64, ItemOutcome, Option<i64>)>;

/// Chunks whose OpenIDs are read from the database in one query.
const WINDOW: usize = 20;

/// A chunk that has been sent, waiting to be recorded.
struct Sent {
    seq: i64,
    items: Vec<(i64, OpenId)>,
    outcomes: Outcomes,
}

/// The batchupdate calls of one chunk, each counted in the job before it goes out (see
/// "Counting calls" above).
struct Calls {
    job: i64,
    made: u32,
}

impl Calls {
    fn new(job: i64) -> Self {
        Calls { job, made: 0 }
    }

    /// Just before a call goes out. The chunk's first call was counted when the chunk was marked
    /// `sending` ([`prepare`]); each further one is counted (and committed) now.
    async fn before_call(&mut self, state: &AppState) -> Result<(), StoreError> {
        if self.made > 0 {
            state.store.job_call_made(self.job).await?;
        }
        self.made += 1;
        Ok(())
    }
}

async fn run_job(state: &AppState, runner: &Runner, job: JobRow) -> Result<(), StoreError> {
    let id = job.id;
    let to = GroupId::from_upstream(job.to_group);
    if job.state == JobState::Queued {
        tracing::info!(job = id, total = job.total, to = %to, "batch job: started");
    } else {
        tracing::info!(job = id, "batch job: resuming after a restart");
    }
    state.store.job_start(id).await?;
    let chunks = state.store.job_unfinished_chunks(id).await?;
    // The chunk sent last and not yet recorded. Recording a chunk (one transaction) takes a few
    // milliseconds; it runs while the next chunk waits for its slot and is sent, so the calls
    // keep the configured pace instead of waiting for the database in between.
    let mut unrecorded: Option<Sent> = None;
    let mut stopped = None;
    'chunks: for window in chunks.chunks(WINDOW) {
        let (first, last) = (window[0].0, window[window.len() - 1].0);
        let mut open: HashMap<i64, Vec<(i64, OpenId)>> = HashMap::new();
        for item in state.store.job_open_items(id, first, last).await? {
            // Every stored OpenID passed `OpenId::parse` at preview; one that no longer does
            // (a hand-edited database) is left without an outcome and ends as failed.
            if let Ok(openid) = OpenId::parse(&item.openid) {
                open.entry(item.seq).or_default().push((item.pos, openid));
            }
        }
        for &(seq, was_sending) in window {
            if state.store.job_cancel_requested(id).await? {
                stopped = Some((JobState::Cancelled, None));
                break 'chunks;
            }
            let items = open.remove(&seq).unwrap_or_default();
            let to_send = prepare(state, id, seq, was_sending, &items, to).await?;
            let (recorded, sending) = tokio::join!(
                record(state, id, to, unrecorded.take()),
                send(state, runner, (id, seq), items, to_send, to),
            );
            recorded?;
            // A count that cannot be written stops the job here with the chunk still `sending`:
            // the next run re-checks it, as after a crash.
            let (sent, abort) = sending?;
            unrecorded = Some(sent);
            if let Some(error) = abort {
                tracing::warn!(job = id, error = %error, "batch job: stopped");
                stopped = Some((JobState::Failed, Some(error)));
                break 'chunks;
            }
        }
    }
    // Whatever happened, the last chunk sent is recorded before the job is finished (finishing
    // marks every OpenID still without an outcome as failed or cancelled).
    record(state, id, to, unrecorded.take()).await?;
    let (end, error) = stopped.unwrap_or((JobState::Done, None));
    let job = state
        .store
        .job_finish(
            id,
            end,
            error.as_ref().and_then(WeChatError::code),
            error.as_ref().map(ToString::to_string).as_deref(),
            &audit_summary,
        )
        .await?;
    if let Some(job) = job {
        tracing::info!(
            job = id,
            state = job.state.as_str(),
            moved = job.moved,
            invalid = job.invalid,
            failed = job.failed,
            cancelled = job.cancelled,
            calls = job.calls,
            "batch job: finished"
        );
    }
    // The group list is read again (one `groups/get`) so every count is right.
    state.groups.refresh(&state.client).await;
    Ok(())
}

/// What of a chunk's OpenIDs is still to be sent. A chunk a stopped process was sending is
/// re-checked first; the chunk is marked `sending` (committed, with its first call counted)
/// before anything is sent.
async fn prepare(
    state: &AppState,
    id: i64,
    seq: i64,
    was_sending: bool,
    items: &[(i64, OpenId)],
    to: GroupId,
) -> Result<Vec<(i64, OpenId)>, StoreError> {
    let mut to_send = items.to_vec();
    if was_sending && !to_send.is_empty() {
        let ids: Vec<OpenId> = to_send.iter().map(|(_, o)| o.clone()).collect();
        match state.client.follower_infos(&ids).await {
            Ok(infos) => {
                let there: std::collections::HashSet<String> = infos
                    .into_iter()
                    .filter(|i| i.group == Some(to))
                    .map(|i| i.openid.to_string())
                    .collect();
                tracing::info!(
                    job = id,
                    chunk = seq,
                    already = there.len(),
                    of = to_send.len(),
                    "batch job: re-checked a chunk interrupted mid-call"
                );
                to_send.retain(|(_, o)| !there.contains(o.as_str()));
            }
            Err(e) => tracing::info!(
                job = id,
                chunk = seq,
                error = %e,
                "batch job: cannot re-check an interrupted chunk; sending it again (an absolute write)"
            ),
        }
    }
    if !to_send.is_empty() {
        state.store.job_chunk_sending(id, seq).await?;
    }
    Ok(to_send)
}

/// Sends what [`prepare`] left of chunk `seq` of job `id`. The OpenIDs a re-check found already
/// moved count as moved. Answers the chunk with every outcome, and the error that stops the whole
/// job if one came.
async fn send(
    state: &AppState,
    runner: &Runner,
    (id, seq): (i64, i64),
    items: Vec<(i64, OpenId)>,
    to_send: Vec<(i64, OpenId)>,
    to: GroupId,
) -> Result<(Sent, Option<WeChatError>), StoreError> {
    let sending: std::collections::HashSet<i64> = to_send.iter().map(|(p, _)| *p).collect();
    let mut outcomes: Outcomes = items
        .iter()
        .filter(|(pos, _)| !sending.contains(pos))
        .map(|(pos, _)| (*pos, ItemOutcome::Moved, None))
        .collect();
    let mut abort = None;
    if !to_send.is_empty() {
        let mut calls = Calls::new(id);
        let (done, stop) = narrow(state, runner, to_send, to, &mut calls).await?;
        outcomes.extend(done);
        abort = stop;
    }
    let sent = Sent {
        seq,
        items,
        outcomes,
    };
    Ok((sent, abort))
}

/// Records a sent chunk (outcomes, chunk done, counters, followers' new group: one transaction)
/// and lets the cached group counts follow.
async fn record(
    state: &AppState,
    id: i64,
    to: GroupId,
    sent: Option<Sent>,
) -> Result<(), StoreError> {
    let Some(sent) = sent else {
        return Ok(());
    };
    let moved_at: std::collections::HashSet<i64> = sent
        .outcomes
        .iter()
        .filter(|(_, o, _)| *o == ItemOutcome::Moved)
        .map(|(pos, _, _)| *pos)
        .collect();
    let moved: Vec<&str> = sent
        .items
        .iter()
        .filter(|(pos, _)| moved_at.contains(pos))
        .map(|(_, o)| o.as_str())
        .collect();
    let from = state
        .store
        .job_chunk_done(
            id,
            sent.seq,
            ChunkDone {
                outcomes: &sent.outcomes,
                moved: &moved,
                to_group: to.get(),
            },
        )
        .await?;
    // The group list's counts follow, for the followers whose group we knew; the list is read
    // again when the job ends to catch the rest.
    for (from, n) in from {
        state.groups.moved(GroupId::from_upstream(from), to, n);
    }
    Ok(())
}

/// Sends `list` in the order given, splitting refused parts down to the bad OpenIDs. Answers
/// every OpenID's outcome, and the error that stops the whole job (the target group is gone,
/// the daily quota is used up) if one came; a store error only if a call could not be counted.
async fn narrow(
    state: &AppState,
    runner: &Runner,
    list: Vec<(i64, OpenId)>,
    to: GroupId,
    calls: &mut Calls,
) -> Result<(Outcomes, Option<WeChatError>), StoreError> {
    let mut out = Vec::with_capacity(list.len());
    // A stack of parts still to send; the first part is on top.
    let mut stack = vec![list];
    while let Some(part) = stack.pop() {
        let ids: Vec<OpenId> = part.iter().map(|(_, o)| o.clone()).collect();
        match send_paced(state, runner, &ids, to, calls).await? {
            Ok(()) => out.extend(part.iter().map(|(p, _)| (*p, ItemOutcome::Moved, None))),
            Err(e) if matches!(e.code(), Some(40003 | 46004 | 49003)) => {
                if part.len() == 1 {
                    out.push((part[0].0, ItemOutcome::Invalid, e.code()));
                } else {
                    let mid = part.len().div_ceil(2);
                    let (first, second) = part.split_at(mid);
                    stack.push(second.to_vec());
                    stack.push(first.to_vec());
                }
            }
            Err(e) if matches!(e.code(), Some(40050 | 45009)) => {
                return Ok((out, Some(e)));
            }
            Err(e) => {
                out.extend(
                    part.iter()
                        .map(|(p, _)| (*p, ItemOutcome::Failed, e.code())),
                );
            }
        }
    }
    Ok((out, None))
}

/// One batchupdate in its pacing slot, counted before it goes out; 45011 waits and tries
/// again, a failure in transit is tried again a few times. The outer error: a call could not be
/// counted, so it was not made.
async fn send_paced(
    state: &AppState,
    runner: &Runner,
    ids: &[OpenId],
    to: GroupId,
    calls: &mut Calls,
) -> Result<Result<(), WeChatError>, StoreError> {
    let mut transit = 0;
    loop {
        runner.pace().await;
        calls.before_call(state).await?;
        match state.client.move_users(ids, to).await {
            Err(e) if e.code() == Some(45011) => {
                tracing::info!(
                    wait_ms = runner.settings.quota_backoff.as_millis() as u64,
                    "batch job: WeChat's per-minute quota is reached; waiting"
                );
                tokio::time::sleep(runner.settings.quota_backoff).await;
            }
            Err(e @ (WeChatError::Transport { .. } | WeChatError::CircuitOpen { .. }))
                if transit + 1 < TRANSIT_ATTEMPTS =>
            {
                transit += 1;
                tracing::info!(error = %e, "batch job: call failed in transit; trying again");
                tokio::time::sleep(
                    runner
                        .settings
                        .quota_backoff
                        .min(std::time::Duration::from_secs(5)),
                )
                .await;
            }
            other => return Ok(other),
        }
    }
}
