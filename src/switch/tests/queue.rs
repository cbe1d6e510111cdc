//! Inbound queues end to end in the switch core: the call program joins the queue, the
//! ACD rings agents' phones, the first answer is bridged and every race ends cleanly.

use super::*;
use crate::acd::{AgentOp, AgentState};

fn queue_net(strategy: &str) -> (Net, Arc<FakeRelay>) {
    queue_net_with(strategy, "")
}

/// `extra`: more lines for the `sales` queue.
fn queue_net_with(strategy: &str, extra: &str) -> (Net, Arc<FakeRelay>) {
    let config = format!(
        r#"{CONFIG}
[[queue]]
name = "sales"
{extra}
strategy = "{strategy}"
ring_timeout_secs = 15
wrap_up_secs = 5

[[agent]]
id = "1002"
endpoint = "1002"
queues = [{{ queue = "sales" }}]

[[agent]]
id = "1003"
endpoint = "1003"
queues = [{{ queue = "sales" }}]
"#
    );
    let (mut net, relay) = relayed_net_config(FakeRelay::default(), &config);
    let cfg = Config::parse("t.toml", &config).unwrap();
    let acd = crate::switch::acd_config(&cfg)
        .unwrap()
        .expect("queues configured");
    let sw = std::mem::replace(&mut net.sw, Net::new().sw);
    net.sw = sw.with_acd(acd);
    net.bind("1002", B);
    net.bind("1003", C);
    for agent in ["1002", "1003"] {
        let now = net.clock();
        net.sw.agent_op(now, agent, AgentOp::Login);
    }
    (net, relay)
}

fn state(net: &Net, agent: &str) -> AgentState {
    let at = net.clock().at;
    net.sw
        .acd()
        .unwrap()
        .agents(at)
        .into_iter()
        .find(|a| a.id.0 == agent)
        .unwrap()
        .state
}

fn invite_to(out: &[(SocketAddr, SipMessage)], to: &str) -> Option<Request> {
    requests(out, to)
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .cloned()
}

/// The trunk's caller enters the queue; returns the 200 it got and the agents' INVITEs.
fn queued_caller(net: &mut Net) -> (Response, Option<Request>, Option<Request>) {
    net.send(TRUNK, &invite_from_trunk("queue", "q1", true));
    let out = net.sent();
    let ok = ok_to_trunk(&out).expect("queue answers the caller");
    net.send(TRUNK, &in_dialog("ACK", &ok, 1, true, TRUNK));
    (ok, invite_to(&out, B), invite_to(&out, C))
}

#[test]
fn ring_all_bridges_the_first_agent_and_cancels_the_other() {
    let (mut net, relay) = queue_net("ring_all");
    net.send(TRUNK, &invite_from_trunk("queue", "q1", true));
    let out = net.sent();
    assert_eq!(final_statuses(&out, TRUNK), vec![200]);
    assert_eq!(relay.plays.lock().unwrap()[0].0, "moh");
    let (b_inv, c_inv) = (invite_to(&out, B).unwrap(), invite_to(&out, C).unwrap());
    assert_eq!(
        (state(&net, "1002"), state(&net, "1003")),
        (AgentState::Ringing, AgentState::Ringing)
    );
    net.send(C, &reply(&c_inv, 180, "ctag", C, ""));
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Ack));
    let cancels = requests(&out, C)
        .iter()
        .filter(|r| r.method == Method::Cancel)
        .count();
    assert_eq!(cancels, 1, "the other agent's ring is cancelled, once");
    net.send(C, &reply(&c_inv, 487, "ctag", C, ""));
    assert_eq!(state(&net, "1002"), AgentState::OnCall);
    assert_eq!(state(&net, "1003"), AgentState::Available);
    assert!(
        *relay.stops.lock().unwrap() >= 1,
        "music stops at the bridge"
    );
    assert!(relay
        .updates
        .lock()
        .unwrap()
        .iter()
        .any(|(l, a, _)| *l == crate::media::Leg::B && a.map(|a| a.port()) == Some(5000)));
}

#[test]
fn two_agents_answering_at_once_one_wins_the_other_is_hung_up() {
    let (mut net, _relay) = queue_net("ring_all");
    let (_ok, b_inv, c_inv) = queued_caller(&mut net);
    let (b_inv, c_inv) = (b_inv.unwrap(), c_inv.unwrap());
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    net.send(C, &reply(&c_inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert!(requests(&out, C).iter().any(|r| r.method == Method::Ack));
    let bye = requests(&out, C)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .expect("the late answer gets a clean BYE")
        .clone();
    assert!(!requests(&out, B).iter().any(|r| r.method == Method::Bye));
    net.send(C, &reply(&bye, 200, "ctag", C, ""));
    assert_eq!(state(&net, "1002"), AgentState::OnCall);
    assert_eq!(state(&net, "1003"), AgentState::Available);
}

#[test]
fn caller_hanging_up_while_agents_ring_leaves_no_zombie() {
    let (mut net, relay) = queue_net("ring_all");
    let (ok, b_inv, c_inv) = queued_caller(&mut net);
    let (b_inv, c_inv) = (b_inv.unwrap(), c_inv.unwrap());
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.send(C, &reply(&c_inv, 180, "ctag", C, ""));
    net.sent();
    net.send(TRUNK, &in_dialog("BYE", &ok, 2, true, TRUNK));
    let out = net.sent();
    for to in [B, C] {
        assert!(
            requests(&out, to)
                .iter()
                .any(|r| r.method == Method::Cancel),
            "{to} is cancelled"
        );
    }
    net.send(B, &reply(&b_inv, 487, "btag", B, ""));
    net.send(C, &reply(&c_inv, 487, "ctag", C, ""));
    assert_eq!(state(&net, "1002"), AgentState::Available);
    assert_eq!(state(&net, "1003"), AgentState::Available);
    assert_eq!(net.sw.active_calls(), 0);
    assert_eq!(*relay.released.lock().unwrap(), 1);
}

#[test]
fn an_agent_who_does_not_answer_is_skipped_for_the_next() {
    let (mut net, _relay) = queue_net("longest_idle");
    let (_ok, b_inv, c_inv) = queued_caller(&mut net);
    let first = match (&b_inv, &c_inv) {
        (Some(b), None) => (B, b.clone()),
        (None, Some(c)) => (C, c.clone()),
        other => panic!("one agent at a time: {other:?}"),
    };
    net.send(first.0, &reply(&first.1, 180, "xtag", first.0, ""));
    net.sent();
    net.advance(Duration::from_secs(15));
    let out = net.sent();
    assert!(requests(&out, first.0)
        .iter()
        .any(|r| r.method == Method::Cancel));
    let other = if first.0 == B { C } else { B };
    let next = invite_to(&out, other).expect("the next agent rings");
    net.send(first.0, &reply(&first.1, 487, "xtag", first.0, ""));
    net.send(other, &reply(&next, 200, "ytag", other, SDP_B));
    let agent = if other == B { "1002" } else { "1003" };
    assert_eq!(state(&net, agent), AgentState::OnCall);
}

#[test]
fn bridged_call_ends_in_wrap_up_then_the_agent_is_available_again() {
    let (mut net, _relay) = queue_net("ring_all");
    let (ok, b_inv, c_inv) = queued_caller(&mut net);
    let (b_inv, c_inv) = (b_inv.unwrap(), c_inv.unwrap());
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    net.send(C, &reply(&c_inv, 486, "ctag", C, ""));
    net.sent();
    net.send(TRUNK, &in_dialog("BYE", &ok, 2, true, TRUNK));
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Bye));
    assert_eq!(state(&net, "1002"), AgentState::WrapUp);
    net.advance(Duration::from_secs(5));
    assert_eq!(state(&net, "1002"), AgentState::Available);
    let agent_events = net
        .records
        .iter()
        .filter(|o| matches!(o, SwitchOutput::Event(e) if e.kind == "agent.state"))
        .count();
    assert!(
        agent_events >= 6,
        "every transition is an event: {agent_events}"
    );
}

fn final_statuses(out: &[(SocketAddr, SipMessage)], to: &str) -> Vec<u16> {
    statuses(out, to)
        .into_iter()
        .filter(|s| *s >= 200)
        .collect()
}

#[test]
fn an_agent_whose_registration_expires_is_not_offered_calls() {
    let (mut net, _relay) = queue_net("ring_all");
    // 1002's binding (3600 s) expires; 1003 registered again meanwhile, from a new port
    let c2 = "127.0.0.1:6004";
    net.advance(Duration::from_secs(3000));
    net.bind("1003", c2);
    net.advance(Duration::from_secs(700));
    let now = net.clock();
    net.sw.purge_registrations(now);
    assert_eq!(
        state(&net, "1002"),
        AgentState::Available,
        "still logged in"
    );
    net.send(TRUNK, &invite_from_trunk("queue", "q1", true));
    let out = net.sent();
    assert!(
        invite_to(&out, B).is_none(),
        "the unreachable agent is not rung"
    );
    assert!(invite_to(&out, c2).is_some(), "the registered one is");
}

#[test]
fn a_caller_pressing_star_is_called_back_when_an_agent_is_free() {
    let (mut net, relay) = queue_net("ring_all");
    for agent in ["1002", "1003"] {
        let now = net.clock();
        net.sw.agent_op(now, agent, AgentOp::Logout);
    }
    let (ok, b_inv, c_inv) = queued_caller(&mut net);
    assert!(b_inv.is_none() && c_inv.is_none(), "nobody logged in");
    let call = relay.calls.lock().unwrap()[0].clone();
    let star = crate::media::MediaEvent::Dtmf {
        leg: crate::media::Leg::A,
        dtmf: crate::media::Dtmf {
            event: 10,
            digit: Some('*'),
            duration: 800,
            duration_ms: 100,
            volume: 10,
            timestamp: 0,
        },
    };
    let now = net.clock();
    net.sw.on_media_event(now, &call, star);
    let (prompt, _, id) = relay.plays.lock().unwrap().last().cloned().unwrap();
    assert_eq!(prompt, "queue-callback-confirm");
    let done = crate::media::MediaEvent::PlayDone {
        leg: crate::media::Leg::A,
        id,
        interrupted: false,
    };
    net.sw.on_media_event(now, &call, done);
    let out = net.sent();
    let bye = requests(&out, TRUNK)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .expect("the caller is hung up after the confirmation")
        .clone();
    net.send(TRUNK, &reply(&bye, 200, "x", TRUNK, ""));
    let _ = ok;
    // an agent logs in: the switch calls the customer back over the trunk they came from
    let now = net.clock();
    net.sw.agent_op(now, "1002", AgentOp::Login);
    let out = net.sent();
    let back = invite_to(&out, TRUNK).expect("the customer is called back");
    assert_eq!(back.uri.user.as_deref(), Some("+4420"));
}

#[test]
fn announcements_tell_position_and_offer_the_callback() {
    let (mut net, relay) = queue_net_with("ring_all", "announce_on_join = true");
    for agent in ["1002", "1003"] {
        let now = net.clock();
        net.sw.agent_op(now, agent, AgentOp::Logout);
    }
    queued_caller(&mut net);
    let call = relay.calls.lock().unwrap()[0].clone();
    // each part plays when the one before it ends, then the music again
    for _ in 0..3 {
        let (_, _, id) = relay.plays.lock().unwrap().last().cloned().unwrap();
        let done = crate::media::MediaEvent::PlayDone {
            leg: crate::media::Leg::A,
            id,
            interrupted: false,
        };
        let now = net.clock();
        net.sw.on_media_event(now, &call, done);
    }
    let plays: Vec<String> = relay
        .plays
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.0.clone())
        .collect();
    assert_eq!(
        plays,
        ["moh", "queue-position", "digit-1", "queue-callback", "moh"],
        "position, then the callback offer, then music"
    );
}

#[test]
fn a_reloaded_file_changes_queues_and_agents_keeping_states_and_campaign_queues() {
    let (mut net, _relay) = queue_net("ring_all");
    let now = net.clock();
    net.sw
        .set_campaign_queue(now, "campaign-7", Some(vec!["1002".into(), "1003".into()]))
        .unwrap();
    // The file now has a support queue served by 1003 alone, and 1002 is gone.
    let reloaded = format!(
        r#"{CONFIG}
[[queue]]
name = "sales"
strategy = "ring_all"
[[queue]]
name = "support"
strategy = "longest_idle"
[[agent]]
id = "1003"
endpoint = "1003"
queues = [{{ queue = "sales" }}, {{ queue = "support" }}]
"#
    );
    let acd = crate::switch::acd_config(&Config::parse("t.toml", &reloaded).unwrap())
        .unwrap()
        .unwrap();
    let now = net.clock();
    net.sw.reload_acd(now, acd);
    assert_eq!(net.sw.queue_members("support"), Some(vec!["1003".into()]));
    assert_eq!(net.sw.queue_members("sales"), Some(vec!["1003".into()]));
    assert_eq!(
        net.sw.queue_members("campaign-7"),
        Some(vec!["1003".into()]),
        "the campaign's queue stays, without the agent the file dropped"
    );
    assert_eq!(net.sw.queue_members("nope"), None);
    assert_eq!(
        state(&net, "1003"),
        AgentState::Available,
        "logged in still"
    );
    // A caller for sales now rings 1003 only.
    let (_, b, c) = queued_caller(&mut net);
    assert!(b.is_none(), "1002 no longer serves sales");
    assert!(c.is_some());
}
