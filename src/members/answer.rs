//! How a change to one follower is answered when it did not happen (or was refused): the panel
//! for htmx, the groups page around it for a plain form. Shared by a group move and the tag
//! changes.

use axum::{http::StatusCode, response::Response};

use crate::{
    groups::{GroupsPage, ListView},
    members::panel::MemberPanel,
    state::AppState,
    web::{AppError, Notice, Reply},
};

/// How a change that did not happen (or a refusal) is answered: the panel (htmx) or the page around it.
pub struct Answer<'a> {
    pub state: &'a AppState,
    pub reply: Reply,
    pub list: ListView,
}

impl Answer<'_> {
    pub fn panel(
        self,
        status: StatusCode,
        notice: Option<Notice>,
        panel: MemberPanel,
    ) -> Result<Response, AppError> {
        let chrome = panel.chrome.clone();
        let snapshot = self.state.groups.peek();
        self.reply
            .status(status)
            .notice(notice)
            .swap(&panel)?
            .or_page(|notices| {
                GroupsPage::new(&chrome, snapshot)
                    .with_view(self.list)
                    .with_member(panel)
                    .answer(notices)
            })
    }
}
