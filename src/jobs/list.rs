//! Moving a list: the form (paste or upload, choose the group), the preview of what would be
//! sent, and discarding it. In tags mode the same form chooses an action and its tags instead
//! (`tag_list.rs`); reading the list is shared.

use askama::Template;
use axum::{
    extract::{Multipart, Path, State},
    http::StatusCode,
    response::Response,
};

use crate::{
    auth::{CanChange, CanView},
    domain::{Api, GroupId},
    jobs::{
        page::{JobsPage, group_label, listed_name},
        panel::{ListInput, in_panel},
        parse::{InvalidLine, MAX_LISTED_INVALID},
        tag_list::{self, Choice, TagListForm},
    },
    state::{AppState, Snapshot},
    web::{AppError, Chrome, HxRequest, Query, Reply, html},
    wechat::Group,
};

/// The "move a list" form: paste or upload, choose the target group.
#[derive(Template)]
#[template(path = "jobs/_list_form.html")]
pub struct ListForm {
    pub chrome: Chrome,
    pub groups: Vec<Group>,
    pub to_value: String,
    pub text_value: String,
    pub error: Option<String>,
    pub to_error: Option<String>,
}

impl ListForm {
    pub fn new(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Self {
        ListForm {
            chrome: chrome.clone(),
            groups: snapshot.map(|s| s.groups.clone()).unwrap_or_default(),
            to_value: String::new(),
            text_value: String::new(),
            error: None,
            to_error: None,
        }
    }

    fn is_selected(&self, id: &GroupId) -> bool {
        self.to_value == id.to_string()
    }
}

/// What a preview shows before anything is sent.
#[derive(Template)]
#[template(path = "jobs/_preview.html")]
pub struct Preview {
    pub chrome: Chrome,
    pub job_id: i64,
    pub to_name: String,
    pub valid: usize,
    pub duplicates: usize,
    pub blank: usize,
    pub lines: usize,
    pub invalid: Vec<InvalidLine>,
    pub invalid_total: usize,
    pub column: Option<usize>,
}

/// `GET /jobs`; in tags mode optionally with an action and its tags chosen
/// (`?action=untag&from_tag=101`, see [`crate::jobs::jobs_link`]).
pub async fn index(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    Query(choice): Query<Choice>,
) -> Result<Response, AppError> {
    let view = state.groups.view(&state.client).await;
    let form = if state.site.api == Api::Tags {
        TagListForm::chosen(&chrome, view.snapshot.as_deref(), &choice).render()?
    } else {
        ListForm::new(&chrome, view.snapshot.as_deref()).render()?
    };
    html(&JobsPage::load(&state, chrome, form).await?)
}

/// The list form as it first appears, for the mode in use.
pub(super) fn fresh_form(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Result<String, AppError> {
    Ok(if chrome.api == Api::Tags {
        TagListForm::new(chrome, snapshot).render()?
    } else {
        ListForm::new(chrome, snapshot).render()?
    })
}

/// A text field of the form: UTF-8 or refused with the field named.
fn text_field(bytes: &[u8], what: &'static str) -> Result<String, AppError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| AppError::NotUtf8(what))
}

pub(super) async fn read_list(mut multipart: Multipart) -> Result<ListInput, AppError> {
    let mut input = ListInput::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadForm(e.body_text())
        }
    })? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadForm(e.body_text())
            }
        })?;
        match name.as_str() {
            "to_groupid" => input.to_groupid = text_field(&bytes, "the target group")?,
            "action" => input.action = text_field(&bytes, "the action")?,
            "from_tag" => input.from_tag = text_field(&bytes, "tag A")?,
            "to_tag" => input.to_tag = text_field(&bytes, "tag B")?,
            "text" => input.text = bytes.to_vec(),
            "file" => input.file = bytes.to_vec(),
            _ => {}
        }
    }
    Ok(input)
}

/// `POST /jobs/preview`: reads the list and shows what would be sent. Nothing is sent: the list
/// is kept as a draft job until it is confirmed.
pub async fn preview(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let input = read_list(multipart).await?;
    if state.site.api == Api::Tags {
        return tag_list::preview(&state, &who, chrome, hx, input).await;
    }
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut form = ListForm::new(&chrome, snapshot.as_deref());
    form.to_value = input.to_groupid.trim().to_owned();
    form.text_value = input.text_value();
    let to = GroupId::parse(&input.to_groupid)
        .map_err(|e| e.message(chrome.lang))
        .and_then(|id| match snapshot.as_deref() {
            Some(s) if s.find(id).is_none() => Err(chrome.t1("members.no_such_group", "id", id)),
            _ => Ok(id),
        });
    let (to, parsed) = match (to, input.parsed(&chrome)) {
        (Ok(to), Ok(p)) => (to, p),
        (to, parsed) => {
            form.to_error = to.err();
            form.error = parsed.err();
            let reply = Reply::new(hx).status(StatusCode::UNPROCESSABLE_ENTITY);
            return in_panel(&state, chrome, reply, form.render()?).await;
        }
    };
    let openids: Vec<String> = parsed.valid.iter().map(|o| o.to_string()).collect();
    let job = who.new_job(to.get(), "list");
    // The name is kept with the job, for its pages while the group list is not loaded.
    let to_name = listed_name(snapshot.as_deref(), to.get());
    let job_id = state
        .store
        .job_create_draft(&job, to_name, &openids)
        .await?;
    let invalid_total = parsed.invalid.len();
    let mut invalid = parsed.invalid;
    invalid.truncate(MAX_LISTED_INVALID);
    let preview = Preview {
        chrome: chrome.clone(),
        job_id,
        to_name: group_label(snapshot.as_deref(), to.get()),
        valid: parsed.valid.len(),
        duplicates: parsed.duplicates,
        blank: parsed.blank,
        lines: parsed.lines,
        invalid,
        invalid_total,
        column: parsed.column,
    };
    in_panel(&state, chrome, Reply::new(hx), preview.render()?).await
}

/// `POST /jobs/{id}/discard`: forget a previewed list.
pub async fn discard(
    State(state): State<AppState>,
    _: CanChange,
    chrome: Chrome,
    hx: HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    // Discarding one that is already gone (twice, or after it expired) is the same as once.
    if let Ok(id) = id.parse::<i64>() {
        state.store.job_discard(id).await?;
    }
    let snapshot = state.groups.peek();
    Reply::new(hx)
        .swap_html(&fresh_form(&chrome, snapshot.as_deref())?)
        .or_redirect(chrome.urls.jobs())
}
