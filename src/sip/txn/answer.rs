//! The UAS core's 2xx retransmission for INVITE (RFC 3261 §13.3.1.4).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::core::Core;
use super::timer::{backoff, TimerConfig, TsxTimer};
use super::TsxOutput;

/// Retransmits a 2xx to INVITE until its ACK arrives (RFC 3261 §13.3.1.4).
///
/// The first transmission of the 2xx is the server transaction's
/// ([`ServerInviteTsx::send_response`](super::ServerInviteTsx::send_response), which moves
/// it to `Accepted`); create this at the same instant and it re-sends the same bytes T1,
/// 3·T1, 7·T1 … later (intervals doubling, capped at T2: Timer G's back-off) until
/// [`ack_received`](Self::ack_received). Its `Transmit`s go to the same peer as the
/// transaction's. If 64·T1 pass without an ACK (Timer H's value) it emits
/// [`TsxOutput::Timeout`]: the dialog is confirmed but the TU should end the session with a
/// BYE. Either way it then emits [`TsxOutput::Terminated`].
///
/// There is no `reliable` flag: the RFC retransmits "independent of whatever transport
/// protocols are used", since a UDP hop may lie beyond a reliable first hop.
#[derive(Debug, Clone)]
pub struct AnswerRetransmitter {
    core: Core,
    ok: Bytes,
    interval: Duration,
    done: bool,
}

impl AnswerRetransmitter {
    pub fn new(now: Instant, cfg: &TimerConfig, ok: Bytes) -> Self {
        let mut core = Core::new(cfg, false);
        core.timers.set(TsxTimer::G, now, cfg.t1);
        core.timers.set(TsxTimer::H, now, cfg.t1x64());
        Self {
            core,
            ok,
            interval: cfg.t1,
            done: false,
        }
    }

    /// The ACK for this 2xx arrived: retransmissions stop.
    pub fn ack_received(&mut self) {
        if !self.done {
            self.finish();
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        let mut fired = 0;
        while let Some(timer) = self.core.timers.pop_due(now, &mut fired) {
            match timer {
                TsxTimer::G if !self.done => {
                    self.core.transmit(self.ok.clone());
                    self.interval = backoff(self.interval, Some(self.core.cfg.t2));
                    self.core.timers.set(TsxTimer::G, now, self.interval);
                }
                TsxTimer::H if !self.done => {
                    self.core.emit(TsxOutput::Timeout);
                    self.finish();
                }
                _ => {}
            }
        }
    }

    pub fn poll_output(&mut self) -> Option<TsxOutput> {
        self.core.poll_output()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// The next timer to fire and when, for logs.
    pub fn next_timer(&self) -> Option<(TsxTimer, Instant)> {
        self.core.timers.next()
    }

    /// True once the ACK arrived or the retransmitter gave up.
    pub fn is_terminated(&self) -> bool {
        self.done
    }

    fn finish(&mut self) {
        self.done = true;
        self.core.terminate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::txn::testkit::*;
    use crate::sip::txn::TsxOutput::{Terminated, Timeout};

    #[test]
    fn retransmits_with_g_back_off_and_times_out_at_64_t1() {
        let t0 = Instant::now();
        let mut ok = AnswerRetransmitter::new(t0, &TimerConfig::default(), bytes("200"));
        let mut log = drain(&mut ok, t0, t0);
        log.extend(run_to_end(&mut ok, t0));
        assert_eq!(
            transmit_times(&log),
            vec![500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
        );
        assert!(log
            .iter()
            .filter(|(_, o)| matches!(o, TsxOutput::Transmit(_)))
            .all(|(_, o)| *o == tx("200")));
        assert_eq!(
            log[log.len() - 2..],
            [(32_000, Timeout), (32_000, Terminated)]
        );
        assert!(ok.is_terminated());
    }

    #[test]
    fn the_first_transmission_is_the_transactions() {
        let t0 = Instant::now();
        let mut ok = AnswerRetransmitter::new(t0, &TimerConfig::default(), bytes("200"));
        assert_eq!(ok.poll_output(), None);
        assert_eq!(ok.next_timer(), Some((TsxTimer::G, at(t0, 500))));
    }

    #[test]
    fn ack_stops_retransmissions() {
        let t0 = Instant::now();
        let mut ok = AnswerRetransmitter::new(t0, &TimerConfig::default(), bytes("200"));
        drain(&mut ok, t0, t0);
        assert_eq!(
            transmit_times(&run_until(&mut ok, t0, at(t0, 4000))),
            vec![500, 1500, 3500]
        );
        ok.ack_received();
        assert_eq!(drain(&mut ok, t0, at(t0, 4000)), vec![(4000, Terminated)]);
        assert!(ok.is_terminated());
        assert_eq!(ok.poll_timeout(), None);
        assert_eq!(run_to_end(&mut ok, t0), vec![]);
        // A retransmitted ACK changes nothing.
        ok.ack_received();
        assert_eq!(drain(&mut ok, t0, at(t0, 4000)), vec![]);
    }

    #[test]
    fn custom_t1_scales_the_schedule() {
        let t0 = Instant::now();
        let mut ok = AnswerRetransmitter::new(t0, &fast(), bytes("200"));
        let mut log = drain(&mut ok, t0, t0);
        log.extend(run_to_end(&mut ok, t0));
        assert_eq!(
            transmit_times(&log),
            vec![100, 300, 700, 1500, 2300, 3100, 3900, 4700, 5500, 6300]
        );
        assert_eq!(log[log.len() - 2..], [(6400, Timeout), (6400, Terminated)]);
    }
}
