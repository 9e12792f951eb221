//! The "find a follower" panel: the lookup form, what was found, and the move form.

use std::sync::Arc;

use askama::Template;

use crate::{
    domain::GroupId,
    state::Snapshot,
    web::Chrome,
    wechat::{Group, MAX_TAGS_PER_FOLLOWER},
};

/// A follower WeChat told us about.
#[derive(Debug, Clone)]
pub struct Found {
    pub openid: String,
    pub group_id: GroupId,
    /// `None` when the cached list does not know the id (it may be stale).
    pub group_name: Option<String>,
    /// The tags API: every tag the follower carries, named as the cached list names it.
    pub tags: Vec<Carried>,
}

/// One tag a follower carries.
#[derive(Debug, Clone)]
pub struct Carried {
    pub id: GroupId,
    pub name: Option<String>,
}

impl Found {
    /// A follower found through the tags API (`tags/getidlist`); no group is asked for.
    pub fn with_tags(openid: &str, tags: &[GroupId], snapshot: Option<&Snapshot>) -> Self {
        Found {
            openid: openid.to_owned(),
            group_id: GroupId::UNGROUPED,
            group_name: None,
            tags: tags
                .iter()
                .map(|&id| Carried {
                    id,
                    name: snapshot.and_then(|s| s.find(id)).map(|g| g.name.clone()),
                })
                .collect(),
        }
    }

    pub fn carries(&self, id: GroupId) -> bool {
        self.tags.iter().any(|t| t.id == id)
    }

    /// At WeChat's limit of 20 tags: nothing more can be added (45059).
    pub fn full(&self) -> bool {
        self.tags.len() >= MAX_TAGS_PER_FOLLOWER
    }
}

/// The "find a follower" panel: the lookup form, what was found, and the move form.
#[derive(Template)]
#[template(path = "members/_panel.html")]
pub struct MemberPanel {
    pub chrome: Chrome,
    pub snapshot: Option<Arc<Snapshot>>,
    /// What was typed into the OpenID field.
    pub openid_value: String,
    pub openid_error: Option<String>,
    pub found: Option<Found>,
    /// The group picked in the move form (kept when the move is refused).
    pub to_value: String,
    pub to_error: Option<String>,
    /// Set after a successful move, to say so in the panel too.
    pub moved: bool,
    /// The move asked for is into the blacklist: show the confirmation step.
    pub confirm_blacklist: bool,
    /// The tags API: what is wrong with the tag picked in an add, remove or move form.
    pub tag_error: Option<String>,
    /// The tags API: the "from" of a move, kept when it is refused.
    pub from_value: String,
    pub oob: bool,
}

impl MemberPanel {
    pub fn new(chrome: &Chrome, snapshot: Option<Arc<Snapshot>>) -> Self {
        MemberPanel {
            chrome: chrome.clone(),
            snapshot,
            openid_value: String::new(),
            openid_error: None,
            found: None,
            to_value: String::new(),
            to_error: None,
            moved: false,
            confirm_blacklist: false,
            tag_error: None,
            from_value: String::new(),
            oob: false,
        }
    }

    pub fn has_error(&self) -> bool {
        self.openid_error.is_some() || self.to_error.is_some() || self.tag_error.is_some()
    }

    /// The tags a follower can be given: listed tags they do not carry. Tags 0 and 1 are
    /// WeChat's reserved ids and never listed.
    pub fn addable(&self) -> Vec<&Group> {
        let found = self.found.as_ref();
        self.snapshot
            .as_ref()
            .map(|s| {
                s.groups
                    .iter()
                    .filter(|g| !found.is_some_and(|f| f.carries(g.id)))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_from(&self, id: impl std::borrow::Borrow<GroupId>) -> bool {
        self.from_value == id.borrow().to_string()
    }

    /// The groups a follower can be moved to: all but the one they are in.
    pub fn targets(&self) -> Vec<&Group> {
        let current = self.found.as_ref().map(|f| f.group_id);
        self.snapshot
            .as_ref()
            .map(|s| s.groups.iter().filter(|g| Some(g.id) != current).collect())
            .unwrap_or_default()
    }

    /// The blacklist's name as the list has it (黑名单).
    pub fn blacklist_name(&self) -> String {
        self.snapshot
            .as_ref()
            .and_then(|s| s.find(GroupId::BLACKLIST))
            .map_or_else(|| "黑名单".to_owned(), |g| g.name.clone())
    }

    /// Where "cancel" on the confirmation step goes without JavaScript: the follower again.
    pub fn lookup_page(&self, openid: &str) -> String {
        self.chrome.urls.groups_lookup(openid)
    }

    /// The same, as the fragment htmx swaps in.
    pub fn lookup_fragment(&self, openid: &str) -> String {
        self.chrome.urls.member_lookup_of(openid)
    }

    pub fn is_selected(&self, id: impl std::borrow::Borrow<GroupId>) -> bool {
        self.to_value == id.borrow().to_string()
    }
}
