//! What can go wrong when we talk to WeChat, and how to say it to an operator.
//!
//! The texts live in the catalogue (`src/i18n/wechat.yml`, keys `wechat.errcode.N` and
//! `wechat.transport.*`); this file owns which codes have a text and how an error picks its text.

use std::fmt;
use std::time::Duration;

use crate::i18n::Lang;

/// Why a call to WeChat failed.
///
/// `Clone` so that one failed token fetch can be handed to every caller that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WeChatError {
    /// WeChat answered with a non-zero errcode.
    #[error("WeChat answered errcode {code}: {errmsg}")]
    Api { code: i64, errmsg: String },
    /// No proper answer: the kind says which; the detail is for logs and never contains the token
    /// or secret.
    #[error("WeChat did not answer properly ({kind}): {detail}")]
    Transport { kind: TransportKind, detail: String },
    /// A call we refused to send (e.g. 0 or >50 openids in a batch).
    #[error("not sent to WeChat: {0}")]
    Local(String),
    /// A create whose answer was lost (`cause`: a timeout, -1, 5xx or broken answer after the
    /// request went out) and whose re-read of the group list failed too: the group may or may not
    /// exist. The operator must refresh the list before trying again.
    #[error("the outcome is unknown after: {cause}")]
    OutcomeUnknown { cause: Box<WeChatError> },
    /// Not sent: WeChat failed too many times in a row, so calls fail fast for `retry_in` instead
    /// of each waiting for its own timeout. `last` is the failure that opened the circuit.
    #[error("WeChat is not answering; calls paused for {retry_in:?} after: {last}")]
    CircuitOpen {
        last: Box<WeChatError>,
        retry_in: Duration,
    },
}

/// How a call failed to get a proper answer.
///
/// The kinds differ in what they tell us about the request: after `Connect` WeChat never saw it;
/// after `Timeout`, `HttpStatus` or `BadBody` it may have been carried out. A retry policy for
/// non-idempotent calls (create) depends on that difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No answer within the configured timeout (the request may have been carried out).
    Timeout,
    /// Could not open a connection (refused, DNS, TLS handshake, connect timeout): nothing was sent.
    Connect,
    /// An HTTP status other than 2xx (redirects are not followed, so a 3xx lands here too).
    HttpStatus(u16),
    /// The answer was not JSON, lacked the fields the API documents, or was too large.
    BadBody,
    /// The connection closed (or broke) after the request went out, before a whole answer
    /// arrived: the request may have been carried out.
    Closed,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::Connect => f.write_str("connect"),
            Self::HttpStatus(s) => write!(f, "HTTP {s}"),
            Self::BadBody => f.write_str("bad body"),
            Self::Closed => f.write_str("connection closed"),
        }
    }
}

/// errcodes meaning "the access_token we sent is no good": drop it, fetch another, retry once.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// errcodes meaning a quota (daily or per minute) is used up: retrying now only makes it worse.
const QUOTA_ERRORS: [i64; 2] = [45009, 45011];

/// Every errcode with its own explanation in the catalogue (`wechat.errcode.N`).
///
/// The codes of WECHAT_API.md's table, plus 0 (success) and 47001 (data format error). The keys
/// are spelled out rather than built with `format!` so that the catalogue test can check each one.
const KNOWN_CODES: [(i64, &str); 32] = [
    (-1, "wechat.errcode.-1"),
    (0, "wechat.errcode.0"),
    (40001, "wechat.errcode.40001"),
    (40002, "wechat.errcode.40002"),
    (40003, "wechat.errcode.40003"),
    (40013, "wechat.errcode.40013"),
    (40014, "wechat.errcode.40014"),
    (40032, "wechat.errcode.40032"),
    (40050, "wechat.errcode.40050"),
    (40051, "wechat.errcode.40051"),
    (40117, "wechat.errcode.40117"),
    (40125, "wechat.errcode.40125"),
    (40164, "wechat.errcode.40164"),
    (41001, "wechat.errcode.41001"),
    (42001, "wechat.errcode.42001"),
    (45009, "wechat.errcode.45009"),
    (45011, "wechat.errcode.45011"),
    (45016, "wechat.errcode.45016"),
    (45017, "wechat.errcode.45017"),
    (45018, "wechat.errcode.45018"),
    (45056, "wechat.errcode.45056"),
    (45057, "wechat.errcode.45057"),
    (45058, "wechat.errcode.45058"),
    (45059, "wechat.errcode.45059"),
    (45157, "wechat.errcode.45157"),
    (45158, "wechat.errcode.45158"),
    (45159, "wechat.errcode.45159"),
    (46004, "wechat.errcode.46004"),
    (47001, "wechat.errcode.47001"),
    (48001, "wechat.errcode.48001"),
    (49003, "wechat.errcode.49003"),
    (50002, "wechat.errcode.50002"),
];

/// The errcode table: what `code` means and what to do about it, in `lang`.
///
/// `None` for a code the table does not know; [`WeChatError::explain`] then falls back to a
/// generic text that shows the code and WeChat's own errmsg.
pub fn explain_code(code: i64, lang: Lang) -> Option<String> {
    KNOWN_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, key)| rust_i18n::t!(*key, locale = lang.code()).into_owned())
}

impl WeChatError {
    /// The errcode, if WeChat answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The token we sent was invalid or expired (40001, 40014, 42001).
    pub fn is_token_error(&self) -> bool {
        self.code().is_some_and(|c| TOKEN_ERRORS.contains(&c))
    }

    /// A daily or per-minute quota is used up (45009, 45011).
    pub fn is_quota_error(&self) -> bool {
        self.code().is_some_and(|c| QUOTA_ERRORS.contains(&c))
    }

    /// A short headline: "微信返回错误 45018" / "WeChat error 45018" / "WeChat did not answer properly".
    pub fn title(&self, lang: Lang) -> String {
        let l = lang.code();
        match self {
            Self::Api { code, .. } => {
                rust_i18n::t!("wechat.title.api", locale = l, code = code).into_owned()
            }
            Self::Transport { .. } => {
                rust_i18n::t!("wechat.title.transport", locale = l).into_owned()
            }
            Self::Local(_) => rust_i18n::t!("wechat.title.local", locale = l).into_owned(),
            Self::OutcomeUnknown { .. } => {
                rust_i18n::t!("wechat.title.outcome_unknown", locale = l).into_owned()
            }
            Self::CircuitOpen { .. } => {
                rust_i18n::t!("wechat.title.circuit_open", locale = l).into_owned()
            }
        }
    }

    /// The fault in a few words, to name inside another message ("the answer was lost (…)").
    pub fn fault(&self, lang: Lang) -> String {
        let l = lang.code();
        match self {
            Self::Transport { kind, .. } => match kind {
                TransportKind::Timeout => rust_i18n::t!("wechat.fault.timeout", locale = l),
                TransportKind::Connect => rust_i18n::t!("wechat.fault.connect", locale = l),
                TransportKind::HttpStatus(status) => {
                    rust_i18n::t!("wechat.fault.http_status", locale = l, status = status)
                }
                TransportKind::BadBody => rust_i18n::t!("wechat.fault.bad_body", locale = l),
                TransportKind::Closed => rust_i18n::t!("wechat.fault.closed", locale = l),
            }
            .into_owned(),
            Self::OutcomeUnknown { cause } | Self::CircuitOpen { last: cause, .. } => {
                cause.fault(lang)
            }
            _ => self.title(lang),
        }
    }

    /// What happened and what the operator can do, in their language.
    ///
    /// For an errcode, WeChat's own errmsg is appended (it carries a request id support may ask
    /// for). A transport error's `detail` is not shown: it is for the log.
    pub fn explain(&self, lang: Lang) -> String {
        let l = lang.code();
        match self {
            Self::Api { code, errmsg } => match explain_code(*code, lang) {
                Some(text) if errmsg.is_empty() || errmsg == "ok" => text,
                Some(text) => {
                    let said = rust_i18n::t!("wechat.errmsg", locale = l, errmsg = errmsg);
                    format!("{text} {said}")
                }
                None => rust_i18n::t!(
                    "wechat.errcode.unknown",
                    locale = l,
                    code = code,
                    errmsg = errmsg
                )
                .into_owned(),
            },
            Self::Transport { kind, .. } => match kind {
                TransportKind::Timeout => rust_i18n::t!("wechat.transport.timeout", locale = l),
                TransportKind::Connect => rust_i18n::t!("wechat.transport.connect", locale = l),
                TransportKind::HttpStatus(status) => {
                    rust_i18n::t!("wechat.transport.http_status", locale = l, status = status)
                }
                TransportKind::BadBody => rust_i18n::t!("wechat.transport.bad_body", locale = l),
                TransportKind::Closed => rust_i18n::t!("wechat.transport.closed", locale = l),
            }
            .into_owned(),
            Self::Local(detail) => {
                rust_i18n::t!("wechat.local", locale = l, detail = detail).into_owned()
            }
            Self::OutcomeUnknown { cause } => {
                // The cause's explanation names the fault (a timeout, a closed connection, an
                // HTTP status, an answer not as documented), not only "did not answer properly".
                let text = rust_i18n::t!("wechat.outcome_unknown", locale = l);
                format!("{text} {}", cause.fault(lang))
            }
            Self::CircuitOpen { last, retry_in } => {
                // Round up: "0 seconds" would read as "try now", which is exactly what to avoid.
                let secs = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
                let text = rust_i18n::t!("wechat.circuit_open", locale = l, secs = secs);
                format!("{text} {}", last.explain(lang))
            }
        }
    }

    /// Whether this failure says WeChat is not answering properly (the circuit breaker counts
    /// these): no answer, a broken or non-JSON answer, an HTTP error, or errcode -1. Any other
    /// errcode is WeChat answering properly.
    pub(crate) fn is_upstream_failure(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { code, .. } => *code == -1,
            Self::OutcomeUnknown { cause } => cause.is_upstream_failure(),
            Self::Local(_) | Self::CircuitOpen { .. } => false,
        }
    }

    /// The label for metrics: "ok" is not an error; an errcode as a string; or the failure kind.
    pub(crate) fn outcome_label(&self) -> String {
        match self {
            Self::Api { code, .. } => code.to_string(),
            Self::Transport { kind, .. } => match kind {
                TransportKind::Timeout => "timeout".into(),
                TransportKind::Connect => "connect".into(),
                TransportKind::HttpStatus(s) if *s >= 500 => "http_5xx".into(),
                TransportKind::HttpStatus(_) => "http_other".into(),
                TransportKind::BadBody => "bad_body".into(),
                TransportKind::Closed => "closed".into(),
            },
            Self::Local(_) => "local".into(),
            Self::OutcomeUnknown { .. } => "unknown".into(),
            Self::CircuitOpen { .. } => "circuit_open".into(),
        }
    }
}

/// Replaces every occurrence of a secret, and any `access_token=`/`secret=` query value, in text
/// bound for an error detail or a log line.
///
/// reqwest's errors and upstream error pages can quote the request URL, which carries the token
/// (or, for the classic token endpoint, the AppSecret). We strip URLs from reqwest errors at the
/// source; this is the second belt for anything else that might echo them.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "[redacted]");
    }
    for marker in [
        "access_token=",
        "secret=",
        "\"access_token\":\"",
        "\"secret\":\"",
    ] {
        out = scrub_after(&out, marker);
    }
    out
}

/// Redacts the value following each occurrence of `marker` (up to a delimiter).
fn scrub_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(marker) {
        let value_start = pos + marker.len();
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let end = value
            .find(|c: char| {
                matches!(c, '&' | '"' | '\'' | '<' | '>' | ')' | ' ') || c.is_whitespace()
            })
            .unwrap_or(value.len());
        if end > 0 && !value[..end].starts_with("[redacted]") {
            out.push_str("[redacted]");
        } else {
            out.push_str(&value[..end]);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_code_has_a_chinese_and_an_english_text() {
        for (code, key) in KNOWN_CODES {
            let zh = explain_code(code, Lang::Zh).unwrap_or_default();
            let en = explain_code(code, Lang::En).unwrap_or_default();
            // rust-i18n answers a missing entry with the key itself.
            assert!(!zh.is_empty() && !zh.contains(key), "{code} has no zh text");
            assert!(!en.is_empty() && !en.contains(key), "{code} has no en text");
            assert_ne!(zh, en, "{code}: the zh text is not a translation");
        }
    }

    #[test]
    fn the_table_covers_the_codes_of_the_api_page() {
        // WECHAT_API.md's table, plus 0 and 47001.
        let documented = [
            -1, 0, 40001, 40002, 40003, 40013, 40014, 40032, 40050, 40051, 40117, 40125, 40164,
            41001, 42001, 45009, 45011, 45016, 45017, 45018, 45056, 45057, 45058, 45059, 45157,
            45158, 45159, 46004, 47001, 48001, 49003, 50002,
        ];
        for code in documented {
            assert!(explain_code(code, Lang::En).is_some(), "{code} missing");
        }
    }

    #[test]
    fn explanations_say_what_to_do() {
        let en = |c| explain_code(c, Lang::En).unwrap_or_default();
        assert!(en(45009).contains("midnight Beijing time"));
        assert!(en(40164).contains("whitelist"));
        assert!(en(45018).contains("500"));
        let zh = |c| explain_code(c, Lang::Zh).unwrap_or_default();
        assert!(zh(45009).contains("北京时间零点"));
        assert!(zh(40164).contains("白名单"));
    }

    #[test]
    fn an_unknown_code_falls_back_and_shows_the_code_and_errmsg() {
        assert_eq!(explain_code(99999, Lang::En), None);
        let err = WeChatError::Api {
            code: 99999,
            errmsg: "something new rid: 42".into(),
        };
        for lang in [Lang::Zh, Lang::En] {
            let text = err.explain(lang);
            assert!(text.contains("99999"), "{text}");
            assert!(text.contains("something new rid: 42"), "{text}");
            assert!(!text.contains("wechat.errcode"), "{text}");
        }
    }

    #[test]
    fn a_known_code_keeps_wechats_errmsg_beside_the_explanation() {
        let err = WeChatError::Api {
            code: 45018,
            errmsg: "too many groups rid: 7".into(),
        };
        let text = err.explain(Lang::En);
        assert!(text.contains("at most 500 groups"), "{text}");
        assert!(text.contains("rid: 7"), "{text}");
    }

    #[test]
    fn titles_show_the_code_or_say_that_wechat_did_not_answer() {
        let api = WeChatError::Api {
            code: 45018,
            errmsg: String::new(),
        };
        assert_eq!(api.title(Lang::Zh), "微信返回错误 45018");
        assert_eq!(api.title(Lang::En), "WeChat error 45018");
        let transport = WeChatError::Transport {
            kind: TransportKind::Timeout,
            detail: "x".into(),
        };
        assert_eq!(transport.title(Lang::Zh), "微信没有正常响应");
        assert_eq!(transport.title(Lang::En), "WeChat did not answer properly");
    }

    #[test]
    fn transport_explanations_name_the_failure() {
        let t = |kind| {
            WeChatError::Transport {
                kind,
                detail: String::new(),
            }
            .explain(Lang::En)
        };
        assert!(t(TransportKind::Timeout).contains("did not answer in time"));
        assert!(t(TransportKind::Connect).contains("Could not connect"));
        assert!(t(TransportKind::HttpStatus(502)).contains("HTTP 502"));
        assert!(t(TransportKind::BadBody).contains("not what its API documents"));
    }

    #[test]
    fn token_and_quota_codes_are_classified() {
        let api = |code| WeChatError::Api {
            code,
            errmsg: String::new(),
        };
        for c in [40001, 40014, 42001] {
            assert!(api(c).is_token_error() && !api(c).is_quota_error(), "{c}");
        }
        for c in [45009, 45011] {
            assert!(api(c).is_quota_error() && !api(c).is_token_error(), "{c}");
        }
        assert!(
            !api(40125).is_token_error(),
            "a bad secret is not cured by a new token"
        );
        let local = WeChatError::Local("x".into());
        assert_eq!(local.code(), None);
        assert!(!local.is_token_error());
    }

    #[test]
    fn scrub_removes_known_secrets_and_query_values() {
        let text = "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T \
                    and /groups/get?access_token=TOK&x=1 body {\"access_token\":\"NEWTOK\"} \
                    also S3CR3T alone";
        let out = scrub(text, &["S3CR3T", "TOK"]);
        for leaked in ["S3CR3T", "TOK&", "NEWTOK"] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(out.contains("appid=wx1"), "{out}");
        assert!(out.contains("access_token=[redacted]&x=1"), "{out}");
    }

    #[test]
    fn scrub_ignores_an_empty_secret() {
        assert_eq!(scrub("plain text", &[""]), "plain text");
    }
}
