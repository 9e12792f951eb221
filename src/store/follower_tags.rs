//! Which tags each stored follower carries (the tags API), as WeChat last confirmed them.
//!
//! Written by the follower sync (each page replaces its followers' tags) and by taggings made
//! through wxgroups; read for a tag's member list, its search, and a follower's tags.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::QueryBuilder;

use crate::store::{FollowerRow, Store, StoreError, and_openid_in, operators::now_us};

/// OpenIDs per `IN (…)` list or multi-row INSERT.
const ROWS: usize = 400;

/// The upper bound of an OpenID prefix search: OpenIDs are `[A-Za-z0-9_-]`, all below `~`.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}~")
}

impl Store {
    /// `openids` now carry `tag` (WeChat said yes to a tagging). Their `confirmed_at` moves on
    /// when the store knows them.
    pub async fn followers_tagged(&self, openids: &[&str], tag: u32) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        tagged_in(&mut tx, self.account(), openids, tag).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `openids` no longer carry `tag`.
    pub async fn followers_untagged(&self, openids: &[&str], tag: u32) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        untagged_in(&mut tx, self.account(), openids, tag).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A deleted tag: nobody carries it any more.
    pub async fn tag_dropped(&self, tag: u32) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM follower_tags WHERE account = $1 AND tag_id = $2")
                .bind(self.account())
                .bind(i64::from(tag))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// The stored tags of each of `openids` the store knows a tag of, ascending.
    pub async fn follower_tag_lists(
        &self,
        openids: &[&str],
    ) -> Result<HashMap<String, Vec<u32>>, StoreError> {
        let mut out: HashMap<String, Vec<u32>> = HashMap::new();
        for chunk in openids.chunks(ROWS) {
            let mut q: QueryBuilder =
                QueryBuilder::new("SELECT openid, tag_id FROM follower_tags WHERE account = ");
            q.push_bind(self.account());
            and_openid_in(&mut q, chunk.iter().copied());
            q.push(" ORDER BY openid, tag_id");
            let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&self.pool).await?;
            for (o, t) in rows {
                out.entry(o)
                    .or_default()
                    .push(u32::try_from(t).unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// When WeChat last confirmed each of `openids` the store knows (µs), for a list read live.
    pub async fn followers_confirmed(
        &self,
        openids: &[&str],
    ) -> Result<HashMap<String, i64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in openids.chunks(ROWS) {
            let mut q: QueryBuilder =
                QueryBuilder::new("SELECT openid, confirmed_at FROM followers WHERE account = ");
            q.push_bind(self.account());
            and_openid_in(&mut q, chunk.iter().copied());
            let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&self.pool).await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// How many stored followers carry `tag` and start with `prefix` ("" for all).
    pub async fn tag_member_count(&self, tag: u32, prefix: &str) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM follower_tags
             WHERE account = $1 AND tag_id = $2 AND openid >= $3 AND openid < $4",
        )
        .bind(self.account())
        .bind(i64::from(tag))
        .bind(prefix)
        .bind(prefix_end(prefix))
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    /// One page of the stored followers carrying `tag`, in OpenID order, those starting with
    /// `prefix`, with their group and when WeChat last confirmed them.
    pub async fn tag_members(
        &self,
        tag: u32,
        prefix: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<FollowerRow>, StoreError> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT t.openid, f.group_id, f.confirmed_at FROM follower_tags t
             LEFT JOIN followers f ON f.account = t.account AND f.openid = t.openid
             WHERE t.account = $1 AND t.tag_id = $2 AND t.openid >= $3 AND t.openid < $4
             ORDER BY t.openid LIMIT $5 OFFSET $6",
        )
        .bind(self.account())
        .bind(i64::from(tag))
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
                group_id: g.and_then(|g| u32::try_from(g).ok()).unwrap_or(0),
                confirmed_at: at.unwrap_or(0),
            })
            .collect())
    }

    /// Every stored follower carrying `tag` and starting with `prefix` ("all matching").
    pub async fn tag_member_openids(
        &self,
        tag: u32,
        prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT openid FROM follower_tags
             WHERE account = $1 AND tag_id = $2 AND openid >= $3 AND openid < $4
             ORDER BY openid",
        )
        .bind(self.account())
        .bind(i64::from(tag))
        .bind(prefix)
        .bind(prefix_end(prefix))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Records `openids` of `account` as carrying `tag`, on `conn` (a job writes it with its
/// chunk's outcomes).
pub(super) async fn tagged_in(
    conn: &mut AnyConnection,
    account: &str,
    openids: &[&str],
    tag: u32,
) -> Result<(), StoreError> {
    for chunk in openids.chunks(ROWS) {
        let mut q: QueryBuilder =
            QueryBuilder::new("INSERT INTO follower_tags (account, tag_id, openid) ");
        q.push_values(chunk, |mut b, openid| {
            b.push_bind(account)
                .push_bind(i64::from(tag))
                .push_bind(*openid);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
        confirmed(conn, account, chunk).await?;
    }
    Ok(())
}

/// Records `openids` of `account` as no longer carrying `tag`, on `conn`.
pub(super) async fn untagged_in(
    conn: &mut AnyConnection,
    account: &str,
    openids: &[&str],
    tag: u32,
) -> Result<(), StoreError> {
    for chunk in openids.chunks(ROWS) {
        let mut q: QueryBuilder = QueryBuilder::new("DELETE FROM follower_tags WHERE account = ");
        q.push_bind(account)
            .push(" AND tag_id = ")
            .push_bind(i64::from(tag));
        and_openid_in(&mut q, chunk.iter().copied());
        q.build().execute(&mut *conn).await?;
        confirmed(conn, account, chunk).await?;
    }
    Ok(())
}

/// Replaces the stored tags of each follower of `account` in `seen` (a sync page), on `conn`.
pub(super) async fn replace_tags(
    conn: &mut AnyConnection,
    account: &str,
    seen: &[(&str, &[u32])],
) -> Result<(), StoreError> {
    for chunk in seen.chunks(ROWS) {
        let mut q: QueryBuilder = QueryBuilder::new("DELETE FROM follower_tags WHERE account = ");
        q.push_bind(account);
        and_openid_in(&mut q, chunk.iter().map(|(o, _)| *o));
        q.build().execute(&mut *conn).await?;
        let rows: Vec<(&str, u32)> = chunk
            .iter()
            .flat_map(|(o, tags)| tags.iter().map(move |t| (*o, *t)))
            .collect();
        for rows in rows.chunks(ROWS) {
            let mut q: QueryBuilder =
                QueryBuilder::new("INSERT INTO follower_tags (account, tag_id, openid) ");
            q.push_values(rows, |mut b, (openid, tag)| {
                b.push_bind(account)
                    .push_bind(i64::from(*tag))
                    .push_bind(*openid);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// WeChat just confirmed these followers of `account`: their stored row's time moves on.
async fn confirmed(
    conn: &mut AnyConnection,
    account: &str,
    openids: &[&str],
) -> Result<(), StoreError> {
    let mut q: QueryBuilder = QueryBuilder::new("UPDATE followers SET confirmed_at = ");
    q.push_bind(now_us())
        .push(" WHERE account = ")
        .push_bind(account);
    and_openid_in(&mut q, openids.iter().copied());
    q.build().execute(&mut *conn).await?;
    Ok(())
}
