//! One error type for everything a handler cannot answer with its own page.
//!
//! Validation problems never get here: handlers re-render their form with the message (422).
//! What does get here is turned into a response in two steps: `IntoResponse` picks the status
//! and marks the response; the `render` middleware, which knows the request's language and base
//! path, replaces the body with a proper page. Internal causes are logged once with the request
//! id and never shown.

use askama::Template;
use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

use crate::web::{AppState, Chrome};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such page or group.
    #[error("not found")]
    NotFound,
    /// 410: a previewed batch list that was discarded or kept past its day.
    #[error("preview gone")]
    PreviewGone,
    /// 413: a request body over the limit.
    #[error("request body too large")]
    TooLarge,
    /// 403: the operator's role does not allow this.
    #[error("forbidden for role {0}")]
    Forbidden(crate::store::Role),
    /// 403: a change without this session's CSRF token (or from another origin).
    #[error("CSRF check failed")]
    CsrfRefused,
    /// 400: a body that is not the form the page sends.
    #[error("malformed form: {0}")]
    BadForm(String),
    /// 500: a bug or an environment problem; the cause goes to the log only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template: {e}"))
    }
}

/// The marker the render middleware looks for.
#[derive(Debug, Clone, Copy)]
struct Rendered(ErrorKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    NotFound,
    PreviewGone,
    Forbidden(crate::store::Role),
    Csrf,
    TooLarge,
    BadForm,
    Internal,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, ErrorKind::NotFound),
            AppError::PreviewGone => (StatusCode::GONE, ErrorKind::PreviewGone),
            AppError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge),
            AppError::Forbidden(role) => (StatusCode::FORBIDDEN, ErrorKind::Forbidden(*role)),
            AppError::CsrfRefused => (StatusCode::FORBIDDEN, ErrorKind::Csrf),
            AppError::BadForm(why) => {
                tracing::info!(%why, "refused a malformed form");
                (StatusCode::BAD_REQUEST, ErrorKind::BadForm)
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorKind::Internal)
            }
        };
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        response.extensions_mut().insert(Rendered(kind));
        response
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: String,
    detail: String,
    status: u16,
}

/// Gives marked error responses a real page in the operator's language.
pub async fn render(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Most responses are not errors: keep only what an error page would need (header values
    // are shared, not copied) and build the page's chrome when there is one to render.
    let hx = request.headers().contains_key("hx-request");
    let mut kept = Request::new(());
    *kept.uri_mut() = request.uri().clone();
    for name in [header::COOKIE, header::ACCEPT_LANGUAGE] {
        for value in request.headers().get_all(&name) {
            kept.headers_mut().append(name.clone(), value.clone());
        }
    }
    let id = request
        .extensions()
        .get::<tower_http::request_id::RequestId>()
        .cloned();
    let response = next.run(request).await;
    let Some(Rendered(kind)) = response.extensions().get::<Rendered>().copied() else {
        return response;
    };
    let request_id = id
        .as_ref()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let (mut parts, ()) = kept.into_parts();
    let chrome = <Chrome as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    .unwrap_or_else(|never| match never {});
    let key = match kind {
        ErrorKind::NotFound => "error.not_found",
        ErrorKind::PreviewGone => "error.preview_gone",
        ErrorKind::Forbidden(_) => "error.forbidden",
        ErrorKind::Csrf => "error.csrf",
        ErrorKind::TooLarge => "error.too_large",
        ErrorKind::BadForm => "error.bad_form",
        ErrorKind::Internal => "error.internal",
    };
    let status = response.status();
    let detail = match kind {
        ErrorKind::Forbidden(role) => chrome.t1(&format!("{key}.detail"), "role", role),
        ErrorKind::Internal => chrome.t1(&format!("{key}.detail"), "id", &request_id),
        _ => chrome.t(&format!("{key}.detail")),
    };
    let page = ErrorPage {
        title: chrome.t(&format!("{key}.title")),
        detail,
        status: status.as_u16(),
        chrome,
    };
    if hx {
        // An htmx request wants a message, not a page: put it in the message region.
        let notices =
            crate::web::Notices::one(crate::web::Notice::error(page.title, page.detail)).oob();
        return match notices.render() {
            Ok(html) => (status, [("hx-reswap", "none")], Html(html)).into_response(),
            Err(_) => response,
        };
    }
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => response,
    }
}
