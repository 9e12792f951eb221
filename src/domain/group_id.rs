use std::fmt;

use serde::{Deserialize, Serialize};

use super::Api;
use crate::i18n::Lang;

/// A group id as WeChat assigns it: 0, 1 and 2 are the system's own groups, new ones start at 100.
///
/// WeChat sends ids as JSON integers; we keep them in `u32` but accept only what fits a signed 32-bit
/// int, because that is what the upstream stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(u32);

/// Why a typed group id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupIdError {
    #[error("no group id given")]
    Empty,
    #[error("group id {0:?} is not a whole number")]
    NotANumber(String),
    #[error("group id {0} is negative")]
    Negative(String),
    #[error("group id {0} is larger than any WeChat group id")]
    TooLarge(String),
}

impl GroupId {
    /// 未分组: where every follower starts and where members of a deleted group go back to.
    pub const UNGROUPED: GroupId = GroupId(0);
    /// 黑名单: the blacklist.
    pub const BLACKLIST: GroupId = GroupId(1);
    /// 星标组: starred followers.
    pub const STARRED: GroupId = GroupId(2);
    /// The largest id WeChat can hand out (a signed 32-bit int).
    pub const MAX: u32 = i32::MAX as u32;

    /// Parses an id typed into a form or taken from a URL.
    pub fn parse(input: &str) -> Result<Self, GroupIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(GroupIdError::Empty);
        }
        let digits = s.strip_prefix('+').unwrap_or(s);
        if let Some(rest) = digits.strip_prefix('-') {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err(GroupIdError::Negative(s.to_owned()));
            }
            return Err(GroupIdError::NotANumber(s.to_owned()));
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GroupIdError::NotANumber(s.to_owned()));
        }
        match digits.parse::<u64>() {
            Ok(n) if n <= u64::from(Self::MAX) => Ok(GroupId(n as u32)),
            _ => Err(GroupIdError::TooLarge(s.to_owned())),
        }
    }

    /// Wraps an id that came from WeChat itself (a JSON integer we already decoded).
    pub fn from_upstream(id: u32) -> Self {
        GroupId(id)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// 0, 1 and 2 belong to WeChat: they cannot be renamed or deleted.
    pub fn is_system(self) -> bool {
        self.0 <= 2
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl GroupIdError {
    /// The message an operator sees next to the field.
    pub fn message(&self, lang: Lang) -> String {
        self.message_in(lang, Api::Groups)
    }

    /// The message in the words of `api` ("标签 ID…" for tags).
    pub fn message_in(&self, lang: Lang, api: Api) -> String {
        let l = lang.code();
        let key = |base: &str| {
            lang.key_in(api.as_str(), base)
                .unwrap_or_else(|| base.to_owned())
        };
        match self {
            Self::Empty => rust_i18n::t!(key("err.group_id.empty"), locale = l).into_owned(),
            Self::NotANumber(s) => {
                rust_i18n::t!(key("err.group_id.not_a_number"), locale = l, value = s).into_owned()
            }
            Self::Negative(s) => {
                rust_i18n::t!(key("err.group_id.negative"), locale = l, value = s).into_owned()
            }
            Self::TooLarge(s) => {
                rust_i18n::t!(key("err.group_id.too_large"), locale = l, value = s).into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_number_is_an_id() {
        assert_eq!(GroupId::parse("108").unwrap().get(), 108);
        assert_eq!(GroupId::parse(" 0 ").unwrap(), GroupId::UNGROUPED);
    }

    #[test]
    fn an_empty_id_is_refused() {
        assert_eq!(GroupId::parse("  "), Err(GroupIdError::Empty));
    }

    #[test]
    fn a_negative_id_is_refused_as_negative() {
        assert!(matches!(
            GroupId::parse("-3"),
            Err(GroupIdError::Negative(_))
        ));
    }

    #[test]
    fn words_and_decimals_are_not_ids() {
        for s in ["abc", "1.5", "1e3", "0x10", "-", "12 3", "١٢"] {
            assert!(
                matches!(GroupId::parse(s), Err(GroupIdError::NotANumber(_))),
                "{s}"
            );
        }
    }

    #[test]
    fn an_id_beyond_a_signed_32_bit_int_is_too_large() {
        assert!(GroupId::parse("2147483647").is_ok());
        assert!(matches!(
            GroupId::parse("2147483648"),
            Err(GroupIdError::TooLarge(_))
        ));
        assert!(matches!(
            GroupId::parse("99999999999999999999999"),
            Err(GroupIdError::TooLarge(_))
        ));
    }

    #[test]
    fn only_0_1_2_are_system_groups() {
        assert!(GroupId::UNGROUPED.is_system() && GroupId::STARRED.is_system());
        assert!(!GroupId::parse("100").unwrap().is_system());
    }
}
