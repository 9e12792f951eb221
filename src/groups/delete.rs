//! Delete a group (admins only): a confirmation that says how many members go back to 未分组.

use askama::Template;
use axum::{
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};

use crate::{
    audit::{self, Change},
    auth::IsAdmin,
    domain::{Api, GroupId, ListChange},
    groups::{in_url::GroupInUrl, table::GroupsTable},
    state::AppState,
    web::{AppError, Chrome, Flash, HxRequest, Notice, Notices, Reply, html, upstream_status},
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

impl DeletePage {
    /// Not one of WeChat's own, and not a tag WeChat would refuse for its size.
    fn can_delete(&self) -> bool {
        !self.g.id.is_system() && !too_big(&self.chrome, &self.g)
    }

    fn too_big(&self) -> bool {
        too_big(&self.chrome, &self.g)
    }
}

impl DeleteConfirm {
    fn too_big(&self) -> bool {
        too_big(&self.chrome, &self.g)
    }
}

/// A tag WeChat will not delete for its size (45057): its followers must lose it first.
fn too_big(chrome: &Chrome, g: &Group) -> bool {
    chrome.tags() && g.count > MAX_DELETABLE_TAG
}

/// WeChat refuses to delete a tag with more followers than this (45057).
pub const MAX_DELETABLE_TAG: u64 = 100_000;

/// The group an `{id}` names, if it may be deleted: 0, 1 and 2 are WeChat's, and asking to
/// delete one is answered with a message (htmx) or the page saying so (no JavaScript). Named
/// after `IsAdmin`, so a role that may not delete is refused first.
pub struct Deletable(Group);

impl FromRequestParts<AppState> for Deletable {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let GroupInUrl { group: g, .. } = GroupInUrl::from_request_parts(parts, state).await?;
        let too_big = state.site.api == Api::Tags && g.count > MAX_DELETABLE_TAG;
        if !g.id.is_system() && !too_big {
            return Ok(Deletable(g));
        }
        let Ok(chrome) = Chrome::from_request_parts(parts, state).await;
        let Ok(hx) = HxRequest::from_request_parts(parts, state).await;
        let notice = if too_big {
            // WeChat would answer 45057; saying so first spares the call and explains the way out.
            let detail = chrome.t2(
                "tags.delete.too_big_detail",
                "n",
                chrome.num(g.count),
                "max",
                chrome.num(MAX_DELETABLE_TAG),
            );
            Notice::error(chrome.t("tags.delete.too_big"), detail)
        } else {
            Notice::error(
                chrome.t("groups.delete.system"),
                chrome.t("groups.delete.system_detail"),
            )
        };
        let reply = Reply::new(hx)
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .notice(notice);
        // Too big: the row offers the way out (the untag-everyone job); a system group's row
        // stays as it was.
        let reply = if too_big {
            reply.swap(&DeleteConfirm {
                chrome: chrome.clone(),
                g: g.clone(),
            })
        } else {
            Ok(reply.keep_target())
        };
        let refused =
            reply.and_then(|r| r.or_page(|notices| html(&DeletePage { chrome, notices, g })));
        Err(refused.unwrap_or_else(IntoResponse::into_response))
    }
}

/// The stored followers follow WeChat: a deleted group's members are back in 未分组, a deleted
/// tag is carried by nobody. A failure here only leaves the store stale until the next sync.
async fn forget_members(state: &AppState, api: Api, id: GroupId) {
    let forgotten = match api {
        Api::Groups => state
            .store
            .followers_regrouped(id.get(), GroupId::UNGROUPED.get())
            .await
            .map(|_| ()),
        Api::Tags => state.store.tag_dropped(id.get()).await.map(|_| ()),
    };
    if let Err(e) = forgotten {
        tracing::warn!(error = %e, "cannot update the stored followers of a deleted entry");
    }
}

/// `GET /groups/{id}/delete`: the confirmation.
pub async fn confirm(
    IsAdmin(_): IsAdmin,
    chrome: Chrome,
    hx: HxRequest,
    Deletable(g): Deletable,
) -> Result<Response, AppError> {
    if hx.0 {
        return html(&DeleteConfirm { chrome, g });
    }
    html(&DeletePage {
        chrome,
        notices: Notices::default(),
        g,
    })
}

/// `POST /groups/{id}/delete`. WeChat moves the members back to 未分组; the cached list and the
/// stored followers follow.
pub async fn delete(
    State(state): State<AppState>,
    IsAdmin(who): IsAdmin,
    chrome: Chrome,
    hx: HxRequest,
    Deletable(g): Deletable,
) -> Result<Response, AppError> {
    let change = Change {
        action: chrome.api.action(ListChange::Delete),
        target: g.id.to_string(),
        before: Some(format!("{} ({} members)", g.name, g.count)),
        after: None,
    };
    let call = state.client.delete(chrome.api, g.id);
    match audit::record(&state, &who, change, call).await? {
        Ok(()) => {
            tracing::info!(operator = %who.actor.name, action = "group_delete", group = %g.id, members = g.count, "deleted a group");
            state.groups.deleted(g.id).await;
            forget_members(&state, chrome.api, g.id).await;
            let text = chrome.t2("groups.deleted", "name", &g.name, "n", chrome.num(g.count));
            Reply::new(hx)
                .notice(Notice::success(text))
                .swap(&GroupsTable::new(&chrome, state.groups.peek()).out_of_band())?
                .or_redirect(Flash::Deleted(g.id).groups_url(&chrome.urls, ""))
        }
        Err(error) => {
            tracing::warn!(group = %g.id, error = %error, "deleting a group failed");
            Reply::new(hx)
                .status(upstream_status(&error))
                .notice(Notice::wechat(&error, chrome.lang))
                .keep_target()
                .or_page(|notices| html(&DeletePage { chrome, notices, g }))
        }
    }
}
