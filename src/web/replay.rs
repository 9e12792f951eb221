//! A plain form posted twice changes WeChat once.
//!
//! htmx forms disable their button while a request runs; a form without JavaScript cannot, and a
//! double click or a reload that re-posts sends it again. So every form carries a one-time id
//! (see `Chrome::csrf_field`): the first post with it goes ahead and its redirect is remembered;
//! a second post gets a page saying it was already done, with the way to the result. Only for
//! signed-in operators (a visitor writes nothing to the database) and only plain posts.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    state::{Actor, AppState},
    store::FormClaim,
    web::{AppError, BODY_LIMIT, htmx::is_htmx},
};

/// The hidden field with the form's one-time id.
pub const FIELD: &str = "form_id";

/// Lets the first post of each form id through and answers any other "already done".
pub async fn once(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let plain_form = request.method() == Method::POST
        && !is_htmx(request.headers())
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| {
                v.as_bytes()
                    .starts_with(b"application/x-www-form-urlencoded")
            });
    let actor = request.extensions().get::<Actor>().cloned();
    let (Some(actor), true) = (actor, plain_form) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return AppError::TooLarge.into_response();
    };
    let form_id = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
        .filter(|id| is_form_id(id));
    let request = Request::from_parts(parts, Body::from(bytes));
    let Some(form_id) = form_id else {
        return next.run(request).await;
    };
    match state.store.form_claim(&form_id, &actor.name).await {
        Ok(FormClaim::First) => first(&state, &form_id, next.run(request).await).await,
        Ok(FormClaim::Again { location }) => {
            tracing::info!(operator = %actor.name, path = %request.uri().path(), "a form was posted again; not sent twice");
            AppError::AlreadySent(location).into_response()
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// Remembers where a first post's redirect went, or frees the id when it changed nothing.
async fn first(state: &AppState, form_id: &str, response: Response) -> Response {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok());
    let stored = match (response.status(), location) {
        (StatusCode::SEE_OTHER, Some(location)) => state.store.form_done(form_id, location).await,
        _ => state.store.form_release(form_id).await,
    };
    if let Err(e) = stored {
        // The change itself went through; only a replay's answer may be less precise.
        tracing::warn!(error = %e, "cannot record a form's outcome");
    }
    response
}

/// Ids are what `new_form_id` makes: 43 URL-safe base64 characters.
fn is_form_id(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
