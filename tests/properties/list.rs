//! The list parser: any bytes an operator pastes or uploads.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use wxgroups::domain::OpenId;
use wxgroups::i18n::Lang;
use wxgroups::jobs::parse::{ListError, MAX_LINES, parse};

use crate::said;

/// A few OpenIDs, so that generated lists repeat some.
const POOL: [&str; 6] = [
    "oDF3iYx0ro3_7jD4HFRDfrjdCM58",
    "od8XIjsmk6QdVTETa9jLtGWA6KBc",
    "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    "oABCDEF",
    "o-123456789-abcdefghij_KLMNOPQRSTUVWXYZ_0123456789ab",
    "OPENID",
];

/// One line of a list as they come: an OpenID (bare, padded, quoted, in a CSV row), a near miss,
/// something else entirely, or nothing.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let pooled = prop::sample::select(POOL.to_vec());
    prop_oneof![
        4 => pooled.clone().prop_map(|o| o.as_bytes().to_vec()),
        1 => pooled.clone().prop_map(|o| format!("  {o}\t").into_bytes()),
        1 => pooled.clone().prop_map(|o| format!("\"{o}\"").into_bytes()),
        1 => pooled.prop_map(|o| format!("\"Wang, Li\",{o},上海").into_bytes()),
        1 => "[a-zA-Z0-9_/ ?中-]{0,70}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => Just(b" , ,".to_vec()),
        // An unclosed quote, GBK (not UTF-8), a lone control character.
        1 => prop::sample::select(vec![
            b"\"oDF3iYx0ro3".to_vec(),
            vec![0xD6, 0xD0, 0xCE, 0xC4],
            b"a\x07b".to_vec(),
        ]),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

/// A line without a line break of its own.
fn one_line() -> impl Strategy<Value = Vec<u8>> {
    line().prop_filter("one line", |l| {
        !l.iter().any(|b| matches!(b, b'\n' | b'\r'))
    })
}

/// A whole list: maybe a BOM, maybe a header naming the OpenID column, lines ended every way.
fn list() -> impl Strategy<Value = Vec<u8>> {
    let header = prop::sample::select(vec![
        "",
        "",
        "openid",
        "OpenID",
        "name,\"OpenID\",city",
        "用户 OpenID",
        "open_id,x",
    ]);
    let end = prop::sample::select(vec!["\n", "\r\n", "\r", "\n\n"]);
    (
        any::<bool>(),
        header,
        prop::collection::vec((line(), end), 0..60),
    )
        .prop_map(|(bom, header, lines)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{FEFF}".as_bytes());
            }
            if !header.is_empty() {
                out.extend_from_slice(header.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            for (line, end) in lines {
                out.extend_from_slice(&line);
                out.extend_from_slice(end.as_bytes());
            }
            out
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => list(),
        1 => prop::collection::vec(any::<u8>(), 0..2_000),
        // Text, not necessarily anything like a list.
        1 => crate::any_text(300).prop_map(String::into_bytes),
    ]
}

/// Lines as an editor counts them: ended by LF, CRLF or a lone CR (as the CSV reader ends
/// records), the last one with or without its end.
fn editor_lines(bytes: &[u8]) -> usize {
    let ends = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let open_last = bytes.last().is_some_and(|b| !matches!(b, b'\n' | b'\r'));
    ends + usize::from(open_last)
}

fn check_list(bytes: &[u8]) -> Result<(), TestCaseError> {
    let p = match parse(bytes, Lang::En) {
        Ok(p) => p,
        Err(e) => {
            said(&e.message(Lang::Zh), &e.message(Lang::En), "")?;
            if let ListError::TooManyLines { lines } = e {
                prop_assert!(lines > MAX_LINES);
            }
            return Ok(());
        }
    };
    // Every line read is accounted for, exactly once.
    let header = usize::from(p.column.is_some());
    prop_assert_eq!(
        p.lines,
        p.valid.len() + p.duplicates + p.invalid.len() + p.blank + header,
        "valid {}, duplicates {}, invalid {}, blank {}, header {}",
        p.valid.len(),
        p.duplicates,
        p.invalid.len(),
        p.blank,
        header
    );
    let lines = editor_lines(bytes);
    prop_assert!(p.lines <= lines, "{} records in {} lines", p.lines, lines);
    let mut seen = HashSet::new();
    for id in &p.valid {
        prop_assert_eq!(OpenId::parse(id.as_str()), Ok(id.clone()));
        prop_assert!(seen.insert(id.as_str()), "{} twice", id);
        let found = bytes
            .windows(id.as_str().len())
            .any(|w| w == id.as_str().as_bytes());
        prop_assert!(found, "{} is not in the input", id);
    }
    // Invalid lines: in order, each where it is in the input, with a reason.
    let mut last = 0;
    for bad in &p.invalid {
        prop_assert!(
            bad.line >= 1 && bad.line as usize <= lines,
            "line {} of {}",
            bad.line,
            lines
        );
        prop_assert!(bad.line >= last, "line {} after line {}", bad.line, last);
        last = bad.line;
        prop_assert!(!bad.reason.trim().is_empty());
        prop_assert!(
            bad.text.chars().count() <= 81,
            "shown cut to 80 and an ellipsis"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config(384))]

    #[test]
    fn any_bytes_are_a_list_whose_lines_add_up_or_a_refusal_that_says_why(bytes in input()) {
        check_list(&bytes)?;
    }

    #[test]
    fn a_list_reads_the_same_whichever_way_its_lines_end(
        lines in prop::collection::vec(one_line(), 1..40),
    ) {
        // The same lines ended by LF, by CRLF and by a lone CR give the same list.
        let with = |end: &str| -> Vec<u8> {
            lines.iter().flat_map(|l| l.iter().copied().chain(end.bytes())).collect()
        };
        let read = |bytes: Vec<u8>| parse(&bytes, Lang::En).map(|p| {
            let invalid: Vec<u64> = p.invalid.iter().map(|i| i.line).collect();
            (p.valid, p.duplicates, p.blank, p.lines, invalid)
        });
        let lf = read(with("\n"));
        prop_assert_eq!(&read(with("\r\n")), &lf);
        prop_assert_eq!(&read(with("\r")), &lf);
    }
}
