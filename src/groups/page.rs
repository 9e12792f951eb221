//! The groups page: every group with its count, the total, when the list was fetched.
//!
//! The page is also the operator's dashboard: it wraps the group table, the create form and the
//! follower panel, each of which htmx can swap on its own.

use std::{
    cell::OnceCell,
    fmt,
    sync::{Arc, LazyLock},
};

use askama::Template;
use axum::{
    body::Body,
    extract::{Query, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use bytes::Bytes;
use serde::Deserialize;

use crate::{
    auth::CanView,
    domain::{GroupId, GroupName, OpenId},
    groups::{
        Snapshot, View,
        create::CreateForm,
        listing::{CarriedView, ListView, SortKey},
        rows::{RowText, RowsHtml},
    },
    members::MemberPanel,
    web::{AppError, AppState, Chrome, HxRequest, Notice, NoticeKind, Notices, body::Parts},
};

/// The table of groups with its summary line. `oob` marks it for an out-of-band swap when it
/// rides along with another fragment (after a create or a move, the counts change).
#[derive(Template)]
#[template(path = "groups/_table.html")]
pub struct GroupsTable {
    pub chrome: Chrome,
    pub snapshot: Option<Arc<Snapshot>>,
    /// The row being renamed, on the no-JavaScript page.
    pub edit: Option<crate::groups::rename::RenameRow>,
    /// A row to draw attention to (just created or renamed).
    pub highlight: Option<GroupId>,
    pub oob: bool,
    /// The filter and sort in force.
    pub view: ListView,
    /// Only the results (summary, table or empty state): what the filter and the sort links swap.
    pub fragment: bool,
    /// Set by [`render_page`]: the cached rows are put here instead of into the page's text,
    /// and sent as a part of their own.
    aside: Option<OnceCell<Bytes>>,
}

/// The rows from the snapshot's rendered copy: written into the page, or set aside (see
/// [`render_page`]) with a marker left where they go.
struct CachedRows<'a> {
    html: RowsHtml,
    aside: Option<&'a OnceCell<Bytes>>,
}

impl fmt::Display for CachedRows<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.aside {
            Some(cell) if cell.set(self.html.bytes()).is_ok() => f.write_str(rows_marker()),
            _ => f.write_str(self.html.as_str()),
        }
    }
}

/// Marks where the set-aside rows go. Random per process, so no text on the page (a group name,
/// an operator's input echoed back) can be mistaken for it.
fn rows_marker() -> &'static str {
    static MARKER: LazyLock<String> =
        LazyLock::new(|| format!("<!--rows {:032x}-->", rand::random::<u128>()));
    &MARKER
}

impl GroupsTable {
    pub fn new(chrome: &Chrome, snapshot: Option<Arc<Snapshot>>) -> Self {
        GroupsTable {
            chrome: chrome.clone(),
            snapshot,
            edit: None,
            highlight: None,
            oob: false,
            view: ListView::default(),
            fragment: false,
            aside: None,
        }
    }

    /// The same table, filtered and sorted as `view` says.
    pub fn with_view(mut self, view: ListView) -> Self {
        self.view = view;
        self
    }

    fn row_text(&self) -> RowText {
        RowText::new(&self.chrome)
    }

    /// No group to show: the list is empty, or the filter matches none.
    fn nothing_shown(&self, s: &Snapshot) -> bool {
        !s.groups.iter().any(|g| self.view.matches(g))
    }

    /// The groups to show, filtered and in order.
    fn rows<'a>(&self, s: &'a Snapshot) -> Vec<&'a crate::wechat::Group> {
        self.view.apply(&s.groups)
    }

    fn key(name: &str) -> SortKey {
        match name {
            "name" => SortKey::Name,
            "count" => SortKey::Count,
            _ => SortKey::Id,
        }
    }

    /// The link a column header sorts with.
    fn sort_href(&self, column: &str) -> String {
        self.view
            .sorted_by(Self::key(column))
            .url(&self.chrome.urls.groups())
    }

    fn aria_sort(&self, column: &str) -> &'static str {
        self.view.aria_sort(Self::key(column)).unwrap_or("")
    }

    /// The arrow after a sorted column's name.
    fn sort_mark(&self, column: &str) -> &'static str {
        match self.view.aria_sort(Self::key(column)) {
            Some("ascending") => "↑",
            Some(_) => "↓",
            None => "",
        }
    }

    /// The whole list again, in the same order.
    fn clear_href(&self) -> String {
        self.view.unfiltered().url(&self.chrome.urls.groups())
    }

    /// What the filter's live region says: how many groups match, when filtering.
    fn filter_status(&self) -> String {
        match (&self.snapshot, self.view.is_filtered()) {
            (Some(s), true) => {
                let shown = s.groups.iter().filter(|g| self.view.matches(g)).count();
                self.chrome.t2(
                    "groups.filter.status",
                    "shown",
                    shown,
                    "all",
                    s.groups.len(),
                )
            }
            _ => String::new(),
        }
    }

    /// The total of the rows shown (all followers when not filtering).
    fn shown_total(&self, s: &Snapshot) -> u64 {
        if !self.view.is_filtered() {
            return s.total_followers();
        }
        s.groups
            .iter()
            .filter(|g| self.view.matches(g))
            .map(|g| g.count)
            .sum()
    }

    pub fn max_groups(&self) -> usize {
        crate::groups::create::MAX_GROUPS
    }

    /// The rows, from the snapshot's rendered copy when the list is shown as it comes (no filter,
    /// sorted by id) and no row is marked or being edited.
    fn plain_rows(&self, s: &Snapshot) -> Option<CachedRows<'_>> {
        if self.edit.is_some() || self.highlight.is_some() || !self.view.query().is_empty() {
            return None;
        }
        let html = s.rows.get(&self.chrome, &s.groups).ok()?;
        Some(CachedRows {
            html,
            aside: self.aside.as_ref(),
        })
    }

    fn is_highlight(&self, id: impl std::borrow::Borrow<GroupId>) -> bool {
        self.highlight == Some(*id.borrow())
    }
}

/// The whole page.
#[derive(Template)]
#[template(path = "groups/page.html")]
pub struct GroupsPage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub table: GroupsTable,
    pub create: CreateForm,
    pub member: MemberPanel,
}

/// What a plain form post just did, carried by the redirect so the page can say so.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub openid: Option<String>,
    #[serde(default)]
    pub edit: Option<String>,
}

impl Done {
    /// The success message for the redirect after a plain form post.
    fn notice(&self, chrome: &Chrome, snapshot: Option<&Snapshot>) -> Option<Notice> {
        let group = || {
            let id = GroupId::parse(self.id.as_deref()?).ok()?;
            snapshot?.find(id).cloned()
        };
        let text = match self.done.as_deref()? {
            "refreshed" => chrome.t("groups.refreshed"),
            "created" => {
                let g = group()?;
                chrome.t2("groups.created", "name", &g.name, "id", g.id)
            }
            "renamed" => {
                let g = group()?;
                chrome.t2("groups.renamed", "name", &g.name, "id", g.id)
            }
            // The group is gone from the list by now: only its id is left to say.
            "deleted" => chrome.t1(
                "groups.deleted_id",
                "id",
                GroupId::parse(self.id.as_deref()?).ok()?,
            ),
            "moved" => {
                let g = group()?;
                let openid = OpenId::parse(self.openid.as_deref()?).ok()?;
                rust_i18n::replace_patterns(
                    &chrome.t("members.moved"),
                    &["openid", "name", "id"],
                    &[openid.to_string(), g.name.clone(), g.id.to_string()],
                )
            }
            _ => return None,
        };
        Some(Notice::success(text))
    }
}

/// Turns a failed refresh into the message the page shows above the (possibly stale) list.
pub fn view_notice(chrome: &Chrome, view: &View) -> Option<Notice> {
    let error = view.error.as_ref()?;
    let mut n = Notice::wechat(error, chrome.lang);
    if let Some(s) = &view.snapshot {
        n.kind = NoticeKind::Warning;
        n.detail = Some(format!(
            "{} {}",
            n.detail.unwrap_or_default(),
            chrome.t1("groups.showing_cached", "time", chrome.time(s.fetched_at))
        ));
    }
    Some(n)
}

/// Renders the full page around whatever state the handler has.
///
/// When the table shows the snapshot's cached rows, they are not copied into the page: the page
/// is rendered around a marker and sent as three parts, the text before the rows, the shared
/// rows, the text after.
pub fn render_page(mut page: GroupsPage, status: StatusCode) -> Result<Response, AppError> {
    page.table.aside = Some(OnceCell::new());
    let mut html = String::with_capacity(32 * 1024);
    page.render_into(&mut html)?;
    let rows = page.table.aside.take().and_then(|mut c| c.take());
    let marker = rows_marker();
    let body = match rows.zip(html.find(marker)) {
        Some((rows, at)) => {
            let after = Bytes::copy_from_slice(&html.as_bytes()[at + marker.len()..]);
            html.truncate(at);
            Body::new(Parts::new([Bytes::from(html), rows, after]))
        }
        None => Body::from(html),
    };
    Ok((
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response())
}

/// `GET /groups`: the dashboard. `?openid=` also looks a follower up; `?edit=` opens a rename
/// form (both for browsers without JavaScript). `?q=&sort=&dir=` filter and sort the list;
/// htmx asks for only the results then (`HX-Target: groups-results`).
pub async fn show(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(done): Query<Done>,
) -> Result<Response, AppError> {
    let list = ListView::from_query(raw.as_deref());
    let view = state.groups.view(&state.client).await;
    let results_only = hx
        && headers
            .get("hx-target")
            .is_some_and(|t| t.as_bytes() == b"groups-results");
    if results_only {
        let mut table = GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list);
        table.fragment = true;
        return Ok(Html(table.render()?).into_response());
    }
    let mut notices = Notices::default();
    if let Some(n) = view_notice(&chrome, &view) {
        notices.push(n);
    }
    if let Some(n) = done.notice(&chrome, view.snapshot.as_deref()) {
        notices.push(n);
    }
    let mut table = GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list);
    let editing = done.edit.as_deref().and_then(|e| GroupId::parse(e).ok());
    if let Some(g) = editing.and_then(|id| view.snapshot.as_ref()?.find(id).cloned())
        && !g.id.is_system()
        && chrome.can_change()
    {
        table.edit = Some(crate::groups::rename::RenameRow::new(&chrome, g));
    }
    if done.done.is_some() {
        table.highlight = done.id.as_deref().and_then(|i| GroupId::parse(i).ok());
    }
    let mut member = MemberPanel::new(&chrome, view.snapshot.clone());
    let mut status = StatusCode::OK;
    if let Some(openid) = done.openid.as_deref() {
        member = crate::members::lookup_into(&state, member, openid).await;
        if member.has_error() {
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
    }
    let create = CreateForm::new(&chrome, view.snapshot.as_deref());
    render_page(
        GroupsPage {
            chrome,
            notices,
            table,
            create,
            member,
        },
        status,
    )
}

/// `POST /groups/refresh`: the operator's "refresh from WeChat".
pub async fn refresh(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    CarriedView(list): CarriedView,
) -> Result<Response, AppError> {
    let view = state.groups.refresh(&state.client).await;
    let failed = view.error.is_some();
    if !hx && !failed {
        return Ok(Redirect::to(&format!(
            "{}?done=refreshed{}",
            chrome.urls.groups(),
            list.and_query()
        ))
        .into_response());
    }
    let notice = view_notice(&chrome, &view)
        .unwrap_or_else(|| Notice::success(chrome.t("groups.refreshed")));
    let status = view
        .error
        .as_ref()
        .map_or(StatusCode::OK, crate::web::upstream_status);
    if hx {
        let table = GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list);
        let html = format!(
            "{}{}",
            table.render()?,
            Notices::one(notice).oob().render()?
        );
        return Ok((status, Html(html)).into_response());
    }
    let page = GroupsPage {
        notices: Notices::one(notice),
        table: GroupsTable::new(&chrome, view.snapshot.clone()).with_view(list),
        create: CreateForm::new(&chrome, view.snapshot.as_deref()),
        member: MemberPanel::new(&chrome, view.snapshot.clone()),
        chrome,
    };
    render_page(page, status)
}

/// Whether `name` is taken by a group other than `except`, per the cached list.
pub fn name_taken(
    snapshot: Option<&Snapshot>,
    name: &GroupName,
    except: Option<GroupId>,
) -> Option<GroupId> {
    snapshot?
        .groups
        .iter()
        .find(|g| g.name == name.as_str() && Some(g.id) != except)
        .map(|g| g.id)
}
