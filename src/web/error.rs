//! One error type for everything a handler cannot answer with its own page.
//!
//! Validation problems never get here: handlers re-render their form with the message (422).
//! What does get here is turned into a response in two steps: `IntoResponse` picks the status
//! and marks the response; the error-page middleware (`error_page.rs`), which knows the
//! request's language and base path, replaces the body with a proper page. Internal causes are
//! logged once with the request id and never shown.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{state::Role, store::StoreError, web::upstream_status, wechat::WeChatError};

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
    Forbidden(Role),
    /// 403: a change without this session's CSRF token (or from another origin).
    #[error("CSRF check failed")]
    CsrfRefused,
    /// 400: a body that is not the form the page sends.
    #[error("malformed form: {0}")]
    BadForm(String),
    /// 400: a form, query or path that is not UTF-8 (or declares another character set).
    #[error("not UTF-8: {0}")]
    NotUtf8(&'static str),
    /// 400: a query parameter this page does not understand (`?page=abc`).
    #[error("malformed query: {0}")]
    BadQuery(String),
    /// 405: a method this path does not answer (a GET of a form's target).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 403: a change sent from another site (the `Origin` / `Sec-Fetch-Site` check).
    #[error("cross-site request refused")]
    CrossSite,
    /// 400: a request for a `Host` this deployment does not serve (see `web::hosts`).
    #[error("host not allowed: {0:?}")]
    UnknownHost(String),
    /// 409: a plain form posted a second time; where the first post's result is, once known.
    #[error("form already sent")]
    AlreadySent(Option<String>),
    /// 503: the request took longer than the app's timeout.
    #[error("request timed out")]
    Timeout,
    /// 503: the database does not answer (down, restarting, out of reach); nothing of the
    /// request was done that needed it.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// 409 when WeChat refused (an errcode), 502 when it did not answer properly: for a
    /// handler that has no form of its own to show the message in.
    #[error("WeChat: {0}")]
    Upstream(WeChatError),
    /// 500: a bug or an environment problem; the cause goes to the log only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template: {e}"))
    }
}

/// The database failing is an environment problem: logged, and a 500 with the request id —
/// unless it does not answer at all (a restart, a network cut), which the operator is told in
/// so many words, with a 503 that says "try again" to them and to the load balancer.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            AppError::DatabaseUnavailable(e.to_string())
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// The session store is the database too, and what fails there is reaching it: its errors
/// carry only their text (the backend's), so a session the database cannot load or save is
/// the database being unavailable.
impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::DatabaseUnavailable(format!("session store: {e}"))
    }
}

impl From<WeChatError> for AppError {
    fn from(e: WeChatError) -> Self {
        AppError::Upstream(e)
    }
}

/// The marker the render middleware looks for.
#[derive(Debug, Clone)]
pub(super) struct Rendered(pub(super) ErrorKind);

#[derive(Debug, Clone)]
pub(super) enum ErrorKind {
    NotFound,
    PreviewGone,
    Forbidden(Role),
    Upstream(WeChatError),
    Csrf,
    CrossSite,
    TooLarge,
    BadForm,
    NotUtf8,
    BadQuery,
    MethodNotAllowed,
    Timeout,
    DatabaseUnavailable,
    UnknownHost(String),
    AlreadySent(Option<String>),
    Internal,
}

impl ErrorKind {
    /// The kind of a bare error response that none of our handlers made: a framework's or a
    /// layer's (the origin check, the timeout, the router), so that it gets a page too.
    pub(super) fn of_bare(status: StatusCode) -> ErrorKind {
        match status {
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::FORBIDDEN => ErrorKind::CrossSite,
            StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
            s if s.is_client_error() => ErrorKind::BadForm,
            _ => ErrorKind::Internal,
        }
    }

    /// The catalogue entry for the page's title and detail.
    pub(super) fn key(&self) -> &'static str {
        match self {
            ErrorKind::NotFound => "error.not_found",
            ErrorKind::PreviewGone => "error.preview_gone",
            ErrorKind::Forbidden(_) => "error.forbidden",
            ErrorKind::Upstream(_) => "error.upstream",
            ErrorKind::Csrf => "error.csrf",
            ErrorKind::CrossSite => "error.cross_site",
            ErrorKind::TooLarge => "error.too_large",
            ErrorKind::BadForm => "error.bad_form",
            ErrorKind::NotUtf8 => "error.not_utf8",
            ErrorKind::BadQuery => "error.bad_query",
            ErrorKind::MethodNotAllowed => "error.method",
            ErrorKind::Timeout => "error.timeout",
            ErrorKind::DatabaseUnavailable => "error.database",
            ErrorKind::UnknownHost(_) => "error.unknown_host",
            ErrorKind::AlreadySent(Some(_)) => "error.already_sent",
            ErrorKind::AlreadySent(None) => "error.still_sending",
            ErrorKind::Internal => "error.internal",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, ErrorKind::NotFound),
            AppError::PreviewGone => (StatusCode::GONE, ErrorKind::PreviewGone),
            AppError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge),
            AppError::Forbidden(role) => (StatusCode::FORBIDDEN, ErrorKind::Forbidden(*role)),
            AppError::CsrfRefused => (StatusCode::FORBIDDEN, ErrorKind::Csrf),
            AppError::Upstream(error) => {
                tracing::warn!(%error, "WeChat call failed");
                (upstream_status(error), ErrorKind::Upstream(error.clone()))
            }
            AppError::BadForm(why) => {
                tracing::info!(%why, "refused a malformed form");
                (StatusCode::BAD_REQUEST, ErrorKind::BadForm)
            }
            AppError::NotUtf8(what) => {
                tracing::info!(%what, "refused text that is not UTF-8");
                (StatusCode::BAD_REQUEST, ErrorKind::NotUtf8)
            }
            AppError::BadQuery(why) => {
                tracing::info!(%why, "refused a malformed query");
                (StatusCode::BAD_REQUEST, ErrorKind::BadQuery)
            }
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorKind::MethodNotAllowed)
            }
            AppError::CrossSite => (StatusCode::FORBIDDEN, ErrorKind::CrossSite),
            AppError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Timeout),
            AppError::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorKind::DatabaseUnavailable,
                )
            }
            AppError::AlreadySent(location) => (
                StatusCode::CONFLICT,
                ErrorKind::AlreadySent(location.clone()),
            ),
            AppError::UnknownHost(host) => (
                StatusCode::BAD_REQUEST,
                ErrorKind::UnknownHost(host.clone()),
            ),
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
