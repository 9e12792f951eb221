//! The sign-in page, signing in and signing out.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    auth::{Actor, ClientInfo, MaybeActor, Source, keys, password, session_error},
    store::{AuditEntry, Outcome},
    web::{AppError, AppState, Chrome, Form},
};

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub chrome: Chrome,
    pub name: String,
    pub next: String,
    pub error: Option<String>,
    pub proxy_hint: bool,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    reason: String,
}

/// `GET /signin`.
pub async fn page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeActor(actor): MaybeActor,
    Query(q): Query<SignInQuery>,
) -> Result<Response, AppError> {
    let next = state.urls.local_or_home(&q.next);
    if actor.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let error = match q.reason.as_str() {
        "expired" => Some(chrome.t("signin.expired")),
        _ => None,
    };
    let page = SignInPage {
        proxy_hint: state.access.auth_header.is_some(),
        chrome,
        name: String::new(),
        next,
        error,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /signin`.
pub async fn sign_in(
    State(state): State<AppState>,
    chrome: Chrome,
    session: Session,
    client: ClientInfo,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let ip = client.ip_string().unwrap_or_else(|| "-".into());
    let name = form.name.trim().chars().take(64).collect::<String>();
    let next = state.urls.local_or_home(&form.next);
    let mut page = SignInPage {
        proxy_hint: state.access.auth_header.is_some(),
        chrome: chrome.clone(),
        name: name.clone(),
        next: next.clone(),
        error: None,
    };
    let entry = AuditEntry {
        operator: name.clone(),
        source: Source::Builtin.as_str().into(),
        ip: client.ip_string(),
        action: "signin".into(),
        ..AuditEntry::default()
    };

    if let Some(wait) = state.limiter.blocked(&ip, &name) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        page.error = Some(chrome.t1("signin.too_many", "minutes", minutes));
        state
            .store
            .audit(&entry, Outcome::Failed, Some("rate limited"))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, Html(page.render()?)).into_response());
    }

    let record = if name.is_empty() {
        None
    } else {
        state
            .store
            .operator_by_name(&name)
            .await
            .map_err(|e| AppError::Internal(e.into()))?
    };
    // Argon2 is deliberately slow: keep it off the async workers.
    let pw = form.password.clone();
    let stored = record.as_ref().map(|r| r.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || password::verify(&pw, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;

    let ok_record = record.filter(|r| matches && !r.disabled);
    let Some(op) = ok_record else {
        state.limiter.failed(&ip, &name);
        state
            .store
            .audit(
                &entry,
                Outcome::Failed,
                Some("wrong name or password, or disabled"),
            )
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        tracing::warn!(operator = %name, ip = %ip, "failed sign-in");
        // One message for every case: it must not tell which part was wrong.
        page.error = Some(chrome.t("signin.wrong"));
        return Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response());
    };

    state.limiter.succeeded(&name);
    // A new id: whatever id the browser had before (maybe planted by someone) is dead now.
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(keys::OPERATOR_ID, op.id)
        .await
        .map_err(session_error)?;
    session
        .insert(keys::SIGNED_IN_AT, crate::store::now_us())
        .await
        .map_err(session_error)?;
    session
        .insert(keys::CSRF, crate::web::new_csrf_token())
        .await
        .map_err(session_error)?;
    let entry = AuditEntry {
        operator: op.name.clone(),
        ..entry
    };
    state
        .store
        .audit(&entry, Outcome::Ok, None)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tracing::info!(operator = %op.name, role = %op.role, "signed in");
    Ok(Redirect::to(&next).into_response())
}

/// `POST /signout`: ends the session on the server, not only in the browser.
pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    MaybeActor(actor): MaybeActor,
) -> Result<Response, AppError> {
    if let Some(Actor { name, source, .. }) = actor {
        state
            .store
            .audit(
                &AuditEntry {
                    operator: name.clone(),
                    source: source.as_str().into(),
                    ip: client.ip_string(),
                    action: "signout".into(),
                    ..AuditEntry::default()
                },
                Outcome::Ok,
                None,
            )
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        tracing::info!(operator = %name, "signed out");
    }
    session.delete().await.map_err(session_error)?;
    Ok(Redirect::to(&state.urls.signin()).into_response())
}
