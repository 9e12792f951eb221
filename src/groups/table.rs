//! The table of groups with its summary line, filter and sort: what the operator sees first.

use std::{
    cell::OnceCell,
    fmt,
    sync::{Arc, LazyLock},
};

use askama::Template;
use bytes::Bytes;

use crate::{
    domain::GroupId,
    groups::{
        listing::{ListView, SortKey},
        rows::{RenameRow, RowText, cached_rows},
    },
    state::{RowsHtml, Snapshot},
    web::Chrome,
    wechat::Group,
};

/// The table of groups with its summary line. `oob` marks it for an out-of-band swap when it
/// rides along with another fragment (after a create or a move, the counts change).
#[derive(Template)]
#[template(path = "groups/_table.html")]
pub struct GroupsTable {
    pub chrome: Chrome,
    pub snapshot: Option<Arc<Snapshot>>,
    /// The row being renamed, on the no-JavaScript page.
    pub edit: Option<RenameRow>,
    /// A row to draw attention to (just created or renamed).
    pub highlight: Option<GroupId>,
    pub oob: bool,
    /// The filter and sort in force.
    pub view: ListView,
    /// Only the results (summary, table or empty state): what the filter and the sort links swap.
    pub fragment: bool,
    /// Set by [`render_page`]: the cached rows are put here instead of into the page's text,
    /// and sent as a part of their own.
    pub(super) aside: Option<OnceCell<Bytes>>,
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
pub(super) fn rows_marker() -> &'static str {
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

    /// Marked to ride along with another fragment (after a create, a move or a delete the
    /// counts change).
    pub fn out_of_band(mut self) -> Self {
        self.oob = true;
        self
    }

    /// With one row drawn attention to (just created or renamed).
    pub fn highlighting(mut self, id: GroupId) -> Self {
        self.highlight = Some(id);
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
    fn rows<'a>(&self, s: &'a Snapshot) -> Vec<&'a Group> {
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
        self.chrome.api.max_entries()
    }

    /// The rows, from the snapshot's rendered copy when the list is shown as it comes (no filter,
    /// sorted by id) and no row is marked or being edited.
    fn plain_rows(&self, s: &Snapshot) -> Option<CachedRows<'_>> {
        if self.edit.is_some() || self.highlight.is_some() || !self.view.query().is_empty() {
            return None;
        }
        let html = cached_rows(&self.chrome, s).ok()?;
        Some(CachedRows {
            html,
            aside: self.aside.as_ref(),
        })
    }

    fn is_highlight(&self, id: impl std::borrow::Borrow<GroupId>) -> bool {
        self.highlight == Some(*id.borrow())
    }
}
