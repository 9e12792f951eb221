//! The background worker: one task writes one job at a time, chunk by chunk, step by step.
//!
//! A job's action decides its chunks' calls (`steps.rs`): a group move, a tagging, an untagging
//! or a blacklist change is one call per chunk; a retag (move from tag A to tag B) is two, untag
//! A then tag B. An "untag everyone" job first reads its list from WeChat (`listing.rs`); a copy
//! of groups into tags first finds or creates each group's tag (`copying.rs`).
//!
//! ## Crash safety
//! A chunk's row says `sending` at its step (committed) before the step's upstream call, and the
//! step is settled in the same transaction as its OpenIDs' outcomes: the chunk is then `done`
//! (its last step) or `pending` at its next step. So after a crash every chunk is in one of
//! these states:
//! - `done`: never looked at again, so a finished chunk is never sent twice;
//! - `pending` at step k: step k was never sent; sent now;
//! - `sending` at step k: the process died around the call, and WeChat may or may not have
//!   carried it out. The chunk is *re-checked* with one `user/info/batchget` (a read, ≤ 100
//!   OpenIDs): those for whom the step is already done (in the target group; carrying the tag
//!   given; no longer carrying the tag taken off) count as done without another write, and only
//!   the rest are sent. If the re-check itself fails (e.g. the chunk holds an OpenID WeChat does
//!   not know), the step is sent again: moving, tagging and untagging are absolute writes, so
//!   doing one twice is harmless. A blacklist step cannot be re-checked (batchget does not say
//!   who is blacklisted, and reading the whole blacklist for 20 OpenIDs is out of proportion):
//!   it is sent again, and blacklisting someone twice is just as harmless.
//!
//! A chunk's last step is recorded while the next chunk is sent (the database work overlaps the
//! upstream call), so a crash can leave two chunks `sending`; each is re-checked on its own.
//!
//! ## Two steps (a retag, A → B)
//! Per chunk: `pending/0 → sending/0` (untag A sent) `→ pending/1` (untagged) `→ sending/1`
//! (tag B sent) `→ done`. Untag comes first because a follower carrying 20 tags, A among them,
//! can take B only once A is off (45059). A re-check at step 0 skips those already without A,
//! at step 1 those already with B, so after a kill -9 at any moment and a restart every OpenID
//! ends with B and without A, and no step of a chunk is carried out twice.
//!
//! The price of untagging first: between the two steps a follower carries neither A nor B, and
//! if the second step fails for them (refused on their own, failed, or the job stopped between
//! the two steps, e.g. B deleted meanwhile) that is where they stay. Their outcome is settled at
//! step 1 (`job_items.step`), and the job's page and outcome CSV report each of them as "tag A
//! removed, tag B not given", so the operator knows exactly who to fix. Those refused at step 0
//! (an unknown OpenID) keep their tags as they were.
//!
//! ## Counting calls
//! The job's `calls` (its audit row says "(N calls)") must match what reached WeChat, the call a
//! crash cut off included. So a call is counted before it goes out, never after its answer: a
//! step's first call in the same transaction that marks it `sending`, each further call of the
//! step (narrowing, a 45011 repeat, a retry in transit) by a write just before it. A crash between
//! the count and the request leaving counts one call too many; counting after the answer lost one
//! for every crash in the middle of a call, which is where a crash is most likely to land. The
//! client's own retries inside one call are not seen here and not counted. A copy's creates are
//! counted the same way (before each); the reads (re-checks, the tag list) are not.
//!
//! ## Narrowing
//! The batch calls are all or nothing: one OpenID WeChat refuses on its own (40003 unknown,
//! 46004, 49003 another account's, 45059 already 20 tags when tagging) refuses the whole chunk.
//! The chunk is then split in halves (the first half is the larger), each half sent on its own,
//! and a refused half split again, down to single OpenIDs: good OpenIDs still go through and
//! exactly the bad ones are reported, with WeChat's errcode. A chunk of 50 with one bad OpenID
//! costs 1 + 2 × depth calls (depth 5 or 6).
//!
//! ## Stopping
//! Some answers no further call can escape: the target group gone (40050), the tag gone (45159),
//! the daily quota used up (45009), the tags API not authorised (48001). The job stops there
//! with that error; every OpenID not yet carried out is reported failed with its code ("not
//! sent"), nothing silently dropped. A 45159 is first checked against the tag list: WeChat has
//! answered it once for a tag created a moment before (WxJava#1850), so a tag still listed gets
//! the call once more.
//!
//! ## Pacing
//! Every batch call (narrowing ones included) waits for its slot: at most
//! `WXGROUPS_BATCH_PER_MINUTE` a minute. A 45011 (per-minute quota) waits
//! `WXGROUPS_BATCH_BACKOFF_MS` and sends the same OpenIDs again; it is not a failure.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use crate::{
    domain::{Api, GroupId, OpenId},
    jobs::{
        copying, listing,
        steps::{Call, Stop},
        summary::audit_summary,
    },
    state::{AppState, Runner},
    store::{ChunkDone, ChunkRow, Effect, ItemOutcome, JobAction, JobRow, JobState, StoreError},
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
    tokio::spawn(runner.jobs_lease.clone().keep());
    loop {
        // One writer per account across the deployment: this instance works while it holds
        // the account's lease (always, on SQLite), and takes it over when another's runs out.
        if !runner.jobs_lease.held() {
            runner.jobs_lease.acquire().await;
        }
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

/// A step that has been sent, waiting to be recorded.
struct Sent {
    job: i64,
    seq: i64,
    step: u8,
    /// The chunk's next step, or `None`: this was its last.
    next: Option<u8>,
    /// The outcomes settled at this step (at a step that is not the last: the refused only).
    outcomes: Outcomes,
    /// The OpenIDs the step was done for (they go on to the next step, if there is one).
    done: Vec<(i64, OpenId)>,
    effect: Effect,
}

/// How one OpenID fared in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepResult {
    Done,
    /// Refused on its own (narrowed down to it), with WeChat's errcode.
    Refused(Option<i64>),
    Failed(Option<i64>),
}

/// The batch calls of one step, each counted in the job before it goes out (see "Counting
/// calls" above).
struct Calls {
    job: i64,
    made: u32,
}

impl Calls {
    fn new(job: i64) -> Self {
        Calls { job, made: 0 }
    }

    /// Just before a call goes out. The step's first call was counted when the chunk was marked
    /// `sending` ([`Run::prepare`]); each further one is counted (and committed) now.
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
    if job.state == JobState::Queued {
        tracing::info!(
            job = id,
            total = job.total,
            action = job.action.as_str(),
            to = job.to_group,
            "batch job: started"
        );
    } else {
        tracing::info!(job = id, "batch job: resuming after a restart");
    }
    state.store.job_start(id).await?;
    let mut stopped = None;
    if job.listing {
        stopped = listing::read_members(state, &job).await?;
    }
    let mut copy = copying::CopyTags::default();
    if job.action == JobAction::CopyGroups && stopped.is_none() {
        match copying::tags_for(state, &job).await? {
            Ok(tags) => copy = tags,
            Err(stop) => stopped = Some(stop),
        }
    }
    if stopped.is_none() {
        let run = Run {
            state,
            runner,
            job: &job,
            copy,
        };
        stopped = run.chunks().await?;
    }
    finish(state, &job, stopped).await
}

/// Ends the job (marking every OpenID still without an outcome) and lets the cached list's
/// counts follow.
async fn finish(state: &AppState, job: &JobRow, stopped: Option<Stop>) -> Result<(), StoreError> {
    let (end, error) = stopped.unwrap_or((JobState::Done, None));
    let done = state
        .store
        .job_finish(
            job.id,
            end,
            error.as_ref().and_then(WeChatError::code),
            error.as_ref().map(ToString::to_string).as_deref(),
            &audit_summary,
        )
        .await?;
    if let Some(job) = done {
        tracing::info!(
            job = job.id,
            state = job.state.as_str(),
            moved = job.moved,
            invalid = job.invalid,
            failed = job.failed,
            cancelled = job.cancelled,
            calls = job.calls,
            "batch job: finished"
        );
    }
    // The list is read again (one `groups/get` or `tags/get`) so every count is right. The
    // blacklist changes no count of it.
    if !matches!(job.action, JobAction::Blacklist | JobAction::Unblacklist) {
        state.groups.refresh(&state.client).await;
    }
    Ok(())
}

/// One run of a job's chunks.
struct Run<'a> {
    state: &'a AppState,
    runner: &'a Runner,
    job: &'a JobRow,
    /// A copy's tags, by group.
    copy: copying::CopyTags,
}

impl Run<'_> {
    /// Every unfinished chunk in order; answers why the job stopped early, if it did.
    async fn chunks(&self) -> Result<Option<Stop>, StoreError> {
        let id = self.job.id;
        let chunks = self.state.store.job_unfinished_chunks(id).await?;
        // The last step sent and not yet recorded. Recording a step (one transaction) takes a
        // few milliseconds; it runs while the next chunk waits for its slot and is sent, so the
        // calls keep the configured pace instead of waiting for the database in between.
        let mut unrecorded: Option<Sent> = None;
        let mut stopped = None;
        'chunks: for window in chunks.chunks(WINDOW) {
            let mut open = self.open_items(window).await?;
            for chunk in window {
                // A chunk half-way through its steps (a retag resumed after untagging) is
                // finished first: cancelling there would leave its followers with neither tag.
                if chunk.step == 0 && self.state.store.job_cancel_requested(id).await? {
                    stopped = Some((JobState::Cancelled, None));
                    break 'chunks;
                }
                let items = open.remove(&chunk.seq).unwrap_or_default();
                // A count that cannot be written stops the job here with the chunk still
                // `sending`: the next run re-checks it, as after a crash.
                if let Some(error) = self.chunk(*chunk, items, &mut unrecorded).await? {
                    tracing::warn!(job = id, error = %error, "batch job: stopped");
                    stopped = Some((JobState::Failed, Some(error)));
                    break 'chunks;
                }
            }
        }
        // Whatever happened, the last step sent is recorded before the job is finished.
        record(self.state, unrecorded.take()).await?;
        Ok(stopped)
    }

    /// The OpenIDs without an outcome in a window of chunks, by chunk.
    async fn open_items(
        &self,
        window: &[ChunkRow],
    ) -> Result<HashMap<i64, Vec<(i64, OpenId)>>, StoreError> {
        let (first, last) = (window[0].seq, window[window.len() - 1].seq);
        let mut open: HashMap<i64, Vec<(i64, OpenId)>> = HashMap::new();
        for item in self
            .state
            .store
            .job_open_items(self.job.id, first, last)
            .await?
        {
            // Every stored OpenID passed `OpenId::parse` at preview; one that no longer does
            // (a hand-edited database) is left without an outcome and ends as failed.
            if let Ok(openid) = OpenId::parse(&item.openid) {
                open.entry(item.seq).or_default().push((item.pos, openid));
            }
        }
        Ok(open)
    }

    /// One chunk through the steps it has left. The step sent before (`unrecorded`) is
    /// recorded while this chunk's first call goes out. Answers the error that stops the job.
    async fn chunk(
        &self,
        chunk: ChunkRow,
        mut items: Vec<(i64, OpenId)>,
        unrecorded: &mut Option<Sent>,
    ) -> Result<Option<WeChatError>, StoreError> {
        let copy_tag = chunk.group_id.and_then(|g| self.copy.tags.get(&g).copied());
        let calls = Call::plan(self.job, copy_tag);
        if calls.is_empty() {
            // A copied group whose tag could not be had: its members are reported with why.
            let code = chunk
                .group_id
                .and_then(|g| self.copy.failed.get(&g).copied().flatten());
            let sent = self.settled_unsent(chunk, items, code);
            record(self.state, unrecorded.replace(sent)).await?;
            return Ok(None);
        }
        let last = calls.len() as u8 - 1;
        let mut was_sending = chunk.sending;
        for step in chunk.step.min(last)..=last {
            let call = calls[usize::from(step)];
            let next = (step < last).then_some(step + 1);
            let to_send = self
                .prepare(chunk.seq, step, was_sending, &items, call)
                .await?;
            was_sending = false;
            let (recorded, sending) = tokio::join!(
                record(self.state, unrecorded.take()),
                self.send((chunk.seq, step, next), items, to_send, call),
            );
            recorded?;
            let (sent, abort) = sending?;
            if next.is_none() || abort.is_some() {
                *unrecorded = Some(sent);
                return Ok(abort);
            }
            // Settled before the next step is marked `sending`: only those done go on.
            items = sent.done.clone();
            record(self.state, Some(sent)).await?;
        }
        Ok(None)
    }

    /// A chunk nothing can be sent for, settled with every OpenID failed with `code`.
    fn settled_unsent(
        &self,
        chunk: ChunkRow,
        items: Vec<(i64, OpenId)>,
        code: Option<i64>,
    ) -> Sent {
        Sent {
            job: self.job.id,
            seq: chunk.seq,
            step: chunk.step,
            next: None,
            outcomes: items
                .iter()
                .map(|(pos, _)| (*pos, ItemOutcome::Failed, code))
                .collect(),
            done: Vec::new(),
            effect: Effect::None,
        }
    }

    /// What of a chunk's OpenIDs is still to be sent at `step`. A step a stopped process was
    /// sending is re-checked first; the chunk is marked `sending` (committed, with its first
    /// call counted) before anything is sent.
    async fn prepare(
        &self,
        seq: i64,
        step: u8,
        was_sending: bool,
        items: &[(i64, OpenId)],
        call: Call,
    ) -> Result<Vec<(i64, OpenId)>, StoreError> {
        let id = self.job.id;
        let mut to_send = items.to_vec();
        if was_sending && !to_send.is_empty() {
            if call.can_recheck() {
                let there = recheck(self.state, &to_send, call).await;
                if let Some(there) = &there {
                    tracing::info!(
                        job = id,
                        chunk = seq,
                        step,
                        already = there.len(),
                        of = to_send.len(),
                        "batch job: re-checked a chunk interrupted mid-call"
                    );
                    to_send.retain(|(_, o)| !there.contains(o.as_str()));
                }
            } else {
                tracing::info!(
                    job = id,
                    chunk = seq,
                    "batch job: a blacklist chunk was interrupted mid-call; sending it again (harmless twice)"
                );
            }
        }
        if !to_send.is_empty() {
            // Still this instance's to send: else another has taken the job over.
            self.runner.jobs_lease.check()?;
            self.state.store.job_chunk_sending(id, seq, step).await?;
        }
        Ok(to_send)
    }

    /// Sends what [`Self::prepare`] left of a chunk's step (`seq`, `step`, the chunk's `next`
    /// step). The OpenIDs a re-check found done count as done. Answers the step, and the error
    /// that stops the whole job if one came.
    async fn send(
        &self,
        (seq, step, next): (i64, u8, Option<u8>),
        items: Vec<(i64, OpenId)>,
        to_send: Vec<(i64, OpenId)>,
        call: Call,
    ) -> Result<(Sent, Option<WeChatError>), StoreError> {
        let sending: HashSet<i64> = to_send.iter().map(|(p, _)| *p).collect();
        let mut done: Vec<(i64, OpenId)> = items
            .into_iter()
            .filter(|(pos, _)| !sending.contains(pos))
            .collect();
        let mut outcomes = Outcomes::new();
        let mut abort = None;
        if !to_send.is_empty() {
            let mut calls = Calls::new(self.job.id);
            let (results, stop) =
                narrow(self.state, self.runner, to_send.clone(), call, &mut calls).await?;
            for (pos, openid, result) in results {
                match result {
                    StepResult::Done => done.push((pos, openid)),
                    StepResult::Refused(code) => outcomes.push((pos, ItemOutcome::Invalid, code)),
                    StepResult::Failed(code) => outcomes.push((pos, ItemOutcome::Failed, code)),
                }
            }
            abort = stop;
        }
        if next.is_none() {
            outcomes.extend(done.iter().map(|(pos, _)| (*pos, ItemOutcome::Moved, None)));
        } else if let Some(e) = &abort {
            // Stopped before the chunk's last step: those this step never reached are as they
            // were, and say so now. Those it did reach are left to the job's end, at the next
            // step ("A removed, B not given").
            let reached: HashSet<i64> = done
                .iter()
                .map(|(p, _)| *p)
                .chain(outcomes.iter().map(|(p, _, _)| *p))
                .collect();
            outcomes.extend(
                to_send
                    .iter()
                    .filter(|(p, _)| !reached.contains(p))
                    .map(|(p, _)| (*p, ItemOutcome::Failed, e.code())),
            );
        }
        let sent = Sent {
            job: self.job.id,
            seq,
            step,
            next,
            outcomes,
            done,
            effect: call.effect(),
        };
        Ok((sent, abort))
    }
}

/// The OpenIDs of `items` for which `call` is already done, as one `user/info/batchget` says;
/// `None` when it cannot say (the step is then sent again: harmless twice).
async fn recheck(state: &AppState, items: &[(i64, OpenId)], call: Call) -> Option<HashSet<String>> {
    let ids: Vec<OpenId> = items.iter().map(|(_, o)| o.clone()).collect();
    match state.client.follower_infos(&ids).await {
        Ok(infos) => Some(
            infos
                .into_iter()
                .filter(|i| call.already(i))
                .map(|i| i.openid.to_string())
                .collect(),
        ),
        Err(e) => {
            tracing::info!(error = %e, "batch job: cannot re-check an interrupted chunk; sending it again (an absolute write)");
            None
        }
    }
}

/// Records a sent step (outcomes, the chunk's new state, counters, the stored followers: one
/// transaction) and lets the cached group counts follow a move.
async fn record(state: &AppState, sent: Option<Sent>) -> Result<(), StoreError> {
    let Some(sent) = sent else {
        return Ok(());
    };
    let changed: Vec<&str> = sent.done.iter().map(|(_, o)| o.as_str()).collect();
    let from = state
        .store
        .job_chunk_done(
            sent.job,
            sent.seq,
            ChunkDone {
                outcomes: &sent.outcomes,
                changed: &changed,
                effect: sent.effect,
                step: sent.step,
                next: sent.next,
            },
        )
        .await?;
    // The group list's counts follow, for the followers whose group we knew; the list is read
    // again when the job ends to catch the rest.
    if let Effect::Moved(to) = sent.effect {
        for (from, n) in from {
            state
                .groups
                .moved(GroupId::from_upstream(from), GroupId::from_upstream(to), n)
                .await;
        }
    }
    Ok(())
}

/// Sends `list` in the order given, splitting refused parts down to the bad OpenIDs. Answers
/// every OpenID's result, and the error that stops the whole job (see "Stopping") if one came;
/// a store error only if a call could not be counted.
async fn narrow(
    state: &AppState,
    runner: &Runner,
    list: Vec<(i64, OpenId)>,
    call: Call,
    calls: &mut Calls,
) -> Result<(Vec<(i64, OpenId, StepResult)>, Option<WeChatError>), StoreError> {
    let mut out = Vec::with_capacity(list.len());
    // A stack of parts still to send; the first part is on top.
    let mut stack = vec![list];
    while let Some(part) = stack.pop() {
        let ids: Vec<OpenId> = part.iter().map(|(_, o)| o.clone()).collect();
        match send_paced(state, runner, &ids, call, calls).await? {
            Ok(()) => out.extend(part.into_iter().map(|(p, o)| (p, o, StepResult::Done))),
            Err(e) if e.code().is_some_and(|c| call.narrows(c)) => {
                if part.len() == 1 {
                    let (p, o) = part.into_iter().next().expect("one");
                    out.push((p, o, StepResult::Refused(e.code())));
                } else {
                    let mid = part.len().div_ceil(2);
                    let (first, second) = part.split_at(mid);
                    stack.push(second.to_vec());
                    stack.push(first.to_vec());
                }
            }
            Err(e) if e.code().is_some_and(|c| call.stops(c)) => return Ok((out, Some(e))),
            Err(e) => {
                let code = e.code();
                out.extend(
                    part.into_iter()
                        .map(|(p, o)| (p, o, StepResult::Failed(code))),
                );
            }
        }
    }
    Ok((out, None))
}

/// One batch call in its pacing slot, counted before it goes out; 45011 waits and tries again,
/// a failure in transit is tried again a few times, a 45159 for a tag still listed once. The
/// outer error: a call could not be counted, so it was not made.
async fn send_paced(
    state: &AppState,
    runner: &Runner,
    ids: &[OpenId],
    call: Call,
    calls: &mut Calls,
) -> Result<Result<(), WeChatError>, StoreError> {
    let mut transit = 0;
    let mut tag_checked = false;
    loop {
        runner.pace().await;
        calls.before_call(state).await?;
        match call.send(&state.client, ids).await {
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
            Err(e) if e.code() == Some(45159) && !tag_checked && tag_listed(state, call).await => {
                tag_checked = true;
                tracing::info!(
                    "batch job: WeChat said 45159 (no such tag) but lists the tag; trying once more"
                );
            }
            other => return Ok(other),
        }
    }
}

/// The tag `call` names is in the tag list WeChat has now (one `tags/get`).
async fn tag_listed(state: &AppState, call: Call) -> bool {
    let Some(tag) = call.tag() else {
        return false;
    };
    match state.client.get_list(Api::Tags).await {
        Ok(tags) => tags.iter().any(|t| t.id == tag),
        Err(e) => {
            tracing::info!(error = %e, "batch job: cannot read the tag list after a 45159");
            false
        }
    }
}
