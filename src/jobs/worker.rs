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
    jobs::Runner,
    store::{ItemOutcome, JobRow, JobState, Outcome, StoreError},
    web::AppState,
    wechat::WeChatError,
};

/// Attempts for a list whose call failed in transit (after the client's own retries).
const TRANSIT_ATTEMPTS: u32 = 3;

/// Writes jobs until the process ends.
pub(super) async fn job_loop(state: AppState, runner: Arc<Runner>) {
    loop {
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

type Outcomes = Vec<(i64, ItemOutcome, Option<i64>)>;

async fn run_job(state: &AppState, runner: &Runner, job: JobRow) -> Result<(), StoreError> {
    let id = job.id;
    let to = GroupId::from_upstream(job.to_group);
    if job.state == JobState::Queued {
        tracing::info!(job = id, total = job.total, to = %to, "batch job: started");
    } else {
        tracing::info!(job = id, "batch job: resuming after a restart");
    }
    state.store.job_start(id).await?;
    for (seq, was_sending) in state.store.job_unfinished_chunks(id).await? {
        if state.store.job_cancel_requested(id).await? {
            state
                .store
                .job_finish(id, JobState::Cancelled, None, None)
                .await?;
            return finish(state, id).await;
        }
        let mut to_send: Vec<(i64, OpenId)> = state
            .store
            .job_chunk_items(id, seq)
            .await?
            .into_iter()
            .filter(|i| i.outcome.is_none())
            .filter_map(|i| OpenId::parse(&i.openid).ok().map(|o| (i.pos, o)))
            .collect();
        let mut outcomes: Outcomes = Vec::new();
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
                    to_send.retain(|(pos, o)| {
                        if there.contains(o.as_str()) {
                            outcomes.push((*pos, ItemOutcome::Moved, None));
                            false
                        } else {
                            true
                        }
                    });
                }
                Err(e) => tracing::info!(
                    job = id,
                    chunk = seq,
                    error = %e,
                    "batch job: cannot re-check an interrupted chunk; sending it again (an absolute write)"
                ),
            }
        }
        let mut calls = 0u32;
        let mut abort = None;
        if !to_send.is_empty() {
            state.store.job_chunk_sending(id, seq).await?;
            let (done, stop) = narrow(state, runner, to_send, to, &mut calls).await;
            outcomes.extend(done);
            abort = stop;
        }
        let moved_ids: Vec<String> = {
            let items = state.store.job_chunk_items(id, seq).await?;
            let by_pos: HashMap<i64, String> =
                items.into_iter().map(|i| (i.pos, i.openid)).collect();
            outcomes
                .iter()
                .filter(|(_, o, _)| *o == ItemOutcome::Moved)
                .filter_map(|(pos, _, _)| by_pos.get(pos).cloned())
                .collect()
        };
        let refs: Vec<&str> = moved_ids.iter().map(String::as_str).collect();
        let before = state.store.follower_groups(&refs).await?;
        state
            .store
            .job_chunk_done(id, seq, &outcomes, calls)
            .await?;
        state.store.followers_moved(&refs, to.get()).await?;
        // The group list's counts follow, for the followers whose group we knew; the list is
        // read again when the job ends to catch the rest.
        let mut from_counts: HashMap<u32, u64> = HashMap::new();
        for g in before.values() {
            *from_counts.entry(*g).or_default() += 1;
        }
        for (from, n) in from_counts {
            state.groups.moved(GroupId::from_upstream(from), to, n);
        }
        if let Some(error) = abort {
            tracing::warn!(job = id, error = %error, "batch job: stopped");
            state
                .store
                .job_finish(id, JobState::Failed, error.code(), Some(&error.to_string()))
                .await?;
            return finish(state, id).await;
        }
    }
    state
        .store
        .job_finish(id, JobState::Done, None, None)
        .await?;
    finish(state, id).await
}

/// Sends `list` in the order given, splitting refused parts down to the bad OpenIDs. Answers
/// every OpenID's outcome, and the error that stops the whole job (the target group is gone,
/// the daily quota is used up) if one came.
async fn narrow(
    state: &AppState,
    runner: &Runner,
    list: Vec<(i64, OpenId)>,
    to: GroupId,
    calls: &mut u32,
) -> (Outcomes, Option<WeChatError>) {
    let mut out = Vec::with_capacity(list.len());
    // A stack of parts still to send; the first part is on top.
    let mut stack = vec![list];
    while let Some(part) = stack.pop() {
        let ids: Vec<OpenId> = part.iter().map(|(_, o)| o.clone()).collect();
        match send_paced(state, runner, &ids, to, calls).await {
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
                return (out, Some(e));
            }
            Err(e) => {
                out.extend(
                    part.iter()
                        .map(|(p, _)| (*p, ItemOutcome::Failed, e.code())),
                );
            }
        }
    }
    (out, None)
}

/// One batchupdate in its pacing slot; 45011 waits and tries again, a failure in transit is
/// tried again a few times.
async fn send_paced(
    state: &AppState,
    runner: &Runner,
    ids: &[OpenId],
    to: GroupId,
    calls: &mut u32,
) -> Result<(), WeChatError> {
    let mut transit = 0;
    loop {
        runner.pace().await;
        *calls += 1;
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
            other => return other,
        }
    }
}

/// After a job ends: its audit row gets the outcome and totals, the group list is read again
/// (one `groups/get`) so every count is right.
async fn finish(state: &AppState, id: i64) -> Result<(), StoreError> {
    let Some(job) = state.store.job(id).await? else {
        return Ok(());
    };
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
    if let Some(audit_id) = job.audit_id {
        let outcome = match job.state {
            JobState::Done if job.failed == 0 => Outcome::Ok,
            JobState::Cancelled => Outcome::Ok,
            _ => Outcome::Failed,
        };
        let detail = format!(
            "{}: moved {}, invalid {}, failed {}, cancelled {} of {} ({} calls){}",
            job.state.as_str(),
            job.moved,
            job.invalid,
            job.failed,
            job.cancelled,
            job.total,
            job.calls,
            job.error
                .as_deref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default()
        );
        state
            .store
            .audit_finish(audit_id, outcome, None, Some(&detail))
            .await?;
    }
    state.groups.refresh(&state.client).await;
    Ok(())
}
