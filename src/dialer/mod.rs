//! The predictive dialer: pacing, compliance and a shift simulator.
//!
//! * [`floor`] — the campaign's *observable* state (agents, calls in flight, answered
//!   calls waiting) folded from [`floor::Observation`]s; the same fold runs in the real
//!   dialer and in the simulator.
//! * [`pacing`] — the [`pacing::Pacer`] trait (pure, sans-IO) and its implementations:
//!   progressive 1:1, fixed ratio, a port of VICIdial's `AST_VDadapt.pl` ADAPT_* methods,
//!   and our chance-constrained predictor with an abandon-rate controller.
//! * [`compliance`] — the FTC/FCC 2-second abandonment rule (16 CFR 310.4(b)(1)(iv),
//!   47 CFR 64.1200(a)(7)), the safe-harbor decision and the abandon-rate ledgers.
//! * [`hopper`] — leads queued ready to dial (in memory, for the simulator); the durable
//!   hopper is the store's `claim_leads`.
//! * [`campaign`] — a campaign's validated definition, state moves, retry and disposition
//!   rules.
//! * [`list`] — CSV lead lists: E.164 normalisation, time zones, duplicates, bulk upload.
//! * [`dnc`] — do-not-call lists (global and per campaign).
//! * [`runner`] — one running campaign, sans-IO: claims, calls, outcomes, screen pops.
//! * [`progress`] — call-progress listeners on a leg's audio (the relay's tap seam).
//! * [`sit`] — special information tones in early media (the number is not in service).
//! * [`live`] — what the running dialer shares with the API (live figures, agent leads).
//! * [`amd`] — answering-machine detection (Asterisk's `AMD()` rules with a better voice
//!   decision), voicemail-beep detection and synthetic greetings to measure them on.
//! * [`sim`] — a discrete-event simulator on a virtual clock, deterministic per seed,
//!   with common random numbers per lead and per agent.
//!
//! Time is never read here. Every entry point takes `now` as a [`Millis`]: milliseconds
//! since local midnight of the campaign day (so VICIdial's HHMM arithmetic and Ofcom's
//! midnight-to-midnight day are plain functions of it).

pub mod amd;
pub mod campaign;
pub mod compliance;
pub mod dnc;
pub mod floor;
pub mod hopper;
pub mod list;
pub mod live;
pub mod pacing;
pub mod progress;
pub mod runner;
pub mod sim;
pub mod sit;

use std::ops::{Add, Sub};

use serde::Serialize;

/// Virtual time in milliseconds since local midnight of the campaign day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Millis(pub u64);

impl Millis {
    /// Seconds (negative and NaN clamp to zero).
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_finite() && s > 0.0 {
            Millis((s * 1000.0).round() as u64)
        } else {
            Millis(0)
        }
    }

    pub const fn from_secs(s: u64) -> Self {
        Millis(s * 1000)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn saturating_sub(self, other: Millis) -> Millis {
        Millis(self.0.saturating_sub(other.0))
    }

    /// Wall-clock HHMM of this instant (hours keep counting past 24), as VICIdial uses it.
    pub fn hhmm(self) -> i64 {
        let mins = (self.0 / 60_000) as i64;
        (mins / 60) * 100 + mins % 60
    }
}

impl Add for Millis {
    type Output = Millis;
    fn add(self, rhs: Millis) -> Millis {
        Millis(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Millis {
    type Output = Millis;
    fn sub(self, rhs: Millis) -> Millis {
        self.saturating_sub(rhs)
    }
}

/// An agent seat in a campaign (dense index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub u32);

/// One outbound attempt (dense, in dialing order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallRef(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hhmm_is_wall_clock_not_minutes() {
        assert_eq!(Millis::from_secs(16 * 3600 + 59 * 60).hhmm(), 1659);
        assert_eq!(Millis::from_secs(9 * 3600).hhmm(), 900);
        assert_eq!(Millis::from_secs_f64(-1.0), Millis(0));
    }
}
