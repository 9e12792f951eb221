//! The tags API, one follower: add a tag, remove one, or replace tag A with tag B.
//!
//! The follower's tags are read first (`tags/getidlist`), so that what can be decided here is:
//! adding a tag they carry or removing one they do not is said and not sent; a 21st tag (45059)
//! is refused before WeChat sees it; a move needs A carried and B different.
//!
//! A move is two calls, untag A then tag B (untagging first frees a slot for a follower at 20
//! tags). If the second fails, the follower carries neither: the answer says exactly that, and
//! shows the tags they are left with.

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
    web::{
        AppError, Chrome, Flash, Form, HxRequest, Notice, NoticeKind, Reply, TagChange,
        upstream_status,
    },
    wechat::{Tagging, WeChatError},
};

#[derive(Debug, Deserialize)]
pub struct TagInput {
    #[serde(default)]
    openid: String,
    /// `add`, `remove` or `move`.
    #[serde(default)]
    action: String,
    /// The tag to add or remove; the "to" of a move.
    #[serde(default)]
    tag: String,
    /// The "from" of a move.
    #[serde(default)]
    from: String,
}

/// What the operator asked for, checked against the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Add(GroupId),
    Remove(GroupId),
    Move { from: GroupId, to: GroupId },
}

/// `POST /members/tags`.
pub async fn change(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    CarriedView(list): CarriedView,
    Form(input): Form<TagInput>,
) -> Result<Response, AppError> {
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut panel = MemberPanel::new(&chrome, snapshot);
    panel.openid_value = input.openid.clone();
    panel.to_value = input.tag.trim().to_owned();
    panel.from_value = input.from.trim().to_owned();
    let answer = Answer {
        state: &state,
        reply: Reply::new(hx),
        list,
    };
    let (openid, wanted) = match parse(&chrome, &panel, &input) {
        Ok(parsed) => parsed,
        Err((openid_error, tag_error)) => {
            panel.openid_error = openid_error;
            panel.tag_error = tag_error;
            return answer.panel(StatusCode::UNPROCESSABLE_ENTITY, None, panel);
        }
    };
    panel.openid_value = openid.to_string();
    let tags = match state.client.tags_of(&openid).await {
        Ok(tags) => tags,
        Err(error) => return answer.refused_by_wechat(panel, &error),
    };
    panel.found = Some(Found::with_tags(
        openid.as_str(),
        &tags,
        panel.snapshot.as_deref(),
    ));
    if let Some((status, notice)) = decided_here(&chrome, &panel, wanted) {
        if status != StatusCode::OK {
            panel.tag_error = Some(notice.detail.clone().unwrap_or_default());
        }
        return answer.panel(status, Some(notice), panel);
    }
    send(&who, &chrome, answer, panel, (openid, tags), wanted).await
}

type FieldErrors = (Option<String>, Option<String>);

/// The OpenID and the change, or what is wrong with them (each shown next to its field).
fn parse(
    chrome: &Chrome,
    panel: &MemberPanel,
    input: &TagInput,
) -> Result<(OpenId, Wanted), FieldErrors> {
    let openid = OpenId::parse(&input.openid).map_err(|e| e.message(chrome.lang));
    let listed = |value: &str| -> Result<GroupId, String> {
        let id = GroupId::parse(value).map_err(|e| e.message_in(chrome.lang, chrome.api))?;
        match &panel.snapshot {
            Some(s) if s.find(id).is_none() => Err(chrome.t1("tags.member.no_such_tag", "id", id)),
            _ => Ok(id),
        }
    };
    let wanted = match input.action.as_str() {
        "add" => listed(&input.tag).map(Wanted::Add),
        "remove" => listed(&input.tag).map(Wanted::Remove),
        "move" => listed(&input.from).and_then(|from| {
            let to = listed(&input.tag)?;
            if from == to {
                return Err(chrome.t("tags.member.same_tag"));
            }
            Ok(Wanted::Move { from, to })
        }),
        _ => Err(chrome.t("tags.member.bad_action")),
    };
    match (openid, wanted) {
        (Ok(o), Ok(w)) => Ok((o, w)),
        (o, w) => Err((o.err(), w.err())),
    }
}

/// What the follower's tags already settle: nothing to send, or a change WeChat would refuse.
fn decided_here(
    chrome: &Chrome,
    panel: &MemberPanel,
    wanted: Wanted,
) -> Option<(StatusCode, Notice)> {
    let found = panel.found.as_ref()?;
    let name = |id: GroupId| tag_label(panel, id);
    let info = |text: String| {
        Some((
            StatusCode::OK,
            Notice::success(text).with_kind(NoticeKind::Info),
        ))
    };
    let refuse = |text: String| {
        let notice = Notice::error(chrome.t("tags.member.not_changed"), text);
        Some((StatusCode::UNPROCESSABLE_ENTITY, notice))
    };
    match wanted {
        Wanted::Add(tag) if found.carries(tag) => {
            info(chrome.t1("tags.member.already_tagged", "name", name(tag)))
        }
        Wanted::Add(_) if found.full() => refuse(chrome.t("tags.member.full")),
        Wanted::Remove(tag) if !found.carries(tag) => {
            info(chrome.t1("tags.member.not_tagged", "name", name(tag)))
        }
        Wanted::Move { from, .. } if !found.carries(from) => {
            refuse(chrome.t1("tags.member.move_not_carried", "name", name(from)))
        }
        _ => None,
    }
}

/// Sends the change (recorded as one audit row) and answers with the follower's tags as they
/// now are.
async fn send(
    who: &Who,
    chrome: &Chrome,
    answer: Answer<'_>,
    mut panel: MemberPanel,
    (openid, before): (OpenId, Vec<GroupId>),
    wanted: Wanted,
) -> Result<Response, AppError> {
    let state = answer.state;
    let mut untagged = false;
    let change = audit_change(&panel, &openid, wanted);
    let call = apply(state, &openid, wanted, &mut untagged);
    let result = audit::record(state, who, change, call).await?;
    let after = tags_after(&before, wanted, result.is_ok(), untagged);
    note_in_cache_and_store(state, &openid, wanted, result.is_ok(), untagged).await;
    panel.snapshot = state.groups.peek();
    panel.found = Some(Found::with_tags(
        openid.as_str(),
        &after,
        panel.snapshot.as_deref(),
    ));
    if let Err(error) = result {
        tracing::warn!(error = %error, "changing a follower's tags failed");
        let notice = failure_notice(chrome, &panel, wanted, untagged, &error);
        return answer.panel(upstream_status(&error), Some(notice), panel);
    }
    tracing::info!(operator = %who.actor.name, action = action_of(wanted), "changed a follower's tags");
    panel.moved = true;
    panel.to_value.clear();
    panel.from_value.clear();
    let text = success_text(chrome, &panel, &openid, wanted);
    let table = GroupsTable::new(chrome, state.groups.peek())
        .with_view(answer.list.clone())
        .out_of_band();
    let change = match wanted {
        Wanted::Add(t) => TagChange::Added(t),
        Wanted::Remove(t) => TagChange::Removed(t),
        Wanted::Move { from, to } => TagChange::Replaced { from, to },
    };
    let url = Flash::Tagged { openid, change }.groups_url(&chrome.urls, &answer.list.query());
    answer
        .reply
        .notice(Notice::success(text))
        .swap(&panel)?
        .swap(&table)?
        .or_redirect(url)
}

/// The upstream calls of `wanted`; `untagged` is set once a move's first step went through.
async fn apply(
    state: &AppState,
    openid: &OpenId,
    wanted: Wanted,
    untagged: &mut bool,
) -> Result<(), WeChatError> {
    let one = std::slice::from_ref(openid);
    match wanted {
        Wanted::Add(tag) => state.client.tag_users(Tagging::Tag, one, tag).await,
        Wanted::Remove(tag) => state.client.tag_users(Tagging::Untag, one, tag).await,
        Wanted::Move { from, to } => {
            state.client.tag_users(Tagging::Untag, one, from).await?;
            *untagged = true;
            state.client.tag_users(Tagging::Tag, one, to).await
        }
    }
}

/// The follower's tags after the calls, as far as WeChat's answers tell.
fn tags_after(before: &[GroupId], wanted: Wanted, ok: bool, untagged: bool) -> Vec<GroupId> {
    let mut tags = before.to_vec();
    match wanted {
        Wanted::Add(tag) if ok => tags.push(tag),
        Wanted::Remove(tag) if ok => tags.retain(|&t| t != tag),
        Wanted::Move { from, to } => {
            if untagged {
                tags.retain(|&t| t != from);
            }
            if ok && !tags.contains(&to) {
                tags.push(to);
            }
        }
        _ => {}
    }
    tags.sort_unstable_by_key(|t| t.get());
    tags
}

/// The cached list's counts and the stored follower follow every step WeChat confirmed.
async fn note_in_cache_and_store(
    state: &AppState,
    openid: &OpenId,
    wanted: Wanted,
    ok: bool,
    untagged: bool,
) {
    let mut steps = Vec::new();
    match wanted {
        Wanted::Add(tag) if ok => steps.push((tag, true)),
        Wanted::Remove(tag) if ok => steps.push((tag, false)),
        Wanted::Move { from, to } => {
            if untagged {
                steps.push((from, false));
            }
            if ok {
                steps.push((to, true));
            }
        }
        _ => {}
    }
    for (tag, added) in steps {
        state.groups.tag_count_changed(tag, 1, added).await;
        let stored = if added {
            state
                .store
                .followers_tagged(&[openid.as_str()], tag.get())
                .await
        } else {
            state
                .store
                .followers_untagged(&[openid.as_str()], tag.get())
                .await
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "cannot store a follower's new tags");
        }
    }
}

fn action_of(wanted: Wanted) -> &'static str {
    match wanted {
        Wanted::Add(_) => "follower_tag",
        Wanted::Remove(_) => "follower_untag",
        Wanted::Move { .. } => "follower_retag",
    }
}

fn audit_change(panel: &MemberPanel, openid: &OpenId, wanted: Wanted) -> Change {
    let label = |id| tag_label(panel, id);
    let (before, after) = match wanted {
        Wanted::Add(tag) => (None, Some(label(tag))),
        Wanted::Remove(tag) => (Some(label(tag)), None),
        Wanted::Move { from, to } => (Some(label(from)), Some(label(to))),
    };
    Change {
        action: action_of(wanted),
        target: openid.to_string(),
        before,
        after,
    }
}

/// "VIP (101)": the tag's name as the list has it, and its id.
fn tag_label(panel: &MemberPanel, id: GroupId) -> String {
    match panel.snapshot.as_ref().and_then(|s| s.find(id)) {
        Some(g) => format!("{} ({id})", g.name),
        None => id.to_string(),
    }
}

fn success_text(chrome: &Chrome, panel: &MemberPanel, openid: &OpenId, wanted: Wanted) -> String {
    let (key, names) = match wanted {
        Wanted::Add(tag) => ("tags.member.added", vec![tag_label(panel, tag)]),
        Wanted::Remove(tag) => ("tags.member.removed", vec![tag_label(panel, tag)]),
        Wanted::Move { from, to } => (
            "tags.member.moved",
            vec![tag_label(panel, from), tag_label(panel, to)],
        ),
    };
    let mut values = vec![openid.to_string()];
    values.extend(names);
    rust_i18n::replace_patterns(&chrome.t(key), &["openid", "a", "b"], &values)
}

/// What went wrong, and for a move whose second step failed, the state the follower is in.
fn failure_notice(
    chrome: &Chrome,
    panel: &MemberPanel,
    wanted: Wanted,
    untagged: bool,
    error: &WeChatError,
) -> Notice {
    let mut notice = Notice::wechat(error, chrome.lang);
    if let (Wanted::Move { from, to }, true) = (wanted, untagged) {
        notice.title = chrome.t("tags.member.half_moved_title");
        let state_now = rust_i18n::replace_patterns(
            &chrome.t("tags.member.half_moved"),
            &["a", "b", "cause"],
            &[
                tag_label(panel, from),
                tag_label(panel, to),
                error.fault(chrome.lang),
            ],
        );
        notice.detail = Some(state_now);
    }
    notice
}

impl Answer<'_> {
    /// WeChat would not say the follower's tags: an OpenID it refuses goes next to the field.
    fn refused_by_wechat(
        self,
        mut panel: MemberPanel,
        error: &WeChatError,
    ) -> Result<Response, AppError> {
        let lang = panel.chrome.lang;
        if matches!(error.code(), Some(40003 | 46004 | 49003)) {
            panel.openid_error = Some(format!("{} {}", error.title(lang), error.explain(lang)));
        }
        let notice = Notice::wechat(error, lang);
        self.panel(upstream_status(error), Some(notice), panel)
    }
}
