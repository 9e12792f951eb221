//! Rename a group in place: the row turns into a small form and back.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, CanView, Who},
    domain::{GroupName, ListChange},
    groups::{
        dashboard::GroupsPage,
        in_url::GroupInUrl,
        rows::{RenameRow, Row},
    },
    state::AppState,
    web::{
        AppError, Chrome, Flash, Form, HxRequest, Notice, NoticeKind, Reply, html, upstream_status,
    },
    wechat::{Group, WeChatError},
};

#[derive(Debug, Deserialize)]
pub struct RenameInput {
    #[serde(default)]
    name: String,
}

/// `GET /groups/{id}/row`: the plain row (the rename form's "cancel").
pub async fn row(
    _: CanView,
    chrome: Chrome,
    GroupInUrl { group: g, .. }: GroupInUrl,
) -> Result<Response, AppError> {
    html(&Row::new(chrome, g, false))
}

/// `GET /groups/{id}/edit`: the row as a form (htmx), or the page with it (no JavaScript).
pub async fn edit(
    _: CanChange,
    chrome: Chrome,
    hx: HxRequest,
    GroupInUrl { group: g, .. }: GroupInUrl,
) -> Result<Response, AppError> {
    if !hx.0 {
        return Ok(Redirect::to(&chrome.urls.group_edit_page(g.id).to_string()).into_response());
    }
    if g.id.is_system() {
        let notice = Notice::error(
            chrome.t("groups.rename.system"),
            chrome.t("groups.rename.system_detail"),
        );
        return Reply::new(hx)
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .notice(notice)
            .swap(&Row::new(chrome, g, false))?
            .fragments();
    }
    html(&RenameRow::new(&chrome, g))
}

/// `POST /groups/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    GroupInUrl { group, .. }: GroupInUrl,
    Form(input): Form<RenameInput>,
) -> Result<Response, AppError> {
    let mut form = RenameRow::new(&chrome, group.clone());
    form.value = input.name.clone();
    let reply = Reply::new(hx);
    let name = match check(&state, &chrome, &group, &input.name) {
        Ok(name) => name,
        Err(message) => {
            form.error = Some(message);
            let reply = reply.status(StatusCode::UNPROCESSABLE_ENTITY);
            return again(&state, &chrome, reply, form);
        }
    };
    if name.as_str() == group.name {
        // Nothing to change: no reason to spend a call of the daily quota.
        let notice =
            Notice::success(chrome.t("groups.rename.unchanged")).with_kind(NoticeKind::Info);
        return done(reply.notice(notice), chrome, group);
    }
    match send(&state, &who, &group, &name).await? {
        Ok(renamed) => {
            let text = chrome.t2("groups.renamed", "name", &renamed.name, "id", renamed.id);
            done(reply.notice(Notice::success(text)), chrome, renamed)
        }
        Err(error) => {
            let reply = reply
                .status(upstream_status(&error))
                .notice(Notice::wechat(&error, chrome.lang));
            again(&state, &chrome, reply, form)
        }
    }
}

/// What rules out a rename before WeChat is asked: a system group, a bad or taken name.
fn check(
    state: &AppState,
    chrome: &Chrome,
    group: &Group,
    input: &str,
) -> Result<GroupName, String> {
    if group.id.is_system() {
        return Err(chrome.t("groups.rename.system_detail"));
    }
    let name = GroupName::parse_for(chrome.api, input)
        .map_err(|e| e.message_in(chrome.lang, chrome.api))?;
    let snapshot = state.groups.peek();
    match snapshot.and_then(|s| s.name_taken(&name, Some(group.id))) {
        Some(other) => Err(chrome.t2("groups.create.taken", "name", &name, "id", other)),
        None => Ok(name),
    }
}

/// Asks WeChat, recorded in the audit log; the renamed group once it has said yes.
async fn send(
    state: &AppState,
    who: &Who,
    group: &Group,
    name: &GroupName,
) -> Result<Result<Group, WeChatError>, AppError> {
    let change = Change {
        action: state.site.api.action(ListChange::Rename),
        target: group.id.to_string(),
        before: Some(group.name.clone()),
        after: Some(name.to_string()),
    };
    let call = state.client.rename(state.site.api, group.id, name);
    let answer = audit::record(state, who, change, call).await?;
    match &answer {
        Ok(()) => {
            tracing::info!(operator = %who.actor.name, action = "group_rename", group = %group.id, "renamed a group");
            state.groups.renamed(group.id, name.as_str()).await;
        }
        Err(error) => {
            tracing::warn!(group = %group.id, error = %error, "renaming a group failed");
        }
    }
    Ok(answer.map(|()| Group {
        name: name.as_str().to_owned(),
        ..group.clone()
    }))
}

/// The row with its (new) name, marked; without JavaScript, back to the page at that row.
fn done(reply: Reply, chrome: Chrome, group: Group) -> Result<Response, AppError> {
    let url = Flash::Renamed(group.id).groups_url(&chrome.urls, "");
    reply.swap(&Row::new(chrome, group, true))?.or_redirect(url)
}

/// The rename form again, with what was typed and why it did not go through.
fn again(
    state: &AppState,
    chrome: &Chrome,
    reply: Reply,
    form: RenameRow,
) -> Result<Response, AppError> {
    reply.swap(&form)?.or_page(|notices| {
        let mut page = GroupsPage::new(chrome, state.groups.peek());
        page.table.edit = Some(form);
        page.answer(notices)
    })
}
