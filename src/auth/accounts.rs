//! With several accounts: the list of those an operator may see (`/`), or straight to the only
//! one.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};

use crate::{
    auth::CanView,
    state::{AccountEntry, AppState},
    web::{AppError, Chrome, html},
};

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    accounts: Vec<AccountEntry>,
}

/// `GET /`: the operator's only account's groups page, or the list of theirs.
pub async fn index(
    State(state): State<AppState>,
    CanView(actor): CanView,
    chrome: Chrome,
) -> Result<Response, AppError> {
    let mine: Vec<AccountEntry> = state
        .directory
        .accounts
        .iter()
        .filter(|a| actor.on(a).is_some())
        .cloned()
        .collect();
    if let [only] = mine.as_slice() {
        return Ok(Redirect::to(&chrome.urls.account_home(&only.key)).into_response());
    }
    html(&AccountsPage {
        chrome,
        accounts: mine,
    })
}
