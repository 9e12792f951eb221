//! `GroupName`, `OpenId` and `GroupId`: what an operator types into a form or a URL.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use wxgroups::domain::{
    Api, GroupId, GroupIdError, GroupName, GroupNameError, OpenId, OpenIdError,
};
use wxgroups::i18n::Lang;

use crate::{any_text, lossy_text, near, said};

/// The characters `GroupName`'s docs call invisible (Unicode's format characters and the fillers
/// that render as nothing), written out again here as the rule the parsed value must keep.
fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180E
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFEFF | 0xFFA0
        | 0xFFF9..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE007F)
}

fn openid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Letters of group names as operators write them.
fn name_char() -> impl Strategy<Value = char> + Clone {
    prop::sample::select(
        "abcXYZ019 -_·组测试华东媒体客户❤粉丝"
            .chars()
            .collect::<Vec<_>>(),
    )
}

fn name_input() -> impl Strategy<Value = String> {
    let system = prop::sample::select(GroupName::SYSTEM_NAMES.to_vec());
    prop_oneof![
        any_text(40),
        lossy_text(120),
        near(name_char(), 36),
        // 未分组 and friends, alone or padded.
        (system, prop::sample::select(vec!["", " ", "\u{3000}", "x"]))
            .prop_map(|(name, pad)| format!("{pad}{name}{pad}")),
    ]
}

/// No character before (1-based) `position` breaks a character rule of group names.
fn clean_before(name: &str, position: usize) -> bool {
    name.chars()
        .take(position - 1)
        .all(|c| !c.is_control() && !invisible(c))
}

/// The character a refusal names at `position` is `codepoint`, breaks `rule`, and is the first
/// that breaks a character rule.
fn first_bad(
    name: &str,
    position: usize,
    codepoint: u32,
    rule: fn(char) -> bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        name.chars().nth(position - 1).map(u32::from),
        Some(codepoint)
    );
    prop_assert!(char::from_u32(codepoint).is_some_and(rule));
    prop_assert!(clean_before(name, position));
    Ok(())
}

fn check_group_name(input: &str, api: Api) -> Result<(), TestCaseError> {
    let trimmed = input.trim();
    match GroupName::parse_for(api, input) {
        Ok(name) => {
            let s = name.as_str();
            prop_assert_eq!(s, trimmed, "only the surrounding whitespace goes");
            let chars = s.chars().count();
            prop_assert!(
                (1..=GroupName::MAX_CHARS).contains(&chars),
                "{} characters",
                chars
            );
            prop_assert!(
                !s.chars().any(|c| c.is_control() || invisible(c)),
                "an invisible or control character in {:?}",
                s
            );
            if api == Api::Tags {
                prop_assert!(s.len() <= GroupName::MAX_TAG_BYTES, "{} bytes", s.len());
            }
            prop_assert!(!GroupName::SYSTEM_NAMES.contains(&s));
            prop_assert_eq!(
                GroupName::parse_for(api, s),
                Ok(name.clone()),
                "parsing again"
            );
        }
        Err(e) => {
            said(&e.message(Lang::Zh), &e.message(Lang::En), trimmed)?;
            // The reason is the first rule the input breaks, and it is true of the input.
            match e {
                GroupNameError::Empty => prop_assert!(trimmed.is_empty()),
                GroupNameError::ControlChar {
                    position,
                    codepoint,
                } => first_bad(trimmed, position, codepoint, char::is_control)?,
                GroupNameError::InvisibleChar {
                    position,
                    codepoint,
                } => first_bad(trimmed, position, codepoint, invisible)?,
                GroupNameError::TooManyBytes { bytes, chars, max } => {
                    prop_assert_eq!(api, Api::Tags, "only tags count bytes");
                    prop_assert_eq!(max, GroupName::MAX_TAG_BYTES);
                    prop_assert_eq!(bytes, trimmed.len());
                    prop_assert_eq!(chars, trimmed.chars().count());
                    prop_assert!(bytes > max);
                    prop_assert!(clean_before(trimmed, chars + 1));
                }
                GroupNameError::TooLong { chars, max } => {
                    prop_assert_eq!(max, GroupName::MAX_CHARS);
                    prop_assert_eq!(chars, trimmed.chars().count());
                    prop_assert!(chars > max);
                    prop_assert!(clean_before(trimmed, chars + 1));
                }
                GroupNameError::Reserved(name) => {
                    prop_assert_eq!(name.as_str(), trimmed);
                    prop_assert!(GroupName::SYSTEM_NAMES.contains(&trimmed));
                }
            }
        }
    }
    Ok(())
}

fn openid_input() -> impl Strategy<Value = String> {
    let alphabet = prop::sample::select(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        any_text(80),
        lossy_text(120),
        near(alphabet.clone(), 70),
        // Right at the length limits, 5/6 and 64/65.
        (prop::sample::select(vec![5usize, 6, 28, 64, 65]), alphabet)
            .prop_map(|(n, c)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn check_openid(input: &str) -> Result<(), TestCaseError> {
    let trimmed = input.trim();
    match OpenId::parse(input) {
        Ok(id) => {
            let s = id.as_str();
            prop_assert_eq!(s, trimmed);
            prop_assert!(s.chars().all(openid_char), "{:?}", s);
            prop_assert!((OpenId::MIN_LEN..=OpenId::MAX_LEN).contains(&s.chars().count()));
            prop_assert_eq!(OpenId::parse(s), Ok(id.clone()), "parsing again");
        }
        Err(e) => {
            said(&e.message(Lang::Zh), &e.message(Lang::En), trimmed)?;
            let all_allowed = trimmed.chars().all(openid_char);
            match e {
                OpenIdError::Empty => prop_assert!(trimmed.is_empty()),
                OpenIdError::BadChar { position, found } => {
                    prop_assert_eq!(trimmed.chars().nth(position - 1), Some(found));
                    prop_assert!(!openid_char(found));
                    prop_assert!(trimmed.chars().take(position - 1).all(openid_char));
                }
                OpenIdError::TooShort { len, min } => {
                    prop_assert!(all_allowed);
                    prop_assert_eq!((len, min), (trimmed.len(), OpenId::MIN_LEN));
                    prop_assert!(len < min);
                }
                OpenIdError::TooLong { len, max } => {
                    prop_assert!(all_allowed);
                    prop_assert_eq!((len, max), (trimmed.len(), OpenId::MAX_LEN));
                    prop_assert!(len > max);
                }
            }
        }
    }
    Ok(())
}

fn group_id_input() -> impl Strategy<Value = String> {
    let digits = prop::sample::select("0123456789+- .e,x".chars().collect::<Vec<_>>());
    let number = (
        prop_oneof![
            any::<u64>(),
            0..=u64::from(GroupId::MAX),
            Just(u64::from(GroupId::MAX)),
            Just(u64::from(GroupId::MAX) + 1),
        ],
        prop::sample::select(vec!["", "+", "-", "+-", "--", "00", " "]),
    )
        .prop_map(|(n, sign)| format!("{sign}{n}"));
    prop_oneof![
        any_text(24),
        lossy_text(24),
        near(digits, 24),
        number,
        // Far beyond any integer type.
        "[0-9]{18,40}",
    ]
}

fn check_group_id(input: &str) -> Result<(), TestCaseError> {
    let trimmed = input.trim();
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // The number the digits spell, without leading zeros ("" for 0).
    let significant = unsigned.trim_start_matches('0');
    match GroupId::parse(input) {
        Ok(id) => {
            prop_assert!(is_digits(unsigned), "{:?} is not a number", trimmed);
            prop_assert!(id.get() <= GroupId::MAX);
            prop_assert_eq!(
                id.to_string(),
                if significant.is_empty() {
                    "0"
                } else {
                    significant
                }
            );
            prop_assert_eq!(id.is_system(), id.get() <= 2);
            prop_assert_eq!(GroupId::parse(&id.to_string()), Ok(id), "parsing again");
        }
        Err(e) => {
            said(&e.message(Lang::Zh), &e.message(Lang::En), trimmed)?;
            match e {
                GroupIdError::Empty => prop_assert!(trimmed.is_empty()),
                GroupIdError::Negative(s) => {
                    prop_assert_eq!(s.as_str(), trimmed);
                    prop_assert!(unsigned.strip_prefix('-').is_some_and(is_digits));
                }
                GroupIdError::NotANumber(s) => {
                    prop_assert_eq!(s.as_str(), trimmed);
                    prop_assert!(!is_digits(unsigned));
                }
                GroupIdError::TooLarge(s) => {
                    prop_assert_eq!(s.as_str(), trimmed);
                    prop_assert!(is_digits(unsigned));
                    let beyond = significant.len() > 10
                        || significant.parse::<u64>().unwrap_or(u64::MAX) > u64::from(GroupId::MAX);
                    prop_assert!(beyond, "{:?} fits", trimmed);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config(512))]

    #[test]
    fn any_text_is_a_group_name_that_keeps_the_rules_or_a_refusal_that_says_which(
        input in name_input()
    ) {
        check_group_name(&input, Api::Groups)?;
        check_group_name(&input, Api::Tags)?;
    }

    #[test]
    fn any_text_is_an_openid_that_keeps_the_rules_or_a_refusal_that_says_which(
        input in openid_input()
    ) {
        check_openid(&input)?;
    }

    #[test]
    fn any_text_is_a_group_id_in_range_or_a_refusal_that_says_which(input in group_id_input()) {
        check_group_id(&input)?;
    }

    #[test]
    fn every_id_wechat_can_hand_out_reads_back_however_it_is_padded(
        n in 0..=GroupId::MAX,
        zeros in 0usize..12,
        plus in any::<bool>(),
    ) {
        let typed = format!(" {}{}{n} ", if plus { "+" } else { "" }, "0".repeat(zeros));
        prop_assert_eq!(GroupId::parse(&typed).map(GroupId::get), Ok(n));
    }
}
