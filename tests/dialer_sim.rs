//! Simulator-level behaviour of the pacers, on the virtual clock.

use std::cell::Cell;
use std::rc::Rc;

use switchboard::dialer::floor::{Floor, Observation};
use switchboard::dialer::pacing::{
    FixedRatio, Pacer, Policy, Predictive, PredictiveConfig, Progressive, Trigger,
};
use switchboard::dialer::sim::{run, run_pacer, run_with_leads, Workload};
use switchboard::dialer::Millis;

fn workload(agents: u32, human: f64, hours: f64) -> Workload {
    let text = format!(
        r#"
name = "test"
hours = {hours}
agents = {agents}
outcomes = {{ human = {human}, machine = 0.25, rejected = 0.10 }}
ring_human = {{ dist = "lognormal", mean = 9.0, cv = 0.5 }}
ring_machine = {{ dist = "lognormal", mean = 18.0, cv = 0.25 }}
reject_time = {{ dist = "uniform", lo = 2.0, hi = 6.0 }}
greeting = {{ dist = "lognormal", mean = 1.0, cv = 0.3 }}
talk = {{ dist = "lognormal", mean = 150.0, cv = 1.0 }}
wrap = {{ dist = "lognormal", mean = 15.0, cv = 0.5 }}
"#
    );
    Workload::from_toml(&text).expect("test workload parses")
}

/// Wraps a pacer and counts decisions at which the floor broke an invariant.
struct Checked<P> {
    inner: P,
    check: fn(&Floor, u32) -> bool,
    violations: Rc<Cell<u32>>,
    decisions: Rc<Cell<u32>>,
}

impl<P: Pacer> Pacer for Checked<P> {
    fn observe(&mut self, now: Millis, obs: &Observation, floor: &Floor) {
        self.inner.observe(now, obs, floor);
    }
    fn calls_to_place(&mut self, now: Millis, floor: &Floor, trigger: Trigger) -> u32 {
        let n = self.inner.calls_to_place(now, floor, trigger);
        self.decisions.set(self.decisions.get() + 1);
        if !(self.check)(floor, n) {
            self.violations.set(self.violations.get() + 1);
        }
        n
    }
}

fn count_violations<P: Pacer + 'static>(
    inner: P,
    check: fn(&Floor, u32) -> bool,
    w: &Workload,
) -> (u32, u32) {
    let (v, d) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let p = Checked {
        inner,
        check,
        violations: v.clone(),
        decisions: d.clone(),
    };
    run_pacer(w, 7, Box::new(p), "checked");
    (v.get(), d.get())
}

fn covered_by_idle(f: &Floor, n: u32) -> bool {
    f.in_flight_count() + f.waiting() + n <= f.ready()
}

#[test]
fn progressive_never_has_more_calls_in_flight_than_idle_agents() {
    let w = workload(10, 0.3, 0.5);
    let (v, d) = count_violations(Progressive, covered_by_idle, &w);
    assert!(d > 1000, "too few decisions: {d}");
    assert_eq!(v, 0);
    // the check is not vacuous: a 2:1 ratio breaks it
    let (v, _) = count_violations(FixedRatio::new(2.0), covered_by_idle, &w);
    assert!(v > 0);
}

#[test]
fn instant_answers_never_abandon_under_progressive() {
    let text = r#"
name = "instant"
hours = 1.0
agents = 5
outcomes = { human = 1.0, machine = 0.0, rejected = 0.0 }
ring_human = { dist = "fixed", value = 0.0 }
ring_machine = { dist = "fixed", value = 1.0 }
reject_time = { dist = "fixed", value = 1.0 }
greeting = { dist = "fixed", value = 0.0 }
talk = { dist = "lognormal", mean = 60.0, cv = 1.0 }
wrap = { dist = "fixed", value = 5.0 }
"#;
    let w = Workload::from_toml(text).expect("parses");
    let m = run(&w, 1, &Policy::Progressive);
    assert!(m.live_answers > 100, "{m:?}");
    assert_eq!(m.abandoned, 0);
    assert_eq!(m.drops, 0);
}

#[test]
fn same_seed_same_json() {
    let w = workload(25, 0.3, 0.25);
    for p in [
        "ours",
        "vicidial-tapered:dl_diff=-3",
        "ratio:1.3",
        "progressive",
    ] {
        let p: Policy = p.parse().expect("policy");
        let a = serde_json::to_string(&run(&w, 11, &p)).expect("json");
        let b = serde_json::to_string(&run(&w, 11, &p)).expect("json");
        assert_eq!(a, b);
    }
    let c = run(&w, 12, &Policy::Ours);
    assert_ne!(c, run(&w, 11, &Policy::Ours));
}

#[test]
fn policies_see_the_same_leads() {
    let w = workload(25, 0.3, 0.25);
    let (_, a) = run_with_leads(&w, 5, &Policy::Progressive, 300);
    let (_, b) = run_with_leads(&w, 5, &Policy::Ratio(1.5), 300);
    let (_, c) = run_with_leads(&w, 5, &Policy::Ours, 300);
    assert_eq!(a.len(), 300);
    assert_eq!(a, b);
    assert_eq!(a, c);
    let (_, d) = run_with_leads(&w, 6, &Policy::Progressive, 300);
    assert_ne!(a, d);
}

#[test]
fn ours_never_dials_below_progressive() {
    for (agents, human) in [(5, 0.6), (25, 0.15)] {
        let w = workload(agents, human, 0.5);
        let ours = Predictive::new(PredictiveConfig::default());
        let (v, d) = count_violations(ours, |f, n| n >= f.progressive_need(), &w);
        assert!(d > 1000);
        assert_eq!(v, 0, "{agents} agents / {human}");
    }
}

#[test]
fn ours_beats_progressive_within_the_abandon_limit() {
    let w = workload(25, 0.3, 1.5);
    let prog = run(&w, 100, &Policy::Progressive);
    let ours = run(&w, 100, &Policy::Ours);
    assert!(
        ours.talk_utilisation > prog.talk_utilisation + 0.05,
        "{ours:?} vs {prog:?}"
    );
    assert!(ours.ftc_abandon_rate <= 0.03, "{ours:?}");
}

#[test]
fn bad_workloads_are_rejected() {
    let w = workload(5, 0.3, 1.0);
    let mut bad = w.clone();
    bad.rna_s = 10.0;
    assert!(
        bad.validate().is_err(),
        "ring timeout below 15 s must be rejected"
    );
    let mut bad = w.clone();
    bad.outcomes.human = 0.9;
    assert!(bad.validate().is_err(), "shares over 1 must be rejected");
    assert!(Workload::from_toml("name = 1").is_err());
}
