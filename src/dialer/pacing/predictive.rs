//! Ours: a chance-constrained predictive pacer with an abandon-rate controller.
//!
//! Every tick it predicts, for look-ahead horizons `h` (2–20 s):
//! * answers `A(h)`: each call in flight is answered within `h` with the empirical
//!   probability *conditioned on how long it has already rung*; each new call with the
//!   unconditional one (both from a sliding window of observed dial resolutions);
//! * free agents `F(h)`: ready agents minus answered calls waiting, plus each busy agent
//!   freeing within `h + grace` given the time it has already spent in the call (from the
//!   window of bridge→ready durations) or in wrap-up (window of wrap durations);
//!
//! and places the largest `n` with `E[A(h)] − E[F(h)] + z·σ ≤ 0` for every `h`, where `z`
//! is the normal quantile of the per-call abandon bound `τ`. An integral controller on
//! the campaign's running abandon rate (Ofcom-style estimate of human drops from
//! observable drops and agent dispositions) moves `τ` around the target: under budget it
//! dials harder, over budget it backs off. It never places fewer calls than progressive
//! would, and it stays progressive until it has seen enough dials and calls.
//! It never reads workload parameters; one configuration serves every campaign.

use super::stats::{Durations, Resolutions};
use super::{Pacer, Trigger};
use crate::dialer::compliance::estimated_human_drops;
use crate::dialer::floor::{AgentState, Floor, Observation};
use crate::dialer::Millis;

/// Tunables (one set for all campaigns).
#[derive(Clone, Debug)]
pub struct PredictiveConfig {
    /// Running abandon rate to steer to (below the 3 % limit).
    pub target: f64,
    /// Controller gain per live answer / per drop.
    pub gain: f64,
    /// Clamp of the controller's log-multiplier on `τ` (anti-windup).
    pub integ_min: f64,
    pub integ_max: f64,
    /// Look-ahead horizons, seconds.
    pub horizons: Vec<f64>,
    /// Bridge slack after an answer: greeting (unobserved, taken as 0) + the 2 s rule.
    pub grace_s: f64,
    /// Lines per logged-in agent.
    pub max_lines_per_agent: f64,
    pub min_resolutions: usize,
    pub min_cycles: usize,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        PredictiveConfig {
            target: 0.025,
            gain: 0.25,
            integ_min: -3.0,
            integ_max: 2.5,
            horizons: vec![2.0, 4.0, 6.0, 9.0, 12.0, 16.0, 20.0],
            grace_s: 2.0,
            max_lines_per_agent: 3.0,
            min_resolutions: 50,
            min_cycles: 10,
        }
    }
}

const REFRESH: Millis = Millis(5_000);

/// Ours.
#[derive(Clone, Debug)]
pub struct Predictive {
    cfg: PredictiveConfig,
    res: Resolutions,
    cycle: Durations,
    wrap: Durations,
    bridged_at: Vec<Option<Millis>>,
    wrap_at: Vec<Option<Millis>>,
    integ: f64,
    seen_live: f64,
    seen_drops: f64,
    next_refresh: Millis,
}

/// Standard normal quantile (Abramowitz & Stegun 26.2.23, |error| < 4.5e-4).
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let (q, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    let t = (-2.0 * q.ln()).sqrt();
    let z = t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t);
    sign * z
}

fn set<T: Copy>(v: &mut Vec<Option<T>>, i: usize, x: Option<T>) {
    if i >= v.len() {
        v.resize(i + 1, None);
    }
    v[i] = x;
}

impl Predictive {
    pub fn new(cfg: PredictiveConfig) -> Self {
        Predictive {
            cfg,
            res: Resolutions::new(600),
            cycle: Durations::new(300),
            wrap: Durations::new(300),
            bridged_at: Vec::new(),
            wrap_at: Vec::new(),
            integ: 0.0,
            seen_live: 0.0,
            seen_drops: 0.0,
            next_refresh: Millis(0),
        }
    }

    /// The per-call abandon bound the controller currently allows.
    pub fn tau(&self) -> f64 {
        (self.cfg.target * self.integ.exp()).min(0.45)
    }

    fn control(&mut self, floor: &Floor) {
        let t = floor.totals;
        let drops = estimated_human_drops(t.drops, t.agent_humans, t.agent_machines);
        let live = t.agent_humans as f64 + drops;
        let (dl, dd) = (live - self.seen_live, drops - self.seen_drops);
        self.seen_live = live;
        self.seen_drops = drops;
        self.integ = (self.integ + self.cfg.gain * (self.cfg.target * dl - dd))
            .clamp(self.cfg.integ_min, self.cfg.integ_max);
    }

    fn predict(&mut self, now: Millis, floor: &Floor) -> u32 {
        if now >= self.next_refresh {
            self.res.refresh();
            self.cycle.refresh();
            self.wrap.refresh();
            self.next_refresh = now + REFRESH;
        }
        let z = normal_quantile(1.0 - self.tau());
        let lines_cap = (self.cfg.max_lines_per_agent * f64::from(floor.logged_in())) as u32;
        let room = lines_cap.saturating_sub(floor.lines());
        let mut best = room;
        let g = self.cfg.grace_s;
        for &h in &self.cfg.horizons {
            let (mut a0, mut va) = (0.0, 0.0);
            for (_, dialed) in floor.in_flight() {
                let q = self
                    .res
                    .answer_within(now.saturating_sub(dialed).as_secs_f64(), h);
                a0 += q;
                va += q * (1.0 - q);
            }
            let mut f = f64::from(floor.ready()) - f64::from(floor.waiting());
            let mut vf = 0.0;
            for a in floor.agents() {
                let e = now.saturating_sub(a.since).as_secs_f64();
                let p = match a.state {
                    AgentState::InCall => self.cycle.cond_within(e, h + g).unwrap_or(0.0),
                    AgentState::WrapUp => self.wrap.cond_within(e, h + g).unwrap_or(0.5),
                    _ => continue,
                };
                f += p;
                vf += p * (1.0 - p);
            }
            let p = self.res.answer_within(0.0, h);
            // largest n with a0 + n p − f + z sqrt(va + vf + n p (1−p)) ≤ 0
            let ok = |n: u32| {
                let n = f64::from(n);
                a0 + n * p - f + z * (va + vf + n * p * (1.0 - p)).sqrt() <= 0.0
            };
            if !ok(0) {
                best = 0;
                break;
            }
            let (mut lo, mut hi) = (0u32, best);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if ok(mid) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            best = lo;
        }
        best
    }
}

impl Pacer for Predictive {
    fn observe(&mut self, now: Millis, obs: &Observation, _floor: &Floor) {
        match *obs {
            Observation::Answered { ring, .. } => self.res.push(ring.as_secs_f64(), true),
            Observation::Failed { ring, .. } => self.res.push(ring.as_secs_f64(), false),
            Observation::Bridged { agent, .. } => {
                set(&mut self.bridged_at, agent.0 as usize, Some(now))
            }
            Observation::Agent { agent, state } => {
                let i = agent.0 as usize;
                if state == AgentState::WrapUp {
                    set(&mut self.wrap_at, i, Some(now));
                    return;
                }
                if state == AgentState::InCall {
                    return;
                }
                if let Some(Some(t)) = self.bridged_at.get(i).copied() {
                    self.cycle.push(now.saturating_sub(t).as_secs_f64());
                    set(&mut self.bridged_at, i, None);
                }
                if let Some(Some(t)) = self.wrap_at.get(i).copied() {
                    self.wrap.push(now.saturating_sub(t).as_secs_f64());
                    set(&mut self.wrap_at, i, None);
                }
            }
            _ => {}
        }
    }

    fn calls_to_place(&mut self, now: Millis, floor: &Floor, trigger: Trigger) -> u32 {
        let floor_n = floor.progressive_need();
        if trigger == Trigger::Event
            || self.res.len() < self.cfg.min_resolutions
            || self.cycle.len() < self.cfg.min_cycles
        {
            return floor_n;
        }
        self.control(floor);
        self.predict(now, floor).max(floor_n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile() {
        assert!((normal_quantile(0.975) - 1.96).abs() < 1e-3);
        assert!((normal_quantile(0.5)).abs() < 1e-3);
        assert!((normal_quantile(0.025) + 1.96).abs() < 1e-3);
    }
}
