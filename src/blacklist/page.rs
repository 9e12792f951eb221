//! `GET /blacklist`: one page of the blacklist, the add form, and a remove button per follower.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    auth::CanView,
    blacklist::TagsMode,
    domain::OpenId,
    jobs::jobs_link,
    state::AppState,
    store::JobAction,
    web::{AppError, Chrome, Notice, NoticeKind, Notices, Query, html, urls::with_query},
    wechat::{FollowerPage, WeChatClient, WeChatError},
};

/// How many pages a membership check reads before it gives up and lets WeChat decide
/// (10,000 to 100,000 followers, as WeChat's two docs size a page).
const CHECK_PAGES: usize = 10;

#[derive(Debug, Default, Deserialize)]
pub struct BlacklistQuery {
    /// Where the page starts: the previous page's last OpenID (`next_openid`).
    #[serde(default)]
    after: String,
    /// What a plain form post just did: `added` or `removed`, with its `openid`.
    #[serde(default)]
    done: String,
    #[serde(default)]
    openid: String,
}

/// The page around the card.
#[derive(Template)]
#[template(path = "blacklist/page.html")]
struct Page {
    chrome: Chrome,
    notices: Notices,
    card: String,
}

/// The card: what htmx swaps after a change, and the page's content.
#[derive(Template)]
#[template(path = "blacklist/_card.html")]
pub struct BlacklistPage {
    pub chrome: Chrome,
    /// `None` when WeChat did not answer (`load_error` says why).
    pub list: Option<FollowerPage>,
    pub load_error: Option<Notice>,
    pub after: Option<OpenId>,
    /// The add form: what was typed, and why it was refused.
    pub openid_value: String,
    pub openid_error: Option<String>,
    /// The OpenID waiting for "yes, blacklist".
    pub confirming: Option<OpenId>,
}

impl BlacklistPage {
    pub fn new(chrome: &Chrome) -> Self {
        BlacklistPage {
            chrome: chrome.clone(),
            list: None,
            load_error: None,
            after: None,
            openid_value: String::new(),
            openid_error: None,
            confirming: None,
        }
    }

    /// The whole page with this card and `notices`.
    pub fn page(&self, notices: Notices) -> Result<Response, AppError> {
        let card = self.render()?;
        html(&Page {
            chrome: self.chrome.clone(),
            notices,
            card,
        })
    }

    /// Reads the page starting after `after` from WeChat; a failure becomes the page's notice.
    pub async fn load(mut self, client: &WeChatClient, after: Option<OpenId>) -> Self {
        match client.blacklist(after.as_ref()).await {
            Ok(list) => self.list = Some(list),
            Err(e) => self.load_error = Some(Notice::wechat(&e, self.chrome.lang)),
        }
        self.after = after;
        self
    }

    /// The jobs page with "blacklist a list" chosen, and with "take a list off" chosen.
    fn list_job_url(&self, on: bool) -> String {
        let action = if on {
            JobAction::Blacklist
        } else {
            JobAction::Unblacklist
        };
        jobs_link(&self.chrome.urls, action, None, None)
    }

    fn next_url(&self) -> Option<String> {
        let list = self.list.as_ref()?;
        // WeChat names a next page even after the last one (an empty page ends the list): on the
        // first page, `total` says whether there is more.
        if self.after.is_none() && list.openids.len() as u64 >= list.total {
            return None;
        }
        let next = list.next.as_ref()?;
        Some(with_query(
            &self.chrome.urls.blacklist(),
            &[("after", next.as_str())],
        ))
    }
}

/// `GET /blacklist?after=…`.
pub async fn show(
    State(state): State<AppState>,
    _: TagsMode,
    _: CanView,
    chrome: Chrome,
    Query(q): Query<BlacklistQuery>,
) -> Result<Response, AppError> {
    let after = match q.after.trim() {
        "" => None,
        a => Some(OpenId::parse(a).map_err(|_| AppError::BadQuery("after".into()))?),
    };
    let card = BlacklistPage::new(&chrome).load(&state.client, after).await;
    let notices = done_text(&chrome, &q)
        .map(|text| Notices::one(Notice::success(text)))
        .unwrap_or_default();
    let status = if card.list.is_none() {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    Ok((status, card.page(notices)?).into_response())
}

/// The notice a redirect after a plain post carries.
fn done_text(chrome: &Chrome, q: &BlacklistQuery) -> Option<String> {
    let openid = OpenId::parse(&q.openid).ok()?;
    match q.done.as_str() {
        "added" => Some(chrome.t1("blacklist.added", "openid", openid)),
        "removed" => Some(chrome.t1("blacklist.removed", "openid", openid)),
        _ => None,
    }
}

/// Whether `openid` is on the blacklist, reading at most [`CHECK_PAGES`] pages: `None` when the
/// list is longer than that (then WeChat decides; both calls are harmless repeats).
pub async fn on_blacklist(
    client: &WeChatClient,
    openid: &OpenId,
) -> Result<Option<bool>, WeChatError> {
    let mut after: Option<OpenId> = None;
    for _ in 0..CHECK_PAGES {
        let page = client.blacklist(after.as_ref()).await?;
        if page.openids.contains(openid) {
            return Ok(Some(true));
        }
        match page.next {
            Some(next) if after.as_ref() != Some(&next) => after = Some(next),
            _ => return Ok(Some(false)),
        }
    }
    Ok(None)
}

/// An informational notice (nothing was sent).
pub fn info(text: String) -> Notice {
    Notice::success(text).with_kind(NoticeKind::Info)
}
