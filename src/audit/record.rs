//! The helper every change goes through, so that none is ever missing from the audit log.

use std::future::Future;

use crate::{
    auth::Who,
    state::AppState,
    store::{AuditEntry, Outcome},
    web::AppError,
    wechat::{CreateOutcome, TransportKind, WeChatError},
};

/// A change about to be sent to WeChat.
pub struct Change {
    pub action: &'static str,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Runs `call` between an intent row and its outcome. If the intent cannot be written the call
/// is not made: an unrecorded change is worse than a refused one.
pub async fn record<T: Settled>(
    state: &AppState,
    who: &Who,
    change: Change,
    call: impl Future<Output = Result<T, WeChatError>>,
) -> Result<Result<T, WeChatError>, AppError> {
    let entry = AuditEntry {
        target: Some(change.target),
        before: change.before,
        after: change.after,
        ..who.audit_entry(change.action)
    };
    let id = state.store.audit_begin(&entry).await.map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "cannot write the audit log, so nothing was sent to WeChat: {e}"
        ))
    })?;
    let result = call.await;
    let (outcome, errcode, detail) = match &result {
        Ok(answer) => match answer.settled() {
            Some((outcome, errcode, detail)) => (outcome, errcode, Some(detail)),
            None => (Outcome::Ok, None, None),
        },
        Err(e) => (outcome_of(e), e.code(), Some(e.to_string())),
    };
    if let Err(e) = state
        .store
        .audit_finish(id, outcome, errcode, detail.as_deref())
        .await
    {
        // The row stays 'pending' and is settled as 'unknown' at the next start.
        tracing::error!(audit_id = id, error = %e, "cannot write the outcome to the audit log");
    }
    Ok(result)
}

/// What the audit row says of an answer that is not a plain success: the create whose lost
/// answer was settled by reading the list again.
pub trait Settled {
    /// The outcome, errcode and detail, when they are not simply "ok".
    fn settled(&self) -> Option<(Outcome, Option<i64>, String)> {
        None
    }
}

impl Settled for () {}

impl Settled for CreateOutcome {
    fn settled(&self) -> Option<(Outcome, Option<i64>, String)> {
        match self {
            CreateOutcome::Created {
                id,
                recovered_from: Some(cause),
                ..
            } => Some((
                Outcome::Ok,
                None,
                format!("created, id {id}: the answer was lost ({cause}) but the re-read found it"),
            )),
            CreateOutcome::Created { .. } => None,
            CreateOutcome::NotCreated { cause } => Some((
                Outcome::Failed,
                cause.code(),
                format!(
                    "not created: the answer was lost ({cause}) and the re-read has no such group"
                ),
            )),
        }
    }
}

/// Did WeChat do it? Only a clear refusal, or a request that never left, says "no".
pub fn outcome_of(e: &WeChatError) -> Outcome {
    match e {
        WeChatError::Api { .. } | WeChatError::Local(_) => Outcome::Failed,
        WeChatError::Transport {
            kind: TransportKind::Connect,
            ..
        } => Outcome::Failed,
        _ => Outcome::Unknown,
    }
}
