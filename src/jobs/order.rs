//! What a tags-mode list job does: the action and its tags, as the list form (or a link's query)
//! names them, checked against the tag list before anything is stored or sent.
//!
//! Refused locally, with a message by the field: no action, an action the tags mode does not
//! offer, a missing tag, a tag id that is not one, a tag the list does not have, a move whose
//! tags A and B are the same.

use crate::{
    domain::{GroupId, GroupIdError},
    state::Snapshot,
    store::JobAction,
    web::Chrome,
};

/// A tags-mode job on a list: the action, tag A (taken off: untag, retag) and tag B (given:
/// tag, retag). The blacklist actions name no tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagOrder {
    pub action: JobAction,
    pub from: Option<GroupId>,
    pub to: Option<GroupId>,
}

/// Why an order was refused, by field, in the operator's language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderErrors {
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl OrderErrors {
    pub fn is_empty(&self) -> bool {
        self == &OrderErrors::default()
    }
}

impl TagOrder {
    /// The job row's `to_group`: tag B, or tag A for an untag; 0 for the blacklist.
    pub fn target(&self) -> u32 {
        self.to.or(self.from).map_or(0, GroupId::get)
    }

    /// An order a list job can carry out: an action offered for lists, with the tags it uses,
    /// and two different ones for a move. [`Self::parse`] answers only such orders; this is for
    /// an order built otherwise.
    pub fn is_sound(&self) -> bool {
        let (uses_from, uses_to) = uses(self.action);
        JobAction::FOR_LISTS.contains(&self.action)
            && self.from.is_some() == uses_from
            && self.to.is_some() == uses_to
            && !(uses_from && uses_to && self.from == self.to)
    }

    /// The job row's `from_tag`: a retag's tag A.
    pub fn retag_from(&self) -> Option<GroupId> {
        self.from.filter(|_| self.action == JobAction::Retag)
    }

    /// Reads the form's `action`, `from_tag` and `to_tag` and checks them against `tags` (the
    /// cached tag list; without one, any id is taken and WeChat's answer decides). A tag field
    /// the action does not use is ignored, so a form without JavaScript may leave it set.
    pub fn parse(
        chrome: &Chrome,
        (action, from, to): (&str, &str, &str),
        tags: Option<&Snapshot>,
    ) -> Result<TagOrder, OrderErrors> {
        let mut errors = OrderErrors::default();
        let action = match JobAction::parse(action.trim()) {
            Some(a) if JobAction::FOR_LISTS.contains(&a) => Some(a),
            _ => {
                errors.action = Some(chrome.t("jobs.tags.err.action"));
                None
            }
        };
        let (uses_from, uses_to) = action.map_or((false, false), uses);
        let from = if uses_from {
            tag_field(chrome, from, "jobs.tags.err.from_needed", tags)
                .map_err(|e| errors.from = Some(e))
                .ok()
        } else {
            None
        };
        let to = if uses_to {
            tag_field(chrome, to, "jobs.tags.err.to_needed", tags)
                .map_err(|e| errors.to = Some(e))
                .ok()
        } else {
            None
        };
        if let (Some(a), Some(b)) = (from, to)
            && a == b
        {
            errors.to = Some(chrome.t1("jobs.tags.err.same", "tag", label(tags, a)));
        }
        match action {
            Some(action) if errors.is_empty() => Ok(TagOrder { action, from, to }),
            _ => Err(errors),
        }
    }
}

/// Which of tag A and tag B `action` uses.
fn uses(action: JobAction) -> (bool, bool) {
    match action {
        JobAction::Untag => (true, false),
        JobAction::Tag => (false, true),
        JobAction::Retag => (true, true),
        _ => (false, false),
    }
}

/// One tag field: an id the tag list has.
fn tag_field(
    chrome: &Chrome,
    value: &str,
    needed: &str,
    tags: Option<&Snapshot>,
) -> Result<GroupId, String> {
    let id = GroupId::parse(value).map_err(|e| match e {
        GroupIdError::Empty => chrome.t(needed),
        other => id_message(chrome, &other),
    })?;
    match tags {
        Some(list) if list.find(id).is_none() => Err(chrome.t1("jobs.tags.err.unknown", "id", id)),
        _ => Ok(id),
    }
}

/// A malformed id's message, in the tags' words.
fn id_message(chrome: &Chrome, e: &GroupIdError) -> String {
    let (key, value) = match e {
        GroupIdError::Empty => ("err.group_id.empty", ""),
        GroupIdError::NotANumber(v) => ("err.group_id.not_a_number", v.as_str()),
        GroupIdError::Negative(v) => ("err.group_id.negative", v.as_str()),
        GroupIdError::TooLarge(v) => ("err.group_id.too_large", v.as_str()),
    };
    chrome.t1(key, "value", value)
}

/// "VIP (101)", or "(101)" when the list does not name it.
fn label(tags: Option<&Snapshot>, id: GroupId) -> String {
    crate::jobs::page::group_label(tags, id.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(action: JobAction, from: Option<u32>, to: Option<u32>) -> TagOrder {
        TagOrder {
            action,
            from: from.map(GroupId::from_upstream),
            to: to.map(GroupId::from_upstream),
        }
    }

    #[test]
    fn a_sound_order_names_exactly_the_tags_its_action_uses_and_a_move_two_different_ones() {
        assert!(order(JobAction::Tag, None, Some(101)).is_sound());
        assert!(order(JobAction::Untag, Some(101), None).is_sound());
        assert!(order(JobAction::Retag, Some(100), Some(101)).is_sound());
        assert!(order(JobAction::Blacklist, None, None).is_sound());
        assert!(!order(JobAction::Retag, Some(101), Some(101)).is_sound());
        assert!(!order(JobAction::Retag, Some(101), None).is_sound());
        assert!(!order(JobAction::Tag, None, None).is_sound());
        assert!(!order(JobAction::Move, None, Some(101)).is_sound());
        assert!(!order(JobAction::CopyGroups, None, None).is_sound());
        // The job row names B, or A for an untag, or nothing.
        assert_eq!(order(JobAction::Untag, Some(101), None).target(), 101);
        assert_eq!(order(JobAction::Retag, Some(100), Some(101)).target(), 101);
        assert_eq!(order(JobAction::Blacklist, None, None).target(), 0);
    }
}
