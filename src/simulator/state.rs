//! What the simulated account is: its setup, fixed when it is seeded, and the state every request
//! reads and changes under one lock. Shared by the endpoints and the [`super::Simulator`] handle,
//! so it imports neither.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::account::Account;
use super::openid::OpenIdCodec;
use super::tags::Tags;
use super::tokens::Tokens;

/// How the simulated account is set up.
#[derive(Clone)]
pub struct SimConfig {
    /// The AppID token requests must name.
    pub appid: String,
    /// The AppSecret token requests must carry. The simulator's own copy, so a plain `String`;
    /// it is never logged and `Debug` hides it.
    pub secret: String,
    /// How many followers the account starts with.
    pub followers: u32,
    /// A token's lifetime (`expires_in`).
    pub token_lifetime: Duration,
    /// How long the previous classic token keeps working after a new classic fetch.
    pub classic_grace: Duration,
    /// At most this many `groups/members/batchupdate`, `tags/members/batchtagging` and
    /// `batchuntagging` calls, all together, are carried out per `batch_window`; beyond that
    /// WeChat's 45011 ("API调用太频繁") answers and nothing changes. `None`: no limit.
    ///
    /// One window for the three: WeChat does not say whether the tag calls share the groups'
    /// quota, and a client that paces itself for the shared one is right either way.
    pub batch_per_minute: Option<u32>,
    /// The sliding window `batch_per_minute` counts in: a minute, as WeChat's quota; tests
    /// shorten it.
    pub batch_window: Duration,
    /// Whether the groups API (`/cgi-bin/groups/*`) answers. Off, each of its endpoints answers
    /// 48001 "api unauthorized", as for an account WeChat no longer lets use it.
    pub groups_api: bool,
    /// Whether the tag API (`/cgi-bin/tags/*`, `user/tag/get`, the blacklist) answers; off, 48001.
    /// The token and `user/*` endpoints answer either way.
    pub tags_api: bool,
}

impl Default for SimConfig {
    /// The demo account: 1,000 followers, WeChat's 7200 s tokens and 5-minute overlap, both the
    /// groups and the tag API answering.
    fn default() -> Self {
        Self {
            appid: "wxdemo0000000000".to_owned(),
            secret: "demo-secret".to_owned(),
            followers: 1_000,
            token_lifetime: Duration::from_secs(7200),
            classic_grace: Duration::from_secs(300),
            batch_per_minute: None,
            batch_window: Duration::from_secs(60),
            groups_api: true,
            tags_api: true,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("followers", &self.followers)
            .field("token_lifetime", &self.token_lifetime)
            .field("classic_grace", &self.classic_grace)
            .field("batch_per_minute", &self.batch_per_minute)
            .field("batch_window", &self.batch_window)
            .field("groups_api", &self.groups_api)
            .field("tags_api", &self.tags_api)
            .finish()
    }
}

/// The account's setup and the OpenID codec made from its AppID: read by every endpoint, never
/// changed, so outside the lock.
pub(super) struct Setup {
    pub config: SimConfig,
    pub codec: OpenIdCodec,
}

impl Setup {
    pub(super) fn new(config: SimConfig) -> Self {
        Self {
            codec: OpenIdCodec::new(&config.appid),
            config,
        }
    }
}

/// Tokens, groups and tags under one lock: a request checks its token and applies its change
/// atomically, and no handler holds it across an await.
pub(super) struct SimState {
    pub tokens: Tokens,
    pub account: Account,
    pub tags: Tags,
    /// When recent paced calls (`batchupdate`, `batchtagging`, `batchuntagging`) were carried
    /// out, for the per-minute limit.
    pub batch_times: VecDeque<Instant>,
    /// Every `batchupdate` carried out: the follower indexes and the target group, in order.
    batch_log: Vec<(Vec<u32>, u32)>,
    /// Every `batchtagging` / `batchuntagging` carried out: which of the two, the follower
    /// indexes and the tag, in order.
    tag_log: Vec<(&'static str, Vec<u32>, u32)>,
}

/// Each log keeps at most this many calls (a million followers in chunks of 50 is 20,000).
const MAX_BATCH_LOG: usize = 100_000;

impl SimState {
    /// Seeds the account as `config` says, with no token issued and no batch carried out.
    pub(super) fn seeded(config: &SimConfig) -> Self {
        Self {
            tokens: Tokens::new(config.token_lifetime, config.classic_grace),
            account: Account::seeded(config.followers),
            tags: Tags::seeded(config.followers),
            batch_times: VecDeque::new(),
            batch_log: Vec::new(),
            tag_log: Vec::new(),
        }
    }

    /// Notes a `batchupdate` carried out, while the log has room.
    pub(super) fn log_batch(&mut self, indexes: Vec<u32>, to: u32) {
        if self.batch_log.len() < MAX_BATCH_LOG {
            self.batch_log.push((indexes, to));
        }
    }

    /// Every `batchupdate` carried out, oldest first.
    pub(super) fn batch_log(&self) -> &[(Vec<u32>, u32)] {
        &self.batch_log
    }

    /// Notes a `batchtagging` or `batchuntagging` (`call`) carried out, while the log has room.
    pub(super) fn log_tagging(&mut self, call: &'static str, indexes: Vec<u32>, tag: u32) {
        if self.tag_log.len() < MAX_BATCH_LOG {
            self.tag_log.push((call, indexes, tag));
        }
    }

    /// Every `batchtagging` and `batchuntagging` carried out, oldest first.
    pub(super) fn tag_log(&self) -> &[(&'static str, Vec<u32>, u32)] {
        &self.tag_log
    }
}

/// A panic while holding a lock cannot leave the state half-changed in a way that matters more
/// than refusing every later request would, so a poisoned lock is used as is.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
