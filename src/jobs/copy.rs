//! Copying groups into tags (tags mode, for an account moving from groups to tags while both
//! APIs answer): the preview of what would be done.
//!
//! The group list is read from WeChat (`groups/get`: in tags mode the cache holds the tags);
//! each custom group (id 100 and up) gets the tag of the same name, the list's if there is one,
//! else one the job creates; its members are the follower sync's stored groups. A name that
//! cannot be a tag's (more than 30 bytes, for one) is listed with why and skipped. The preview
//! says how many calls it will take, honestly: a create per tag to make plus a call per 50
//! members of each group (more only where WeChat refuses some OpenIDs and the chunk is
//! narrowed). If the groups API answers 48001 (not available for this account), it says so.
//! Nothing is sent until the preview is confirmed (`queue.rs`); the job is `worker.rs`'s.

use std::collections::HashSet;

use askama::Template;
use axum::{extract::State, response::Response};

use crate::{
    auth::CanChange,
    domain::{Api, GroupName},
    jobs::panel::in_panel,
    state::{AppState, Snapshot},
    store::{CHUNK, CopyGroup},
    web::{AppError, Chrome, HxRequest, Reply},
    wechat::{Group, WeChatError},
};

/// What a copy would do, or why it cannot be planned.
#[derive(Template)]
#[template(path = "jobs/_copy_preview.html")]
pub struct CopyPreview {
    pub chrome: Chrome,
    /// The draft job (none when there is nothing to copy or the group list cannot be read).
    pub job_id: Option<i64>,
    pub groups: Vec<CopyGroup>,
    /// Why the group list cannot be read.
    pub error: Option<String>,
    /// The follower table is empty: the members come from a follower sync.
    pub never_synced: bool,
}

impl CopyPreview {
    fn copied(&self) -> impl Iterator<Item = &CopyGroup> {
        self.groups.iter().filter(|g| g.copied())
    }

    fn members(&self) -> u64 {
        self.copied().map(|g| g.members).sum()
    }

    /// Distinct tags the copy ends with, and how many of them it creates.
    fn tags(&self) -> (usize, usize) {
        let names: HashSet<&str> = self.copied().map(|g| g.name.as_str()).collect();
        let created: HashSet<&str> = self
            .copied()
            .filter(|g| g.listed_tag.is_none())
            .map(|g| g.name.as_str())
            .collect();
        (names.len(), created.len())
    }

    /// Creates plus a call per 50 members of each group.
    fn calls(&self) -> u64 {
        let chunks: u64 = self
            .copied()
            .map(|g| g.members.div_ceil(CHUNK as u64))
            .sum();
        self.tags().1 as u64 + chunks
    }

    fn summary(&self) -> String {
        let (tags, _) = self.tags();
        let n = |v: u64| self.chrome.num(v).to_string();
        rust_i18n::replace_patterns(
            &self.chrome.t("jobs.copy.summary"),
            &["groups", "tags", "members", "calls"],
            &[
                n(self.copied().count() as u64),
                n(tags as u64),
                n(self.members()),
                n(self.calls()),
            ],
        )
    }

    /// Where a group's members go: the listed tag, or a new one.
    fn tag_label(&self, g: &CopyGroup) -> String {
        match g.listed_tag {
            Some(id) => format!("{} ({id})", g.name),
            None => self.chrome.t1("jobs.copy.new_tag", "name", &g.name),
        }
    }

    /// Why a group is skipped, in the viewer's language (its name is kept, so the rule it
    /// breaks is found again).
    fn skip_reason(&self, g: &CopyGroup) -> String {
        skip_reason(&self.chrome, g)
    }
}

/// Why `g` is not copied, in the viewer's language; empty when it is.
pub fn skip_reason(chrome: &Chrome, g: &CopyGroup) -> String {
    match GroupName::parse_for(Api::Tags, &g.name) {
        Err(e) if g.skipped.is_some() => e.message_in(chrome.lang, Api::Tags),
        _ => String::new(),
    }
}

/// `POST /jobs/copy-groups`: reads the group list and shows what copying it into tags would do.
/// Nothing is sent: the plan is kept as a draft job until it is confirmed.
pub async fn preview(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
) -> Result<Response, AppError> {
    if state.site.api != Api::Tags {
        return Err(AppError::NotFound);
    }
    let mut preview = CopyPreview {
        chrome: chrome.clone(),
        job_id: None,
        groups: Vec::new(),
        error: None,
        never_synced: state.store.follower_count().await? == 0,
    };
    let groups = match state.client.get_list(Api::Groups).await {
        Ok(groups) => groups,
        Err(e) => {
            preview.error = Some(unavailable(&chrome, &e));
            return in_panel(&state, chrome, Reply::new(hx), preview.render()?).await;
        }
    };
    let tags = state.groups.view(&state.client).await.snapshot;
    let (plan, members) = plan(&state, &groups, tags.as_deref()).await?;
    if plan.iter().any(CopyGroup::copied) {
        let job = who.new_job(0, "groups");
        preview.job_id = Some(state.store.job_create_copy(&job, &plan, &members).await?);
    }
    preview.groups = plan;
    in_panel(&state, chrome, Reply::new(hx), preview.render()?).await
}

/// Each custom group with its tag (listed or to be made) and its stored members; a skipped
/// group has no members in the list.
async fn plan(
    state: &AppState,
    groups: &[Group],
    tags: Option<&Snapshot>,
) -> Result<(Vec<CopyGroup>, Vec<Vec<String>>), AppError> {
    let (mut plan, mut members) = (Vec::new(), Vec::new());
    for g in groups.iter().filter(|g| g.id.get() >= 100) {
        let stored = state.store.group_member_openids(g.id.get(), "").await?;
        let ok = GroupName::parse_for(Api::Tags, &g.name).is_ok();
        plan.push(CopyGroup {
            group_id: g.id.get(),
            name: g.name.clone(),
            members: stored.len() as u64,
            listed_tag: tags
                .and_then(|t| t.find_by_name(&g.name))
                .map(|t| t.id.get())
                .filter(|_| ok),
            tag_id: None,
            created: false,
            skipped: (!ok).then(|| "name".to_owned()),
            errcode: None,
            error: None,
        });
        members.push(if ok { stored } else { Vec::new() });
    }
    Ok((plan, members))
}

/// Why the group list cannot be read: 48001 said in words of the copy, anything else as WeChat
/// said it.
fn unavailable(chrome: &Chrome, e: &WeChatError) -> String {
    match e.code() {
        Some(48001) => chrome.t("jobs.copy.groups_unavailable"),
        _ => format!("{} — {}", e.title(chrome.lang), e.explain(chrome.lang)),
    }
}
