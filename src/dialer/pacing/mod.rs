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
}

/// A policy string that does not parse.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("unknown policy {0:?} (expected ours, progressive, ratio:N, vicidial-tapered|vicidial-hard-limit|vicidial-average[:k=v,..])")]
    Unknown(String),
    #[error("bad number {value:?} for {key}")]
    BadNumber { key: String, value: String },
    #[error("unknown vicidial option {0:?} (dl_diff, intensity, latest, max_level, drop_pct)")]
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

impl Policy {
    /// A fresh pacer for one campaign day.
    pub fn build(&self) -> Box<dyn Pacer> {
        match self {
            Policy::Progressive => Box::new(Progressive),
            Policy::Ratio(l) => Box::new(FixedRatio::new(*l)),
            Policy::Vicidial(p) => Box::new(VicidialAdapt::new(p.clone())),
            Policy::Ours => Box::new(Predictive::new(PredictiveConfig::default())),
        }
    }

    /// A short label.
    pub fn label(&self) -> String {
        match self {
            Policy::Progressive => "progressive".into(),
            Policy::Ratio(l) => format!("ratio:{l}"),
            Policy::Vicidial(p) => p.label(),
            Policy::Ours => "ours".into(),
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
    }
}
