//! Per-day, per-endpoint upstream call counts.

use crate::store::{Store, StoreError};

impl Store {
    /// Adds one call to `endpoint` on `day`.
    pub async fn quota_add(&self, day: &str, endpoint: &str, calls: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO quota_usage (day, endpoint, calls) VALUES (?, ?, ?)
             ON CONFLICT (day, endpoint) DO UPDATE SET calls = calls + excluded.calls",
        )
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
            "SELECT endpoint, calls FROM quota_usage WHERE day = ? ORDER BY endpoint",
        )
        .bind(day)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(e, c)| (e, c.max(0) as u64))
            .collect())
    }
}
