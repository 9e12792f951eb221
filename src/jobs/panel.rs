//! What the list pages share, below them: the list form's fields as read from the body, and
//! answering with the batch panel alone (htmx) or the jobs page around it.

use axum::response::Response;

use crate::{
    jobs::{
        page::JobsPage,
        parse::{self, Parsed},
    },
    state::AppState,
    web::{AppError, Chrome, Reply, html},
};

/// The fields of the list form, read from a multipart body.
#[derive(Default)]
pub(super) struct ListInput {
    pub to_groupid: String,
    /// Tags mode: the action and tags A (taken off) and B (given).
    pub action: String,
    pub from_tag: String,
    pub to_tag: String,
    /// The text box as sent: the list parser says which line is not UTF-8, if one is not.
    pub text: Vec<u8>,
    pub file: Vec<u8>,
}

impl ListInput {
    /// The text box again, for the form shown back (unless it is too large to be worth it).
    pub fn text_value(&self) -> String {
        if self.text.len() <= 64 * 1024 {
            String::from_utf8(self.text.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    }

    /// The list read, or why it cannot be used (in the operator's language). A file wins over
    /// the text box when both are given.
    pub fn parsed(&self, chrome: &Chrome) -> Result<Parsed, String> {
        let bytes: &[u8] = if self.file.is_empty() {
            &self.text
        } else {
            &self.file
        };
        match parse::parse(bytes, chrome.lang) {
            Err(e) => Err(e.message(chrome.lang)),
            Ok(p) if p.valid.is_empty() => Err(chrome.t("jobs.list.none_valid")),
            Ok(p) => Ok(p),
        }
    }
}

/// The panel alone (htmx) or the jobs page around it.
pub(super) async fn in_panel(
    state: &AppState,
    chrome: Chrome,
    reply: Reply,
    panel: String,
) -> Result<Response, AppError> {
    if reply.is_htmx() {
        return reply.swap_html(&panel).fragments();
    }
    let page = JobsPage::load(state, chrome, panel).await?;
    reply.or_page(|notices| html(&page.with_notices(notices)))
}
