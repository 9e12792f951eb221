//! Look a follower up by OpenID.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use crate::{
    auth::CanView,
    domain::{Api, OpenId},
    members::panel::{Found, MemberPanel},
    state::AppState,
    web::{AppError, Chrome, HxRequest, Notice, Query, Reply},
};

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    openid: String,
}

/// `GET /members/lookup?openid=…`: the panel with the follower's group (htmx). A browser
/// without JavaScript submits the same form to `/groups`, which renders the whole page.
pub async fn lookup(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    hx: HxRequest,
    Query(q): Query<LookupQuery>,
) -> Result<Response, AppError> {
    let reply = Reply::new(hx);
    if !hx.0 {
        return reply.or_redirect(chrome.urls.groups_lookup(&q.openid));
    }
    let panel = MemberPanel::new(&chrome, state.groups.peek());
    let (panel, notice) = lookup_with_notice(&state, panel, &q.openid).await;
    let status = if panel.has_error() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    reply
        .status(status)
        .notice(notice)
        .swap(&panel)?
        .fragments()
}

/// Fills the panel from a lookup (used by the page handler for `/groups?openid=`).
pub async fn lookup_into(state: &AppState, panel: MemberPanel, openid: &str) -> MemberPanel {
    lookup_with_notice(state, panel, openid).await.0
}

async fn lookup_with_notice(
    state: &AppState,
    mut panel: MemberPanel,
    input: &str,
) -> (MemberPanel, Option<Notice>) {
    let lang = panel.chrome.lang;
    panel.openid_value = input.to_owned();
    let openid = match OpenId::parse(input) {
        Ok(o) => o,
        Err(e) => {
            panel.openid_error = Some(e.message(lang));
            return (panel, None);
        }
    };
    panel.openid_value = openid.to_string();
    let found = match panel.chrome.api {
        Api::Groups => state.client.get_user_group(&openid).await.map(|group_id| {
            let group_name = panel
                .snapshot
                .as_ref()
                .and_then(|s| s.find(group_id))
                .map(|g| g.name.clone());
            Found {
                openid: openid.to_string(),
                group_id,
                group_name,
                tags: Vec::new(),
            }
        }),
        Api::Tags => state
            .client
            .tags_of(&openid)
            .await
            .map(|tags| Found::with_tags(openid.as_str(), &tags, panel.snapshot.as_deref())),
    };
    match found {
        Ok(found) => {
            panel.found = Some(found);
            (panel, None)
        }
        Err(error) => {
            // A refusal about this OpenID belongs next to the field; anything else (token,
            // quota, network) is about WeChat and goes to the message region.
            if matches!(error.code(), Some(40003 | 46004 | 49003)) {
                panel.openid_error = Some(format!("{} {}", error.title(lang), error.explain(lang)));
                (panel, None)
            } else {
                let notice = Notice::wechat(&error, lang);
                panel.openid_error = Some(notice.title.clone());
                (panel, Some(notice))
            }
        }
    }
}
