//! Rename a group in place: the row turns into a small form and back.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, CanView, ClientInfo},
    domain::GroupName,
    groups::create::CreateForm,
    groups::page::{GroupsPage, GroupsTable, name_taken, render_page},
    groups::rows::RowText,
    members::MemberPanel,
    web::{AppError, AppState, Chrome, Form, HxRequest, Notice, NoticeKind, Notices},
    wechat::Group,
};

#[derive(Debug, Deserialize)]
pub struct RenameInput {
    #[serde(default)]
    name: String,
}

/// One row of the table.
#[derive(Template)]
#[template(path = "groups/_row.html")]
pub struct Row {
    pub chrome: Chrome,
    pub t: RowText,
    pub g: Group,
    pub highlight: bool,
}

impl Row {
    pub fn new(chrome: Chrome, g: Group, highlight: bool) -> Row {
        Row {
            t: RowText::new(&chrome),
            chrome,
            g,
            highlight,
        }
    }
}

/// One row turned into a rename form.
#[derive(Template)]
#[template(path = "groups/_row_edit.html")]
pub struct RenameRow {
    pub chrome: Chrome,
    pub group: Group,
    pub value: String,
    pub error: Option<String>,
}

impl RenameRow {
    pub fn new(chrome: &Chrome, group: Group) -> Self {
        RenameRow {
            chrome: chrome.clone(),
            value: group.name.clone(),
            group,
            error: None,
        }
    }
}

/// The id in the URL, and its group in the (cached) list.
async fn find(state: &AppState, id: &str) -> Result<Group, AppError> {
    Ok(crate::groups::group_in_url(state, id).await?.0)
}

/// `GET /groups/{id}/row`: the plain row (the rename form's "cancel").
pub async fn row(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let g = find(&state, &id).await?;
    Ok(Html(Row::new(chrome, g, false).render()?).into_response())
}

/// `GET /groups/{id}/edit`: the row as a form (htmx), or the page with it (no JavaScript).
pub async fn edit(
    State(state): State<AppState>,
    _: CanChange,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let g = find(&state, &id).await?;
    if !hx {
        return Ok(Redirect::to(&chrome.urls.group_edit_page(g.id).to_string()).into_response());
    }
    if g.id.is_system() {
        let notice = Notice::error(
            chrome.t("groups.rename.system"),
            chrome.t("groups.rename.system_detail"),
        );
        let html = format!(
            "{}{}",
            Row::new(chrome, g, false).render()?,
            Notices::one(notice).oob().render()?
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    Ok(Html(RenameRow::new(&chrome, g).render()?).into_response())
}

/// `POST /groups/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
    Form(input): Form<RenameInput>,
) -> Result<Response, AppError> {
    let group = find(&state, &id).await?;
    let mut form = RenameRow::new(&chrome, group.clone());
    form.value = input.name.clone();

    if group.id.is_system() {
        form.error = Some(chrome.t("groups.rename.system_detail"));
        return respond_with_form(
            &state,
            chrome,
            hx,
            form,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let checked = GroupName::parse(&input.name)
        .map_err(|e| e.message(chrome.lang))
        .and_then(
            |name| match name_taken(state.groups.peek().as_deref(), &name, Some(group.id)) {
                Some(other) => Err(chrome.t2("groups.create.taken", "name", &name, "id", other)),
                None => Ok(name),
            },
        );
    let name = match checked {
        Ok(name) => name,
        Err(message) => {
            form.error = Some(message);
            return respond_with_form(
                &state,
                chrome,
                hx,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if name.as_str() == group.name {
        // Nothing to change: no reason to spend a call of the daily quota.
        let notice =
            Notice::success(chrome.t("groups.rename.unchanged")).with_kind(NoticeKind::Info);
        return respond_done(&state, chrome, hx, group, notice);
    }

    let change = Change {
        action: "group_rename",
        target: group.id.to_string(),
        before: Some(group.name.clone()),
        after: Some(name.to_string()),
    };
    match audit::record(
        &state,
        &actor,
        &client,
        change,
        state.client.rename_group(group.id, &name),
    )
    .await?
    {
        Ok(()) => {
            tracing::info!(operator = %actor.name, action = "group_rename", group = %group.id, "renamed a group");
            state.groups.renamed(group.id, name.as_str());
            let renamed = Group {
                name: name.as_str().to_owned(),
                ..group
            };
            let notice = Notice::success(chrome.t2(
                "groups.renamed",
                "name",
                &renamed.name,
                "id",
                renamed.id,
            ));
            respond_done(&state, chrome, hx, renamed, notice)
        }
        Err(error) => {
            tracing::warn!(group = %group.id, error = %error, "renaming a group failed");
            let notice = Notice::wechat(&error, chrome.lang);
            respond_with_form(
                &state,
                chrome,
                hx,
                form,
                Some(notice),
                crate::web::upstream_status(&error),
            )
        }
    }
}

fn respond_done(
    _state: &AppState,
    chrome: Chrome,
    hx: bool,
    group: Group,
    notice: Notice,
) -> Result<Response, AppError> {
    if !hx {
        let id = group.id;
        return Ok(Redirect::to(&format!(
            "{}?done=renamed&id={id}#group-{id}",
            chrome.urls.groups()
        ))
        .into_response());
    }
    let html = format!(
        "{}{}",
        Row::new(chrome, group, true).render()?,
        Notices::one(notice).oob().render()?
    );
    Ok(Html(html).into_response())
}

fn respond_with_form(
    state: &AppState,
    chrome: Chrome,
    hx: bool,
    form: RenameRow,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let notices = Notices {
        items: notice.into_iter().collect(),
        oob: hx,
    };
    if hx {
        let html = format!("{}{}", form.render()?, notices.render()?);
        return Ok((status, Html(html)).into_response());
    }
    let snapshot = state.groups.peek();
    let mut table = GroupsTable::new(&chrome, snapshot.clone());
    table.edit = Some(form);
    render_page(
        GroupsPage {
            notices,
            table,
            create: CreateForm::new(&chrome, snapshot.as_deref()),
            member: MemberPanel::new(&chrome, snapshot),
            chrome,
        },
        status,
    )
}
