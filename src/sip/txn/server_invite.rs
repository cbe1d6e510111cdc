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

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.core.terminate();
    }
}
