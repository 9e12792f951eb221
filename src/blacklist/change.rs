//! Putting one follower on the blacklist (after a confirmation that says what it does) or taking
//! one off. What the list already says is not sent: blacklisting someone already on it, or
//! removing someone who is not, is answered here.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, Who},
    blacklist::{
        TagsMode,
        page::{BlacklistPage, info, on_blacklist},
    },
    domain::OpenId,
    state::AppState,
    web::{AppError, Chrome, Form, HxRequest, Notice, Reply, upstream_status, urls::with_query},
};

#[derive(Debug, Deserialize)]
pub struct ChangeInput {
    #[serde(default)]
    openid: String,
    /// `yes` once the operator has confirmed a blacklisting.
    #[serde(default)]
    confirm: String,
}

/// `POST /blacklist/add`: first the confirmation, then (with `confirm=yes`) the call.
pub async fn add(
    State(state): State<AppState>,
    _: TagsMode,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    Form(input): Form<ChangeInput>,
) -> Result<Response, AppError> {
    let reply = Reply::new(hx);
    let mut page = BlacklistPage::new(&chrome);
    page.openid_value = input.openid.clone();
    let openid = match OpenId::parse(&input.openid) {
        Ok(o) => o,
        Err(e) => {
            page.openid_error = Some(e.message(chrome.lang));
            return answer(&state, reply.status(StatusCode::UNPROCESSABLE_ENTITY), page).await;
        }
    };
    if input.confirm != "yes" {
        page.openid_value = openid.to_string();
        page.confirming = Some(openid);
        return answer(&state, reply, page).await;
    }
    send(&state, &who, reply, page, openid, true).await
}

/// `POST /blacklist/remove`.
pub async fn remove(
    State(state): State<AppState>,
    _: TagsMode,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    Form(input): Form<ChangeInput>,
) -> Result<Response, AppError> {
    let reply = Reply::new(hx);
    let page = BlacklistPage::new(&chrome);
    let openid = match OpenId::parse(&input.openid) {
        Ok(o) => o,
        Err(e) => {
            let notice = Notice::error(chrome.t("blacklist.not_changed"), e.message(chrome.lang));
            let reply = reply
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .notice(notice);
            return answer(&state, reply, page).await;
        }
    };
    send(&state, &who, reply, page, openid, false).await
}

/// Checks the list, then sends the change (audited) and answers with the list as it now is.
async fn send(
    state: &AppState,
    who: &Who,
    reply: Reply,
    page: BlacklistPage,
    openid: OpenId,
    on: bool,
) -> Result<Response, AppError> {
    let chrome = page.chrome.clone();
    match on_blacklist(&state.client, &openid).await {
        Ok(Some(already)) if already == on => {
            let key = if on {
                "blacklist.already_on"
            } else {
                "blacklist.not_on"
            };
            let text = chrome.t1(key, "openid", &openid);
            let reply = if on {
                reply.notice(info(text))
            } else {
                let notice = Notice::error(chrome.t("blacklist.not_changed"), text);
                reply
                    .status(StatusCode::UNPROCESSABLE_ENTITY)
                    .notice(notice)
            };
            return answer(state, reply, page).await;
        }
        Ok(_) => {}
        Err(error) => {
            let reply = reply
                .status(upstream_status(&error))
                .notice(Notice::wechat(&error, chrome.lang));
            return answer(state, reply, page).await;
        }
    }
    let change = Change {
        action: if on { "blacklist" } else { "unblacklist" },
        target: openid.to_string(),
        before: None,
        after: None,
    };
    let call = state
        .client
        .blacklist_users(on, std::slice::from_ref(&openid));
    if let Err(error) = audit::record(state, who, change, call).await? {
        tracing::warn!(error = %error, "changing the blacklist failed");
        let reply = reply
            .status(upstream_status(&error))
            .notice(Notice::wechat(&error, chrome.lang));
        return answer(state, reply, page).await;
    }
    tracing::info!(operator = %who.actor.name, action = if on { "blacklist" } else { "unblacklist" }, "changed the blacklist");
    let (done, key) = if on {
        ("added", "blacklist.added")
    } else {
        ("removed", "blacklist.removed")
    };
    let url = with_query(
        &chrome.urls.blacklist(),
        &[("done", done), ("openid", openid.as_str())],
    );
    let reply = reply.notice(Notice::success(chrome.t1(key, "openid", &openid)));
    if !reply.is_htmx() {
        return reply.or_redirect(url);
    }
    // Done: the add field is empty again, ready for the next.
    let mut page = page.load(&state.client, None).await;
    page.openid_value.clear();
    reply.swap(&page)?.or_redirect(url)
}

/// The card again (htmx) or the whole page, with the list's first page.
async fn answer(state: &AppState, reply: Reply, page: BlacklistPage) -> Result<Response, AppError> {
    let page = page.load(&state.client, None).await;
    reply.swap(&page)?.or_page(|notices| page.page(notices))
}
