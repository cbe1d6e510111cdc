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

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.core.terminate();
    }
}
