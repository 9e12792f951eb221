//! The "find a follower" panel: the lookup form, what was found, and the move form.

use std::sync::Arc;

use askama::Template;

use crate::{domain::GroupId, state::Snapshot, web::Chrome, wechat::Group};

/// A follower WeChat told us about.
#[derive(Debug, Clone)]
pub struct Found {
    pub openid: String,
    pub group_id: GroupId,
    /// `None` when the cached list does not know the id (it may be stale).
    pub group_name: Option<String>,
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
            oob: false,
        }
    }

    pub fn has_error(&self) -> bool {
        self.openid_error.is_some() || self.to_error.is_some()
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
