//! What the other instances announce (PostgreSQL's LISTEN/NOTIFY), handed to this one's parts:
//! a newer group list, a job queued or a sync asked for on another instance.
//!
//! A notification is a hint, never the record: the record is in the database. A listener that
//! lost its connection may have missed some, so after every (re)connection each list is read
//! again from the database at its next view and each worker looks for work.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::AppState;
use crate::store::{CHANNEL, Store};

/// Listens for as long as the process runs (returns at once on SQLite: nobody else to hear).
pub async fn listen(store: Store, states: Vec<AppState>) {
    let Some(pool) = store.engine().postgres().cloned() else {
        return;
    };
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => hear(&mut listener, &states).await,
                Err(e) => tracing::warn!(error = %e, "cannot listen for the other instances"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot listen for the other instances"),
        }
        // The database is away: try again soon (pages meanwhile say it is unavailable).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Hands announcements on until the listener fails for good.
async fn hear(listener: &mut PgListener, states: &[AppState]) {
    missed(states);
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) => dispatch(states, notice.payload()),
            // The connection dropped and is made again at the next call: what was announced
            // in between is lost.
            Ok(None) => missed(states),
            Err(e) => {
                tracing::warn!(error = %e, "lost the connection that hears the other instances");
                missed(states);
                return;
            }
        }
    }
}

/// Announcements may have been missed: read each list again, look for work.
fn missed(states: &[AppState]) {
    for state in states {
        state.groups.suspect();
        state.jobs.jobs_wake.notify_one();
        state.jobs.sync_wake.notify_one();
    }
}

/// `list KEY VERSION`, `jobs KEY`, `sync KEY`; `signin-…` (see `SignInLimiter::heard`)
/// (the sign-in limiter is the deployment's, shared by every account's state).
fn dispatch(states: &[AppState], payload: &str) {
    let mut words = payload.split(' ');
    let (Some(what), Some(key)) = (words.next(), words.next()) else {
        return;
    };
    if what.starts_with("signin-") {
        if let Some(first) = states.first() {
            first.limiter.heard(payload);
        }
        return;
    }
    let Some(state) = states.iter().find(|s| s.site.key == key) else {
        return;
    };
    match what {
        "list" => {
            if let Some(version) = words.next().and_then(|v| v.parse().ok()) {
                state.groups.announced(version);
            }
        }
        "jobs" => state.jobs.jobs_wake.notify_one(),
        "sync" => state.jobs.sync_wake.notify_one(),
        _ => {}
    }
}
