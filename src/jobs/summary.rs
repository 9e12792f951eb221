//! What the audit log says of a job: what it was asked to do, and how it ended.
//!
//! The audit log keeps English lines whatever the operator's language (as for every other
//! action): they are read back in exports and by whoever audits, not translated per viewer.

use crate::{
    jobs::page::listed_name,
    state::Snapshot,
    store::{JobAction, JobRow, JobState, Outcome},
};

/// The audit row's "after" when the job is queued: its list and what is done to it, naming the
/// group or tags as the list names them now, else as the job stored them ("10000 OpenIDs →
/// group 101 (VIP客户)"). `groups` is how many groups a copy copies.
pub fn audit_after(job: &JobRow, list: Option<&Snapshot>, groups: usize) -> String {
    let name = |id: u32, stored: Option<&str>| -> String {
        let named = listed_name(list, id).or(stored);
        named
            .map(|n| format!("{id} ({n})"))
            .unwrap_or_else(|| id.to_string())
    };
    let to = name(job.to_group, job.to_group_name.as_deref());
    let n = job.total;
    match job.action {
        JobAction::Move => format!("{n} OpenIDs → group {to}"),
        JobAction::Tag => format!("{n} OpenIDs + tag {to}"),
        JobAction::Untag if job.listing => {
            format!("every follower carrying tag {to} (read from WeChat) − tag {to}")
        }
        JobAction::Untag => format!("{n} OpenIDs − tag {to}"),
        JobAction::Retag => {
            let from = name(job.from_tag.unwrap_or(0), job.from_name.as_deref());
            format!("{n} OpenIDs: tag {from} → tag {to}")
        }
        JobAction::Blacklist => format!("{n} OpenIDs → blacklist"),
        JobAction::Unblacklist => format!("{n} OpenIDs ← blacklist (removed)"),
        JobAction::CopyGroups => format!("{groups} groups → tags, {n} followers"),
    }
}

/// The outcome and the one-line detail of a job's audit row (see [`crate::store::Describe`]).
pub fn audit_summary(job: &JobRow) -> (Outcome, String) {
    let outcome = match job.state {
        JobState::Done if job.failed == 0 => Outcome::Ok,
        JobState::Cancelled => Outcome::Ok,
        _ => Outcome::Failed,
    };
    // A group move keeps its original words ("invalid"); the tags API's jobs say "refused",
    // since 45059 (20 tags already) is not an invalid OpenID.
    let (done, refused) = match job.action {
        JobAction::Move => ("moved", "invalid"),
        JobAction::Tag | JobAction::CopyGroups => ("tagged", "refused"),
        JobAction::Untag => ("untagged", "refused"),
        JobAction::Retag => ("moved", "refused"),
        JobAction::Blacklist => ("blacklisted", "refused"),
        JobAction::Unblacklist => ("unblacklisted", "refused"),
    };
    let detail = format!(
        "{}: {done} {}, {refused} {}, failed {}, cancelled {} of {} ({} calls){}",
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
