//! Messages for the operator: what just happened, or what went wrong and what to do.
//!
//! They appear in the page's `aria-live` message region; an htmx response carries them
//! out-of-band (`hx-swap-oob`) next to whatever fragment it swaps.

use askama::Template;

use crate::{i18n::Lang, wechat::WeChatError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Success,
    Info,
    Warning,
    Error,
}

impl NoticeKind {
    pub fn css(&self) -> &'static str {
        match self {
            NoticeKind::Success => "success",
            NoticeKind::Info => "info",
            NoticeKind::Warning => "warning",
            NoticeKind::Error => "error",
        }
    }
}

/// One message.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub detail: Option<String>,
    /// WeChat's errcode and errmsg, shown so an operator can quote them to support.
    pub code: Option<(i64, String)>,
}

impl Notice {
    pub fn success(title: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Success,
            title: title.into(),
            detail: None,
            code: None,
        }
    }

    pub fn error(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Error,
            title: title.into(),
            detail: Some(detail.into()),
            code: None,
        }
    }

    pub fn with_kind(mut self, kind: NoticeKind) -> Self {
        self.kind = kind;
        self
    }

    /// An upstream failure, with WeChat's code and what it means in the operator's language.
    pub fn wechat(error: &WeChatError, lang: Lang) -> Self {
        Notice {
            kind: NoticeKind::Error,
            title: error.title(lang),
            detail: Some(error.explain(lang)),
            code: match error {
                WeChatError::Api { code, errmsg } => Some((*code, errmsg.clone())),
                _ => None,
            },
        }
    }
}

/// The status of a response that reports an upstream failure: 409 when WeChat answered and
/// refused (an errcode), 502 when it did not answer properly.
pub fn upstream_status(error: &WeChatError) -> axum::http::StatusCode {
    match error {
        WeChatError::Api { .. } => axum::http::StatusCode::CONFLICT,
        _ => axum::http::StatusCode::BAD_GATEWAY,
    }
}

/// The message region. Rendered inside the page, or alone with `oob` set for an htmx swap.
#[derive(Debug, Clone, Default, Template)]
#[template(path = "_notices.html")]
pub struct Notices {
    pub items: Vec<Notice>,
    pub oob: bool,
}

impl From<Vec<Notice>> for Notices {
    fn from(items: Vec<Notice>) -> Self {
        Notices { items, oob: false }
    }
}

impl Notices {
    pub fn one(notice: Notice) -> Self {
        Notices {
            items: vec![notice],
            oob: false,
        }
    }

    pub fn push(&mut self, notice: Notice) {
        self.items.push(notice);
    }

    /// The same messages, marked to replace the page's region out-of-band.
    pub fn oob(mut self) -> Self {
        self.oob = true;
        self
    }
}
