//! `/groups/{id}/members`: who is in a group, as the last sync (and our own moves) saw it.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    auth::{CanChange, CanView},
    domain::{Api, GroupId, OpenId},
    groups::GroupInUrl,
    jobs::{TagOrder, create_job, create_tag_job},
    state::{AppState, Snapshot},
    store::{FollowerRow, SyncRow},
    web::{AppError, Chrome, Form, Notice, Notices, Query, html, urls::with_query},
    wechat::Group,
};

const PER_PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u32>,
    /// Why a move was not made (after the redirect).
    #[serde(default)]
    problem: Option<String>,
    /// Tags mode: where the live page of `user/tag/get` starts.
    #[serde(default)]
    after: String,
}

/// The problems a move form can come back with.
const PROBLEMS: [&str; 2] = ["members.list.choose_target", "members.list.none_ticked"];

/// A prefix is what an OpenID may contain; anything else matches nothing, so it is refused.
fn clean_prefix(q: &str) -> Result<String, ()> {
    let q = q.trim();
    if q.len() <= OpenId::MAX_LEN
        && q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(q.to_owned())
    } else {
        Err(())
    }
}

#[derive(Template)]
#[template(path = "followers/members.html")]
pub struct MembersPage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub group: Group,
    pub snapshot: Option<Arc<Snapshot>>,
    pub rows: Vec<FollowerRow>,
    pub matching: u64,
    pub q: String,
    pub q_error: Option<String>,
    pub page: u32,
    pub last_sync: Option<SyncRow>,
    /// Tags mode without a search: the rows are one page of `user/tag/get`, read live; `after`
    /// is where it started and `next` where the next one starts.
    pub live: Option<LivePage>,
}

/// Where a page of a tag's members read from WeChat starts, and where the next one does.
#[derive(Debug, Clone, Default)]
pub struct LivePage {
    pub after: Option<OpenId>,
    pub next: Option<OpenId>,
    /// WeChat did not answer: what it said instead.
    pub error: Option<String>,
}

impl MembersPage {
    fn targets(&self) -> Vec<&Group> {
        self.snapshot
            .as_ref()
            .map(|s| s.groups.iter().filter(|g| g.id != self.group.id).collect())
            .unwrap_or_default()
    }

    fn when(&self, us: &i64) -> String {
        if *us == 0 {
            // Read live and never stored by a sync: no time to show.
            return self.chrome.t("tags.members.not_synced");
        }
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }

    fn live_next_url(&self) -> Option<String> {
        let live = self.live.as_ref()?;
        // As for the blacklist: the first page says, with the tag's count, whether there is more.
        if live.after.is_none() && self.rows.len() as u64 >= self.group.count {
            return None;
        }
        let next = live.next.as_ref()?;
        let members = self.chrome.urls.group_members(self.group.id).to_string();
        Some(with_query(&members, &[("after", next.as_str())]))
    }

    fn live_first_url(&self) -> Option<String> {
        self.live.as_ref()?.after.as_ref()?;
        Some(self.chrome.urls.group_members(self.group.id).to_string())
    }

    fn pages(&self) -> u32 {
        u32::try_from(self.matching.div_ceil(u64::from(PER_PAGE)))
            .unwrap_or(u32::MAX)
            .max(1)
    }

    fn page_url(&self, page: u32) -> String {
        let members = self.chrome.urls.group_members(self.group.id).to_string();
        with_query(&members, &[("q", &self.q), ("page", &page.to_string())])
    }
}

/// `GET /groups/{id}/members?q=PREFIX&page=N`.
pub async fn page(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    GroupInUrl { group, snapshot }: GroupInUrl,
    Query(query): Query<MembersQuery>,
) -> Result<Response, AppError> {
    let (q, q_error) = match clean_prefix(&query.q) {
        Ok(q) => (q, None),
        Err(()) => (String::new(), Some(chrome.t("members.list.bad_prefix"))),
    };
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let store = &state.store;
    let tags = state.site.api == Api::Tags;
    let (matching, rows, live) = if tags && q.is_empty() && q_error.is_none() {
        let after = match query.after.trim() {
            "" => None,
            a => Some(OpenId::parse(a).map_err(|_| AppError::BadQuery("after".into()))?),
        };
        let (rows, live) = live_members(&state, &chrome, group.id, after).await?;
        (group.count, rows, Some(live))
    } else if tags {
        let matching = store.tag_member_count(group.id.get(), &q).await?;
        let rows = store
            .tag_members(group.id.get(), &q, page, PER_PAGE)
            .await?;
        (matching, rows, None)
    } else {
        let matching = store.group_member_count(group.id.get(), &q).await?;
        let rows = store
            .group_members(group.id.get(), &q, page, PER_PAGE)
            .await?;
        (matching, rows, None)
    };
    let status = if q_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut notices = Notices::default();
    if let Some(key) = query.problem.as_deref().filter(|p| PROBLEMS.contains(p)) {
        notices.push(Notice::error(
            chrome.t("members.list.not_moved"),
            chrome.t(key),
        ));
    }
    let view = MembersPage {
        chrome,
        notices,
        group,
        snapshot,
        rows,
        matching,
        q: if q_error.is_some() {
            query.q.clone()
        } else {
            q
        },
        q_error,
        page,
        last_sync: store.sync_last_done().await?,
        live,
    };
    Ok((status, html(&view)?).into_response())
}

/// One page of a tag's members straight from WeChat (`user/tag/get`), with the stored times.
async fn live_members(
    state: &AppState,
    chrome: &Chrome,
    tag: GroupId,
    after: Option<OpenId>,
) -> Result<(Vec<FollowerRow>, LivePage), AppError> {
    let page = match state.client.tag_members(tag, after.as_ref()).await {
        Ok(page) => page,
        Err(e) => {
            let error = Some(format!(
                "{} {}",
                e.title(chrome.lang),
                e.explain(chrome.lang)
            ));
            let live = LivePage {
                after,
                next: None,
                error,
            };
            return Ok((Vec::new(), live));
        }
    };
    let ids: Vec<&str> = page.openids.iter().map(OpenId::as_str).collect();
    let confirmed = state.store.followers_confirmed(&ids).await?;
    let rows = page
        .openids
        .iter()
        .map(|o| FollowerRow {
            openid: o.to_string(),
            group_id: 0,
            confirmed_at: confirmed.get(o.as_str()).copied().unwrap_or(0),
        })
        .collect();
    let live = LivePage {
        after,
        next: page.next,
        error: None,
    };
    Ok((rows, live))
}

/// `POST /groups/{id}/members/move`: the ticked OpenIDs (or every member matching the search,
/// with `all=1`) go to another group, as a batch job. Answers with the job's page.
pub async fn move_selected(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    GroupInUrl { group, snapshot }: GroupInUrl,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut ticked = Vec::new();
    let (mut all, mut q, mut to, mut action) = (false, String::new(), String::new(), String::new());
    for (k, v) in fields {
        match k.as_str() {
            "openid" => ticked.push(v),
            "all" => all = v == "1",
            "q" => q = v,
            "to_groupid" => to = v,
            "action" => action = v,
            _ => {}
        }
    }
    // Redirect-after-post back to the list, which says what was missing.
    let back = |key: &str| -> Result<Response, AppError> {
        let members = chrome.urls.group_members(group.id).to_string();
        let to = with_query(&members, &[("q", &q), ("problem", key)]);
        Ok(Redirect::to(&to).into_response())
    };
    let tags = state.site.api == Api::Tags;
    // Tags: give the ticked tag B, take this tag away, or replace this tag with B.
    let order = if tags {
        let from = group.id.to_string();
        let parsed = TagOrder::parse(&chrome, (&action, &from, &to), snapshot.as_deref());
        match parsed {
            Ok(order) => Some(order),
            Err(_) => return back("members.list.choose_target"),
        }
    } else {
        None
    };
    let target = match GroupId::parse(&to) {
        Ok(to) if to != group.id && snapshot.as_deref().is_some_and(|s| s.find(to).is_some()) => {
            Some(to)
        }
        _ if order.is_some() => None,
        _ => return back("members.list.choose_target"),
    };
    let openids: Vec<OpenId> = if all {
        let prefix = clean_prefix(&q).unwrap_or_default();
        let stored = if tags {
            state
                .store
                .tag_member_openids(group.id.get(), &prefix)
                .await?
        } else {
            state
                .store
                .group_member_openids(group.id.get(), &prefix)
                .await?
        };
        stored
            .iter()
            .filter_map(|o| OpenId::parse(o).ok())
            .collect()
    } else {
        let mut seen = std::collections::HashSet::new();
        ticked
            .iter()
            .filter_map(|o| OpenId::parse(o).ok())
            .filter(|o| seen.insert(o.as_str().to_owned()))
            .collect()
    };
    if openids.is_empty() {
        return back("members.list.none_ticked");
    }
    let job = match (order, target) {
        (Some(order), _) => {
            let origin = format!("tag:{}", group.id);
            create_tag_job(&state, &who, order, &openids, &origin).await?
        }
        (None, Some(to)) => {
            let origin = format!("group:{}", group.id);
            create_job(&state, &who, to, &openids, &origin).await?
        }
        (None, None) => return back("members.list.choose_target"),
    };
    Ok(Redirect::to(&chrome.urls.job(job)).into_response())
}
