//! What the operator sees as "groups": the list with counts, create, rename, refresh.

mod cache;
mod create;
mod delete;
pub mod listing;
mod page;
mod rename;
mod rows;

use axum::{
    Router,
    routing::{get, post},
};

pub use cache::{GroupCache, Snapshot, View};
pub use create::CreateForm;
pub use listing::{CarriedView, ListView};
pub use page::{Done, GroupsPage, GroupsTable, render_page};

use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(page::show).post(create::create))
        .route("/groups/refresh", post(page::refresh))
        .route("/groups/{id}/row", get(rename::row))
        .route("/groups/{id}/edit", get(rename::edit))
        .route("/groups/{id}/rename", post(rename::rename))
        .route(
            "/groups/{id}/delete",
            get(delete::confirm).post(delete::delete),
        )
}

/// The group an `{id}` in a URL names, from the (cached) list, with that list; 404 for an id
/// that is malformed or not in it.
pub async fn group_in_url(
    state: &AppState,
    id: &str,
) -> Result<(crate::wechat::Group, Option<std::sync::Arc<Snapshot>>), crate::web::AppError> {
    let id = crate::domain::GroupId::parse(id).map_err(|_| crate::web::AppError::NotFound)?;
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let group = snapshot
        .as_ref()
        .and_then(|s| s.find(id).cloned())
        .ok_or(crate::web::AppError::NotFound)?;
    Ok((group, snapshot))
}
