//! The group list, kept in memory so that a page view costs WeChat nothing.
//!
//! WeChat allows about 1,000 `groups/get` calls a day. The cache is refreshed on the operator's
//! explicit request or once it is older than `max_age`, patched from our own successful writes in
//! between, and never cleared by a failure: a bad answer leaves the last good list in place.

use std::{
    fmt,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use bytes::Bytes;
use jiff::Timestamp;

use crate::{
    domain::{Api, GroupId, GroupName},
    i18n::Lang,
    store::Role,
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
}

impl GroupCache {
    pub fn new(max_age: Duration, api: Api) -> Self {
        GroupCache {
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            max_age,
            api,
            unavailable: std::sync::atomic::AtomicBool::new(false),
        }
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
        self.fetch_locked(client).await
    }

    /// The operator's "refresh from WeChat": always fetches, unless a fetch that started after
    /// this request was made already finished while we waited for the lock.
    pub async fn refresh(&self, client: &WeChatClient) -> View {
        let asked = Instant::now();
        let _guard = self.refreshing.lock().await;
        if let Some(s) = self.peek().filter(|s| s.fetched >= asked) {
            return View {
                snapshot: Some(s),
                error: None,
            };
        }
        self.fetch_locked(client).await
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
    fn patch(&self, f: impl FnOnce(&mut Vec<Group>)) {
        let mut current = self.current.write().expect("group cache lock");
        if let Some(old) = current.as_ref() {
            let mut next = Snapshot::clone(old);
            f(&mut next.groups);
            next.version += 1;
            *current = Some(Arc::new(next));
        }
    }

    /// A group WeChat just created (it starts empty).
    pub fn created(&self, id: GroupId, name: &str) {
        self.patch(|groups| {
            if groups.iter().all(|g| g.id != id) {
                groups.push(Group {
                    id,
                    name: name.to_owned(),
                    count: 0,
                });
                groups.sort_by_key(|g| g.id);
            }
        });
    }

    pub fn renamed(&self, id: GroupId, name: &str) {
        self.patch(|groups| {
            if let Some(g) = groups.iter_mut().find(|g| g.id == id) {
                g.name = name.to_owned();
            }
        });
    }

    /// `n` followers went from one group to another.
    pub fn moved(&self, from: GroupId, to: GroupId, n: u64) {
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
        });
    }

    /// `n` followers were given tag `id` (`added`) or had it taken away: a tag's count
    /// changes on its own, since a follower carries several tags.
    pub fn tag_count_changed(&self, id: GroupId, n: u64, added: bool) {
        self.patch(|groups| {
            if let Some(g) = groups.iter_mut().find(|g| g.id == id) {
                g.count = if added {
                    g.count + n
                } else {
                    g.count.saturating_sub(n)
                };
            }
        });
    }

    /// A group WeChat deleted: its members went back to 未分组.
    pub fn deleted(&self, id: GroupId) {
        self.patch(|groups| {
            if let Some(pos) = groups.iter().position(|g| g.id == id) {
                let gone = groups.remove(pos);
                if let Some(g) = groups.iter_mut().find(|g| g.id == GroupId::UNGROUPED) {
                    g.count += gone.count;
                }
            }
        });
    }
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
