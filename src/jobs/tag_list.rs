//! Tags mode: a pasted or uploaded list tagged, untagged, moved from tag A to tag B, blacklisted
//! or taken off the blacklist. The form, and the preview of what would be sent; confirming and
//! discarding are the group move's own (`queue.rs`, `list.rs`).
//!
//! Everything that can be refused here is refused before anything is stored or sent: no action,
//! a missing or unknown tag, A = B (`order.rs`); an unreadable list or one without a valid
//! OpenID (`parse.rs`). Repeats are counted and sent once; invalid lines are listed, never sent.

use askama::Template;
use axum::{http::StatusCode, response::Response};
use serde::Deserialize;

use crate::{
    auth::Who,
    domain::GroupId,
    jobs::{
        order::{OrderErrors, TagOrder},
        page::group_label,
        panel::{ListInput, in_panel},
        parse::{InvalidLine, MAX_LISTED_INVALID},
        queue::draft_tag_job,
    },
    state::{AppState, Snapshot},
    store::JobAction,
    web::{AppError, Chrome, HxRequest, Reply},
    wechat::Group,
};

/// An action and tags chosen ahead, from the jobs page's query (see [`crate::jobs::jobs_link`]).
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from_tag: String,
    #[serde(default)]
    pub to_tag: String,
}

/// The tags-mode list form: the action, tag A, tag B, and the list.
#[derive(Template)]
#[template(path = "jobs/_tag_list_form.html")]
pub struct TagListForm {
    pub chrome: Chrome,
    pub tags: Vec<Group>,
    pub action: String,
    pub from_value: String,
    pub to_value: String,
    pub text_value: String,
    pub error: Option<String>,
    pub errors: OrderErrors,
}

impl TagListForm {
    pub fn new(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Self {
        TagListForm {
            chrome: chrome.clone(),
            tags: snapshot.map(|s| s.groups.clone()).unwrap_or_default(),
            action: String::new(),
            from_value: String::new(),
            to_value: String::new(),
            text_value: String::new(),
            error: None,
            errors: OrderErrors::default(),
        }
    }

    /// The form with `choice` made (what a link asked for; nothing is checked until the post).
    pub fn chosen(chrome: &Chrome, snapshot: Option<&Snapshot>, choice: &Choice) -> Self {
        TagListForm {
            action: choice.action.trim().to_owned(),
            from_value: choice.from_tag.trim().to_owned(),
            to_value: choice.to_tag.trim().to_owned(),
            ..Self::new(chrome, snapshot)
        }
    }

    fn actions(&self) -> Vec<&'static str> {
        JobAction::FOR_LISTS.iter().map(|a| a.as_str()).collect()
    }

    fn action_name(&self, action: &str) -> String {
        self.chrome.t(&format!("jobs.tags.action.{action}"))
    }

    fn is_action(&self, action: &str) -> bool {
        self.action == action
    }

    fn is_from(&self, id: &GroupId) -> bool {
        self.from_value == id.to_string()
    }

    fn is_to(&self, id: &GroupId) -> bool {
        self.to_value == id.to_string()
    }
}

/// What a tags-mode preview shows before anything is sent.
#[derive(Template)]
#[template(path = "jobs/_tag_preview.html")]
pub struct TagPreview {
    pub chrome: Chrome,
    pub job_id: i64,
    pub action: JobAction,
    pub from_label: Option<String>,
    pub to_label: Option<String>,
    pub valid: usize,
    pub duplicates: usize,
    pub blank: usize,
    pub lines: usize,
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
    pub column: Option<usize>,
    /// Calls when nothing is refused: a call per chunk, two for a retag.
    pub calls: u64,
}

impl TagPreview {
    fn action_name(&self) -> String {
        self.chrome
            .t(&format!("jobs.tags.action.{}", self.action.as_str()))
    }

    /// "On confirmation, …": what will be done, with the count and the tags.
    fn confirm_text(&self) -> String {
        let key = format!("jobs.tags.confirm.{}", self.action.as_str());
        let n = self.chrome.num(self.valid as u64).to_string();
        let (from, to) = (
            self.from_label.clone().unwrap_or_default(),
            self.to_label.clone().unwrap_or_default(),
        );
        rust_i18n::replace_patterns(&self.chrome.t(&key), &["n", "from", "to"], &[n, from, to])
    }

    fn is_retag(&self) -> bool {
        self.action == JobAction::Retag
    }

    fn is_blacklist(&self) -> bool {
        self.action == JobAction::Blacklist
    }
}

/// `POST /jobs/preview` in tags mode (see [`crate::jobs::list::preview`]).
pub(super) async fn preview(
    state: &AppState,
    who: &Who,
    chrome: Chrome,
    hx: HxRequest,
    input: ListInput,
) -> Result<Response, AppError> {
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut form = TagListForm::new(&chrome, snapshot.as_deref());
    form.action = input.action.trim().to_owned();
    form.from_value = input.from_tag.trim().to_owned();
    form.to_value = input.to_tag.trim().to_owned();
    form.text_value = input.text_value();
    let fields = (
        input.action.as_str(),
        input.from_tag.as_str(),
        input.to_tag.as_str(),
    );
    let order = TagOrder::parse(&chrome, fields, snapshot.as_deref());
    let (order, parsed) = match (order, input.parsed(&chrome)) {
        (Ok(order), Ok(parsed)) => (order, parsed),
        (order, parsed) => {
            form.errors = order.err().unwrap_or_default();
            form.error = parsed.err();
            let reply = Reply::new(hx).status(StatusCode::UNPROCESSABLE_ENTITY);
            return in_panel(state, chrome, reply, form.render()?).await;
        }
    };
    let openids: Vec<String> = parsed.valid.iter().map(|o| o.to_string()).collect();
    let job_id = draft_tag_job(state, who, order, &openids, "list").await?;
    let chunks = openids.len().div_ceil(order.action.chunk()) as u64;
    let invalid_total = parsed.invalid.len();
    let mut invalid = parsed.invalid;
    invalid.truncate(MAX_LISTED_INVALID);
    let label = |t: Option<GroupId>| t.map(|t| group_label(snapshot.as_deref(), t.get()));
    let preview = TagPreview {
        chrome: chrome.clone(),
        job_id,
        action: order.action,
        from_label: label(order.from),
        to_label: label(order.to),
        valid: parsed.valid.len(),
        duplicates: parsed.duplicates,
        blank: parsed.blank,
        lines: parsed.lines,
        invalid,
        invalid_total,
        column: parsed.column,
        calls: chunks * u64::from(order.action.steps()),
    };
    in_panel(state, chrome, Reply::new(hx), preview.render()?).await
}
