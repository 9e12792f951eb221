//! The web layer: the router, its layers, and what every page shares.

pub mod assets;
mod chrome;
mod error;
mod form;
mod lang;
mod notice;
pub mod urls;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::Redirect,
    routing::{get, post},
};
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};

pub use chrome::{Chrome, HxRequest};
pub use error::AppError;
pub use form::Form;
pub use notice::{Notice, NoticeKind, Notices};
pub use urls::Urls;

use crate::{groups::GroupCache, wechat::WeChatClient};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub client: WeChatClient,
    pub groups: Arc<GroupCache>,
    pub site: Arc<Site>,
    pub urls: Urls,
}

/// Facts about this deployment that pages show.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Running the built-in demo account (no AppID configured).
    pub demo: bool,
    /// The real account's AppID (not a secret; shown so operators know which account this is).
    pub appid: Option<String>,
}

/// Forms here are a few short fields; anything bigger is a mistake or an attack.
const BODY_LIMIT: usize = 64 * 1024;
/// Longer than the WeChat client's own timeout plus a token fetch, so the client's clearer
/// message wins; short enough that a stuck request does not hold a connection forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the whole app. Tests call this too, in-process or behind a real listener.
pub fn router(state: AppState) -> Router {
    let urls = state.urls.clone();
    let router = Router::new()
        .route(
            "/",
            get(move || async move { Redirect::to(&urls.groups()) }),
        )
        .merge(crate::groups::routes())
        .merge(crate::members::routes())
        .route("/lang", post(lang::switch))
        .route("/assets/{file}", get(assets::serve))
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ));
    with_security_headers(router)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::render,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Headers every response carries. The CSP allows scripts and styles from this origin only:
/// htmx is configured (in base.html) not to eval and not to inject its indicator styles.
fn with_security_headers(router: Router<AppState>) -> Router<AppState> {
    const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (HeaderName::from_static("x-frame-options"), "DENY"),
    ]
    .into_iter()
    .fold(router, |r, (name, value)| {
        r.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
