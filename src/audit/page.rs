//! The audit log as operators see it: a filtered, paged page and a CSV export.

use askama::Template;
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    auth::CanView,
    state::{Actor, AppState},
    store::{AuditFilter, AuditRow},
    web::{AppError, Chrome, Query, html, urls::with_query},
};

/// Writing the CSV into memory fails only on a bug.
fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    operator: String,
    #[serde(default)]
    action: String,
    /// A day, YYYY-MM-DD, Beijing time.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<u32>,
}

/// The actions the log knows, for the filter.
pub const ACTIONS: &[&str] = &[
    "signin",
    "signout",
    "group_create",
    "group_rename",
    "member_move",
    "group_delete",
    "batch_move",
    "tag_create",
    "tag_rename",
    "tag_delete",
    "follower_tag",
    "follower_untag",
    "follower_retag",
    "blacklist",
    "unblacklist",
    "batch_tag",
    "batch_untag",
    "batch_retag",
    "batch_blacklist",
    "batch_unblacklist",
    "copy_groups",
    "follower_sync",
    "operator_add",
    "operator_disable",
    "operator_passwd",
];

const PER_PAGE: u32 = 50;

fn beijing() -> jiff::tz::TimeZone {
    jiff::tz::offset(8).to_time_zone()
}

/// Start of a Beijing day in µs, or an error message for the field.
fn day_start(s: &str) -> Result<Option<i64>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = s.parse().map_err(|_| ())?;
    let ts = date.to_zoned(beijing()).map_err(|_| ())?.timestamp();
    Ok(Some(ts.as_microsecond()))
}

/// The filter the page asked for, narrowed to what this actor may see.
fn filter_for(actor: &Actor, q: &AuditQuery) -> Result<AuditFilter, &'static str> {
    let operator = if actor.is_admin() {
        Some(q.operator.trim().to_owned()).filter(|o| !o.is_empty())
    } else {
        // Others see their own actions only, whatever the URL says.
        Some(actor.name.clone())
    };
    let action = Some(q.action.trim().to_owned()).filter(|a| ACTIONS.contains(&a.as_str()));
    let from_us = day_start(&q.from).map_err(|_| "from")?;
    // "to" is inclusive: up to the start of the next day.
    let until_us = day_start(&q.to)
        .map_err(|_| "to")?
        .map(|us| us + 24 * 3600 * 1_000_000);
    Ok(AuditFilter {
        operator,
        action,
        from_us,
        until_us,
    })
}

#[derive(Template)]
#[template(path = "audit/page.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    operators: Vec<String>,
    q_operator: String,
    q_action: String,
    q_from: String,
    q_to: String,
    date_error: Option<String>,
    page: u32,
    more: bool,
    /// The filter in force, for the links that keep it.
    query: Vec<(&'static str, String)>,
}

impl AuditPage {
    fn actions(&self) -> &'static [&'static str] {
        ACTIONS
    }

    fn action_name(&self, action: &str) -> String {
        self.chrome.t(&format!("audit.action.{action}"))
    }

    fn outcome_name(&self, row: &AuditRow) -> String {
        self.chrome
            .t(&format!("audit.outcome.{}", row.outcome.as_str()))
    }

    fn outcome_css(&self, row: &AuditRow) -> &'static str {
        row.outcome.as_str()
    }

    fn when(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }

    /// The same moment for `<time datetime>`, which the page's script shows in local time.
    fn when_iso(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.iso(t))
            .unwrap_or_default()
    }

    fn page_url(&self, page: u32) -> String {
        let mut pairs = self.query.clone();
        pairs.push(("page", page.to_string()));
        self.url(&self.chrome.urls.audit(), &pairs)
    }

    fn csv_url(&self) -> String {
        self.url(&self.chrome.urls.audit_csv(), &self.query)
    }

    fn url(&self, to: &str, pairs: &[(&'static str, String)]) -> String {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_query(to, &pairs)
    }
}

/// The filter in force, as the query pairs its links carry (empty fields left out).
fn query_pairs(q: &AuditQuery) -> Vec<(&'static str, String)> {
    [
        ("operator", &q.operator),
        ("action", &q.action),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k, v.trim().to_owned()))
    .collect()
}

/// `GET /audit`.
pub async fn page(
    State(state): State<AppState>,
    chrome: Chrome,
    CanView(actor): CanView,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let (filter, date_error) = match filter_for(&actor, &q) {
        Ok(f) => (f, None),
        Err(field) => (
            // Show everything this actor may see, and say which date was not understood.
            filter_for(
                &actor,
                &AuditQuery {
                    operator: q.operator.clone(),
                    action: q.action.clone(),
                    ..AuditQuery::default()
                },
            )
            .unwrap_or_default(),
            Some(chrome.t1(
                "audit.bad_date",
                "field",
                chrome.t(&format!("audit.filter.{field}")),
            )),
        ),
    };
    let (rows, more) = state.store.audit_page(&filter, page, PER_PAGE).await?;
    let operators = if actor.is_admin() {
        state.store.audit_operators().await?
    } else {
        vec![actor.name.clone()]
    };
    let status = if date_error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let view = AuditPage {
        chrome,
        rows,
        operators,
        q_operator: q.operator.clone(),
        q_action: q.action.clone(),
        q_from: q.from.clone(),
        q_to: q.to.clone(),
        date_error,
        page,
        more,
        query: query_pairs(&q),
    };
    Ok((status, html(&view)?).into_response())
}

/// Neutralises what a spreadsheet would run as a formula: a leading = + - @ tab or CR.
pub fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// `GET /audit.csv`: the same rows as the page (all pages), for a spreadsheet.
pub async fn export(
    State(state): State<AppState>,
    CanView(actor): CanView,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let filter = filter_for(&actor, &q).map_err(|_| AppError::BadForm("bad date".into()))?;
    let rows = state.store.audit_all(&filter).await?;
    // A BOM so that Excel reads the UTF-8 (Chinese names) correctly.
    let mut out = Vec::from("\u{FEFF}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let header = [
            "id",
            "time_utc",
            "time_beijing",
            "operator",
            "source",
            "ip",
            "action",
            "target",
            "before",
            "after",
            "outcome",
            "errcode",
            "detail",
        ];
        w.write_record(header).map_err(internal)?;
        for r in rows {
            let at = jiff::Timestamp::from_microsecond(r.at).unwrap_or_default();
            let record = [
                r.id.to_string(),
                at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                at.to_zoned(beijing())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                r.operator,
                r.source,
                r.ip.unwrap_or_default(),
                r.action,
                r.target.unwrap_or_default(),
                r.before.unwrap_or_default(),
                r.after.unwrap_or_default(),
                r.outcome.as_str().to_owned(),
                r.errcode.map(|c| c.to_string()).unwrap_or_default(),
                r.detail.unwrap_or_default(),
            ];
            w.write_record(record.iter().map(|c| csv_safe(c)))
                .map_err(internal)?;
        }
        w.flush().map_err(internal)?;
    }
    let filename = format!(
        "wxgroups-audit-{}.csv",
        jiff::Timestamp::now()
            .to_zoned(beijing())
            .strftime("%Y%m%d-%H%M")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_for_spreadsheets() {
        assert_eq!(
            csv_safe("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for c in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_safe(c).starts_with('\''), "{c:?}");
        }
        assert_eq!(csv_safe("华东媒体"), "华东媒体");
    }

    #[test]
    fn a_non_admin_sees_only_their_own_rows_whatever_they_ask() {
        let viewer = Actor {
            name: "vera".into(),
            role: crate::store::Role::Viewer,
            source: crate::state::Source::Builtin,
            roles: crate::state::Roles::Everywhere(crate::store::Role::Viewer),
        };
        let q = AuditQuery {
            operator: "admin".into(),
            ..AuditQuery::default()
        };
        assert_eq!(
            filter_for(&viewer, &q).unwrap().operator.as_deref(),
            Some("vera")
        );
    }

    #[test]
    fn days_are_beijing_days() {
        let us = day_start("2026-01-02").unwrap().unwrap();
        let t = jiff::Timestamp::from_microsecond(us).unwrap();
        assert_eq!(t.to_string(), "2026-01-01T16:00:00Z");
        assert!(day_start("2026-13-01").is_err());
    }
}
