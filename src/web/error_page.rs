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
    let Some(Rendered(kind)) = response.extensions().get::<Rendered>().cloned() else {
        return response;
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
            chrome,
        };
        page.render()
            .map(|html| (status, Html(html)).into_response())
    };
    rendered.unwrap_or(response)
}

/// What the page (or the htmx message) says for this kind of error.
fn notice_for(kind: &ErrorKind, chrome: &Chrome, request_id: &str) -> Notice {
    let key = match kind {
        ErrorKind::Upstream(error) => return Notice::wechat(error, chrome.lang),
        ErrorKind::NotFound => "error.not_found",
        ErrorKind::PreviewGone => "error.preview_gone",
        ErrorKind::Forbidden(_) => "error.forbidden",
        ErrorKind::Csrf => "error.csrf",
        ErrorKind::TooLarge => "error.too_large",
        ErrorKind::BadForm => "error.bad_form",
        ErrorKind::Internal => "error.internal",
    };
    let detail = match kind {
        ErrorKind::Forbidden(role) => chrome.t1(&format!("{key}.detail"), "role", role),
        ErrorKind::Internal => chrome.t1(&format!("{key}.detail"), "id", request_id),
        _ => chrome.t(&format!("{key}.detail")),
    };
    Notice::error(chrome.t(&format!("{key}.title")), detail)
}
