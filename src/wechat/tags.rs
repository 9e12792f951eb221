//! The calls only the user-tag API has: a follower's tags, tagging and untagging in batches, a
//! tag's members, and the blacklist. The list, create, rename and delete of tags share their code
//! with groups in `client.rs` (they differ only in path and JSON).

use super::client::{FollowerPage, WeChatClient};
use super::endpoint::Endpoint;
use super::errors::{TransportKind, WeChatError};
use super::transport::Request;
use super::wire;
use crate::domain::{GroupId, OpenId};

/// The most OpenIDs one `batchtagging` / `batchuntagging` takes (more: 40032).
pub const MAX_TAG_BATCH: usize = 50;
/// The most OpenIDs one `batchblacklist` / `batchunblacklist` takes (more: 40032).
pub const MAX_BLACKLIST_BATCH: usize = 20;
/// The most tags one follower may carry (more: 45059).
pub const MAX_TAGS_PER_FOLLOWER: usize = 20;

/// Tagging or untagging: the two batch calls of the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    Tag,
    Untag,
}

impl WeChatClient {
    /// The tags a follower carries, ascending (`POST tags/getidlist`).
    pub async fn tags_of(&self, openid: &OpenId) -> Result<Vec<GroupId>, WeChatError> {
        let body = wire::GetUserGroup {
            openid: openid.as_str(),
        };
        let found: wire::TagIdList = self
            .call(&Request::post(Endpoint::TagsGetIdList, &body))
            .await?;
        let mut tags: Vec<GroupId> = found
            .tagid_list
            .into_iter()
            .map(GroupId::from_upstream)
            .collect();
        tags.sort_unstable_by_key(|t| t.get());
        Ok(tags)
    }

    /// Tags (or untags) 1 to [`MAX_TAG_BATCH`] followers with `tag` (`POST tags/members/
    /// batchtagging` / `batchuntagging`). All or nothing upstream: one OpenID WeChat refuses
    /// (40003, 49003, 45059) refuses the call. Any other number is refused locally.
    pub async fn tag_users(
        &self,
        how: Tagging,
        openids: &[OpenId],
        tag: GroupId,
    ) -> Result<(), WeChatError> {
        within("batch tagging", openids, MAX_TAG_BATCH)?;
        let body = wire::TagUsers {
            openid_list: openids.iter().map(OpenId::as_str).collect(),
            tagid: tag.get(),
        };
        let endpoint = match how {
            Tagging::Tag => Endpoint::TagsBatchTagging,
            Tagging::Untag => Endpoint::TagsBatchUntagging,
        };
        self.ack(endpoint, &body).await
    }

    /// One page of a tag's followers (`POST user/tag/get`), starting after `after`. The page
    /// size is not documented: follow `next` until it is `None`.
    pub async fn tag_members(
        &self,
        tag: GroupId,
        after: Option<&OpenId>,
    ) -> Result<FollowerPage, WeChatError> {
        let body = wire::TagMembersRequest {
            tagid: tag.get(),
            next_openid: after.map_or("", OpenId::as_str),
        };
        let page: wire::OpenIdPage = self
            .call(&Request::post(Endpoint::TagMembers, &body))
            .await?;
        read_page(Endpoint::TagMembers, page)
    }

    /// One page of the blacklist (`POST tags/members/getblacklist`), starting after `after`.
    /// WeChat's two docs disagree on the page size (10,000 or 1,000): follow `next`.
    pub async fn blacklist(&self, after: Option<&OpenId>) -> Result<FollowerPage, WeChatError> {
        let body = wire::BlacklistRequest {
            begin_openid: after.map_or("", OpenId::as_str),
        };
        let page: wire::OpenIdPage = self
            .call(&Request::post(Endpoint::Blacklist, &body))
            .await?;
        read_page(Endpoint::Blacklist, page)
    }

    /// Puts 1 to [`MAX_BLACKLIST_BATCH`] followers on the blacklist (`batchblacklist`), or takes
    /// them off (`batchunblacklist`) when `on` is false.
    pub async fn blacklist_users(&self, on: bool, openids: &[OpenId]) -> Result<(), WeChatError> {
        within("a blacklist change", openids, MAX_BLACKLIST_BATCH)?;
        let body = wire::OpenIdListBody {
            openid_list: openids.iter().map(OpenId::as_str).collect(),
        };
        let endpoint = if on {
            Endpoint::BatchBlacklist
        } else {
            Endpoint::BatchUnblacklist
        };
        self.ack(endpoint, &body).await
    }
}

/// A batch of 1 to `max` OpenIDs, or a local refusal: WeChat would answer 40032 and still count
/// the call against the quota.
fn within(what: &str, openids: &[OpenId], max: usize) -> Result<(), WeChatError> {
    if openids.is_empty() || openids.len() > max {
        return Err(WeChatError::Local(format!(
            "{what} takes 1 to {max} OpenIDs, not {}",
            openids.len()
        )));
    }
    Ok(())
}

/// A page of OpenIDs: every one must be an OpenID, and so must `next_openid` unless it is empty.
/// An empty page ends the list whatever `next_openid` says, so a reader never loops on it.
fn read_page(endpoint: Endpoint, page: wire::OpenIdPage) -> Result<FollowerPage, WeChatError> {
    let not_an_openid = |what: &str, e| WeChatError::Transport {
        kind: TransportKind::BadBody,
        detail: format!("{}: {what} is not an OpenID: {e}", endpoint.path()),
    };
    let openids = page
        .data
        .map(|d| d.openid)
        .unwrap_or_default()
        .iter()
        .map(|o| OpenId::parse(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| not_an_openid("an OpenID in the list", e))?;
    let next = match page.next_openid.as_str() {
        _ if openids.is_empty() => None,
        "" => None,
        n => Some(OpenId::parse(n).map_err(|e| not_an_openid("next_openid", e))?),
    };
    Ok(FollowerPage {
        total: page.total.unwrap_or(openids.len() as u64),
        openids,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> Result<FollowerPage, WeChatError> {
        read_page(Endpoint::TagMembers, serde_json::from_str(json).unwrap())
    }

    #[test]
    fn an_empty_page_ends_the_list_even_with_a_next_openid() {
        let p = page(r#"{"count":0,"next_openid":"oABCDEFGHIJKLMNOPQRSTUVWXYZ0"}"#).unwrap();
        assert!(p.openids.is_empty());
        assert!(p.next.is_none());
    }

    #[test]
    fn a_full_page_carries_its_next_openid_and_a_garbled_one_is_a_bad_answer() {
        let ok = page(
            r#"{"count":1,"data":{"openid":["oABCDEFGHIJKLMNOPQRSTUVWXYZ0"]},"next_openid":"oABCDEFGHIJKLMNOPQRSTUVWXYZ0"}"#,
        )
        .unwrap();
        assert_eq!(ok.openids.len(), 1);
        assert!(ok.next.is_some());
        let bad = page(
            r#"{"count":1,"data":{"openid":["oABCDEFGHIJKLMNOPQRSTUVWXYZ0"]},"next_openid":"not one!"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            bad,
            WeChatError::Transport {
                kind: TransportKind::BadBody,
                ..
            }
        ));
    }

    #[test]
    fn batch_sizes_outside_the_limits_are_refused_locally() {
        assert!(within("x", &[], 50).is_err());
        let one = OpenId::parse("oABCDEFGHIJKLMNOPQRSTUVWXYZ0").unwrap();
        assert!(within("x", &vec![one.clone(); 50], 50).is_ok());
        assert!(within("x", &vec![one.clone(); 51], 50).is_err());
        assert!(within("x", &vec![one; 21], MAX_BLACKLIST_BATCH).is_err());
    }
}
