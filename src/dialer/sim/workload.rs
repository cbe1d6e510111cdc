//! Workload files (`benches/workloads/*.toml`): the world a simulated shift runs in.
//!
//! Agents and their schedule (login ramp, staggered breaks), outcome shares (live
//! person, answering machine, rejected/busy/SIT/invalid; the rest ring out), duration
//! distributions (ring time, greeting, talk, wrap), and changes during the shift
//! (outcome-share phases, a linear talk-time drift). Only the simulator reads this;
//! pacers never see it.

use std::path::Path;

use serde::Deserialize;

use super::SimError;
use crate::dialer::campaign::AbandonRegime;
use crate::dialer::compliance;
use crate::dialer::Millis;

/// A duration distribution, in seconds. Sampled from a per-lead or per-agent [`Draw`]
/// so that every policy sees the same value for the same lead.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    Fixed { value: f64 },
    Lognormal { mean: f64, cv: f64 },
    Uniform { lo: f64, hi: f64 },
    Mixture { weights: Vec<f64>, parts: Vec<Dist> },
}

/// The random numbers one sample consumes (drawn up front, policy-independently).
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    /// Standard normal.
    pub z: f64,
    /// Uniform [0, 1).
    pub u: f64,
    /// Uniform [0, 1) for mixture selection.
    pub pick: f64,
}

impl Dist {
    pub fn sample(&self, d: Draw) -> f64 {
        match self {
            Dist::Fixed { value } => *value,
            Dist::Lognormal { mean, cv } => {
                let s2 = (1.0 + cv * cv).ln();
                (mean.ln() - s2 / 2.0 + s2.sqrt() * d.z).exp()
            }
            Dist::Uniform { lo, hi } => lo + (hi - lo) * d.u,
            Dist::Mixture { weights, parts } => {
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                for (w, p) in weights.iter().zip(parts) {
                    acc += w / total;
                    if d.pick < acc {
                        return p.sample(d);
                    }
                }
                parts.last().map_or(0.0, |p| p.sample(d))
            }
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed { value } => *value,
            Dist::Lognormal { mean, .. } => *mean,
            Dist::Uniform { lo, hi } => (lo + hi) / 2.0,
            Dist::Mixture { weights, parts } => {
                let total: f64 = weights.iter().sum();
                weights
                    .iter()
                    .zip(parts)
                    .map(|(w, p)| w / total * p.mean())
                    .sum()
            }
        }
    }

    fn valid(&self) -> bool {
        match self {
            Dist::Fixed { value } => value.is_finite() && *value >= 0.0,
            Dist::Lognormal { mean, cv } => {
                mean.is_finite() && *mean > 0.0 && cv.is_finite() && *cv >= 0.0
            }
            Dist::Uniform { lo, hi } => lo.is_finite() && hi.is_finite() && 0.0 <= *lo && lo <= hi,
            Dist::Mixture { weights, parts } => {
                !parts.is_empty()
                    && weights.len() == parts.len()
                    && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                    && weights.iter().sum::<f64>() > 0.0
                    && parts.iter().all(Dist::valid)
            }
        }
    }
}

/// Outcome shares of a dial; the remainder rings out (no answer).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Shares {
    pub human: f64,
    pub machine: f64,
    /// Busy, SIT, invalid number: resolved before answer.
    pub rejected: f64,
}

/// Outcome shares that apply to dials placed in `[from_h, to_h)` hours into the shift.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub from_h: f64,
    pub to_h: f64,
    pub outcomes: Shares,
}

/// A break every agent takes, staggered across agents.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Break {
    /// When the first agent goes, hours into the shift.
    pub at_h: f64,
    pub minutes: f64,
    /// Agent i goes at `at_h + i/agents × stagger_min`.
    pub stagger_min: f64,
}

/// Answering-machine detection on every answer: its verdict comes `after_greeting_s`
/// after the greeting ends; a machine verdict hangs up without an agent.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AmdModel {
    /// Share of people it calls machines (VICIdial settings: 0.159).
    pub false_positive: f64,
    /// Share of machines it calls people (VICIdial settings: 0.107).
    pub false_negative: f64,
    /// Verdict delay after the greeting (the detector's 800 ms silence + framing).
    #[serde(default = "d_amd_after")]
    pub after_greeting_s: f64,
}

fn d_amd_after() -> f64 {
    1.0
}
fn d_regime() -> AbandonRegime {
    AbandonRegime::UsFtc
}

fn d_hours() -> f64 {
    8.0
}
fn d_start() -> u32 {
    900
}
fn d_rna() -> f64 {
    20.0
}
fn d_machine_agent() -> f64 {
    8.0
}
fn d_trunks() -> f64 {
    3.0
}

/// One workload.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    #[serde(default = "d_hours")]
    pub hours: f64,
    /// Wall-clock start of the shift, HHMM.
    #[serde(default = "d_start")]
    pub start_hhmm: u32,
    pub agents: u32,
    /// Agents log in evenly over this many minutes (0: all at the start).
    #[serde(default)]
    pub login_ramp_min: f64,
    #[serde(default)]
    pub breaks: Vec<Break>,
    pub outcomes: Shares,
    #[serde(default)]
    pub phases: Vec<Phase>,
    pub ring_human: Dist,
    pub ring_machine: Dist,
    pub reject_time: Dist,
    /// Ring-no-answer timeout, ≥ 15 s.
    #[serde(default = "d_rna")]
    pub rna_s: f64,
    pub greeting: Dist,
    pub talk: Dist,
    /// Mean talk at the end of the shift; talk scales linearly from `talk`'s mean.
    #[serde(default)]
    pub talk_drift_to_mean: Option<f64>,
    pub wrap: Dist,
    /// Agent time spent on an answering machine that reached them (no AMD).
    #[serde(default = "d_machine_agent")]
    pub machine_agent_s: f64,
    #[serde(default = "d_trunks")]
    pub trunks_per_agent: f64,
    /// The campaign's abandon regime (`us_ftc` | `uk_ofcom`): under Ofcom the people the
    /// AMD hangs up on are abandoned calls, and ours is told so (a campaign setting).
    #[serde(default = "d_regime")]
    pub regime: AbandonRegime,
    #[serde(default)]
    pub amd: Option<AmdModel>,
}

fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(SimError::InvalidWorkload { field, reason })
    }
}

fn shares_ok(s: &Shares) -> bool {
    let v = [s.human, s.machine, s.rejected];
    v.iter().all(|x| x.is_finite() && *x >= 0.0) && v.iter().sum::<f64>() <= 1.0 + 1e-9
}

impl Workload {
    pub fn from_toml(text: &str) -> Result<Self, SimError> {
        let w: Workload = toml::from_str(text).map_err(|e| SimError::Toml(Box::new(e)))?;
        w.validate()?;
        Ok(w)
    }

    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    pub fn validate(&self) -> Result<(), SimError> {
        check(
            self.hours.is_finite() && self.hours > 0.0 && self.hours <= 24.0,
            "hours",
            "must be in (0, 24]",
        )?;
        check(
            self.start_hhmm % 100 < 60 && self.start_hhmm < 2400,
            "start_hhmm",
            "must be a time HHMM",
        )?;
        check(
            self.agents > 0 && self.agents <= 10_000,
            "agents",
            "must be 1..=10000",
        )?;
        check(
            self.login_ramp_min.is_finite() && self.login_ramp_min >= 0.0,
            "login_ramp_min",
            "must be ≥ 0",
        )?;
        check(
            shares_ok(&self.outcomes),
            "outcomes",
            "shares must be ≥ 0 and sum to ≤ 1",
        )?;
        check(
            self.phases
                .iter()
                .all(|p| shares_ok(&p.outcomes) && p.from_h <= p.to_h),
            "phases",
            "bad shares or window",
        )?;
        check(
            self.breaks.iter().all(|b| {
                [b.at_h, b.minutes, b.stagger_min]
                    .iter()
                    .all(|x| x.is_finite() && *x >= 0.0)
            }),
            "breaks",
            "times must be ≥ 0",
        )?;
        let dists = [
            &self.ring_human,
            &self.ring_machine,
            &self.reject_time,
            &self.greeting,
            &self.talk,
            &self.wrap,
        ];
        check(
            dists.iter().all(|d| d.valid()),
            "distributions",
            "parameters must be finite and ≥ 0 (lognormal mean > 0)",
        )?;
        check(
            compliance::ring_timeout_ok(Millis::from_secs_f64(self.rna_s)),
            "rna_s",
            "ring-no-answer timeout must be ≥ 15 s (16 CFR 310.4(b)(4)(ii))",
        )?;
        check(
            self.talk_drift_to_mean
                .is_none_or(|m| m.is_finite() && m > 0.0),
            "talk_drift_to_mean",
            "must be > 0",
        )?;
        check(
            self.machine_agent_s.is_finite() && self.machine_agent_s >= 0.0,
            "machine_agent_s",
            "must be ≥ 0",
        )?;
        check(
            self.amd.as_ref().is_none_or(|a| {
                [a.false_positive, a.false_negative]
                    .iter()
                    .all(|x| x.is_finite() && (0.0..=1.0).contains(x))
                    && a.after_greeting_s.is_finite()
                    && a.after_greeting_s >= 0.0
            }),
            "amd",
            "rates must be in [0, 1] and the delay ≥ 0",
        )?;
        check(
            self.trunks_per_agent.is_finite() && self.trunks_per_agent >= 1.0,
            "trunks_per_agent",
            "must be ≥ 1",
        )
    }

    /// What the campaign tells ours: the AMD false-positive rate to count (the
    /// documented default, not this world's), under Ofcom with AMD on.
    pub fn ofcom_amd_fp(&self) -> Option<f64> {
        (self.regime == AbandonRegime::UkOfcom && self.amd.is_some())
            .then_some(compliance::AMD_FALSE_POSITIVE_RATE)
    }

    /// Outcome shares for a dial placed `h` hours into the shift.
    pub fn shares_at(&self, h: f64) -> Shares {
        self.phases
            .iter()
            .find(|p| p.from_h <= h && h < p.to_h)
            .map_or(self.outcomes, |p| p.outcomes)
    }

    /// Talk-time multiplier `h` hours into the shift.
    pub fn talk_scale_at(&self, h: f64) -> f64 {
        match self.talk_drift_to_mean {
            None => 1.0,
            Some(to) => 1.0 + (to / self.talk.mean() - 1.0) * (h / self.hours).clamp(0.0, 1.0),
        }
    }
}
