//! One-time form ids: each plain form post changes things at most once.

use crate::store::{Store, StoreError, now_us};

/// How long a form id is remembered: longer than anyone keeps a page open before posting it.
const KEPT_US: i64 = 24 * 3600 * 1_000_000;

/// What a form id's first post left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormClaim {
    /// Never posted before: this post goes ahead.
    First,
    /// Posted before; `Some(location)` once that post ended in a redirect, `None` while it runs.
    Again { location: Option<String> },
}

impl Store {
    /// Claims `form_id` for this post, or says what its earlier post left.
    pub async fn form_claim(&self, form_id: &str, operator: &str) -> Result<FormClaim, StoreError> {
        let now = now_us();
        sqlx::query("DELETE FROM form_submissions WHERE created_at < $1")
            .bind(now - KEPT_US)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO form_submissions (form_id, operator, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (form_id) DO NOTHING",
        )
        .bind(form_id)
        .bind(operator)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(FormClaim::First);
        }
        let location: Option<Option<String>> =
            sqlx::query_scalar("SELECT location FROM form_submissions WHERE form_id = $1")
                .bind(form_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(FormClaim::Again {
            location: location.flatten(),
        })
    }

    /// The first post ended in a redirect to `location`: a second one is sent there too.
    pub async fn form_done(&self, form_id: &str, location: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE form_submissions SET location = $1 WHERE form_id = $2")
            .bind(location)
            .bind(form_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The first post changed nothing (it was refused or re-shown the form): the id is free again.
    pub async fn form_release(&self, form_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM form_submissions WHERE form_id = $1")
            .bind(form_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
