//! The calls a chunk's steps make, one kind per action: what each sends, how a re-check after a
//! crash tells it is already done, which refusals are narrowed down to single OpenIDs, which
//! stop the whole job, and what it changes in the stored followers.

use crate::{
    domain::{GroupId, OpenId},
    store::{Effect, JobAction, JobRow, JobState},
    wechat::{FollowerInfo, Tagging, WeChatClient, WeChatError},
};

/// Why a job ended before its last chunk: how it ends, and WeChat's error if that was why.
pub(super) type Stop = (JobState, Option<WeChatError>);

// A chunk is what one call takes: the store chunks lists by WeChat's own limits.
const _: () = assert!(
    crate::store::CHUNK == crate::wechat::MAX_TAG_BATCH
        && crate::store::CHUNK == crate::wechat::MAX_BATCH
        && crate::store::BLACKLIST_CHUNK == crate::wechat::MAX_BLACKLIST_BATCH
);

/// One step's call, with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// `groups/members/batchupdate` to the group.
    Move(GroupId),
    /// `tags/members/batchtagging` with the tag.
    Tag(GroupId),
    /// `tags/members/batchuntagging` of the tag.
    Untag(GroupId),
    /// `batchblacklist` (`true`) or `batchunblacklist`.
    Blacklist(bool),
}

impl Call {
    /// The calls of one chunk of `job`, step by step. `copy_tag` is the tag a copy's chunk tags
    /// into; a copy chunk without one (its tag could not be had) has no calls.
    pub(super) fn plan(job: &JobRow, copy_tag: Option<GroupId>) -> Vec<Call> {
        let to = GroupId::from_upstream(job.to_group);
        match job.action {
            JobAction::Move => vec![Call::Move(to)],
            JobAction::Tag => vec![Call::Tag(to)],
            JobAction::Untag => vec![Call::Untag(to)],
            // Untag first: a follower with 20 tags, A among them, can take B only once A is off
            // (45059). The price is a moment with neither; see "Two steps" in worker.rs.
            JobAction::Retag => {
                let from = GroupId::from_upstream(job.from_tag.unwrap_or_default());
                vec![Call::Untag(from), Call::Tag(to)]
            }
            JobAction::Blacklist => vec![Call::Blacklist(true)],
            JobAction::Unblacklist => vec![Call::Blacklist(false)],
            JobAction::CopyGroups => copy_tag.map(Call::Tag).into_iter().collect(),
        }
    }

    /// Sends the call for 1 to 50 (20 for the blacklist) OpenIDs.
    pub(super) async fn send(
        self,
        client: &WeChatClient,
        ids: &[OpenId],
    ) -> Result<(), WeChatError> {
        match self {
            Call::Move(to) => client.move_users(ids, to).await,
            Call::Tag(tag) => client.tag_users(Tagging::Tag, ids, tag).await,
            Call::Untag(tag) => client.tag_users(Tagging::Untag, ids, tag).await,
            Call::Blacklist(on) => client.blacklist_users(on, ids).await,
        }
    }

    /// Whether `user/info/batchget` can tell that this step is done for a follower: it says
    /// their group and their tags, not whether they are blacklisted.
    pub(super) fn can_recheck(self) -> bool {
        !matches!(self, Call::Blacklist(_))
    }

    /// The step is done for the follower `info` describes (one who still follows: for anyone
    /// else WeChat's answer to the call decides).
    pub(super) fn already(self, info: &FollowerInfo) -> bool {
        info.subscribed
            && match self {
                Call::Move(to) => info.group == Some(to),
                Call::Tag(tag) => info.tags.contains(&tag),
                Call::Untag(tag) => !info.tags.contains(&tag),
                Call::Blacklist(_) => false,
            }
    }

    /// A refusal caused by one OpenID of the call, found by splitting it: unknown (40003,
    /// 46004), another account's (49003), already 20 tags (45059, tagging only).
    pub(super) fn narrows(self, code: i64) -> bool {
        matches!(code, 40003 | 46004 | 49003) || (code == 45059 && matches!(self, Call::Tag(_)))
    }

    /// A refusal no other call of the job can escape: the target group (40050) or tag (45159)
    /// is gone, the daily quota is used up (45009), the tags API is not authorised (48001). A
    /// group move keeps its original rule (40050 and 45009 only).
    pub(super) fn stops(self, code: i64) -> bool {
        match self {
            Call::Move(_) => matches!(code, 40050 | 45009),
            Call::Tag(_) | Call::Untag(_) => matches!(code, 45159 | 45009 | 48001),
            Call::Blacklist(_) => matches!(code, 45009 | 48001),
        }
    }

    /// The tag a 45159 may be about (checked before the job is stopped).
    pub(super) fn tag(self) -> Option<GroupId> {
        match self {
            Call::Tag(tag) | Call::Untag(tag) => Some(tag),
            Call::Move(_) | Call::Blacklist(_) => None,
        }
    }

    /// What the step changes for the followers it was carried out for.
    pub(super) fn effect(self) -> Effect {
        match self {
            Call::Move(to) => Effect::Moved(to.get()),
            Call::Tag(tag) => Effect::Tagged(tag.get()),
            Call::Untag(tag) => Effect::Untagged(tag.get()),
            Call::Blacklist(_) => Effect::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(subscribed: bool, group: u32, tags: &[u32]) -> FollowerInfo {
        FollowerInfo {
            openid: OpenId::parse("oABCDEFGHIJKLMNOPQRSTUVWXYZ0").unwrap(),
            subscribed,
            group: Some(GroupId::from_upstream(group)),
            tags: tags.iter().copied().map(GroupId::from_upstream).collect(),
        }
    }

    const A: GroupId = GroupId::STARRED;

    #[test]
    fn a_recheck_sees_a_tag_given_or_taken_off_only_on_a_follower() {
        assert!(Call::Tag(A).already(&info(true, 0, &[2, 101])));
        assert!(!Call::Tag(A).already(&info(true, 0, &[101])));
        assert!(Call::Untag(A).already(&info(true, 0, &[101])));
        assert!(!Call::Untag(A).already(&info(true, 0, &[2])));
        // Someone who left has no tags in the answer: WeChat's own answer decides.
        assert!(!Call::Untag(A).already(&info(false, 0, &[])));
        assert!(Call::Move(A).already(&info(true, 2, &[])));
        assert!(!Call::Blacklist(true).can_recheck());
    }

    #[test]
    fn only_tagging_narrows_on_45059_and_a_deleted_tag_stops_tag_jobs_only() {
        assert!(Call::Tag(A).narrows(45059));
        assert!(!Call::Untag(A).narrows(45059));
        assert!(Call::Blacklist(true).narrows(49003));
        assert!(Call::Untag(A).stops(45159));
        assert!(!Call::Move(A).stops(45159));
        assert!(!Call::Move(A).stops(48001), "group moves keep their rule");
        assert!(Call::Move(A).stops(40050));
    }
}
