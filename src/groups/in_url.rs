//! The group an `{id}` in a URL names.

use std::sync::Arc;

use crate::{domain::GroupId, state::AppState, state::Snapshot, web::AppError, wechat::Group};

/// The group from the (cached) list, with that list; 404 for an id that is malformed or not in it.
pub async fn group_in_url(
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
