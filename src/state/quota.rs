//! The quota meter: today's calls per WeChat endpoint against WeChat's daily caps.
//!
//! WeChat counts per account per day, and its day is Beijing's. Counts live in memory for the
//! status page and go to the database with every call, so a restart keeps them.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use crate::{store::Store, wechat::CallObserver};

/// The documented daily caps (test accounts get about a tenth). `None`: not documented.
pub fn daily_cap(endpoint: &str) -> Option<u64> {
    match endpoint {
        "token" | "stable_token" => Some(2_000),
        "groups/create" | "groups/get" | "groups/update" => Some(1_000),
        "groups/members/update" => Some(100_000),
        "user/get" => Some(500),
        "user/info" | "user/info/batchget" => Some(5_000_000),
        _ => None,
    }
}

/// Share of a cap from which the status page and the banner warn.
pub const WARN_AT: f64 = 0.8;

/// The current WeChat day, YYYY-MM-DD in Beijing time.
pub fn wechat_day() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::offset(8).to_time_zone())
        .strftime("%Y-%m-%d")
        .to_string()
}

/// One endpoint's use today.
#[derive(Debug, Clone)]
pub struct Usage {
    pub endpoint: String,
    pub calls: u64,
    pub cap: Option<u64>,
}

impl Usage {
    /// 0.0–1.0+ of the cap, when there is one.
    pub fn share(&self) -> Option<f64> {
        self.cap.map(|c| self.calls as f64 / c as f64)
    }

    pub fn percent(&self) -> u64 {
        self.share().map_or(0, |s| (s * 100.0).floor() as u64)
    }

    pub fn warn(&self) -> bool {
        self.share().is_some_and(|s| s >= WARN_AT)
    }
}

/// Today's counts: the WeChat day they belong to (`YYYY-MM-DD`, and as a day number, which is
/// cheaper to compare), calls per endpoint.
struct Today {
    day: String,
    day_number: i64,
    counts: BTreeMap<String, u64>,
}

pub struct QuotaMeter {
    store: Store,
    today: Mutex<Today>,
}

impl QuotaMeter {
    /// Starts from what the database has for today.
    pub async fn load(store: Store) -> Result<Arc<QuotaMeter>, crate::store::StoreError> {
        let day = wechat_day();
        let counts: BTreeMap<String, u64> = store.quota_day(&day).await?.into_iter().collect();
        for (endpoint, calls) in &counts {
            publish(endpoint, *calls);
        }
        Ok(Arc::new(QuotaMeter {
            store,
            today: Mutex::new(Today {
                day,
                // Not a day number: the first look compares the date itself.
                day_number: i64::MIN,
                counts,
            }),
        }))
    }

    /// Takes in what the other instances of a shared database counted: the database's
    /// count is exact (every call adds one to it atomically, whoever made it); this instance's
    /// own calls since it last looked are in it too. On SQLite there is nobody else.
    pub async fn catch_up(&self) {
        if !self.store.engine().is_shared() {
            return;
        }
        let day = wechat_day();
        match self.store.quota_day(&day).await {
            Ok(stored) => {
                let mut guard = self.today.lock().expect("quota lock");
                roll_over(&mut guard);
                if guard.day == day {
                    for (endpoint, calls) in stored {
                        let n = guard.counts.entry(endpoint.clone()).or_insert(0);
                        // A call of ours may not be written yet: never count down.
                        *n = (*n).max(calls);
                        publish(&endpoint, *n);
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot read the shared quota counts"),
        }
    }

    /// [`Self::catch_up`] every few seconds, for the banners every page shows.
    pub async fn follow(self: Arc<Self>) {
        if !self.store.engine().is_shared() {
            return;
        }
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            self.catch_up().await;
        }
    }

    /// Today's use of every endpoint called today, plus every endpoint with a cap.
    pub fn today(&self) -> (String, Vec<Usage>) {
        let mut guard = self.today.lock().expect("quota lock");
        roll_over(&mut guard);
        let mut all: BTreeMap<String, u64> = guard.counts.clone();
        for e in [
            "stable_token",
            "groups/get",
            "groups/create",
            "groups/update",
            "groups/members/update",
            "user/get",
        ] {
            all.entry(e.to_owned()).or_insert(0);
        }
        let usage = all
            .into_iter()
            .map(|(endpoint, calls)| Usage {
                cap: daily_cap(&endpoint),
                endpoint,
                calls,
            })
            .collect();
        (guard.day.clone(), usage)
    }

    /// The endpoints at or over the warning share. Every page asks (for its banner), so this
    /// looks at today's counts in place and allocates only for a warning.
    pub fn warnings(&self) -> Vec<Usage> {
        let mut guard = self.today.lock().expect("quota lock");
        roll_over(&mut guard);
        guard
            .counts
            .iter()
            .filter_map(|(endpoint, &calls)| {
                let cap = daily_cap(endpoint)?;
                (calls as f64 / cap as f64 >= WARN_AT).then(|| Usage {
                    endpoint: endpoint.clone(),
                    calls,
                    cap: Some(cap),
                })
            })
            .collect()
    }
}

/// A new Beijing day starts from zero. The day is compared as a number (seconds since the
/// epoch in UTC+8, divided by a day's): formatting today's date on every page view cost more than
/// the rest of the banner check.
fn roll_over(guard: &mut Today) {
    let day_number = (jiff::Timestamp::now().as_second() + 8 * 3600).div_euclid(86_400);
    if guard.day_number != day_number {
        guard.day_number = day_number;
        let day = wechat_day();
        if guard.day != day {
            guard.day = day;
            guard.counts.clear();
        }
    }
}

fn publish(endpoint: &str, calls: u64) {
    metrics::gauge!("wxgroups_quota_used_calls", "endpoint" => endpoint.to_owned())
        .set(calls as f64);
    if let Some(cap) = daily_cap(endpoint) {
        metrics::gauge!("wxgroups_quota_cap_calls", "endpoint" => endpoint.to_owned())
            .set(cap as f64);
    }
}

impl CallObserver for QuotaMeter {
    fn upstream_call(&self, endpoint: &str) {
        let (day, calls) = {
            let mut guard = self.today.lock().expect("quota lock");
            roll_over(&mut guard);
            let n = guard.counts.entry(endpoint.to_owned()).or_insert(0);
            *n += 1;
            let n = *n;
            (guard.day.clone(), n)
        };
        publish(endpoint, calls);
        // The client calls this from inside the runtime; write without holding up the call.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let endpoint = endpoint.to_owned();
            rt.spawn(async move {
                if let Err(e) = store.quota_add(&day, &endpoint, 1).await {
                    tracing::warn!(error = %e, "cannot record a call in the quota meter");
                }
            });
        }
    }
}
