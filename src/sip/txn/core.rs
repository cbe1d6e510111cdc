//! What every transaction shares: its timer table, its output queue, its configuration and
//! whether its transport is reliable. Private to `sip::txn`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{TimerConfig, TimerTable, TsxTimer};
use super::TsxOutput;

/// The class of a response status code, as the transaction layer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StatusClass {
    /// 100–199.
    Provisional,
    /// 200–299.
    Success,
    /// 300–699: a final response that is not a 2xx.
    Failure,
}

impl StatusClass {
    /// `None` for codes outside 100..=699, which no transaction acts on.
    pub(super) fn of(status: u16) -> Option<Self> {
        match status {
            100..=199 => Some(Self::Provisional),
            200..=299 => Some(Self::Success),
            300..=699 => Some(Self::Failure),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Core {
    pub(super) cfg: TimerConfig,
    pub(super) reliable: bool,
    pub(super) timers: TimerTable,
    out: VecDeque<TsxOutput>,
}

impl Core {
    pub(super) fn new(cfg: &TimerConfig, reliable: bool) -> Self {
        Self {
            cfg: *cfg,
            reliable,
            timers: TimerTable::default(),
            out: VecDeque::new(),
        }
    }

    pub(super) fn transmit(&mut self, bytes: Bytes) {
        self.out.push_back(TsxOutput::Transmit(bytes));
    }

    pub(super) fn emit(&mut self, output: TsxOutput) {
        self.out.push_back(output);
    }

    pub(super) fn poll_output(&mut self) -> Option<TsxOutput> {
        self.out.pop_front()
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }

    /// Disarms every timer and tells the driver the transaction is gone.
    pub(super) fn terminate(&mut self) {
        self.timers.clear_all();
        self.out.push_back(TsxOutput::Terminated);
    }

    /// `unreliable` over UDP, zero over a reliable transport (timers D, I, J, K).
    pub(super) fn unreliable_only(&self, unreliable: Duration) -> Duration {
        if self.reliable {
            Duration::ZERO
        } else {
            unreliable
        }
    }

    /// Arms a linger timer (D, I, J, K); returns `false` when its value is zero, in which case
    /// the caller terminates at once (RFC 3261: "a value of zero seconds for reliable
    /// transports") instead of making the driver wake up for a timer already due.
    pub(super) fn arm_linger(&mut self, timer: TsxTimer, now: Instant, after: Duration) -> bool {
        if after.is_zero() {
            return false;
        }
        self.timers.set(timer, now, after);
        true
    }
}
