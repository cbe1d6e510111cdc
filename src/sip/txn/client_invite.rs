//! The INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2 and §8.4).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::core::{Core, StatusClass};
use super::timer::{backoff, TimerConfig, TsxTimer};
use super::{Delivery, TsxOutput};

/// States of [`ClientInviteTsx`] (RFC 3261 Figure 5, RFC 6026 Figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling,
    Proceeding,
    /// A 300–699 final response arrived; absorbing its retransmissions (Timer D).
    Completed,
    /// A 2xx arrived; passing further 2xx (retransmissions, forks) to the TU (Timer M).
    Accepted,
    Terminated,
}

/// An INVITE client transaction. See the module docs for its state diagram.
#[derive(Debug, Clone)]
pub struct ClientInviteTsx {
    core: Core,
    state: ClientInviteState,
    /// The request, kept for Timer A while `Calling`.
    invite: Option<Bytes>,
    a_interval: Duration,
    /// The ACK to the non-2xx final response, built once and re-sent for retransmissions.
    ack: Option<Bytes>,
}

impl ClientInviteTsx {
    /// Starts the transaction: emits `Transmit(invite)`, arms Timer A (T1, unreliable
    /// transports only) and Timer B (64·T1).
    pub fn new(now: Instant, cfg: &TimerConfig, reliable: bool, invite: Bytes) -> Self {
        let mut core = Core::new(cfg, reliable);
        core.transmit(invite.clone());
        if !reliable {
            core.timers.set(TsxTimer::A, now, cfg.t1);
        }
        core.timers.set(TsxTimer::B, now, cfg.t1x64());
        Self {
            core,
            state: ClientInviteState::Calling,
            invite: Some(invite),
            a_interval: cfg.t1,
            ack: None,
        }
    }

    /// A response matched this transaction. `build_ack` is called once, for the first
    /// 300–699 final response, and must build the ACK of RFC 3261 §17.1.1.3 (same branch,
    /// To tag of the response); later retransmissions of the final response re-send the same
    /// bytes. The ACK to a 2xx is the TU's (RFC 3261 §13.2.2.4), never built here.
    pub fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        build_ack: impl FnOnce() -> Bytes,
    ) -> Delivery {
        use ClientInviteState::*;
        let Some(class) = StatusClass::of(status) else {
            return Delivery::Absorb;
        };
        match (self.state, class) {
            (Calling, StatusClass::Provisional) => {
                self.leave_calling();
                self.state = Proceeding;
                Delivery::ToTu
            }
            (Proceeding, StatusClass::Provisional) => Delivery::ToTu,
            (Calling | Proceeding, StatusClass::Success) => {
                self.leave_calling();
                self.state = Accepted;
                let m = self.core.cfg.t1x64();
                self.core.timers.set(TsxTimer::M, now, m);
                Delivery::ToTu
            }
            (Calling | Proceeding, StatusClass::Failure) => {
                self.leave_calling();
                let ack = build_ack();
                self.core.transmit(ack.clone());
                self.ack = Some(ack);
                self.state = Completed;
                let d = self.core.unreliable_only(self.core.cfg.d);
                if !self.core.arm_linger(TsxTimer::D, now, d) {
                    self.terminate();
                }
                Delivery::ToTu
            }
            (Completed, StatusClass::Failure) => {
                if let Some(ack) = &self.ack {
                    self.core.transmit(ack.clone());
                }
                Delivery::Absorb
            }
            (Accepted, StatusClass::Success) => Delivery::ToTu,
            // 1xx after a final, a non-2xx in Accepted, a 2xx in Completed, or anything once
            // Terminated: nothing the TU may act on.
            _ => Delivery::Absorb,
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        let mut fired = 0;
        while let Some(timer) = self.core.timers.pop_due(now, &mut fired) {
            match (timer, self.state) {
                (TsxTimer::A, ClientInviteState::Calling) => {
                    if let Some(invite) = &self.invite {
                        self.core.transmit(invite.clone());
                    }
                    self.a_interval = backoff(self.a_interval, None);
                    self.core.timers.set(TsxTimer::A, now, self.a_interval);
                }
                (TsxTimer::B, ClientInviteState::Calling) => {
                    self.core.emit(TsxOutput::Timeout);
                    self.terminate();
                }
                (TsxTimer::D, ClientInviteState::Completed)
                | (TsxTimer::M, ClientInviteState::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to deliver the INVITE or the ACK (RFC 3261 §17.1.4): the TU is
    /// told and the transaction ends. Ignored in `Accepted`, where this transaction sends
    /// nothing (the ACK to a 2xx is the TU's).
    pub fn on_transport_error(&mut self) {
        use ClientInviteState::*;
        if matches!(self.state, Calling | Proceeding | Completed) {
            self.core.emit(TsxOutput::TransportError);
            self.terminate();
        }
    }

    fn leave_calling(&mut self) {
        self.core.timers.clear(TsxTimer::A);
        self.core.timers.clear(TsxTimer::B);
        self.invite = None;
    }
}

super::driving_contract!(ClientInviteTsx, ClientInviteState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::txn::testkit::*;
    use crate::sip::txn::TsxOutput::{Terminated, Timeout, TransportError};

    fn udp(t0: Instant) -> ClientInviteTsx {
        ClientInviteTsx::new(t0, &TimerConfig::default(), false, bytes("INVITE"))
    }

    #[test]
    fn udp_without_answer_retransmits_on_timer_a_and_times_out_at_timer_b() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("INVITE"))]);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::A, at(t0, 500))));
        let log = run_to_end(&mut tsx, t0);
        assert_eq!(
            log,
            vec![
                (500, tx("INVITE")),
                (1500, tx("INVITE")),
                (3500, tx("INVITE")),
                (7500, tx("INVITE")),
                (15_500, tx("INVITE")),
                (31_500, tx("INVITE")),
                (32_000, Timeout),
                (32_000, Terminated),
            ]
        );
        assert!(tsx.is_terminated());
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn reliable_without_answer_sends_once_and_times_out_at_64_t1() {
        let t0 = Instant::now();
        let mut tsx = ClientInviteTsx::new(t0, &TimerConfig::default(), true, bytes("INVITE"));
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("INVITE"))]);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::B, at(t0, 32_000))));
        assert_eq!(
            run_to_end(&mut tsx, t0),
            vec![(32_000, Timeout), (32_000, Terminated)]
        );
    }

    #[test]
    fn custom_t1_scales_the_whole_schedule() {
        let t0 = Instant::now();
        let mut tsx = ClientInviteTsx::new(t0, &fast(), false, bytes("INVITE"));
        let mut log = drain(&mut tsx, t0, t0);
        log.extend(run_to_end(&mut tsx, t0));
        assert_eq!(
            transmit_times(&log),
            vec![0, 100, 300, 700, 1500, 3100, 6300]
        );
        assert_eq!(log[log.len() - 2..], [(6400, Timeout), (6400, Terminated)]);
    }

    #[test]
    fn provisional_stops_timers_a_and_b() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        assert_eq!(
            transmit_times(&run_until(&mut tsx, t0, at(t0, 2000))),
            vec![500, 1500]
        );
        let now = at(t0, 2000);
        assert_eq!(tsx.on_response(now, 180, || bytes("ACK")), Delivery::ToTu);
        assert_eq!(tsx.state(), ClientInviteState::Proceeding);
        assert_eq!(tsx.poll_timeout(), None);
        assert_eq!(drain(&mut tsx, t0, now), vec![]);
        assert_eq!(tsx.on_response(now, 183, || bytes("ACK")), Delivery::ToTu);
        // Ringing for minutes is fine: no timer ends a Proceeding INVITE.
        assert_eq!(run_to_end(&mut tsx, t0), vec![]);
        assert_eq!(tsx.state(), ClientInviteState::Proceeding);
    }

    #[test]
    fn non_2xx_final_is_acked_once_and_retransmissions_re_ack_and_are_absorbed() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        assert_eq!(
            tsx.on_response(at(t0, 300), 180, || unreachable!()),
            Delivery::ToTu
        );
        let mut built = 0;
        let mut ack = || {
            built += 1;
            bytes("ACK")
        };
        assert_eq!(tsx.on_response(at(t0, 5000), 486, &mut ack), Delivery::ToTu);
        assert_eq!(drain(&mut tsx, t0, at(t0, 5000)), vec![(5000, tx("ACK"))]);
        assert_eq!(tsx.state(), ClientInviteState::Completed);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::D, at(t0, 37_000))));

        for t in [5500, 6500] {
            assert_eq!(tsx.on_response(at(t0, t), 486, &mut ack), Delivery::Absorb);
            assert_eq!(drain(&mut tsx, t0, at(t0, t)), vec![(t, tx("ACK"))]);
        }
        assert_eq!(built, 1);
        assert_eq!(
            tsx.on_response(at(t0, 7000), 180, || unreachable!()),
            Delivery::Absorb
        );
        assert_eq!(
            tsx.on_response(at(t0, 7000), 200, || unreachable!()),
            Delivery::Absorb
        );
        assert_eq!(drain(&mut tsx, t0, at(t0, 7000)), vec![]);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(37_000, Terminated)]);
    }

    #[test]
    fn non_2xx_final_in_calling_stops_retransmissions() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        run_until(&mut tsx, t0, at(t0, 600));
        assert_eq!(
            tsx.on_response(at(t0, 600), 503, || bytes("ACK")),
            Delivery::ToTu
        );
        assert_eq!(drain(&mut tsx, t0, at(t0, 600)), vec![(600, tx("ACK"))]);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(32_600, Terminated)]);
    }

    #[test]
    fn non_2xx_final_over_reliable_transport_terminates_at_once() {
        let t0 = Instant::now();
        let mut tsx = ClientInviteTsx::new(t0, &TimerConfig::default(), true, bytes("INVITE"));
        drain(&mut tsx, t0, t0);
        assert_eq!(
            tsx.on_response(at(t0, 100), 486, || bytes("ACK")),
            Delivery::ToTu
        );
        assert_eq!(
            drain(&mut tsx, t0, at(t0, 100)),
            vec![(100, tx("ACK")), (100, Terminated)]
        );
        assert!(tsx.is_terminated());
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn timer_d_follows_the_configured_value() {
        let t0 = Instant::now();
        let mut tsx = ClientInviteTsx::new(t0, &fast(), false, bytes("INVITE"));
        drain(&mut tsx, t0, t0);
        let _ = tsx.on_response(at(t0, 50), 404, || bytes("ACK"));
        drain(&mut tsx, t0, at(t0, 50));
        assert_eq!(run_to_end(&mut tsx, t0), vec![(6450, Terminated)]);
    }

    #[test]
    fn success_enters_accepted_and_passes_every_2xx_to_the_tu_until_timer_m() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        assert_eq!(
            transmit_times(&run_until(&mut tsx, t0, at(t0, 800))),
            vec![500]
        );
        assert_eq!(
            tsx.on_response(at(t0, 800), 200, || unreachable!()),
            Delivery::ToTu
        );
        assert_eq!(tsx.state(), ClientInviteState::Accepted);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::M, at(t0, 32_800))));
        // The transaction never ACKs a 2xx: the TU does.
        assert_eq!(drain(&mut tsx, t0, at(t0, 800)), vec![]);
        // Retransmitted 2xx (and 2xx from other forks) go up; the TU re-sends its ACK.
        for t in [1300, 2300] {
            assert_eq!(
                tsx.on_response(at(t0, t), 200, || unreachable!()),
                Delivery::ToTu
            );
        }
        assert_eq!(
            tsx.on_response(at(t0, 2400), 180, || unreachable!()),
            Delivery::Absorb
        );
        assert_eq!(
            tsx.on_response(at(t0, 2400), 486, || unreachable!()),
            Delivery::Absorb
        );
        assert_eq!(drain(&mut tsx, t0, at(t0, 2400)), vec![]);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(32_800, Terminated)]);
    }

    #[test]
    fn success_after_provisional_enters_accepted() {
        let t0 = Instant::now();
        let mut tsx = ClientInviteTsx::new(t0, &fast(), true, bytes("INVITE"));
        drain(&mut tsx, t0, t0);
        let _ = tsx.on_response(at(t0, 10), 180, || unreachable!());
        assert_eq!(
            tsx.on_response(at(t0, 20), 200, || unreachable!()),
            Delivery::ToTu
        );
        assert_eq!(run_to_end(&mut tsx, t0), vec![(6420, Terminated)]);
    }

    #[test]
    fn transport_error_informs_the_tu_and_terminates() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(
            drain(&mut tsx, t0, t0),
            vec![(0, TransportError), (0, Terminated)]
        );
        assert_eq!(tsx.poll_timeout(), None);
        // Inputs after Terminated are ignored.
        assert_eq!(
            tsx.on_response(t0, 200, || unreachable!()),
            Delivery::Absorb
        );
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
    }

    #[test]
    fn transport_error_in_accepted_is_not_the_transactions() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        let _ = tsx.on_response(t0, 200, || unreachable!());
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        assert_eq!(tsx.state(), ClientInviteState::Accepted);
    }

    #[test]
    fn a_late_wake_up_sends_one_retransmission_not_a_burst() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        drain(&mut tsx, t0, t0);
        // The driver oversleeps Timer A's first two deadlines (0.5 s and 1.5 s).
        tsx.on_timer(at(t0, 2000));
        assert_eq!(
            drain(&mut tsx, t0, at(t0, 2000)),
            vec![(2000, tx("INVITE"))]
        );
        assert_eq!(tsx.next_timer(), Some((TsxTimer::A, at(t0, 3000))));
    }

    #[test]
    fn status_codes_outside_100_to_699_are_ignored() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        for status in [0, 99, 700, 999] {
            assert_eq!(
                tsx.on_response(t0, status, || unreachable!()),
                Delivery::Absorb
            );
        }
        assert_eq!(tsx.state(), ClientInviteState::Calling);
    }
}
