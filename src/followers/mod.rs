//! Followers by group: the sync that stores every follower's group, and a group's member list
//! (paged, searchable by OpenID prefix) from which a selection is moved as a batch job.

mod members;
mod sync;

use axum::{
    Router,
    routing::{get, post},
};

pub(crate) use sync::sync_loop;

use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{id}/members", get(members::page))
        .route("/groups/{id}/members/move", post(members::move_selected))
}
