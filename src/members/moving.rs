//! Move one follower to another group.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, Who},
    domain::{GroupId, OpenId},
    groups::{CarriedView, GroupsTable},
    members::{
        answer::Answer,
        panel::{Found, MemberPanel},
    },
    state::AppState,
    web::{AppError, Chrome, Flash, Form, HxRequest, Notice, NoticeKind, Reply, upstream_status},
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
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    CarriedView(list): CarriedView,
    Form(input): Form<MoveInput>,
) -> Result<Response, AppError> {
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut panel = MemberPanel::new(&chrome, snapshot);
    panel.openid_value = input.openid.clone();
    panel.to_value = input.to_groupid.trim().to_owned();
    let answer = Answer {
        state: &state,
        reply: Reply::new(hx),
        list,
    };
    let (openid, to) = match parse(&chrome, &panel, &input) {
        Ok(parsed) => parsed,
        Err((openid_error, to_error)) => {
            panel.openid_error = openid_error;
            panel.to_error = to_error;
            return answer.panel(StatusCode::UNPROCESSABLE_ENTITY, None, panel);
        }
    };
    panel.openid_value = openid.to_string();
    let from = match state.client.get_user_group(&openid).await {
        Ok(from) => from,
        Err(error) => {
            if matches!(error.code(), Some(40003 | 46004 | 49003)) {
                panel.openid_error = Some(format!(
                    "{} {}",
                    error.title(chrome.lang),
                    error.explain(chrome.lang)
                ));
            }
            let notice = Notice::wechat(&error, chrome.lang);
            return answer.panel(upstream_status(&error), Some(notice), panel);
        }
    };
    panel.found = Some(found(&state, &openid, from));
    if from == to {
        let notice = Notice::success(chrome.t("members.already_there")).with_kind(NoticeKind::Info);
        return answer.panel(StatusCode::OK, Some(notice), panel);
    }
    if to == GroupId::BLACKLIST && input.confirm != "yes" {
        // Into the blacklist is destructive (the follower stops receiving messages): ask first.
        // The same step serves htmx (swapped into the panel) and a plain form (the whole page).
        panel.confirm_blacklist = true;
        return answer.panel(StatusCode::OK, None, panel);
    }
    send(&who, &chrome, answer, panel, openid, (from, to)).await
}

/// What is wrong with the OpenID and with the target group, each shown next to its field.
type FieldErrors = (Option<String>, Option<String>);

/// The OpenID and the target group, or what is wrong with them.
fn parse(
    chrome: &Chrome,
    panel: &MemberPanel,
    input: &MoveInput,
) -> Result<(OpenId, GroupId), FieldErrors> {
    let lang = chrome.lang;
    let openid = OpenId::parse(&input.openid).map_err(|e| e.message(lang));
    let to = GroupId::parse(&input.to_groupid)
        .map_err(|e| e.message(lang))
        .and_then(|id| match &panel.snapshot {
            // With a list in hand, a group it does not have is refused before WeChat sees it.
            Some(s) if s.find(id).is_none() => Err(chrome.t1("members.no_such_group", "id", id)),
            _ => Ok(id),
        });
    match (openid, to) {
        (Ok(o), Ok(t)) => Ok((o, t)),
        (o, t) => Err((o.err(), t.err())),
    }
}

/// The follower in `group`, named as the cached list names it.
fn found(state: &AppState, openid: &OpenId, group: GroupId) -> Found {
    Found {
        openid: openid.to_string(),
        group_id: group,
        group_name: name_of(state, group),
        tags: Vec::new(),
    }
}

fn name_of(state: &AppState, id: GroupId) -> Option<String> {
    let snapshot = state.groups.peek()?;
    snapshot.find(id).map(|g| g.name.clone())
}

/// Moves the follower (recorded in the audit log) and says how it went.
async fn send(
    who: &Who,
    chrome: &Chrome,
    answer: Answer<'_>,
    mut panel: MemberPanel,
    openid: OpenId,
    (from, to): (GroupId, GroupId),
) -> Result<Response, AppError> {
    let state = answer.state;
    let change = Change {
        action: "member_move",
        target: openid.to_string(),
        // "VIP客户 (101)": the name as it was at the time, and the id that does not change.
        before: Some(group_label(from, name_of(state, from))),
        after: Some(group_label(to, name_of(state, to))),
    };
    let call = state.client.move_user(&openid, to);
    if let Err(error) = audit::record(state, who, change, call).await? {
        tracing::warn!(to = %to, error = %error, "moving a follower failed");
        let notice = Notice::wechat(&error, chrome.lang);
        return answer.panel(upstream_status(&error), Some(notice), panel);
    }
    tracing::info!(operator = %who.actor.name, action = "member_move", from = %from, to = %to, "moved a follower");
    state.groups.moved(from, to, 1).await;
    crate::jobs::follower_moved(state, &openid, to).await;
    panel.snapshot = state.groups.peek();
    panel.found = Some(found(state, &openid, to));
    panel.moved = true;
    panel.to_value.clear();
    let text = rust_i18n::replace_patterns(
        &chrome.t("members.moved"),
        &["openid", "name", "id"],
        &[
            openid.to_string(),
            name_of(state, to).unwrap_or_default(),
            to.to_string(),
        ],
    );
    // The table rides along so the counts change on screen.
    let table = GroupsTable::new(chrome, state.groups.peek())
        .with_view(answer.list.clone())
        .out_of_band();
    let url = Flash::Moved { to, openid }.groups_url(&chrome.urls, &answer.list.query());
    answer
        .reply
        .notice(Notice::success(text))
        .swap(&panel)?
        .swap(&table)?
        .or_redirect(url)
}

fn group_label(id: GroupId, name: Option<String>) -> String {
    match name {
        Some(n) => format!("{n} ({id})"),
        None => id.to_string(),
    }
}
