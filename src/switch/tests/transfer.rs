//! Blind transfer ordered by an operator: B is hung up, the caller hears ringback and is
//! bridged to the new party at the relay; the record keeps every leg.

use super::*;
use crate::b2bua::TransferError;

#[test]
fn a_bridged_caller_is_moved_to_a_new_party() {
    let (mut net, relay) = relayed_net();
    net.bind("1003", C);
    let b_inv = ring_b(&mut net, "x1");
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    let ok = ok_to_trunk(&net.sent()).expect("answered");
    net.send(TRUNK, &in_dialog("ACK", &ok, 1, true, TRUNK));
    net.sent();
    let id = net.sw.calls_snapshot()[0].id.clone();
    let now = net.clock();
    assert_eq!(
        net.sw.transfer(now, "nope", "", "1003"),
        Err(TransferError::NoSuchCall)
    );
    net.sw.transfer(now, &id, "", "1003").expect("transferred");
    let out = net.sent();
    let bye = requests(&out, B);
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].method, Method::Bye, "the old party is hung up");
    let bye = bye[0].clone();
    net.send(B, &reply(&bye, 200, "btag", B, ""));
    let c_inv = requests(&out, C)[0].clone();
    assert_eq!(c_inv.method, Method::Invite);
    assert!(
        std::str::from_utf8(&c_inv.body)
            .unwrap()
            .contains("m=audio 20002 "),
        "the new party is offered the relay's B endpoint"
    );
    assert!(
        requests(&out, TRUNK).is_empty(),
        "the caller stays up, unaware"
    );
    assert!(
        relay
            .plays
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.0.contains("ringback")),
        "the caller hears ringback meanwhile: {:?}",
        relay.plays.lock().unwrap()
    );
    net.send(C, &reply(&c_inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert!(requests(&out, C).iter().any(|r| r.method == Method::Ack));
    assert_eq!(net.sw.active_calls(), 1);
    // The caller hangs up: the new party gets the BYE, one record with three legs.
    net.send(TRUNK, &in_dialog("BYE", &ok, 2, true, TRUNK));
    let out = net.sent();
    let bye_c = requests(&out, C);
    assert_eq!(bye_c.len(), 1, "BYE to the new party");
    net.send(C, &reply(bye_c[0], 200, "ctag", C, ""));
    let cdrs = net.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].legs.len(), 3, "{:?}", cdrs[0].legs);
    assert_eq!(net.sw.active_calls(), 0);
}

#[test]
fn only_a_bridged_call_can_be_transferred() {
    let (mut net, _relay) = relayed_net();
    let _b_inv = ring_b(&mut net, "x2");
    let id = net.sw.calls_snapshot()[0].id.clone();
    let now = net.clock();
    assert_eq!(
        net.sw.transfer(now, &id, "", "1003"),
        Err(TransferError::NotBridged),
        "still ringing"
    );
}
