//! Transaction timers as data (RFC 3261 §17 and Table 4, RFC 6026 §8).
//!
//! Each transaction keeps a [`TimerTable`]: one optional deadline per [`TsxTimer`], indexed
//! by the enum, quinn-style. The next wake-up is the earliest deadline in the table; the
//! table never reads the clock. Durations come from [`TimerConfig`], never from `const`s,
//! so tests and operators can shrink or stretch every schedule.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

/// RFC 3261 timer base values (§17.1.1.1, Table 4).
///
/// Every transaction timer is derived from these:
///
/// | timer | value                                   | meaning                                  |
/// |-------|-----------------------------------------|------------------------------------------|
/// | A     | T1, doubling, unbounded                 | INVITE request retransmit (UDP)          |
/// | B     | 64·T1                                   | INVITE transaction timeout               |
/// | D     | [`d`](Self::d) UDP, 0 reliable          | wait for response retransmits            |
/// | E     | T1, doubling up to T2 (T2 in Proceeding)| non-INVITE request retransmit (UDP)      |
/// | F     | 64·T1                                   | non-INVITE transaction timeout           |
/// | G     | T1, doubling up to T2                   | INVITE final response retransmit (UDP)   |
/// | H     | 64·T1                                   | wait for ACK receipt                     |
/// | I     | T4 UDP, 0 reliable                      | wait for ACK retransmits                 |
/// | J     | 64·T1 UDP, 0 reliable                   | wait for non-INVITE request retransmits  |
/// | K     | T4 UDP, 0 reliable                      | wait for response retransmits            |
/// | L     | 64·T1                                   | wait for 2xx/INVITE retransmits (6026)   |
/// | M     | 64·T1                                   | wait for 2xx retransmits (RFC 6026)      |
///
/// T1 must be non-zero (the config layer validates it); a zero T1 would make every
/// retransmission timer due at once, forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate. Default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses. Default 4 s.
    pub t2: Duration,
    /// Maximum duration a message remains in the network. Default 5 s.
    pub t4: Duration,
    /// Timer D over unreliable transports. Default 32 s.
    ///
    /// RFC 3261 §17.1.1.2 asks for "at least 32 seconds" rather than a multiple of T1: the
    /// timer covers the *server's* Timer H (64·T1 on the peer's clock), which our T1 does not
    /// bound. It is therefore a separate knob; tests that shrink T1 shrink it explicitly.
    pub d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// 64·T1: the transaction timeout (B, F, H) and the RFC 6026 linger (L, M).
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The RFC 3261 / RFC 6026 transaction timers. Used as the index into a [`TimerTable`] and
/// reported with each deadline so a log says *why* a transaction woke up.
///
/// [`AnswerRetransmitter`](super::AnswerRetransmitter), for which RFC 3261 §13.3.1.4 names no
/// timers, reuses G (2xx retransmit, same back-off) and H (give up waiting for the ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TsxTimer {
    A,
    B,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
}

impl TsxTimer {
    /// Every timer, in table order.
    pub const ALL: [TsxTimer; 12] = [
        TsxTimer::A,
        TsxTimer::B,
        TsxTimer::D,
        TsxTimer::E,
        TsxTimer::F,
        TsxTimer::G,
        TsxTimer::H,
        TsxTimer::I,
        TsxTimer::J,
        TsxTimer::K,
        TsxTimer::L,
        TsxTimer::M,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`TsxTimer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    at: [Option<Instant>; TsxTimer::ALL.len()],
}

impl TimerTable {
    /// Arms `timer` to fire `after` from `now`. A deadline past what `Instant` can hold
    /// means "never": the timer is left disarmed.
    pub fn set(&mut self, timer: TsxTimer, now: Instant, after: Duration) {
        self.at[timer.index()] = now.checked_add(after);
    }

    /// Disarms `timer`.
    pub fn clear(&mut self, timer: TsxTimer) {
        self.at[timer.index()] = None;
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.at = [None; TsxTimer::ALL.len()];
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: TsxTimer) -> Option<Instant> {
        self.at[timer.index()]
    }

    /// The earliest armed deadline and its timer. Ties go to the timer *last* in table
    /// order, so a timeout (B, F, H) wins over a retransmission (A, E, G) due at the same
    /// instant: nothing is sent just before giving up.
    pub fn next(&self) -> Option<(TsxTimer, Instant)> {
        TsxTimer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .min_by_key(|&(t, at)| (at, Reverse(t.index())))
    }

    /// Disarms and returns the earliest timer due at `now` that is not yet in `fired` (a
    /// bitmask by table index), and adds it there. A transaction's `on_timer` loops on this
    /// with one mask per call, so each timer fires at most once per call even when its
    /// handler re-arms it at `now` (which only a zero T1 would do).
    pub(super) fn pop_due(&mut self, now: Instant, fired: &mut u16) -> Option<TsxTimer> {
        let (timer, _) = TsxTimer::ALL
            .iter()
            .filter(|t| *fired & (1 << t.index()) == 0)
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .filter(|&(_, at)| at <= now)
            .min_by_key(|&(t, at)| (at, Reverse(t.index())))?;
        self.clear(timer);
        *fired |= 1 << timer.index();
        Some(timer)
    }
}

/// The next retransmit interval: double `interval`, capped at `cap` when there is one.
pub(super) fn backoff(interval: Duration, cap: Option<Duration>) -> Duration {
    let doubled = interval.saturating_mul(2);
    match cap {
        Some(cap) => doubled.min(cap),
        None => doubled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn default_config_is_rfc_3261_table_4() {
        let cfg = TimerConfig::default();
        assert_eq!(cfg.t1, ms(500));
        assert_eq!(cfg.t2, ms(4000));
        assert_eq!(cfg.t4, ms(5000));
        assert_eq!(cfg.d, ms(32_000));
        assert_eq!(cfg.t1x64(), ms(32_000));
    }

    #[test]
    fn next_is_the_earliest_deadline_and_names_its_timer() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(TsxTimer::B, t0, ms(32_000));
        table.set(TsxTimer::A, t0, ms(500));
        assert_eq!(table.next(), Some((TsxTimer::A, t0 + ms(500))));
        table.clear(TsxTimer::A);
        assert_eq!(table.next(), Some((TsxTimer::B, t0 + ms(32_000))));
        table.clear_all();
        assert_eq!(table.next(), None);
    }

    #[test]
    fn pop_due_fires_in_deadline_order_and_each_timer_once() {
        let t0 = Instant::now();
        let now = t0 + ms(25);
        let mut table = TimerTable::default();
        table.set(TsxTimer::H, t0, ms(20));
        table.set(TsxTimer::G, t0, ms(10));
        table.set(TsxTimer::L, t0, ms(30));
        let mut fired_mask = 0;
        let mut fired = Vec::new();
        while let Some(t) = table.pop_due(now, &mut fired_mask) {
            fired.push(t);
            // A zero interval re-arms G at `now` again: it must still fire only once per call.
            if t == TsxTimer::G {
                table.set(TsxTimer::G, now, Duration::ZERO);
            }
        }
        assert_eq!(fired, vec![TsxTimer::G, TsxTimer::H]);
        assert_eq!(table.next(), Some((TsxTimer::G, now)));
    }

    #[test]
    fn on_a_tie_the_timeout_wins_over_the_retransmission() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(TsxTimer::E, t0, ms(32_000));
        table.set(TsxTimer::F, t0, ms(32_000));
        assert_eq!(table.next(), Some((TsxTimer::F, t0 + ms(32_000))));
        let mut fired = 0;
        assert_eq!(
            table.pop_due(t0 + ms(32_000), &mut fired),
            Some(TsxTimer::F)
        );
    }

    #[test]
    fn a_deadline_beyond_instant_range_never_fires() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(TsxTimer::B, t0, Duration::MAX);
        assert_eq!(table.next(), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(ms(500), None), ms(1000));
        assert_eq!(backoff(ms(16_000), None), ms(32_000));
        assert_eq!(backoff(ms(2000), Some(ms(4000))), ms(4000));
        assert_eq!(backoff(ms(4000), Some(ms(4000))), ms(4000));
        assert_eq!(backoff(Duration::MAX, None), Duration::MAX);
    }
}
