//! Queue statistics: the counters a queue keeps as callers come and go, and the live
//! [`QueueStats`] view (waiting, longest wait, service level, ASA, abandoned) computed
//! from them at a given instant. Estimated wait comes from recent handle times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Running counters of one queue.
#[derive(Debug, Clone, Default)]
pub(super) struct Counters {
    pub offered: u64,
    pub answered: u64,
    pub answered_in_sl: u64,
    pub abandoned: u64,
    pub overflowed: u64,
    pub timed_out: u64,
    pub refused: u64,
    pub callbacks_kept: u64,
    pub callbacks_due: u64,
    pub answer_wait_total: Duration,
    /// Recent handle times (talk + wrap-up), newest last.
    pub handle_times: VecDeque<Duration>,
    pub window: usize,
}

impl Counters {
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            ..Self::default()
        }
    }

    pub fn record_handle(&mut self, d: Duration) {
        if self.handle_times.len() >= self.window {
            self.handle_times.pop_front();
        }
        self.handle_times.push_back(d);
    }

    pub fn mean_handle(&self) -> Option<Duration> {
        let n = u32::try_from(self.handle_times.len())
            .ok()
            .filter(|n| *n > 0)?;
        Some(self.handle_times.iter().sum::<Duration>() / n)
    }

    /// Expected wait at 1-based `position` with `serving` agents working the queue.
    pub fn estimate(&self, position: usize, serving: usize) -> Option<Duration> {
        let mean = self.mean_handle()?;
        let serving = u32::try_from(serving).ok().filter(|n| *n > 0)?;
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        Some(mean.saturating_mul(position) / serving)
    }
}

/// A queue as an operator sees it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStats {
    pub queue: String,
    /// Live callers waiting (or being offered to an agent).
    pub waiting: usize,
    /// Kept callbacks holding a place.
    pub callbacks: usize,
    pub longest_wait: Duration,
    /// Callers accepted into the queue.
    pub offered: u64,
    pub answered: u64,
    /// Answered within the service-level threshold.
    pub answered_in_sl: u64,
    /// `answered_in_sl / offered`; `None` before the first caller.
    pub service_level: Option<f64>,
    /// Average speed of answer.
    pub asa: Option<Duration>,
    /// Callers who hung up while waiting.
    pub abandoned: u64,
    pub overflowed: u64,
    pub timed_out: u64,
    pub refused: u64,
    pub callbacks_kept: u64,
    pub callbacks_due: u64,
    pub agents_logged_in: usize,
    pub agents_available: usize,
    pub mean_handle: Option<Duration>,
}

impl QueueStats {
    pub(super) fn build(
        queue: &str,
        c: &Counters,
        waits: impl Iterator<Item = (bool, Instant)>,
        now: Instant,
        agents: (usize, usize),
    ) -> Self {
        let (mut waiting, mut callbacks, mut longest) = (0, 0, Duration::ZERO);
        for (live, joined) in waits {
            if live {
                waiting += 1;
                longest = longest.max(now.saturating_duration_since(joined));
            } else {
                callbacks += 1;
            }
        }
        let asa = u32::try_from(c.answered)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| c.answer_wait_total / n);
        Self {
            queue: queue.to_string(),
            waiting,
            callbacks,
            longest_wait: longest,
            offered: c.offered,
            answered: c.answered,
            answered_in_sl: c.answered_in_sl,
            service_level: (c.offered > 0).then(|| c.answered_in_sl as f64 / c.offered as f64),
            asa,
            abandoned: c.abandoned,
            overflowed: c.overflowed,
            timed_out: c.timed_out,
            refused: c.refused,
            callbacks_kept: c.callbacks_kept,
            callbacks_due: c.callbacks_due,
            agents_logged_in: agents.0,
            agents_available: agents.1,
            mean_handle: c.mean_handle(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_window_keeps_the_most_recent() {
        let mut c = Counters::new(2);
        for s in [100, 10, 30] {
            c.record_handle(Duration::from_secs(s));
        }
        assert_eq!(c.mean_handle(), Some(Duration::from_secs(20)));
    }

    #[test]
    fn estimate_scales_with_position_and_agents() {
        let mut c = Counters::new(5);
        assert_eq!(c.estimate(1, 1), None);
        c.record_handle(Duration::from_secs(60));
        assert_eq!(c.estimate(3, 2), Some(Duration::from_secs(90)));
        assert_eq!(c.estimate(3, 0), None);
    }
}
