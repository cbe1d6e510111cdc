use std::time::Duration;

use super::*;
use crate::sip::message::{parse, SipMessage};

const INVITE: &str = "INVITE sip:b@sb SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bKinv1\r\nMax-Forwards: 70\r\nFrom: <sip:a@sb>;tag=a1\r\nTo: <sip:b@sb>\r\nCall-ID: L1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

fn req(text: &str) -> Request {
    match parse(Bytes::from(text.to_string())).unwrap() {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

fn resp(bytes: &Bytes) -> Response {
    match parse(bytes.clone()).unwrap() {
        SipMessage::Response(r) => r,
        SipMessage::Request(_) => panic!("not a response"),
    }
}

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:6001".parse().unwrap(),
    }
}

fn layer() -> TransactionLayer {
    TransactionLayer::new(TimerConfig::default())
}

fn new_invite(l: &mut TransactionLayer, now: Instant) -> ServerTsxId {
    l.on_request(now, req(INVITE), peer());
    match l.poll_event() {
        Some(LayerEvent::Request { tsx: Some(tsx), .. }) => tsx,
        other => panic!("expected a new request, got {other:?}"),
    }
}

fn transmitted(l: &mut TransactionLayer) -> Vec<Response> {
    std::iter::from_fn(|| l.poll_transmit())
        .map(|t| resp(&t.bytes))
        .collect()
}

#[test]
fn retransmitted_invite_is_absorbed_and_answered_with_the_last_response() {
    let t0 = Instant::now();
    let mut l = layer();
    let tsx = new_invite(&mut l, t0);
    l.respond(t0, tsx, Response::for_request(&req(INVITE), 180, "Ringing"));
    assert_eq!(transmitted(&mut l).len(), 1);
    l.on_request(t0 + Duration::from_millis(500), req(INVITE), peer());
    assert!(
        l.poll_event().is_none(),
        "the TU does not see the retransmission"
    );
    let again = transmitted(&mut l);
    assert_eq!(
        again.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![180]
    );
}

#[test]
fn cancel_gets_200_and_the_invite_487_with_the_same_to_tag() {
    let t0 = Instant::now();
    let mut l = layer();
    let tsx = new_invite(&mut l, t0);
    let mut ringing = Response::for_request(&req(INVITE), 180, "Ringing");
    let mut to = ringing.to().unwrap();
    to.set_tag("ours");
    ringing.headers.set(HeaderName::TO, to.to_string());
    l.respond(t0, tsx, ringing);
    transmitted(&mut l);
    let cancel = INVITE
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    l.on_request(t0, req(&cancel), peer());
    let out = transmitted(&mut l);
    let statuses: Vec<u16> = out.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 487]);
    for r in &out {
        assert_eq!(r.to().unwrap().tag(), Some("ours"));
    }
    assert!(matches!(l.poll_event(), Some(LayerEvent::Cancelled { tsx: t }) if t == tsx));
    // A CANCEL for nothing: 481.
    let stray = cancel.replace("z9hG4bKinv1", "z9hG4bKother");
    l.on_request(t0, req(&stray), peer());
    assert_eq!(transmitted(&mut l)[0].status, 481);
}

#[test]
fn ack_with_a_new_branch_still_finds_its_invite_transaction() {
    let t0 = Instant::now();
    let mut l = layer();
    let tsx = new_invite(&mut l, t0);
    let mut busy = Response::for_request(&req(INVITE), 486, "Busy Here");
    let mut to = busy.to().unwrap();
    to.set_tag("ours");
    busy.headers.set(HeaderName::TO, to.to_string());
    l.respond(t0, tsx, busy);
    transmitted(&mut l);
    let ack = INVITE
        .replace("INVITE sip", "ACK sip")
        .replace("1 INVITE", "1 ACK")
        .replace("z9hG4bKinv1", "z9hG4bKnewbranch")
        .replace("To: <sip:b@sb>", "To: <sip:b@sb>;tag=ours");
    l.on_request(t0 + Duration::from_millis(10), req(&ack), peer());
    assert!(
        l.poll_event().is_none(),
        "the ACK for a non-2xx stays in the transaction"
    );
    l.on_timeout(t0 + Duration::from_secs(2));
    assert!(
        transmitted(&mut l).is_empty(),
        "no Timer G retransmission after the ACK"
    );
}

#[test]
fn responses_reach_the_owner_and_strays_are_reported() {
    let t0 = Instant::now();
    let mut l = layer();
    let out = req(&INVITE.replace(
        "127.0.0.1:6001;branch=z9hG4bKinv1",
        "127.0.0.1:5060;branch=z9hG4bKsbmine",
    ));
    let tsx = l.send_request(t0, out.clone(), peer(), 42);
    assert_eq!(std::iter::from_fn(|| l.poll_transmit()).count(), 1);
    l.on_response(t0, Response::for_request(&out, 180, "Ringing"), peer());
    assert!(
        matches!(l.poll_event(), Some(LayerEvent::Response { owner: 42, tsx: t, .. }) if t == tsx)
    );
    let other = req(&INVITE.replace("z9hG4bKinv1", "z9hG4bKunknown"));
    l.on_response(t0, Response::for_request(&other, 200, "OK"), peer());
    assert!(matches!(
        l.poll_event(),
        Some(LayerEvent::StrayResponse { .. })
    ));
}

#[test]
fn unanswered_client_invite_times_out_to_the_owner() {
    let t0 = Instant::now();
    let mut l = layer();
    let out = req(&INVITE.replace("z9hG4bKinv1", "z9hG4bKsbx"));
    l.send_request(t0, out, peer(), 7);
    assert_eq!(
        std::iter::from_fn(|| l.poll_transmit()).count(),
        1,
        "sent at once"
    );
    let mut sends = 0;
    while let Some(at) = l.poll_timeout() {
        if at > t0 + Duration::from_secs(40) {
            break;
        }
        l.on_timeout(at);
        sends += std::iter::from_fn(|| l.poll_transmit()).count();
    }
    assert_eq!(sends, 6, "A retransmissions at 0.5 … 31.5 s");
    assert!(matches!(
        l.poll_event(),
        Some(LayerEvent::Timeout { owner: 7, .. })
    ));
    assert!(l.is_empty(), "the transaction is gone");
}
