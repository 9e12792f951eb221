//! A copy-groups job's groups: each custom group with the tag of the same name, found or
//! created when the job starts, and the group's stored members as the job's items.
//!
//! A group's chunks hold its members only (a chunk never spans two groups), so each chunk tags
//! into one tag. The tag's id is committed as soon as the job has it: a restart finds it there,
//! or (if the process died between the create and that commit) by name in the tag list, so a
//! tag is never created twice.

use super::{JobAction, JobPlan, NewJob, insert_chunks, insert_items, insert_job};
use crate::store::{Store, StoreError};

/// One group of a copy, as the preview planned it and the job carried it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyGroup {
    pub group_id: u32,
    pub name: String,
    /// Its members in the follower table when the preview was made (the items).
    pub members: u64,
    /// The tag of that name in the tag list at preview (`None`: one is to be created).
    pub listed_tag: Option<u32>,
    /// The tag the job found or created.
    pub tag_id: Option<u32>,
    /// The job created the tag.
    pub created: bool,
    /// Why the group is not copied (its name cannot be a tag's: the rule it breaks).
    pub skipped: Option<String>,
    /// Why the tag could not be had (WeChat's errcode and the error), if it could not.
    pub errcode: Option<i64>,
    pub error: Option<String>,
}

impl CopyGroup {
    /// Its members are tagged (not skipped).
    pub fn copied(&self) -> bool {
        self.skipped.is_none()
    }
}

type CopyTuple = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn copy_row(r: CopyTuple) -> CopyGroup {
    let id = |v: i64| u32::try_from(v).unwrap_or(0);
    CopyGroup {
        group_id: id(r.0),
        name: r.1,
        members: u64::try_from(r.2).unwrap_or(0),
        listed_tag: r.3.map(id),
        tag_id: r.4.map(id),
        created: r.5 != 0,
        skipped: r.6,
        errcode: r.7,
        error: r.8,
    }
}

impl Store {
    /// Stores a previewed copy as a draft job: `groups` in order, each copied one with its
    /// members (`members[i]` belongs to `groups[i]`; a skipped group has none), chunked in 50s
    /// per group.
    pub async fn job_create_copy(
        &self,
        job: &NewJob,
        groups: &[CopyGroup],
        members: &[Vec<String>],
    ) -> Result<i64, StoreError> {
        let total: usize = members.iter().map(Vec::len).sum();
        let mut tx = self.pool.begin().await?;
        let plan = JobPlan::new(JobAction::CopyGroups, None);
        let id = insert_job(&mut tx, self.account(), job, &plan, total).await?;
        let (mut chunks, mut items) = (Vec::new(), Vec::new());
        let mut pos = 0i64;
        for (group, list) in groups.iter().zip(members) {
            for part in list.chunks(JobAction::CopyGroups.chunk()) {
                let seq = chunks.len() as i64;
                chunks.push((seq, Some(group.group_id)));
                for openid in part {
                    items.push((pos, seq, openid.as_str()));
                    pos += 1;
                }
            }
        }
        insert_chunks(&mut tx, id, &chunks).await?;
        insert_items(&mut tx, id, &items).await?;
        for g in groups {
            sqlx::query(
                "INSERT INTO job_copy_groups (job_id, group_id, name, members, listed_tag, skipped)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(i64::from(g.group_id))
            .bind(&g.name)
            .bind(g.members as i64)
            .bind(g.listed_tag.map(i64::from))
            .bind(&g.skipped)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// A copy's groups, in the order the preview listed them.
    pub async fn job_copy_groups(&self, id: i64) -> Result<Vec<CopyGroup>, StoreError> {
        let rows: Vec<CopyTuple> = sqlx::query_as(
            "SELECT group_id, name, members, listed_tag, tag_id, created, skipped, errcode, error
             FROM job_copy_groups
             WHERE job_id = (SELECT id FROM jobs WHERE id = $1 AND account = $2)
             ORDER BY group_id",
        )
        .bind(id)
        .bind(self.account())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(copy_row).collect())
    }

    /// The job has the tag of `group` (found by name, or `created` by it).
    pub async fn job_copy_tag(
        &self,
        id: i64,
        group: u32,
        tag: u32,
        created: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE job_copy_groups SET tag_id = $1, created = CASE WHEN $2 = 1 THEN 1 ELSE created END, errcode = NULL,
             error = NULL
             WHERE job_id = (SELECT id FROM jobs WHERE id = $3 AND account = $4) AND group_id = $5",
        )
        .bind(i64::from(tag))
        .bind(i64::from(created))
        .bind(id)
        .bind(self.account())
        .bind(i64::from(group))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The tag of `group` could not be had: why. Its members are reported failed with it.
    pub async fn job_copy_failed(
        &self,
        id: i64,
        group: u32,
        errcode: Option<i64>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE job_copy_groups SET errcode = $1, error = $2
             WHERE job_id = (SELECT id FROM jobs WHERE id = $3 AND account = $4) AND group_id = $5",
        )
        .bind(errcode)
        .bind(error)
        .bind(id)
        .bind(self.account())
        .bind(i64::from(group))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
