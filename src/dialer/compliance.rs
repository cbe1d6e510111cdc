//! Abandonment compliance shared by the real dialer and the simulator.
//!
//! * FTC TSR 16 CFR 310.4(b)(1)(iv) and FCC 47 CFR 64.1200(a)(7): a call answered by a
//!   live person is *abandoned* when it is not connected to a representative within
//!   2 s of the person's completed greeting. The dialer must then play the safe-harbor
//!   message (seller's name and number) — [`AbandonRule::at_deadline`] decides that.
//! * The rate is abandoned ÷ live answers, ≤ 3 % per campaign per 30 days (US) or per
//!   calendar day (Ofcom, with an estimate of machine drops: [`ofcom_reported_acr`]).
//! * Unanswered calls must ring ≥ 15 s (310.4(b)(4)(ii)): [`MIN_RING_TIMEOUT`].

use super::Millis;

/// The 2-second window after the completed greeting.
pub const GREETING_GRACE: Millis = Millis(2_000);
/// Minimum ring-no-answer timeout (15 s or 4 rings).
pub const MIN_RING_TIMEOUT: Millis = Millis(15_000);
/// The regulatory ceiling on the abandon rate.
pub const ABANDON_LIMIT: f64 = 0.03;

/// What happens to an answered call when its bridge deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Already connected to an agent in time.
    Connected,
    /// Not connected: play the safe-harbor message and hang up; counts as a drop
    /// (and as an abandon if the callee was a live person).
    SafeHarbor,
}

/// The 2-second rule.
#[derive(Clone, Copy, Debug)]
pub struct AbandonRule {
    pub grace: Millis,
}

impl Default for AbandonRule {
    fn default() -> Self {
        AbandonRule {
            grace: GREETING_GRACE,
        }
    }
}

impl AbandonRule {
    /// The instant by which the call must be bridged.
    pub fn deadline(&self, greeting_end: Millis) -> Millis {
        greeting_end + self.grace
    }

    /// Decide at the deadline: bridged calls pass, the rest get the safe-harbor message.
    pub fn at_deadline(&self, bridged: bool) -> Verdict {
        if bridged {
            Verdict::Connected
        } else {
            Verdict::SafeHarbor
        }
    }

    /// Whether a bridge at `bridged_at` met the rule for this greeting.
    pub fn in_time(&self, greeting_end: Millis, bridged_at: Millis) -> bool {
        bridged_at <= self.deadline(greeting_end)
    }
}

/// A ring-no-answer timeout is lawful if it is at least 15 s.
pub fn ring_timeout_ok(timeout: Millis) -> bool {
    timeout >= MIN_RING_TIMEOUT
}

/// Ground-truth ledger of live answers and abandons (FTC definition).
#[derive(Clone, Copy, Debug, Default)]
pub struct AbandonLedger {
    pub live_answers: u64,
    pub abandoned: u64,
}

impl AbandonLedger {
    pub fn record(&mut self, abandoned: bool) {
        self.live_answers += 1;
        self.abandoned += u64::from(abandoned);
    }

    /// abandoned ÷ live answers (0 when nothing was answered).
    pub fn rate(&self) -> f64 {
        if self.live_answers == 0 {
            0.0
        } else {
            self.abandoned as f64 / self.live_answers as f64
        }
    }
}

/// Ofcom's December 2015 estimate from what a dialer without ground truth sees:
/// `drops' = drops·(1 − AM/(AH+AM))`, `ACR = drops'/(AH + drops')`, where AH are
/// agent-handled humans and AM agent-marked machines.
pub fn estimated_human_drops(drops: u64, agent_humans: u64, agent_machines: u64) -> f64 {
    let handled = agent_humans + agent_machines;
    let machine_share = if handled == 0 {
        0.0
    } else {
        agent_machines as f64 / handled as f64
    };
    drops as f64 * (1.0 - machine_share)
}

/// The reported Ofcom ACR (see [`estimated_human_drops`]).
pub fn ofcom_reported_acr(drops: u64, agent_humans: u64, agent_machines: u64) -> f64 {
    let d = estimated_human_drops(drops, agent_humans, agent_machines);
    let denom = agent_humans as f64 + d;
    if denom <= 0.0 {
        0.0
    } else {
        d / denom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_second_rule_from_greeting_end() {
        let rule = AbandonRule::default();
        let greeting_end = Millis(10_000);
        assert_eq!(rule.deadline(greeting_end), Millis(12_000));
        assert!(rule.in_time(greeting_end, Millis(12_000)));
        assert!(!rule.in_time(greeting_end, Millis(12_001)));
        assert_eq!(rule.at_deadline(false), Verdict::SafeHarbor);
        assert_eq!(rule.at_deadline(true), Verdict::Connected);
    }

    #[test]
    fn ofcom_example_from_vicidial_doc() {
        // docs/UK_OFCOM_OUTBOUND_COMPLIANCE.txt: 29 drops, 9 AH, 7 AM -> 64.44 %.
        let acr = ofcom_reported_acr(29, 9, 7);
        assert!((acr - 0.6444).abs() < 1e-3, "{acr}");
    }

    #[test]
    fn ring_floor() {
        assert!(ring_timeout_ok(Millis(20_000)));
        assert!(!ring_timeout_ok(Millis(14_999)));
    }
}
