//! Responses that tell a peer "your call is recorded" leave only after the store has the
//! record (issue 6): the 200 to a BYE waits for the call's CDR, the caller's 200 waits for
//! the call's in-flight row. Retransmissions meanwhile are absorbed, a CANCEL crossing a
//! held answer does not turn it into a 487, other calls never wait, and a silent or failing
//! store lets the response go after [`RecordWait`] (counted).

use super::*;

/// A answered and ACKed, with a store that commits only when told.
fn answered_and_acked(net: &mut Net) -> (Request, Response) {
    let (b_inv, a_ok) = answered_call(net);
    let ack =
        in_dialog("ACK", &a_ok, 1, true, TRUNK).replace("branch=z9hG4bKACK1", "branch=z9hG4bKack1");
    net.send(TRUNK, &ack);
    assert!(net.sent().is_empty());
    net.instant_store = false;
    (b_inv, a_ok)
}

fn cdr_count(net: &Net) -> usize {
    net.records
        .iter()
        .filter(|o| matches!(o, SwitchOutput::CallEnded(_)))
        .count()
}

/// B's side of the dialog, as B would send in-dialog requests.
fn b_side(b_inv: &Request) -> Response {
    let mut b_ok = Response::for_request(b_inv, 200, "OK");
    let mut to = b_ok.to().unwrap();
    to.set_tag("btag");
    b_ok.headers.set(HeaderName::TO, to.to_string());
    b_ok
}

#[test]
fn caller_bye_gets_its_200_only_after_the_cdr_is_committed() {
    let mut net = Net::new();
    let (_b_inv, a_ok) = answered_and_acked(&mut net);
    let bye = in_dialog("BYE", &a_ok, 2, true, TRUNK);
    net.send(TRUNK, &bye);
    let out = net.sent();
    assert_eq!(cdr_count(&net), 1, "the CDR is output at once");
    assert!(statuses(&out, TRUNK).is_empty(), "no 200 before the commit");
    assert_eq!(
        requests(&out, B)[0].method,
        Method::Bye,
        "B is hung up at once"
    );
    // The caller retransmits its BYE (UDP, T1): absorbed, still no answer.
    net.advance(Duration::from_millis(500));
    net.send(TRUNK, &bye);
    assert!(statuses(&net.sent(), TRUNK).is_empty());
    assert_eq!(net.sw.awaiting_store(), 1);
    net.commit(true);
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
    // A later retransmission is answered from the transaction, like any other.
    net.send(TRUNK, &bye);
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
    assert_eq!(net.sw.stats.sent_unrecorded, 0);
    assert_eq!(net.sw.awaiting_store(), 0);
}

#[test]
fn callee_bye_gets_its_200_only_after_the_cdr_is_committed() {
    let mut net = Net::new();
    let (b_inv, _a_ok) = answered_and_acked(&mut net);
    net.send(B, &in_dialog("BYE", &b_side(&b_inv), 1, false, B));
    let out = net.sent();
    assert!(statuses(&out, B).is_empty(), "no 200 before the commit");
    assert_eq!(requests(&out, TRUNK)[0].method, Method::Bye);
    assert_eq!(cdr_count(&net), 1);
    net.commit(true);
    assert_eq!(statuses(&net.sent(), B), vec![200]);
}

#[test]
fn answer_waits_for_the_calls_start_record() {
    let mut net = Net::new();
    net.instant_store = false;
    let b_inv = ring_b(&mut net, "c1");
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    assert_eq!(
        ok_to_trunk(&out),
        None,
        "the caller's 200 waits for the in-flight row"
    );
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Ack),
        "B's 2xx is ACKed at once"
    );
    // The caller's INVITE retransmission is absorbed by its transaction (100 again).
    net.send(TRUNK, &invite_from_trunk("1002", "c1", true));
    assert_eq!(statuses(&net.sent(), TRUNK), vec![100]);
    net.commit(true);
    let out = net.sent();
    assert!(
        ok_to_trunk(&out).is_some(),
        "answer sent once the row is committed"
    );
    // It is retransmitted until ACKed, as any answer.
    net.advance(Duration::from_millis(600));
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
}

#[test]
fn an_answer_whose_start_is_committed_does_not_wait_for_other_calls() {
    let mut net = Net::new();
    net.instant_store = false;
    let b_inv = ring_b(&mut net, "c1");
    net.commit(true);
    // Another call arrives; its in-flight row is not committed yet.
    net.send(TRUNK, &invite_from_trunk("1002", "c2", true));
    net.sent();
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    assert!(ok_to_trunk(&net.sent()).is_some(), "c1 is answered at once");
    assert_eq!(net.sw.awaiting_store(), 0);
}

#[test]
fn cancel_crossing_a_held_answer_gets_200_and_no_487() {
    let mut net = Net::new();
    net.instant_store = false;
    let b_inv = ring_b(&mut net, "c2");
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    net.sent();
    let cancel = invite_from_trunk("1002", "c2", false)
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    net.send(TRUNK, &cancel);
    let out = net.sent();
    assert_eq!(statuses(&out, TRUNK), vec![200], "200 to the CANCEL only");
    assert!(requests(&out, B).iter().all(|r| r.method != Method::Cancel));
    net.commit(true);
    let out = net.sent();
    let ok = ok_to_trunk(&out).expect("the answer follows");
    assert_eq!(ok.cseq().unwrap().method, Method::Invite);
    assert_eq!(net.sw.active_calls(), 1, "the call goes on");
}

/// The switch's own answer is not held: the program runs on at once (a prompt, a hang-up's
/// BYE) and must never reach the caller ahead of the answer (a held 200 was overtaken by the
/// BYE of a 1 s prompt when a commit took longer).
#[test]
fn switch_answered_call_is_answered_at_once() {
    let (mut net, _relay) = relayed_net();
    net.instant_store = false;
    net.send(TRUNK, &invite_from_trunk("menu", "m1", true));
    let out = net.sent();
    assert_eq!(
        statuses(&out, TRUNK),
        vec![100, 200],
        "the IVR answers at once"
    );
    assert_eq!(net.records.len(), 1, "its in-flight row is output");
}

#[test]
fn a_silent_store_lets_the_200_go_after_the_record_wait_and_counts_it() {
    let mut net = Net::new();
    let (_b_inv, a_ok) = answered_and_acked(&mut net);
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    net.sent();
    net.advance(Duration::from_millis(1999));
    assert!(statuses(&net.sent(), TRUNK).is_empty());
    net.advance(Duration::from_millis(1));
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
    assert_eq!(net.sw.stats.sent_unrecorded, 1);
    // The store's late answer changes nothing.
    net.commit(true);
    assert!(net.sent().is_empty());
    assert_eq!(net.sw.stats.sent_unrecorded, 1);
}

#[test]
fn a_failed_store_lets_the_200_go_at_once_and_counts_it() {
    let mut net = Net::new();
    let (_b_inv, a_ok) = answered_and_acked(&mut net);
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    net.sent();
    net.commit(false);
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
    assert_eq!(net.sw.stats.sent_unrecorded, 1);
}

#[test]
fn the_record_wait_is_configurable() {
    let mut net = Net::new();
    let sw = std::mem::replace(&mut net.sw, Net::new().sw);
    net.sw = sw.with_record_wait(RecordWait(Duration::from_millis(100)));
    let (_b_inv, a_ok) = answered_and_acked(&mut net);
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    net.sent();
    net.advance(Duration::from_millis(100));
    assert_eq!(statuses(&net.sent(), TRUNK), vec![200]);
}
