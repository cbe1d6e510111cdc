//! A virtual-clock driver for the unit tests: it follows the driving contract exactly
//! (drain `poll_output`, sleep until `poll_timeout`, call `on_timer` at that instant) and
//! records every output with its offset from `t0` in milliseconds.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{
    AnswerRetransmitter, ClientInviteTsx, ClientNonInviteTsx, ServerInviteTsx, ServerNonInviteTsx,
    TimerConfig, TsxOutput,
};

/// The driver-facing half every transaction shares.
pub(super) trait Machine {
    fn on_timer(&mut self, now: Instant);
    fn poll_output(&mut self) -> Option<TsxOutput>;
    fn poll_timeout(&self) -> Option<Instant>;
}

macro_rules! machine {
    ($($t:ty),*) => {$(
        impl Machine for $t {
            fn on_timer(&mut self, now: Instant) { <$t>::on_timer(self, now) }
            fn poll_output(&mut self) -> Option<TsxOutput> { <$t>::poll_output(self) }
            fn poll_timeout(&self) -> Option<Instant> { <$t>::poll_timeout(self) }
        }
    )*};
}
machine!(
    ClientInviteTsx,
    ClientNonInviteTsx,
    ServerInviteTsx,
    ServerNonInviteTsx,
    AnswerRetransmitter
);

/// One recorded output: milliseconds since `t0`, and the output.
pub(super) type Log = Vec<(u64, TsxOutput)>;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn at(t0: Instant, n: u64) -> Instant {
    t0 + ms(n)
}

pub(super) fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

pub(super) fn tx(s: &'static str) -> TsxOutput {
    TsxOutput::Transmit(bytes(s))
}

/// A config with T1 = 100 ms: every schedule a fifth of the default, T2 and T4 scaled alike.
pub(super) fn fast() -> TimerConfig {
    TimerConfig {
        t1: ms(100),
        t2: ms(800),
        t4: ms(1000),
        d: ms(6400),
    }
}

/// Drains every pending output, stamped with `now`.
pub(super) fn drain(m: &mut impl Machine, t0: Instant, now: Instant) -> Log {
    let offset = (now - t0).as_millis() as u64;
    std::iter::from_fn(|| m.poll_output())
        .map(|o| (offset, o))
        .collect()
}

/// Runs the machine's own timers up to and including `until`, as a driver would.
pub(super) fn run_until(m: &mut impl Machine, t0: Instant, until: Instant) -> Log {
    let mut log = Vec::new();
    while let Some(wake) = m.poll_timeout() {
        if wake > until {
            break;
        }
        m.on_timer(wake);
        log.extend(drain(m, t0, wake));
        if let Some(next) = m.poll_timeout() {
            assert!(next > wake, "a timer is still due after on_timer({wake:?})");
        }
    }
    log
}

/// Runs the machine's timers until it has nothing left to wake up for.
pub(super) fn run_to_end(m: &mut impl Machine, t0: Instant) -> Log {
    run_until(m, t0, t0 + Duration::from_secs(3600))
}

/// The offsets of every `Transmit` in `log`.
pub(super) fn transmit_times(log: &Log) -> Vec<u64> {
    log.iter()
        .filter(|(_, o)| matches!(o, TsxOutput::Transmit(_)))
        .map(|&(t, _)| t)
        .collect()
}
