//! `Form<T>`: axum's form extractor, with its rejections turned into our error page.
//!
//! Handlers take every field as a `String` (with `#[serde(default)]`) and parse it into a
//! domain type themselves, so a missing or odd field gets the same clear message as a wrong one.
//! What is left for this rejection is a body that is not a form at all, or one that is too big.

use axum::{
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

use crate::web::AppError;

/// Forms here are a few short fields; anything bigger is a mistake or an attack.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The largest upload or paste: 100,000 OpenIDs of 28 characters with line breaks are 3 MB;
/// room for CSV files with other columns.
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;

pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(rejection) => Err(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadForm(rejection.body_text())
            }),
        }
    }
}
