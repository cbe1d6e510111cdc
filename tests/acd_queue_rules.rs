//! Queue rules on a virtual clock: ring timeout → next agent, auto-pause after misses,
//! max wait → overflow, max length, join-empty / leave-when-empty, announcements,
//! callbacks, wrap-up, priorities.

mod acd_support;

use acd_support::*;
use switchboard::acd::*;

fn h_with(q: QueueConfig, agents: &[&str]) -> H {
    let members = agents.iter().map(|a| member(a, &[("q", 0)])).collect();
    H::new(config(vec![q], members))
}

#[test]
fn ring_timeout_moves_to_the_next_agent() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a", "b"]);
    h.login(&["a", "b"]);
    assert_eq!(rung(&h.join("c1", "q")), ["a"]);
    assert_eq!(h.acd.poll_timeout(), Some(h.t0 + secs(15)));
    assert!(h.advance_to(14).is_empty());
    assert_eq!(
        h.advance_to(15),
        vec![cancel("c1", "a"), ring("c1", "b", 15)]
    );
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.snapshot("a").missed, 1);
    // b misses too: a new round starts with a (a is idle longest).
    assert_eq!(
        h.advance_to(30),
        vec![cancel("c1", "b"), ring("c1", "a", 15)]
    );
}

#[test]
fn consecutive_misses_auto_pause_with_reason_missed() {
    let mut cfg = config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![member("a", &[("q", 0)])],
    );
    cfg.max_missed = 2;
    let mut h = H::new(cfg);
    h.login(&["a"]);
    h.join("c1", "q");
    assert_eq!(
        h.advance_to(15),
        vec![cancel("c1", "a"), ring("c1", "a", 15)]
    );
    assert_eq!(h.advance_to(30), vec![cancel("c1", "a")]);
    assert_eq!(h.state("a"), AgentState::Paused("missed".into()));
    assert!(
        h.advance_to(100).is_empty(),
        "a paused agent is not offered"
    );
    // Unpause resets the count.
    assert_eq!(rung(&h.op("a", AgentOp::Unpause)), ["a"]);
    assert_eq!(h.snapshot("a").missed_in_row, 0);
    assert_eq!(h.snapshot("a").missed, 2);
}

#[test]
fn an_answer_resets_the_miss_count() {
    let mut cfg = config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![member("a", &[("q", 0)])],
    );
    cfg.max_missed = 2;
    let mut h = H::new(cfg);
    h.login(&["a"]);
    h.join("c1", "q");
    h.advance_to(15);
    h.answer("c1", "a");
    h.end("c1", "a");
    h.join("c2", "q");
    h.advance_to(30);
    assert_eq!(h.snapshot("a").missed_in_row, 1);
    assert_eq!(
        h.state("a"),
        AgentState::Ringing,
        "one miss after an answer does not pause"
    );
    h.advance_to(45);
    assert_eq!(h.state("a"), AgentState::Paused("missed".into()));
}

#[test]
fn max_wait_overflows_to_the_destination() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.max_wait_secs = Some(60);
    q.overflow = Some("default,voicemail".into());
    let mut h = h_with(q, &["a"]);
    h.join("c1", "q");
    assert!(h.advance_to(59).is_empty());
    assert_eq!(
        h.advance_to(60),
        vec![AcdOutput::Overflow {
            call: call("c1"),
            destination: "default,voicemail".into()
        }]
    );
    assert_eq!(h.stats("q").overflowed, 1);
    assert_eq!(h.stats("q").waiting, 0);
}

#[test]
fn max_wait_while_ringing_cancels_then_refuses_with_timeout() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.max_wait_secs = Some(10);
    let mut h = h_with(q, &["a"]);
    h.login(&["a"]);
    h.join("c1", "q");
    let out = h.advance_to(10);
    assert_eq!(
        out,
        vec![
            cancel("c1", "a"),
            AcdOutput::Refuse {
                call: call("c1"),
                reason: RefuseReason::Timeout
            }
        ]
    );
    assert_eq!(RefuseReason::Timeout.queue_status(), "TIMEOUT");
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.snapshot("a").missed, 0);
    assert_eq!(h.stats("q").timed_out, 1);
}

#[test]
fn per_call_max_wait_overrides_the_queue() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.join("c1", "q");
    h.input(AcdInput::CallerMaxWait {
        call: call("c1"),
        max_wait: secs(5),
    });
    assert_eq!(
        h.advance_to(5),
        vec![AcdOutput::Refuse {
            call: call("c1"),
            reason: RefuseReason::Timeout
        }]
    );
}

#[test]
fn max_length_refuses_with_full() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.max_len = Some(2);
    let mut h = h_with(q, &[]);
    assert!(h.join("c1", "q").is_empty());
    assert!(h.join("c2", "q").is_empty());
    assert_eq!(
        h.join("c3", "q"),
        vec![AcdOutput::Refuse {
            call: call("c3"),
            reason: RefuseReason::Full
        }]
    );
    h.leave("c1");
    assert!(h.join("c3", "q").is_empty(), "room again");
}

#[test]
fn unknown_queue_is_refused() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &[]);
    assert_eq!(
        h.join("c1", "nope"),
        vec![AcdOutput::Refuse {
            call: call("c1"),
            reason: RefuseReason::NoSuchQueue
        }]
    );
}

#[test]
fn join_empty_false_refuses_without_logged_in_agents() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.join_empty = false;
    let mut h = h_with(q, &["a"]);
    assert_eq!(
        h.join("c1", "q"),
        vec![AcdOutput::Refuse {
            call: call("c1"),
            reason: RefuseReason::JoinEmpty
        }]
    );
    // A paused agent is logged in: the caller may wait.
    h.login(&["a"]);
    h.op("a", AgentOp::Pause { reason: "x".into() });
    assert!(h.join("c2", "q").is_empty());
}

#[test]
fn leave_when_empty_sends_callers_away_when_the_last_agent_logs_out() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.leave_when_empty = true;
    let mut h = h_with(q, &["a"]);
    h.login(&["a"]);
    h.op("a", AgentOp::Pause { reason: "x".into() });
    h.join("c1", "q");
    h.join("c2", "q");
    let out = h.op("a", AgentOp::Logout);
    assert_eq!(
        out,
        vec![
            AcdOutput::Refuse {
                call: call("c1"),
                reason: RefuseReason::LeaveEmpty
            },
            AcdOutput::Refuse {
                call: call("c2"),
                reason: RefuseReason::LeaveEmpty
            },
        ]
    );
}

#[test]
fn leave_when_empty_uses_the_overflow_destination_when_set() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.leave_when_empty = true;
    q.overflow = Some("operator".into());
    let mut h = h_with(q, &["a"]);
    let out = h.join("c1", "q");
    assert_eq!(
        out,
        vec![AcdOutput::Overflow {
            call: call("c1"),
            destination: "operator".into()
        }]
    );
}

#[test]
fn periodic_announcements_give_position_and_estimated_wait() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.announce_every_secs = Some(30);
    let mut h = h_with(q, &["a"]);
    h.login(&["a"]);
    // One handled call of 100 s teaches the estimate.
    h.join("c0", "q");
    h.answer("c0", "a");
    h.now = h.t0 + secs(100);
    h.end("c0", "a");
    h.op("a", AgentOp::Pause { reason: "x".into() });
    h.join("c1", "q");
    h.join("c2", "q");
    let out = h.advance_to(130);
    assert_eq!(
        out,
        vec![
            AcdOutput::Announce {
                call: call("c1"),
                position: 1,
                estimated_wait: None
            },
            AcdOutput::Announce {
                call: call("c2"),
                position: 2,
                estimated_wait: None
            },
        ],
        "no serving agent: no estimate"
    );
    h.op("a", AgentOp::Logout);
    h.login(&["a"]);
    h.op("a", AgentOp::Pause { reason: "x".into() });
    // Paused agents do not serve; log in a second serving agent that is unreachable.
    h.acd.reconfigure(
        config(
            vec![QueueConfig {
                announce_every_secs: Some(30),
                ..queue("q", Strategy::LongestIdle)
            }],
            vec![member("a", &[("q", 0)]), member("b", &[("q", 0)])],
        ),
        h.now,
    );
    h.input(AcdInput::EndpointReachable {
        endpoint: "ep-b".into(),
        reachable: false,
    });
    h.op("b", AgentOp::Login);
    let out = h.advance_to(160);
    assert_eq!(
        out,
        vec![
            AcdOutput::Announce {
                call: call("c1"),
                position: 1,
                estimated_wait: Some(secs(100))
            },
            AcdOutput::Announce {
                call: call("c2"),
                position: 2,
                estimated_wait: Some(secs(200))
            },
        ]
    );
}

#[test]
fn announce_on_join_and_no_announcement_while_ringing() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.announce_every_secs = Some(10);
    q.announce_on_join = true;
    q.ring_timeout_secs = 60;
    let mut h = h_with(q, &["a"]);
    assert_eq!(
        h.join("c1", "q"),
        vec![AcdOutput::Announce {
            call: call("c1"),
            position: 1,
            estimated_wait: None
        }]
    );
    h.login(&["a"]);
    assert_eq!(h.state("a"), AgentState::Ringing);
    assert!(
        h.advance_to(35).is_empty(),
        "ringing callers hear ringback, not announcements"
    );
}

#[test]
fn callback_keeps_the_place_and_comes_due_when_served() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.join("c1", "q");
    h.join("c2", "q");
    assert!(h
        .input(AcdInput::CallbackRequested {
            call: call("c1"),
            number: "5551234".into()
        })
        .is_empty());
    let st = h.stats("q");
    assert_eq!((st.waiting, st.callbacks, st.abandoned), (1, 1, 0));
    h.join("c3", "q");
    // The callback is ahead of c2 and c3: the first free agent serves it.
    let out = h.op("a", AgentOp::Login);
    assert_eq!(
        out[0],
        AcdOutput::CallbackDue {
            queue: "q".into(),
            number: "5551234".into()
        }
    );
    // The agent is not reserved by the callback: it also takes the next caller.
    assert_eq!(rung(&out), ["a"]);
    assert_eq!(h.snapshot("a").call, Some(call("c2")));
    assert_eq!(h.stats("q").callbacks_due, 1);
}

#[test]
fn the_hang_up_after_a_callback_request_is_not_an_abandon() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.join("c1", "q");
    h.join("c2", "q");
    h.input(AcdInput::CallbackRequested {
        call: call("c1"),
        number: "555".into(),
    });
    // The switch hangs the caller up and reports it; the kept place stays.
    assert!(h.leave("c1").is_empty());
    let st = h.stats("q");
    assert_eq!(
        (st.waiting, st.callbacks, st.abandoned, st.callbacks_kept),
        (1, 1, 0, 1)
    );
    let out = h.op("a", AgentOp::Login);
    assert_eq!(
        out[0],
        AcdOutput::CallbackDue {
            queue: "q".into(),
            number: "555".into()
        }
    );
}

#[test]
fn callback_while_ringing_cancels_the_ring() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.login(&["a"]);
    h.join("c1", "q");
    let out = h.input(AcdInput::CallbackRequested {
        call: call("c1"),
        number: "555".into(),
    });
    assert_eq!(out[0], cancel("c1", "a"));
    assert_eq!(
        out[1],
        AcdOutput::CallbackDue {
            queue: "q".into(),
            number: "555".into()
        }
    );
}

#[test]
fn callback_disabled_is_ignored() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.callback = false;
    let mut h = h_with(q, &["a"]);
    h.join("c1", "q");
    assert!(h
        .input(AcdInput::CallbackRequested {
            call: call("c1"),
            number: "555".into()
        })
        .is_empty());
    assert_eq!(h.stats("q").waiting, 1);
}

#[test]
fn wrap_up_is_timed_per_queue_and_can_end_early() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.wrap_up_secs = 30;
    let mut h = h_with(q, &["a"]);
    h.login(&["a"]);
    h.join("c1", "q");
    h.answer("c1", "a");
    h.now = h.t0 + secs(60);
    h.end("c1", "a");
    assert_eq!(h.state("a"), AgentState::WrapUp);
    h.join("c2", "q");
    assert!(h.advance_to(89).is_empty());
    assert_eq!(h.advance_to(90), vec![ring("c2", "a", 15)]);
    h.answer("c2", "a");
    h.end("c2", "a");
    assert_eq!(h.state("a"), AgentState::WrapUp);
    h.op("a", AgentOp::EndWrapUp);
    assert_eq!(h.state("a"), AgentState::Available);
}

#[test]
fn pause_or_logout_during_a_call_applies_when_it_ends() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a", "b"]);
    h.login(&["a", "b"]);
    h.join("c1", "q");
    h.join("c2", "q");
    h.answer("c1", "a");
    h.answer("c2", "b");
    h.op(
        "a",
        AgentOp::Pause {
            reason: "lunch".into(),
        },
    );
    h.op("b", AgentOp::Logout);
    assert_eq!(h.state("a"), AgentState::OnCall);
    assert_eq!(h.state("b"), AgentState::OnCall);
    h.end("c1", "a");
    h.end("c2", "b");
    assert_eq!(h.state("a"), AgentState::Paused("lunch".into()));
    assert_eq!(h.state("b"), AgentState::LoggedOut);
}

#[test]
fn higher_priority_callers_are_served_first() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.join_with("low", "q", vec![], 0);
    h.join_with("vip", "q", vec![], 10);
    assert_eq!(h.acd.queue_stats("q", h.now).map(|s| s.waiting), Some(2));
    h.op("a", AgentOp::Login);
    assert_eq!(h.snapshot("a").call, Some(call("vip")));
}

#[test]
fn priority_is_global_across_queues_for_shared_agents() {
    let mut h = H::new(config(
        vec![
            queue("q1", Strategy::LongestIdle),
            queue("q2", Strategy::LongestIdle),
        ],
        vec![member("a", &[("q1", 0), ("q2", 0)])],
    ));
    h.join("first", "q2");
    h.join("second", "q1");
    h.op("a", AgentOp::Login);
    assert_eq!(
        h.snapshot("a").call,
        Some(call("first")),
        "earlier arrival wins across queues"
    );
}

#[test]
fn reconfigure_keeps_live_state_and_drains_removed_queues() {
    let mut h = H::new(config(
        vec![
            queue("q", Strategy::LongestIdle),
            queue("old", Strategy::LongestIdle),
        ],
        vec![
            member("a", &[("q", 0), ("old", 0)]),
            member("b", &[("q", 0)]),
        ],
    ));
    h.login(&["a", "b"]);
    h.join("c1", "old");
    h.answer("c1", "a");
    h.acd.reconfigure(
        config(
            vec![queue("q", Strategy::RingAll)],
            vec![member("a", &[("q", 0)])],
        ),
        h.now,
    );
    assert_eq!(h.state("a"), AgentState::OnCall, "live call kept");
    assert_eq!(
        h.join("c2", "old"),
        vec![AcdOutput::Refuse {
            call: call("c2"),
            reason: RefuseReason::NoSuchQueue
        }]
    );
    assert!(
        h.acd.agents(h.now).iter().all(|s| s.id.0 != "b"),
        "idle removed agent dropped"
    );
    h.end("c1", "a");
    assert_eq!(h.acd.queue_names(), ["q"], "drained queue gone");
    assert_eq!(rung(&h.join("c3", "q")), ["a"]);
}

#[test]
fn reconfigure_turning_announcements_off_leaves_no_stale_timer() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.announce_every_secs = Some(10);
    let mut h = h_with(q, &["a"]);
    h.join("c1", "q");
    assert_eq!(h.acd.poll_timeout(), Some(h.t0 + secs(10)));
    h.acd.reconfigure(
        config(
            vec![queue("q", Strategy::LongestIdle)],
            vec![member("a", &[("q", 0)])],
        ),
        h.now,
    );
    assert!(h.advance_to(10).is_empty());
    assert_eq!(h.acd.poll_timeout(), None);
}

#[test]
fn reconfigure_moving_an_agent_to_an_unreachable_endpoint_stops_offers() {
    let mut h = h_with(queue("q", Strategy::LongestIdle), &["a"]);
    h.input(AcdInput::EndpointReachable {
        endpoint: "desk-9".into(),
        reachable: false,
    });
    h.login(&["a"]);
    let mut moved = member("a", &[("q", 0)]);
    moved.endpoint = "desk-9".into();
    h.acd.reconfigure(
        config(vec![queue("q", Strategy::LongestIdle)], vec![moved]),
        h.now,
    );
    assert!(h.join("c1", "q").is_empty());
    assert!(!h.snapshot("a").reachable);
}

#[test]
fn no_timer_is_armed_when_nothing_can_happen() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.tier_wait_secs = 10;
    let mut h = H::new(config(
        vec![q],
        vec![member("t0", &[("q", 0)]), member("t1", &[("q", 1)])],
    ));
    h.login(&["t0", "t1"]);
    h.op("t0", AgentOp::Pause { reason: "x".into() });
    h.op("t1", AgentOp::Pause { reason: "x".into() });
    h.join("c1", "q");
    assert_eq!(
        h.acd.poll_timeout(),
        None,
        "no free agent: tier steps cannot help"
    );
    h.op("t1", AgentOp::Unpause);
    assert_eq!(
        h.acd.poll_timeout(),
        Some(h.t0 + secs(10)),
        "t1 is free at tier 1"
    );
}
