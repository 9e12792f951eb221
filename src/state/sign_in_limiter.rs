//! Rate limit for failed sign-ins, per client IP and per operator name.
//!
//! Kept in memory: a restart forgets it, which only helps someone who can restart the server.
//!
//! Several instances count together: each failure (and each success that clears a name) is
//! announced to the others (`listener`), which count it as their own. What is announced is the
//! counted keys' digests, not the address or the name; and it is a notification, not a row: a
//! visitor who has not signed in writes nothing to the database. The count is shared as fast
//! as PostgreSQL delivers notifications (well under the time a next attempt takes), and an
//! instance whose listener was down meanwhile counts only what it heard.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct SignInLimiter {
    window: Duration,
    per_name: usize,
    per_ip: usize,
    /// The most keys kept: however many clients fail, memory stays bounded.
    max_keys: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Names this limiter in its announcements: it hears its own, and must not count them twice.
    origin: String,
}

impl SignInLimiter {
    pub fn new(window: Duration, per_name: usize, per_ip: usize) -> Self {
        SignInLimiter {
            window,
            per_name,
            per_ip,
            max_keys: 100_000,
            failures: Mutex::new(HashMap::new()),
            origin: format!("{:016x}", rand::random::<u64>()),
        }
    }

    fn keys(ip: &str, name: &str) -> [(String, bool); 2] {
        [(digest("ip", ip), false), (name_key(name), true)]
    }

    /// `Some(wait)` when this client or this name has failed too often lately.
    pub fn blocked(&self, ip: &str, name: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("limiter lock");
        let mut wait = None;
        for (key, is_name) in Self::keys(ip, name) {
            let limit = if is_name { self.per_name } else { self.per_ip };
            if let Some(q) = map.get_mut(&key) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    q.pop_front();
                }
                if q.len() >= limit {
                    let until = self.window - now.duration_since(q[q.len() - limit]);
                    wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
                }
            }
        }
        wait
    }

    /// Counts a failure; answers what to tell the other instances.
    pub fn failed(&self, ip: &str, name: &str) -> String {
        let keys = Self::keys(ip, name).map(|(k, _)| k);
        self.failed_keys(&keys);
        format!("signin-fail {} {} {}", self.origin, keys[0], keys[1])
    }

    /// What an instance announced (`signin-fail ORIGIN KEY KEY`, `signin-ok ORIGIN KEY`),
    /// unless it was this one.
    pub fn heard(&self, announcement: &str) {
        let mut words = announcement.split(' ');
        let (Some(what), Some(origin)) = (words.next(), words.next()) else {
            return;
        };
        if origin == self.origin {
            return;
        }
        let keys: Vec<String> = words.map(str::to_owned).collect();
        match (what, keys.as_slice()) {
            ("signin-fail", keys) => self.failed_keys(keys),
            ("signin-ok", [key]) => self.succeeded_key(key),
            _ => {}
        }
    }

    fn failed_keys(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("limiter lock");
        // Bound the memory an attacker can make us use with random names: forget what is past
        // the window, and if that is not enough, the names (each client's own count stays, and a
        // client is blocked after `per_ip` failures whatever names it tries).
        if map.len() >= self.max_keys {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        if map.len() >= self.max_keys {
            map.retain(|key, _| key.starts_with("ip:"));
        }
        if map.len() >= self.max_keys {
            map.clear();
        }
        for key in keys {
            if is_digest(key) {
                map.entry(key.clone()).or_default().push_back(now);
            }
        }
    }

    /// A successful sign-in clears the name's failures (not the client's); answers what to
    /// tell the other instances.
    pub fn succeeded(&self, name: &str) -> String {
        let key = name_key(name);
        self.succeeded_key(&key);
        format!("signin-ok {} {key}", self.origin)
    }

    fn succeeded_key(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}

fn name_key(name: &str) -> String {
    digest("name", &name.trim().to_lowercase())
}

/// What a key is counted (and announced) as: 32 hex digits of SHA-256.
fn digest(kind: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::new()
        .chain_update(kind)
        .chain_update(":")
        .chain_update(value)
        .finalize();
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an announced key is one of ours (anything else is ignored, never stored).
fn is_digest(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_blocked_after_its_limit_from_any_client() {
        let l = SignInLimiter::new(Duration::from_secs(900), 3, 100);
        for i in 0..3 {
            assert!(l.blocked(&format!("10.0.0.{i}"), "alice").is_none());
            l.failed(&format!("10.0.0.{i}"), "alice");
        }
        assert!(l.blocked("10.9.9.9", "ALICE").is_some());
        assert!(l.blocked("10.9.9.9", "bob").is_none());
    }

    #[test]
    fn a_client_is_blocked_after_its_limit_whatever_the_name() {
        let l = SignInLimiter::new(Duration::from_secs(900), 100, 2);
        l.failed("10.0.0.1", "a");
        l.failed("10.0.0.1", "b");
        assert!(l.blocked("10.0.0.1", "c").is_some());
        assert!(l.blocked("10.0.0.2", "c").is_none());
    }

    #[test]
    fn memory_stays_bounded_whatever_clients_and_names_fail() {
        let mut l = SignInLimiter::new(Duration::from_secs(900), 5, 30);
        l.max_keys = 1_000;
        for i in 0..10_000u32 {
            l.failed(
                &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                &format!("n{i}"),
            );
            assert!(l.failures.lock().unwrap().len() <= 1_000 + 2);
        }
    }

    #[test]
    fn failures_another_instance_announces_count_here_and_reveal_no_name() {
        let here = SignInLimiter::new(Duration::from_secs(900), 2, 100);
        let there = SignInLimiter::new(Duration::from_secs(900), 2, 100);
        let told = there.failed("10.0.0.7", "alice");
        assert!(
            !told.contains("alice") && !told.contains("10.0.0.7"),
            "{told}"
        );
        here.heard(&told);
        there.heard(&told);
        assert!(
            there.blocked("10.0.0.8", "alice").is_none(),
            "its own, counted once"
        );
        here.heard(&there.failed("10.0.0.7", "alice"));
        assert!(here.blocked("10.0.0.8", "Alice").is_some());
        here.heard(&there.succeeded("alice"));
        assert!(here.blocked("10.0.0.8", "alice").is_none());
        here.heard("signin-fail elsewhere not-a-digest");
        assert_eq!(
            here.failures.lock().unwrap().len(),
            1,
            "only the client's key is left"
        );
    }

    #[test]
    fn success_clears_the_names_count() {
        let l = SignInLimiter::new(Duration::from_secs(900), 2, 100);
        l.failed("ip", "alice");
        l.failed("ip", "alice");
        l.succeeded("alice");
        assert!(l.blocked("ip2", "alice").is_none());
    }
}
