//! A list of OpenIDs as operators bring it: pasted, or a CSV/TXT file exported from somewhere.
//!
//! Forgiven: a UTF-8 BOM, CRLF line ends, blank lines, quoted CSV cells, surrounding spaces, an
//! `openid` column among others (found by its header), the same OpenID twice (kept once).
//! Refused as a whole, with a message saying why: more than [`MAX_LINES`] lines, a binary file,
//! text that is not UTF-8. Lines that are not an OpenID are listed with the reason.

use std::collections::HashSet;

use crate::{domain::OpenId, i18n::Lang};

/// The most lines a list may have.
pub const MAX_LINES: usize = 100_000;
/// The invalid lines a preview lists one by one (all are counted).
pub const MAX_LISTED_INVALID: usize = 200;

/// A list read line by line.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Valid OpenIDs, first occurrence order, no duplicates.
    pub valid: Vec<OpenId>,
    /// How many repeats were dropped.
    pub duplicates: usize,
    /// How many lines (records) were read, blank ones included.
    pub lines: usize,
    pub blank: usize,
    /// Every line that is not an OpenID: (line number, what it said, why not).
    pub invalid: Vec<InvalidLine>,
    /// The column the OpenIDs were taken from when a header named it (0-based).
    pub column: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct InvalidLine {
    pub line: u64,
    pub text: String,
    pub reason: String,
}

/// Why a whole list is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    Empty,
    TooManyLines {
        lines: usize,
    },
    Binary,
    /// Not UTF-8; `line` is where the first bad byte is.
    NotUtf8 {
        line: usize,
    },
    /// UTF-16 (Excel's "Unicode text"), which says so in its BOM.
    Utf16,
    /// A CSV that cannot be read (e.g. a quote never closed).
    BadCsv {
        line: u64,
    },
}

impl ListError {
    pub fn message(&self, lang: Lang) -> String {
        let l = lang.code();
        match self {
            ListError::Empty => rust_i18n::t!("jobs.list.empty", locale = l).into_owned(),
            ListError::TooManyLines { lines } => rust_i18n::t!(
                "jobs.list.too_many",
                locale = l,
                lines = lines,
                max = MAX_LINES
            )
            .into_owned(),
            ListError::Binary => rust_i18n::t!("jobs.list.binary", locale = l).into_owned(),
            ListError::NotUtf8 { line } => {
                rust_i18n::t!("jobs.list.not_utf8", locale = l, line = line).into_owned()
            }
            ListError::Utf16 => rust_i18n::t!("jobs.list.utf16", locale = l).into_owned(),
            ListError::BadCsv { line } => {
                rust_i18n::t!("jobs.list.bad_csv", locale = l, line = line).into_owned()
            }
        }
    }
}

/// Header names that mark the OpenID column (compared in lower case, without spaces/_/-).
fn is_openid_header(cell: &str) -> bool {
    let key: String = cell
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    matches!(key.as_str(), "openid" | "用户openid" | "粉丝openid")
}

/// Reads a list. Line numbers in the result are 1-based lines of the input.
pub fn parse(bytes: &[u8], lang: Lang) -> Result<Parsed, ListError> {
    let text = as_text(bytes)?;
    // Counted as the CSV reader ends records: a file with classic Mac line ends (a lone CR) is as
    // many lines as it shows, not one.
    let physical = line_breaks(text.as_bytes(), 0..text.len())
        + usize::from(!text.ends_with(['\n', '\r']) && !text.is_empty());
    if physical > MAX_LINES {
        return Err(ListError::TooManyLines { lines: physical });
    }
    if text.trim().is_empty() {
        return Err(ListError::Empty);
    }
    read_records(text, lang)
}

/// The list as text, or why it is not a text file we can read.
fn as_text(bytes: &[u8]) -> Result<&str, ListError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ListError::Utf16);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // A NUL, or many control characters, is not a text file (a spreadsheet, an image, a zip).
    let controls = bytes
        .iter()
        .take(64 * 1024)
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    if bytes.contains(&0) || controls > 8 {
        return Err(ListError::Binary);
    }
    std::str::from_utf8(bytes).map_err(|e| ListError::NotUtf8 {
        line: line_breaks(bytes, 0..e.valid_up_to()) + 1,
    })
}

/// The line ends within `range` of `bytes`: LF, CRLF (once) and a lone CR, as the CSV reader
/// ends a record. A CR at the end of the range is looked past, into the rest of `bytes`.
fn line_breaks(bytes: &[u8], range: std::ops::Range<usize>) -> usize {
    bytes[range.clone()]
        .iter()
        .zip(range)
        .filter(|&(&b, i)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The records of a text list: the OpenIDs, the duplicates, blank and invalid lines.
fn read_records(text: &str, lang: Lang) -> Result<Parsed, ListError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut parsed = Parsed::default();
    let mut seen = HashSet::new();
    let mut first = true;
    let mut lines = LineCounter::new(text);
    for record in reader.records() {
        let record = record.map_err(|e| ListError::BadCsv {
            line: e
                .position()
                .map_or(0, |p| LineCounter::new(text).line_of(p.byte() as usize)),
        })?;
        // csv's own line count skips empty lines; count the line breaks before the record.
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        let line = lines.line_of(byte);
        parsed.lines += 1;
        if record.iter().all(str::is_empty) {
            parsed.blank += 1;
            continue;
        }
        if first {
            first = false;
            if let Some(col) = record.iter().position(is_openid_header) {
                parsed.column = Some(col);
                continue;
            }
        }
        let cell = match parsed.column {
            Some(col) => record.get(col).unwrap_or(""),
            // No header: a one-column list, or the first column of a wider one.
            None => record.get(0).unwrap_or(""),
        };
        match OpenId::parse(cell) {
            Ok(openid) => {
                if seen.insert(openid.as_str().to_owned()) {
                    parsed.valid.push(openid);
                } else {
                    parsed.duplicates += 1;
                }
            }
            Err(e) => parsed.invalid.push(InvalidLine {
                line,
                text: shorten(&record.iter().collect::<Vec<_>>().join(",")),
                reason: e.message(lang),
            }),
        }
    }
    Ok(parsed)
}

/// Line numbers for csv's record positions, counted incrementally (records come in order).
///
/// csv's own line count skips empty lines, and its byte offset is the end of the previous
/// record (its line break, and any empty lines it skipped), so those are stepped over first.
/// Lines end as csv ends records: LF, CRLF or a lone CR.
struct LineCounter<'a> {
    bytes: &'a [u8],
    counted: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            counted: 0,
            newlines: 0,
        }
    }

    /// The 1-based line of the record csv places at `offset`.
    fn line_of(&mut self, offset: usize) -> u64 {
        let bytes = self.bytes;
        let mut start = offset.min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.counted {
            self.newlines += line_breaks(bytes, self.counted..start) as u64;
            self.counted = start;
            self.newlines + 1
        } else {
            line_breaks(bytes, 0..start) as u64 + 1
        }
    }
}

/// What an invalid line said, cut to a readable length.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "oDF3iYx0ro3_7jD4HFRDfrjdCM58";
    const B: &str = "od8XIjsmk6QdVTETa9jLtGWA6KBc";

    fn ok(input: &[u8]) -> Parsed {
        parse(input, Lang::En).expect("a readable list")
    }

    fn valid(p: &Parsed) -> Vec<&str> {
        p.valid.iter().map(OpenId::as_str).collect()
    }

    #[test]
    fn a_plain_list_with_bom_crlf_and_blank_lines_reads_cleanly() {
        let input = format!("\u{FEFF}{A}\r\n\r\n  {B}  \r\n\r\n");
        let p = ok(input.as_bytes());
        assert_eq!(valid(&p), [A, B]);
        assert!(p.invalid.is_empty(), "{:?}", p.invalid);
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let p = ok(format!("{A}\n{B}\n{A}\n{A}\n").as_bytes());
        assert_eq!(valid(&p), [A, B]);
        assert_eq!(p.duplicates, 2);
    }

    #[test]
    fn quoted_cells_and_an_openid_column_among_others_are_found_by_the_header() {
        let input = format!(
            "name,\"OpenID\",city\r\n\"Wang, Li\",\"{A}\",Shanghai\r\nZhao,{B},\"Bei\"\"jing\"\r\n"
        );
        let p = ok(input.as_bytes());
        assert_eq!(p.column, Some(1));
        assert_eq!(valid(&p), [A, B]);
    }

    #[test]
    fn invalid_lines_are_listed_with_their_line_number_and_reason() {
        let p = ok(format!("{A}\n\nnot an openid\nabc\n{B}\n").as_bytes());
        assert_eq!(valid(&p), [A, B]);
        let lines: Vec<u64> = p.invalid.iter().map(|i| i.line).collect();
        assert_eq!(lines, [3, 4], "blank lines count as lines");
        assert!(
            p.invalid[0].reason.contains("not allowed"),
            "{:?}",
            p.invalid[0]
        );
        assert!(p.invalid[1].reason.contains("only 3"), "{:?}", p.invalid[1]);
    }

    #[test]
    fn more_than_100000_lines_are_refused() {
        let line = format!("{A}\n");
        let input = line.repeat(MAX_LINES + 1);
        assert_eq!(
            parse(input.as_bytes(), Lang::En).unwrap_err(),
            ListError::TooManyLines {
                lines: MAX_LINES + 1
            }
        );
        assert!(parse(line.repeat(MAX_LINES).as_bytes(), Lang::En).is_ok());
    }

    #[test]
    fn binary_non_utf8_and_utf16_are_refused_clearly() {
        assert_eq!(
            parse(b"PK\x03\x04\x00\x00binary", Lang::En).unwrap_err(),
            ListError::Binary
        );
        let mut gbk = format!("{A}\n{B}\n").into_bytes();
        gbk.extend_from_slice(&[0xD6, 0xD0, 0xCE, 0xC4, b'\n']); // 中文 in GBK
        assert_eq!(
            parse(&gbk, Lang::En).unwrap_err(),
            ListError::NotUtf8 { line: 3 }
        );
        assert_eq!(
            parse(&[0xFF, 0xFE, b'o', 0], Lang::En).unwrap_err(),
            ListError::Utf16
        );
        for e in [
            ListError::Binary,
            ListError::NotUtf8 { line: 3 },
            ListError::Utf16,
        ] {
            assert!(!e.message(Lang::Zh).is_empty());
        }
    }

    #[test]
    fn a_list_with_classic_mac_line_ends_numbers_and_counts_its_lines_as_shown() {
        // Excel for Mac's "CSV (Macintosh)" ends lines with a lone CR.
        let p = ok(format!("{A}\rnot an openid\r\r{B}\rabc\r").as_bytes());
        assert_eq!(valid(&p), [A, B]);
        let lines: Vec<u64> = p.invalid.iter().map(|i| i.line).collect();
        assert_eq!(lines, [2, 5]);
        let mut gbk = format!("{A}\r{B}\r").into_bytes();
        gbk.extend_from_slice(&[0xD6, 0xD0, b'\r']);
        assert_eq!(
            parse(&gbk, Lang::En).unwrap_err(),
            ListError::NotUtf8 { line: 3 }
        );
        let many = format!("{A}\r").repeat(MAX_LINES + 1);
        assert_eq!(
            parse(many.as_bytes(), Lang::En).unwrap_err(),
            ListError::TooManyLines {
                lines: MAX_LINES + 1
            }
        );
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert_eq!(parse(b"\r\n\r\n", Lang::En).unwrap_err(), ListError::Empty);
        assert_eq!(parse(b"", Lang::En).unwrap_err(), ListError::Empty);
    }
}
