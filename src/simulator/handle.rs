//! The [`Simulator`] handle: seeds the account, answers one WeChat call, injects faults, counts
//! calls, and lets tests look inside. Serving it over HTTP is `http.rs`'s job.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::Method;
use serde_json::{Value, json};

use super::endpoints::{self, Call, Endpoint};
use super::errcode::Errcode;
use super::faults::{self, Fault, Faults};
use super::state::{Setup, SimConfig, SimState, lock};

/// A simulated WeChat Official Account. Cheap to clone: clones share one account.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    setup: Setup,
    /// The one lock every request takes (see [`SimState`]).
    state: Mutex<SimState>,
    calls: Mutex<HashMap<String, u64>>,
    total_calls: AtomicU64,
    faults: Mutex<Faults>,
}

/// Unknown paths are counted too, but only this many distinct ones, so a scanner cannot grow the
/// counter map without bound.
const MAX_COUNTED_UNKNOWN_PATHS: usize = 256;

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("config", &self.inner.setup.config)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Seeds the account: groups 0/1/2, a few demo groups (ids 100–103) and `followers` followers
    /// spread over them; tag 2 (星标组) and demo tags 100–103 with overlapping members, and a few
    /// blacklisted followers; all deterministically.
    pub fn new(config: SimConfig) -> Self {
        let state = SimState::seeded(&config);
        Self {
            inner: Arc::new(Inner {
                setup: Setup::new(config),
                state: Mutex::new(state),
                calls: Mutex::new(HashMap::new()),
                total_calls: AtomicU64::new(0),
                faults: Mutex::new(Faults::default()),
            }),
        }
    }

    /// Applies `fault` to the requests for `endpoint` (`"groups/get"`, `"/cgi-bin/groups/get"`,
    /// or `"*"` for every path), replacing any fault that endpoint had.
    pub fn inject(&self, endpoint: &str, fault: Fault) {
        let key = faults::endpoint_key(endpoint);
        tracing::info!(endpoint = %key, ?fault, "simulator: fault injected");
        lock(&self.inner.faults).set(key, fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// The call counts as `/_sim/stats` shows them.
    pub(super) fn stats(&self) -> Value {
        let calls = lock(&self.inner.calls).clone();
        let faults = lock(&self.inner.faults).snapshot();
        json!({
            "total_calls": self.total_calls(),
            "calls": calls,
            "faults": faults,
        })
    }

    /// How many requests hit `path` (e.g. `"/cgi-bin/groups/get"`), successful or not.
    pub fn calls(&self, path: &str) -> u64 {
        lock(&self.inner.calls).get(path).copied().unwrap_or(0)
    }

    /// How many requests hit the simulator, all paths together.
    pub fn total_calls(&self) -> u64 {
        self.inner.total_calls.load(Ordering::Relaxed)
    }

    /// Starts counting from zero again.
    pub fn reset_calls(&self) {
        lock(&self.inner.calls).clear();
        self.inner.total_calls.store(0, Ordering::Relaxed);
    }

    /// The OpenID of the `index`-th seeded follower (0-based), the same on every run for the same
    /// AppID. An index at or beyond `followers` gives a well-formed OpenID of someone who does not
    /// follow the account.
    pub fn follower_openid(&self, index: u32) -> String {
        self.inner.setup.codec.encode(index)
    }

    /// The group a follower is in, or `None` if the OpenID is not a follower. For test
    /// assertions: not counted as a call.
    pub fn group_of(&self, openid: &str) -> Option<u32> {
        let index = self.inner.setup.codec.decode(openid)?;
        self.state().account.group_of(index)
    }

    /// Every `groups/members/batchupdate` the simulator carried out (refused ones are not
    /// listed), in order: the OpenIDs moved and the group they went to. For test assertions such
    /// as "no chunk was sent twice".
    pub fn batch_log(&self) -> Vec<(Vec<String>, u32)> {
        self.state()
            .batch_log()
            .iter()
            .map(|(indexes, to)| {
                (
                    indexes
                        .iter()
                        .map(|&i| self.inner.setup.codec.encode(i))
                        .collect(),
                    *to,
                )
            })
            .collect()
    }

    /// How many groups exist, 0, 1 and 2 included.
    pub fn group_count(&self) -> usize {
        self.state().account.group_count()
    }

    /// The tags a follower carries, ascending, or `None` if the OpenID is not a follower. For test
    /// assertions: not counted as a call.
    pub fn tags_of(&self, openid: &str) -> Option<Vec<u32>> {
        let index = self.follower_index(openid)?;
        Some(self.state().tags.tags_of(index))
    }

    /// How many tags exist, tag 2 included.
    pub fn tag_count(&self) -> usize {
        self.state().tags.count()
    }

    /// How many followers carry `tag` (0 when there is no such tag).
    pub fn tag_members(&self, tag: u32) -> u64 {
        self.state().tags.members_len(tag).unwrap_or(0)
    }

    /// Whether a follower is on the tag API's blacklist (`false` for a non-follower).
    pub fn is_blacklisted(&self, openid: &str) -> bool {
        self.follower_index(openid)
            .is_some_and(|index| self.state().tags.is_blacklisted(index))
    }

    /// Every `tags/members/batchtagging` and `batchuntagging` the simulator carried out (refused
    /// ones are not listed), in order: `"batchtagging"` or `"batchuntagging"`, the OpenIDs and the
    /// tag. Like [`Self::batch_log`].
    pub fn tag_log(&self) -> Vec<(&'static str, Vec<String>, u32)> {
        self.state()
            .tag_log()
            .iter()
            .map(|(call, indexes, tag)| {
                let openids = indexes
                    .iter()
                    .map(|&i| self.inner.setup.codec.encode(i))
                    .collect();
                (*call, openids, *tag)
            })
            .collect()
    }

    /// Creates a tag as `tags/create` would, without a call, and answers its id.
    ///
    /// # Panics
    /// If WeChat's rules refuse the name or the account has 100 tags: a test set up wrong.
    pub fn create_tag(&self, name: &str) -> u32 {
        self.state()
            .tags
            .create(name)
            .unwrap_or_else(|e| panic!("create_tag({name:?}): {}", e.code()))
    }

    /// Gives `tag` to the followers with these indexes in one cheap step (a tag with 100,001
    /// followers without 100,001 calls). Not a call, not logged, not paced.
    ///
    /// # Panics
    /// If the range goes beyond the followers, the tag is 0, 1 or unknown, or 20 other tags have
    /// members within the range (the 20-tag rule, kept coarsely): a test set up wrong.
    pub fn tag_range(&self, tag: u32, indexes: Range<u32>) {
        let mut state = self.state();
        assert!(
            indexes.end <= state.account.followers(),
            "tag_range: {indexes:?} goes beyond the {} followers",
            state.account.followers()
        );
        if let Err(e) = state.tags.tag_range(tag, indexes.clone()) {
            panic!("tag_range({tag}, {indexes:?}): {}", e.code());
        }
    }

    /// Every token handed out so far answers 42001 (expired) from now on.
    pub fn expire_tokens(&self) {
        self.state().tokens.expire_all();
    }

    /// Every access_token handed out so far (for tests that check none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().tokens.all()
    }

    /// Every token handed out so far answers 40001 (invalid) from now on.
    pub fn invalidate_tokens(&self) {
        self.state().tokens.invalidate_all();
    }

    fn state(&self) -> MutexGuard<'_, SimState> {
        lock(&self.inner.state)
    }

    /// The index of a current follower's OpenID.
    fn follower_index(&self, openid: &str) -> Option<u32> {
        let index = self.inner.setup.codec.decode(openid)?;
        (index < self.state().account.followers()).then_some(index)
    }

    /// Counts one request to `path`; `known` says it is an endpoint the simulator has.
    pub(super) fn count(&self, path: &str, known: bool) {
        self.inner.total_calls.fetch_add(1, Ordering::Relaxed);
        let mut calls = lock(&self.inner.calls);
        if let Some(n) = calls.get_mut(path) {
            *n += 1;
        } else if known || calls.len() < MAX_COUNTED_UNKNOWN_PATHS {
            calls.insert(path.to_owned(), 1);
        }
    }

    /// The fault in force for a request to `path`, if any, spending one of its `times`.
    pub(super) fn take_fault(&self, path: &str) -> Option<Fault> {
        lock(&self.inner.faults).take(path)
    }

    /// The WeChat rules every endpoint shares (method, access_token, whether the account may use
    /// the API), then the endpoint's own. The API switch comes after the token, as WeChat can only
    /// know which account calls from its token.
    pub(super) fn answer(
        &self,
        endpoint: Endpoint,
        method: &Method,
        call: &Call<'_>,
    ) -> Result<Value, Errcode> {
        if endpoint.post_only() && method != Method::POST {
            return Err(Errcode::RequirePost);
        }
        let now = std::time::Instant::now();
        let mut state = self.state();
        if endpoint.needs_token() {
            let token = call
                .param("access_token")
                .filter(|t| !t.is_empty())
                .ok_or(Errcode::AccessTokenMissing)?;
            state.tokens.check(token, now)?;
        }
        if !endpoint.allowed(&self.inner.setup.config) {
            return Err(Errcode::ApiUnauthorized);
        }
        endpoints::run(endpoint, &self.inner.setup, &mut state, call, now)
    }
}
