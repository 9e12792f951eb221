//! Followers as WeChat last confirmed them, and the syncs that read them.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::QueryBuilder;

use crate::store::{Store, StoreError, and_openid_in, operators::now_us};

/// Rows per multi-row INSERT: 5 parameters each stays far below SQLite's variable limit.
const INSERT_ROWS: usize = 500;

/// One pass over the follower list.
#[derive(Debug, Clone)]
pub struct SyncRow {
    pub id: i64,
    /// running, done or failed.
    pub state: String,
    pub operator: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The checkpoint: where the next page starts (`None` before the first page).
    pub next_openid: Option<String>,
    pub pages: i64,
    pub seen: i64,
    /// How many followers WeChat said the account has.
    pub total: Option<i64>,
    pub dropped: i64,
    pub error: Option<String>,
    pub audit_id: Option<i64>,
}

type SyncTuple = (
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<i64>,
);

const SYNC_COLUMNS: &str = "id, state, operator, started_at, finished_at, next_openid, pages, seen, total, dropped, error, audit_id";

fn sync_row(r: SyncTuple) -> SyncRow {
    SyncRow {
        id: r.0,
        state: r.1,
        operator: r.2,
        started_at: r.3,
        finished_at: r.4,
        next_openid: r.5,
        pages: r.6,
        seen: r.7,
        total: r.8,
        dropped: r.9,
        error: r.10,
        audit_id: r.11,
    }
}

/// One follower in a group's member list.
#[derive(Debug, Clone)]
pub struct FollowerRow {
    pub openid: String,
    pub group_id: u32,
    pub confirmed_at: i64,
}

/// What a page of `user/info/batchget` said about one follower.
#[derive(Debug, Clone)]
pub struct SeenFollower {
    pub openid: String,
    /// `None`: they no longer follow the account.
    pub group_id: Option<u32>,
    /// Their tags (the tags API's `tagid_list`; empty when they no longer follow).
    pub tags: Vec<u32>,
}

/// The upper bound of an OpenID prefix search: OpenIDs are `[A-Za-z0-9_-]`, all below `~`.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}~")
}

impl Store {
    /// Starts a sync, or answers the one already running (there is never more than one per
    /// account). The bool says whether this call started it.
    pub async fn sync_start(&self, operator: &str) -> Result<(SyncRow, bool), StoreError> {
        // IMMEDIATE: this transaction reads before it writes (see `job_chunk_done`), and two
        // starts at once must not both read "none running".
        let mut tx = self.begin_write().await?;
        let running: Option<SyncTuple> = sqlx::query_as(&format!(
            "SELECT {SYNC_COLUMNS} FROM follower_syncs WHERE account = $1 AND state = 'running'
             ORDER BY id LIMIT 1"
        ))
        .bind(self.account())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = running {
            return Ok((sync_row(r), false));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO follower_syncs (account, state, operator, started_at)
             VALUES ($1, 'running', $2, $3) RETURNING id",
        )
        .bind(self.account())
        .bind(operator)
        .bind(now_us())
        .fetch_one(&mut *tx)
        .await?;
        let row: SyncTuple = sqlx::query_as(&format!(
            "SELECT {SYNC_COLUMNS} FROM follower_syncs WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((sync_row(row), true))
    }

    pub async fn sync_set_audit(&self, id: i64, audit_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE follower_syncs SET audit_id = $1 WHERE id = $2 AND account = $3")
            .bind(audit_id)
            .bind(id)
            .bind(self.account())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The running sync, if any (what a restart resumes).
    pub async fn sync_running(&self) -> Result<Option<SyncRow>, StoreError> {
        let r: Option<SyncTuple> = sqlx::query_as(&format!(
            "SELECT {SYNC_COLUMNS} FROM follower_syncs WHERE account = $1 AND state = 'running'
             ORDER BY id LIMIT 1"
        ))
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(sync_row))
    }

    /// The newest sync, whatever its state.
    pub async fn sync_latest(&self) -> Result<Option<SyncRow>, StoreError> {
        let r: Option<SyncTuple> = sqlx::query_as(&format!(
            "SELECT {SYNC_COLUMNS} FROM follower_syncs WHERE account = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(sync_row))
    }

    /// When the last sync that finished did so.
    pub async fn sync_last_done(&self) -> Result<Option<SyncRow>, StoreError> {
        let r: Option<SyncTuple> = sqlx::query_as(&format!(
            "SELECT {SYNC_COLUMNS} FROM follower_syncs WHERE account = $1 AND state = 'done'
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(self.account())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(sync_row))
    }

    /// Stores one page and moves the checkpoint past it, in one transaction: after a crash the
    /// sync goes on from the first page not stored. Another account's sync stores nothing.
    pub async fn sync_store_page(
        &self,
        sync_id: i64,
        seen: &[SeenFollower],
        next_openid: Option<&str>,
        total: u64,
    ) -> Result<(), StoreError> {
        let now = now_us();
        let account = self.account();
        let following: Vec<(&str, u32)> = seen
            .iter()
            .filter_map(|f| f.group_id.map(|g| (f.openid.as_str(), g)))
            .collect();
        let mut tx = self.pool.begin().await?;
        // The checkpoint first: it finds only this account's sync, and a write as the first
        // statement holds the write lock from there on (another account's writer that commits
        // meanwhile cannot make a later write of this transaction fail).
        let ours = sqlx::query(
            "UPDATE follower_syncs SET next_openid = $1, pages = pages + 1, seen = seen + $2, total = $3
             WHERE id = $4 AND account = $5",
        )
        .bind(next_openid)
        .bind(following.len() as i64)
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .bind(sync_id)
        .bind(account)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !ours {
            return Ok(());
        }
        for chunk in following.chunks(INSERT_ROWS) {
            let mut q: QueryBuilder = QueryBuilder::new(
                "INSERT INTO followers (account, openid, group_id, confirmed_at, sync_id) ",
            );
            q.push_values(chunk, |mut b, (openid, group)| {
                b.push_bind(account)
                    .push_bind(*openid)
                    .push_bind(i64::from(*group))
                    .push_bind(now)
                    .push_bind(sync_id);
            });
            q.push(
                " ON CONFLICT (account, openid) DO UPDATE SET group_id = excluded.group_id, \
                 confirmed_at = excluded.confirmed_at, sync_id = excluded.sync_id",
            );
            q.build().execute(&mut *tx).await?;
        }
        // Followers who left keep no tags; the others' tags are replaced by what WeChat said.
        let tags: Vec<(&str, &[u32])> = seen
            .iter()
            .map(|f| (f.openid.as_str(), f.tags.as_slice()))
            .collect();
        super::follower_tags::replace_tags(&mut tx, account, &tags).await?;
        for f in seen.iter().filter(|f| f.group_id.is_none()) {
            sqlx::query("DELETE FROM followers WHERE account = $1 AND openid = $2")
                .bind(account)
                .bind(&f.openid)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends a full pass: followers no page mentioned have left (or were confirmed only by an
    /// older pass) and are dropped. Answers how many.
    pub async fn sync_finish(&self, sync_id: i64) -> Result<u64, StoreError> {
        let account = self.account();
        // IMMEDIATE: this transaction reads before it writes (see `job_chunk_done`).
        let mut tx = self.begin_write().await?;
        // A move made through wxgroups during the pass confirmed its follower after the pass
        // started: keep those too.
        let started: Option<(i64,)> =
            sqlx::query_as("SELECT started_at FROM follower_syncs WHERE id = $1 AND account = $2")
                .bind(sync_id)
                .bind(account)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((started,)) = started else {
            return Ok(0);
        };
        let dropped = sqlx::query(
            "DELETE FROM followers WHERE account = $1 AND sync_id <> $2 AND confirmed_at < $3",
        )
        .bind(account)
        .bind(sync_id)
        .bind(started)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if dropped > 0 {
            sqlx::query(
                "DELETE FROM follower_tags WHERE account = $1
                 AND openid NOT IN (SELECT openid FROM followers WHERE account = $2)",
            )
            .bind(account)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE follower_syncs SET state = 'done', finished_at = $1, dropped = $2
             WHERE id = $3 AND account = $4",
        )
        .bind(now_us())
        .bind(dropped as i64)
        .bind(sync_id)
        .bind(account)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(dropped)
    }

    pub async fn sync_fail(&self, sync_id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE follower_syncs SET state = 'failed', finished_at = $1, error = $2
             WHERE id = $3 AND account = $4",
        )
        .bind(now_us())
        .bind(error)
        .bind(sync_id)
        .bind(self.account())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Followers WeChat just confirmed in `group` (a move made through wxgroups).
    pub async fn followers_moved(&self, openids: &[&str], group: u32) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        moved_in(&mut tx, self.account(), openids, group).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A deleted group's members went back to 未分组 (group 0).
    pub async fn followers_regrouped(&self, from: u32, to: u32) -> Result<u64, StoreError> {
        Ok(
            sqlx::query(
                "UPDATE followers SET group_id = $1, confirmed_at = $2 WHERE account = $3 AND group_id = $4",
            )
            .bind(i64::from(to))
            .bind(now_us())
            .bind(self.account())
            .bind(i64::from(from))
            .execute(&self.pool)
            .await?
            .rows_affected(),
        )
    }

    /// The stored group of each of `openids` that the store knows.
    pub async fn follower_groups(
        &self,
        openids: &[&str],
    ) -> Result<HashMap<String, u32>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        groups_in(&mut conn, self.account(), openids).await
    }

    /// How many stored followers are in `group` and start with `prefix` ("" for all).
    pub async fn group_member_count(&self, group: u32, prefix: &str) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM followers
             WHERE account = $1 AND group_id = $2 AND openid >= $3 AND openid < $4",
        )
        .bind(self.account())
        .bind(i64::from(group))
        .bind(prefix)
        .bind(prefix_end(prefix))
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    /// One page of a group's stored members in OpenID order, those starting with `prefix`.
    pub async fn group_members(
        &self,
        group: u32,
        prefix: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<FollowerRow>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT openid, group_id, confirmed_at FROM followers
             WHERE account = $1 AND group_id = $2 AND openid >= $3 AND openid < $4
             ORDER BY openid LIMIT $5 OFFSET $6",
        )
        .bind(self.account())
        .bind(i64::from(group))
        .bind(prefix)
        .bind(prefix_end(prefix))
        .bind(i64::from(per_page))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(openid, g, at)| FollowerRow {
                openid,
                group_id: u32::try_from(g).unwrap_or(0),
                confirmed_at: at,
            })
            .collect())
    }

    /// Every stored member of `group` starting with `prefix` ("all matching").
    pub async fn group_member_openids(
        &self,
        group: u32,
        prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT openid FROM followers
             WHERE account = $1 AND group_id = $2 AND openid >= $3 AND openid < $4
             ORDER BY openid",
        )
        .bind(self.account())
        .bind(i64::from(group))
        .bind(prefix)
        .bind(prefix_end(prefix))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// How many followers are stored in all.
    pub async fn follower_count(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM followers WHERE account = $1")
            .bind(self.account())
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

/// Records `openids` of `account` as confirmed in `group`, on `conn` (a job writes this in the
/// same transaction as its chunk's outcomes).
pub(super) async fn moved_in(
    conn: &mut AnyConnection,
    account: &str,
    openids: &[&str],
    group: u32,
) -> Result<(), StoreError> {
    let now = now_us();
    for chunk in openids.chunks(INSERT_ROWS) {
        let mut q: QueryBuilder =
            QueryBuilder::new("INSERT INTO followers (account, openid, group_id, confirmed_at) ");
        q.push_values(chunk, |mut b, openid| {
            b.push_bind(account)
                .push_bind(*openid)
                .push_bind(i64::from(group))
                .push_bind(now);
        });
        q.push(
            " ON CONFLICT (account, openid) DO UPDATE SET group_id = excluded.group_id, \
             confirmed_at = excluded.confirmed_at",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The stored group of each of `openids` of `account` that the store knows, read on `conn`.
pub(super) async fn groups_in(
    conn: &mut AnyConnection,
    account: &str,
    openids: &[&str],
) -> Result<HashMap<String, u32>, StoreError> {
    let mut out = HashMap::new();
    for chunk in openids.chunks(INSERT_ROWS) {
        let mut q: QueryBuilder =
            QueryBuilder::new("SELECT openid, group_id FROM followers WHERE account = ");
        q.push_bind(account);
        and_openid_in(&mut q, chunk.iter().copied());
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *conn).await?;
        out.extend(
            rows.into_iter()
                .map(|(o, g)| (o, u32::try_from(g).unwrap_or(0))),
        );
    }
    Ok(out)
}
