//! The one route table: every path, its handler, and the layers every request passes.
//!
//! It sits above the features (it names them all) and nothing imports it but `startup`. Paths
//! come from [`paths`], the same table the URL builder reads. Roles are not here: each handler
//! names the least role it needs as an extractor (`CanView`, `CanChange`, `IsAdmin`).

use std::time::Duration;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Redirect, Response},
    routing::{get, post},
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::{
    audit, auth,
    auth::{ClientInfo, session_cache::Sessions},
    blacklist, followers, groups, jobs, members,
    state::AppState,
    status::{self, telemetry},
    web::{self, AppError, BODY_LIMIT, SESSION_COOKIE, UPLOAD_LIMIT, Urls, assets, csrf, paths},
};

/// Longer than the WeChat client's own timeout plus a token fetch, so the client's clearer
/// message wins; short enough that a stuck request does not hold a connection forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the whole app. Tests call this too, in-process or behind a real listener.
///
/// `root` answers the deployment-wide pages (sign-in, language, assets, probes, the account
/// list) and runs the layers; `accounts` are the accounts' own states. With one account its
/// pages are at the top (`/groups`), as they always were; with several, each account's are under
/// `/a/{key}` and served with that account's state, so no handler ever sees another account's
/// client, list, store or jobs.
pub fn router(root: &AppState, accounts: &[AppState], sessions: Sessions) -> Router {
    let state = root.clone();
    let app = match accounts {
        [one] => public().merge(signed_in(one)).with_state(one.clone()),
        several => several.iter().fold(
            public()
                .merge(account_index(&state))
                .with_state(state.clone()),
            |app, account| {
                let prefix = format!("{}/{}", paths::ACCOUNTS, account.site.key);
                app.nest(&prefix, signed_in(account).with_state(account.clone()))
            },
        ),
    }
    .fallback(|| async { AppError::NotFound })
    .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed });
    let home = match accounts {
        [one] => one.urls.groups(),
        _ => state.urls.accounts(),
    };
    let app = under_base_path(app, &state.urls, home);
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(telemetry::MakeId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Pages are `no-store` (they show live account data and carry a CSRF token); the
        // hashed assets set their own long-lived Cache-Control first.
        .layer(always(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        .layer(always(HeaderName::from_static("x-frame-options"), "DENY"))
        .layer(always(header::CACHE_CONTROL, "no-store"))
        .layer(middleware::from_fn(telemetry::http_metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::render_errors,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(web::strict_utf8))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::hosts::allowed_host,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(origin_check(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::network::client_info,
        ))
        .layer(middleware::from_fn(secure_cookies))
        .layer(session_layer(&state, sessions))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::check))
        .service(app.layer(middleware::from_fn(telemetry::note_route)));
    // The layers every request passes, as one stack around the whole router (outermost first:
    // request ids, so the trace span, every log line and the response carry one).
    // `Router::layer` would wrap every route in each layer separately, and a request then clones
    // one boxed service per layer (a tenth of a cached page view's work was those clones).
    Router::new().fallback_service(stack)
}

/// With several accounts: `/` (and `/a`) go to the operator's only account, or list those
/// they may see; signing out works from the top too.
fn account_index(root: &AppState) -> Router<AppState> {
    Router::new()
        .route(paths::HOME, get(auth::accounts::index))
        .route(paths::ACCOUNTS, get(auth::accounts::index))
        .route(paths::SIGNOUT, post(auth::signin::sign_out))
        .route_layer(middleware::from_fn_with_state(
            root.clone(),
            auth::authenticate_anywhere,
        ))
}

/// Pages anyone may see: signing in, switching language, the static files, the probes.
fn public() -> Router<AppState> {
    Router::new()
        .route(
            paths::SIGNIN,
            get(auth::signin::page).post(auth::signin::sign_in),
        )
        .route(paths::LANG, post(web::lang::switch))
        .route(paths::ASSET.route, get(assets::serve))
        .route(paths::HEALTHZ, get(status::healthz))
        .route(paths::READYZ, get(status::readyz))
        .route(paths::METRICS, get(status::metrics))
}

/// Pages that need a signed-in operator (or the demo's automatic admin).
fn signed_in(state: &AppState) -> Router<AppState> {
    let home = state.urls.groups();
    Router::new()
        .route(paths::HOME, get(move || async move { Redirect::to(&home) }))
        .merge(group_routes())
        .merge(job_routes())
        .route(paths::MEMBER_LOOKUP, get(members::lookup::lookup))
        .route(paths::MEMBER_MOVE, post(members::moving::move_user))
        .route(paths::MEMBER_TAGS, post(members::tagging::change))
        .route(paths::BLACKLIST, get(blacklist::page::show))
        .route(paths::BLACKLIST_ADD, post(blacklist::change::add))
        .route(paths::BLACKLIST_REMOVE, post(blacklist::change::remove))
        .route(paths::AUDIT, get(audit::page::page))
        .route(paths::AUDIT_CSV, get(audit::page::export))
        .route(paths::STATUS, get(status::page))
        .route(paths::SIGNOUT, post(auth::signin::sign_out))
        // Inside `authenticate`: only a signed-in operator's forms are remembered.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            web::replay::once,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
}

fn group_routes() -> Router<AppState> {
    use groups::{create, delete, page, rename};
    Router::new()
        .route(paths::GROUPS, get(page::show).post(create::create))
        .route(paths::GROUPS_REFRESH, post(page::refresh))
        .route(paths::GROUP_ROW.route, get(rename::row))
        .route(paths::GROUP_EDIT.route, get(rename::edit))
        .route(paths::GROUP_RENAME.route, post(rename::rename))
        .route(
            paths::GROUP_DELETE.route,
            get(delete::confirm).post(delete::delete),
        )
        .route(paths::GROUP_MEMBERS.route, get(followers::members::page))
        .route(
            paths::GROUP_MEMBERS_MOVE.route,
            post(followers::members::move_selected),
        )
}

fn job_routes() -> Router<AppState> {
    use jobs::{copy, list, progress, queue, sync_card};
    Router::new()
        .route(paths::JOBS, get(list::index))
        .route(paths::JOBS_COPY, post(copy::preview))
        .route(paths::JOBS_UNTAG_ALL, post(jobs::listing::untag_all))
        .route(
            paths::JOBS_PREVIEW,
            post(list::preview).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(paths::JOB.route, get(progress::show))
        .route(paths::JOB_PROGRESS.route, get(progress::progress))
        .route(paths::JOB_CONFIRM.route, post(queue::confirm))
        .route(paths::JOB_DISCARD.route, post(list::discard))
        .route(paths::JOB_CANCEL.route, post(progress::cancel))
        .route(paths::JOB_CSV.route, get(progress::outcome_csv))
        .route(
            paths::FOLLOWERS_SYNC,
            get(sync_card::sync_panel).post(sync_card::sync),
        )
}

/// The app under `WXGROUPS_BASE_PATH`, when there is one.
fn under_base_path(app: Router, urls: &Urls, home: String) -> Router {
    if urls.root().is_empty() {
        return app;
    }
    // The nested router's "/" answers "/wx"; "/wx/" (what a proxy's `location /wx/` sends
    // first) needs its own route: the groups page, or the account list with several.
    let groups = home;
    Router::new()
        .nest(urls.root(), app)
        .route(
            &urls.home(),
            get(move || async move { Redirect::to(&groups) }),
        )
        .fallback(|| async { AppError::NotFound })
}

/// The trace span of a request: the path without the query (queries carry `next=` and OpenIDs,
/// which logs do not need).
fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        id = %telemetry::request_id(request),
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// tower-http's check that a change comes from this site's origin (or the public one).
fn origin_check(state: &AppState) -> tower_http::csrf::CsrfLayer {
    let mut check = tower_http::csrf::CsrfLayer::new();
    if let Some(origin) = &state.site.public_origin {
        check = check
            .add_trusted_origin(origin.as_str())
            .expect("settings validated the public origin");
    }
    check
}

fn session_layer(state: &AppState, sessions: Sessions) -> SessionManagerLayer<Sessions> {
    let base = state.urls.root();
    SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_path(if base.is_empty() { "/" } else { base }.to_owned())
        .with_same_site(SameSite::Strict)
        .with_http_only(true)
        // `Secure` is added per request by `secure_cookies`: it depends on how the browser
        // reached us (directly over HTTPS or through a trusted proxy that says so).
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.access.session_idle).unwrap_or(time::Duration::HOUR),
        ))
}

/// Marks every cookie `Secure` when the browser reached us over HTTPS, directly or through a
/// trusted proxy (`X-Forwarded-Proto: https`). Over plain HTTP (the demo, a loopback test) a
/// Secure cookie would never come back.
async fn secure_cookies(request: Request, next: Next) -> Response {
    let https = request
        .extensions()
        .get::<ClientInfo>()
        .is_some_and(|c| c.https);
    let mut response = next.run(request).await;
    if https {
        let cookies: Vec<HeaderValue> = response
            .headers_mut()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| {
                let s = v.to_str().unwrap_or_default();
                if s.to_ascii_lowercase().contains("; secure") {
                    v.clone()
                } else {
                    HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or_else(|_| v.clone())
                }
            })
            .collect();
        response.headers_mut().remove(header::SET_COOKIE);
        for c in cookies {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    response
}

/// The Content-Security-Policy of every response: scripts and styles from this origin only.
/// htmx is configured (in base.html) not to eval and not to inject its indicator styles.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A header every response carries unless the handler set its own.
fn always(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
