//! Batch move jobs: the job, its chunks of at most 50 OpenIDs, and every OpenID's outcome.
//!
//! The worker's crash safety rests on two writes here: a chunk is marked `sending` (and that is
//! committed) before its upstream call, and marked `done` in the same transaction as its
//! OpenIDs' outcomes and the job's counters.
//!
//! A job's `calls` are counted before they go out, never after the answer: the chunk's first call
//! in the transaction that marks it `sending`, each further one (narrowing, a 45011 repeat, a
//! retry in transit) by [`Store::job_call_made`] just before it. A call cut off by a crash has
//! reached WeChat and is counted; the price is that a crash in the moment between the count and
//! the request leaving counts one call that was never made.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite};

use crate::store::{Outcome, Store, StoreError, followers, operators::now_us};

/// OpenIDs per chunk: WeChat's limit for `groups/members/batchupdate`.
pub const CHUNK: usize = 50;
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
    Moved,
    /// WeChat refused the OpenID itself (40003): not a follower of this account.
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

/// Who asked for a job and what it does.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub operator: String,
    pub source: String,
    pub ip: Option<String>,
    pub to_group: u32,
    /// "list" (pasted or uploaded) or "group:ID" (members of a group).
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
    created_at, queued_at, started_at, finished_at, error, audit_id, to_group_name";

fn job_row(r: sqlx::sqlite::SqliteRow) -> Result<JobRow, sqlx::Error> {
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
        cancel_requested: r.try_get(13)?,
        created_at: r.try_get(14)?,
        queued_at: r.try_get(15)?,
        started_at: r.try_get(16)?,
        finished_at: r.try_get(17)?,
        error: r.try_get(18)?,
        audit_id: r.try_get(19)?,
        to_group_name: r.try_get(20)?,
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
}

/// An outcome with WeChat's errcode: OpenIDs that share one are updated by one statement.
type OutcomeKind = (ItemOutcome, Option<i64>);

/// What a finished chunk writes (see [`Store::job_chunk_done`]). Its calls are not here: each
/// was counted before it went out.
#[derive(Debug, Clone, Copy)]
pub struct ChunkDone<'a> {
    /// Every OpenID's outcome: position in the job, outcome, WeChat's errcode.
    pub outcomes: &'a [(i64, ItemOutcome, Option<i64>)],
    /// The OpenIDs WeChat moved, and the group they are in now.
    pub moved: &'a [&'a str],
    pub to_group: u32,
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
    /// Stores a previewed list as a draft job, chunked in 50s. Nothing runs until it is confirmed.
    ///
    /// `to_name` is the target group's name as the group list has it now: kept with the job so
    /// that its pages can name the group while the list is not loaded.
    pub async fn job_create_draft(
        &self,
        job: &NewJob,
        to_name: Option<&str>,
        openids: &[String],
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO jobs (state, operator, source, ip, to_group, to_group_name, origin, total, created_at)
             VALUES ('draft', ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&job.operator)
        .bind(&job.source)
        .bind(&job.ip)
        .bind(i64::from(job.to_group))
        .bind(to_name)
        .bind(&job.origin)
        .bind(openids.len() as i64)
        .bind(now_us())
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        let chunks: Vec<i64> = (0..openids.len().div_ceil(CHUNK) as i64).collect();
        for part in chunks.chunks(INSERT_ROWS) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO job_chunks (job_id, seq, state) ");
            q.push_values(part, |mut b, seq| {
                b.push_bind(id).push_bind(*seq).push_bind("pending");
            });
            q.build().execute(&mut *tx).await?;
        }
        let items: Vec<(usize, &String)> = openids.iter().enumerate().collect();
        for part in items.chunks(INSERT_ROWS) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO job_items (job_id, pos, seq, openid) ");
            q.push_values(part, |mut b, (pos, openid)| {
                b.push_bind(id)
                    .push_bind(*pos as i64)
                    .push_bind((*pos / CHUNK) as i64)
                    .push_bind(openid.as_str());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(job_row).transpose()?)
    }

    /// The newest jobs (drafts left out).
    pub async fn jobs_recent(&self, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state <> 'draft' ORDER BY id DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect::<Result<_, _>>()?)
    }

    /// How many jobs will write before this one.
    pub async fn jobs_ahead(&self, id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND id < ?",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Draft → queued. False if it was not a draft (confirmed twice, or discarded).
    pub async fn job_confirm(&self, id: i64, audit_id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'queued', queued_at = ?, audit_id = ? WHERE id = ? AND state = 'draft'",
        )
        .bind(now_us())
        .bind(audit_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets the drafts created before `before` (µs since the epoch): previews nobody
    /// confirmed, each holding its whole list. Answers how many.
    pub async fn job_drafts_purge(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM jobs WHERE state = 'draft' AND created_at < ?")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Forgets a draft.
    pub async fn job_discard(&self, id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM jobs WHERE id = ? AND state = 'draft'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The job the worker should be writing: one left running by a stopped process first, then
    /// the oldest queued.
    pub async fn job_next(&self) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('running', 'queued')
             ORDER BY state = 'running' DESC, id LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(job_row).transpose()?)
    }

    pub async fn job_start(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, ?) WHERE id = ? AND state = 'queued'",
        )
        .bind(now_us())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The chunks still to do, in order, with whether each was being sent when it stopped.
    pub async fn job_unfinished_chunks(&self, id: i64) -> Result<Vec<(i64, bool)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, state FROM job_chunks WHERE job_id = ? AND state <> 'done' ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, st)| (s, st == "sending"))
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
            "SELECT pos, seq, openid, outcome, errcode FROM job_items
             WHERE job_id = ? AND seq BETWEEN ? AND ? AND outcome IS NULL ORDER BY seq, pos",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// Written and committed before the chunk's upstream call, with that call counted in the
    /// same transaction: if the process dies during the call, the call (which may well have
    /// reached WeChat) is still in the job's count.
    pub async fn job_chunk_sending(&self, id: i64, seq: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE job_chunks SET state = 'sending', sends = sends + 1 WHERE job_id = ? AND seq = ?",
        )
        .bind(id)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE jobs SET calls = calls + 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one more upstream call of a chunk already marked `sending` (a narrowing half, a
    /// repeat after 45011, a retry in transit), committed just before the call goes out.
    pub async fn job_call_made(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET calls = calls + 1 WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Everything a finished chunk changes, in one transaction: its OpenIDs' outcomes, the chunk
    /// marked done, the job's outcome counters, and the moved followers recorded in their new
    /// group. Answers how many of the moved followers came from each group (those the store
    /// knew), so the cached group counts can follow.
    pub async fn job_chunk_done(
        &self,
        id: i64,
        seq: i64,
        done: ChunkDone<'_>,
    ) -> Result<HashMap<u32, u64>, StoreError> {
        // IMMEDIATE: this transaction reads before it writes, and a deferred one that finds
        // another writer has committed meanwhile fails at once instead of waiting its turn.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut counts = [0i64; 4];
        // One UPDATE per distinct (outcome, errcode): a chunk that all moved is one statement.
        let mut by_kind: Vec<(OutcomeKind, Vec<i64>)> = Vec::new();
        for (pos, outcome, errcode) in done.outcomes {
            counts[*outcome as usize] += 1;
            match by_kind.iter_mut().find(|(k, _)| *k == (*outcome, *errcode)) {
                Some((_, positions)) => positions.push(*pos),
                None => by_kind.push(((*outcome, *errcode), vec![*pos])),
            }
        }
        for ((outcome, errcode), positions) in &by_kind {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE job_items SET outcome = ");
            q.push_bind(outcome.as_str())
                .push(", errcode = ")
                .push_bind(*errcode)
                .push(" WHERE job_id = ")
                .push_bind(id)
                .push(" AND outcome IS NULL AND pos IN (");
            let mut sep = q.separated(", ");
            for pos in positions {
                sep.push_bind(*pos);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE job_chunks SET state = 'done' WHERE job_id = ? AND seq = ?")
            .bind(id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE jobs SET moved = moved + ?, invalid = invalid + ?, failed = failed + ?,
             cancelled = cancelled + ? WHERE id = ?",
        )
        .bind(counts[0])
        .bind(counts[1])
        .bind(counts[2])
        .bind(counts[3])
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let before = followers::groups_in(&mut tx, done.moved).await?;
        followers::moved_in(&mut tx, done.moved, done.to_group).await?;
        tx.commit().await?;
        let mut from: HashMap<u32, u64> = HashMap::new();
        for g in before.values() {
            *from.entry(*g).or_default() += 1;
        }
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
                sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(CancelResult::Requested)
            }
            JobState::Draft => Ok(CancelResult::NotFound),
            _ => Ok(CancelResult::AlreadyFinal),
        }
    }

    pub async fn job_cancel_requested(&self, id: i64) -> Result<bool, StoreError> {
        let (c,): (bool,) = sqlx::query_as("SELECT cancel_requested FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(c)
    }

    /// Ends a job. OpenIDs without an outcome get `cancelled` (a cancelled job) or `failed` with
    /// `errcode` (a failed one); the counters and every chunk follow, and the job's audit row
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
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE job_items SET outcome = ?, errcode = ? WHERE job_id = ? AND outcome IS NULL",
        )
        .bind(leftover.as_str())
        .bind(errcode.filter(|_| leftover == ItemOutcome::Failed))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        sqlx::query("UPDATE job_chunks SET state = 'done' WHERE job_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let column = if leftover == ItemOutcome::Cancelled {
            "cancelled"
        } else {
            "failed"
        };
        sqlx::query(&format!(
            "UPDATE jobs SET state = ?, finished_at = ?, error = COALESCE(?, error), {column} = {column} + ? WHERE id = ?"
        ))
        .bind(state.as_str())
        .bind(now_us())
        .bind(error)
        .bind(n)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let job = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(job_row)
            .transpose()?;
        if let Some(job) = &job
            && let Some(audit_id) = job.audit_id
        {
            let (outcome, detail) = describe(job);
            sqlx::query(
                "UPDATE audit_log SET outcome = ?, detail = ?, finished_at = ? WHERE id = ?",
            )
            .bind(outcome.as_str())
            .bind(detail)
            .bind(now_us())
            .bind(audit_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// Every OpenID of a job in the order given (for the outcome CSV).
    pub async fn job_items(&self, id: i64) -> Result<Vec<ItemRow>, StoreError> {
        let rows: Vec<ItemTuple> = sqlx::query_as(
            "SELECT pos, seq, openid, outcome, errcode FROM job_items WHERE job_id = ? ORDER BY pos",
        )
        .bind(id)
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
            "SELECT pos, seq, openid, outcome, errcode FROM job_items
             WHERE job_id = ? AND outcome = ? ORDER BY pos LIMIT ?",
        )
        .bind(id)
        .bind(outcome.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(item_row).collect())
    }

    /// How often each chunk of a job was marked `sending` (for tests and the log).
    pub async fn job_chunk_sends(&self, id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT seq, sends FROM job_chunks WHERE job_id = ? ORDER BY seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

/// pos, seq, openid, outcome, errcode.
type ItemTuple = (i64, i64, String, Option<String>, Option<i64>);

fn item_row(r: ItemTuple) -> ItemRow {
    ItemRow {
        pos: r.0,
        seq: r.1,
        openid: r.2,
        outcome: r.3.as_deref().and_then(ItemOutcome::parse),
        errcode: r.4,
    }
}
