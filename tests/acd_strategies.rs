//! Strategies through the whole ACD on a virtual clock: who gets the call, tiers that
//! open after a wait, skill requirements that widen after a wait.

mod acd_support;

use std::collections::BTreeMap;

use acd_support::*;
use switchboard::acd::*;

fn three(strategy: Strategy) -> H {
    let mut h = H::new(config(
        vec![queue("q", strategy)],
        vec![
            member("a", &[("q", 0)]),
            member("b", &[("q", 0)]),
            member("c", &[("q", 0)]),
        ],
    ));
    h.login(&["a", "b", "c"]);
    h
}

/// Serves `n` callers one at a time (answer, end), returning who took each.
fn serve(h: &mut H, n: usize, talk: &[(&str, u64)]) -> Vec<String> {
    let mut took = Vec::new();
    for i in 0..n {
        let c = format!("c{i}");
        let out = h.join(&c, "q");
        let who = rung(&out).first().cloned().expect("an agent rings");
        h.answer(&c, &who);
        let t = talk.iter().find(|(a, _)| *a == who).map_or(1, |(_, t)| *t);
        h.now += secs(t);
        h.end(&c, &who);
        h.now += secs(1);
        took.push(who);
    }
    took
}

#[test]
fn longest_idle_takes_the_agent_idle_longest() {
    let mut h = three(Strategy::LongestIdle);
    // a, b, c logged in at t0 in that order; ties by id, then each call makes its agent newest.
    assert_eq!(serve(&mut h, 4, &[]), ["a", "b", "c", "a"]);
}

#[test]
fn longest_idle_counts_from_the_last_call_end() {
    let mut h = three(Strategy::LongestIdle);
    // a talks long: when a's call ends it is the most recently idle.
    h.join("x", "q");
    h.answer("x", "a");
    h.join("y", "q");
    h.answer("y", "b");
    h.now += secs(100);
    h.end("y", "b");
    h.now += secs(100);
    h.end("x", "a");
    assert_eq!(rung(&h.join("z", "q")), ["c"]);
    h.leave("z");
    h.op("c", AgentOp::Logout);
    assert_eq!(rung(&h.join("w", "q")), ["b"], "b ended before a");
}

#[test]
fn round_robin_rotates_and_remembers() {
    let mut h = three(Strategy::RoundRobin);
    assert_eq!(serve(&mut h, 5, &[]), ["a", "b", "c", "a", "b"]);
}

#[test]
fn round_robin_skips_busy_agents() {
    let mut h = three(Strategy::RoundRobin);
    assert_eq!(rung(&h.join("c1", "q")), ["a"]);
    h.answer("c1", "a");
    assert_eq!(rung(&h.join("c2", "q")), ["b"]);
    h.answer("c2", "b");
    assert_eq!(rung(&h.join("c3", "q")), ["c"]);
    h.answer("c3", "c");
    h.end("c2", "b");
    assert_eq!(rung(&h.join("c4", "q")), ["b"]);
}

#[test]
fn fewest_calls_balances_answered_calls() {
    let mut h = three(Strategy::FewestCalls);
    let took = serve(&mut h, 6, &[]);
    for a in ["a", "b", "c"] {
        assert_eq!(took.iter().filter(|t| *t == a).count(), 2, "{took:?}");
        assert_eq!(h.snapshot(a).calls, 2);
    }
}

#[test]
fn ring_all_rings_every_free_agent() {
    let mut h = three(Strategy::RingAll);
    h.op("b", AgentOp::Pause { reason: "x".into() });
    assert_eq!(rung(&h.join("c1", "q")), ["a", "c"]);
    assert_eq!(
        rung(&h.join("c2", "q")),
        Vec::<String>::new(),
        "everyone is ringing for c1"
    );
}

#[test]
fn random_is_deterministic_per_seed_and_spreads() {
    let run = |seed| {
        let mut cfg = config(
            vec![queue("q", Strategy::Random)],
            vec![
                member("a", &[("q", 0)]),
                member("b", &[("q", 0)]),
                member("c", &[("q", 0)]),
            ],
        );
        cfg.seed = seed;
        let mut h = H::new(cfg);
        h.login(&["a", "b", "c"]);
        serve(&mut h, 30, &[])
    };
    let one = run(42);
    assert_eq!(one, run(42));
    for a in ["a", "b", "c"] {
        assert!(one.iter().any(|t| t == a), "{a} never chosen: {one:?}");
    }
    assert_ne!(one, run(43));
}

fn skilled(id: &str, skills: &[(&str, u8)]) -> AgentConfig {
    AgentConfig {
        skills: skills
            .iter()
            .map(|(s, l)| (s.to_string(), *l))
            .collect::<BTreeMap<_, _>>(),
        ..member(id, &[("q", 0)])
    }
}

#[test]
fn skills_based_takes_the_best_qualified_agent() {
    let mut h = H::new(config(
        vec![queue("q", Strategy::Skills)],
        vec![
            skilled("a", &[("english", 3)]),
            skilled("b", &[("english", 9), ("billing", 2)]),
            skilled("c", &[("english", 6), ("billing", 8)]),
        ],
    ));
    h.login(&["a", "b", "c"]);
    assert_eq!(
        rung(&h.join_with("c1", "q", vec![("english", 5), ("billing", 1)], 0)),
        ["c"]
    );
    assert_eq!(
        rung(&h.join_with("c2", "q", vec![("english", 5)], 0)),
        ["b"]
    );
    assert!(
        rung(&h.join_with("c3", "q", vec![("english", 5)], 0)).is_empty(),
        "a is not skilled enough"
    );
}

#[test]
fn skill_requirements_filter_every_strategy() {
    let mut h = H::new(config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![skilled("a", &[]), skilled("b", &[("spanish", 4)])],
    ));
    h.login(&["a", "b"]);
    assert_eq!(
        rung(&h.join_with("c1", "q", vec![("spanish", 2)], 0)),
        ["b"]
    );
}

#[test]
fn skill_requirement_widens_after_wait_steps() {
    let mut q = queue("q", Strategy::Skills);
    q.skill_widen_every_secs = Some(20);
    q.skill_widen_step = 2;
    let mut h = H::new(config(vec![q], vec![skilled("a", &[("english", 3)])]));
    h.login(&["a"]);
    assert!(h.join_with("c1", "q", vec![("english", 7)], 0).is_empty());
    assert_eq!(h.acd.poll_timeout(), Some(h.t0 + secs(20)));
    assert!(h.advance_to(39).is_empty(), "7-2 = 5 > 3");
    assert_eq!(h.advance_to(40), vec![ring("c1", "a", 15)], "7-4 = 3 ≤ 3");
}

#[test]
fn lower_tier_first_next_tier_after_a_wait() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.tier_wait_secs = 30;
    let mut h = H::new(config(
        vec![q],
        vec![
            member("t0", &[("q", 0)]),
            member("t1", &[("q", 1)]),
            member("t5", &[("q", 5)]),
        ],
    ));
    h.login(&["t0", "t1", "t5"]);
    h.op("t0", AgentOp::Pause { reason: "x".into() });
    // Tier 0 has a logged-in (paused) agent: the caller waits 30 s for tier 1.
    assert!(h.join("c1", "q").is_empty());
    assert!(h.advance_to(29).is_empty());
    assert_eq!(h.advance_to(30), vec![ring("c1", "t1", 15)]);
    // t1 misses; tier 5 (the third tier) opens at 60 s.
    assert_eq!(
        h.advance_to(45),
        vec![cancel("c1", "t1"), ring("c1", "t1", 15)]
    );
    let out = h.advance_to(60);
    assert_eq!(
        out,
        vec![cancel("c1", "t1"), ring("c1", "t5", 15)],
        "untried agent of the opened tier first"
    );
}

#[test]
fn tiers_without_logged_in_agents_do_not_make_callers_wait() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.tier_wait_secs = 30;
    let mut h = H::new(config(
        vec![q],
        vec![member("t0", &[("q", 0)]), member("t1", &[("q", 1)])],
    ));
    h.login(&["t1"]);
    assert_eq!(rung(&h.join("c1", "q")), ["t1"]);
}

#[test]
fn a_free_lower_tier_agent_is_preferred_even_after_the_wait() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.tier_wait_secs = 10;
    let mut h = H::new(config(
        vec![q],
        vec![member("t0", &[("q", 0)]), member("t1", &[("q", 1)])],
    ));
    h.login(&["t1", "t0"]);
    h.op("t0", AgentOp::Pause { reason: "x".into() });
    h.join("c1", "q");
    h.advance_to(5);
    h.op("t0", AgentOp::Unpause);
    assert_eq!(h.snapshot("t0").call, Some(call("c1")));
}
