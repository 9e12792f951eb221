use std::fmt;
use std::str::FromStr;

/// Which of WeChat's two follower-sorting APIs an account is managed through.
///
/// `groups` (`/cgi-bin/groups/*`) is the original brief's; `tags` (`/cgi-bin/tags/*`) replaced it
/// in WeChat's documentation in 2016. They are two separate views of one account: a group id is
/// never taken for a tag id. The list, its cache and the pages have the same shape in both; the
/// rules differ (see [`Api::max_entries`] and [`crate::domain::GroupName::parse_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    #[default]
    Groups,
    Tags,
}

/// A change an operator makes to the list itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    Create,
    Rename,
    Delete,
}

/// A value that is neither `groups` nor `tags`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an API: use `groups` (the default) or `tags`")]
pub struct ParseApiError(pub String);

impl Api {
    /// How many entries an account may have, WeChat's own included: 500 groups (45018) or 100
    /// tags (45056; tag 2 星标组 counts).
    pub fn max_entries(self) -> usize {
        match self {
            Api::Groups => 500,
            Api::Tags => 100,
        }
    }

    /// `groups` / `tags`: the setting's value and the catalogue's key part.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Groups => "groups",
            Api::Tags => "tags",
        }
    }

    /// The audit log's action for a change of the list: `group_create` / `tag_create`, …
    pub fn action(self, change: ListChange) -> &'static str {
        match (self, change) {
            (Api::Groups, ListChange::Create) => "group_create",
            (Api::Groups, ListChange::Rename) => "group_rename",
            (Api::Groups, ListChange::Delete) => "group_delete",
            (Api::Tags, ListChange::Create) => "tag_create",
            (Api::Tags, ListChange::Rename) => "tag_rename",
            (Api::Tags, ListChange::Delete) => "tag_delete",
        }
    }

    /// The other API, for "this one is unavailable: try the other".
    pub fn other(self) -> Self {
        match self {
            Api::Groups => Api::Tags,
            Api::Tags => Api::Groups,
        }
    }
}

impl FromStr for Api {
    type Err = ParseApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "groups" => Ok(Api::Groups),
            "tags" => Ok(Api::Tags),
            _ => Err(ParseApiError(s.to_owned())),
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_names_in_any_case_and_refuses_the_rest() {
        assert_eq!("groups".parse(), Ok(Api::Groups));
        assert_eq!(" Tags ".parse(), Ok(Api::Tags));
        assert!("tag".parse::<Api>().is_err());
        assert!("".parse::<Api>().is_err());
        assert_eq!(Api::default(), Api::Groups);
    }

    #[test]
    fn limits_follow_wechat() {
        assert_eq!(Api::Groups.max_entries(), 500);
        assert_eq!(Api::Tags.max_entries(), 100);
        assert_eq!(Api::Tags.other(), Api::Groups);
    }
}
