//! Live queue statistics and per-agent accounting, and the event stream: every agent
//! transition and queue happening is reported, and events serialize to JSON.

mod acd_support;

use acd_support::*;
use switchboard::acd::*;

#[test]
fn service_level_asa_abandoned_longest_wait() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.service_level_secs = 20;
    let mut h = H::new(config(vec![q], vec![member("a", &[("q", 0)])]));
    // c1 answered after 10 s (in SL), c2 after 40 s (out), c3 abandons, c4 still waits.
    h.join("c1", "q");
    h.join("c2", "q");
    h.join("c3", "q");
    h.now = h.t0 + secs(10);
    h.login(&["a"]);
    h.answer("c1", "a");
    h.now = h.t0 + secs(30);
    h.leave("c3");
    h.join("c4", "q");
    h.now = h.t0 + secs(38);
    h.end("c1", "a");
    h.now = h.t0 + secs(40);
    h.answer("c2", "a");
    h.now = h.t0 + secs(50);
    let st = h.stats("q");
    assert_eq!(st.offered, 4);
    assert_eq!(st.answered, 2);
    assert_eq!(st.answered_in_sl, 1);
    assert_eq!(st.service_level, Some(0.25));
    assert_eq!(st.asa, Some(secs(25)));
    assert_eq!(st.abandoned, 1);
    assert_eq!(st.waiting, 1);
    assert_eq!(st.longest_wait, secs(20));
    assert_eq!(st.agents_logged_in, 1);
    assert_eq!(st.agents_available, 0);
    assert_eq!(st.mean_handle, Some(secs(28)));
}

#[test]
fn empty_queue_has_no_ratios() {
    let h = H::new(config(vec![queue("q", Strategy::LongestIdle)], vec![]));
    let st = h.stats("q");
    assert_eq!(
        (st.service_level, st.asa, st.mean_handle),
        (None, None, None)
    );
    assert!(h.acd.queue_stats("nope", h.now).is_none());
}

#[test]
fn per_agent_calls_and_talk_wrap_pause_times() {
    let mut q = queue("q", Strategy::LongestIdle);
    q.wrap_up_secs = 15;
    let mut h = H::new(config(vec![q], vec![member("a", &[("q", 0)])]));
    h.login(&["a"]);
    h.now += secs(5);
    h.join("c1", "q");
    h.now += secs(3);
    h.answer("c1", "a");
    h.now += secs(60);
    h.end("c1", "a");
    h.advance_to(5 + 3 + 60 + 15);
    h.op(
        "a",
        AgentOp::Pause {
            reason: "lunch".into(),
        },
    );
    h.now += secs(100);
    let s = h.snapshot("a");
    assert_eq!(s.calls, 1);
    assert_eq!(s.times.available, secs(5));
    assert_eq!(s.times.ringing, secs(3));
    assert_eq!(s.times.talk, secs(60));
    assert_eq!(s.times.wrap, secs(15));
    assert_eq!(s.times.pause, secs(100));
    assert_eq!(s.state, AgentState::Paused("lunch".into()));
}

fn agent_moves(h: &H, who: &str) -> Vec<(AgentState, AgentState, String)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            AcdEvent::Agent(a) if a.agent.0 == who => {
                Some((a.from.clone(), a.to.clone(), a.reason.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn every_agent_transition_is_an_event() {
    use AgentState::*;
    let mut q = queue("q", Strategy::LongestIdle);
    q.wrap_up_secs = 10;
    let mut h = H::new(config(vec![q], vec![member("a", &[("q", 0)])]));
    h.login(&["a"]);
    h.join("c1", "q");
    h.answer("c1", "a");
    h.end("c1", "a");
    h.advance_to(10);
    h.op(
        "a",
        AgentOp::Pause {
            reason: "lunch".into(),
        },
    );
    h.op("a", AgentOp::Unpause);
    h.op("a", AgentOp::Logout);
    let s = |r: &str| r.to_string();
    assert_eq!(
        agent_moves(&h, "a"),
        vec![
            (LoggedOut, Available, s("login")),
            (Available, Reserved, s("offer")),
            (Reserved, Ringing, s("ring")),
            (Ringing, OnCall, s("answered")),
            (OnCall, WrapUp, s("call_ended")),
            (WrapUp, Available, s("wrap_up_over")),
            (Available, Paused("lunch".into()), s("pause")),
            (Paused("lunch".into()), Available, s("unpause")),
            (Available, LoggedOut, s("logout")),
        ]
    );
}

#[test]
fn queue_events_cover_join_answer_abandon_complete() {
    let mut h = H::new(config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![member("a", &[("q", 0)])],
    ));
    h.login(&["a"]);
    h.join("c1", "q");
    h.join("c2", "q");
    h.now += secs(4);
    h.answer("c1", "a");
    h.leave("c2");
    h.now += secs(6);
    h.end("c1", "a");
    let kinds: Vec<String> = h
        .events
        .iter()
        .filter_map(|e| match e {
            AcdEvent::Queue(q) => Some(format!(
                "{}:{}",
                q.call.as_ref().map_or("-", |c| c.0.as_str()),
                serde_json::to_value(&q.what).ok()?["event"].as_str()?
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "c1:join",
            "c2:join",
            "c1:answer",
            "c2:abandon",
            "c1:complete"
        ]
    );
    let json = serde_json::to_value(h.events.last().expect("event")).expect("serializes");
    assert_eq!(json["kind"], "queue");
    assert_eq!(json["event"], "complete");
    assert_eq!(json["talk_ms"], 6000);
    assert_eq!(json["agent"], "a");
}

#[test]
fn agent_events_serialize_with_state_and_reason() {
    let mut h = H::new(config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![member("a", &[("q", 0)])],
    ));
    h.login(&["a"]);
    h.op(
        "a",
        AgentOp::Pause {
            reason: "lunch".into(),
        },
    );
    let json = serde_json::to_value(h.events.last().expect("event")).expect("serializes");
    assert_eq!(json["kind"], "agent");
    assert_eq!(json["from"]["state"], "available");
    assert_eq!(json["to"]["state"], "paused");
    assert_eq!(json["to"]["reason"], "lunch");
    assert_eq!(json["reason"], "pause");
}

#[test]
fn star_codes_and_endpoint_lookup_drive_agent_ops() {
    let mut h = H::new(config(
        vec![queue("q", Strategy::LongestIdle)],
        vec![member("a", &[("q", 0)])],
    ));
    let who = h.acd.agent_for_endpoint("ep-a").expect("known endpoint");
    let op = star::parse("*45").expect("login code");
    h.input(AcdInput::Agent {
        agent: who.clone(),
        op,
    });
    assert_eq!(h.state("a"), AgentState::Available);
    h.input(AcdInput::Agent {
        agent: who,
        op: star::parse("*4712").expect("pause code"),
    });
    assert_eq!(h.state("a"), AgentState::Paused("12".into()));
}
