//! Rate limit for failed sign-ins, per client IP and per operator name.
//!
//! Kept in memory: a restart forgets it, which only helps someone who can restart the server.

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
}

impl SignInLimiter {
    pub fn new(window: Duration, per_name: usize, per_ip: usize) -> Self {
        SignInLimiter {
            window,
            per_name,
            per_ip,
            max_keys: 100_000,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(ip: &str, name: &str) -> [(String, bool); 2] {
        [
            (format!("ip:{ip}"), false),
            (format!("name:{}", name.trim().to_lowercase()), true),
        ]
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

    pub fn failed(&self, ip: &str, name: &str) {
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
        for (key, _) in Self::keys(ip, name) {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A successful sign-in clears the name's failures (not the client's).
    pub fn succeeded(&self, name: &str) {
        let key = format!("name:{}", name.trim().to_lowercase());
        self.failures.lock().expect("limiter lock").remove(&key);
    }
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
    fn success_clears_the_names_count() {
        let l = SignInLimiter::new(Duration::from_secs(900), 2, 100);
        l.failed("ip", "alice");
        l.failed("ip", "alice");
        l.succeeded("alice");
        assert!(l.blocked("ip2", "alice").is_none());
    }
}
