use std::fmt;

use serde::Serialize;

use super::Api;
use crate::i18n::Lang;

/// A group name WeChat will accept: trimmed, 1 to 30 characters, nothing invisible.
///
/// The seed page says "30 characters"; the newer tag API counts 30 *bytes* (45158). We enforce the
/// documented character limit here and let the upstream's answer speak for the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct GroupName(String);

/// Which rule a typed group name broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupNameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {chars} characters long; at most {max} are allowed")]
    TooLong { chars: usize, max: usize },
    /// The tags API counts UTF-8 bytes (45158): 30 bytes are about 10 Chinese characters.
    #[error("the name is {bytes} bytes long ({chars} characters); at most {max} bytes are allowed")]
    TooManyBytes {
        bytes: usize,
        chars: usize,
        max: usize,
    },
    /// A control character (tab, newline, …): WeChat rejects them and they are invisible on a page.
    #[error("the name contains a control character (U+{codepoint:04X}) at position {position}")]
    ControlChar { position: usize, codepoint: u32 },
    /// A zero-width or direction-changing character: two names that look the same would differ.
    #[error("the name contains an invisible character (U+{codepoint:04X}) at position {position}")]
    InvisibleChar { position: usize, codepoint: u32 },
    /// 未分组 / 黑名单 / 星标组: a second group with that name would be mistaken for the system's.
    #[error("{0} is the name of a system group")]
    Reserved(String),
}

impl GroupName {
    pub const MAX_CHARS: usize = 30;
    /// The names of groups 0, 1 and 2.
    pub const SYSTEM_NAMES: [&'static str; 3] = ["未分组", "黑名单", "星标组"];

    /// The most UTF-8 bytes a tag name may have (45158).
    pub const MAX_TAG_BYTES: usize = 30;

    /// A group name: the groups API's rule of 30 characters.
    pub fn parse(input: &str) -> Result<Self, GroupNameError> {
        Self::parse_for(Api::Groups, input)
    }

    /// A name for `api`'s list: groups count 30 characters, tags 30 bytes of UTF-8. Everything
    /// else (trimmed, not empty, nothing invisible, not a system name) is the same.
    pub fn parse_for(api: Api, input: &str) -> Result<Self, GroupNameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(GroupNameError::Empty);
        }
        for (i, c) in s.chars().enumerate() {
            if c.is_control() {
                return Err(GroupNameError::ControlChar {
                    position: i + 1,
                    codepoint: c as u32,
                });
            }
            if is_invisible(c) {
                return Err(GroupNameError::InvisibleChar {
                    position: i + 1,
                    codepoint: c as u32,
                });
            }
        }
        let chars = s.chars().count();
        if api == Api::Tags && s.len() > Self::MAX_TAG_BYTES {
            return Err(GroupNameError::TooManyBytes {
                bytes: s.len(),
                chars,
                max: Self::MAX_TAG_BYTES,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(GroupNameError::TooLong {
                chars,
                max: Self::MAX_CHARS,
            });
        }
        if Self::SYSTEM_NAMES.contains(&s) {
            return Err(GroupNameError::Reserved(s.to_owned()));
        }
        Ok(GroupName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for GroupName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters of Unicode's "format" category and the fillers that render as nothing.
///
/// `char::is_control` covers C0/C1; these are the rest of what makes two names look alike.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD                  // soft hyphen
        | 0x034F                // combining grapheme joiner
        | 0x061C                // Arabic letter mark
        | 0x115F | 0x1160       // Hangul fillers
        | 0x17B4 | 0x17B5       // Khmer inherent vowels
        | 0x180B..=0x180E       // Mongolian free variation selectors, vowel separator
        | 0x200B..=0x200F       // zero-width space/joiners, LRM/RLM
        | 0x2028..=0x202E       // line/paragraph separators, bidi embeddings
        | 0x2060..=0x206F       // word joiner, invisible operators, bidi isolates
        | 0x3164                // Hangul filler
        | 0xFEFF                // byte order mark / zero-width no-break space
        | 0xFFA0                // half-width Hangul filler
        | 0xFFF9..=0xFFFB       // interlinear annotation
        | 0x1D173..=0x1D17A     // musical formatting
        | 0xE0000..=0xE007F     // tags
    )
}

impl GroupNameError {
    /// The message an operator sees next to the field.
    pub fn message(&self, lang: Lang) -> String {
        self.message_in(lang, Api::Groups)
    }

    /// The message in the words of `api` ("标签名称…" for tags).
    pub fn message_in(&self, lang: Lang, api: Api) -> String {
        let l = lang.code();
        let key = |base: &str| {
            lang.key_in(api.as_str(), base)
                .unwrap_or_else(|| base.to_owned())
        };
        match self {
            Self::Empty => rust_i18n::t!(key("err.group_name.empty"), locale = l).into_owned(),
            Self::TooLong { chars, max } => rust_i18n::t!(
                key("err.group_name.too_long"),
                locale = l,
                chars = chars,
                max = max
            )
            .into_owned(),
            Self::TooManyBytes { bytes, chars, max } => rust_i18n::t!(
                "err.tag_name.too_long",
                locale = l,
                bytes = bytes,
                chars = chars,
                max = max
            )
            .into_owned(),
            Self::ControlChar {
                position,
                codepoint,
            } => rust_i18n::t!(
                key("err.group_name.control"),
                locale = l,
                position = position,
                codepoint = format!("U+{codepoint:04X}")
            )
            .into_owned(),
            Self::InvisibleChar {
                position,
                codepoint,
            } => rust_i18n::t!(
                key("err.group_name.invisible"),
                locale = l,
                position = position,
                codepoint = format!("U+{codepoint:04X}")
            )
            .into_owned(),
            Self::Reserved(name) => {
                rust_i18n::t!(key("err.group_name.reserved"), locale = l, name = name).into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(
            GroupName::parse("  华东媒体 ").unwrap().as_str(),
            "华东媒体"
        );
    }

    #[test]
    fn an_empty_or_blank_name_is_refused() {
        assert_eq!(GroupName::parse(""), Err(GroupNameError::Empty));
        assert_eq!(GroupName::parse(" \u{3000} "), Err(GroupNameError::Empty));
    }

    #[test]
    fn thirty_characters_fit_and_thirty_one_do_not() {
        let thirty = "组".repeat(30);
        assert!(GroupName::parse(&thirty).is_ok());
        assert_eq!(
            GroupName::parse(&format!("{thirty}a")),
            Err(GroupNameError::TooLong { chars: 31, max: 30 })
        );
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        // 30 CJK characters are 90 bytes of UTF-8: still one valid name.
        let name = "测".repeat(30);
        assert_eq!(name.len(), 90);
        assert!(GroupName::parse(&name).is_ok());
    }

    #[test]
    fn tag_names_count_bytes_thirty_fit_and_thirty_one_do_not() {
        // 10 CJK characters are 30 bytes: the most a tag name may be.
        let thirty = "测".repeat(10);
        assert!(GroupName::parse_for(Api::Tags, &thirty).is_ok());
        // 11 characters, 31 bytes: refused, though far under 30 characters.
        let eleven = format!("{thirty}a");
        assert_eq!(
            GroupName::parse_for(Api::Tags, &eleven),
            Err(GroupNameError::TooManyBytes {
                bytes: 31,
                chars: 11,
                max: 30
            })
        );
        // The same name is a fine group name.
        assert!(GroupName::parse_for(Api::Groups, &eleven).is_ok());
        assert!(GroupName::parse_for(Api::Tags, &"a".repeat(30)).is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_their_position() {
        assert_eq!(
            GroupName::parse("ab\ncd"),
            Err(GroupNameError::ControlChar {
                position: 3,
                codepoint: 0x0A
            })
        );
        assert!(matches!(
            GroupName::parse("a\u{7}"),
            Err(GroupNameError::ControlChar { .. })
        ));
    }

    #[test]
    fn zero_width_and_bidi_characters_are_refused() {
        for c in [
            '\u{200B}', '\u{200D}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{3164}',
        ] {
            let name = format!("vip{c}");
            assert!(
                matches!(
                    GroupName::parse(&name),
                    Err(GroupNameError::InvisibleChar { position: 4, .. })
                ),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn emoji_with_variation_selectors_are_fine() {
        assert!(GroupName::parse("❤\u{FE0F} 粉丝").is_ok());
    }

    #[test]
    fn html_is_just_text_here() {
        // Escaping is the template's job; the name itself is legitimate.
        assert!(GroupName::parse("<script>alert(1)</script>").is_ok());
    }

    #[test]
    fn system_group_names_are_reserved() {
        for n in GroupName::SYSTEM_NAMES {
            assert_eq!(
                GroupName::parse(n),
                Err(GroupNameError::Reserved(n.to_owned()))
            );
        }
    }
}
