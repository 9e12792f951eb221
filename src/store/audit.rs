//! The audit log: who did what, when, from where, and how it ended.

use crate::store::{Store, StoreError, operators::now_us};

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written before the upstream call; still pending means the process stopped mid-call.
    Pending,
    Ok,
    /// WeChat refused (with `errcode`) or could not be reached before the request was sent.
    Failed,
    /// WeChat may or may not have done it: the call timed out or broke after it was sent.
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "ok" => Outcome::Ok,
            "failed" => Outcome::Failed,
            "pending" => Outcome::Pending,
            _ => Outcome::Unknown,
        }
    }
}

/// What to record (before the outcome is known).
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub operator: String,
    /// builtin, proxy, demo or cli.
    pub source: String,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One row, as the audit page shows it.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub operator: String,
    pub source: String,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub outcome: Outcome,
    pub errcode: Option<i64>,
    pub detail: Option<String>,
    pub finished_at: Option<i64>,
}

/// Which rows to show. `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub operator: Option<String>,
    pub action: Option<String>,
    /// Inclusive lower bound, µs since the epoch.
    pub from_us: Option<i64>,
    /// Exclusive upper bound.
    pub until_us: Option<i64>,
}

type Row = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn from_row(r: Row) -> AuditRow {
    AuditRow {
        id: r.0,
        at: r.1,
        operator: r.2,
        source: r.3,
        ip: r.4,
        action: r.5,
        target: r.6,
        before: r.7,
        after: r.8,
        outcome: Outcome::parse(&r.9),
        errcode: r.10,
        detail: r.11,
        finished_at: r.12,
    }
}

impl Store {
    /// Records an action that has finished already (sign-in, sign-out, a refused sign-in).
    pub async fn audit(
        &self,
        entry: &AuditEntry,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<i64, StoreError> {
        let id = self.audit_begin(entry).await?;
        self.audit_finish(id, outcome, None, detail).await?;
        Ok(id)
    }

    /// Writes the intent of a change before WeChat is asked.
    pub async fn audit_begin(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (account, at, operator, source, ip, action, target, before, after, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING id",
        )
        .bind(self.account())
        .bind(now_us())
        .bind(&entry.operator)
        .bind(&entry.source)
        .bind(&entry.ip)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.before)
        .bind(&entry.after)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Writes how it ended.
    pub async fn audit_finish(
        &self,
        id: i64,
        outcome: Outcome,
        errcode: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE audit_log SET outcome = $1, errcode = $2, detail = $3, finished_at = $4
             WHERE id = $5 AND account = $6",
        )
        .bind(outcome.as_str())
        .bind(errcode)
        .bind(detail)
        .bind(now_us())
        .bind(id)
        .bind(self.account())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// On start: rows still pending belong to a process that stopped mid-call. Their outcome
    /// is unknown, and the log says why. Every account's rows: the process that stopped served
    /// them all, whichever handle this is.
    ///
    /// With several instances on one PostgreSQL a row pending now may be another instance's
    /// call in flight: there only rows pending for longer than [`SETTLE_PENDING_AFTER`] (far
    /// beyond any call's timeout and retries) are settled, at every start.
    pub(crate) async fn settle_interrupted(&self) -> Result<u64, StoreError> {
        let before = if self.engine.is_shared() {
            now_us() - SETTLE_PENDING_AFTER.as_micros() as i64
        } else {
            i64::MAX
        };
        let r = sqlx::query(
            "UPDATE audit_log SET outcome = 'unknown', finished_at = $1,
                 detail = 'wxgroups stopped before WeChat answered; check the result in WeChat'
             WHERE outcome = 'pending' AND at < $2",
        )
        .bind(now_us())
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    fn filtered<'q>(
        &'q self,
        sql: &'q str,
        f: &'q AuditFilter,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, Row, sqlx::any::AnyArguments<'q>> {
        sqlx::query_as(sql)
            .bind(self.account())
            .bind(f.operator.as_deref())
            .bind(f.operator.as_deref())
            .bind(f.action.as_deref())
            .bind(f.action.as_deref())
            .bind(f.from_us)
            .bind(f.from_us)
            .bind(f.until_us)
            .bind(f.until_us)
    }

    /// One page of matching rows, newest first, and whether there are more.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<AuditRow>, bool), StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {WHERE} ORDER BY at DESC, id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            u64::from(page.saturating_sub(1)) * u64::from(per_page)
        );
        let mut rows: Vec<AuditRow> = self
            .filtered(&sql, filter)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(from_row)
            .collect();
        let more = rows.len() > per_page as usize;
        rows.truncate(per_page as usize);
        Ok((rows, more))
    }

    /// Every matching row, oldest first (for the CSV export).
    pub async fn audit_all(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE {WHERE} ORDER BY at, id");
        Ok(self
            .filtered(&sql, filter)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(from_row)
            .collect())
    }

    /// The distinct operator names in the account's log (for the filter's choices).
    pub async fn audit_operators(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT operator FROM audit_log WHERE account = $1 ORDER BY operator",
        )
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// How long an audit row may be pending before a start on a shared database takes it for the
/// call of an instance that died.
pub const SETTLE_PENDING_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

const COLUMNS: &str = "id, at, operator, source, ip, action, target, before, after, outcome, errcode, detail, finished_at";
// The account, then each condition bound twice: `? IS NULL` switches it off.
const WHERE: &str = "account = $1 AND ($2 IS NULL OR operator = $3) AND ($4 IS NULL OR action = $5)
    AND ($6 IS NULL OR at >= $7) AND ($8 IS NULL OR at < $9)";
