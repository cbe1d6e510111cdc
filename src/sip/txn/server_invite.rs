//! The INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1 and §8.5–8.7).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::core::{Core, StatusClass};
use super::timer::{backoff, TimerConfig, TsxTimer};
use super::{Delivery, TsxError, TsxOutput};

/// States of [`ServerInviteTsx`] (RFC 3261 Figure 7, RFC 6026 Figure 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding,
    /// A 300–699 was sent; retransmitting it (Timer G) until the ACK or Timer H.
    Completed,
    /// The ACK for the non-2xx arrived; absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// A 2xx was sent; absorbing INVITE retransmissions, passing ACKs up (Timer L).
    Accepted,
    Terminated,
}

impl ServerInviteState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Confirmed => "Confirmed",
            Self::Accepted => "Accepted",
            Self::Terminated => "Terminated",
        }
    }
}

/// An INVITE server transaction. See the module docs for its state diagram.
///
/// The driver passes the INVITE to the TU itself; the transaction starts in `Proceeding`
/// with nothing to send. RFC 3261 §17.2.1 wants a 100 (Trying) unless the TU answers within
/// 200 ms: the driver sends it through [`send_response`](Self::send_response) (building a
/// 100 is cheap, so sending it at once is the simple, conforming choice).
#[derive(Debug, Clone)]
pub struct ServerInviteTsx {
    core: Core,
    state: ServerInviteState,
    /// The most recent response sent: re-sent for INVITE retransmissions and by Timer G.
    last_response: Option<Bytes>,
    g_interval: Duration,
}

impl ServerInviteTsx {
    pub fn new(_now: Instant, cfg: &TimerConfig, reliable: bool) -> Self {
        Self {
            core: Core::new(cfg, reliable),
            state: ServerInviteState::Proceeding,
            last_response: None,
            g_interval: cfg.t1,
        }
    }

    /// The TU sends a response: always emits `Transmit(response)` when allowed.
    ///
    /// * 1xx in `Proceeding`: stays.
    /// * 2xx in `Proceeding`: `Accepted`, Timer L = 64·T1. In `Accepted`, further 2xx
    ///   (a proxy forwarding forks) are sent too (RFC 6026 §8.5).
    /// * 300–699 in `Proceeding`: `Completed`, Timer G = T1 (unreliable only), Timer H = 64·T1.
    ///
    /// Anything else is a TU error (e.g. a 487 racing a 200) and sends nothing.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        response: Bytes,
    ) -> Result<(), TsxError> {
        use ServerInviteState::*;
        let class = StatusClass::of(status).ok_or(TsxError::InvalidStatus(status))?;
        match (self.state, class) {
            (Proceeding, StatusClass::Provisional) => {
                self.core.transmit(response.clone());
                self.last_response = Some(response);
            }
            (Proceeding, StatusClass::Success) => {
                self.core.transmit(response);
                self.last_response = None;
                self.state = Accepted;
                let l = self.core.cfg.t1x64();
                self.core.timers.set(TsxTimer::L, now, l);
            }
            (Accepted, StatusClass::Success) => self.core.transmit(response),
            (Proceeding, StatusClass::Failure) => {
                self.core.transmit(response.clone());
                self.last_response = Some(response);
                self.state = Completed;
                if !self.core.reliable {
                    self.core.timers.set(TsxTimer::G, now, self.g_interval);
                }
                let h = self.core.cfg.t1x64();
                self.core.timers.set(TsxTimer::H, now, h);
            }
            (state, _) => {
                return Err(TsxError::WrongState {
                    status,
                    state: state.as_str(),
                })
            }
        }
        Ok(())
    }

    /// The INVITE arrived again. In `Proceeding` and `Completed` the last response (if any)
    /// is re-sent; elsewhere the retransmission is absorbed (RFC 6026 §8.6 for `Accepted`).
    /// The TU never sees it.
    pub fn on_request_retransmission(&mut self, _now: Instant) {
        use ServerInviteState::*;
        if matches!(self.state, Proceeding | Completed) {
            if let Some(response) = &self.last_response {
                self.core.transmit(response.clone());
            }
        }
    }

    /// An ACK matched this transaction.
    ///
    /// In `Completed` it acknowledges our non-2xx: `Confirmed`, Timer I = T4 (0 reliable),
    /// absorbed. In `Accepted` it acknowledges a 2xx and belongs to the TU (RFC 6026 §8.7).
    /// Otherwise absorbed.
    pub fn on_ack(&mut self, now: Instant) -> Delivery {
        match self.state {
            ServerInviteState::Completed => {
                self.core.timers.clear(TsxTimer::G);
                self.core.timers.clear(TsxTimer::H);
                self.state = ServerInviteState::Confirmed;
                let i = self.core.unreliable_only(self.core.cfg.t4);
                if !self.core.arm_linger(TsxTimer::I, now, i) {
                    self.terminate();
                }
                Delivery::Absorb
            }
            ServerInviteState::Accepted => Delivery::ToTu,
            _ => Delivery::Absorb,
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        use ServerInviteState::*;
        let mut fired = 0;
        while let Some(timer) = self.core.timers.pop_due(now, &mut fired) {
            match (timer, self.state) {
                (TsxTimer::G, Completed) => {
                    if let Some(response) = &self.last_response {
                        self.core.transmit(response.clone());
                    }
                    self.g_interval = backoff(self.g_interval, Some(self.core.cfg.t2));
                    self.core.timers.set(TsxTimer::G, now, self.g_interval);
                }
                (TsxTimer::H, Completed) => {
                    self.core.emit(TsxOutput::Timeout);
                    self.terminate();
                }
                (TsxTimer::I, Confirmed) | (TsxTimer::L, Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to deliver a response (RFC 3261 §17.2.4). RFC 6026 Figure 7
    /// makes this a self-loop: the TU is told (it may retry per RFC 3263 §5) and the state,
    /// with its timers, stays. Ignored in `Confirmed`, where nothing is sent.
    pub fn on_transport_error(&mut self) {
        use ServerInviteState::*;
        if matches!(self.state, Proceeding | Completed | Accepted) {
            self.core.emit(TsxOutput::TransportError);
        }
    }
}

super::driving_contract!(ServerInviteTsx, ServerInviteState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::txn::testkit::*;
    use crate::sip::txn::TsxOutput::{Terminated, Timeout, TransportError};

    fn udp(t0: Instant) -> ServerInviteTsx {
        ServerInviteTsx::new(t0, &TimerConfig::default(), false)
    }

    fn send(tsx: &mut ServerInviteTsx, now: Instant, status: u16, text: &'static str) {
        assert_eq!(tsx.send_response(now, status, bytes(text)), Ok(()));
    }

    #[test]
    fn starts_in_proceeding_with_nothing_to_send() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        assert_eq!(tsx.state(), ServerInviteState::Proceeding);
        assert_eq!(tsx.poll_output(), None);
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn non_2xx_over_udp_is_retransmitted_on_timer_g_until_timer_h() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        send(&mut tsx, t0, 100, "100");
        send(&mut tsx, at(t0, 100), 180, "180");
        assert_eq!(tsx.state(), ServerInviteState::Proceeding);
        assert_eq!(tsx.poll_timeout(), None);
        send(&mut tsx, at(t0, 1000), 486, "486");
        assert_eq!(tsx.state(), ServerInviteState::Completed);
        assert_eq!(
            drain(&mut tsx, t0, at(t0, 1000)),
            vec![(1000, tx("100")), (1000, tx("180")), (1000, tx("486"))]
        );
        let log = run_to_end(&mut tsx, t0);
        // G: 0.5, 1.5, 3.5, 7.5, then every T2; H at 32 s, all after the 486 (sent at 1 s).
        let expected: Vec<u64> = [500, 1500, 3500, 7500, 11_500, 15_500, 19_500]
            .into_iter()
            .chain([23_500, 27_500, 31_500])
            .map(|t| t + 1000)
            .collect();
        assert_eq!(transmit_times(&log), expected);
        let retransmitted: Vec<_> = log.iter().filter(|(_, o)| *o == tx("486")).collect();
        assert_eq!(retransmitted.len(), expected.len());
        assert_eq!(
            log[log.len() - 2..],
            [(33_000, Timeout), (33_000, Terminated)]
        );
        assert!(tsx.is_terminated());
    }

    #[test]
    fn custom_t1_scales_timers_g_and_h() {
        let t0 = Instant::now();
        let mut tsx = ServerInviteTsx::new(t0, &fast(), false);
        send(&mut tsx, t0, 603, "603");
        drain(&mut tsx, t0, t0);
        let log = run_to_end(&mut tsx, t0);
        assert_eq!(
            transmit_times(&log),
            vec![100, 300, 700, 1500, 2300, 3100, 3900, 4700, 5500, 6300]
        );
        assert_eq!(log[log.len() - 2..], [(6400, Timeout), (6400, Terminated)]);
    }

    #[test]
    fn custom_t1_and_t4_scale_timers_i_and_l() {
        let t0 = Instant::now();
        let mut rejected = ServerInviteTsx::new(t0, &fast(), false);
        send(&mut rejected, t0, 486, "486");
        assert_eq!(rejected.on_ack(at(t0, 50)), Delivery::Absorb);
        drain(&mut rejected, t0, at(t0, 50));
        assert_eq!(run_to_end(&mut rejected, t0), vec![(1050, Terminated)]);

        let mut accepted = ServerInviteTsx::new(t0, &fast(), false);
        send(&mut accepted, t0, 200, "200");
        drain(&mut accepted, t0, t0);
        assert_eq!(run_to_end(&mut accepted, t0), vec![(6400, Terminated)]);
    }

    #[test]
    fn ack_confirms_stops_timer_g_and_timer_i_ends_it() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        send(&mut tsx, t0, 486, "486");
        drain(&mut tsx, t0, t0);
        assert_eq!(
            transmit_times(&run_until(&mut tsx, t0, at(t0, 2000))),
            vec![500, 1500]
        );
        assert_eq!(tsx.on_ack(at(t0, 2000)), Delivery::Absorb);
        assert_eq!(tsx.state(), ServerInviteState::Confirmed);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::I, at(t0, 7000))));
        // Retransmitted ACKs and INVITEs are absorbed without a word.
        assert_eq!(tsx.on_ack(at(t0, 2500)), Delivery::Absorb);
        tsx.on_request_retransmission(at(t0, 2500));
        assert_eq!(drain(&mut tsx, t0, at(t0, 2500)), vec![]);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(7000, Terminated)]);
    }

    #[test]
    fn over_reliable_transport_no_timer_g_and_ack_terminates_at_once() {
        let t0 = Instant::now();
        let mut tsx = ServerInviteTsx::new(t0, &TimerConfig::default(), true);
        send(&mut tsx, t0, 486, "486");
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("486"))]);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::H, at(t0, 32_000))));
        assert_eq!(tsx.on_ack(at(t0, 40)), Delivery::Absorb);
        assert_eq!(drain(&mut tsx, t0, at(t0, 40)), vec![(40, Terminated)]);
        assert!(tsx.is_terminated());
    }

    #[test]
    fn over_reliable_transport_timer_h_still_reports_the_missing_ack() {
        let t0 = Instant::now();
        let mut tsx = ServerInviteTsx::new(t0, &TimerConfig::default(), true);
        send(&mut tsx, t0, 480, "480");
        drain(&mut tsx, t0, t0);
        assert_eq!(
            run_to_end(&mut tsx, t0),
            vec![(32_000, Timeout), (32_000, Terminated)]
        );
    }

    #[test]
    fn retransmitted_invite_re_sends_the_last_response() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        // Before the TU said anything there is nothing to re-send.
        tsx.on_request_retransmission(t0);
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        send(&mut tsx, t0, 100, "100");
        drain(&mut tsx, t0, t0);
        tsx.on_request_retransmission(at(t0, 10));
        assert_eq!(drain(&mut tsx, t0, at(t0, 10)), vec![(10, tx("100"))]);
        send(&mut tsx, at(t0, 20), 180, "180");
        drain(&mut tsx, t0, at(t0, 20));
        tsx.on_request_retransmission(at(t0, 30));
        assert_eq!(drain(&mut tsx, t0, at(t0, 30)), vec![(30, tx("180"))]);
        send(&mut tsx, at(t0, 40), 486, "486");
        drain(&mut tsx, t0, at(t0, 40));
        tsx.on_request_retransmission(at(t0, 50));
        assert_eq!(drain(&mut tsx, t0, at(t0, 50)), vec![(50, tx("486"))]);
    }

    #[test]
    fn success_enters_accepted_absorbs_invites_and_passes_acks_to_the_tu() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        send(&mut tsx, t0, 180, "180");
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("180"))]);
        send(&mut tsx, at(t0, 500), 200, "200");
        assert_eq!(tsx.state(), ServerInviteState::Accepted);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::L, at(t0, 32_500))));
        assert_eq!(drain(&mut tsx, t0, at(t0, 500)), vec![(500, tx("200"))]);
        // RFC 6026 §8.6: a retransmitted INVITE is absorbed, nothing re-sent.
        tsx.on_request_retransmission(at(t0, 1000));
        assert_eq!(drain(&mut tsx, t0, at(t0, 1000)), vec![]);
        // The 2xx's retransmissions come from the TU (AnswerRetransmitter) and are sent.
        send(&mut tsx, at(t0, 1000), 200, "200");
        assert_eq!(drain(&mut tsx, t0, at(t0, 1000)), vec![(1000, tx("200"))]);
        // Each ACK (original and retransmitted) is the TU's.
        assert_eq!(tsx.on_ack(at(t0, 1100)), Delivery::ToTu);
        assert_eq!(tsx.on_ack(at(t0, 1200)), Delivery::ToTu);
        assert_eq!(tsx.state(), ServerInviteState::Accepted);
        // A non-2xx after the 2xx is refused and not sent.
        assert_eq!(
            tsx.send_response(at(t0, 1300), 487, bytes("487")),
            Err(TsxError::WrongState {
                status: 487,
                state: "Accepted"
            })
        );
        assert_eq!(run_to_end(&mut tsx, t0), vec![(32_500, Terminated)]);
    }

    #[test]
    fn responses_after_the_final_or_with_bad_codes_are_refused() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        assert_eq!(
            tsx.send_response(t0, 700, bytes("x")),
            Err(TsxError::InvalidStatus(700))
        );
        assert_eq!(
            tsx.send_response(t0, 99, bytes("x")),
            Err(TsxError::InvalidStatus(99))
        );
        send(&mut tsx, t0, 486, "486");
        drain(&mut tsx, t0, t0);
        for status in [180, 200, 500] {
            assert_eq!(
                tsx.send_response(t0, status, bytes("x")),
                Err(TsxError::WrongState {
                    status,
                    state: "Completed"
                })
            );
        }
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        assert_eq!(tsx.state(), ServerInviteState::Completed);
    }

    #[test]
    fn ack_before_any_final_response_is_absorbed() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        assert_eq!(tsx.on_ack(t0), Delivery::Absorb);
        assert_eq!(tsx.state(), ServerInviteState::Proceeding);
    }

    #[test]
    fn transport_error_informs_the_tu_and_keeps_the_state_and_timers() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, TransportError)]);
        assert_eq!(tsx.state(), ServerInviteState::Proceeding);
        send(&mut tsx, t0, 486, "486");
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, TransportError)]);
        assert_eq!(tsx.state(), ServerInviteState::Completed);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::G, at(t0, 500))));
        let _ = tsx.on_ack(t0);
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
    }
}
