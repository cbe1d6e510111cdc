//! Calls the switch places itself (click-to-call, dialer): the first party is rung with
//! our offer, the actions run on its answer, failures come back as events.

use super::*;
use crate::b2bua::SitWatch;
use crate::switch::{OriginateError, OriginateRequest};

fn request(first: DialTarget, actions: Vec<Action>) -> OriginateRequest {
    OriginateRequest {
        first,
        caller_id: "2000".into(),
        caller_name: Some("Click to call".into()),
        context: "internal".into(),
        exten: "1003".into(),
        actions,
        vars: Default::default(),
        ring_timeout: Duration::from_secs(20),
        tag: "req-1".into(),
        detect_sit: SitWatch::Off,
        amd: None,
    }
}

fn events(net: &mut Net, kind: &str) -> Vec<serde_json::Value> {
    net.sent();
    net.records
        .iter()
        .filter_map(|o| match o {
            SwitchOutput::Event(e) if e.kind == kind => Some(e.data.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn click_to_call_rings_the_agent_then_dials_the_customer_and_bridges() {
    let (mut net, relay) = relayed_net();
    net.bind("1002", B);
    net.bind("1003", C);
    let dial_c = Action::Dial {
        targets: vec![DialTarget::Endpoint("1003".into())],
        strategy: RingStrategy::Parallel,
        timeout_secs: 30,
        caller_id: None,
    };
    let now = net.clock();
    net.sw
        .originate(
            now,
            request(DialTarget::Endpoint("1002".into()), vec![dial_c]),
        )
        .unwrap();
    let out = net.sent();
    let inv = requests(&out, B)[0].clone();
    let offer = std::str::from_utf8(&inv.body).unwrap();
    assert!(
        offer.contains("m=audio 20000 RTP/AVP 0 8 101"),
        "the agent gets our offer at A's endpoint: {offer}"
    );
    assert!(inv.from().unwrap().uri.user.as_deref() == Some("2000"));
    net.send(B, &reply(&inv, 180, "btag", B, ""));
    net.send(B, &reply(&inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Ack));
    assert_eq!(events(&mut net, "originate.answered")[0]["tag"], "req-1");
    let c_inv = requests(&out, C)[0].clone();
    assert!(
        std::str::from_utf8(&c_inv.body)
            .unwrap()
            .contains("m=audio 20002 RTP/AVP 0 101"),
        "the customer is offered the agent's codec at B's endpoint"
    );
    net.send(C, &reply(&c_inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert!(requests(&out, C).iter().any(|r| r.method == Method::Ack));
    assert!(relay
        .updates
        .lock()
        .unwrap()
        .iter()
        .any(|(l, _, _)| *l == crate::media::Leg::B));
    // the agent hangs up: BYE to the customer, one outbound CDR
    let text = reply(&inv, 200, "btag", B, SDP_B).replace('\n', "\r\n");
    let SipMessage::Response(ok) = parse(Bytes::from(text)).unwrap() else {
        panic!("a response")
    };
    net.send(B, &in_dialog("BYE", &ok, 2, false, B));
    let out = net.sent();
    assert!(requests(&out, C).iter().any(|r| r.method == Method::Bye));
    let cdrs = net.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].direction.as_deref(), Some("outbound"));
    assert_eq!(cdrs[0].legs.len(), 2, "A (the agent, rung first) and B");
    assert_eq!(cdrs[0].legs[0].peer, "1002");
    assert!(cdrs[0].legs[0].answered_at_ms.is_some() && cdrs[0].legs[1].answered_at_ms.is_some());
}

#[test]
fn click_to_call_routes_the_number_through_the_first_phones_context() {
    let (mut net, _relay) = relayed_net();
    net.bind("1002", B);
    net.bind("1003", C);
    let mut req = request(
        DialTarget::Endpoint("1003".into()),
        vec![Action::Transfer {
            context: String::new(),
            exten: "from-internal".into(),
        }],
    );
    req.context = String::new();
    let now = net.clock();
    net.sw.originate(now, req).unwrap();
    let inv = requests(&net.sent(), C)[0].clone();
    net.send(C, &reply(&inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert!(
        !requests(&out, B).is_empty(),
        "the number is routed in 1003's context (internal)"
    );
}

#[test]
fn a_busy_first_party_ends_the_call_with_an_event_and_a_cdr() {
    let mut net = Net::new();
    let now = net.clock();
    let first = DialTarget::Trunk {
        trunk: "carrier".into(),
        number: "0201234".into(),
    };
    net.sw.originate(now, request(first, vec![])).unwrap();
    let inv = requests(&net.sent(), TRUNK)[0].clone();
    assert_eq!(inv.uri.user.as_deref(), Some("0201234"));
    net.send(TRUNK, &reply(&inv, 486, "t", TRUNK, ""));
    assert_eq!(events(&mut net, "originate.failed")[0]["status"], 486);
    let cdrs = net.cdrs();
    assert_eq!(
        (cdrs[0].sip_status, cdrs[0].hangup_cause.as_str()),
        (486, "busy")
    );
    assert_eq!(net.sw.active_calls(), 0);
}

#[test]
fn an_unanswered_first_party_is_cancelled_at_its_ring_time() {
    let mut net = Net::new();
    net.bind("1002", B);
    let now = net.clock();
    net.sw
        .originate(now, request(DialTarget::Endpoint("1002".into()), vec![]))
        .unwrap();
    let inv = requests(&net.sent(), B)[0].clone();
    net.send(B, &reply(&inv, 180, "btag", B, ""));
    net.advance(Duration::from_secs(20));
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Cancel));
    net.send(B, &reply(&inv, 487, "btag", B, ""));
    let failed = events(&mut net, "originate.failed");
    assert_eq!(failed[0]["status"], 480);
    assert_eq!(net.cdrs()[0].hangup_side, crate::store::HangupSide::System);
}

#[test]
fn an_unregistered_first_party_is_refused_at_once() {
    let mut net = Net::new();
    let now = net.clock();
    let err = net
        .sw
        .originate(now, request(DialTarget::Endpoint("1002".into()), vec![]))
        .unwrap_err();
    assert!(matches!(err, OriginateError::Unreachable(_)));
}
