//! access_tokens: the classic one (each fetch supersedes the last after a grace period) and the
//! stable one (shared by every caller until shortly before it expires).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::errcode::Errcode;

/// A stable token with less than this left is replaced on the next normal-mode call (WeChat's
/// documented behaviour); the old one still works until its own expiry.
const STABLE_RENEW_BEFORE: Duration = Duration::from_secs(300);
/// `force_refresh: true` is allowed once every 30 s ...
const FORCE_REFRESH_SPACING: Duration = Duration::from_secs(30);
/// ... and 20 times a day.
const FORCE_REFRESH_PER_DAY: usize = 20;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Random bytes per token: 102 bytes are 136 base64url characters, the length of real ones.
const TOKEN_BYTES: usize = 102;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Classic,
    Stable,
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    expires_at: Instant,
    /// Set when a newer token supersedes this one: from then on it answers 40001.
    revoked_at: Option<Instant>,
    /// `Simulator::expire_tokens` was called: answers 42001 whatever the clock says.
    forced_expired: bool,
    /// `Simulator::invalidate_tokens` was called: answers 40001.
    forced_invalid: bool,
}

/// A token handed to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
}

/// Every token the simulator has handed out, and which of them is current.
#[derive(Debug)]
pub(crate) struct Tokens {
    lifetime: Duration,
    classic_grace: Duration,
    tokens: HashMap<String, Token>,
    classic_current: Option<String>,
    stable_current: Option<String>,
    /// When `force_refresh: true` was granted, oldest first, at most a day back.
    force_refreshes: VecDeque<Instant>,
}

impl Tokens {
    pub(crate) fn new(lifetime: Duration, classic_grace: Duration) -> Self {
        Self {
            lifetime,
            classic_grace,
            tokens: HashMap::new(),
            classic_current: None,
            stable_current: None,
            force_refreshes: VecDeque::new(),
        }
    }

    /// `GET /cgi-bin/token`: always a new token; the previous classic token keeps working for the
    /// grace period only, so two servers fetching their own tokens knock each other out.
    /// Every token ever issued (valid or not).
    pub(crate) fn all(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    pub(crate) fn issue_classic(&mut self, now: Instant) -> Issued {
        self.prune(now);
        if let Some(prev) = self.classic_current.take() {
            self.revoke(&prev, now + self.classic_grace);
        }
        let token = self.mint(Kind::Classic, now);
        self.classic_current = Some(token.clone());
        Issued {
            access_token: token,
            expires_in: self.lifetime.as_secs(),
        }
    }

    /// `POST /cgi-bin/stable_token`.
    pub(crate) fn issue_stable(
        &mut self,
        now: Instant,
        force_refresh: bool,
    ) -> Result<Issued, Errcode> {
        self.prune(now);
        if force_refresh {
            while self
                .force_refreshes
                .front()
                .is_some_and(|&t| now.duration_since(t) >= DAY)
            {
                self.force_refreshes.pop_front();
            }
            if self
                .force_refreshes
                .back()
                .is_some_and(|&t| now.duration_since(t) < FORCE_REFRESH_SPACING)
            {
                return Err(Errcode::MinuteQuota);
            }
            if self.force_refreshes.len() >= FORCE_REFRESH_PER_DAY {
                return Err(Errcode::DailyQuota);
            }
            self.force_refreshes.push_back(now);
            // WeChat: "强制刷新模式，会导致上次获取的 access_token 失效" — the previous stable
            // token stops working at once, unlike the classic one's 5-minute overlap.
            if let Some(prev) = self.stable_current.take() {
                self.revoke(&prev, now);
            }
        } else if let Some(current) = &self.stable_current
            && let Some(t) = self.tokens.get(current)
        {
            let usable = !t.forced_expired && !t.forced_invalid && t.revoked_at.is_none();
            let left = t.expires_at.saturating_duration_since(now);
            if usable && left > STABLE_RENEW_BEFORE {
                return Ok(Issued {
                    access_token: current.clone(),
                    expires_in: left.as_secs(),
                });
            }
        }
        // A normal-mode renewal leaves the old token alone: it is valid until its own expiry.
        let token = self.mint(Kind::Stable, now);
        self.stable_current = Some(token.clone());
        Ok(Issued {
            access_token: token,
            expires_in: self.lifetime.as_secs(),
        })
    }

    /// Whether `token` may call an API right now.
    pub(crate) fn check(&self, token: &str, now: Instant) -> Result<(), Errcode> {
        let Some(t) = self.tokens.get(token) else {
            return Err(Errcode::InvalidCredential);
        };
        if t.forced_invalid || t.revoked_at.is_some_and(|at| now >= at) {
            return Err(Errcode::InvalidCredential);
        }
        if t.forced_expired || now >= t.expires_at {
            return Err(Errcode::AccessTokenExpired);
        }
        Ok(())
    }

    /// Every token handed out so far answers 42001 from now on.
    pub(crate) fn expire_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.forced_expired = true;
        }
    }

    /// Every token handed out so far answers 40001 from now on.
    pub(crate) fn invalidate_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.forced_invalid = true;
        }
    }

    fn mint(&mut self, kind: Kind, now: Instant) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.tokens.insert(
            token.clone(),
            Token {
                kind,
                expires_at: now + self.lifetime,
                revoked_at: None,
                forced_expired: false,
                forced_invalid: false,
            },
        );
        token
    }

    fn revoke(&mut self, token: &str, at: Instant) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked_at = Some(t.revoked_at.map_or(at, |earlier| earlier.min(at)));
        }
    }

    /// Forgets tokens whose revocation has passed: an unknown token answers 40001 too, so the
    /// answer does not change, and a client that fetches classic tokens in a loop cannot grow the
    /// map without bound. Expired ones are kept (they must keep answering 42001, not 40001) until
    /// a day after expiry.
    fn prune(&mut self, now: Instant) {
        self.tokens.retain(|_, t| {
            let revoked = t.revoked_at.is_some_and(|at| now >= at);
            let long_dead = now.saturating_duration_since(t.expires_at) > DAY;
            !(revoked || long_dead)
        });
        debug_assert!(
            self.tokens
                .values()
                .filter(|t| t.kind == Kind::Classic && t.revoked_at.is_none())
                .count()
                <= 1
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Duration = Duration::from_secs(7200);
    const GRACE: Duration = Duration::from_secs(300);

    fn tokens() -> Tokens {
        Tokens::new(LIFE, GRACE)
    }

    #[test]
    fn a_token_looks_like_a_real_one() {
        let mut t = tokens();
        let a = t.issue_classic(Instant::now());
        assert!(a.access_token.len() >= 100);
        assert!(
            a.access_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(a.expires_in, 7200);
    }

    #[test]
    fn a_new_classic_token_leaves_the_old_one_working_for_the_grace_period_only() {
        let mut t = tokens();
        let now = Instant::now();
        let old = t.issue_classic(now).access_token;
        let new = t.issue_classic(now).access_token;
        assert_ne!(old, new);
        assert_eq!(t.check(&old, now + GRACE - Duration::from_secs(1)), Ok(()));
        assert_eq!(t.check(&old, now + GRACE), Err(Errcode::InvalidCredential));
        assert_eq!(t.check(&new, now + GRACE), Ok(()));
    }

    #[test]
    fn a_token_past_its_lifetime_answers_42001() {
        let mut t = tokens();
        let now = Instant::now();
        let a = t.issue_classic(now).access_token;
        assert_eq!(t.check(&a, now + LIFE), Err(Errcode::AccessTokenExpired));
    }

    #[test]
    fn an_unknown_token_answers_40001() {
        assert_eq!(
            tokens().check("nope", Instant::now()),
            Err(Errcode::InvalidCredential)
        );
    }

    #[test]
    fn the_stable_token_is_shared_until_five_minutes_before_expiry() {
        let mut t = tokens();
        let now = Instant::now();
        let a = t.issue_stable(now, false).unwrap();
        let later = now + Duration::from_secs(1000);
        let b = t.issue_stable(later, false).unwrap();
        assert_eq!(a.access_token, b.access_token);
        assert_eq!(b.expires_in, 6200);

        let near_end = now + LIFE - Duration::from_secs(299);
        let c = t.issue_stable(near_end, false).unwrap();
        assert_ne!(c.access_token, a.access_token);
        assert_eq!(c.expires_in, 7200);
        // The old one still works until its own expiry.
        assert_eq!(t.check(&a.access_token, near_end), Ok(()));
        assert_eq!(
            t.check(&a.access_token, now + LIFE),
            Err(Errcode::AccessTokenExpired)
        );
    }

    #[test]
    fn classic_and_stable_tokens_do_not_affect_each_other() {
        let mut t = tokens();
        let now = Instant::now();
        let s = t.issue_stable(now, false).unwrap().access_token;
        t.issue_classic(now);
        t.issue_classic(now);
        assert_eq!(t.check(&s, now + GRACE * 2), Ok(()));
        assert_eq!(t.issue_stable(now, false).unwrap().access_token, s);
    }

    #[test]
    fn force_refresh_replaces_the_stable_token_at_once() {
        let mut t = tokens();
        let now = Instant::now();
        let a = t.issue_stable(now, false).unwrap().access_token;
        let b = t.issue_stable(now, true).unwrap().access_token;
        assert_ne!(a, b);
        assert_eq!(t.check(&a, now), Err(Errcode::InvalidCredential));
        assert_eq!(t.check(&b, now), Ok(()));
    }

    #[test]
    fn force_refresh_needs_30_seconds_between_calls_and_stops_at_20_a_day() {
        let mut t = tokens();
        let now = Instant::now();
        t.issue_stable(now, true).unwrap();
        assert_eq!(
            t.issue_stable(now + Duration::from_secs(29), true),
            Err(Errcode::MinuteQuota)
        );
        for i in 1..20 {
            t.issue_stable(now + Duration::from_secs(30 * i), true)
                .unwrap();
        }
        let after = now + Duration::from_secs(30 * 20);
        assert_eq!(t.issue_stable(after, true), Err(Errcode::DailyQuota));
        // A day after the first one, one more is allowed.
        assert!(t.issue_stable(now + DAY, true).is_ok());
    }

    #[test]
    fn expire_all_and_invalidate_all_reach_every_token_and_new_ones_work() {
        let mut t = tokens();
        let now = Instant::now();
        let c = t.issue_classic(now).access_token;
        let s = t.issue_stable(now, false).unwrap().access_token;
        t.expire_all();
        assert_eq!(t.check(&c, now), Err(Errcode::AccessTokenExpired));
        assert_eq!(t.check(&s, now), Err(Errcode::AccessTokenExpired));
        // The stable endpoint must not hand out the expired token again.
        let s2 = t.issue_stable(now, false).unwrap().access_token;
        assert_ne!(s2, s);
        assert_eq!(t.check(&s2, now), Ok(()));
        t.invalidate_all();
        assert_eq!(t.check(&s2, now), Err(Errcode::InvalidCredential));
    }

    #[test]
    fn superseded_classic_tokens_are_forgotten_after_their_grace() {
        let mut t = tokens();
        let now = Instant::now();
        for i in 0..100 {
            t.issue_classic(now + GRACE * i);
        }
        assert!(t.tokens.len() <= 2, "{}", t.tokens.len());
    }
}
