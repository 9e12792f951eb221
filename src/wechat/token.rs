//! The access_token: where it comes from, how long we keep it, and how it is replaced.
//!
//! Every call needs a token and every token fetch costs one of 2,000 a day, so the source caches
//! the token until shortly before it expires and lets exactly one fetch run at a time: callers
//! that arrive during a fetch wait for it and then share its token.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::endpoint::Endpoint;
use super::errors::{TransportKind, WeChatError};
use super::transport::{Request, Transport};
use super::wire::{StableTokenRequest, TokenResponse};

/// Where the access_token comes from: one of WeChat's two token endpoints, or a token service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    /// `POST /cgi-bin/stable_token`: every caller gets the same token until shortly before it
    /// expires, so several servers (or a restart) don't knock each other's tokens out.
    #[default]
    Stable,
    /// `GET /cgi-bin/token`: each fetch invalidates the previous token after five minutes. Only for
    /// accounts where nothing else holds a token.
    Classic,
    /// A GET to the configured token URL (`ClientConfig::token_url`), answering
    /// `{"access_token":…,"expires_in":…}`: a company's central token service, so that several
    /// systems sharing one AppID do not knock each other's tokens out. WeChat's token endpoints
    /// are then never called.
    External,
}

/// A token mode other than `stable` or `classic` was configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token mode {0:?}: expected \"stable\", \"classic\" or \"external\"")]
pub struct ParseTokenModeError(pub String);

impl FromStr for TokenMode {
    type Err = ParseTokenModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stable" => Ok(Self::Stable),
            "classic" => Ok(Self::Classic),
            "external" => Ok(Self::External),
            _ => Err(ParseTokenModeError(s.to_owned())),
        }
    }
}

impl fmt::Display for TokenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stable => "stable",
            Self::Classic => "classic",
            Self::External => "external",
        })
    }
}

/// Where the instances of one deployment keep the token they share (a database, sealed), so
/// that one of them fetches it and the others use it: WeChat's daily token quota is per
/// account, and in classic mode each fetch would knock out the token the others hold.
#[async_trait::async_trait]
pub trait TokenShelf: Send + Sync {
    /// The shared token and when to stop using it (µs since the epoch), if one is stored and
    /// can be opened.
    async fn load(&self) -> Option<(SecretString, i64)>;
    /// Shares a token just fetched.
    async fn put(&self, token: &SecretString, refresh_at_us: i64);
    /// Forgets the shared token if it is `token` (WeChat refused it).
    async fn discard(&self, token: &SecretString);
    /// Runs `work` while holding the deployment's lock on the token, so that of several
    /// instances needing one at once, one fetches and the others find it on the shelf.
    async fn exclusively<'a>(&'a self, work: futures_util::future::BoxFuture<'a, ()>);
}

/// One access_token as handed to a call.
///
/// The generation tells tokens apart even when WeChat hands out the same string twice (the stable
/// endpoint does exactly that), so that "expire the token that failed" never drops a newer one.
#[derive(Clone)]
pub(super) struct AccessToken {
    value: SecretString,
    generation: u64,
}

impl AccessToken {
    /// The token for the `access_token` query parameter. Never log it.
    pub(super) fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"[redacted]")
            .field("generation", &self.generation)
            .finish()
    }
}

/// The cached token and when to stop using it.
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// What the mutex guards: holding it is what makes a fetch single-flight.
#[derive(Default)]
struct Slot {
    current: Option<Cached>,
    /// How many tokens have been fetched so far: the next token's generation.
    fetched: u64,
    /// The last fetch's error and its number in `TokenSource::finished`, shared with the callers
    /// that were already waiting when it failed.
    last_failure: Option<(u64, WeChatError)>,
}

/// Fetches, caches and expires the access_token for one AppID.
pub(super) struct TokenSource {
    mode: TokenMode,
    appid: String,
    secret: SecretString,
    refresh_margin: Duration,
    slot: Mutex<Slot>,
    /// How many fetches have finished, successful or not. Read *before* waiting for the lock, it
    /// tells a caller whether a fetch ended while it waited.
    finished: AtomicU64,
    /// Shared with the deployment's other instances, when there are any.
    shelf: Option<Arc<dyn TokenShelf>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("mode", &self.mode)
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub(super) fn new(
        mode: TokenMode,
        appid: String,
        secret: SecretString,
        refresh_margin: Duration,
    ) -> Self {
        Self {
            mode,
            appid,
            secret,
            refresh_margin,
            slot: Mutex::new(Slot::default()),
            finished: AtomicU64::new(0),
            shelf: None,
        }
    }

    /// This source, sharing its token through `shelf`.
    pub(super) fn shared_on(mut self, shelf: Option<Arc<dyn TokenShelf>>) -> Self {
        self.shelf = shelf;
        self
    }

    /// The AppSecret, so that the transport can scrub it from anything it reports.
    pub(super) fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// A token that is not about to expire: the cached one, or a freshly fetched one.
    ///
    /// The lock is held across the fetch on purpose: however many callers arrive on a cold or
    /// stale cache, one fetches and the others wait, then find the fresh token when they get the
    /// lock. The fetch is bounded by the client's timeout.
    ///
    /// A failed fetch is shared the same way: the callers that were waiting for it get its error
    /// instead of each trying again in turn, which would spend one token fetch per waiter (of 2,000
    /// a day) and, with an endpoint that hangs, make the last waiter wait one timeout per caller
    /// ahead of it. A caller that arrives after the failure tries afresh.
    pub(super) async fn get(&self, transport: &Transport) -> Result<AccessToken, WeChatError> {
        let finished_before = self.finished.load(Ordering::SeqCst);
        let mut slot = self.slot.lock().await;
        if let Some(cached) = &slot.current
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        if let Some((failed_at, err)) = &slot.last_failure
            && *failed_at > finished_before
        {
            return Err(err.clone());
        }
        match &self.shelf {
            None => self.fetch_into(&mut slot, transport).await,
            Some(shelf) => self.via_shelf(shelf.as_ref(), &mut slot, transport).await,
        }
    }

    /// The shared token if there is a fresh one, else one fetched (and shared) under the
    /// deployment's token lock, after looking at the shelf again: whoever held the lock before
    /// may have just put one there.
    async fn via_shelf(
        &self,
        shelf: &dyn TokenShelf,
        slot: &mut Slot,
        transport: &Transport,
    ) -> Result<AccessToken, WeChatError> {
        if let Some(token) = self.take_shared(shelf, slot).await {
            return Ok(token);
        }
        let mut out = None;
        shelf
            .exclusively(Box::pin(async {
                if let Some(token) = self.take_shared(shelf, slot).await {
                    out = Some(Ok(token));
                    return;
                }
                let fetched = self.fetch_into(slot, transport).await;
                if let (Ok(token), Some(cached)) = (&fetched, &slot.current) {
                    let left = cached.refresh_at.saturating_duration_since(Instant::now());
                    let until = jiff::Timestamp::now().as_microsecond() + left.as_micros() as i64;
                    shelf.put(&token.value, until).await;
                }
                out = Some(fetched);
            }))
            .await;
        match out {
            Some(answer) => answer,
            // The lock could not be had (the database is down): fetch as if alone.
            None => self.fetch_into(slot, transport).await,
        }
    }

    /// The shelf's token, if it is fresh, made this instance's.
    async fn take_shared(&self, shelf: &dyn TokenShelf, slot: &mut Slot) -> Option<AccessToken> {
        let (value, refresh_at_us) = shelf.load().await?;
        let left = refresh_at_us - jiff::Timestamp::now().as_microsecond();
        if left <= 0 {
            return None;
        }
        slot.fetched += 1;
        let token = AccessToken {
            value,
            generation: slot.fetched,
        };
        slot.current = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + Duration::from_micros(left as u64),
        });
        Some(token)
    }

    /// One fetch from the token endpoint, cached in `slot` (the caller holds its lock).
    async fn fetch_into(
        &self,
        slot: &mut Slot,
        transport: &Transport,
    ) -> Result<AccessToken, WeChatError> {
        let asked_at = Instant::now();
        let outcome = self.fetch(transport).await;
        let label = match &outcome {
            Ok(_) => "ok".to_owned(),
            Err(err) => err.outcome_label(),
        };
        metrics::counter!(
            "wxgroups_token_fetches_total",
            "mode" => self.mode.to_string(),
            "outcome" => label
        )
        .increment(1);
        // Only ever changed under the lock; the atomic is for the read before it.
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        let fresh = match outcome {
            Ok(fresh) => {
                slot.last_failure = None;
                fresh
            }
            Err(err) => {
                slot.last_failure = Some((finished, err.clone()));
                return Err(err);
            }
        };
        slot.fetched += 1;
        let token = AccessToken {
            value: SecretString::from(fresh.access_token),
            generation: slot.fetched,
        };
        // Counted from when we asked, not when the answer came: the token's clock started then.
        let keep_for = refresh_after(Duration::from_secs(fresh.expires_in), self.refresh_margin);
        slot.current = Some(Cached {
            token: token.clone(),
            refresh_at: asked_at + keep_for,
        });
        tracing::debug!(
            generation = token.generation,
            expires_in = fresh.expires_in,
            keep_secs = keep_for.as_secs(),
            "wechat access_token fetched"
        );
        Ok(token)
    }

    /// Drops the cached token if it is still the one that `failed`.
    ///
    /// Compare-and-expire: while our call was in flight another caller may already have replaced
    /// the token; dropping that newer one would cost a needless fetch (and, in classic mode,
    /// invalidate the token every other caller is using).
    pub(super) async fn expire(&self, failed: &AccessToken) {
        let mut slot = self.slot.lock().await;
        if slot
            .current
            .as_ref()
            .is_some_and(|c| c.token.generation == failed.generation)
        {
            slot.current = None;
            tracing::info!(
                generation = failed.generation,
                "wechat access_token refused; dropped it"
            );
        }
        if let Some(shelf) = &self.shelf {
            shelf.discard(&failed.value).await;
        }
    }

    /// One request to the configured token endpoint.
    async fn fetch(&self, transport: &Transport) -> Result<TokenResponse, WeChatError> {
        let secret = self.secret.expose_secret();
        let response: TokenResponse = match self.mode {
            TokenMode::Stable => {
                let body = StableTokenRequest {
                    grant_type: "client_credential",
                    appid: &self.appid,
                    secret,
                    force_refresh: false,
                };
                transport
                    .exchange(&Request::post(Endpoint::StableToken, &body), &[secret])
                    .await?
            }
            TokenMode::Classic => {
                // The secret travels in the query string here; the transport strips URLs from
                // its errors and never logs the query.
                let query = [
                    ("grant_type", "client_credential"),
                    ("appid", self.appid.as_str()),
                    ("secret", secret),
                ];
                transport
                    .exchange(&Request::get(Endpoint::Token, &query), &[secret])
                    .await?
            }
            TokenMode::External => {
                // The AppSecret is not sent anywhere in this mode.
                transport
                    .exchange(&Request::get(Endpoint::ExternalToken, &[]), &[secret])
                    .await?
            }
        };
        if response.access_token.is_empty() {
            return Err(WeChatError::Transport {
                kind: TransportKind::BadBody,
                detail: format!("{} answered an empty access_token", self.mode),
            });
        }
        Ok(response)
    }
}

/// The longest a token is kept, whatever its answer says: WeChat's live 7,200 s, and an answer
/// claiming centuries (or 2^64 s, which would overflow the clock) is a broken token service.
const LONGEST_KEPT: Duration = Duration::from_secs(24 * 3600);

/// How long to use a token that WeChat says lives `expires_in`: until `margin` before the end,
/// or half its life if it is shorter than the margin (so a short-lived token is still used);
/// never longer than a day.
pub(super) fn refresh_after(expires_in: Duration, margin: Duration) -> Duration {
    let expires_in = expires_in.min(LONGEST_KEPT);
    if expires_in > margin {
        expires_in - margin
    } else {
        expires_in / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_until_the_margin_before_it_expires() {
        assert_eq!(
            refresh_after(Duration::from_secs(7200), Duration::from_secs(300)),
            Duration::from_secs(6900)
        );
    }

    #[test]
    fn a_token_is_kept_a_day_at_most_whatever_its_answer_claims() {
        let margin = Duration::from_secs(300);
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(
            refresh_after(Duration::from_secs(u64::MAX), margin),
            day - margin
        );
        assert_eq!(
            refresh_after(Duration::from_secs(1 << 40), margin),
            day - margin
        );
    }

    #[test]
    fn a_token_shorter_than_the_margin_is_kept_for_half_its_life() {
        assert_eq!(
            refresh_after(Duration::from_secs(200), Duration::from_secs(300)),
            Duration::from_secs(100)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(300), Duration::from_secs(300)),
            Duration::from_secs(150)
        );
        assert_eq!(
            refresh_after(Duration::ZERO, Duration::from_secs(300)),
            Duration::ZERO
        );
    }

    #[test]
    fn token_modes_parse_and_print() {
        assert_eq!("stable".parse(), Ok(TokenMode::Stable));
        assert_eq!(" Classic ".parse(), Ok(TokenMode::Classic));
        assert_eq!("EXTERNAL".parse(), Ok(TokenMode::External));
        assert!("central".parse::<TokenMode>().is_err());
        assert_eq!(TokenMode::default(), TokenMode::Stable);
        for mode in [TokenMode::Stable, TokenMode::Classic, TokenMode::External] {
            assert_eq!(mode.to_string().parse(), Ok(mode));
        }
    }

    #[test]
    fn a_token_and_its_source_never_debug_print_the_secret() {
        let token = AccessToken {
            value: SecretString::from("TOKEN-abc123"),
            generation: 3,
        };
        let shown = format!("{token:?}");
        assert!(!shown.contains("TOKEN-abc123"), "{shown}");
        assert!(shown.contains("generation: 3"), "{shown}");

        let source = TokenSource::new(
            TokenMode::Stable,
            "wx123".into(),
            SecretString::from("APPSECRET-xyz"),
            Duration::from_secs(300),
        );
        let shown = format!("{source:?}");
        assert!(!shown.contains("APPSECRET-xyz"), "{shown}");
        assert!(shown.contains("wx123"), "{shown}");
    }
}
