//! Pacing: how many calls to place now.
//!
//! A [`Pacer`] is pure and sans-IO. The driver (real dialer or simulator) folds every
//! [`Observation`] into a [`Floor`], hands the same observation to
//! [`Pacer::observe`], and asks [`Pacer::calls_to_place`] after events
//! ([`Trigger::Event`]) and every [`TICK`] ([`Trigger::Tick`]). Pacers keep their own
//! native cadence on top of the tick (VICIdial: 1 s samples, 15 s level, 2.5 s placement).
//! The driver enforces the trunk cap; a pacer may ask for more than it gets.

mod predictive;
mod progressive;
mod ratio;
mod stats;
mod vicidial;

pub use predictive::{Predictive, PredictiveConfig};
pub use progressive::Progressive;
pub use ratio::FixedRatio;
pub use vicidial::{AdaptMethod, AdaptParams, DropStats, VicidialAdapt};

use std::str::FromStr;

use super::floor::{Floor, Observation};
use super::Millis;

/// The driver's tick period.
pub const TICK: Millis = Millis(500);

/// Why the driver is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The periodic tick.
    Tick,
    /// Right after an observation changed the floor.
    Event,
}

/// A pacing policy.
pub trait Pacer {
    /// Learn from one observation (the floor already includes it).
    fn observe(&mut self, _now: Millis, _obs: &Observation, _floor: &Floor) {}
    /// How many new calls to place now.
    fn calls_to_place(&mut self, now: Millis, floor: &Floor, trigger: Trigger) -> u32;
}

/// A policy chosen by name, e.g. on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    Progressive,
    Ratio(f64),
    Vicidial(AdaptParams),
    Ours,
    /// Ours with settings changed (`ours:target=..,limit=..,z=..,min_margin=..,strat=0|1,
    /// amd_fp=..,split=0|1,
    /// gain=..,gain_agents=..,integ_max=..,tau_max=..,min_cycles=..,min_res=..,grace=..,
    /// learn_grace=0|1,hmax=..,z_long=..,h_long=..,
    /// z_long_agents=..`), for experiments; the matrix's "ours" is [`Policy::Ours`].
    OursWith {
        cfg: Box<PredictiveConfig>,
        label: String,
    },
}

/// A policy string that does not parse.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("unknown policy {0:?} (expected ours, progressive, ratio:N, vicidial-tapered|vicidial-hard-limit|vicidial-average[:k=v,..])")]
    Unknown(String),
    #[error("bad number {value:?} for {key}")]
    BadNumber { key: String, value: String },
    #[error("unknown option {0:?} (vicidial: dl_diff, intensity, latest, max_level, drop_pct; ours: target, limit, z, min_margin, strat, amd_fp, split, gain, gain_agents, integ_max, tau_max, min_cycles, min_res, grace, learn_grace, hmax, z_long, h_long, z_long_agents)")]
    UnknownOption(String),
}

fn num(key: &str, value: &str) -> Result<f64, PolicyError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| PolicyError::BadNumber {
            key: key.into(),
            value: value.into(),
        })
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, PolicyError> {
        let (head, args) = match s.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (s, None),
        };
        let method = match head {
            "ours" if args.is_none() => return Ok(Policy::Ours),
            "ours" => return ours_with(s, args.unwrap_or("")),
            "progressive" if args.is_none() => return Ok(Policy::Progressive),
            "ratio" => {
                let level = num("ratio", args.unwrap_or(""))?;
                if level < 1.0 {
                    return Err(PolicyError::BadNumber {
                        key: "ratio".into(),
                        value: level.to_string(),
                    });
                }
                return Ok(Policy::Ratio(level));
            }
            "vicidial-tapered" => AdaptMethod::Tapered,
            "vicidial-hard-limit" => AdaptMethod::HardLimit,
            "vicidial-average" => AdaptMethod::Average,
            _ => return Err(PolicyError::Unknown(s.into())),
        };
        let mut p = AdaptParams::defaults(method);
        for kv in args.unwrap_or("").split(',').filter(|x| !x.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| PolicyError::UnknownOption(kv.into()))?;
            let x = num(k, v)?;
            match k {
                "dl_diff" => p.dl_diff_target = x,
                "intensity" => p.intensity = x,
                "latest" => p.latest_server_time = x as i64,
                "max_level" => p.maximum_level = x,
                "drop_pct" => p.dropped_percentage = x,
                _ => return Err(PolicyError::UnknownOption(k.into())),
            }
        }
        Ok(Policy::Vicidial(p))
    }
}

fn ours_with(s: &str, args: &str) -> Result<Policy, PolicyError> {
    let mut c = PredictiveConfig::default();
    for kv in args.split(',').filter(|x| !x.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| PolicyError::UnknownOption(kv.into()))?;
        let x = num(k, v)?;
        match k {
            "target" => c.target = x,
            "limit" => c.limit = x,
            "z" => c.margin_z = x,
            "min_margin" => c.min_margin = x,
            "strat" => c.stratify_drops = x != 0.0,
            "amd_fp" => c.amd_false_positive_rate = Some(x),
            "split" => c.split_wrap = x != 0.0,
            "gain" => c.gain = x,
            "gain_agents" => c.gain_agents = x,
            "integ_max" => c.integ_max = x,
            "tau_max" => c.tau_max = x,
            "min_cycles" => c.min_cycles = x as usize,
            "min_res" => c.min_resolutions = x as usize,
            "grace" => c.grace_s = x,
            "learn_grace" => c.learn_grace = x != 0.0,
            "hmax" => c.horizons.retain(|h| *h <= x),
            "z_long" => c.z_long = x,
            "h_long" => c.h_long = x,
            "z_long_agents" => c.z_long_agents = x,
            _ => return Err(PolicyError::UnknownOption(k.into())),
        }
    }
    Ok(Policy::OursWith {
        cfg: Box::new(c),
        label: s.into(),
    })
}

impl Policy {
    /// A fresh pacer for one campaign day (US FTC regime, or no AMD).
    pub fn build(&self) -> Box<dyn Pacer> {
        self.build_with(None)
    }

    /// A fresh pacer for one campaign day; `amd_false_positive_rate` is set when the
    /// campaign runs under Ofcom with AMD (ours then counts the people the AMD hung up
    /// on; an explicit `amd_fp=` wins, and `amd_fp=0` ignores them).
    pub fn build_with(&self, amd_false_positive_rate: Option<f64>) -> Box<dyn Pacer> {
        match self {
            Policy::Progressive => Box::new(Progressive),
            Policy::Ratio(l) => Box::new(FixedRatio::new(*l)),
            Policy::Vicidial(p) => Box::new(VicidialAdapt::new(p.clone())),
            Policy::Ours => Box::new(Predictive::new(PredictiveConfig {
                amd_false_positive_rate,
                ..PredictiveConfig::default()
            })),
            Policy::OursWith { cfg, .. } => {
                let mut c = (**cfg).clone();
                c.amd_false_positive_rate = match c.amd_false_positive_rate {
                    Some(x) if x <= 0.0 => None,
                    Some(x) => Some(x),
                    None => amd_false_positive_rate,
                };
                Box::new(Predictive::new(c))
            }
        }
    }

    /// A short label.
    pub fn label(&self) -> String {
        match self {
            Policy::Progressive => "progressive".into(),
            Policy::Ratio(l) => format!("ratio:{l}"),
            Policy::Vicidial(p) => p.label(),
            Policy::Ours => "ours".into(),
            Policy::OursWith { label, .. } => label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies() {
        assert_eq!("ours".parse::<Policy>(), Ok(Policy::Ours));
        assert_eq!("ratio:2.5".parse::<Policy>(), Ok(Policy::Ratio(2.5)));
        assert!("ratio:0.5".parse::<Policy>().is_err());
        assert!("ratio:x".parse::<Policy>().is_err());
        assert!("nope".parse::<Policy>().is_err());
        let Ok(Policy::Vicidial(p)) = "vicidial-tapered:dl_diff=-3,intensity=10".parse() else {
            panic!("vicidial did not parse");
        };
        assert_eq!((p.dl_diff_target, p.intensity), (-3.0, 10.0));
        assert_eq!(p.method, AdaptMethod::Tapered);
        assert!("vicidial-average:foo=1".parse::<Policy>().is_err());
        let Ok(Policy::OursWith { cfg, label }) = "ours:z=2,strat=0,amd_fp=0".parse() else {
            panic!("ours with options did not parse");
        };
        assert_eq!(label, "ours:z=2,strat=0,amd_fp=0");
        assert_eq!(
            (
                cfg.margin_z,
                cfg.stratify_drops,
                cfg.amd_false_positive_rate
            ),
            (2.0, false, Some(0.0))
        );
        assert!("ours:bogus=1".parse::<Policy>().is_err());
        assert!("ours:z".parse::<Policy>().is_err());
    }
}
