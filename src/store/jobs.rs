//! Batch jobs: the job, its chunks of at most 50 OpenIDs (20 for the blacklist), and every
//! OpenID's outcome.
//!
//! A job has a [`JobAction`]: a group move (the original jobs) or one of the tags API's (tag,
//! untag, retag, blacklist, unblacklist, copy groups into tags; `copies.rs` keeps a copy's
//! groups). A chunk is at a *step*: every action has one, a retag two (untag A, then tag B).
//!
//! The worker's crash safety rests on two writes here: a chunk's step is marked `sending` (and
//! that is committed) before its upstream call, and settled in the same transaction as its
//! OpenIDs' outcomes and the job's counters: the chunk is `done` after its last step, and
//! `pending` at the next step otherwise.
//!
//! A job's `calls` are counted before they go out, never after the answer: the chunk's first call
//! in the transaction that marks it `sending`, each further one (narrowing, a 45011 repeat, a
//! retry in transit) by [`Store::job_call_made`] just before it. A call cut off by a crash has
//! reached WeChat and is counted; the price is that a crash in the moment between the count and
//! the request leaving counts one call that was never made.
//!
//! A job belongs to an account (`jobs.account`); its chunks, items and copied groups belong to it
//! through their job. Every call here that takes a job id finds it only among the handle's
//! account's jobs (the tables below `jobs` are read with `job_id = (SELECT id FROM jobs WHERE
//! id = ? AND account = ?)`, a primary-key lookup): another account's job id is, here, a job that
//! does not exist.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::QueryBuilder;

use crate::store::{Outcome, Store, StoreError, follower_tags, followers, operators::now_us};

mod copies;
pub use copies::CopyGroup;

/// OpenIDs per chunk: WeChat's limit for `groups/members/batchupdate` and the tagging calls.
pub const CHUNK: usize = 50;
/// OpenIDs per chunk of a blacklist job: WeChat's limit for `batchblacklist`.
pub const BLACKLIST_CHUNK: usize = 20;
const INSERT_ROWS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Draft,
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Draft => "draft",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "draft" => JobState::Draft,
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Failed,
        }
    }

    /// Finished one way or another: nothing more will be sent.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// What happened to one OpenID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    /// What the job does was done for it: moved, tagged, untagged, moved between tags,
    /// (un)blacklisted. Stored as "moved" whatever the action, as before there were actions.
    Moved,
    /// WeChat refused this OpenID on its own, found by narrowing (errcode kept): 40003 / 46004
    /// not a follower of this account, 49003 another account's, 45059 already 20 tags.
    Invalid,
    /// The call failed for another reason (errcode kept).
    Failed,
    Cancelled,
}

impl ItemOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Moved => "moved",
            ItemOutcome::Invalid => "invalid",
            ItemOutcome::Failed => "failed",
            ItemOutcome::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "moved" => ItemOutcome::Moved,
            "invalid" => ItemOutcome::Invalid,
            "failed" => ItemOutcome::Failed,
            "cancelled" => ItemOutcome::Cancelled,
            _ => return None,
        })
    }
}

/// What a job does to each OpenID of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobAction {
    /// Groups API: move to group `to_group` (`groups/members/batchupdate`).
    Move,
    /// Give tag `to_group` (`tags/members/batchtagging`).
    Tag,
    /// Take tag `to_group` off (`tags/members/batchuntagging`).
    Untag,
    /// Move from tag `from_tag` to tag `to_group`: per chunk, untag A, then tag B.
    Retag,
    /// Put on the blacklist (`tags/members/batchblacklist`).
    Blacklist,
    /// Take off the blacklist (`tags/members/batchunblacklist`).
    Unblacklist,
    /// Copy groups into tags: each chunk tags one group's stored members with its tag.
    CopyGroups,
}

impl JobAction {
    /// The actions a tags-mode operator may choose for a list (the copy has a form of its own).
    pub const FOR_LISTS: [JobAction; 5] = [
        JobAction::Tag,
        JobAction::Untag,
        JobAction::Retag,
        JobAction::Blacklist,
        JobAction::Unblacklist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Move => "move",
            JobAction::Tag => "tag",
            JobAction::Untag => "untag",
            JobAction::Retag => "retag",
            JobAction::Blacklist => "blacklist",
            JobAction::Unblacklist => "unblacklist",
            JobAction::CopyGroups => "copy_groups",
        }
    }

    /// The action named `s` (as stored, and as forms and query strings write it).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "move" => JobAction::Move,
            "tag" => JobAction::Tag,
            "untag" => JobAction::Untag,
            "retag" => JobAction::Retag,
            "blacklist" => JobAction::Blacklist,
            "unblacklist" => JobAction::Unblacklist,
            "copy_groups" => JobAction::CopyGroups,
            _ => return None,
        })
    }

    /// OpenIDs per chunk: what one call of the action takes.
    pub fn chunk(self) -> usize {
        match self {
            JobAction::Blacklist | JobAction::Unblacklist => BLACKLIST_CHUNK,
            _ => CHUNK,
        }
    }

    /// Calls per chunk when nothing is refused: a retag untags, then tags.
    pub fn steps(self) -> u8 {
        match self {
            JobAction::Retag => 2,
            _ => 1,
        }
    }

    /// The audit log's action for a job of this kind.
    pub fn audit_action(self) -> &'static str {
        match self {
            JobAction::Move => "batch_move",
            JobAction::Tag => "batch_tag",
            JobAction::Untag => "batch_untag",
            JobAction::Retag => "batch_retag",
            JobAction::Blacklist => "batch_blacklist",
            JobAction::Unblacklist => "batch_unblacklist",
            JobAction::CopyGroups => "copy_groups",
        }
    }
}

/// What a new job does, beyond who asked and its target ([`NewJob`]).
#[derive(Debug, Clone, Copy)]
pub struct JobPlan<'a> {
    pub action: JobAction,
    /// The target's name as the list has it now: kept with the job, so its pages can name it
    /// while the list is not loaded.
    pub to_name: Option<&'a str>,
    /// A retag's tag A, with its name.
    pub from: Option<(u32, Option<&'a str>)>,
    /// The list is read from WeChat when the job starts (everyone carrying the tag).
    pub listing: bool,
}

impl<'a> JobPlan<'a> {
    /// A plan for `action` with `to_name`, nothing else.
    pub fn new(action: JobAction, to_name: Option<&'a str>) -> Self {
        JobPlan {
            action,
            to_name,
            from: None,
            listing: false,
        }
    }
}

/// Who asked for a job and what it does.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub operator: String,
    pub source: String,
    pub ip: Option<String>,
    pub to_group: u32,
    /// "list" (pasted or uploaded), "group:ID" (members of a group), "tag:ID" (members of a
    /// tag), "tag:ID:all" (everyone carrying it, read from WeChat), "groups" (a copy).
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub state: JobState,
    pub operator: String,
    pub source: String,
    pub ip: Option<String>,
    pub to_group: u32,
    pub origin: String,
    pub total: i64,
    pub moved: i64,
    pub invalid: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Upstream batchupdate calls made so far, each counted before it went out (so a call cut
    /// off by a crash is among them).
    pub calls: i64,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub audit_id: Option<i64>,
    /// The target group's name when the job was created (`None` for jobs from before it was
    /// stored, or when the group list did not name the group).
    pub to_group_name: Option<String>,
    pub action: JobAction,
    /// A retag's tag A and its name when the job was created.
    pub from_tag: Option<u32>,
    pub from_name: Option<String>,
    /// The list is still being read from WeChat (see `Store::job_list_page`).
    pub listing: bool,
    /// The account the job writes to (the handle's, but for [`Store::jobs_orphaned`]).
    pub account: String,
}

impl JobRow {
    pub fn settled(&self) -> i64 {
        self.moved + self.invalid + self.failed + self.cancelled
    }
    pub fn remaining(&self) -> i64 {
        (self.total - self.settled()).max(0)
    }
}

const JOB_COLUMNS: &str = "id, state, operator, source, ip, to_group, origin, total, \
    moved, invalid, failed, cancelled, calls, cancel_requested, \
    created_at, queued_at, started_at, finished_at, error, audit_id, to_group_name, \
    action, from_tag, from_name, listing, account";

fn job_row(r: sqlx::any::AnyRow) -> Result<JobRow, sqlx::Error> {
    use sqlx::Row;
    Ok(JobRow {
        id: r.try_get(0)?,
        state: JobState::parse(&r.try_get::<String, _>(1)?),
        operator: r.try_get(2)?,
        source: r.try_get(3)?,
        ip: r.try_get(4)?,
        to_group: u32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
        origin: r.try_get(6)?,
        total: r.try_get(7)?,
        moved: r.try_get(8)?,
        invalid: r.try_get(9)?,
        failed: r.try_get(10)?,
        cancelled: r.try_get(11)?,
        calls: r.try_get(12)?,
        cancel_requested: r.try_get::<i64, _>(13)? != 0,
        created_at: r.try_get(14)?,
        queued_at: r.try_get(15)?,
        started_at: r.try_get(16)?,
        finished_at: r.try_get(17)?,
        error: r.try_get(18)?,
        audit_id: r.try_get(19)?,
        to_group_name: r.try_get(20)?,
        // The column's CHECK admits only the names `parse` knows.
        action: JobAction::parse(&r.try_get::<String, _>(21)?).unwrap_or(JobAction::Move),
        from_tag: r
            .try_get::<Option<i64>, _>(22)?
            .and_then(|t| u32::try_from(t).ok()),
        from_name: r.try_get(23)?,
        listing: r.try_get::<i64, _>(24)? != 0,
        account: r.try_get(25)?,
    })
}

/// One OpenID of a job.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub pos: i64,
    pub seq: i64,
    pub openid: String,
    pub outcome: Option<ItemOutcome>,
    pub errcode: Option<i64>,
    /// The step its outcome was settled at (see the migration 0007): for a retag, 1 without
    /// `Moved` means it carries neither tag.
    pub step: Option<i64>,
}

/// A chunk still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRow {
    pub seq: i64,
    /// Its step was being sent when the process stopped: the worker re-checks it first.
    pub sending: bool,
    /// The step it is at (0, or 1 for a retag that has untagged).
    pub step: u8,
    /// A copy's chunk: the group whose members it holds.
    pub group_id: Option<u32>,
}

/// What a settled step changed for the OpenIDs it was carried out for, recorded with their
/// outcomes so the stored followers follow WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing stored changes (the blacklist is not stored).
    None,
    /// They are in this group now.
    Moved(u32),
    /// They carry this tag now.
    Tagged(u32),
    /// They no longer carry this tag.
    Untagged(u32),
}

/// An outcome with WeChat's errcode: OpenIDs that share one are updated by one statement.
type OutcomeKind = (ItemOutcome, Option<i64>);

/// What a settled step of a chunk writes (see [`Store::job_chunk_done`]). Its calls are not
/// here: each was counted before it went out.
#[derive(Debug, Clone, Copy)]
pub struct ChunkDone<'a> {
    /// The outcomes settled at this step: position in the job, outcome, WeChat's errcode. At a
    /// step that is not the last, only the refused: the rest go on to the next step.
    pub outcomes: &'a [(i64, ItemOutcome, Option<i64>)],
    /// The OpenIDs the step was carried out for, and what that changed for them.
    pub changed: &'a [&'a str],
    pub effect: Effect,
    /// The step settled.
    pub step: u8,
    /// The chunk's next step (`pending`), or `None`: the chunk is done.
    pub next: Option<u8>,
}

/// What the audit log says of a finished job: its outcome and a one-line summary. Written in
/// the same transaction that ends the job, so the log never says "pending" (or, after a
/// restart, "unknown") about a job that ended.
pub type Describe<'a> = &'a (dyn Fn(&JobRow) -> (Outcome, String) + Send + Sync);

/// What asking to cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelResult {
    /// It had not started: cancelled now.
    Cancelled,
    /// It is running: the worker stops before its next chunk.
    Requested,
    /// Asked before (cancelling twice is harmless) or already finished.
    AlreadyFinal,
    NotFound,
}

impl Store {
    /// Stores a previewed list as a draft group move, chunked in 50s. Nothing runs until it is
    /// confirmed.
    ///
    /// `to_name` is the target group's name as the group list has it now: kept with the job so
    /// that its pages can name the group while the list is not loaded.
    pub async fn job_create_draft(
        &self,
        job: &NewJob,
        to_name: Option<&str>,
        openids: &[String],
    ) -> Result<i64, StoreError> {
        self.job_create(job, &JobPlan::new(JobAction::Move, to_name), openids)
            .await
    }

    /// Stores a previewed list as a draft job that does `plan`, chunked as its action's calls
    /// take them. Nothing runs until it is confirmed.
    pub async fn job_create(
        &self,
        job: &NewJob,
        plan: &JobPlan<'_>,
        openids: &[String],
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_job(&mut tx, self.account(), job, plan, openids.len()).await?;
        let size = plan.action.chunk();
        let chunks: Vec<(i64, Option<u32>)> = (0..openids.len().div_ceil(size) as i64)
            .map(|seq| (seq, None))
            .collect();
        insert_chunks(&mut tx, id, &chunks).await?;
        let items: Vec<(i64, i64, &str)> = openids
            .iter()
            .enumerate()
            .map(|(pos, o)| (pos as i64, (pos / size) as i64, o.as_str()))
            .collect();
        insert_items(&mut tx, id, &items).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Appends one page of a listing job's list (read from WeChat as the job starts), with the
    /// checkpoint to read on from: `next` (`None`: the list is complete). One transaction, so
    /// a restart reads on from the last page stored, never stores a page twice.
    pub async fn job_list_page(
        &self,
        id: i64,
        openids: &[String],
        next: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT total, action FROM jobs WHERE id = $1 AND account = $2")
                .bind(id)
                .bind(self.account())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((total, action)) = found else {
            return Ok(());
        };
        let size = JobAction::parse(&action).unwrap_or(JobAction::Move).chunk() as i64;
        let items: Vec<(i64, i64, &str)> = openids
            .iter()
            .enumerate()
            .map(|(k, o)| (total + k as i64, (total + k as i64) / size, o.as_str()))
            .collect();
        let mut seqs: Vec<i64> = items.iter().map(|(_, seq, _)| *seq).collect();
        seqs.dedup();
        // The first chunk may have been begun by the page before.
        for part in seqs.chunks(INSERT_ROWS) {
            let mut q: QueryBuilder =
                QueryBuilder::new("INSERT INTO job_chunks (job_id, seq, state) ");
            q.push_values(part, |mut b, seq| {
                b.push_bind(id).push_bind(*seq).push_bind("pending");
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        insert_items(&mut tx, id, &items).await?;
        sqlx::query(
            "UPDATE jobs SET total = total + $1, list_next = $2, listing = $3 WHERE id = $4",
        )
        .bind(openids.len() as i64)
        .bind(next)
        .bind(i64::from(next.is_some()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where a listing job's reading goes on from (`None`: from the start).
    pub async fn job_list_next(&self, id: i64) -> Result<Option<String>, StoreError> {
        let (next,): (Option<String>,) =
            sqlx::query_as("SELECT list_next FROM jobs WHERE id = $1 AND account = $2")
                .bind(id)
                .bind(self.account())
                .fetch_one(&self.pool)
                .await?;
        Ok(next)
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND account = $2"
        ))
        .bind(id)
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(job_row).transpose()?)
    }

    /// The newest jobs (drafts left out).
    pub async fn jobs_recent(&self, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE account = $1 AND state <> 'draft'
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(self.account())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect::<Result<_, _>>()?)
    }

    /// How many jobs will write before this one (the account's: each account has its worker).
    pub async fn jobs_ahead(&self, id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM jobs
             WHERE state IN ('queued', 'running') AND account = $1 AND id < $2",
        )
        .bind(self.account())
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Draft → queued. False if it was not a draft (confirmed twice, or discarded).
    pub async fn job_confirm(&self, id: i64, audit_id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'queued', queued_at = $1, audit_id = $2
             WHERE id = $3 AND account = $4 AND state = 'draft'",
        )
        .bind(now_us())
        .bind(audit_id)
        .bind(id)
        .bind(self.account())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets the drafts created before `before` (µs since the epoch): previews nobody
    /// confirmed, each holding its whole list. Answers how many. The account's drafts: each
    /// account's worker purges its own.
    pub async fn job_drafts_purge(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE state = 'draft' AND account = $1 AND created_at < $2",
        )
        .bind(self.account())
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Forgets a draft.
    pub async fn job_discard(&self, id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM jobs WHERE id = $1 AND account = $2 AND state = 'draft'")
            .bind(id)
            .bind(self.account())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The job the account's worker should be writing: one left running by a stopped process
    /// first, then the oldest queued. Never another account's.
    pub async fn job_next(&self) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('running', 'queued') AND account = $1
             ORDER BY state = 'running' DESC, id LIMIT 1"
        ))
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(job_row).transpose()?)
    }

    /// The accounts that have queued or running jobs, deployment-wide (an account removed from
    /// the configuration while it had one is among them: see [`Self::jobs_orphaned`]).
    pub async fn job_accounts(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT account FROM jobs WHERE state IN ('queued', 'running') ORDER BY account",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Queued and running jobs, deployment-wide, whose account is none of `known` (the
    /// configured accounts' keys): no worker runs them, and nothing deletes them, so that they
    /// can be shown (each names its [`JobRow::account`]) and run again once the account is back.
    /// Oldest first.
    pub async fn jobs_orphaned(&self, known: &[&str]) -> Result<Vec<JobRow>, StoreError> {
        let mut q: QueryBuilder = QueryBuilder::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running')"
        ));
        if !known.is_empty() {
            q.push(" AND account NOT IN (");
            let mut sep = q.separated(", ");
            for key in known {
                sep.push_bind(*key);
            }
            q.push(")");
        }
        q.push(" ORDER BY id");
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(job_row).collect::<Result<_, _>>()?)
    }

    pub async fn job_start(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, $1)
             WHERE id = $2 AND account = $3 AND state = 'queued'",
        )
        .bind(now_us())
        .bind(id)
        .bind(self.account())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The chunks still to do, in order, with whether each was being sent when it stopped.
    pub async fn job_unfinished_chunks(&self, id: i64) -> Result<Vec<ChunkRow>, StoreError> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT seq, state, step, group_id FROM job_chunks
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
                 AND state <> 'done'
             ORDER BY seq",
        )
        .bind(id)
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, state, step, group)| ChunkRow {
                seq,
                sending: state == "sending",
                step: u8::try_from(step).unwrap_or(0),
                group_id: group.and_then(|g| u32::try_from(g).ok()),
            })
            .collect())
    }

    /// The OpenIDs without an outcome yet in chunks `from..=to`, by chunk and position: the
    /// worker reads a window of chunks at a time, not one query per chunk.
    pub async fn job_open_items(
        &self,
        id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<ItemRow>, StoreError> {
        let rows: Vec<ItemTuple> = sqlx::query_as(
            "SELECT pos, seq, openid, outcome, errcode, step FROM job_items
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
                 AND seq BETWEEN $3 AND $4 AND outcome IS NULL
             ORDER BY seq, pos",
        )
        .bind(id)
        .bind(self.account())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// Written and committed before the upstream call of the chunk's `step`, with that call
    /// counted in the same transaction: if the process dies during the call, the call (which
    /// may well have reached WeChat) is still in the job's count.
    pub async fn job_chunk_sending(&self, id: i64, seq: i64, step: u8) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // The job's row first: it finds only this account's job.
        let ours = sqlx::query("UPDATE jobs SET calls = calls + 1 WHERE id = $1 AND account = $2")
            .bind(id)
            .bind(self.account())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !ours {
            return Ok(());
        }
        sqlx::query(
            "UPDATE job_chunks SET state = 'sending', step = $1, sends = sends + 1
             WHERE job_id = $2 AND seq = $3",
        )
        .bind(i64::from(step))
        .bind(id)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one more upstream call of a chunk already marked `sending` (a narrowing half, a
    /// repeat after 45011, a retry in transit), committed just before the call goes out.
    pub async fn job_call_made(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET calls = calls + 1 WHERE id = $1 AND account = $2")
            .bind(id)
            .bind(self.account())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Everything a settled step changes, in one transaction: its OpenIDs' outcomes, the chunk
    /// marked done (or pending at its next step), the job's outcome counters, and the stored
    /// followers following the step's effect. Answers, for a move, how many of the moved
    /// followers came from each group (those the store knew), so the cached group counts can
    /// follow.
    pub async fn job_chunk_done(
        &self,
        id: i64,
        seq: i64,
        done: ChunkDone<'_>,
    ) -> Result<HashMap<u32, u64>, StoreError> {
        // IMMEDIATE: this transaction reads before it writes, and a deferred one that finds
        // another writer has committed meanwhile fails at once instead of waiting its turn.
        let mut tx = self.begin_write().await?;
        if !job_is_ours(&mut tx, id, self.account()).await? {
            return Ok(HashMap::new());
        }
        let counts = write_outcomes(&mut tx, id, done.outcomes, done.step).await?;
        let (state, step) = match done.next {
            Some(next) => ("pending", next),
            None => ("done", done.step),
        };
        sqlx::query("UPDATE job_chunks SET state = $1, step = $2 WHERE job_id = $3 AND seq = $4")
            .bind(state)
            .bind(i64::from(step))
            .bind(id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE jobs SET moved = moved + $1, invalid = invalid + $2, failed = failed + $3,
             cancelled = cancelled + $4 WHERE id = $5",
        )
        .bind(counts[0])
        .bind(counts[1])
        .bind(counts[2])
        .bind(counts[3])
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let from = apply_effect(&mut tx, self.account(), done.effect, done.changed).await?;
        tx.commit().await?;
        Ok(from)
    }

    /// Asks a job to stop. A queued job is cancelled at once; a running one before its next chunk.
    pub async fn job_request_cancel(
        &self,
        id: i64,
        describe: Describe<'_>,
    ) -> Result<CancelResult, StoreError> {
        let Some(job) = self.job(id).await? else {
            return Ok(CancelResult::NotFound);
        };
        match job.state {
            JobState::Queued => {
                self.job_finish(id, JobState::Cancelled, None, None, describe)
                    .await?;
                Ok(CancelResult::Cancelled)
            }
            JobState::Running if !job.cancel_requested => {
                sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND account = $2")
                    .bind(id)
                    .bind(self.account())
                    .execute(&self.pool)
                    .await?;
                Ok(CancelResult::Requested)
            }
            JobState::Draft => Ok(CancelResult::NotFound),
            _ => Ok(CancelResult::AlreadyFinal),
        }
    }

    pub async fn job_cancel_requested(&self, id: i64) -> Result<bool, StoreError> {
        // Flags are 0/1 integers on both engines (the `Any` driver decodes no integer as bool).
        let (c,): (i64,) =
            sqlx::query_as("SELECT cancel_requested FROM jobs WHERE id = $1 AND account = $2")
                .bind(id)
                .bind(self.account())
                .fetch_one(&self.pool)
                .await?;
        Ok(c != 0)
    }

    /// Ends a job. OpenIDs without an outcome get `cancelled` (a cancelled job) or `failed` with
    /// `errcode` (a failed one), at the step their chunk had reached (a retag's chunk that had
    /// untagged them says so); the counters and every chunk follow, and the job's audit row
    /// gets what `describe` says of it. Answers the finished job.
    pub async fn job_finish(
        &self,
        id: i64,
        state: JobState,
        errcode: Option<i64>,
        error: Option<&str>,
        describe: Describe<'_>,
    ) -> Result<Option<JobRow>, StoreError> {
        let leftover = if state == JobState::Cancelled {
            ItemOutcome::Cancelled
        } else {
            ItemOutcome::Failed
        };
        // IMMEDIATE: the job is looked for (read) before anything is written.
        let mut tx = self.begin_write().await?;
        if !job_is_ours(&mut tx, id, self.account()).await? {
            return Ok(None);
        }
        let n = sqlx::query(
            "UPDATE job_items SET outcome = $1, errcode = $2,
                 step = (SELECT c.step FROM job_chunks c
                         WHERE c.job_id = job_items.job_id AND c.seq = job_items.seq)
             WHERE job_id = $3 AND outcome IS NULL",
        )
        .bind(leftover.as_str())
        .bind(errcode.filter(|_| leftover == ItemOutcome::Failed))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        sqlx::query("UPDATE job_chunks SET state = 'done' WHERE job_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let column = if leftover == ItemOutcome::Cancelled {
            "cancelled"
        } else {
            "failed"
        };
        sqlx::query(&format!(
            "UPDATE jobs SET state = $1, finished_at = $2, error = COALESCE($3, error), {column} = {column} + $4 WHERE id = $5"
        ))
        .bind(state.as_str())
        .bind(now_us())
        .bind(error)
        .bind(n)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let job = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(job_row)
            .transpose()?;
        if let Some(job) = &job {
            finish_audit(&mut tx, self.account(), job, describe).await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// Every OpenID of a job in the order given (for the outcome CSV).
    pub async fn job_items(&self, id: i64) -> Result<Vec<ItemRow>, StoreError> {
        let rows: Vec<ItemTuple> = sqlx::query_as(
            "SELECT pos, seq, openid, outcome, errcode, step FROM job_items
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2) ORDER BY pos",
        )
        .bind(id)
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// The first `limit` OpenIDs of a job with `outcome` (the page lists the refused ones).
    pub async fn job_items_with(
        &self,
        id: i64,
        outcome: ItemOutcome,
        limit: u32,
    ) -> Result<Vec<ItemRow>, StoreError> {
        let rows: Vec<ItemTuple> = sqlx::query_as(
            "SELECT pos, seq, openid, outcome, errcode, step FROM job_items
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2) AND outcome = $3
             ORDER BY pos LIMIT $4",
        )
        .bind(id)
        .bind(self.account())
        .bind(outcome.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// The first `limit` OpenIDs a retag left with neither tag: A was taken off, and B was not
    /// given (refused, failed, or the job stopped between the two steps of their chunk).
    pub async fn job_items_between(&self, id: i64, limit: u32) -> Result<Vec<ItemRow>, StoreError> {
        let rows: Vec<ItemTuple> = sqlx::query_as(
            "SELECT pos, seq, openid, outcome, errcode, step FROM job_items
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
                 AND step = 1 AND outcome <> 'moved'
             ORDER BY pos LIMIT $3",
        )
        .bind(id)
        .bind(self.account())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// How many OpenIDs a retag left with neither tag (see [`Self::job_items_between`]).
    pub async fn job_between_count(&self, id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM job_items
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
                 AND step = 1 AND outcome <> 'moved'",
        )
        .bind(id)
        .bind(self.account())
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Each chunk's group, for a copy's chunks (`(seq, group)`).
    pub async fn job_chunk_groups(&self, id: i64) -> Result<Vec<(i64, u32)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, group_id FROM job_chunks
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
                 AND group_id IS NOT NULL",
        )
        .bind(id)
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, g)| (s, u32::try_from(g).unwrap_or(0)))
            .collect())
    }

    /// How often each chunk of a job was marked `sending` (for tests and the log).
    pub async fn job_chunk_sends(&self, id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seq, sends FROM job_chunks
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2) ORDER BY seq",
        )
        .bind(id)
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?)
    }
}

/// pos, seq, openid, outcome, errcode, step.
type ItemTuple = (i64, i64, String, Option<String>, Option<i64>, Option<i64>);

fn item_row(r: ItemTuple) -> ItemRow {
    ItemRow {
        pos: r.0,
        seq: r.1,
        openid: r.2,
        outcome: r.3.as_deref().and_then(ItemOutcome::parse),
        errcode: r.4,
        step: r.5,
    }
}

/// Writes a step's outcomes (at `step`) on `conn`; answers how many of each outcome, in the
/// order of [`ItemOutcome`]'s variants. One UPDATE per distinct (outcome, errcode): a chunk that
/// all went through is one statement.
async fn write_outcomes(
    conn: &mut AnyConnection,
    id: i64,
    outcomes: &[(i64, ItemOutcome, Option<i64>)],
    step: u8,
) -> Result<[i64; 4], StoreError> {
    let mut counts = [0i64; 4];
    let mut by_kind: Vec<(OutcomeKind, Vec<i64>)> = Vec::new();
    for (pos, outcome, errcode) in outcomes {
        counts[*outcome as usize] += 1;
        match by_kind.iter_mut().find(|(k, _)| *k == (*outcome, *errcode)) {
            Some((_, positions)) => positions.push(*pos),
            None => by_kind.push(((*outcome, *errcode), vec![*pos])),
        }
    }
    for ((outcome, errcode), positions) in &by_kind {
        let mut q: QueryBuilder = QueryBuilder::new("UPDATE job_items SET outcome = ");
        q.push_bind(outcome.as_str())
            .push(", errcode = ")
            .push_bind(*errcode)
            .push(", step = ")
            .push_bind(i64::from(step))
            .push(" WHERE job_id = ")
            .push_bind(id)
            .push(" AND outcome IS NULL AND pos IN (");
        let mut sep = q.separated(", ");
        for pos in positions {
            sep.push_bind(*pos);
        }
        q.push(")");
        q.build().execute(&mut *conn).await?;
    }
    Ok(counts)
}

/// Records what a step changed for `changed` in `account`'s stored followers, on `conn`.
/// Answers, for a move, how many of them came from each group (those the store knew).
async fn apply_effect(
    conn: &mut AnyConnection,
    account: &str,
    effect: Effect,
    changed: &[&str],
) -> Result<HashMap<u32, u64>, StoreError> {
    let mut from: HashMap<u32, u64> = HashMap::new();
    match effect {
        Effect::None => {}
        Effect::Moved(group) => {
            let before = followers::groups_in(conn, account, changed).await?;
            followers::moved_in(conn, account, changed, group).await?;
            for g in before.values() {
                *from.entry(*g).or_default() += 1;
            }
        }
        Effect::Tagged(tag) => follower_tags::tagged_in(conn, account, changed, tag).await?,
        Effect::Untagged(tag) => follower_tags::untagged_in(conn, account, changed, tag).await?,
    }
    Ok(from)
}

/// Closes a finished job's audit row (in `account`'s log) with what `describe` says of it, on
/// `conn`.
async fn finish_audit(
    conn: &mut AnyConnection,
    account: &str,
    job: &JobRow,
    describe: Describe<'_>,
) -> Result<(), StoreError> {
    let Some(audit_id) = job.audit_id else {
        return Ok(());
    };
    let (outcome, detail) = describe(job);
    sqlx::query(
        "UPDATE audit_log SET outcome = $1, detail = $2, finished_at = $3 WHERE id = $4 AND account = $5",
    )
    .bind(outcome.as_str())
    .bind(detail)
    .bind(now_us())
    .bind(audit_id)
    .bind(account)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether job `id` is one of `account`'s, read on `conn`.
async fn job_is_ours(conn: &mut AnyConnection, id: i64, account: &str) -> Result<bool, StoreError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM jobs WHERE id = $1 AND account = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// The job's row (a draft of `account`), answering its id.
async fn insert_job(
    conn: &mut AnyConnection,
    account: &str,
    job: &NewJob,
    plan: &JobPlan<'_>,
    total: usize,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO jobs (account, state, operator, source, ip, to_group, to_group_name, origin,
             total, created_at, action, from_tag, from_name, listing)
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(account)
    .bind(&job.operator)
    .bind(&job.source)
    .bind(&job.ip)
    .bind(i64::from(job.to_group))
    .bind(plan.to_name)
    .bind(&job.origin)
    .bind(total as i64)
    .bind(now_us())
    .bind(plan.action.as_str())
    .bind(plan.from.map(|(t, _)| i64::from(t)))
    .bind(plan.from.and_then(|(_, n)| n))
    .bind(i64::from(plan.listing))
    .fetch_one(&mut *conn)
    .await?)
}

/// Chunk rows `(seq, group)`, all pending at step 0.
async fn insert_chunks(
    conn: &mut AnyConnection,
    id: i64,
    chunks: &[(i64, Option<u32>)],
) -> Result<(), StoreError> {
    for part in chunks.chunks(INSERT_ROWS) {
        let mut q: QueryBuilder =
            QueryBuilder::new("INSERT INTO job_chunks (job_id, seq, state, group_id) ");
        q.push_values(part, |mut b, (seq, group)| {
            b.push_bind(id)
                .push_bind(*seq)
                .push_bind("pending")
                .push_bind(group.map(i64::from));
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Item rows `(pos, seq, openid)` without outcomes.
async fn insert_items(
    conn: &mut AnyConnection,
    id: i64,
    items: &[(i64, i64, &str)],
) -> Result<(), StoreError> {
    for part in items.chunks(INSERT_ROWS) {
        let mut q: QueryBuilder =
            QueryBuilder::new("INSERT INTO job_items (job_id, pos, seq, openid) ");
        q.push_values(part, |mut b, (pos, seq, openid)| {
            b.push_bind(id)
                .push_bind(*pos)
                .push_bind(*seq)
                .push_bind(*openid);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}
