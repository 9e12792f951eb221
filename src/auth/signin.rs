//! The sign-in page, signing in and signing out.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    auth::{ClientInfo, MaybeActor, password},
    state::{Actor, AppState, Source, session_keys as keys},
    store::{AuditEntry, OperatorRecord, Outcome, now_us},
    web::{AppError, Chrome, Form, HxRequest, Query, Reply, html, new_csrf_token},
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
    html(&page)
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
    hx: HxRequest,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim().chars().take(64).collect::<String>();
    let next = state.urls.local_or_home(&form.next);
    let entry = AuditEntry {
        operator: name.clone(),
        source: Source::Builtin.as_str().into(),
        ip: client.ip_string(),
        action: "signin".into(),
        ..AuditEntry::default()
    };
    let reply = Reply::new(hx);
    match check(&state, &chrome, &client, &entry, &form.password).await? {
        Ok(op) => {
            begin_session(&session, &op).await?;
            let entry = AuditEntry {
                operator: op.name.clone(),
                ..entry
            };
            state.store.audit(&entry, Outcome::Ok, None).await?;
            tracing::info!(operator = %op.name, role = %op.role, "signed in");
            reply.or_redirect(next)
        }
        Err((status, message)) => {
            let page = SignInPage {
                proxy_hint: state.access.auth_header.is_some(),
                chrome,
                name,
                next,
                error: Some(message),
            };
            reply.status(status).or_page(|_| html(&page))
        }
    }
}

/// The operator these credentials name, or the status and the message to refuse them with.
/// Every refusal is in the audit log.
async fn check(
    state: &AppState,
    chrome: &Chrome,
    client: &ClientInfo,
    entry: &AuditEntry,
    password: &str,
) -> Result<Result<OperatorRecord, (StatusCode, String)>, AppError> {
    let ip = client.ip_string().unwrap_or_else(|| "-".into());
    let name = &entry.operator;
    if let Some(wait) = state.limiter.blocked(&ip, name) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let why = Some("rate limited");
        state.store.audit(entry, Outcome::Failed, why).await?;
        let message = chrome.t1("signin.too_many", "minutes", minutes);
        return Ok(Err((StatusCode::TOO_MANY_REQUESTS, message)));
    }
    let record = if name.is_empty() {
        None
    } else {
        state.store.operator_by_name(name).await?
    };
    // Argon2 is deliberately slow: keep it off the async workers.
    let pw = password.to_owned();
    let stored = record.as_ref().map(|r| r.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || password::verify(&pw, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    // Told to the other instances before the answer goes out, so that the next attempt,
    // wherever the balancer sends it, counts this one.
    if let Some(op) = record.filter(|r| matches && !r.disabled) {
        let told = state.limiter.succeeded(name);
        state.store.announce(&told).await?;
        return Ok(Ok(op));
    }
    let told = state.limiter.failed(&ip, name);
    state.store.announce(&told).await?;
    let why = Some("wrong name or password, or disabled");
    state.store.audit(entry, Outcome::Failed, why).await?;
    tracing::warn!(operator = %name, ip = %ip, "failed sign-in");
    // One message for every case: it must not tell which part was wrong.
    Ok(Err((StatusCode::UNAUTHORIZED, chrome.t("signin.wrong"))))
}

/// Signs `op` in on this session, under a new id: whatever id the browser had before (maybe
/// planted by someone) is dead now.
async fn begin_session(session: &Session, op: &OperatorRecord) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(keys::OPERATOR_ID, op.id).await?;
    session.insert(keys::SIGNED_IN_AT, now_us()).await?;
    session.insert(keys::CSRF, new_csrf_token()).await?;
    Ok(())
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
            .await?;
        tracing::info!(operator = %name, "signed out");
    }
    session.delete().await?;
    Ok(Redirect::to(&state.urls.signin()).into_response())
}
