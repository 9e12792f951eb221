//! Delete a group (admins only): a confirmation that says how many members go back to 未分组.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{
    audit::{self, Change},
    auth::{ClientInfo, IsAdmin},
    domain::GroupId,
    groups::page::GroupsTable,
    web::{AppError, AppState, Chrome, HxRequest, Notice, Notices},
    wechat::Group,
};

/// The row turned into "delete this group?" (htmx).
#[derive(Template)]
#[template(path = "groups/_delete_confirm.html")]
pub struct DeleteConfirm {
    pub chrome: Chrome,
    pub g: Group,
}

/// The same question as a page (no JavaScript), or a refusal for a system group.
#[derive(Template)]
#[template(path = "groups/delete.html")]
pub struct DeletePage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub g: Group,
}

/// The id in the URL, and its group in the (cached) list.
async fn find(state: &AppState, id: &str) -> Result<Group, AppError> {
    Ok(crate::groups::group_in_url(state, id).await?.0)
}

/// 0, 1 and 2 are WeChat's: a message (htmx) or the page saying so (no JavaScript).
fn refuse_system(chrome: Chrome, hx: bool, g: Group) -> Result<Response, AppError> {
    let notices = Notices::one(Notice::error(
        chrome.t("groups.delete.system"),
        chrome.t("groups.delete.system_detail"),
    ));
    if hx {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [("hx-reswap", "none")],
            Html(notices.oob().render()?),
        )
            .into_response());
    }
    let page = DeletePage { chrome, notices, g };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

/// `GET /groups/{id}/delete`: the confirmation.
pub async fn confirm(
    State(state): State<AppState>,
    IsAdmin(_): IsAdmin,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let g = find(&state, &id).await?;
    if g.id.is_system() {
        return refuse_system(chrome, hx, g);
    }
    if hx {
        return Ok(Html(DeleteConfirm { chrome, g }.render()?).into_response());
    }
    let page = DeletePage {
        chrome,
        notices: Notices::default(),
        g,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /groups/{id}/delete`. WeChat moves the members back to 未分组; the cached list and the
/// stored followers follow.
pub async fn delete(
    State(state): State<AppState>,
    IsAdmin(actor): IsAdmin,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let g = find(&state, &id).await?;
    if g.id.is_system() {
        return refuse_system(chrome, hx, g);
    }
    let change = Change {
        action: "group_delete",
        target: g.id.to_string(),
        before: Some(format!("{} ({} members)", g.name, g.count)),
        after: None,
    };
    match audit::record(
        &state,
        &actor,
        &client,
        change,
        state.client.delete_group(g.id),
    )
    .await?
    {
        Ok(()) => {
            tracing::info!(operator = %actor.name, action = "group_delete", group = %g.id, members = g.count, "deleted a group");
            state.groups.deleted(g.id);
            if let Err(e) = state
                .store
                .followers_regrouped(g.id.get(), GroupId::UNGROUPED.get())
                .await
            {
                tracing::warn!(error = %e, "cannot move the stored followers of a deleted group");
            }
            let notice = Notice::success(chrome.t2(
                "groups.deleted",
                "name",
                &g.name,
                "n",
                chrome.num(g.count),
            ));
            if !hx {
                return Ok(Redirect::to(&format!(
                    "{}?done=deleted&id={}",
                    chrome.urls.groups(),
                    g.id
                ))
                .into_response());
            }
            let mut table = GroupsTable::new(&chrome, state.groups.peek());
            table.oob = true;
            let html = format!(
                "{}{}",
                table.render()?,
                Notices::one(notice).oob().render()?
            );
            Ok(Html(html).into_response())
        }
        Err(error) => {
            tracing::warn!(group = %g.id, error = %error, "deleting a group failed");
            let notices = Notices::one(Notice::wechat(&error, chrome.lang));
            let status = crate::web::upstream_status(&error);
            if hx {
                return Ok((
                    status,
                    [("hx-reswap", "none")],
                    Html(notices.oob().render()?),
                )
                    .into_response());
            }
            let page = DeletePage { chrome, notices, g };
            Ok((status, Html(page.render()?)).into_response())
        }
    }
}
