//! Race safety at the ACD level: callers leaving while agents ring, two answers to one
//! ring-all, answers after a cancel, phones going away mid-ring and mid-call.

mod acd_support;

use acd_support::*;
use switchboard::acd::*;

fn two_agents(strategy: Strategy) -> H {
    let mut h = H::new(config(
        vec![queue("q", strategy)],
        vec![member("a", &[("q", 0)]), member("b", &[("q", 0)])],
    ));
    h.login(&["a", "b"]);
    h
}

#[test]
fn caller_leaving_while_agent_rings_cancels_and_frees_the_agent() {
    let mut h = two_agents(Strategy::LongestIdle);
    assert_eq!(h.join("c1", "q"), vec![ring("c1", "a", 15)]);
    assert_eq!(h.state("a"), AgentState::Ringing);
    assert_eq!(h.leave("c1"), vec![cancel("c1", "a")]);
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.snapshot("a").call, None);
    assert_eq!(
        h.snapshot("a").missed,
        0,
        "a caller hanging up is not the agent's miss"
    );
    assert_eq!(h.stats("q").abandoned, 1);
    // The freed agent takes the next caller.
    assert_eq!(rung(&h.join("c2", "q")), ["a"]);
}

#[test]
fn ring_all_first_answer_wins_second_is_released_and_stays_available() {
    let mut h = two_agents(Strategy::RingAll);
    assert_eq!(
        h.join("c1", "q"),
        vec![ring("c1", "a", 15), ring("c1", "b", 15)]
    );
    assert_eq!(
        h.answer("c1", "b"),
        vec![cancel("c1", "a"), bridge("c1", "b")]
    );
    assert_eq!(h.state("b"), AgentState::OnCall);
    assert_eq!(h.state("a"), AgentState::Available);
    // a's 200 OK crossed the CANCEL.
    assert_eq!(h.answer("c1", "a"), vec![release("c1", "a")]);
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.state("b"), AgentState::OnCall);
    assert_eq!(h.stats("q").answered, 1);
}

#[test]
fn answer_after_ring_timeout_cancel_is_released() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    let out = h.advance_to(15);
    assert_eq!(out, vec![cancel("c1", "a"), ring("c1", "b", 15)]);
    assert_eq!(h.answer("c1", "a"), vec![release("c1", "a")]);
    assert_eq!(h.state("b"), AgentState::Ringing, "b's offer is untouched");
    assert_eq!(h.answer("c1", "b"), vec![bridge("c1", "b")]);
}

#[test]
fn answer_for_a_caller_already_gone_is_released() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    h.leave("c1");
    assert_eq!(h.answer("c1", "a"), vec![release("c1", "a")]);
    assert_eq!(h.state("a"), AgentState::Available);
}

#[test]
fn answer_from_an_agent_never_offered_is_released() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    assert_eq!(h.answer("c1", "b"), vec![release("c1", "b")]);
    assert_eq!(h.answer("c1", "nobody"), vec![release("c1", "nobody")]);
    assert_eq!(h.state("a"), AgentState::Ringing);
}

#[test]
fn unreachable_available_agent_is_not_offered() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.input(AcdInput::EndpointReachable {
        endpoint: "ep-a".into(),
        reachable: false,
    });
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(rung(&h.join("c1", "q")), ["b"]);
    assert_eq!(h.join("c2", "q"), vec![], "a stays un-offered");
    // Back: a takes the waiting caller at once.
    let out = h.input(AcdInput::EndpointReachable {
        endpoint: "ep-a".into(),
        reachable: true,
    });
    assert_eq!(out, vec![ring("c2", "a", 15)]);
    assert_eq!(h.state("a"), AgentState::Ringing);
    assert_eq!(h.snapshot("a").call, Some(call("c2")));
}

#[test]
fn phone_going_away_while_ringing_cancels_and_reoffers_without_a_miss() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    let out = h.input(AcdInput::EndpointReachable {
        endpoint: "ep-a".into(),
        reachable: false,
    });
    assert_eq!(out, vec![cancel("c1", "a"), ring("c1", "b", 15)]);
    assert_eq!(h.snapshot("a").missed, 0);
    assert_eq!(h.state("a"), AgentState::Available);
}

#[test]
fn phone_going_away_mid_call_pauses_after_the_call_by_default() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    h.answer("c1", "a");
    h.input(AcdInput::EndpointReachable {
        endpoint: "ep-a".into(),
        reachable: false,
    });
    assert_eq!(h.state("a"), AgentState::OnCall, "the call goes on");
    h.end("c1", "a");
    assert_eq!(h.state("a"), AgentState::Paused("unreachable".into()));
}

#[test]
fn phone_going_away_mid_call_can_log_out_or_wrap_up() {
    for (policy, expect) in [
        (AfterCall::Logout, AgentState::LoggedOut),
        (AfterCall::WrapUp, AgentState::Available),
    ] {
        let mut cfg = config(
            vec![queue("q", Strategy::LongestIdle)],
            vec![member("a", &[("q", 0)])],
        );
        cfg.unreachable_after_call = policy;
        let mut h = H::new(cfg);
        h.login(&["a"]);
        h.join("c1", "q");
        h.answer("c1", "a");
        h.input(AcdInput::EndpointReachable {
            endpoint: "ep-a".into(),
            reachable: false,
        });
        h.end("c1", "a");
        assert_eq!(h.state("a"), expect, "{policy:?}");
        // Still not offered while the phone is gone.
        assert!(rung(&h.join("c2", "q")).is_empty());
    }
}

#[test]
fn ring_failed_busy_moves_on_to_the_next_agent() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    let out = h.input(AcdInput::RingFailed {
        call: call("c1"),
        agent: agent("a"),
        busy: true,
    });
    assert_eq!(
        out,
        vec![ring("c1", "b", 15)],
        "no CancelRing for a leg that already failed"
    );
    assert_eq!(h.snapshot("a").missed, 1);
    // A late failure report for an offer already over changes nothing.
    let out = h.input(AcdInput::RingFailed {
        call: call("c1"),
        agent: agent("a"),
        busy: false,
    });
    assert!(out.is_empty());
    assert_eq!(h.snapshot("a").missed, 1);
}

#[test]
fn ring_all_one_refusal_keeps_the_others_ringing() {
    let mut h = two_agents(Strategy::RingAll);
    h.join("c1", "q");
    let out = h.input(AcdInput::RingFailed {
        call: call("c1"),
        agent: agent("a"),
        busy: true,
    });
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.state("b"), AgentState::Ringing);
    assert_eq!(h.answer("c1", "b"), vec![bridge("c1", "b")]);
}

#[test]
fn logout_or_pause_while_ringing_cancels_the_ring() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    let out = h.op(
        "a",
        AgentOp::Pause {
            reason: "lunch".into(),
        },
    );
    assert_eq!(out, vec![cancel("c1", "a"), ring("c1", "b", 15)]);
    assert_eq!(h.state("a"), AgentState::Paused("lunch".into()));
    let out = h.op("b", AgentOp::Logout);
    assert_eq!(out, vec![cancel("c1", "b")]);
    assert_eq!(h.state("b"), AgentState::LoggedOut);
}

#[test]
fn caller_hanging_up_while_bridged_ends_the_agents_call() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    h.answer("c1", "a");
    h.leave("c1");
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.snapshot("a").calls, 1);
    assert_eq!(h.stats("q").abandoned, 0);
}

#[test]
fn call_ended_for_the_wrong_agent_is_ignored() {
    let mut h = two_agents(Strategy::LongestIdle);
    h.join("c1", "q");
    h.answer("c1", "a");
    h.end("c1", "b");
    assert_eq!(h.state("a"), AgentState::OnCall);
}
