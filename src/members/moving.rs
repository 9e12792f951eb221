//! Move one follower to another group.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, ClientInfo},
    domain::{GroupId, OpenId},
    groups::{CarriedView, GroupsPage, GroupsTable, ListView, render_page},
    members::{Found, MemberPanel},
    web::{AppError, AppState, Chrome, Form, HxRequest, Notice, NoticeKind, Notices},
};

#[derive(Debug, Deserialize)]
pub struct MoveInput {
    #[serde(default)]
    openid: String,
    #[serde(default)]
    to_groupid: String,
    /// `yes` once the operator has confirmed a move into the blacklist.
    #[serde(default)]
    confirm: String,
}

/// `POST /members/move`.
///
/// We ask WeChat for the follower's current group first: it is the only way to keep both
/// counts in the cached list right, and it spares the write when they are already there.
pub async fn move_user(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    CarriedView(list): CarriedView,
    Form(input): Form<MoveInput>,
) -> Result<Response, AppError> {
    let lang = chrome.lang;
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut panel = MemberPanel::new(&chrome, snapshot.clone());
    panel.openid_value = input.openid.clone();
    panel.to_value = input.to_groupid.trim().to_owned();

    let openid = OpenId::parse(&input.openid).map_err(|e| e.message(lang));
    let to = GroupId::parse(&input.to_groupid)
        .map_err(|e| e.message(lang))
        .and_then(|id| match &snapshot {
            // With a list in hand, a group it does not have is refused before WeChat sees it.
            Some(s) if s.find(id).is_none() => Err(chrome.t1("members.no_such_group", "id", id)),
            _ => Ok(id),
        });
    let (openid, to) = match (openid, to) {
        (Ok(o), Ok(t)) => (o, t),
        (o, t) => {
            panel.openid_error = o.err();
            panel.to_error = t.err();
            return respond(
                &state,
                hx,
                panel,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
                list.clone(),
            );
        }
    };
    panel.openid_value = openid.to_string();

    let from = match state.client.get_user_group(&openid).await {
        Ok(from) => from,
        Err(error) => {
            let notice = Notice::wechat(&error, lang);
            if matches!(error.code(), Some(40003 | 46004 | 49003)) {
                panel.openid_error = Some(format!("{} {}", error.title(lang), error.explain(lang)));
            }
            return respond(
                &state,
                hx,
                panel,
                Some(notice),
                crate::web::upstream_status(&error),
                false,
                list.clone(),
            );
        }
    };
    let name_of = |id: GroupId| {
        state
            .groups
            .peek()
            .and_then(|s| s.find(id).map(|g| g.name.clone()))
    };
    if from == to {
        panel.found = Some(Found {
            openid: openid.to_string(),
            group_id: from,
            group_name: name_of(from),
        });
        let notice = Notice::success(chrome.t("members.already_there")).with_kind(NoticeKind::Info);
        return respond(
            &state,
            hx,
            panel,
            Some(notice),
            StatusCode::OK,
            false,
            list.clone(),
        );
    }
    if to == GroupId::BLACKLIST && input.confirm != "yes" {
        // Into the blacklist is destructive (the follower stops receiving messages): ask first.
        // The same step serves htmx (swapped into the panel) and a plain form (the whole page).
        panel.found = Some(Found {
            openid: openid.to_string(),
            group_id: from,
            group_name: name_of(from),
        });
        panel.confirm_blacklist = true;
        return respond(&state, hx, panel, None, StatusCode::OK, false, list.clone());
    }
    let change = Change {
        action: "member_move",
        target: openid.to_string(),
        // "VIP客户 (101)": the name as it was at the time, and the id that does not change.
        before: Some(group_label(from, name_of(from))),
        after: Some(group_label(to, name_of(to))),
    };
    match audit::record(
        &state,
        &actor,
        &client,
        change,
        state.client.move_user(&openid, to),
    )
    .await?
    {
        Ok(()) => {
            tracing::info!(operator = %actor.name, action = "member_move", from = %from, to = %to, "moved a follower");
            state.groups.moved(from, to, 1);
            crate::jobs::follower_moved(&state, &openid, to).await;
            if !hx {
                return Ok(Redirect::to(&format!(
                    "{}?done=moved&id={to}&openid={}{}",
                    chrome.urls.groups(),
                    crate::web::urls::query_escape(openid.as_str()),
                    list.and_query()
                ))
                .into_response());
            }
            panel.snapshot = state.groups.peek();
            panel.found = Some(Found {
                openid: openid.to_string(),
                group_id: to,
                group_name: name_of(to),
            });
            panel.moved = true;
            panel.to_value.clear();
            let text = rust_i18n::replace_patterns(
                &chrome.t("members.moved"),
                &["openid", "name", "id"],
                &[
                    openid.to_string(),
                    name_of(to).unwrap_or_default(),
                    to.to_string(),
                ],
            );
            respond(
                &state,
                hx,
                panel,
                Some(Notice::success(text)),
                StatusCode::OK,
                true,
                list.clone(),
            )
        }
        Err(error) => {
            tracing::warn!(to = %to, error = %error, "moving a follower failed");
            panel.found = Some(Found {
                openid: openid.to_string(),
                group_id: from,
                group_name: name_of(from),
            });
            let notice = Notice::wechat(&error, lang);
            respond(
                &state,
                hx,
                panel,
                Some(notice),
                crate::web::upstream_status(&error),
                false,
                list.clone(),
            )
        }
    }
}

/// The panel (htmx) or the page around it; after a move, the table rides along so the
/// counts change on screen.
fn respond(
    state: &AppState,
    hx: bool,
    panel: MemberPanel,
    notice: Option<Notice>,
    status: StatusCode,
    with_table: bool,
    list: ListView,
) -> Result<Response, AppError> {
    let chrome = panel.chrome.clone();
    let notices = Notices {
        items: notice.into_iter().collect(),
        oob: hx,
    };
    let snapshot = state.groups.peek();
    if hx {
        let mut html = panel.render()?;
        if with_table {
            let mut table = GroupsTable::new(&chrome, snapshot).with_view(list);
            table.oob = true;
            html.push_str(&table.render()?);
        }
        html.push_str(&notices.render()?);
        return Ok((status, Html(html)).into_response());
    }
    render_page(
        GroupsPage {
            notices,
            table: GroupsTable::new(&chrome, snapshot.clone()).with_view(list),
            create: crate::groups::CreateForm::new(&chrome, snapshot.as_deref()),
            member: panel,
            chrome,
        },
        status,
    )
}

fn group_label(id: GroupId, name: Option<String>) -> String {
    match name {
        Some(n) => format!("{n} ({id})"),
        None => id.to_string(),
    }
}
