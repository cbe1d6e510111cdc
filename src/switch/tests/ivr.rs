//! Calls that the switch answers itself and runs a program on: IVR menus, digit
//! collection, dials after answer (our own SDP offer), dial fallback and sequential ring
//! groups — on the virtual clock, with a fake relay standing in for prompts and DTMF.

use super::*;
use crate::media::{Dtmf, Leg, MediaEvent};

fn last_play(relay: &FakeRelay) -> (String, bool, u64) {
    relay
        .plays
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("a prompt played")
}

fn prompts(relay: &FakeRelay) -> Vec<String> {
    relay
        .plays
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.0.clone())
        .collect()
}

fn media_event(net: &mut Net, relay: &FakeRelay, event: MediaEvent) {
    let call = relay.calls.lock().unwrap().last().cloned().expect("a call");
    let now = net.clock();
    net.sw.on_media_event(now, &call, event);
}

fn play_done(net: &mut Net, relay: &FakeRelay) {
    let (_, _, id) = last_play(relay);
    media_event(
        net,
        relay,
        MediaEvent::PlayDone {
            leg: Leg::A,
            id,
            interrupted: false,
        },
    );
}

fn press(net: &mut Net, relay: &FakeRelay, digit: char) {
    let dtmf = Dtmf {
        event: 0,
        digit: Some(digit),
        duration: 800,
        duration_ms: 100,
        volume: 10,
        timestamp: 0,
    };
    media_event(net, relay, MediaEvent::Dtmf { leg: Leg::A, dtmf });
}

/// The trunk calls `callee`; the switch answers it itself. Returns the 200 it sent.
fn answered_by_switch(net: &mut Net, callee: &str) -> Response {
    net.send(TRUNK, &invite_from_trunk(callee, "ivr1", true));
    let out = net.sent();
    let ok = ok_to_trunk(&out).expect("the switch answers the caller");
    let sdp = std::str::from_utf8(&ok.body).unwrap();
    assert!(
        sdp.contains("c=IN IP4 192.0.2.50") && sdp.contains("m=audio 20000 RTP/AVP 0"),
        "our answer points the caller at its relay endpoint with its codec: {sdp}"
    );
    net.send(TRUNK, &in_dialog("ACK", &ok, 1, true, TRUNK));
    ok
}

fn final_to(out: &[(SocketAddr, SipMessage)], to: &str) -> Vec<u16> {
    statuses(out, to)
        .into_iter()
        .filter(|s| *s >= 200)
        .collect()
}

#[test]
fn menu_choice_plays_then_dials_an_agent_with_our_offer_and_bridges() {
    let (mut net, relay) = relayed_net();
    net.bind("1002", B);
    let a_ok = answered_by_switch(&mut net, "menu");
    assert_eq!(last_play(&relay).0, "main-menu");
    press(&mut net, &relay, '1');
    assert_eq!(
        *relay.stops.lock().unwrap(),
        1,
        "the digit interrupts the menu prompt"
    );
    assert_eq!(last_play(&relay).0, "connecting");
    assert!(
        requests(&net.sent(), B).is_empty(),
        "dial waits for the prompt"
    );
    play_done(&mut net, &relay);
    let out = net.sent();
    let inv = requests(&out, B);
    assert_eq!(inv.len(), 1);
    let offer = std::str::from_utf8(&inv[0].body).unwrap();
    assert!(
        offer.contains("m=audio 20002 RTP/AVP 0 101") && offer.contains("192.0.2.50"),
        "the agent gets our offer at B's endpoint, in the caller's codec: {offer}"
    );
    assert_eq!(last_play(&relay), ("tone:ringback".into(), true, 3));
    let inv = inv[0].clone();
    net.send(B, &reply(&inv, 180, "btag", B, ""));
    net.send(B, &reply(&inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Ack),
        "the agent's 2xx is ACKed at once"
    );
    assert!(
        statuses(&out, TRUNK).is_empty(),
        "the caller hears nothing of it in SIP"
    );
    assert!(
        relay
            .updates
            .lock()
            .unwrap()
            .iter()
            .any(|(l, a, _)| *l == Leg::B && a.map(|a| a.port()) == Some(5000)),
        "the relay learns where the agent receives"
    );
    // The caller hangs up: BYE to the agent, one CDR answered by the switch.
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Bye));
    let cdrs = net.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert!(cdrs[0].answered_at_ms.is_some());
    assert_eq!(cdrs[0].legs.len(), 2);
    assert!(
        cdrs[0].legs[1].answered_at_ms.is_some(),
        "the agent leg answered"
    );
}

#[test]
fn menu_without_a_choice_retries_then_fails_over_to_i() {
    let (mut net, relay) = relayed_net();
    answered_by_switch(&mut net, "menu");
    play_done(&mut net, &relay);
    net.advance(Duration::from_secs(5));
    assert_eq!(prompts(&relay), ["main-menu", "invalid"]);
    play_done(&mut net, &relay);
    assert_eq!(last_play(&relay).0, "main-menu", "second attempt");
    play_done(&mut net, &relay);
    press(&mut net, &relay, '7'); // not an option
    assert_eq!(last_play(&relay).0, "invalid");
    play_done(&mut net, &relay);
    assert_eq!(last_play(&relay).0, "goodbye", "on_failure 'i' runs");
    play_done(&mut net, &relay);
    let out = net.sent();
    let bye = requests(&out, TRUNK)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .expect("hangup after the goodbye")
        .clone();
    net.send(TRUNK, &reply(&bye, 200, "x", TRUNK, ""));
    let cdrs = net.cdrs();
    assert_eq!(cdrs[0].hangup_cause, "normal_clearing");
    assert_eq!(*relay.released.lock().unwrap(), 1);
}

#[test]
fn collected_digits_are_a_variable_later_actions_use() {
    let (mut net, relay) = relayed_net();
    net.bind("1003", C);
    answered_by_switch(&mut net, "pin");
    assert_eq!(last_play(&relay).0, "enter-pin");
    for d in ['4', '2', '#'] {
        press(&mut net, &relay, d);
    }
    let out = net.sent();
    assert_eq!(
        requests(&out, C).len(),
        1,
        "transfer to ${{pin}} = 42 dials 1003"
    );
}

#[test]
fn digit_timeout_ends_collection_with_what_was_typed() {
    let (mut net, relay) = relayed_net();
    net.bind("1003", C);
    answered_by_switch(&mut net, "pin");
    press(&mut net, &relay, '4');
    press(&mut net, &relay, '2');
    net.advance(Duration::from_secs(2));
    assert!(
        requests(&net.sent(), C).is_empty(),
        "still waiting for digits"
    );
    net.advance(Duration::from_secs(2));
    assert!(
        !requests(&net.sent(), C).is_empty(),
        "42 dialled after the timeout"
    );
}

#[test]
fn unanswered_dial_falls_through_to_the_next_action() {
    let mut net = Net::new();
    net.bind("1002", B);
    net.bind("1003", C);
    net.send(TRUNK, &invite_from_trunk("fallback", "fb1", true));
    let out = net.sent();
    let b_inv = requests(&out, B)[0].clone();
    assert!(requests(&out, C).is_empty());
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.sent();
    net.advance(Duration::from_secs(10));
    let out = net.sent();
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Cancel),
        "the first target is cancelled after its ring time"
    );
    let c_inv = requests(&out, C);
    assert_eq!(c_inv.len(), 1, "the fallback dial rings 1003");
    assert_eq!(
        c_inv[0].body, b_inv.body,
        "still the caller's offer: not answered yet"
    );
    let c_inv = c_inv[0].clone();
    net.send(B, &reply(&b_inv, 487, "btag", B, ""));
    net.send(C, &reply(&c_inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert_eq!(
        final_to(&out, TRUNK),
        vec![200],
        "1003's answer reaches the caller"
    );
}

#[test]
fn sequential_group_rings_the_next_member_when_one_is_busy() {
    let mut net = Net::new();
    net.bind("1002", B);
    net.bind("1003", C);
    net.send(TRUNK, &invite_from_trunk("hunt", "h1", true));
    let out = net.sent();
    assert!(requests(&out, C).is_empty(), "one member at a time");
    let b_inv = requests(&out, B)[0].clone();
    net.send(B, &reply(&b_inv, 486, "btag", B, ""));
    let out = net.sent();
    let c_inv = requests(&out, C)[0].clone();
    net.send(C, &reply(&c_inv, 486, "ctag", C, ""));
    let out = net.sent();
    assert_eq!(final_to(&out, TRUNK), vec![486], "everyone busy: busy");
    assert_eq!(net.cdrs()[0].legs.len(), 3);
}

#[test]
fn caller_hangs_up_in_the_menu_and_the_call_is_cleaned_up() {
    let (mut net, relay) = relayed_net();
    let ok = answered_by_switch(&mut net, "menu");
    net.send(TRUNK, &in_dialog("BYE", &ok, 2, true, TRUNK));
    let out = net.sent();
    assert_eq!(final_to(&out, TRUNK), vec![200]);
    assert_eq!(net.sw.active_calls(), 0);
    assert_eq!(*relay.released.lock().unwrap(), 1);
    let cdrs = net.cdrs();
    assert_eq!(cdrs[0].hangup_cause, "normal_clearing");
    assert_eq!(cdrs[0].hangup_side, crate::store::HangupSide::Caller);
}

#[test]
fn sip_info_digits_drive_a_menu_too() {
    let (mut net, relay) = relayed_net();
    net.bind("1002", B);
    let ok = answered_by_switch(&mut net, "menu");
    let info = in_dialog("INFO", &ok, 2, true, TRUNK).replace(
        "Content-Length: 0\n\n",
        "Content-Type: application/dtmf-relay\nContent-Length: 22\n\nSignal=1\r\nDuration=160",
    );
    net.send(TRUNK, &info);
    assert_eq!(final_to(&net.sent(), TRUNK), vec![200]);
    assert_eq!(last_play(&relay).0, "connecting");
}

#[test]
fn answering_without_a_media_relay_is_refused_with_501() {
    let mut net = Net::new();
    net.send(TRUNK, &invite_from_trunk("menu", "nm1", true));
    let out = net.sent();
    assert_eq!(final_to(&out, TRUNK), vec![501]);
}

fn voicemail_events(net: &mut Net) -> Vec<serde_json::Value> {
    net.sent();
    net.records
        .iter()
        .filter_map(|o| match o {
            SwitchOutput::Event(e) if e.kind == "voicemail.message" => Some(e.data.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn voicemail_plays_greeting_and_beep_then_records_until_hash() {
    let (mut net, relay) = relayed_net();
    answered_by_switch(&mut net, "vm");
    assert_eq!(last_play(&relay).0, "voicemail-greeting");
    play_done(&mut net, &relay);
    assert_eq!(last_play(&relay).0, "tone:beep");
    assert!(
        relay.records.lock().unwrap().is_empty(),
        "recording starts after the beep"
    );
    play_done(&mut net, &relay);
    let file = relay.records.lock().unwrap()[0]
        .clone()
        .expect("recording started");
    assert!(
        file.starts_with("voicemail/1002/") && file.ends_with(".wav"),
        "{file}"
    );
    net.advance(Duration::from_secs(7));
    press(&mut net, &relay, '#');
    assert_eq!(relay.records.lock().unwrap().last(), Some(&None), "stopped");
    let out = net.sent();
    assert!(
        requests(&out, TRUNK)
            .iter()
            .any(|r| r.method == Method::Bye),
        "the next action hangs up"
    );
    let events = voicemail_events(&mut net);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["mailbox"], "1002");
    assert_eq!(events[0]["file"], file.as_str());
    assert_eq!(events[0]["duration_ms"], 7000);
}

#[test]
fn voicemail_ends_at_its_limit_or_when_the_caller_hangs_up() {
    let (mut net, relay) = relayed_net();
    answered_by_switch(&mut net, "vm");
    play_done(&mut net, &relay);
    play_done(&mut net, &relay);
    net.advance(Duration::from_secs(30));
    assert_eq!(
        voicemail_events(&mut net).len(),
        1,
        "the limit ends the message"
    );

    let (mut net, relay) = relayed_net();
    let ok = answered_by_switch(&mut net, "vm");
    play_done(&mut net, &relay);
    play_done(&mut net, &relay);
    net.advance(Duration::from_secs(3));
    net.send(TRUNK, &in_dialog("BYE", &ok, 2, true, TRUNK));
    let events = voicemail_events(&mut net);
    assert_eq!(events.len(), 1, "hanging up keeps the message");
    assert_eq!(events[0]["duration_ms"], 3000);
    assert_eq!(relay.records.lock().unwrap().last(), Some(&None));
}

#[test]
fn without_an_acd_a_queue_call_goes_on_with_queuestatus_noacd() {
    let (mut net, relay) = relayed_net();
    answered_by_switch(&mut net, "queue");
    assert_eq!(prompts(&relay), ["moh", "status-NOACD"]);
}

#[test]
fn a_call_keeps_the_plan_it_started_with_across_a_reload() {
    use crate::dialplan::{Dialplan, PlanHandle};
    let plan = |agent: &str| {
        let text = format!(
            "[context.internal]\n[[context.internal.extension]]\nexten = \"menu\"\n\
             actions = [{{ ivr = {{ prompt = \"p\", context = \"m\" }} }}]\n\
             [context.m]\n[[context.m.extension]]\nexten = \"1\"\n\
             actions = [{{ dial = {{ endpoint = \"{agent}\" }} }}]\n\
             [[context.m.extension]]\nexten = \"i\"\nactions = [\"answer\"]\n"
        );
        Dialplan::from_str("plan.toml", &text).unwrap()
    };
    let plans = Arc::new(PlanHandle::new(plan("1002")));
    let router = Arc::new(crate::switch::router::PlanRouter {
        plans: plans.clone(),
    });
    let mut net = Net::with_router(CONFIG, router);
    let relay = Arc::new(FakeRelay::default());
    let sw = std::mem::replace(&mut net.sw, Net::new().sw);
    net.sw = sw.with_media(relay.clone(), "192.0.2.50".parse().unwrap());
    net.bind("1002", B);
    net.bind("1003", C);
    answered_by_switch(&mut net, "menu");
    plans.replace(plan("1003"));
    press(&mut net, &relay, '1');
    let out = net.sent();
    assert_eq!(
        requests(&out, B).len(),
        1,
        "the menu choice routes in the plan the call began with"
    );
    assert!(requests(&out, C).is_empty());
}
