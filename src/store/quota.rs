//! Per-day, per-endpoint upstream call counts, per account (each has its own quota at WeChat).

use crate::store::{Store, StoreError};

impl Store {
    /// Adds one call to `endpoint` on `day`.
    pub async fn quota_add(&self, day: &str, endpoint: &str, calls: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO quota_usage (account, day, endpoint, calls) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, day, endpoint) DO UPDATE SET calls = quota_usage.calls + excluded.calls",
        )
        .bind(self.account())
        .bind(day)
        .bind(endpoint)
        .bind(calls as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every endpoint's count on `day`.
    pub async fn quota_day(&self, day: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT endpoint, calls FROM quota_usage WHERE account = $1 AND day = $2 ORDER BY endpoint",
        )
        .bind(self.account())
        .bind(day)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(e, c)| (e, c.max(0) as u64))
            .collect())
    }
}
