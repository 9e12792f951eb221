//! The outcome CSV of a tags-mode job: every OpenID with what was done, the tags involved, and
//! for a retag the state the follower is left in when the second step did not happen for them.
//!
//! The words are tokens for spreadsheets and scripts, the same in both languages (as the group
//! move's CSV): `tagged`, `untagged`, `moved`, `blacklisted`, `unblacklisted`, `refused`,
//! `failed`, `cancelled`, `pending`.

use std::collections::HashMap;

use crate::{
    audit::csv_safe,
    store::{ItemOutcome, ItemRow, JobAction, JobRow},
};

/// What a retag's follower carries when their second step did not happen.
pub const BETWEEN_NOTE: &str = "tag A removed, tag B not given: carries neither";
/// … and when their first step did not happen either.
pub const UNCHANGED_NOTE: &str = "tag A not removed, tag B not given";

/// The CSV (with a BOM, so Excel reads it as UTF-8). `tags` is a copy's tag by chunk.
pub fn tags_csv(
    job: &JobRow,
    items: Vec<ItemRow>,
    tags: &HashMap<i64, u32>,
) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::from("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "line", "openid", "action", "from_tag", "to_tag", "outcome", "errcode", "note",
        ])?;
        let (from, to) = tags_of(job);
        for item in items {
            let to = match job.action {
                JobAction::CopyGroups => tags.get(&item.seq).map(u32::to_string).unwrap_or_default(),
                _ => to.clone(),
            };
            let record = [
                (item.pos + 1).to_string(),
                item.openid.clone(),
                job.action.as_str().to_owned(),
                from.clone(),
                to,
                outcome_word(job.action, item.outcome).to_owned(),
                item.errcode.map(|c| c.to_string()).unwrap_or_default(),
                note(job.action, &item).to_owned(),
            ];
            w.write_record(record.iter().map(|c| csv_safe(c)))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// The job's tag A and tag B as CSV cells ("" where the action has none).
fn tags_of(job: &JobRow) -> (String, String) {
    let id = |t: u32| t.to_string();
    match job.action {
        JobAction::Untag => (id(job.to_group), String::new()),
        JobAction::Retag => (job.from_tag.map(id).unwrap_or_default(), id(job.to_group)),
        JobAction::Tag | JobAction::Move => (String::new(), id(job.to_group)),
        _ => (String::new(), String::new()),
    }
}

fn outcome_word(action: JobAction, outcome: Option<ItemOutcome>) -> &'static str {
    match outcome {
        Some(ItemOutcome::Moved) => match action {
            JobAction::Tag | JobAction::CopyGroups => "tagged",
            JobAction::Untag => "untagged",
            JobAction::Retag | JobAction::Move => "moved",
            JobAction::Blacklist => "blacklisted",
            JobAction::Unblacklist => "unblacklisted",
        },
        Some(ItemOutcome::Invalid) => "refused",
        Some(ItemOutcome::Failed) => "failed",
        Some(ItemOutcome::Cancelled) => "cancelled",
        None => "pending",
    }
}

/// For a retag that did not end with B: which of the two steps happened.
fn note(action: JobAction, item: &ItemRow) -> &'static str {
    match (action, item.outcome) {
        (JobAction::Retag, Some(o)) if o != ItemOutcome::Moved => {
            if item.step == Some(1) {
                BETWEEN_NOTE
            } else {
                UNCHANGED_NOTE
            }
        }
        _ => "",
    }
}
