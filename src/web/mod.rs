//! The web layer: the router, its layers, and what every page shares.

pub mod assets;
pub mod body;
mod chrome;
pub mod csrf;
mod error;
mod form;
mod lang;
mod notice;
pub mod urls;

use std::{sync::Arc, time::Duration};

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

pub use chrome::{Chrome, HxRequest};
pub use csrf::new_csrf_token;
pub use error::AppError;
pub use form::Form;
pub use notice::{Notice, NoticeKind, Notices, upstream_status};
pub use urls::Urls;

use crate::{
    auth::{self, Access, ClientInfo, SignInLimiter},
    groups::GroupCache,
    store::Store,
    wechat::WeChatClient,
};

/// What every handler can reach: one `Arc`, because axum clones the state for every extractor
/// and middleware of every request (cloning each field was 2 % of a page view).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub client: WeChatClient,
    pub groups: Arc<GroupCache>,
    pub site: Arc<Site>,
    pub urls: Urls,
    pub store: Store,
    pub access: Arc<Access>,
    pub limiter: Arc<SignInLimiter>,
    pub quota: Arc<crate::status::QuotaMeter>,
    /// The background workers: batch jobs and follower syncs.
    pub jobs: Arc<crate::jobs::Runner>,
}

/// Facts about this deployment that pages show.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Running the built-in demo account (no AppID configured).
    pub demo: bool,
    /// The real account's AppID (not a secret; shown so operators know which account this is).
    pub appid: Option<String>,
    /// The origin browsers use, when a proxy makes it differ from the Host we see.
    pub public_origin: Option<String>,
    /// Who may read the probes and metrics (empty: anyone).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// For the status page.
    pub token_mode: String,
    pub wechat_api: String,
}

/// Forms here are a few short fields; anything bigger is a mistake or an attack.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// Longer than the WeChat client's own timeout plus a token fetch, so the client's clearer
/// message wins; short enough that a stuck request does not hold a connection forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wxgroups_session";

/// Builds the whole app. Tests call this too, in-process or behind a real listener.
pub fn router(state: AppState, sessions: auth::session_cache::Sessions) -> Router {
    let urls = state.urls.clone();
    let home = urls.groups();

    // Pages that need a signed-in operator (or the demo's automatic admin).
    let protected = Router::new()
        .route("/", get(move || async move { Redirect::to(&home) }))
        .merge(crate::groups::routes())
        .merge(crate::members::routes())
        .merge(crate::audit::routes())
        .merge(crate::status::routes())
        .merge(crate::jobs::routes())
        .route("/signout", post(auth::signin::sign_out))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));

    // Pages anyone may see: signing in, switching language, the static files.
    let public = Router::new()
        .route(
            "/signin",
            get(auth::signin::page).post(auth::signin::sign_in),
        )
        .route("/lang", post(lang::switch))
        .route("/assets/{file}", get(assets::serve))
        .merge(crate::status::probe_routes());

    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_path(if urls.base().is_empty() {
            "/".to_owned()
        } else {
            urls.base().to_owned()
        })
        .with_same_site(SameSite::Strict)
        .with_http_only(true)
        // `Secure` is added per request by `secure_cookies`: it depends on how the browser
        // reached us (directly over HTTPS or through a trusted proxy that says so).
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(state.access.session_idle).unwrap_or(time::Duration::HOUR),
        ));

    let mut origin_check = tower_http::csrf::CsrfLayer::new();
    if let Some(origin) = &state.site.public_origin {
        origin_check = origin_check
            .add_trusted_origin(origin.as_str())
            .expect("settings validated the public origin");
    }

    let app = public
        .merge(protected)
        .fallback(|| async { AppError::NotFound });

    let app = if urls.base().is_empty() {
        app
    } else {
        // The nested router's "/" answers "/wx"; "/wx/" (what a proxy's `location /wx/` sends
        // first) needs its own route.
        let groups = urls.groups();
        Router::new()
            .nest(urls.base(), app)
            .route(
                &urls.home(),
                get(move || async move { Redirect::to(&groups) }),
            )
            .fallback(|| async { AppError::NotFound })
    };

    // The layers every request passes, as one stack around the whole router. `Router::layer`
    // would wrap every route in each layer separately, and a request then clones one boxed
    // service per layer (a tenth of a cached page view's work was those clones).
    // Outermost first: request ids, so the trace span (and so every log line) and the response
    // carry one.
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(
            crate::status::telemetry::MakeId,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The path without the query: queries carry `next=` and OpenIDs, which logs
                // do not need.
                tracing::info_span!(
                    "request",
                    id = %crate::status::telemetry::request_id(request),
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        // Pages are `no-store` (they show live account data and carry a CSRF token); the
        // hashed assets set their own long-lived Cache-Control first.
        .layer(always(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        .layer(always(HeaderName::from_static("x-frame-options"), "DENY"))
        .layer(always(header::CACHE_CONTROL, "no-store"))
        .layer(middleware::from_fn(crate::status::telemetry::http_metrics))
        .layer(middleware::from_fn_with_state(state.clone(), error::render))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(origin_check)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::network::client_info,
        ))
        .layer(middleware::from_fn(secure_cookies))
        .layer(session_layer)
        .layer(middleware::from_fn(csrf::check))
        .service(
            app.layer(middleware::from_fn(crate::status::telemetry::note_route))
                .with_state(state),
        );
    Router::new().fallback_service(stack)
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
