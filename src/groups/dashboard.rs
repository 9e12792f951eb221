//! The groups page as a whole: the table, the create form and the follower panel around the
//! message region. Handlers that answer a plain form post with the whole page start from the
//! list as it is now and put their own part in.

use std::{cell::OnceCell, sync::Arc};

use askama::Template;
use axum::{
    body::Body,
    http::header,
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use crate::{
    groups::{
        create_form::CreateForm,
        listing::ListView,
        table::{GroupsTable, rows_marker},
    },
    members::MemberPanel,
    state::{Snapshot, View},
    web::{AppError, Chrome, Notice, NoticeKind, Notices, body::Parts},
};

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

impl GroupsPage {
    /// The page for this list, every part as a plain view shows it.
    pub fn new(chrome: &Chrome, snapshot: Option<Arc<Snapshot>>) -> Self {
        GroupsPage {
            chrome: chrome.clone(),
            notices: Notices::default(),
            table: GroupsTable::new(chrome, snapshot.clone()),
            create: CreateForm::new(chrome, snapshot.as_deref()),
            member: MemberPanel::new(chrome, snapshot),
        }
    }

    /// The table filtered and sorted as the operator had it.
    pub fn with_view(mut self, view: ListView) -> Self {
        self.table = self.table.with_view(view);
        self
    }

    pub fn with_create(mut self, form: CreateForm) -> Self {
        self.create = form;
        self
    }

    pub fn with_member(mut self, panel: MemberPanel) -> Self {
        self.member = panel;
        self
    }

    /// The page with these messages, as a response.
    pub fn answer(mut self, notices: Notices) -> Result<Response, AppError> {
        self.notices = notices;
        render_page(self)
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

/// Renders the full page.
///
/// When the table shows the snapshot's cached rows, they are not copied into the page: the page
/// is rendered around a marker and sent as three parts, the text before the rows, the shared
/// rows, the text after.
pub fn render_page(mut page: GroupsPage) -> Result<Response, AppError> {
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
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}
