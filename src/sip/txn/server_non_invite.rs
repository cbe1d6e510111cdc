//! The non-INVITE server transaction (RFC 3261 §17.2.2).

use std::time::Instant;

use bytes::Bytes;

use super::core::{Core, StatusClass};
use super::timer::{TimerConfig, TsxTimer};
use super::{TsxError, TsxOutput};

/// States of [`ServerNonInviteTsx`] (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    Trying,
    Proceeding,
    /// A final response was sent; re-sending it for request retransmissions (Timer J).
    Completed,
    Terminated,
}

impl ServerNonInviteState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trying => "Trying",
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Terminated => "Terminated",
        }
    }
}

/// A non-INVITE server transaction. See the module docs for its state diagram.
///
/// The driver passes the request to the TU itself; the transaction starts in `Trying`.
#[derive(Debug, Clone)]
pub struct ServerNonInviteTsx {
    core: Core,
    state: ServerNonInviteState,
    last_response: Option<Bytes>,
}

impl ServerNonInviteTsx {
    pub fn new(_now: Instant, cfg: &TimerConfig, reliable: bool) -> Self {
        Self {
            core: Core::new(cfg, reliable),
            state: ServerNonInviteState::Trying,
            last_response: None,
        }
    }

    /// The TU sends a response: emits `Transmit(response)` when allowed.
    ///
    /// * 1xx in `Trying` or `Proceeding`: `Proceeding`.
    /// * 200–699 in `Trying` or `Proceeding`: `Completed`, Timer J = 64·T1 (0 reliable).
    ///
    /// A response after the final one is a TU error and sends nothing.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        response: Bytes,
    ) -> Result<(), TsxError> {
        use ServerNonInviteState::*;
        let class = StatusClass::of(status).ok_or(TsxError::InvalidStatus(status))?;
        match (self.state, class) {
            (Trying | Proceeding, StatusClass::Provisional) => {
                self.core.transmit(response.clone());
                self.last_response = Some(response);
                self.state = Proceeding;
            }
            (Trying | Proceeding, StatusClass::Success | StatusClass::Failure) => {
                self.core.transmit(response.clone());
                self.last_response = Some(response);
                self.state = Completed;
                let j = self.core.unreliable_only(self.core.cfg.t1x64());
                if !self.core.arm_linger(TsxTimer::J, now, j) {
                    self.terminate();
                }
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

    /// The request arrived again: absorbed silently in `Trying` (the TU has not answered),
    /// answered with the last response in `Proceeding` and `Completed`. The TU never sees it.
    pub fn on_request_retransmission(&mut self, _now: Instant) {
        use ServerNonInviteState::*;
        if matches!(self.state, Proceeding | Completed) {
            if let Some(response) = &self.last_response {
                self.core.transmit(response.clone());
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        let mut fired = 0;
        while let Some(timer) = self.core.timers.pop_due(now, &mut fired) {
            if (timer, self.state) == (TsxTimer::J, ServerNonInviteState::Completed) {
                self.terminate();
            }
        }
    }

    /// The transport failed to deliver a response (RFC 3261 §17.2.4, Figure 8): the TU is
    /// told and the transaction ends. Ignored in `Trying`, where nothing was sent.
    pub fn on_transport_error(&mut self) {
        use ServerNonInviteState::*;
        if matches!(self.state, Proceeding | Completed) {
            self.core.emit(TsxOutput::TransportError);
            self.terminate();
        }
    }
}

super::driving_contract!(ServerNonInviteTsx, ServerNonInviteState);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::txn::testkit::*;
    use crate::sip::txn::TsxOutput::{Terminated, TransportError};

    fn udp(t0: Instant) -> ServerNonInviteTsx {
        ServerNonInviteTsx::new(t0, &TimerConfig::default(), false)
    }

    fn send(tsx: &mut ServerNonInviteTsx, now: Instant, status: u16, text: &'static str) {
        assert_eq!(tsx.send_response(now, status, bytes(text)), Ok(()));
    }

    #[test]
    fn retransmission_in_trying_is_absorbed_silently() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        tsx.on_request_retransmission(at(t0, 500));
        assert_eq!(drain(&mut tsx, t0, at(t0, 500)), vec![]);
        assert_eq!(tsx.state(), ServerNonInviteState::Trying);
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn retransmission_in_proceeding_re_sends_the_last_provisional() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        send(&mut tsx, t0, 100, "100");
        assert_eq!(tsx.state(), ServerNonInviteState::Proceeding);
        send(&mut tsx, at(t0, 10), 183, "183");
        assert_eq!(tsx.state(), ServerNonInviteState::Proceeding);
        assert_eq!(
            drain(&mut tsx, t0, at(t0, 10)),
            vec![(10, tx("100")), (10, tx("183"))]
        );
        tsx.on_request_retransmission(at(t0, 500));
        assert_eq!(drain(&mut tsx, t0, at(t0, 500)), vec![(500, tx("183"))]);
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn final_over_udp_is_re_sent_for_retransmissions_until_timer_j() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        send(&mut tsx, at(t0, 200), 200, "200");
        assert_eq!(tsx.state(), ServerNonInviteState::Completed);
        assert_eq!(tsx.next_timer(), Some((TsxTimer::J, at(t0, 32_200))));
        assert_eq!(drain(&mut tsx, t0, at(t0, 200)), vec![(200, tx("200"))]);
        for t in [700, 1700, 3700] {
            tsx.on_request_retransmission(at(t0, t));
            assert_eq!(drain(&mut tsx, t0, at(t0, t)), vec![(t, tx("200"))]);
        }
        // The server never retransmits on its own: only Timer J remains.
        assert_eq!(run_to_end(&mut tsx, t0), vec![(32_200, Terminated)]);
    }

    #[test]
    fn custom_t1_scales_timer_j() {
        let t0 = Instant::now();
        let mut tsx = ServerNonInviteTsx::new(t0, &fast(), false);
        send(&mut tsx, t0, 404, "404");
        drain(&mut tsx, t0, t0);
        assert_eq!(run_to_end(&mut tsx, t0), vec![(6400, Terminated)]);
    }

    #[test]
    fn final_over_reliable_transport_terminates_at_once() {
        let t0 = Instant::now();
        let mut tsx = ServerNonInviteTsx::new(t0, &TimerConfig::default(), true);
        send(&mut tsx, at(t0, 5), 200, "200");
        assert_eq!(
            drain(&mut tsx, t0, at(t0, 5)),
            vec![(5, tx("200")), (5, Terminated)]
        );
        assert!(tsx.is_terminated());
        assert_eq!(tsx.poll_timeout(), None);
    }

    #[test]
    fn responses_after_the_final_or_with_bad_codes_are_refused() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        assert_eq!(
            tsx.send_response(t0, 42, bytes("x")),
            Err(TsxError::InvalidStatus(42))
        );
        assert_eq!(tsx.state(), ServerNonInviteState::Trying);
        send(&mut tsx, t0, 200, "200");
        drain(&mut tsx, t0, t0);
        assert_eq!(
            tsx.send_response(t0, 100, bytes("100")),
            Err(TsxError::WrongState {
                status: 100,
                state: "Completed"
            })
        );
        assert_eq!(
            tsx.send_response(t0, 500, bytes("500")),
            Err(TsxError::WrongState {
                status: 500,
                state: "Completed"
            })
        );
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        // The retransmitted request still gets the response actually sent.
        tsx.on_request_retransmission(t0);
        assert_eq!(drain(&mut tsx, t0, t0), vec![(0, tx("200"))]);
    }

    #[test]
    fn transport_error_informs_the_tu_and_terminates() {
        let t0 = Instant::now();
        let mut tsx = udp(t0);
        // Nothing was sent in Trying: nothing can have failed.
        tsx.on_transport_error();
        assert_eq!(drain(&mut tsx, t0, t0), vec![]);
        send(&mut tsx, t0, 200, "200");
        drain(&mut tsx, t0, t0);
        tsx.on_transport_error();
        assert_eq!(
            drain(&mut tsx, t0, t0),
            vec![(0, TransportError), (0, Terminated)]
        );
        assert_eq!(tsx.poll_timeout(), None);
    }
}
