//! The group an `{id}` in a URL names.

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{IntoResponse, Response},
};

use crate::{
    domain::GroupId,
    state::{AppState, Snapshot},
    web::{AppError, form::path_id},
    wechat::Group,
};

/// The group from the (cached) list, with that list; 404 for an id that is malformed or not in it.
async fn group_in_url(
    state: &AppState,
    id: &str,
) -> Result<(Group, Option<Arc<Snapshot>>), AppError> {
    let id = GroupId::parse(id).map_err(|_| AppError::NotFound)?;
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let group = snapshot
        .as_ref()
        .and_then(|s| s.find(id).cloned())
        .ok_or(AppError::NotFound)?;
    Ok((group, snapshot))
}

/// The same as an extractor, for the routes under `/groups/{id}/…`. Name it after the role
/// extractor, so that a role that may not see the route is refused before the list is read.
pub struct GroupInUrl {
    pub group: Group,
    pub snapshot: Option<Arc<Snapshot>>,
}

impl FromRequestParts<AppState> for GroupInUrl {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let id = path_id(parts, state).await?;
        let found = group_in_url(state, &id).await;
        let (group, snapshot) = found.map_err(IntoResponse::into_response)?;
        Ok(GroupInUrl { group, snapshot })
    }
}
