//! The blacklist (tags mode): who is on it, straight from WeChat (`tags/members/getblacklist`,
//! paged by `begin_openid`), and putting one follower on it or taking one off
//! (`batchblacklist` / `batchunblacklist`), each audited. Lists of followers go through a batch
//! job on the jobs page.
//!
//! The groups API has no blacklist calls (its group 1 黑名单 is moved into like any group), so
//! in groups mode these pages do not exist (404).

pub mod change;
pub mod page;

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{domain::Api, state::AppState, web::AppError};

/// Present only when the account is managed through the tags API; otherwise the route is 404.
pub struct TagsMode;

impl FromRequestParts<AppState> for TagsMode {
    type Rejection = AppError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match state.site.api {
            Api::Tags => Ok(TagsMode),
            Api::Groups => Err(AppError::NotFound),
        }
    }
}
