//! Who is acting: built-in operators (password, session), proxy single sign-on, the demo admin.
//!
//! The `authenticate` middleware decides once per request and puts an [`Actor`] in the request's
//! extensions; handlers demand a minimum role with the [`CanView`], [`CanChange`] and
//! [`IsAdmin`] extractors, so a route cannot forget to check.

pub mod cli;
mod limiter;
pub mod network;
pub mod password;
pub mod session_cache;
pub mod signin;

use std::{collections::HashMap, convert::Infallible, fmt, time::Duration};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderName, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use ipnet::IpNet;
use tower_sessions::Session;

pub use limiter::SignInLimiter;
pub use network::ClientInfo;

pub use crate::store::Role;
use crate::web::{AppError, AppState};

/// Session keys, in one place.
pub(crate) mod keys {
    pub const OPERATOR_ID: &str = "operator_id";
    pub const SIGNED_IN_AT: &str = "signed_in_at_us";
    pub const CSRF: &str = "csrf";
}

/// How the actor was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Builtin,
    Proxy,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Proxy => "proxy",
            Source::Demo => "demo",
        }
    }
}

/// The operator behind this request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    pub source: Source,
}

impl Actor {
    pub fn can_change(&self) -> bool {
        self.role >= Role::Operator
    }
    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role)
    }
}

/// Sign-in and proxy settings.
#[derive(Debug, Clone)]
pub struct Access {
    /// The header a trusted proxy puts the operator's identity in (e.g. X-Auth-Request-Email).
    pub auth_header: Option<HeaderName>,
    /// Peers whose forwarding headers we believe.
    pub trusted_proxies: Vec<IpNet>,
    pub proxy_default_role: Role,
    /// Per-user roles for proxy users, keys in lower case.
    pub proxy_roles: HashMap<String, Role>,
    /// The demo signs everyone in as its admin; a configured account never does.
    pub demo: bool,
    pub session_idle: Duration,
    pub session_max: Duration,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            auth_header: None,
            trusted_proxies: Vec::new(),
            proxy_default_role: Role::Viewer,
            proxy_roles: HashMap::new(),
            demo: false,
            session_idle: Duration::from_secs(60 * 60),
            session_max: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// Decides who is acting, or sends the browser to the sign-in page.
pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    match identify(&state, &session, request.extensions().get::<ClientInfo>()).await {
        Ok(Some(actor)) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Ok(None) => {
            // The full path (with the base path that `nest` strips from `uri()`).
            let here = request
                .extensions()
                .get::<axum::extract::OriginalUri>()
                .map_or(request.uri(), |o| &o.0)
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let to = state.urls.signin_next(&here);
            if request.headers().contains_key("hx-request") {
                // htmx follows HX-Redirect with a full page load instead of swapping a login form
                // into a table cell.
                ([("hx-redirect", to)], "").into_response()
            } else {
                Redirect::to(&to).into_response()
            }
        }
        Err(e) => e.into_response(),
    }
}

async fn identify(
    state: &AppState,
    session: &Session,
    client: Option<&ClientInfo>,
) -> Result<Option<Actor>, AppError> {
    let access = &state.access;
    // 1. A trusted proxy vouches for the operator.
    // (`client_info` only fills `proxy_user` from a trusted peer's configured header.)
    if let Some(name) = client.and_then(|c| c.proxy_user.as_deref()) {
        let role = access
            .proxy_roles
            .get(&name.to_lowercase())
            .copied()
            .unwrap_or(access.proxy_default_role);
        return Ok(Some(Actor {
            name: name.to_owned(),
            role,
            source: Source::Proxy,
        }));
    }
    // 2. A session from the sign-in page.
    let id: Option<i64> = session
        .get(keys::OPERATOR_ID)
        .await
        .map_err(session_error)?;
    if let Some(id) = id {
        let signed_in_at: i64 = session
            .get(keys::SIGNED_IN_AT)
            .await
            .map_err(session_error)?
            .unwrap_or(0);
        let now = crate::store::now_us();
        let too_old = now - signed_in_at > access.session_max.as_micros() as i64;
        let record = state
            .store
            .operator_by_id_cached(id)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        match record {
            Some(op) if !op.disabled && !too_old && signed_in_at >= op.sessions_valid_after => {
                return Ok(Some(Actor {
                    name: op.name,
                    role: op.role,
                    source: Source::Builtin,
                }));
            }
            _ => {
                // Disabled, password changed, or past the absolute lifetime: end it here too.
                session.flush().await.map_err(session_error)?;
            }
        }
    }
    // 3. The demo account needs no sign-in.
    if access.demo {
        return Ok(Some(Actor {
            name: "demo".into(),
            role: Role::Admin,
            source: Source::Demo,
        }));
    }
    Ok(None)
}

pub(crate) fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("session store: {e}"))
}

fn actor_of(parts: &Parts) -> Result<Actor, AppError> {
    // Routes behind `authenticate` always have one; a route outside it asking is a bug.
    parts.extensions.get::<Actor>().cloned().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("no actor: route not behind authenticate"))
    })
}

/// Any signed-in role may read.
pub struct CanView(pub Actor);
/// Operators and admins may create, rename and move.
pub struct CanChange(pub Actor);
/// Admins only.
pub struct IsAdmin(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CanView {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        actor_of(parts).map(CanView)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CanChange {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let actor = actor_of(parts)?;
        if actor.can_change() {
            Ok(CanChange(actor))
        } else {
            tracing::warn!(operator = %actor.name, role = %actor.role, path = %parts.uri.path(), "refused: role cannot change");
            Err(AppError::Forbidden(actor.role))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IsAdmin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let actor = actor_of(parts)?;
        if actor.is_admin() {
            Ok(IsAdmin(actor))
        } else {
            tracing::warn!(operator = %actor.name, role = %actor.role, path = %parts.uri.path(), "refused: admin only");
            Err(AppError::Forbidden(actor.role))
        }
    }
}

/// The actor if there is one (pages outside `authenticate`, like the sign-in page, have none).
pub struct MaybeActor(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeActor {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(MaybeActor(parts.extensions.get::<Actor>().cloned()))
    }
}
