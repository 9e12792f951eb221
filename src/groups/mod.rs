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
