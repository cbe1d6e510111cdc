//! The non-INVITE client transaction (RFC 3261 §17.1.2).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::core::{Core, StatusClass};
use super::timer::{backoff, TimerConfig, TsxTimer};
use super::{Delivery, TsxOutput};

/// States of [`ClientNonInviteTsx`] (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying,
    Proceeding,
    /// A final response arrived; absorbing its retransmissions (Timer K).
    Completed,
    Terminated,
}

/// A non-INVITE client transaction (OPTIONS, BYE, REGISTER, CANCEL …). See the module docs
/// for its state diagram.
#[derive(Debug, Clone)]
pub struct ClientNonInviteTsx {
    core: Core,
    state: ClientNonInviteState,
    /// The request, kept for Timer E until a final response arrives.
    request: Option<Bytes>,
    e_interval: Duration,
}

impl ClientNonInviteTsx {
    /// Starts the transaction: emits `Transmit(request)`, arms Timer E (T1, unreliable
    /// transports only) and Timer F (64·T1).
    pub fn new(now: Instant, cfg: &TimerConfig, reliable: bool, request: Bytes) -> Self {
        let mut core = Core::new(cfg, reliable);
        core.transmit(request.clone());
        if !reliable {
            core.timers.set(TsxTimer::E, now, cfg.t1);
        }
        core.timers.set(TsxTimer::F, now, cfg.t1x64());
        Self {
            core,
            state: ClientNonInviteState::Trying,
            request: Some(request),
            e_interval: cfg.t1,
        }
    }

    /// A response matched this transaction.
    ///
    /// A 1xx moves Trying to Proceeding but leaves Timer E as it is: RFC 3261 §17.1.2.2
    /// resets it to T2 the next time it fires.
    pub fn on_response(&mut self, now: Instant, status: u16) -> Delivery {
        use ClientNonInviteState::*;
        let Some(class) = StatusClass::of(status) else {
            return Delivery::Absorb;
        };
        match (self.state, class) {
            (Trying | Proceeding, StatusClass::Provisional) => {
                self.state = Proceeding;
                Delivery::ToTu
            }
            (Trying | Proceeding, StatusClass::Success | StatusClass::Failure) => {
                self.core.timers.clear(TsxTimer::E);
                self.core.timers.clear(TsxTimer::F);
                self.request = None;
                self.state = Completed;
                let k = self.core.unreliable_only(self.core.cfg.t4);
                if !self.core.arm_linger(TsxTimer::K, now, k) {
                    self.terminate();
                }
                Delivery::ToTu
            }
            // Retransmitted finals in Completed, anything once Terminated.
            _ => Delivery::Absorb,
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        use ClientNonInviteState::*;
        let mut fired = 0;
        while let Some(timer) = self.core.timers.pop_due(now, &mut fired) {
            match (timer, self.state) {
                (TsxTimer::E, Trying | Proceeding) => {
                    if let Some(request) = &self.request {
                        self.core.transmit(request.clone());
                    }
                    self.e_interval = if self.state == Trying {
                        backoff(self.e_interval, Some(self.core.cfg.t2))
                    } else {
                        self.core.cfg.t2
                    };
                    self.core.timers.set(TsxTimer::E, now, self.e_interval);
                }
                (TsxTimer::F, Trying | Proceeding) => {
                    self.core.emit(TsxOutput::Timeout);
                    self.terminate();
                }
                (TsxTimer::K, Completed) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to deliver the request (RFC 3261 §17.1.4): the TU is told and
    /// the transaction ends. Ignored in `Completed`, where nothing is sent.
    pub fn on_transport_error(&mut self) {
        use ClientNonInviteState::*;
        if matches!(self.state, Trying | Proceeding) {
            self.core.emit(TsxOutput::TransportError);
            self.terminate();
        }
    }
}

super::driving_contract!(ClientNonInviteTsx, ClientNonInviteState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::txn::testkit::*;
    use crate::sip::txn::TsxOutput::{Terminated, Timeout, TransportError};

    fn udp(t0: Instant) -> ClientNonInviteTsx {
        ClientNonInviteTsx::new(t0, &TimerConfig::default(), false, bytes("OPTIONS"))
    }

    #[test]
    fn udp_without_answer_backs_off_to_t2_and_times_out_at_timer_f() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        let mut log = drain(&mut tsx, t0, t0);
        log.extend(run_to_end(&mut tsx, t0));
        assert_eq!(
            transmit_times(&log),
            vec![0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
        );
        assert_eq!(
            log[log.len() - 2..],
            [(32_000, Timeout), (32_000, Terminated)]
        );
        assert_eq!(log.len(), 13);
        assert!(tsx.is_terminated());
    }

    #[test]
    fn reliable_without_answer_sends_once_and_times_out_at_64_t1() {
        let t0 = Instant::now();
        let mut tsx = ClientNonInviteTsx::new(t0, &TimerConfig::default(), true, bytes("OPTIONS"));
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("OPTIONS"))]);
        assert_eq!(
            run_to_end(&mut tsx, t0),
            vec![(32_000, Timeout), (32_000, Terminated)]
        );
    }

    #[test]
    fn custom_t1_scales_the_whole_schedule() {
        let t0 = Instant::now();
        let mut tsx = ClientNonInviteTsx::new(t0, &fast(), false, bytes("OPTIONS"));
        let mut log = drain(&mut tsx, t0, t0);
        log.extend(run_to_end(&mut tsx, t0));
        assert_eq!(
            transmit_times(&log),
            vec![0, 100, 300, 700, 1500, 2300, 3100, 3900, 4700, 5500, 6300]
        );
        assert_eq!(log[log.len() - 2..], [(6400, Timeout), (6400, Terminated)]);
    }

    #[test]
    fn a_retransmission_due_with_timer_f_is_not_sent() {
        // T2 = T1 puts Timer E's 64th firing on Timer F's instant: give up, don't send.
        let t0 = Instant::now();
        let cfg = TimerConfig {
            t2: ms(500),
            ..TimerConfig::default()
        };
        let mut tsx = ClientNonInviteTsx::new(t0, &cfg, false, bytes("OPTIONS"));
        drain(&mut tsx, t0, t0);
        let log = run_to_end(&mut tsx, t0);
        let sent = transmit_times(&log);
        assert_eq!(sent.len(), 63);
        assert_eq!(sent.last(), Some(&31_500));
        assert_eq!(
            log[log.len() - 2..],
            [(32_000, Timeout), (32_000, Terminated)]
        );
    }

    #[test]
    fn zero_t1_cannot_hang_on_timer() {
        let t0 = Instant::now();
        let cfg = TimerConfig {
            t1: Duration::ZERO,
            ..TimerConfig::default()
        };
        let mut tsx = ClientNonInviteTsx::new(t0, &cfg, false, bytes("OPTIONS"));
        drain(&mut tsx, t0, t0);
        tsx.on_timer(t0);
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, Timeout), (0, Terminated)]);
    }

    #[test]
    fn after_a_provisional_timer_e_fires_every_t2() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        assert_eq!(
            transmit_times(&run_until(&mut tsx, t0, at(t0, 600))),
            vec![500]
        );
        // In Trying the next one would come at 1.5 s, then 3.5 s; in Proceeding E keeps
        // its pending deadline (1.5 s), then is reset to T2 each time it fires.
        assert_eq!(tsx.on_response(at(t0, 600), 100), Delivery::ToTu);
        assert_eq!(tsx.state(), ClientNonInviteState::Proceeding);
        let log = run_to_end(&mut tsx, t0);
        assert_eq!(
            transmit_times(&log),
            vec![1500, 5500, 9500, 13_500, 17_500, 21_500, 25_500, 29_500]
        );
        assert_eq!(
            log[log.len() - 2..],
            [(32_000, Timeout), (32_000, Terminated)]
        );
    }

    #[test]
    fn final_response_completes_and_timer_k_absorbs_retransmissions() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        run_until(&mut tsx, t0, at(t0, 1000));
        assert_eq!(tsx.on_response(at(t0, 1000), 180), Delivery::ToTu);
        assert_eq!(tsx.on_response(at(t0, 1200), 180), Delivery::ToTu);
        assert_eq!(tsx.on_response(at(t0, 1400), 200), Delivery::ToTu);
        assert_eq!(tsx.state(), ClientNonInviteState::Completed);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::K, at(t0, 6400))));
        for status in [200, 180, 404] {
            assert_eq!(tsx.on_response(at(t0, 2000), status), Delivery::Absorb);
        }
        assert_eq!(drain(&mut tsx, t0, at(t0, 2000)), vec![]);
        // No retransmission after the final response; K = T4 ends it.
        assert_eq!(run_to_end(&mut tsx, t0), vec![(6400, Terminated)]);
    }

    #[test]
    fn custom_t4_scales_timer_k() {
        let t0 = Instant::now();
        let mut tsx = ClientNonInviteTsx::new(t0, &fast(), false, bytes("OPTIONS"));
        drain(&mut tsx, t0, t0);
        assert_eq!(tsx.on_response(at(t0, 50), 200), Delivery::ToTu);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(1050, Terminated)]);
    }

    #[test]
    fn final_response_over_reliable_transport_terminates_at_once() {
        let t0 = Instant::now();
        let mut tsx = ClientNonInviteTsx::new(t0, &TimerConfig::default(), true, bytes("BYE"));
        drain(&mut tsx, t0, t0);
        assert_eq!(tsx.on_response(at(t0, 30), 481), Delivery::ToTu);
        assert_eq!(drain(&mut tsx, t0, at(t0, 30)), vec![(30, Terminated)]);
        assert_eq!(tsx.poll_timeout(), None);
        assert_eq!(tsx.on_response(at(t0, 40), 481), Delivery::Absorb);
    }

    #[test]
    fn transport_error_informs_the_tu_and_terminates() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        let _ = tsx.on_response(t0, 100);
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(
            drain(&mut tsx, t0, t0),
            vec![(0, TransportError), (0, Terminated)]
        );
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn transport_error_in_completed_is_ignored() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        let _ = tsx.on_response(t0, 200);
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        assert_eq!(tsx.state(), ClientNonInviteState::Completed);
    }
}
