//! How batch jobs pace their calls to WeChat.

use std::time::Duration;

use super::error::{SettingsError, named};

/// Pacing of batch moves (`groups/members/batchupdate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// At most this many batchupdate calls a minute, narrowing calls included.
    pub batch_per_minute: u32,
    /// How long a job waits after WeChat answers 45011 (per-minute quota) before trying again.
    pub quota_backoff: Duration,
    /// With several instances on one PostgreSQL: how long an account's job (and sync) lease
    /// lasts unrenewed, so how soon another instance takes over the work of one that died.
    pub lease: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            batch_per_minute: 300,
            quota_backoff: Duration::from_secs(60),
            lease: Duration::from_secs(15),
        }
    }
}

impl JobSettings {
    /// The least time between two batchupdate calls.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.batch_per_minute.max(1)
    }

    /// `batch_per_minute` (1 to 60,000), `batch_backoff_ms` and `lease_secs` (1 to 3,600).
    pub(super) fn parse(
        batch_per_minute: u32,
        backoff_ms: u64,
        lease_secs: u64,
    ) -> Result<Self, SettingsError> {
        if lease_secs == 0 || lease_secs > 3600 {
            return Err(SettingsError(format!(
                "setting {} must be between 1 and 3600 seconds",
                named("lease_secs")
            )));
        }
        if batch_per_minute == 0 || batch_per_minute > 60_000 {
            return Err(SettingsError(format!(
                "setting {} must be between 1 and 60000 calls a minute",
                named("batch_per_minute")
            )));
        }
        Ok(JobSettings {
            batch_per_minute,
            quota_backoff: Duration::from_millis(backoff_ms),
            lease: Duration::from_secs(lease_secs),
        })
    }
}
