//! The `authenticate` middleware: decides once per request who is acting (a proxy's user, a
//! signed-in operator, the demo's admin) and puts the [`Actor`] in the request's extensions, or
//! sends the browser to the sign-in page.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use crate::{
    auth::ClientInfo,
    state::{Actor, AppState, Role, Roles, Source, session_keys as keys},
    web::{
        AppError,
        htmx::{HxRedirect, is_htmx},
    },
};

/// Decides who is acting on this state's account, or sends the browser to the sign-in page.
pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let account = state.account().cloned();
    let on_account = move |actor: Actor| match &account {
        Some(a) => actor.on(a),
        None => Some(actor),
    };
    gate(&state, &session, request, next, on_account).await
}

/// The same for the deployment-wide pages (the account list): signed in is enough.
pub async fn authenticate_anywhere(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    gate(&state, &session, request, next, Some).await
}

async fn gate(
    state: &AppState,
    session: &Session,
    mut request: Request,
    next: Next,
    allowed: impl FnOnce(Actor) -> Option<Actor>,
) -> Response {
    match identify(state, session, request.extensions().get::<ClientInfo>()).await {
        Ok(Some(actor)) => match allowed(actor) {
            Some(actor) => {
                request.extensions_mut().insert(actor);
                next.run(request).await
            }
            // Not theirs to see: as if it did not exist, so that account keys cannot be probed.
            None => AppError::NotFound.into_response(),
        },
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
            if is_htmx(request.headers()) {
                // htmx follows HX-Redirect with a full page load instead of swapping a login form
                // into a table cell.
                (HxRedirect(to), "").into_response()
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
            roles: Roles::Proxy(role),
        }));
    }
    // 2. A session from the sign-in page.
    let id: Option<i64> = session.get(keys::OPERATOR_ID).await?;
    if let Some(id) = id {
        let signed_in_at: i64 = session.get(keys::SIGNED_IN_AT).await?.unwrap_or(0);
        let now = crate::store::now_us();
        let too_old = now - signed_in_at > access.session_max.as_micros() as i64;
        let record = state.store.operator_by_id_cached(id).await?;
        match record {
            Some(op) if !op.disabled && !too_old && signed_in_at >= op.sessions_valid_after => {
                let roles = if op.grants.is_empty() {
                    Roles::Everywhere(op.role)
                } else {
                    Roles::Granted(op.grants.clone().into())
                };
                return Ok(Some(Actor {
                    name: op.name,
                    role: op.role,
                    source: Source::Builtin,
                    roles,
                }));
            }
            _ => {
                // Disabled, password changed, or past the absolute lifetime: end it here too.
                session.flush().await?;
            }
        }
    }
    // 3. The demo account needs no sign-in.
    if access.demo {
        return Ok(Some(Actor {
            name: "demo".into(),
            role: Role::Admin,
            source: Source::Demo,
            roles: Roles::Everywhere(Role::Admin),
        }));
    }
    Ok(None)
}
