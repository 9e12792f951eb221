//! The retry policy: which failures are retried, for which calls, how often and how long apart.
//!
//! One table, by call kind, so that no handler decides this for itself:
//!
//! | kind | calls | retried on |
//! |---|---|---|
//! | read | groups/get, groups/getid, user/get, user/info/batchget, tags/get, tags/getidlist, user/tag/get, tags/members/getblacklist, token fetches | -1, HTTP 5xx, timeout, connect error, broken connection |
//! | absolute write | groups/update, members/update, members/batchupdate, tags/update, batchtagging, batchuntagging, batchblacklist, batchunblacklist | same (doing it twice ends in the same state) |
//! | delete | groups/delete, tags/delete | same; a 40050 (45159 for tags) after an ambiguous attempt is success |
//! | create | groups/create, tags/create | never: an ambiguous failure is settled by re-reading the list |
//!
//! Never retried anywhere: 45009/45011 (a retry spends more of the quota it is out of), any other
//! errcode (WeChat answered properly), an answer that arrived but is not the documented JSON
//! (asking again gets the same page), a locally refused call. Token errors have their own rule
//! (one new token, one more attempt) in the client.

use std::time::Duration;

use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::errors::{TransportKind, WeChatError};

/// How retries are paced; from `ClientConfig`.
pub(super) struct Settings {
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub deadline: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallKind {
    Read,
    AbsoluteWrite,
    Delete,
    Create,
}

impl CallKind {
    pub(super) fn of(endpoint: Endpoint) -> Self {
        match endpoint {
            Endpoint::Token
            | Endpoint::StableToken
            | Endpoint::ExternalToken
            | Endpoint::GroupsGet
            | Endpoint::GroupsGetId
            | Endpoint::UserGet
            | Endpoint::UserInfoBatchGet
            | Endpoint::TagsGet
            | Endpoint::TagsGetIdList
            | Endpoint::TagMembers
            | Endpoint::Blacklist => Self::Read,
            // Tagging someone twice, or blacklisting them twice, ends in the same state.
            Endpoint::GroupsUpdate
            | Endpoint::MembersUpdate
            | Endpoint::MembersBatchUpdate
            | Endpoint::TagsUpdate
            | Endpoint::TagsBatchTagging
            | Endpoint::TagsBatchUntagging
            | Endpoint::BatchBlacklist
            | Endpoint::BatchUnblacklist => Self::AbsoluteWrite,
            Endpoint::GroupsDelete | Endpoint::TagsDelete => Self::Delete,
            Endpoint::GroupsCreate | Endpoint::TagsCreate => Self::Create,
        }
    }

    /// Whether a call of this kind is attempted again after `err`. An answer we could read but
    /// that is not the documented shape is not retried (it would come again); a connection
    /// that closed mid-answer is.
    pub(super) fn retries(self, err: &WeChatError) -> bool {
        if self == Self::Create {
            return false;
        }
        match err {
            WeChatError::Api { code, .. } => *code == -1,
            WeChatError::Transport { kind, .. } => match kind {
                TransportKind::Timeout | TransportKind::Connect => true,
                TransportKind::HttpStatus(status) => *status >= 500,
                TransportKind::Closed => true,
                TransportKind::BadBody => false,
            },
            WeChatError::Local(_)
            | WeChatError::OutcomeUnknown { .. }
            | WeChatError::CircuitOpen { .. } => false,
        }
    }
}

/// Whether a write that failed so may nevertheless have been carried out: the request went out
/// and no proper answer came back. A connect error is not ambiguous (nothing was sent), nor is
/// any errcode but -1 (WeChat refused it).
pub(super) fn is_ambiguous(err: &WeChatError) -> bool {
    match err {
        WeChatError::Api { code, .. } => *code == -1,
        WeChatError::Transport { kind, .. } => match kind {
            TransportKind::Timeout | TransportKind::Closed | TransportKind::BadBody => true,
            TransportKind::HttpStatus(status) => *status >= 500,
            TransportKind::Connect => false,
        },
        _ => false,
    }
}

/// The wait before retry number `retries + 1`: uniformly random up to `base × 2^retries`
/// ("full jitter"), so that many clients failing together do not retry together.
pub(super) fn backoff(base: Duration, retries: u32) -> Duration {
    let cap = base.saturating_mul(1u32 << retries.min(16));
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

pub(super) fn past_deadline(settings: &Settings, started: Instant) -> bool {
    started.elapsed() >= settings.deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: TransportKind) -> WeChatError {
        WeChatError::Transport {
            kind,
            detail: String::new(),
        }
    }

    fn api(code: i64) -> WeChatError {
        WeChatError::Api {
            code,
            errmsg: String::new(),
        }
    }

    #[test]
    fn reads_and_absolute_writes_retry_transient_failures_only() {
        for kind in [CallKind::Read, CallKind::AbsoluteWrite, CallKind::Delete] {
            assert!(kind.retries(&api(-1)));
            assert!(kind.retries(&transport(TransportKind::Timeout)));
            assert!(kind.retries(&transport(TransportKind::Connect)));
            assert!(kind.retries(&transport(TransportKind::HttpStatus(503))));
            assert!(kind.retries(&transport(TransportKind::Closed)));
            assert!(!kind.retries(&transport(TransportKind::BadBody)));
            assert!(!kind.retries(&transport(TransportKind::HttpStatus(404))));
            for code in [45009, 45011, 40003, 40050, 45018, 40001] {
                assert!(!kind.retries(&api(code)), "{kind:?} {code}");
            }
        }
    }

    #[test]
    fn the_follower_list_and_user_info_are_reads() {
        assert_eq!(CallKind::of(Endpoint::UserGet), CallKind::Read);
        assert_eq!(CallKind::of(Endpoint::UserInfoBatchGet), CallKind::Read);
        assert_eq!(
            CallKind::of(Endpoint::MembersBatchUpdate),
            CallKind::AbsoluteWrite
        );
    }

    #[test]
    fn create_is_never_retried_and_only_sent_failures_are_ambiguous() {
        assert!(!CallKind::Create.retries(&api(-1)));
        assert!(!CallKind::Create.retries(&transport(TransportKind::Connect)));
        assert!(is_ambiguous(&api(-1)));
        assert!(is_ambiguous(&transport(TransportKind::Timeout)));
        assert!(is_ambiguous(&transport(TransportKind::BadBody)));
        assert!(is_ambiguous(&transport(TransportKind::Closed)));
        assert!(is_ambiguous(&transport(TransportKind::HttpStatus(502))));
        assert!(!is_ambiguous(&transport(TransportKind::Connect)));
        assert!(!is_ambiguous(&api(45009)));
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_cap() {
        let base = Duration::from_millis(100);
        for retries in 0..4 {
            for _ in 0..50 {
                assert!(backoff(base, retries) <= base * (1 << retries));
            }
        }
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }
}
