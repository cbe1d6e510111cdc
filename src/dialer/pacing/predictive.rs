//! Ours: a chance-constrained predictive pacer with an abandon-rate controller.
//!
//! Every tick it predicts, for look-ahead horizons `h` (2–20 s):
//! * answers `A(h)`: each call in flight is answered within `h` with the empirical
//!   probability *conditioned on how long it has already rung*; each new call with the
//!   unconditional one (both from a sliding window of observed dial resolutions);
//! * free agents `F(h)`: ready agents minus answered calls waiting, plus each busy agent
//!   freeing within `h + grace` given the time it has already spent in the call (from the
//!   window of bridge→ready durations) or in wrap-up (window of wrap durations), where
//!   `grace` is the slack an answered call has before the 2-second rule drops it: 2 s (the
//!   greeting is not observable), or optionally learned as the median answer → drop
//!   interval of the calls dropped so far (see [`PredictiveConfig::learn_grace`]);
//!
//! and places the largest `n` with `E[A(h)] − E[F(h)] + z·σ ≤ 0` for every `h`, where `z`
//! is the normal quantile of the per-call abandon bound `τ`. Beyond 12 s the quantile
//! shrinks as √(10 / agents) past ten agents: an error in what answers that late can still
//! be offset by the next seconds' dials, of which a large floor places many and a small
//! one hardly any ([`PredictiveConfig::z_long`]). An integral controller on
//! the campaign's running abandon rate moves `τ` around the target: under budget it
//! dials harder, over budget it backs off. The rate is the [`Floor`]'s estimate from
//! observables: the people among the drops, each drop taking the human share of the
//! dispositions of calls answered after a similar ring time, plus, under Ofcom with AMD
//! ([`PredictiveConfig::amd_false_positive_rate`]), the people the AMD hung up on. The
//! target is `limit − margin` with a margin of `margin_z` binomial standard deviations of
//! the day's rate so far (`√(limit / live answers)`), between `min_margin` and
//! `limit − target`: a small floor keeps the wide margin its noisy daily rate needs, a
//! large one, whose rate is steadier, spends more of the budget. Its step per event shrinks as 1/√agents beyond
//! ten logged-in agents, so a large floor's bound does not swing at every single drop. It never places fewer calls than progressive
//! would, and it stays progressive until it has seen enough dials and calls.
//! It never reads workload parameters; one configuration serves every campaign.

use super::stats::{Durations, Resolutions, Segments};
use super::{Pacer, Trigger};
use crate::dialer::floor::{AgentState, Floor, Observation};
use crate::dialer::Millis;

/// Tunables (one set for all campaigns).
#[derive(Clone, Debug, PartialEq)]
pub struct PredictiveConfig {
    /// The lowest running abandon rate it steers to (the widest margin under `limit`).
    pub target: f64,
    /// The campaign's ceiling on the abandon rate.
    pub limit: f64,
    /// Margin under `limit`, in binomial standard deviations of the day's rate so far
    /// (0: steer to `target` always).
    pub margin_z: f64,
    /// The narrowest margin under `limit`.
    pub min_margin: f64,
    /// Drops take the human share of dispositions after a similar ring time; false:
    /// Ofcom's pooled 2015 formula.
    pub stratify_drops: bool,
    /// Ofcom regime with AMD: count the people the AMD hung up on as abandoned, with
    /// this false-positive rate (campaign default
    /// [`AMD_FALSE_POSITIVE_RATE`](crate::dialer::compliance::AMD_FALSE_POSITIVE_RATE)).
    /// None: US FTC, or no AMD.
    pub amd_false_positive_rate: Option<f64>,
    /// Controller gain per live answer / per drop, for a campaign of up to `gain_agents`
    /// logged-in agents; larger campaigns take steps of `gain · √(gain_agents / agents)`.
    pub gain: f64,
    /// See `gain`.
    pub gain_agents: f64,
    /// Clamp of the controller's log-multiplier on `τ` (anti-windup).
    pub integ_min: f64,
    pub integ_max: f64,
    /// The loosest per-call bound τ (above 0.5 it dials past the expected free agents).
    pub tau_max: f64,
    /// Look-ahead horizons, seconds.
    pub horizons: Vec<f64>,
    /// Beyond `h_long` seconds the safety quantile is `z · z_long · min(1, √(z_long_agents
    /// / agents))`: calls answering that late can still be offset by the dials of the next
    /// seconds, which a large floor places many of and a small one hardly any (0: off).
    pub z_long: f64,
    pub h_long: f64,
    pub z_long_agents: f64,
    /// Bridge slack after an answer: greeting (unobserved, taken as 0) + the 2 s rule.
    pub grace_s: f64,
    /// Lines per logged-in agent.
    pub max_lines_per_agent: f64,
    pub min_resolutions: usize,
    pub min_cycles: usize,
    /// Learn the slack from drops (answer → safe-harbor drop: greeting + the 2 s rule)
    /// instead of taking `grace_s` as it. Off by default: the extra second makes ours dial
    /// harder and the controller of a 5-agent floor corrects too slowly (the D4 workload
    /// went from 97 % to 93 % of shifts ≤ 3 % with it on), while a 100-agent floor gains
    /// under 0.1 points of talk time.
    pub learn_grace: bool,
    /// Predict an agent in a call from the call's own length and the wrap-up after it
    /// (`Segments`); false: from the whole bridge → ready cycle.
    pub split_wrap: bool,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        PredictiveConfig {
            target: 0.025,
            limit: 0.03,
            // two standard deviations: ≈ 98 % of large floors' days under the limit
            margin_z: 2.0,
            min_margin: 0.0025,
            stratify_drops: true,
            amd_false_positive_rate: None,
            gain: 0.25,
            gain_agents: 10.0,
            integ_min: -3.0,
            integ_max: 2.5,
            tau_max: 0.45,
            horizons: vec![2.0, 4.0, 6.0, 9.0, 12.0, 16.0, 20.0],
            z_long: 1.0,
            h_long: 12.0,
            z_long_agents: 10.0,
            grace_s: 2.0,
            max_lines_per_agent: 3.0,
            min_resolutions: 50,
            min_cycles: 10,
            learn_grace: false,
            split_wrap: false,
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
    /// Calls (bridge → end of call) and whether wrap-up followed.
    calls: Segments,
    wrap: Durations,
    bridged_at: Vec<Option<Millis>>,
    wrap_at: Vec<Option<Millis>>,
    integ: f64,
    seen_live: f64,
    seen_drops: f64,
    /// The target in force (see [`PredictiveConfig::margin_z`]).
    cur_target: f64,
    next_refresh: Millis,
    /// Answered calls not yet bridged or dropped: when they were answered.
    answered_at: std::collections::HashMap<u64, Millis>,
    /// Observed answer → drop intervals (seconds).
    slack: Durations,
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
            cur_target: cfg.target,
            cfg,
            res: Resolutions::new(600),
            cycle: Durations::new(300),
            calls: Segments::new(300),
            wrap: Durations::new(300),
            bridged_at: Vec::new(),
            wrap_at: Vec::new(),
            integ: 0.0,
            seen_live: 0.0,
            seen_drops: 0.0,
            next_refresh: Millis(0),
            answered_at: std::collections::HashMap::new(),
            slack: Durations::new(200),
        }
    }

    /// Seconds an answered call can wait for an agent before it is dropped.
    fn grace(&self) -> f64 {
        if self.cfg.learn_grace {
            if let Some(m) = self.slack.quantile(0.5) {
                return m;
            }
        }
        self.cfg.grace_s
    }

    /// The per-call abandon bound the controller currently allows.
    pub fn tau(&self) -> f64 {
        (self.cur_target * self.integ.exp()).min(self.cfg.tau_max)
    }

    /// The safety quantile at horizon `h` seconds for a floor of `agents` logged-in agents
    /// (see [`PredictiveConfig::z_long`]).
    pub fn quantile_at(&self, z: f64, h: f64, agents: u32) -> f64 {
        let c = &self.cfg;
        if h <= c.h_long {
            return z;
        }
        let agents = f64::from(agents).max(1.0);
        if c.z_long_agents > 0.0 {
            z * c.z_long * (c.z_long_agents / agents).min(1.0).sqrt()
        } else {
            z * c.z_long
        }
    }

    /// The running rate to steer to after `live` (estimated) live answers today.
    pub fn target_after(&self, live: f64) -> f64 {
        let c = &self.cfg;
        if c.margin_z <= 0.0 {
            return c.target;
        }
        let margin = (c.margin_z * (c.limit / live.max(1.0)).sqrt()).max(c.min_margin);
        (c.limit - margin).max(c.target)
    }

    fn control(&mut self, floor: &Floor) {
        let est = floor.abandon_estimate(self.cfg.stratify_drops, self.cfg.amd_false_positive_rate);
        let (live, drops) = (est.live, est.abandoned);
        self.cur_target = self.target_after(live);
        let (dl, dd) = (live - self.seen_live, drops - self.seen_drops);
        self.seen_live = live;
        self.seen_drops = drops;
        // Answers and drops arrive in proportion to the agents: with steps ∝ 1/√agents the
        // integrator's noise per hour is the same for any campaign size (a 100-agent floor
        // no longer swings its bound by a fifth at every drop), while its drift towards
        // the target per hour still grows with the campaign.
        let agents = f64::from(floor.logged_in()).max(1.0);
        let gain = self.cfg.gain * (self.cfg.gain_agents / agents).min(1.0).sqrt();
        self.integ = (self.integ + gain * (self.cur_target * dl - dd))
            .clamp(self.cfg.integ_min, self.cfg.integ_max);
    }

    fn predict(&mut self, now: Millis, floor: &Floor) -> u32 {
        if now >= self.next_refresh {
            self.res.refresh();
            self.cycle.refresh();
            self.calls.refresh();
            self.wrap.refresh();
            self.slack.refresh();
            // calls that ended while waiting (caller hung up) are never bridged or dropped
            self.answered_at
                .retain(|_, t| now.saturating_sub(*t) < Millis::from_secs(60));
            self.next_refresh = now + REFRESH;
        }
        let z0 = normal_quantile(1.0 - self.tau());
        let agents = floor.logged_in();
        let lines_cap = (self.cfg.max_lines_per_agent * f64::from(floor.logged_in())) as u32;
        let room = lines_cap.saturating_sub(floor.lines());
        let mut best = room;
        let g = self.grace();
        // right-censored observations: calls still ringing, agents still busy
        let secs = |t: Millis| now.saturating_sub(t).as_secs_f64();
        let mut ringing: Vec<f64> = floor.in_flight().map(|(_, t)| secs(t)).collect();
        let mut in_call = Vec::new();
        let mut wrapping = Vec::new();
        for a in floor.agents() {
            match a.state {
                AgentState::InCall => in_call.push(secs(a.since)),
                AgentState::WrapUp => wrapping.push(secs(a.since)),
                _ => {}
            }
        }
        for v in [&mut ringing, &mut in_call, &mut wrapping] {
            v.sort_by(f64::total_cmp);
        }
        for &h in &self.cfg.horizons {
            let z = self.quantile_at(z0, h, agents);
            let (mut a0, mut va) = (0.0, 0.0);
            for &e in &ringing {
                let q = self.res.answer_within_censored(e, h, &ringing);
                a0 += q;
                va += q * (1.0 - q);
            }
            let mut f = f64::from(floor.ready()) - f64::from(floor.waiting());
            let mut vf = 0.0;
            if self.cfg.split_wrap {
                for &e in &in_call {
                    let p = self
                        .calls
                        .free_within_censored(e, h + g, &in_call, &self.wrap)
                        .unwrap_or(0.0);
                    f += p;
                    vf += p * (1.0 - p);
                }
            }
            let busy = in_call.iter().map(|e| (*e, &self.cycle, &in_call, 0.0));
            let busy = busy.filter(|_| !self.cfg.split_wrap);
            let wraps = wrapping.iter().map(|e| (*e, &self.wrap, &wrapping, 0.5));
            for (e, dist, cens, unseen) in busy.chain(wraps) {
                let p = dist.cond_within_censored(e, h + g, cens).unwrap_or(unseen);
                f += p;
                vf += p * (1.0 - p);
            }
            let p = self.res.answer_within_censored(0.0, h, &ringing);
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
            Observation::Answered { call, ring } => {
                self.res.push(ring.as_secs_f64(), true);
                if self.cfg.learn_grace {
                    self.answered_at.insert(call.0, now);
                }
            }
            Observation::Dropped { call } => {
                if let Some(t) = self.answered_at.remove(&call.0) {
                    self.slack.push(now.saturating_sub(t).as_secs_f64());
                }
            }
            Observation::Failed { ring, .. } => self.res.push(ring.as_secs_f64(), false),
            Observation::Bridged { agent, call } => {
                self.answered_at.remove(&call.0);
                set(&mut self.bridged_at, agent.0 as usize, Some(now))
            }
            Observation::Agent { agent, state } => {
                let i = agent.0 as usize;
                let bridged = self.bridged_at.get(i).copied().flatten();
                if state == AgentState::WrapUp {
                    if let Some(t) = bridged {
                        self.calls.push(now.saturating_sub(t).as_secs_f64(), true);
                    }
                    set(&mut self.wrap_at, i, Some(now));
                    return;
                }
                if state == AgentState::InCall {
                    return;
                }
                let wrapping = matches!(self.wrap_at.get(i), Some(Some(_)));
                if let (Some(t), false) = (bridged, wrapping) {
                    self.calls.push(now.saturating_sub(t).as_secs_f64(), false);
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

#[cfg(test)]
mod behaviour {
    use super::*;
    use crate::dialer::{AgentId, CallRef};

    /// A predictor that has seen 100 dials (half answered after 5 s, half failing at
    /// 3 s) and 20 calls of exactly 100 s each, and a floor of 10 agents all in a call
    /// for `elapsed` seconds.
    fn trained(elapsed: u64) -> (Predictive, Floor, Millis) {
        let mut p = Predictive::new(PredictiveConfig::default());
        let mut f = Floor::new();
        let t0 = Millis(0);
        for c in 0..100 {
            let call = CallRef(c);
            let obs = if c % 2 == 0 {
                Observation::Answered {
                    call,
                    ring: Millis(5_000),
                }
            } else {
                Observation::Failed {
                    call,
                    ring: Millis(3_000),
                    cause: crate::dialer::floor::FailCause::Rejected,
                }
            };
            p.observe(t0, &obs, &f);
        }
        for i in 0..20u32 {
            let agent = AgentId(100 + i);
            p.observe(
                t0,
                &Observation::Bridged {
                    call: CallRef(0),
                    agent,
                },
                &f,
            );
            let done = Observation::Agent {
                agent,
                state: AgentState::Ready,
            };
            p.observe(Millis::from_secs(100), &done, &f);
        }
        let now = Millis::from_secs(1_000);
        for a in 0..10 {
            let obs = Observation::Agent {
                agent: AgentId(a),
                state: AgentState::InCall,
            };
            f.apply(now - Millis::from_secs(elapsed), &obs);
        }
        (p, f, now)
    }

    #[test]
    fn dials_ahead_for_agents_about_to_free_only() {
        let (mut p, f, now) = trained(99);
        assert_eq!(f.progressive_need(), 0);
        let soon = p.calls_to_place(now, &f, Trigger::Tick);
        assert!(
            soon >= 5,
            "10 agents free within 1 s, 50 % answer: dialed {soon}"
        );
        let (mut p, f, now) = trained(1);
        assert_eq!(
            p.calls_to_place(now, &f, Trigger::Tick),
            0,
            "nobody frees for 99 s"
        );
    }

    #[test]
    fn slack_is_learned_from_drops() {
        let (mut p, _, _) = trained(50);
        p.cfg.learn_grace = true;
        assert_eq!(p.grace(), 2.0, "nothing dropped yet: the 2 s rule alone");
        for c in 0..9u64 {
            let call = CallRef(1_000 + c);
            let at = Millis::from_secs(2_000 + 10 * c);
            let f = Floor::new();
            p.observe(
                at,
                &Observation::Answered {
                    call,
                    ring: Millis(5_000),
                },
                &f,
            );
            let slack = Millis(2_000 + 100 * c); // greeting 0–0.8 s
            p.observe(at + slack, &Observation::Dropped { call }, &f);
        }
        p.slack.refresh();
        assert!((p.grace() - 2.4).abs() < 1e-9, "median slack {}", p.grace());
    }

    #[test]
    fn a_large_floor_takes_smaller_controller_steps() {
        let step = |agents: u32| {
            let mut p = Predictive::new(PredictiveConfig::default());
            let mut f = Floor::new();
            for a in 0..agents {
                let ready = Observation::Agent {
                    agent: AgentId(a),
                    state: AgentState::Ready,
                };
                f.apply(Millis(0), &ready);
            }
            p.control(&f);
            f.apply(Millis(0), &Observation::Dropped { call: CallRef(1) });
            p.control(&f);
            -p.integ
        };
        // one drop, no answers: a step of gain × (1 − target)
        assert!((step(5) - 0.25 * 0.975).abs() < 1e-9, "{}", step(5));
        assert!((step(10) - step(5)).abs() < 1e-12);
        assert!((step(40) - step(5) / 2.0).abs() < 1e-9, "{}", step(40));
    }

    #[test]
    fn cold_start_is_progressive() {
        let mut p = Predictive::new(PredictiveConfig::default());
        let mut f = Floor::new();
        for a in 0..3 {
            f.apply(
                Millis(0),
                &Observation::Agent {
                    agent: AgentId(a),
                    state: AgentState::Ready,
                },
            );
        }
        assert_eq!(p.calls_to_place(Millis(0), &f, Trigger::Tick), 3);
    }

    #[test]
    fn drops_over_budget_tighten_the_bound() {
        let (mut p, mut f, now) = trained(50);
        p.calls_to_place(now, &f, Trigger::Tick);
        let tau0 = p.tau();
        for _ in 0..100 {
            f.apply(
                now,
                &Observation::Disposition {
                    agent: AgentId(0),
                    human: true,
                },
            );
        }
        p.calls_to_place(now, &f, Trigger::Tick);
        let tau_under = p.tau();
        assert!(
            tau_under > tau0,
            "under budget loosens: {tau_under} vs {tau0}"
        );
        for _ in 0..10 {
            f.apply(now, &Observation::Dropped { call: CallRef(1) });
        }
        p.calls_to_place(now, &f, Trigger::Tick);
        assert!(p.tau() < tau0, "10 % drops tighten: {} vs {tau0}", p.tau());
    }

    #[test]
    fn a_large_floor_keeps_a_smaller_margin_on_late_answers_only() {
        let p = Predictive::new(PredictiveConfig::default());
        let z = 1.96;
        // up to 12 s, and on a floor of up to ten agents, the full quantile
        for (h, agents) in [(2.0, 100), (12.0, 100), (16.0, 5), (20.0, 10)] {
            assert_eq!(p.quantile_at(z, h, agents), z, "h {h} agents {agents}");
        }
        // beyond 12 s on a larger floor: √(10 / agents) of it
        assert!((p.quantile_at(z, 16.0, 40) - z / 2.0).abs() < 1e-12);
        assert!((p.quantile_at(z, 20.0, 1_000) - z / 10.0).abs() < 1e-12);
        // z_long_agents 0: the fixed multiplier (1: the same quantile at every horizon)
        let flat = Predictive::new(PredictiveConfig {
            z_long_agents: 0.0,
            ..PredictiveConfig::default()
        });
        assert_eq!(flat.quantile_at(z, 20.0, 1_000), z);
    }

    /// A floor of `agents`, one in five ready and the rest talking (for 0–150 s), a
    /// predictor that has seen calls of 20–218 s and answers after 5 s (people) and 18 s
    /// (machines): the calls it places now.
    fn placed(cfg: PredictiveConfig, agents: u32) -> u32 {
        let mut p = Predictive::new(cfg);
        let mut f = Floor::new();
        let t0 = Millis(0);
        for c in 0..300u64 {
            let call = CallRef(c);
            let obs = match c % 3 {
                0 => Observation::Answered {
                    call,
                    ring: Millis(5_000),
                },
                1 => Observation::Answered {
                    call,
                    ring: Millis(18_000),
                },
                _ => Observation::Failed {
                    call,
                    ring: Millis(20_000),
                    cause: crate::dialer::floor::FailCause::NoAnswer,
                },
            };
            p.observe(t0, &obs, &f);
        }
        for i in 0..100u32 {
            let agent = AgentId(1_000 + i);
            let call = CallRef(0);
            p.observe(t0, &Observation::Bridged { call, agent }, &f);
            let ready = Observation::Agent {
                agent,
                state: AgentState::Ready,
            };
            p.observe(Millis::from_secs(20 + 2 * u64::from(i)), &ready, &f);
        }
        let now = Millis::from_secs(1_000);
        for a in 0..agents {
            let since = now - Millis(150_000 * u64::from(a) / u64::from(agents));
            let state = if a % 5 == 0 {
                AgentState::Ready
            } else {
                AgentState::InCall
            };
            f.apply(
                since,
                &Observation::Agent {
                    agent: AgentId(a),
                    state,
                },
            );
        }
        p.calls_to_place(now, &f, Trigger::Tick)
    }

    #[test]
    fn a_large_floor_dials_more_for_late_answers_a_small_one_the_same() {
        let flat = || PredictiveConfig {
            z_long_agents: 0.0,
            ..PredictiveConfig::default()
        };
        let (big, big_flat) = (
            placed(PredictiveConfig::default(), 100),
            placed(flat(), 100),
        );
        assert!(
            big > big_flat,
            "100 agents: {big} vs {big_flat} with one quantile"
        );
        let (small, small_flat) = (placed(PredictiveConfig::default(), 10), placed(flat(), 10));
        assert_eq!(
            small, small_flat,
            "10 agents: the same quantile at every horizon"
        );
    }

    #[test]
    fn the_margin_narrows_with_the_days_live_answers() {
        let cfg = PredictiveConfig {
            margin_z: 2.0,
            ..PredictiveConfig::default()
        };
        let p = Predictive::new(cfg);
        // few answers: the widest margin (the target); many: the narrowest
        assert_eq!(p.target_after(0.0), 0.025);
        assert_eq!(p.target_after(1_000.0), 0.025);
        assert!((p.target_after(1e6) - 0.0275).abs() < 1e-12);
        // in between: 2 standard deviations of a 3 % rate over 6 000 answers
        let mid = p.target_after(6_000.0);
        assert!((mid - (0.03 - 2.0 * (0.03f64 / 6_000.0).sqrt())).abs() < 1e-12);
        // margin_z 0: the fixed target
        let fixed = Predictive::new(PredictiveConfig {
            margin_z: 0.0,
            ..PredictiveConfig::default()
        });
        assert_eq!(fixed.target_after(1e6), 0.025);
    }

    #[test]
    fn under_ofcom_amd_false_positives_tighten_the_bound() {
        let run = |fp: Option<f64>| {
            let (mut p, mut f, now) = trained(50);
            p.cfg.amd_false_positive_rate = fp;
            p.calls_to_place(now, &f, Trigger::Tick);
            for c in 0..100u64 {
                let agent = AgentId(0);
                f.apply(now, &Observation::Disposition { agent, human: true });
                f.apply(
                    now,
                    &Observation::Dialed {
                        call: CallRef(500 + c),
                    },
                );
                let (call, ring) = (CallRef(500 + c), Millis(9_000));
                let cause = crate::dialer::floor::FailCause::AmdMachine;
                f.apply(now, &Observation::Failed { call, ring, cause });
            }
            p.calls_to_place(now, &f, Trigger::Tick);
            p.tau()
        };
        let (us, uk) = (run(None), run(Some(0.159)));
        assert!(us > 0.025, "no drops: under budget, looser: {us}");
        assert!(
            uk < 0.025,
            "19 expected false positives in 119: tighter: {uk}"
        );
    }
}
