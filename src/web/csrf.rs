//! The per-session CSRF token, second line of defence after tower-http's Origin check.
//!
//! Every page puts the session's token in `hx-headers` (htmx sends it as `X-CSRF-Token`) and in
//! a hidden `csrf` field of every plain form. A state-changing request without the token of
//! *its own* session is refused before any handler runs.

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use tower_sessions::Session;

use crate::{
    state::session_keys as keys,
    web::{AppError, BODY_LIMIT, UPLOAD_LIMIT},
};

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf";

/// 32 random bytes, URL-safe.
pub fn new_csrf_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's token, created on first use (so the sign-in page has one too).
pub async fn token_for(session: &Session) -> Result<String, AppError> {
    let existing: Option<String> = session.get(keys::CSRF).await?;
    if let Some(t) = existing {
        return Ok(t);
    }
    let t = new_csrf_token();
    session.insert(keys::CSRF, &t).await?;
    Ok(t)
}

fn same(a: &str, b: &str) -> bool {
    // Constant time over the length of the expected token.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses POST/PUT/PATCH/DELETE without the session's token.
pub async fn check(session: Session, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let expected: Option<String> = match session.get(keys::CSRF).await {
        Ok(t) => t,
        Err(e) => return AppError::from(e).into_response(),
    };
    let Some(expected) = expected else {
        tracing::info!(path = %request.uri().path(), "refused a change from a browser without a session");
        return AppError::CsrfRefused.into_response();
    };
    if let Some(sent) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        if same(sent, &expected) {
            return next.run(request).await;
        }
        tracing::warn!(path = %request.uri().path(), "refused a change with a wrong CSRF header");
        return AppError::CsrfRefused.into_response();
    }
    // A plain multipart form (the list upload): read the body within the upload limit and find
    // the `csrf` part. Our forms put it first; browsers send parts in document order.
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let (parts, body) = request.into_parts();
        let bytes = match to_bytes(body, UPLOAD_LIMIT).await {
            Ok(b) => b,
            Err(_) => return AppError::TooLarge.into_response(),
        };
        return match multipart_field(&bytes, FIELD) {
            Some(sent) if same(sent, &expected) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            _ => {
                tracing::warn!(path = %parts.uri.path(), "refused an upload without this session's CSRF token");
                AppError::CsrfRefused.into_response()
            }
        };
    }
    // A plain form: read the body (within the app's limit), find the field, put the body back.
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return AppError::CsrfRefused.into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return AppError::TooLarge.into_response(),
    };
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if same(&sent, &expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            tracing::warn!(path = %parts.uri.path(), "refused a form without this session's CSRF token");
            AppError::CsrfRefused.into_response()
        }
    }
}

/// The value of a short text part `name` in a multipart body (`name="csrf"` then a blank line,
/// the value, CRLF), without parsing the rest.
fn multipart_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    let needle = format!("name=\"{name}\"\r\n\r\n");
    let start = body
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?
        + needle.len();
    let rest = &body[start..];
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    std::str::from_utf8(&rest[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_a_multipart_body() {
        let body = b"--X\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nTOKEN\r\n--X\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nabc\r\n--X--\r\n";
        assert_eq!(multipart_field(body, "csrf"), Some("TOKEN"));
        assert_eq!(multipart_field(b"--X\r\n", "csrf"), None);
    }
}
