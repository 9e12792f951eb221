//! htmx's request and response headers, typed, through the `axum-htmx` crate.
//!
//! Handlers take its extractors (`HxRequest`, `HxTarget`, `HxCurrentUrl`) and answer with its
//! responders (`HxReswap`, `HxRedirect`). Middleware, which sees a request before any extractor,
//! asks [`is_htmx`] — the same rule as the `HxRequest` extractor, so there is one meaning of
//! "this request came from htmx".

use axum::http::HeaderMap;

pub use axum_htmx::{HxCurrentUrl, HxRedirect, HxRequest, HxReswap, HxTarget, SwapOption};

/// Whether htmx sent this request (it sets `HX-Request`) and so wants a fragment, not a page.
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key(axum_htmx::HX_REQUEST)
}
