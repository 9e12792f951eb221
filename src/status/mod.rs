//! How the service is doing: `/healthz`, `/readyz`, `/metrics` for whoever runs it, and the
//! status page (today's quota, the circuit) for operators.

pub mod telemetry;

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{
    auth::{CanView, ClientInfo},
    state::AppState,
    web::{AppError, Chrome, html},
    wechat::CircuitState,
};

/// The meter lives with the state; its day and caps are what the status page shows.
pub use crate::state::quota;

fn allowed(state: &AppState, client: &ClientInfo) -> bool {
    let allow = &state.site.metrics_allow;
    allow.is_empty()
        || client
            .ip
            .is_some_and(|ip| allow.iter().any(|n| n.contains(&ip)))
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "not allowed from this address (WXGROUPS_METRICS_ALLOW)\n",
    )
        .into_response()
}

/// The process is alive and serving.
pub async fn healthz(State(state): State<AppState>, client: ClientInfo) -> Response {
    if !allowed(&state, &client) {
        return refused();
    }
    (StatusCode::OK, "ok\n").into_response()
}

/// Ready to do real work: the database answers and an access_token can be had.
pub async fn readyz(State(state): State<AppState>, client: ClientInfo) -> Response {
    if !allowed(&state, &client) {
        return refused();
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready: database");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database does not answer\n",
        )
            .into_response();
    }
    if let Err(e) = state.client.access_token_ready().await {
        tracing::warn!(error = %e, "not ready: access_token");
        let why = e.title(crate::i18n::Lang::En);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: no access_token ({why})\n"),
        )
            .into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>, client: ClientInfo) -> Response {
    if !allowed(&state, &client) {
        return refused();
    }
    // The circuit's gauge is set when it changes; set it here too so a scrape is never stale.
    metrics::gauge!("wxgroups_circuit_state").set(state.client.circuit().state.gauge());
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        telemetry::render(),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    chrome: Chrome,
    day: String,
    usage: Vec<quota::Usage>,
    resets_in: String,
    circuit: String,
    circuit_ok: bool,
    last_error: Option<String>,
    failures: u32,
    token_mode: String,
    wechat_api: String,
    /// With several instances: this one's name, and the one running the account's jobs.
    instances: Option<(String, String)>,
}

/// On a shared database: this instance, and which instance holds the account's job lease.
async fn instances(state: &AppState, chrome: &Chrome) -> Option<(String, String)> {
    if !state.store.engine().is_shared() {
        return None;
    }
    let lease = &state.jobs.jobs_lease;
    let runs_jobs = match lease.current_holder().await {
        Ok(Some(holder)) => holder,
        Ok(None) => chrome.t("status.no_job_instance"),
        Err(_) => chrome.t("status.job_instance_unknown"),
    };
    Some((lease.holder().to_owned(), runs_jobs))
}

/// `GET /status`.
pub async fn page(
    State(state): State<AppState>,
    _: CanView,
    chrome: Chrome,
) -> Result<Response, AppError> {
    state.quota.catch_up().await;
    let (day, usage) = state.quota.today();
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::offset(8).to_time_zone());
    let midnight = now
        .date()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::offset(8).to_time_zone()).ok());
    let resets_in = midnight
        .map(|m| {
            let secs = (m.timestamp().as_second() - now.timestamp().as_second()).max(0);
            chrome.t2(
                "status.resets_in",
                "h",
                secs / 3600,
                "m",
                (secs % 3600) / 60,
            )
        })
        .unwrap_or_default();
    let c = state.client.circuit();
    let (circuit, circuit_ok) = match c.state {
        CircuitState::Closed => (chrome.t("status.circuit.closed"), true),
        CircuitState::HalfOpen => (chrome.t("status.circuit.half_open"), false),
        CircuitState::Open => (chrome.t("status.circuit.open"), false),
    };
    let lang = chrome.lang;
    let instances = instances(&state, &chrome).await;
    let page = StatusPage {
        instances,
        day,
        usage,
        resets_in,
        circuit,
        circuit_ok,
        last_error: c
            .last_error
            .map(|e| format!("{} — {}", e.title(lang), e.explain(lang))),
        failures: c.consecutive_failures,
        token_mode: state.site.token_mode.clone(),
        wechat_api: state.site.wechat_api.clone(),
        chrome,
    };
    html(&page)
}
