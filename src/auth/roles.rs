//! Roles as extractors: a handler names the least role it needs, so a route cannot forget to
//! check.

use std::convert::Infallible;

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{
    auth::ClientInfo,
    state::Actor,
    store::{AuditEntry, NewJob},
    web::AppError,
};

fn actor_of(parts: &Parts) -> Result<Actor, AppError> {
    // Routes behind `authenticate` always have one; a route outside it asking is a bug.
    parts.extensions.get::<Actor>().cloned().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("no actor: route not behind authenticate"))
    })
}

/// Who is changing something, and from where: what every audit row and job names.
#[derive(Debug, Clone)]
pub struct Who {
    pub actor: Actor,
    pub client: ClientInfo,
}

impl Who {
    fn of(parts: &Parts, actor: Actor) -> Who {
        let client = parts.extensions.get::<ClientInfo>().cloned();
        Who {
            actor,
            client: client.unwrap_or_default(),
        }
    }

    /// The start of an audit row for `action` by this operator.
    pub fn audit_entry(&self, action: &str) -> AuditEntry {
        AuditEntry {
            operator: self.actor.name.clone(),
            source: self.actor.source.as_str().into(),
            ip: self.client.ip_string(),
            action: action.into(),
            ..AuditEntry::default()
        }
    }

    /// A batch job this operator asks for.
    pub fn new_job(&self, to_group: u32, origin: &str) -> NewJob {
        NewJob {
            operator: self.actor.name.clone(),
            source: self.actor.source.as_str().into(),
            ip: self.client.ip_string(),
            to_group,
            origin: origin.into(),
        }
    }
}

/// Any signed-in role may read.
pub struct CanView(pub Actor);
/// Operators and admins may create, rename and move.
pub struct CanChange(pub Who);
/// Admins only.
pub struct IsAdmin(pub Who);

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
            Ok(CanChange(Who::of(parts, actor)))
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
            Ok(IsAdmin(Who::of(parts, actor)))
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
