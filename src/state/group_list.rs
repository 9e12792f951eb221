//! The group list, kept in memory so that a page view costs WeChat nothing.
//!
//! WeChat allows about 1,000 `groups/get` calls a day. The cache is refreshed on the operator's
//! explicit request or once it is older than `max_age`, patched from our own successful writes in
//! between, and never cleared by a failure: a bad answer leaves the last good list in place.
//!
//! ## Several instances
//! On a shared database ([`Shared`]) the list of record is the one stored there: a fetch from
//! WeChat happens under a deployment-wide lock and is stored, so that the other instances read
//! it from the database instead of asking WeChat again (one `groups/get` per refresh for the
//! whole deployment); each instance's patches change the stored list under its row lock; each
//! change is announced (NOTIFY), and an instance that hears of a newer version than its own
//! reads it on its next page view. A page view with nothing announced still costs no query. A
//! listener that lost its connection may have missed announcements: it marks every list
//! [`GroupCache::suspect`], and the next view of each reads the stored one.

use std::{
    fmt,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use jiff::Timestamp;

use crate::{
    domain::{Api, GroupId, GroupName},
    i18n::Lang,
    store::{Role, Store, StoredList},
    wechat::{Group, WeChatClient, WeChatError},
};

/// One fetched list, with the time it was fetched.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Ordered by id, as WeChat sends them.
    pub groups: Vec<Group>,
    pub fetched_at: Timestamp,
    fetched: Instant,
    /// Bumped by every refresh and every patch, so a caller can tell whether anything changed.
    pub version: u64,
    /// The table's rows as rendered from this list (a patched copy starts empty).
    pub rows: RenderedRows,
}

impl Snapshot {
    pub fn total_followers(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    pub fn find(&self, id: GroupId) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn find_by_name(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn age(&self) -> Duration {
        self.fetched.elapsed()
    }

    /// The group other than `except` that already has `name`, if any.
    pub fn name_taken(&self, name: &GroupName, except: Option<GroupId>) -> Option<GroupId> {
        self.groups
            .iter()
            .find(|g| g.name == name.as_str() && Some(g.id) != except)
            .map(|g| g.id)
    }
}

/// What a page gets: the list (if there ever was one) and the error of a refresh that failed.
#[derive(Debug)]
pub struct View {
    pub snapshot: Option<Arc<Snapshot>>,
    pub error: Option<WeChatError>,
}

pub struct GroupCache {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Held while fetching, so a thousand cold requests cost one `groups/get`.
    refreshing: tokio::sync::Mutex<()>,
    max_age: Duration,
    /// Whose list this is: `groups/get` or `tags/get`.
    api: Api,
    /// The last fetch was answered 48001: this account may not use `api` at all.
    unavailable: std::sync::atomic::AtomicBool,
    /// On a shared database: the stored list of record.
    shared: Option<Shared>,
}

/// The stored list of a shared database, and whether ours may be behind it.
struct Shared {
    store: Store,
    /// Another instance announced a newer version than ours, or announcements may have been
    /// missed: the next view reads the stored list.
    behind: AtomicBool,
}

impl GroupCache {
    pub fn new(max_age: Duration, api: Api) -> Self {
        GroupCache {
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            max_age,
            api,
            unavailable: std::sync::atomic::AtomicBool::new(false),
            shared: None,
        }
    }

    /// This list, kept with the other instances' through the database of `store` (when it is
    /// a shared one).
    pub fn shared_through(mut self, store: &Store) -> Self {
        if store.engine().is_shared() {
            self.shared = Some(Shared {
                store: store.clone(),
                behind: AtomicBool::new(false),
            });
        }
        self
    }

    /// An instance announced `version` of this list: ours is behind if older.
    pub fn announced(&self, version: u64) {
        if let Some(shared) = &self.shared
            && self.peek().is_none_or(|s| s.version < version)
        {
            shared.behind.store(true, Ordering::Relaxed);
        }
    }

    /// Announcements may have been missed (the listener reconnected): read the stored list
    /// at the next view.
    pub fn suspect(&self) {
        if let Some(shared) = &self.shared {
            shared.behind.store(true, Ordering::Relaxed);
        }
    }

    fn behind(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.behind.load(Ordering::Relaxed))
    }

    /// Whether WeChat said (48001, at the last fetch) that this account may not use the API the
    /// list comes from: every page says so, and suggests the other one.
    pub fn api_unavailable(&self) -> bool {
        self.unavailable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The cached list without any upstream call, fresh or not.
    pub fn peek(&self) -> Option<Arc<Snapshot>> {
        self.current.read().expect("group cache lock").clone()
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        if self.behind() {
            return None;
        }
        self.peek().filter(|s| s.age() < self.max_age)
    }

    /// The list for a page view: the cached one while fresh, else fetched once for all waiters.
    pub async fn view(&self, client: &WeChatClient) -> View {
        if let Some(s) = self.fresh() {
            metrics::counter!("wxgroups_group_cache_total", "result" => "hit").increment(1);
            return View {
                snapshot: Some(s),
                error: None,
            };
        }
        let _guard = self.refreshing.lock().await;
        // Whoever held the lock before us may have just fetched it.
        if let Some(s) = self.fresh() {
            metrics::counter!("wxgroups_group_cache_total", "result" => "hit").increment(1);
            return View {
                snapshot: Some(s),
                error: None,
            };
        }
        metrics::counter!("wxgroups_group_cache_total", "result" => "miss").increment(1);
        match &self.shared {
            None => self.fetch_locked(client).await,
            Some(shared) => self.fetch_shared(client, shared, None).await,
        }
    }

    /// The operator's "refresh from WeChat": always fetches, unless a fetch that started after
    /// this request was made already finished while we waited for the lock.
    pub async fn refresh(&self, client: &WeChatClient) -> View {
        let asked = Instant::now();
        let asked_at = Timestamp::now();
        let _guard = self.refreshing.lock().await;
        if let Some(s) = self.peek().filter(|s| s.fetched >= asked) {
            return View {
                snapshot: Some(s),
                error: None,
            };
        }
        match &self.shared {
            None => self.fetch_locked(client).await,
            Some(shared) => self.fetch_shared(client, shared, Some(asked_at)).await,
        }
    }

    /// The stored list if it will do (fresh, or fetched after `asked` for an explicit
    /// refresh), else one fetch from WeChat for the whole deployment: under the deployment's
    /// lock for this list, re-reading the stored one first (another instance may have just
    /// fetched it while we waited), and storing what WeChat answered.
    async fn fetch_shared(
        &self,
        client: &WeChatClient,
        shared: &Shared,
        asked: Option<Timestamp>,
    ) -> View {
        let will_do = |stored: &StoredList| match asked {
            Some(asked) => stored.fetched_at >= asked.as_microsecond(),
            None => age_of(stored) < self.max_age,
        };
        shared.behind.store(false, Ordering::Relaxed);
        match self.adopt_stored(shared, will_do).await {
            Ok(Some(view)) => return view,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the stored list; asking WeChat"),
        }
        let lock = format!("list:{}:{}", shared.store.account(), self.api.as_str());
        let fetched = shared.store.exclusively(&lock, async {
            if let Ok(Some(view)) = self.adopt_stored(shared, will_do).await {
                return view;
            }
            let view = self.fetch_locked(client).await;
            if view.error.is_none()
                && let Some(s) = &view.snapshot
            {
                self.store_fetched(shared, s).await;
            }
            view
        });
        match fetched.await {
            Ok(view) => view,
            // The database is down: this instance asks WeChat alone rather than show nothing.
            Err(_) => self.fetch_locked(client).await,
        }
    }

    /// Installs the stored list if `will_do` says so (and answers the view of it).
    async fn adopt_stored(
        &self,
        shared: &Shared,
        will_do: impl Fn(&StoredList) -> bool,
    ) -> Result<Option<View>, crate::store::StoreError> {
        let Some(stored) = shared.store.list_stored(self.api.as_str()).await? else {
            return Ok(None);
        };
        if !will_do(&stored) {
            return Ok(None);
        }
        Ok(self.install(&stored).map(|snapshot| View {
            snapshot: Some(snapshot),
            error: None,
        }))
    }

    /// Makes the stored list this instance's (unless ours is already as new).
    fn install(&self, stored: &StoredList) -> Option<Arc<Snapshot>> {
        let groups = decode(&stored.body)?;
        let version = u64::try_from(stored.version).unwrap_or(0);
        let mut current = self.current.write().expect("group cache lock");
        if let Some(s) = current.as_ref().filter(|s| s.version == version) {
            return Some(s.clone());
        }
        let snapshot = Arc::new(Snapshot {
            groups,
            fetched_at: Timestamp::from_microsecond(stored.fetched_at)
                .unwrap_or_else(|_| Timestamp::now()),
            fetched: Instant::now()
                .checked_sub(age_of(stored))
                .unwrap_or_else(Instant::now),
            version,
            rows: Default::default(),
        });
        *current = Some(snapshot.clone());
        Some(snapshot)
    }

    async fn store_fetched(&self, shared: &Shared, s: &Snapshot) {
        let stored = shared
            .store
            .list_store(
                self.api.as_str(),
                s.fetched_at.as_microsecond(),
                &encode(&s.groups),
            )
            .await;
        match stored {
            Ok(stored) => {
                self.install(&stored);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot store the fetched list for the other instances")
            }
        }
    }

    async fn fetch_locked(&self, client: &WeChatClient) -> View {
        let answer = client.get_list(self.api).await;
        let unauthorized = matches!(&answer, Err(e) if e.code() == Some(48001));
        self.unavailable
            .store(unauthorized, std::sync::atomic::Ordering::Relaxed);
        match answer {
            Ok(mut groups) => {
                groups.sort_by_key(|g| g.id);
                let mut current = self.current.write().expect("group cache lock");
                let version = current.as_ref().map_or(1, |s| s.version + 1);
                let snapshot = Arc::new(Snapshot {
                    groups,
                    fetched_at: Timestamp::now(),
                    fetched: Instant::now(),
                    version,
                    rows: Default::default(),
                });
                *current = Some(snapshot.clone());
                View {
                    snapshot: Some(snapshot),
                    error: None,
                }
            }
            Err(error) => View {
                snapshot: self.peek(),
                error: Some(error),
            },
        }
    }

    /// Applies a change we made ourselves and WeChat accepted. Without a list there is nothing
    /// to patch: the next view fetches one that already contains the change.
    ///
    /// On a shared database the stored list is changed (under its row lock, so two
    /// instances' patches both land) and becomes ours.
    async fn patch(&self, f: impl Fn(&mut Vec<Group>)) {
        if let Some(shared) = &self.shared {
            let stored = shared
                .store
                .list_patch(self.api.as_str(), |body| {
                    let mut groups = decode(body)?;
                    f(&mut groups);
                    Some(encode(&groups))
                })
                .await;
            match stored {
                Ok(Some(stored)) => {
                    self.install(&stored);
                    return;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot patch the stored list"),
            }
        }
        let mut current = self.current.write().expect("group cache lock");
        if let Some(old) = current.as_ref() {
            let mut next = Snapshot::clone(old);
            f(&mut next.groups);
            next.version += 1;
            *current = Some(Arc::new(next));
        }
    }

    /// A group WeChat just created (it starts empty).
    pub async fn created(&self, id: GroupId, name: &str) {
        self.patch(|groups| {
            if groups.iter().all(|g| g.id != id) {
                groups.push(Group {
                    id,
                    name: name.to_owned(),
                    count: 0,
                });
                groups.sort_by_key(|g| g.id);
            }
        })
        .await;
    }

    pub async fn renamed(&self, id: GroupId, name: &str) {
        self.patch(|groups| {
            if let Some(g) = groups.iter_mut().find(|g| g.id == id) {
                g.name = name.to_owned();
            }
        })
        .await;
    }

    /// `n` followers went from one group to another.
    pub async fn moved(&self, from: GroupId, to: GroupId, n: u64) {
        if from == to {
            return;
        }
        self.patch(|groups| {
            if let Some(g) = groups.iter_mut().find(|g| g.id == from) {
                g.count = g.count.saturating_sub(n);
            }
            if let Some(g) = groups.iter_mut().find(|g| g.id == to) {
                g.count += n;
            }
        })
        .await;
    }

    /// `n` followers were given tag `id` (`added`) or had it taken away: a tag's count
    /// changes on its own, since a follower carries several tags.
    pub async fn tag_count_changed(&self, id: GroupId, n: u64, added: bool) {
        self.patch(|groups| {
            if let Some(g) = groups.iter_mut().find(|g| g.id == id) {
                g.count = if added {
                    g.count + n
                } else {
                    g.count.saturating_sub(n)
                };
            }
        })
        .await;
    }

    /// A group WeChat deleted: its members went back to 未分组.
    pub async fn deleted(&self, id: GroupId) {
        self.patch(|groups| {
            if let Some(pos) = groups.iter().position(|g| g.id == id) {
                let gone = groups.remove(pos);
                if let Some(g) = groups.iter_mut().find(|g| g.id == GroupId::UNGROUPED) {
                    g.count += gone.count;
                }
            }
        })
        .await;
    }
}

/// How old a stored list is, by the clock of the instance that fetched it.
fn age_of(stored: &StoredList) -> Duration {
    let micros = crate::store::now_us().saturating_sub(stored.fetched_at);
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// The list as stored: `[[id, name, count], …]`.
fn encode(groups: &[Group]) -> String {
    let rows: Vec<(u32, &str, u64)> = groups
        .iter()
        .map(|g| (g.id.get(), g.name.as_str(), g.count))
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

/// A stored list; `None` if it is not one (then it is fetched again, never trusted).
fn decode(body: &str) -> Option<Vec<Group>> {
    let rows: Vec<(u32, String, u64)> = serde_json::from_str(body).ok()?;
    Some(
        rows.into_iter()
            .map(|(id, name, count)| Group {
                id: GroupId::from_upstream(id),
                name,
                count,
            })
            .collect(),
    )
}

/// Rendered rows: cheap to clone, and sent to the socket without a copy (`Bytes`).
#[derive(Clone)]
pub struct RowsHtml(Arc<str>);

impl RowsHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same text as a body part, sharing this copy.
    pub fn bytes(&self) -> Bytes {
        Bytes::from_owner(self.clone())
    }
}

impl AsRef<[u8]> for RowsHtml {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// One rendering: for this language and role (`None`: nobody signed in).
type Rendered = (Lang, Option<Role>, RowsHtml);

/// The groups table's rows as rendered from one snapshot, per (language, role): at most eight.
///
/// Five hundred rows are most of the groups page's work and they are the same for every page
/// view until the list changes, so a snapshot keeps what it has rendered; a changed list is a new
/// snapshot and starts with none. Rows hold nothing per request (no CSRF token, no session): only
/// the language and the role (which actions a row offers) change them. What a row looks like is
/// the groups page's business; this only keeps the text.
#[derive(Default)]
pub struct RenderedRows {
    done: Mutex<Vec<Rendered>>,
}

impl RenderedRows {
    /// The rows for this language and role, rendered by `render` on first use.
    pub fn get(
        &self,
        lang: Lang,
        role: Option<Role>,
        render: impl FnOnce() -> askama::Result<String>,
    ) -> askama::Result<RowsHtml> {
        let hit = |done: &Vec<Rendered>| {
            done.iter()
                .find(|(l, r, _)| (*l, *r) == (lang, role))
                .map(|(_, _, html)| html.clone())
        };
        if let Some(html) = hit(&self.lock()) {
            return Ok(html);
        }
        // Rendered outside the lock; two first views may both render, one copy is kept.
        let html = RowsHtml(render()?.into());
        let mut done = self.lock();
        if let Some(other) = hit(&done) {
            return Ok(other);
        }
        done.push((lang, role, html.clone()));
        Ok(html)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rendered>> {
        self.done.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A copy is a changed list: it starts with nothing rendered.
impl Clone for RenderedRows {
    fn clone(&self) -> Self {
        RenderedRows::default()
    }
}

impl fmt::Debug for RenderedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RenderedRows({})", self.lock().len())
    }
}
