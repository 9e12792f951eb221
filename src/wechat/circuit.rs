//! The circuit breaker: when WeChat keeps failing, calls fail fast instead of each operator
//! waiting for their own timeout (and retries piling onto an upstream that is already in trouble).
//!
//! One per client. Closed: calls go through; `threshold` upstream failures in a row (counted per
//! call, after its retries) open it. Open: calls fail at once with `CircuitOpen` until the
//! cool-down ends. Then half-open: exactly one trial call goes through; its success closes the
//! circuit, its failure opens it for another cool-down. Errcodes other than -1 are WeChat
//! answering properly and count as successes here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::errors::WeChatError;

/// Which way calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// The cool-down is over; one trial call is (or may be) in flight, others fail fast.
    HalfOpen,
    /// Calls fail fast until `open_until`.
    Open,
}

impl CircuitState {
    /// The `wxgroups_circuit_state` gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// A snapshot of the circuit, for a "WeChat is not answering" banner and for `/metrics`.
#[derive(Debug, Clone)]
pub struct CircuitStatus {
    pub state: CircuitState,
    /// The last upstream failure, if the last call failed. Its texts hold no secret (every error
    /// the client makes is scrubbed where it is made).
    pub last_error: Option<WeChatError>,
    /// When an open circuit lets a trial call through.
    pub open_until: Option<Instant>,
    pub consecutive_failures: u32,
}

struct State {
    consecutive_failures: u32,
    last_error: Option<WeChatError>,
    open_until: Option<Instant>,
    /// A half-open trial call is in flight.
    trial: bool,
}

pub(super) struct Circuit {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

/// Admission for one call. Must be finished with [`Circuit::record`]; if the call is dropped
/// halfway (its caller went away), the trial slot is released so the circuit cannot stay stuck
/// half-open.
pub(super) struct Permit<'a> {
    circuit: &'a Circuit,
    trial: bool,
    done: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.done {
            self.circuit.lock().trial = false;
        }
    }
}

impl Circuit {
    pub(super) fn new(threshold: u32, cooldown: Duration) -> Self {
        let circuit = Self {
            // A threshold of 0 would open on nothing; 1 is the strictest meaningful value.
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State {
                consecutive_failures: 0,
                last_error: None,
                open_until: None,
                trial: false,
            }),
        };
        metrics::gauge!("wxgroups_circuit_state").set(CircuitState::Closed.gauge());
        circuit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few counters; a panic elsewhere cannot leave them dangerously wrong.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call through, or says why not.
    pub(super) fn admit(&self) -> Result<Permit<'_>, WeChatError> {
        let mut s = self.lock();
        let Some(until) = s.open_until else {
            return Ok(Permit {
                circuit: self,
                trial: false,
                done: false,
            });
        };
        let now = Instant::now();
        let last = s
            .last_error
            .clone()
            .unwrap_or_else(|| WeChatError::Local("the circuit is open".into()));
        if now < until {
            return Err(WeChatError::CircuitOpen {
                last: Box::new(last),
                retry_in: until - now,
            });
        }
        if s.trial {
            // Someone else is finding out whether WeChat is back; don't pile on.
            return Err(WeChatError::CircuitOpen {
                last: Box::new(last),
                retry_in: Duration::ZERO,
            });
        }
        s.trial = true;
        metrics::gauge!("wxgroups_circuit_state").set(CircuitState::HalfOpen.gauge());
        tracing::info!("wechat circuit half-open: letting one trial call through");
        Ok(Permit {
            circuit: self,
            trial: true,
            done: false,
        })
    }

    /// Counts a finished call's outcome.
    pub(super) fn record<T>(&self, mut permit: Permit<'_>, result: &Result<T, WeChatError>) {
        permit.done = true;
        let mut s = self.lock();
        if permit.trial {
            s.trial = false;
        }
        match result {
            Err(err) if err.is_upstream_failure() => {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                s.last_error = Some(err.clone());
                if permit.trial || s.consecutive_failures >= self.threshold {
                    s.open_until = Some(Instant::now() + self.cooldown);
                    metrics::gauge!("wxgroups_circuit_state").set(CircuitState::Open.gauge());
                    tracing::warn!(
                        consecutive_failures = s.consecutive_failures,
                        cooldown_ms = u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX),
                        "wechat circuit open: failing fast"
                    );
                }
            }
            // A local refusal says nothing about WeChat; a trial that ended so stays unanswered
            // and the next call becomes the trial.
            Err(WeChatError::Local(_)) | Err(WeChatError::CircuitOpen { .. }) => {}
            // A success or a proper errcode: WeChat is answering.
            _ => {
                if s.open_until.is_some() {
                    tracing::info!("wechat circuit closed: WeChat answers again");
                }
                s.consecutive_failures = 0;
                s.last_error = None;
                s.open_until = None;
                metrics::gauge!("wxgroups_circuit_state").set(CircuitState::Closed.gauge());
            }
        }
    }

    pub(super) fn status(&self) -> CircuitStatus {
        let s = self.lock();
        let state = match s.open_until {
            None => CircuitState::Closed,
            Some(until) if s.trial || Instant::now() >= until => CircuitState::HalfOpen,
            Some(_) => CircuitState::Open,
        };
        CircuitStatus {
            state,
            last_error: s.last_error.clone(),
            open_until: s.open_until,
            consecutive_failures: s.consecutive_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::TransportKind;

    fn timeout() -> Result<(), WeChatError> {
        Err(WeChatError::Transport {
            kind: TransportKind::Timeout,
            detail: "t".into(),
        })
    }

    fn api(code: i64) -> Result<(), WeChatError> {
        Err(WeChatError::Api {
            code,
            errmsg: String::new(),
        })
    }

    fn fail(c: &Circuit, r: Result<(), WeChatError>) {
        let permit = c.admit().expect("admitted");
        c.record(permit, &r);
    }

    #[test]
    fn opens_after_threshold_failures_in_a_row_and_proper_errcodes_reset_the_count() {
        let c = Circuit::new(3, Duration::from_secs(60));
        fail(&c, timeout());
        fail(&c, api(-1));
        fail(&c, api(45018));
        assert_eq!(
            c.status().consecutive_failures,
            0,
            "45018 is a proper answer"
        );
        fail(&c, timeout());
        fail(&c, timeout());
        assert_eq!(c.status().state, CircuitState::Closed);
        fail(&c, timeout());
        assert_eq!(c.status().state, CircuitState::Open);
        match c.admit() {
            Err(WeChatError::CircuitOpen { last, retry_in }) => {
                assert!(retry_in > Duration::from_secs(50));
                assert!(matches!(*last, WeChatError::Transport { .. }));
            }
            _ => panic!("an open circuit admits nothing"),
        }
    }

    #[test]
    fn after_the_cooldown_one_trial_goes_through_and_decides() {
        let c = Circuit::new(1, Duration::ZERO);
        fail(&c, timeout());
        let trial = c.admit().expect("the trial");
        assert_eq!(c.status().state, CircuitState::HalfOpen);
        assert!(c.admit().is_err(), "only one trial at a time");
        c.record(trial, &timeout());
        // Cool-down zero: the next call is the next trial.
        let trial = c.admit().expect("another trial");
        c.record(trial, &Ok::<(), WeChatError>(()));
        assert_eq!(c.status().state, CircuitState::Closed);
        assert!(c.status().last_error.is_none());
    }

    #[test]
    fn a_dropped_trial_frees_the_slot() {
        let c = Circuit::new(1, Duration::ZERO);
        fail(&c, timeout());
        drop(c.admit().expect("the trial"));
        assert!(c.admit().is_ok(), "the slot was released");
    }
}
