//! Built-in operator accounts, and their roles per Official Account (grants).
//!
//! Operators are deployment-wide: one sign-in for every account. What they may do on an account
//! is [`OperatorRecord::role_on`]: an operator with grants has exactly the granted roles on the
//! granted accounts and none on any other; an operator without grants has their own role on every
//! account (as before there were accounts).

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use jiff::Timestamp;

use crate::store::{Store, StoreError};

/// What an operator may do. Ordered: a higher role can do everything a lower one can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Sees groups, followers and their own audit entries.
    Viewer,
    /// Creates, renames and moves.
    Operator,
    /// Everything, including every operator's audit entries.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "{other:?} is not a role; use viewer, operator or admin"
            )),
        }
    }
}

/// One row of `operators`, with the operator's grants.
#[derive(Clone)]
pub struct OperatorRecord {
    pub id: i64,
    pub name: String,
    /// The role on every account when there are no [`Self::grants`].
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    /// Sessions that signed in before this (µs since the epoch) are no longer valid.
    pub sessions_valid_after: i64,
    pub created_at: i64,
    /// Roles per account (account key, role), by key. Empty: [`Self::role`] on every account.
    pub grants: Vec<(String, Role)>,
}

impl OperatorRecord {
    /// What the operator may do on `account`: the role granted there if they have grants (and
    /// `None`, nothing at all, on an account not granted), else their own role.
    pub fn role_on(&self, account: &str) -> Option<Role> {
        if self.grants.is_empty() {
            return Some(self.role);
        }
        self.grants
            .iter()
            .find(|(key, _)| key == account)
            .map(|(_, role)| *role)
    }
}

impl fmt::Debug for OperatorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password_hash", &"[redacted]")
            .field("disabled", &self.disabled)
            .field("grants", &self.grants)
            .finish()
    }
}

/// Now, in microseconds since the Unix epoch (how times are stored).
pub fn now_us() -> i64 {
    Timestamp::now().as_microsecond()
}

type Row = (i64, String, String, String, i64, i64, i64);

fn from_row(
    (id, name, role, password_hash, disabled, sessions_valid_after, created_at): Row,
) -> OperatorRecord {
    OperatorRecord {
        id,
        name,
        role: role_of(&role),
        password_hash,
        disabled: disabled != 0,
        sessions_valid_after,
        created_at,
        grants: Vec::new(),
    }
}

fn role_of(role: &str) -> Role {
    // The CHECK constraint keeps other values out of the table.
    role.parse().unwrap_or(Role::Viewer)
}

/// Operator records (with their grants) read for requests, kept for [`OperatorCache::TTL`], so
/// that a page view does not query SQLite for its operator or their role on the account. This
/// process's own changes (disable, new password, grant, revoke) empty it at once; a change made
/// by another process (the `operator` CLI) is seen within the TTL.
#[derive(Debug, Default)]
pub(crate) struct OperatorCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// Bumped by every change, so a read that raced with one is not kept.
    generation: u64,
    entries: HashMap<i64, (Instant, OperatorRecord)>,
}

impl OperatorCache {
    pub(crate) const TTL: Duration = Duration::from_secs(1);

    fn lock(&self) -> MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

const COLUMNS: &str = "id, name, role, password_hash, disabled, sessions_valid_after, created_at";

impl Store {
    /// Adds an operator; `Ok(None)` when the name is taken.
    pub async fn add_operator(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        let now = now_us();
        // No conflict target: the unique index is on the name without case, which each
        // engine spells its own way.
        let id: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO operators (name, role, password_hash, disabled, sessions_valid_after, created_at, updated_at)
             VALUES ($1, $2, $3, 0, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(|(id,)| id))
    }

    pub async fn operator_by_name(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM operators WHERE lower(name) = lower($1)"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        self.with_grants(row).await
    }

    pub async fn operator_by_id(&self, id: i64) -> Result<Option<OperatorRecord>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        self.with_grants(row).await
    }

    async fn with_grants(&self, row: Option<Row>) -> Result<Option<OperatorRecord>, StoreError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let mut op = from_row(row);
        op.grants = self.grants_of(op.id).await?;
        Ok(Some(op))
    }

    /// [`Store::operator_by_id`] for authenticating a request: from a copy at most
    /// [`OperatorCache::TTL`] old, emptied by this process's own disable, password, grant and
    /// revoke changes. Its grants answer the operator's role on the request's account
    /// ([`OperatorRecord::role_on`]) without another query.
    pub async fn operator_by_id_cached(
        &self,
        id: i64,
    ) -> Result<Option<OperatorRecord>, StoreError> {
        let generation = {
            let inner = self.operators.lock();
            if let Some((at, op)) = inner.entries.get(&id)
                && at.elapsed() < OperatorCache::TTL
            {
                return Ok(Some(op.clone()));
            }
            inner.generation
        };
        let read_at = Instant::now();
        let record = self.operator_by_id(id).await?;
        if let Some(op) = &record {
            let mut inner = self.operators.lock();
            // A change since we asked may not be in what we read: then it is not kept.
            if inner.generation == generation {
                if inner.entries.len() >= 1_000 {
                    inner.entries.clear();
                }
                inner.entries.insert(id, (read_at, op.clone()));
            }
        }
        Ok(record)
    }

    pub async fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators ORDER BY name"))
                .fetch_all(&self.pool)
                .await?;
        let grants: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT operator_id, account, role FROM operator_grants ORDER BY operator_id, account",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_operator: HashMap<i64, Vec<(String, Role)>> = HashMap::new();
        for (id, account, role) in grants {
            by_operator
                .entry(id)
                .or_default()
                .push((account, role_of(&role)));
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut op = from_row(row);
                op.grants = by_operator.remove(&op.id).unwrap_or_default();
                op
            })
            .collect())
    }

    /// Gives the operator `name` `role` on `account` (replacing a role granted there before).
    /// `false` if there is no such operator. From their first grant on, the operator has roles
    /// on their granted accounts only.
    pub async fn grant(&self, name: &str, account: &str, role: Role) -> Result<bool, StoreError> {
        // The WHERE also keeps SQLite from reading ON CONFLICT as part of the SELECT.
        let r = sqlx::query(
            "INSERT INTO operator_grants (operator_id, account, role)
             SELECT id, $1, $2 FROM operators WHERE lower(name) = lower($3)
             ON CONFLICT (operator_id, account) DO UPDATE SET role = excluded.role",
        )
        .bind(account)
        .bind(role.as_str())
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.operators.invalidate();
        Ok(r.rows_affected() == 1)
    }

    /// Takes away what the operator `name` was granted on `account`. `false` if there was no
    /// such grant (or no such operator). Without grants left, the operator has their own role on
    /// every account again.
    pub async fn revoke(&self, name: &str, account: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "DELETE FROM operator_grants
             WHERE account = $1 AND operator_id = (SELECT id FROM operators WHERE lower(name) = lower($2))",
        )
        .bind(account)
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.operators.invalidate();
        Ok(r.rows_affected() == 1)
    }

    /// The operator's grants (account key, role), by key, read now. A request asks the cached
    /// record instead ([`Store::operator_by_id_cached`], [`OperatorRecord::role_on`]).
    pub async fn grants_of(&self, operator_id: i64) -> Result<Vec<(String, Role)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT account, role FROM operator_grants WHERE operator_id = $1 ORDER BY account",
        )
        .bind(operator_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account, role)| (account, role_of(&role)))
            .collect())
    }

    /// Disables an operator and ends every session they have. `false` if there is no such name.
    pub async fn disable_operator(&self, name: &str) -> Result<bool, StoreError> {
        let now = now_us();
        let r = sqlx::query(
            "UPDATE operators SET disabled = 1, sessions_valid_after = $1, updated_at = $2 WHERE lower(name) = lower($3)",
        )
        .bind(now)
        .bind(now)
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.operators.invalidate();
        Ok(r.rows_affected() == 1)
    }

    /// Sets a new password (and re-enables nothing); other sessions of the operator end.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let now = now_us();
        let r = sqlx::query(
            "UPDATE operators SET password_hash = $1, sessions_valid_after = $2, updated_at = $3 WHERE lower(name) = lower($4)",
        )
        .bind(password_hash)
        .bind(now)
        .bind(now)
        .bind(name)
        .execute(&self.pool)
        .await?;
        self.operators.invalidate();
        Ok(r.rows_affected() == 1)
    }
}
