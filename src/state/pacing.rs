//! When the next `batchupdate` may be sent: at most `WXGROUPS_BATCH_PER_MINUTE` a minute.

use std::time::Duration;

use tokio::time::Instant;

/// Slots on a fixed grid, one `interval` apart; a call goes at its slot or, if the worker gets
/// there late, as soon as it gets there.
///
/// Why a grid and not "one interval after the last call": a worker always arrives a little late
/// (the timer wakes on the next millisecond tick, the previous call and its bookkeeping take a
/// varying time), and measuring each interval from a late call lets every such delay add up —
/// the job ran at 85 % of the configured rate. On the grid, a delay of up to one interval is made
/// up by the next slot instead; a longer one (a slow call, a 45011 wait) starts a new grid, so
/// the worker never bursts to catch up. Each call still has a slot of its own, one interval after
/// the previous slot, so any minute holds at most one call more than the rate, as before.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    pub(crate) fn new(interval: Duration, now: Instant) -> Pacer {
        Pacer {
            interval,
            next: now,
        }
    }

    /// The slot of a call the worker is ready to send at `now`.
    pub(crate) fn slot(&mut self, now: Instant) -> Instant {
        let slot = if now.saturating_duration_since(self.next) <= self.interval {
            self.next
        } else {
            now
        };
        self.next = slot + self.interval;
        slot.max(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_early_worker_waits_for_each_slot() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10 * MS, t0);
        assert_eq!(p.slot(t0), t0);
        assert_eq!(p.slot(t0 + MS), t0 + 10 * MS);
        assert_eq!(p.slot(t0 + 12 * MS), t0 + 20 * MS);
    }

    #[test]
    fn a_small_delay_is_made_up_by_the_next_slot() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10 * MS, t0);
        p.slot(t0);
        // 3 ms late for the slot at 10: sent at once, and the next slot is still 20, not 23.
        assert_eq!(p.slot(t0 + 13 * MS), t0 + 13 * MS);
        assert_eq!(p.slot(t0 + 14 * MS), t0 + 20 * MS);
    }

    #[test]
    fn a_long_delay_starts_a_new_grid_instead_of_a_burst() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10 * MS, t0);
        p.slot(t0);
        // 45 ms late: sent at once, and the next call waits a whole interval after it.
        assert_eq!(p.slot(t0 + 55 * MS), t0 + 55 * MS);
        assert_eq!(p.slot(t0 + 56 * MS), t0 + 65 * MS);
    }

    #[test]
    fn no_window_of_one_minute_holds_more_than_the_rate_plus_one() {
        // 600 a minute; each call and its bookkeeping take 95–104 ms, so the worker is often a
        // few ms late for its slot.
        let interval = 100 * MS;
        let t0 = Instant::now();
        let mut p = Pacer::new(interval, t0);
        let mut at = t0;
        let mut sent = Vec::new();
        for k in 0..3_000u64 {
            let ready = at + MS * (95 + u32::try_from(k * 7 % 10).unwrap());
            at = p.slot(ready);
            sent.push(at);
        }
        let minute = Duration::from_secs(60);
        for (i, start) in sent.iter().enumerate() {
            let within = sent[i..]
                .iter()
                .take_while(|t| **t < *start + minute)
                .count();
            assert!(within <= 601, "{within} calls in the minute from call {i}");
        }
        // And the rate is kept on average: 3,000 calls take (3,000 − 1) intervals and a bit.
        let took = sent[2_999] - sent[0];
        assert!(took < interval * 3_000, "{took:?}");
    }
}
