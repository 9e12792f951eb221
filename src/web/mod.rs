//! What every page shares, below every feature: the one error type and its page, the page
//! chrome, the reply builder (fragment for htmx, page or 303 otherwise), notices and flashes,
//! CSRF, the form extractor, URLs and route paths, htmx headers, static assets.
//!
//! Nothing here imports a feature; the route table that puts the features together is
//! [`crate::routes`], above them.

pub mod assets;
pub mod body;
mod chrome;
pub mod csrf;
mod error;
mod error_page;
mod flash;
pub mod form;
pub mod hosts;
pub mod htmx;
pub mod lang;
mod notice;
pub mod paths;
pub mod replay;
mod reply;
pub mod urls;

pub use chrome::{Chrome, Grouped};
pub use csrf::new_csrf_token;
pub use error::AppError;
pub use error_page::render as render_errors;
pub use flash::{Flash, TagChange};
pub use form::{BODY_LIMIT, Form, Query, UPLOAD_LIMIT, strict_utf8};
pub use htmx::HxRequest;
pub use notice::{Notice, NoticeKind, Notices, upstream_status};
pub use reply::{Reply, html};
pub use urls::Urls;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wxgroups_session";
