//! The UAS core's 2xx retransmission for INVITE (RFC 3261 §13.3.1.4).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::core::Core;
use super::timer::{backoff, TimerConfig, TsxTimer};
use super::TsxOutput;

/// Retransmits a 2xx to INVITE until its ACK arrives (RFC 3261 §13.3.1.4).
///
/// Sends the 2xx at once, then again after T1, 2·T1, 4·T1 … capped at T2 (Timer G's
/// back-off), until [`ack_received`](Self::ack_received). If 64·T1 pass without an ACK
/// (Timer H's value) it emits [`TsxOutput::Timeout`]: the dialog is confirmed but the TU
/// should end the session with a BYE. Either way it then emits [`TsxOutput::Terminated`].
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
        core.transmit(ok.clone());
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
