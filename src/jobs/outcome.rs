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

/// What a retag's follower carries when WeChat refused (or the job stopped before) their
/// second step.
const BETWEEN_NOTE: &str = "tag A removed, tag B not given: carries neither";
/// … when their second step got no proper answer (it may have happened).
const BETWEEN_UNKNOWN_NOTE: &str = "tag A removed; whether tag B was given is not known";
/// … when WeChat refused (or the job stopped before) their first step.
const UNCHANGED_NOTE: &str = "tag A not removed, tag B not given";
/// … when their first step got no proper answer.
const UNCHANGED_UNKNOWN_NOTE: &str = "whether tag A was removed is not known; tag B not given";

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
                JobAction::CopyGroups => {
                    tags.get(&item.seq).map(u32::to_string).unwrap_or_default()
                }
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

/// For a retag that did not end with B: which of the two steps happened. A call is all or
/// nothing, so an errcode (WeChat answered) means it did not happen; a failure without one (no
/// proper answer, after every retry) leaves it unknown.
fn note(action: JobAction, item: &ItemRow) -> &'static str {
    let answered = item.errcode.is_some() || item.outcome == Some(ItemOutcome::Cancelled);
    match (action, item.outcome) {
        (JobAction::Retag, Some(o)) if o != ItemOutcome::Moved => {
            match (item.step == Some(1), answered) {
                (true, true) => BETWEEN_NOTE,
                (true, false) => BETWEEN_UNKNOWN_NOTE,
                (false, true) => UNCHANGED_NOTE,
                (false, false) => UNCHANGED_UNKNOWN_NOTE,
            }
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: ItemOutcome, errcode: Option<i64>, step: i64) -> ItemRow {
        ItemRow {
            pos: 0,
            seq: 0,
            openid: "oABCDEFGHIJKLMNOPQRSTUVWXYZ0".into(),
            outcome: Some(outcome),
            errcode,
            step: Some(step),
        }
    }

    #[test]
    fn a_retag_note_says_which_step_happened_and_when_that_is_not_known() {
        let retag = JobAction::Retag;
        assert_eq!(note(retag, &item(ItemOutcome::Moved, None, 1)), "");
        assert_eq!(
            note(retag, &item(ItemOutcome::Invalid, Some(45059), 1)),
            BETWEEN_NOTE
        );
        assert_eq!(
            note(retag, &item(ItemOutcome::Failed, Some(45159), 1)),
            BETWEEN_NOTE
        );
        assert_eq!(
            note(retag, &item(ItemOutcome::Failed, None, 1)),
            BETWEEN_UNKNOWN_NOTE
        );
        assert_eq!(
            note(retag, &item(ItemOutcome::Invalid, Some(40003), 0)),
            UNCHANGED_NOTE
        );
        assert_eq!(
            note(retag, &item(ItemOutcome::Failed, None, 0)),
            UNCHANGED_UNKNOWN_NOTE
        );
        assert_eq!(
            note(retag, &item(ItemOutcome::Cancelled, None, 0)),
            UNCHANGED_NOTE
        );
        assert_eq!(
            note(JobAction::Tag, &item(ItemOutcome::Failed, None, 0)),
            ""
        );
    }
}
