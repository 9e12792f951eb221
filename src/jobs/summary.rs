//! What the audit log says of a finished job.

use crate::store::{JobRow, JobState, Outcome};

/// The outcome and the one-line detail of a job's audit row (see [`crate::store::Describe`]).
pub fn audit_summary(job: &JobRow) -> (Outcome, String) {
    let outcome = match job.state {
        JobState::Done if job.failed == 0 => Outcome::Ok,
        JobState::Cancelled => Outcome::Ok,
        _ => Outcome::Failed,
    };
    let detail = format!(
        "{}: moved {}, invalid {}, failed {}, cancelled {} of {} ({} calls){}",
        job.state.as_str(),
        job.moved,
        job.invalid,
        job.failed,
        job.cancelled,
        job.total,
        job.calls,
        job.error
            .as_deref()
            .map(|e| format!("; {e}"))
            .unwrap_or_default()
    );
    (outcome, detail)
}
