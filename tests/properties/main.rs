//! Property tests of the parsers that face the outside world: what operators type or paste
//! (`GroupName`, `OpenId`, `GroupId`), the lists they upload, and what WeChat answers.
//!
//! Each property is the same promise: any input either parses to a value that keeps the rules
//! (checked again on the value, independently of the parser) or is refused with a reason an
//! operator can read in both languages; nothing panics. Case counts are modest so the whole suite
//! stays a few seconds in a debug build; a failure prints the smallest input proptest found.

mod answers;
mod domain;
mod list;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// `cases` cases, and no file of past failures written into the source tree: a failure prints
/// its smallest input, which then belongs in the parser's own unit tests.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A refusal's two messages say something, each in its own language, with every argument filled
/// in. `value` is the operator's text the message may quote (it may hold anything, `%{` too).
pub fn said(zh: &str, en: &str, value: &str) -> Result<(), TestCaseError> {
    for message in [zh, en] {
        prop_assert!(!message.trim().is_empty(), "an empty message");
        // rust-i18n answers a key it does not know with the key itself.
        for key in ["err.", "jobs.", "wechat."] {
            prop_assert!(!message.starts_with(key), "a bare key: {message}");
        }
        let own = if value.is_empty() {
            message.to_owned()
        } else {
            message.replace(value, "")
        };
        prop_assert!(!own.contains("%{"), "an argument left unfilled: {message}");
    }
    prop_assert_ne!(zh, en, "the Chinese message is not a translation");
    Ok(())
}

/// Characters at the edges of the rules: whitespace of every kind, controls, the invisible ones,
/// a variation selector, the replacement character, CJK, emoji, URL and CSV punctuation.
pub fn edge_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        ' ',
        '\t',
        '\n',
        '\r',
        '\u{0}',
        '\u{7}',
        '\u{1B}',
        '\u{7F}',
        '\u{85}',
        '\u{A0}',
        '\u{AD}',
        '\u{34F}',
        '\u{61C}',
        '\u{180E}',
        '\u{200B}',
        '\u{200D}',
        '\u{200E}',
        '\u{2028}',
        '\u{202E}',
        '\u{2060}',
        '\u{2066}',
        '\u{3000}',
        '\u{3164}',
        '\u{FE0F}',
        '\u{FEFF}',
        '\u{FFA0}',
        '\u{FFFD}',
        '\u{1D173}',
        '\u{E0001}',
        '组',
        '测',
        '黑',
        '😀',
        'é',
        '١',
        '/',
        '?',
        '&',
        '=',
        '-',
        '_',
        '+',
        '%',
        '{',
        '"',
        ',',
        ';',
        '<',
        '.',
        '0',
        '9',
        'a',
        'Z',
    ])
}

/// Any text: every Unicode scalar value proptest likes to try, controls included.
pub fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

/// Arbitrary bytes as a form decoder that replaced what is not UTF-8 would hand them on.
pub fn lossy_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..max)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Text made mostly of `alphabet` with edge characters mixed in, and whitespace around it.
pub fn near(
    alphabet: impl Strategy<Value = char> + Clone + 'static,
    max: usize,
) -> impl Strategy<Value = String> {
    let body = prop::collection::vec(prop_oneof![8 => alphabet, 1 => edge_char()], 0..max);
    let pad = prop::sample::select(vec!["", "", " ", "\u{3000}", "\r\n", "\t ", "\u{A0}"]);
    (pad.clone(), body, pad)
        .prop_map(|(before, body, after)| format!("{before}{}{after}", String::from_iter(body)))
}
