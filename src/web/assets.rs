//! The embedded static files: htmx from its pinned npm package, our CSS, JS and icon.
//!
//! build.rs names each file by a hash of its content, so a response can say "cache for a year,
//! immutable": a new build that changes the file changes its URL.

use axum::{
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

use crate::web::AppError;

/// One embedded file.
pub struct Asset {
    pub file: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match ALL.iter().find(|a| a.file == file) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => AppError::NotFound.into_response(),
    }
}
