//! Reading what the browser sent, strictly: form bodies, queries and paths are UTF-8 or refused.
//!
//! Handlers take every field as a `String` (with `#[serde(default)]`) and parse it into a
//! domain type themselves, so a missing or odd field gets the same clear message as a wrong one.
//! What is left for these extractors is a body that is not a form at all, one that is too big,
//! and text that is not UTF-8: decoding that with replacement characters would send `��` to
//! WeChat as a group name.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::web::AppError;

/// Forms here are a few short fields; anything bigger is a mistake or an attack.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The largest upload or paste: 100,000 OpenIDs of 28 characters with line breaks are 3 MB;
/// room for CSV files with other columns.
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;

/// A header's value as text, or "" when it is missing or not visible ASCII.
pub fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A URL's `{id}` as text; a path that cannot be one (it is checked for UTF-8 before any
/// route sees it) names nothing, so it is a 404.
pub async fn path_id<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, Response> {
    axum::extract::Path::<String>::from_request_parts(parts, state)
        .await
        .map(|axum::extract::Path(id)| id)
        .map_err(|_| AppError::NotFound.into_response())
}

/// A URL-encoded form body, refused unless it is UTF-8 throughout.
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        check_form_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadForm(r.body_text())
            }
        })?;
        if !is_utf8_encoded(&bytes) {
            return Err(AppError::NotUtf8("form body"));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|e| AppError::BadForm(e.to_string()))
    }
}

/// A URL-encoded body, with no charset but UTF-8 (the forms say `accept-charset="utf-8"`).
fn check_form_type(headers: &HeaderMap) -> Result<(), AppError> {
    let content_type = header_text(headers, header::CONTENT_TYPE).to_ascii_lowercase();
    let mut parts = content_type.split(';').map(str::trim);
    if parts.next() != Some("application/x-www-form-urlencoded") {
        return Err(AppError::BadForm(format!("content type {content_type:?}")));
    }
    utf8_charset(parts)
}

/// Refuses a declared `charset` other than UTF-8 among a content type's parameters.
pub fn utf8_charset<'a>(params: impl Iterator<Item = &'a str>) -> Result<(), AppError> {
    for param in params {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let value = value.trim().trim_matches('"');
            if !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8") {
                return Err(AppError::NotUtf8("declared charset"));
            }
        }
    }
    Ok(())
}

/// Whether every name and value of an `application/x-www-form-urlencoded` text (a body or a
/// query) is UTF-8 once its `+` and `%XX` are decoded.
pub fn is_utf8_encoded(text: &[u8]) -> bool {
    text.split(|&b| b == b'&').all(|pair| {
        let pair: Vec<u8> = pair
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded: Vec<u8> = percent_encoding::percent_decode(&pair).collect();
        std::str::from_utf8(&decoded).is_ok()
    })
}

/// A query string, refused with a page (not the framework's text) when it does not fit `T`.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| AppError::BadQuery(e.to_string()))
    }
}

/// Refuses a request whose path or query is not UTF-8 once percent-decoded, before any route
/// sees it: `/groups/%FF/edit` gets a page that says so, not the router's text.
pub async fn strict_utf8(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let path_ok = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8()
        .is_ok();
    let query_ok = uri.query().is_none_or(|q| is_utf8_encoded(q.as_bytes()));
    if path_ok && query_ok {
        next.run(request).await
    } else {
        AppError::NotUtf8("path or query").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_survives_decoding() {
        assert!(is_utf8_encoded(b"name=VIP%E5%AE%A2%E6%88%B7&csrf=x+y"));
        assert!(is_utf8_encoded(b""));
        assert!(!is_utf8_encoded(b"name=%FF%FE"));
        assert!(!is_utf8_encoded(b"name=\xff\xfe"));
        // A lone surrogate, encoded as UTF-8 would encode it: not UTF-8.
        assert!(!is_utf8_encoded(b"name=%ED%A0%80"));
        assert!(!is_utf8_encoded(b"%FF=x"));
    }

    #[test]
    fn only_utf8_may_be_declared() {
        let charset = |s: &'static str| utf8_charset(s.split(';'));
        assert!(charset("charset=utf-8").is_ok());
        assert!(charset(" charset=\"UTF-8\"").is_ok());
        assert!(charset("boundary=x").is_ok());
        assert!(charset("charset=ISO-8859-1").is_err());
        assert!(charset("charset=gbk").is_err());
    }
}
