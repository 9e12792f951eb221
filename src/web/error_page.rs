//! The page (or, for htmx, the message) an error response gets, in the operator's language.

use askama::Template;
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use axum_htmx::{HxReswap, SwapOption};

use crate::{
    state::AppState,
    web::{
        Chrome, Notice, Notices,
        error::{ErrorKind, Rendered},
        htmx,
    },
};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: String,
    detail: String,
    status: u16,
    /// To quote to an administrator; the same id is on every log line of the request.
    request_id: String,
    /// Where the operator goes on from here, when that is not the groups page.
    next: Option<String>,
}

/// Gives marked error responses a real page in the operator's language.
pub async fn render(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Most responses are not errors: keep only what an error page would need (header values
    // are shared, not copied) and build the page's chrome when there is one to render.
    let hx = htmx::is_htmx(request.headers());
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
    let kind = match response.extensions().get::<Rendered>() {
        Some(Rendered(kind)) => kind.clone(),
        None if is_bare_error(&response) => ErrorKind::of_bare(response.status()),
        None => return response,
    };
    let request_id = id
        .as_ref()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    let (mut parts, ()) = kept.into_parts();
    let chrome = <Chrome as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    .unwrap_or_else(|never| match never {});
    let status = response.status();
    let notice = notice_for(&kind, &chrome, request_id);
    let rendered = if hx {
        // An htmx request wants a message, not a page: put it in the message region.
        Notices::one(notice)
            .oob()
            .render()
            .map(|html| (status, HxReswap(SwapOption::None), Html(html)).into_response())
    } else {
        let page = ErrorPage {
            title: notice.title,
            detail: notice.detail.unwrap_or_default(),
            status: status.as_u16(),
            request_id: request_id.to_owned(),
            next: match &kind {
                ErrorKind::AlreadySent(location) => location.clone(),
                _ => None,
            },
            chrome,
        };
        page.render()
            .map(|html| (status, Html(html)).into_response())
    };
    rendered.unwrap_or(response)
}

/// An error status with no body type: made by a layer or the framework, not by our handlers
/// (which mark theirs), so it would otherwise reach the browser blank.
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE)
}

/// What the page (or the htmx message) says for this kind of error.
fn notice_for(kind: &ErrorKind, chrome: &Chrome, request_id: &str) -> Notice {
    if let ErrorKind::Upstream(error) = kind {
        return Notice::wechat(error, chrome.lang);
    }
    let key = kind.key();
    let detail = match kind {
        ErrorKind::Forbidden(role) => chrome.t1(&format!("{key}.detail"), "role", role),
        ErrorKind::Internal => chrome.t1(&format!("{key}.detail"), "id", request_id),
        ErrorKind::UnknownHost(host) => chrome.t1(&format!("{key}.detail"), "host", host),
        _ => chrome.t(&format!("{key}.detail")),
    };
    Notice::error(chrome.t(&format!("{key}.title")), detail)
}
