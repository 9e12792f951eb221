//! `GET /groups`, the operator's dashboard, and "refresh from WeChat".

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    auth::CanView,
    domain::GroupId,
    groups::{
        dashboard::{GroupsPage, view_notice},
        listing::{CarriedView, ListView},
        rows::RenameRow,
        table::GroupsTable,
    },
    members::lookup_into,
    state::{AppState, Snapshot},
    web::{
        AppError, Chrome, Flash, Notice, Query, Reply, TagChange, html,
        htmx::{HxRequest, HxTarget},
        upstream_status,
    },
};

/// What the page's query asks for besides the list's view and a [`Flash`].
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Look this follower up (the lookup form without JavaScript).
    #[serde(default)]
    pub openid: Option<String>,
    /// Open this row's rename form (the rename link without JavaScript).
    #[serde(default)]
    pub edit: Option<String>,
}

/// The success message a flash stands for, if its group is still there to name.
fn flash_notice(flash: &Flash, chrome: &Chrome, snapshot: Option<&Snapshot>) -> Option<Notice> {
    let group = |id: GroupId| snapshot?.find(id).cloned();
    let text = match flash {
        Flash::Refreshed => chrome.t("groups.refreshed"),
        Flash::Created(id) => {
            let g = group(*id)?;
            chrome.t2("groups.created", "name", &g.name, "id", g.id)
        }
        Flash::Renamed(id) => {
            let g = group(*id)?;
            chrome.t2("groups.renamed", "name", &g.name, "id", g.id)
        }
        Flash::Deleted(id) => chrome.t1("groups.deleted_id", "id", id),
        Flash::Tagged { openid, change } => {
            let label = |id: GroupId| match group(id) {
                Some(g) => format!("{} ({id})", g.name),
                None => id.to_string(),
            };
            let (key, a, b) = match *change {
                TagChange::Added(t) => ("tags.member.added", label(t), String::new()),
                TagChange::Removed(t) => ("tags.member.removed", label(t), String::new()),
                TagChange::Replaced { from, to } => ("tags.member.moved", label(from), label(to)),
            };
            rust_i18n::replace_patterns(
                &chrome.t(key),
                &["openid", "a", "b"],
                &[openid.to_string(), a, b],
            )
        }
        Flash::Moved { to, openid } => {
            let g = group(*to)?;
            rust_i18n::replace_patterns(
                &chrome.t("members.moved"),
                &["openid", "name", "id"],
                &[openid.to_string(), g.name.clone(), g.id.to_string()],
            )
        }
    };
    Some(Notice::success(text))
}

/// `GET /groups`: the dashboard. `?openid=` also looks a follower up; `?edit=` opens a rename
/// form (both for browsers without JavaScript). `?q=&sort=&dir=` filter and sort the list;
/// htmx asks for only the results then (`HX-Target: groups-results`).
pub async fn show(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    HxTarget(target): HxTarget,
    RawQuery(raw): RawQuery,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let list = ListView::from_query(raw.as_deref());
    let view = state.groups.view(&state.client).await;
    if hx && target.as_deref() == Some("groups-results") {
        let mut table = GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list);
        table.fragment = true;
        return html(&table);
    }
    let flash = Flash::from_query(raw.as_deref());
    let mut page = GroupsPage::new(&chrome, view.snapshot.clone()).with_view(list);
    let mut notices: Vec<Notice> = view_notice(&chrome, &view).into_iter().collect();
    if let Some(flash) = &flash {
        notices.extend(flash_notice(flash, &chrome, view.snapshot.as_deref()));
        page.table.highlight = flash.group();
    }
    let editing = query.edit.as_deref().and_then(|e| GroupId::parse(e).ok());
    if let Some(g) = editing.and_then(|id| view.snapshot.as_ref()?.find(id).cloned())
        && !g.id.is_system()
        && chrome.can_change()
    {
        page.table.edit = Some(RenameRow::new(&chrome, g));
    }
    let mut status = StatusCode::OK;
    if let Some(openid) = query.openid.as_deref() {
        page.member = lookup_into(&state, page.member, openid).await;
        if page.member.has_error() {
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
    }
    Ok((status, page.answer(notices.into())?).into_response())
}

/// `POST /groups/refresh`: the operator's "refresh from WeChat".
pub async fn refresh(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    hx: HxRequest,
    CarriedView(list): CarriedView,
) -> Result<Response, AppError> {
    let view = state.groups.refresh(&state.client).await;
    let table = GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list.clone());
    let reply = Reply::new(hx);
    let Some(error) = &view.error else {
        return reply
            .notice(Notice::success(chrome.t("groups.refreshed")))
            .swap(&table)?
            .or_redirect(Flash::Refreshed.groups_url(&chrome.urls, &list.query()));
    };
    reply
        .status(upstream_status(error))
        .notice(view_notice(&chrome, &view))
        .swap(&table)?
        .or_page(|notices| {
            GroupsPage::new(&chrome, view.snapshot.clone())
                .with_view(list)
                .answer(notices)
        })
}
