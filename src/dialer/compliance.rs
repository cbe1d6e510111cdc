//! Abandonment compliance shared by the real dialer and the simulator.
//!
//! * FTC TSR 16 CFR 310.4(b)(1)(iv) and FCC 47 CFR 64.1200(a)(7): a call answered by a
//!   live person is *abandoned* when it is not connected to a representative within
//!   2 s of the person's completed greeting. The dialer must then play the safe-harbor
//!   message (seller's name and number) — [`AbandonRule::at_deadline`] decides that.
//! * The rate is abandoned ÷ live answers, ≤ 3 % per campaign per 30 days (US) or per
//!   calendar day (Ofcom, with an estimate of machine drops: [`ofcom_reported_acr`]).
//! * Unanswered calls must ring ≥ 15 s (310.4(b)(4)(ii)): [`MIN_RING_TIMEOUT`].
//! * What a dialer without ground truth can estimate: the people among its drops
//!   ([`DropMix`], stratified by ring time) and, under Ofcom (statement of policy on
//!   persistent misuse, 2016: an AMD false positive is an abandoned call), the
//!   people its answering-machine detection hung up on ([`expected_amd_false_positives`]).

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

/// Share of people the AMD calls machines with the campaign default (VICIdial's
/// `AMD(2000,2000,1000,5000,120,50,4,256)` + our VAD), measured by
/// `cargo bench --bench amd_accuracy` at 15–40 dB SNR (BENCHMARKS.md "AMD accuracy": 15.9 %).
pub const AMD_FALSE_POSITIVE_RATE: f64 = 0.159;

/// Ofcom: the expected number of people among `machine_verdicts` calls the AMD hung up on,
/// i.e. machine verdicts × P(person | machine verdict).
///
/// Of the `people_passed` persons the AMD let through (agent-marked humans plus the
/// estimated people among drops), a share `1 − fp` of all persons answered, so the AMD hung
/// up on `fp/(1 − fp) × people_passed` of them; never more than its machine verdicts.
pub fn expected_amd_false_positives(
    machine_verdicts: u64,
    people_passed: f64,
    fp_rate: f64,
) -> f64 {
    let fp = if fp_rate.is_finite() {
        fp_rate.clamp(0.0, 0.99)
    } else {
        0.0
    };
    (people_passed.max(0.0) * fp / (1.0 - fp)).min(machine_verdicts as f64)
}

/// Ring-time bins of [`DropMix`]: 2 s wide, the last one open (and one for "unknown").
const RING_BIN_MS: u64 = 2_000;
const RING_BINS: usize = 16;
/// Pseudo-dispositions of the pooled mix each bin starts from (shrinkage).
const PRIOR_WEIGHT: f64 = 10.0;

fn ring_bin(ring: Option<Millis>) -> usize {
    match ring {
        Some(r) => ((r.0 / RING_BIN_MS) as usize).min(RING_BINS - 1),
        None => RING_BINS,
    }
}

/// The people among a campaign's drops, estimated from agent dispositions *by ring time*.
///
/// Ofcom's 2015 formula ([`estimated_human_drops`]) applies the human share of all
/// agent-handled calls to every drop. But people and machines answer after different
/// ring times (a machine picks up after a set number of rings), and drops do not fall
/// evenly over them: in the simulator's 100-agent / 15 % cell drops were machines more
/// often than the bridged mix said, and the pooled formula overstated the people dropped
/// by a fifth (2.5 % estimated vs 2.1 % true). Here each drop takes the human share of
/// dispositions whose answer came after a similar ring (2 s bins), shrunk towards the
/// pooled share while a bin has few dispositions. Everything it uses is observable.
#[derive(Clone, Debug, Default)]
pub struct DropMix {
    humans: [u64; RING_BINS + 1],
    machines: [u64; RING_BINS + 1],
    drops: [u64; RING_BINS + 1],
}

impl DropMix {
    /// An agent's disposition of a call answered after `ring` (None: not known).
    pub fn disposition(&mut self, ring: Option<Millis>, human: bool) {
        let b = ring_bin(ring);
        if human {
            self.humans[b] += 1;
        } else {
            self.machines[b] += 1;
        }
    }

    /// A safe-harbor drop of a call answered after `ring`.
    pub fn drop(&mut self, ring: Option<Millis>) {
        self.drops[ring_bin(ring)] += 1;
    }

    /// Estimated people among the drops (the pooled formula when `stratified` is false).
    pub fn human_drops(&self, stratified: bool) -> f64 {
        let h: u64 = self.humans.iter().sum();
        let m: u64 = self.machines.iter().sum();
        let drops: u64 = self.drops.iter().sum();
        if !stratified {
            return estimated_human_drops(drops, h, m);
        }
        // no dispositions yet: every drop may have been a person
        let pooled = if h + m == 0 {
            1.0
        } else {
            h as f64 / (h + m) as f64
        };
        (0..=RING_BINS)
            .map(|b| {
                let (hb, mb) = (self.humans[b] as f64, self.machines[b] as f64);
                let share = (hb + PRIOR_WEIGHT * pooled) / (hb + mb + PRIOR_WEIGHT);
                self.drops[b] as f64 * share
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_take_the_mix_of_their_ring_time() {
        let mut mix = DropMix::default();
        // people answer after ~8 s, machines after ~18 s; as many of each reach agents
        for _ in 0..500 {
            mix.disposition(Some(Millis(8_500)), true);
            mix.disposition(Some(Millis(18_500)), false);
        }
        // ten drops, all after a machine-like ring
        for _ in 0..10 {
            mix.drop(Some(Millis(18_200)));
        }
        let pooled = mix.human_drops(false);
        assert!(
            (pooled - 5.0).abs() < 1e-9,
            "pooled formula: half: {pooled}"
        );
        let strat = mix.human_drops(true);
        assert!(strat < 0.2, "machine-like rings are machines: {strat}");
        // a drop after a person-like ring counts (almost) fully
        mix.drop(Some(Millis(9_000)));
        assert!((mix.human_drops(true) - strat - 1.0).abs() < 0.02);
        // unknown ring and a bin without dispositions fall back to the pooled share
        let mut m2 = DropMix::default();
        m2.disposition(Some(Millis(1_000)), true);
        m2.disposition(Some(Millis(1_000)), false);
        m2.drop(None);
        m2.drop(Some(Millis(40_000)));
        assert!((m2.human_drops(true) - 1.0).abs() < 1e-9);
        // no dispositions at all: every drop is taken as a person
        let mut m3 = DropMix::default();
        m3.drop(Some(Millis(3_000)));
        assert_eq!((m3.human_drops(true), m3.human_drops(false)), (1.0, 1.0));
    }

    #[test]
    fn amd_false_positives_from_the_people_passed() {
        // 841 people passed an AMD that hangs up on 15.9 %: 1000 people answered, 159 hung up
        let fp = expected_amd_false_positives(400, 841.0, AMD_FALSE_POSITIVE_RATE);
        assert!((fp - 159.0).abs() < 1e-6, "{fp}");
        // never more than the machine verdicts, never negative, NaN-safe
        assert_eq!(expected_amd_false_positives(10, 841.0, 0.159), 10.0);
        assert_eq!(expected_amd_false_positives(10, -5.0, 0.159), 0.0);
        assert_eq!(expected_amd_false_positives(10, 100.0, f64::NAN), 0.0);
        assert_eq!(expected_amd_false_positives(10, 100.0, 0.0), 0.0);
    }

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
