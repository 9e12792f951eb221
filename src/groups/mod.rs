//! What the operator sees as "groups": the list with counts, create, rename, delete, refresh.
//!
//! - `page.rs`: `GET /groups` (the dashboard) and refresh; `dashboard.rs` the page as a whole.
//! - `table.rs`, `rows.rs`, `listing.rs`: the table, its rows, its filter and sort.
//! - `create.rs` (with `create_form.rs`), `rename.rs`, `delete.rs`: the changes.

pub mod create;
pub mod create_form;
pub mod dashboard;
pub mod delete;
mod in_url;
pub mod listing;
pub mod page;
pub mod rename;
mod rows;
pub mod table;

pub use create_form::CreateForm;
pub use dashboard::GroupsPage;
pub use in_url::GroupInUrl;
pub use listing::{CarriedView, ListView};
pub use table::GroupsTable;
