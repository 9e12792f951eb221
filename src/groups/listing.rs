//! How the operator is looking at the group list: a name filter and a sort order.
//!
//! The view lives in the URL (`/groups?q=vip&sort=count&dir=desc`), so a reload, a bookmark and
//! a plain form without JavaScript all keep it. htmx replaces the address bar's URL as the filter
//! changes (`hx-replace-url`), so every later htmx request says where it came from in
//! `HX-Current-URL`; a plain form post says it in `Referer`. Handlers that re-render the table
//! after a change read the view from there ([`CarriedView`]) and keep it.

use std::{convert::Infallible, fmt::Write as _};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use crate::wechat::Group;

/// The longest filter kept; a group name is at most 30 characters anyway.
const MAX_QUERY: usize = 60;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Id,
    Name,
    Count,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Id => "id",
            SortKey::Name => "name",
            SortKey::Count => "count",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "id" => Some(SortKey::Id),
            "name" => Some(SortKey::Name),
            "count" => Some(SortKey::Count),
            _ => None,
        }
    }

    /// The direction a first click on this column sorts in: the biggest groups first, names
    /// and ids from the start.
    fn first_dir_desc(self) -> bool {
        self == SortKey::Count
    }
}

/// The filter and sort in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    /// The name filter, trimmed; empty shows every group.
    pub q: String,
    pub sort: SortKey,
    pub desc: bool,
}

impl ListView {
    /// Reads `q`, `sort` and `dir` from a query string; anything unknown is the default.
    pub fn from_query(query: Option<&str>) -> Self {
        let mut view = ListView::default();
        let Some(query) = query else { return view };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "q" => view.q = v.trim().chars().take(MAX_QUERY).collect(),
                "sort" => view.sort = SortKey::parse(&v).unwrap_or_default(),
                "dir" => view.desc = v == "desc",
                _ => {}
            }
        }
        view
    }

    pub fn is_filtered(&self) -> bool {
        !self.q.is_empty()
    }

    /// `q=…&sort=…&dir=…`, leaving out what is the default (so the plain list is plain `/groups`).
    pub fn query(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if self.sort != SortKey::Id || self.desc {
            out.append_pair("sort", self.sort.as_str());
            out.append_pair("dir", self.dir());
        }
        out.finish()
    }

    /// The query appended to a URL that has one already (`&q=…`), or nothing.
    pub fn and_query(&self) -> String {
        let q = self.query();
        if q.is_empty() { q } else { format!("&{q}") }
    }

    /// `groups` with this view (`/groups?q=…`).
    pub fn url(&self, groups: &str) -> String {
        let q = self.query();
        if q.is_empty() {
            groups.to_owned()
        } else {
            let mut s = String::from(groups);
            let _ = write!(s, "?{q}");
            s
        }
    }

    pub fn dir(&self) -> &'static str {
        if self.desc { "desc" } else { "asc" }
    }

    /// The same filter, sorted by `key`: the other way round if it is sorted by `key` already.
    pub fn sorted_by(&self, key: SortKey) -> ListView {
        ListView {
            q: self.q.clone(),
            sort: key,
            desc: if self.sort == key {
                !self.desc
            } else {
                key.first_dir_desc()
            },
        }
    }

    /// The same order without the filter.
    pub fn unfiltered(&self) -> ListView {
        ListView {
            q: String::new(),
            ..self.clone()
        }
    }

    /// `aria-sort` for a column header: only the sorted column has one.
    pub fn aria_sort(&self, key: SortKey) -> Option<&'static str> {
        (self.sort == key).then_some(if self.desc { "descending" } else { "ascending" })
    }

    /// Whether `g` passes the filter: its name contains the filter (ignoring case), or the
    /// filter is its id.
    pub fn matches(&self, g: &Group) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let q = self.q.to_lowercase();
        g.name.to_lowercase().contains(&q) || g.id.to_string() == q
    }

    /// The groups to show, filtered and in order.
    pub fn apply<'a>(&self, groups: &'a [Group]) -> Vec<&'a Group> {
        let mut rows: Vec<&Group> = groups.iter().filter(|g| self.matches(g)).collect();
        rows.sort_by(|a, b| {
            let order = match self.sort {
                SortKey::Id => a.id.cmp(&b.id),
                SortKey::Name => a.name.cmp(&b.name).then(a.id.cmp(&b.id)),
                SortKey::Count => a.count.cmp(&b.count).then(a.id.cmp(&b.id)),
            };
            if self.desc { order.reverse() } else { order }
        });
        rows
    }
}

/// The view of the page a request came from (see the module's docs); the default view when
/// it cannot be told.
#[derive(Debug, Clone, Default)]
pub struct CarriedView(pub ListView);

impl<S: Send + Sync> FromRequestParts<S> for CarriedView {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let from = parts
            .headers
            .get(axum_htmx::HX_CURRENT_URL)
            .or_else(|| parts.headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let without_fragment = from.split('#').next().unwrap_or_default();
        let (path, query) = without_fragment
            .split_once('?')
            .unwrap_or((without_fragment, ""));
        // Only the groups page's own query is a view of the group list.
        if !path.ends_with(crate::web::paths::GROUPS) {
            return Ok(CarriedView::default());
        }
        Ok(CarriedView(ListView::from_query(Some(query))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GroupId;

    fn g(id: u64, name: &str, count: u64) -> Group {
        Group {
            id: GroupId::parse(&id.to_string()).unwrap(),
            name: name.into(),
            count,
        }
    }

    #[test]
    fn the_view_round_trips_through_its_query() {
        let v = ListView::from_query(Some("q=+VIP+&sort=count&dir=desc&done=created"));
        assert_eq!(v.q, "VIP");
        assert_eq!(v.sort, SortKey::Count);
        assert!(v.desc);
        assert_eq!(ListView::from_query(Some(&v.query())), v);
        assert_eq!(ListView::default().query(), "");
        assert_eq!(ListView::default().url("/groups"), "/groups");
        let odd = ListView::from_query(Some("sort=evil&dir=sideways"));
        assert_eq!(odd, ListView::default());
    }

    #[test]
    fn filtering_ignores_case_and_sorting_toggles() {
        let groups = [g(0, "未分组", 5), g(100, "VIP 客户", 9), g(101, "vip2", 1)];
        let v = ListView::from_query(Some("q=vip"));
        let ids: Vec<_> = v.apply(&groups).iter().map(|g| g.count).collect();
        assert_eq!(ids, [9, 1]);
        let by_count = v.sorted_by(SortKey::Count);
        assert!(by_count.desc, "the biggest first");
        assert_eq!(by_count.aria_sort(SortKey::Count), Some("descending"));
        assert_eq!(by_count.aria_sort(SortKey::Name), None);
        assert!(!by_count.sorted_by(SortKey::Count).desc);
        let all = ListView::from_query(Some("sort=count&dir=asc"));
        let counts: Vec<_> = all.apply(&groups).iter().map(|g| g.count).collect();
        assert_eq!(counts, [1, 5, 9]);
        assert_eq!(ListView::from_query(Some("q=100")).apply(&groups).len(), 1);
    }
}
