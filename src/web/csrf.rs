//! CSRF tokens: the second line of defence after tower-http's Origin check.
//!
//! Every page puts a token in `hx-headers` (htmx sends it as `X-CSRF-Token`) and in a hidden
//! `csrf` field of every plain form; a state-changing request without the right token is refused
//! before any handler runs.
//!
//! Which token is right depends on whether the browser has a session:
//! - **signed in** (a built-in operator): the token stored in the session at sign-in;
//! - **no session** (the sign-in page, a proxy user, the demo): OWASP's *signed double-submit
//!   cookie*. The browser holds a random nonce in an `HttpOnly`, `SameSite=Strict` cookie and the
//!   page carries HMAC(key, nonce), the key being this process's secret. Another site can neither
//!   read the cookie nor compute the HMAC, and nothing is stored on the server: a visitor who has
//!   not signed in writes nothing to the database, however many pages they open.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use tower_sessions::Session;

use crate::{
    state::{AppState, CsrfKey, session_keys as keys},
    web::{AppError, BODY_LIMIT, UPLOAD_LIMIT, form::header_text},
};

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf";
/// The cookie holding the nonce of a browser without a session.
pub const NONCE_COOKIE: &str = "wxgroups_csrf";

/// 32 random bytes, URL-safe.
pub fn new_csrf_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// This browser's nonce, from its cookie or made for this request (put in the request's
/// extensions by [`check`], read by the page chrome).
#[derive(Debug, Clone)]
pub struct Nonce(String);

/// The token this request's pages carry: the session's, else the signed nonce.
pub async fn token_for(
    session: Option<&Session>,
    nonce: Option<&Nonce>,
    key: &CsrfKey,
) -> Result<String, AppError> {
    if let Some(session) = session
        && let Some(token) = session.get::<String>(keys::CSRF).await?
    {
        return Ok(token);
    }
    Ok(nonce.map(|n| key.sign(&n.0)).unwrap_or_default())
}

fn same(a: &str, b: &str) -> bool {
    // Constant time over the length of the expected token.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Gives the browser a nonce if it has none, and refuses POST/PUT/PATCH/DELETE without the
/// right token.
pub async fn check(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    let sent_nonce = jar.get(NONCE_COOKIE).map(|c| c.value().to_owned());
    let fresh = sent_nonce.is_none();
    let nonce = Nonce(sent_nonce.unwrap_or_else(new_csrf_token));
    request.extensions_mut().insert(nonce.clone());
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = if changes {
        // A fresh nonce was never on a page, so nothing can carry its token.
        let known = (!fresh).then_some(&nonce);
        match token_for(Some(&session), known, &state.csrf_key).await {
            Ok(expected) if !expected.is_empty() => verify(&expected, request, next).await,
            Ok(_) => {
                tracing::info!(path = %request.uri().path(), "refused a change from a browser with no token");
                AppError::CsrfRefused.into_response()
            }
            Err(e) => e.into_response(),
        }
    } else {
        next.run(request).await
    };
    if fresh {
        with_nonce_cookie(response, &nonce, state.urls.home())
    } else {
        response
    }
}

/// Sets the nonce cookie on a page (only pages carry forms; an asset or a probe needs none).
fn with_nonce_cookie(mut response: Response, nonce: &Nonce, path: String) -> Response {
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_page {
        let cookie = Cookie::build((NONCE_COOKIE, nonce.0.clone()))
            .path(path)
            .same_site(SameSite::Strict)
            .http_only(true)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Runs the request if it carries `expected`: in the header (htmx), or in the form's `csrf`
/// field (a plain form, an upload).
async fn verify(expected: &str, request: Request, next: Next) -> Response {
    if let Some(sent) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        if same(sent, expected) {
            return next.run(request).await;
        }
        tracing::warn!(path = %request.uri().path(), "refused a change with a wrong CSRF header");
        return AppError::CsrfRefused.into_response();
    }
    let content_type = header_text(request.headers(), header::CONTENT_TYPE).to_owned();
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/x-www-form-urlencoded") {
        return AppError::CsrfRefused.into_response();
    }
    // Read the body (within the limit), find the field, put the body back.
    let (parts, body) = request.into_parts();
    let limit = if multipart { UPLOAD_LIMIT } else { BODY_LIMIT };
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return AppError::TooLarge.into_response(),
    };
    let sent = if multipart {
        multipart_field(&bytes, FIELD).map(str::to_owned)
    } else {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.into_owned())
    };
    match sent {
        Some(sent) if same(&sent, expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            tracing::warn!(path = %parts.uri.path(), "refused a form without the right CSRF token");
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
