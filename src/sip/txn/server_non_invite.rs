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

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.core.terminate();
    }
}
