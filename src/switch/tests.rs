//! Whole call flows through the sans-IO switch on a virtual clock: phones and trunks are
//! addresses that send text and read what the switch transmits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::b2bua::route::{RouteQuery, Routing};
use crate::config::Transport;
use crate::dialplan::{Action, DialTarget, HangupCause, IvrMenu, RingStrategy};
use crate::sip::dialog::LocalContact;
use crate::sip::message::{parse, HasHeaders, SipMessage};
use crate::sip::registrar::{Aor, ContactSet, ContactSpec, RegisterRequest, RegistrarPolicy};

const CONFIG: &str = r#"
[sip]
listen = ["udp:127.0.0.1:5060"]
domain = "sb.test"
digest_algorithms = ["MD5"]
[[endpoint]]
user = "1001"
password = "pw1001"
context = "internal"
[[endpoint]]
user = "1002"
password = "pw1002"
context = "internal"
[[endpoint]]
user = "1003"
password = "pw1003"
context = "internal"
[[trunk]]
name = "carrier"
host = "127.0.0.1:5080"
inbound = ["127.0.0.1:5080"]
context = "internal"
username = "acct"
password = "s3cret"
[[trunk]]
name = "registering"
host = "127.0.0.1:5090"
context = "internal"
username = "reguser"
password = "regpass"
register = true
"#;

struct TestRouter;

impl Router for TestRouter {
    fn route(&self, q: &RouteQuery<'_>) -> Routing {
        let twenty = Some(Duration::from_secs(20));
        let dial = |targets: Vec<DialTarget>, strategy| Routing::Actions {
            actions: vec![Action::Dial {
                targets,
                strategy,
                timeout_secs: 20,
                caller_id: None,
            }],
            vars: Default::default(),
        };
        let ep = |e: &str| DialTarget::Endpoint(e.to_string());
        match (q.context, q.callee) {
            (_, "1002") => Routing::dial_endpoints(&["1002"], twenty),
            ("internal", "1003") => Routing::dial_endpoints(&["1003"], twenty),
            // only from the endpoints' context
            ("internal", "from-internal") => Routing::dial_endpoints(&["1002"], twenty),
            (_, "1002-forever") => Routing::dial_endpoints(&["1002"], None),
            (_, "group") => Routing::dial_endpoints(&["1002", "1003"], twenty),
            (_, "hunt") => dial(vec![ep("1002"), ep("1003")], RingStrategy::Sequence),
            (_, "fallback") => Routing::Actions {
                actions: vec![
                    Action::Dial {
                        targets: vec![ep("1002")],
                        strategy: RingStrategy::Parallel,
                        timeout_secs: 10,
                        caller_id: None,
                    },
                    Action::Dial {
                        targets: vec![ep("1003")],
                        strategy: RingStrategy::Parallel,
                        timeout_secs: 10,
                        caller_id: None,
                    },
                ],
                vars: Default::default(),
            },
            (_, "menu") => Routing::Actions {
                actions: vec![
                    Action::Answer,
                    Action::Ivr(IvrMenu {
                        context: "menu".into(),
                        prompt: "main-menu".into(),
                        invalid_prompt: Some("invalid".into()),
                        timeout_secs: 5,
                        max_digits: 1,
                        attempts: 2,
                        on_failure: "i".into(),
                    }),
                ],
                vars: Default::default(),
            },
            ("menu", "1") => Routing::Actions {
                actions: vec![
                    Action::Playback {
                        prompt: "connecting".into(),
                    },
                    Action::Dial {
                        targets: vec![ep("1002")],
                        strategy: RingStrategy::Parallel,
                        timeout_secs: 20,
                        caller_id: None,
                    },
                    Action::Playback {
                        prompt: "nobody-there".into(),
                    },
                ],
                vars: Default::default(),
            },
            ("menu", "i") => Routing::Actions {
                actions: vec![
                    Action::Playback {
                        prompt: "goodbye".into(),
                    },
                    Action::Hangup {
                        cause: HangupCause::NormalClearing,
                    },
                ],
                vars: Default::default(),
            },
            (_, "pin") => Routing::Actions {
                actions: vec![
                    Action::Collect {
                        var: "pin".into(),
                        prompt: Some("enter-pin".into()),
                        max_digits: 4,
                        timeout_secs: 3,
                        terminator: Some("#".into()),
                    },
                    Action::Transfer {
                        context: "pins".into(),
                        exten: "${pin}".into(),
                    },
                ],
                vars: Default::default(),
            },
            ("pins", "42") => Routing::dial_endpoints(&["1003"], twenty),
            (_, "queue") => Routing::Actions {
                actions: vec![
                    Action::Queue {
                        name: "sales".into(),
                        max_wait_secs: None,
                    },
                    Action::Playback {
                        prompt: "status-${QUEUESTATUS}".into(),
                    },
                ],
                vars: Default::default(),
            },
            (_, "vm") => Routing::Actions {
                actions: vec![
                    Action::Voicemail {
                        mailbox: "1002".into(),
                        greeting: None,
                        max_secs: 30,
                    },
                    Action::Hangup {
                        cause: HangupCause::NormalClearing,
                    },
                ],
                vars: Default::default(),
            },
            (_, n) if n.starts_with('9') => Routing::Actions {
                actions: vec![Action::Dial {
                    targets: vec![DialTarget::Trunk {
                        trunk: "carrier".into(),
                        number: n[1..].into(),
                    }],
                    strategy: RingStrategy::Parallel,
                    timeout_secs: 20,
                    caller_id: None,
                }],
                vars: Default::default(),
            },
            _ => Routing::Reject {
                status: 404,
                reason: "Not Found".into(),
            },
        }
    }
}

const A: &str = "127.0.0.1:6001"; // phone 1001
const B: &str = "127.0.0.1:6002"; // phone 1002
const C: &str = "127.0.0.1:6003"; // phone 1003
const TRUNK: &str = "127.0.0.1:5080";

struct Net {
    sw: Switch,
    t0: Instant,
    now: Duration,
    registrar: Arc<Registrar>,
    /// Call starts and CDRs the switch emitted, kept while messages are drained.
    records: Vec<SwitchOutput>,
    /// The store commits each record as soon as it is output (false: tests of the
    /// responses held for the store acknowledge with `Net::commit`).
    instant_store: bool,
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl Net {
    fn new() -> Net {
        Net::with_config(CONFIG)
    }

    fn with_config(text: &str) -> Net {
        Net::with_router(text, Arc::new(TestRouter))
    }

    fn with_router(text: &str, router: Arc<dyn Router>) -> Net {
        let cfg = Arc::new(Config::parse("t.toml", text).unwrap());
        let locals = Locals {
            udp: LocalContact {
                transport: "UDP",
                host_port: "127.0.0.1:5060".into(),
            },
            tcp: None,
        };
        let registrar = Arc::new(Registrar::new());
        let sw = Switch::new(cfg, locals, registrar.clone(), router);
        Net {
            sw,
            t0: Instant::now(),
            now: Duration::ZERO,
            registrar,
            records: Vec::new(),
            instant_store: true,
        }
    }

    /// The store commits every record output so far (ok = committed, else failed).
    fn commit(&mut self, ok: bool) {
        let (now, through) = (self.clock(), self.sw.records_output());
        self.sw.on_recorded(now, through, ok);
    }

    fn clock(&self) -> Now {
        Now {
            at: self.t0 + self.now,
            unix_ms: 1_800_000_000_000 + self.now.as_millis() as i64,
        }
    }

    /// Registers `user` at `at` directly in the registrar (REGISTER itself is tested apart).
    fn bind(&self, user: &str, at: &str) {
        let req = RegisterRequest {
            aor: Aor::new(user, "sb.test").unwrap(),
            call_id: format!("reg-{user}-{at}"),
            cseq: 1,
            header_expires: Some(3600),
            contacts: ContactSet::List(vec![ContactSpec::new(format!("sip:{user}@{at}"))]),
            source: addr(at),
            transport: crate::sip::registrar::Transport::Udp,
        };
        self.registrar
            .register(self.clock().at, req, &RegistrarPolicy::default())
            .unwrap();
    }

    fn send(&mut self, from: &str, text: &str) {
        let data = Bytes::from(text.replace('\n', "\r\n"));
        let now = self.clock();
        self.sw.on_message(
            now,
            data,
            Peer {
                transport: Transport::Udp,
                addr: addr(from),
            },
        );
    }

    /// Everything the switch sent, as (destination, message).
    fn sent(&mut self) -> Vec<(SocketAddr, SipMessage)> {
        let mut out = Vec::new();
        while let Some(o) = self.sw.poll_output() {
            match o {
                SwitchOutput::Transmit(t) => out.push((
                    t.peer.addr,
                    parse(t.bytes).expect("switch sends parseable SIP"),
                )),
                other => {
                    self.records.push(other);
                    if self.instant_store {
                        self.commit(true);
                    }
                }
            }
        }
        out
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.sw.poll_timeout() {
            let at = at.saturating_duration_since(self.t0);
            if at > end {
                break;
            }
            self.now = at.max(self.now);
            let now = self.clock();
            self.sw.on_timeout(now);
        }
        self.now = end;
    }

    /// The CDRs emitted so far.
    fn cdrs(&mut self) -> Vec<Cdr> {
        self.sent();
        self.records
            .iter()
            .filter_map(|o| match o {
                SwitchOutput::CallEnded(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
}

fn statuses(msgs: &[(SocketAddr, SipMessage)], to: &str) -> Vec<u16> {
    msgs.iter()
        .filter(|(a, _)| *a == addr(to))
        .filter_map(|(_, m)| match m {
            SipMessage::Response(r) => Some(r.status),
            _ => None,
        })
        .collect()
}

fn requests<'a>(msgs: &'a [(SocketAddr, SipMessage)], to: &str) -> Vec<&'a Request> {
    msgs.iter()
        .filter(|(a, _)| *a == addr(to))
        .filter_map(|(_, m)| match m {
            SipMessage::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn invite_from_trunk(callee: &str, call_id: &str, sdp: bool) -> String {
    let body = if sdp {
        "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
    } else {
        ""
    };
    format!(
        "INVITE sip:{callee}@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP {TRUNK};branch=z9hG4bK{call_id}\nMax-Forwards: 70\nFrom: <sip:+4420@carrier>;tag=t{call_id}\nTo: <sip:{callee}@sb.test>\nCall-ID: {call_id}\nCSeq: 1 INVITE\nContact: <sip:+4420@{TRUNK}>\n{}Content-Length: {}\n\n{body}",
        if sdp { "Content-Type: application/sdp\n" } else { "" },
        body.replace('\n', "\r\n").len()
    )
}

/// A response from a phone to a request the switch sent it.
fn reply(req: &Request, status: u16, to_tag: &str, contact: &str, body: &str) -> String {
    let mut resp = Response::for_request(req, status, crate::sip::message::reason_phrase(status));
    if status > 100 {
        let mut to = resp.to().unwrap();
        if to.tag().is_none() {
            to.set_tag(to_tag);
        }
        resp.headers.set(HeaderName::TO, to.to_string());
        resp.headers
            .push(HeaderName::CONTACT, format!("<sip:x@{contact}>"));
    }
    if !body.is_empty() {
        resp.headers
            .push(HeaderName::CONTENT_TYPE, "application/sdp");
        resp.body = Bytes::from(body.replace('\n', "\r\n"));
    }
    String::from_utf8(resp.to_bytes().to_vec())
        .unwrap()
        .replace("\r\n", "\n")
}

/// An in-dialog request built from the response that created the dialog (from the UAC side).
fn in_dialog(method: &str, ok: &Response, cseq: u32, from_uac: bool, sender: &str) -> String {
    let (from, to) = if from_uac {
        (ok.from().unwrap().to_string(), ok.to().unwrap().to_string())
    } else {
        (ok.to().unwrap().to_string(), ok.from().unwrap().to_string())
    };
    format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP {sender};branch=z9hG4bK{method}{cseq}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\nCall-ID: {}\nCSeq: {cseq} {method}\nContent-Length: 0\n\n",
        ok.call_id().unwrap()
    )
}

const SDP_B: &str =
    "v=0\no=- 2 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5000 RTP/AVP 0\n";

/// Trunk calls 1002; returns the B-leg INVITE.
fn ring_b(net: &mut Net, call_id: &str) -> Request {
    net.bind("1002", B);
    net.send(TRUNK, &invite_from_trunk("1002", call_id, true));
    let out = net.sent();
    assert_eq!(statuses(&out, TRUNK), vec![100]);
    let inv = requests(&out, B);
    assert_eq!(inv.len(), 1, "one INVITE to the registered contact");
    inv[0].clone()
}

/// The 200 the trunk's caller got, if any.
fn ok_to_trunk(out: &[(SocketAddr, SipMessage)]) -> Option<Response> {
    out.iter().find_map(|(a, m)| match m {
        SipMessage::Response(r) if *a == addr(TRUNK) && r.status == 200 => Some(r.clone()),
        _ => None,
    })
}

fn answered_call(net: &mut Net) -> (Request, Response) {
    let b_inv = ring_b(net, "c1");
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    let a_ok = ok_to_trunk(&out).expect("200 relayed to the caller");
    assert_eq!(statuses(&out, TRUNK), vec![180, 200]);
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Ack),
        "B's 2xx is ACKed (offer was in the INVITE)"
    );
    assert_eq!(
        &a_ok.body[..],
        SDP_B.replace('\n', "\r\n").as_bytes(),
        "answer SDP relayed"
    );
    (b_inv, a_ok)
}

#[test]
fn call_is_bridged_and_caller_bye_ends_it_with_a_cdr() {
    let mut net = Net::new();
    let (_b_inv, a_ok) = answered_call(&mut net);
    // A ACKs, then hangs up.
    let mut ack = in_dialog("ACK", &a_ok, 1, true, TRUNK);
    ack = ack.replace("branch=z9hG4bKACK1", "branch=z9hG4bKack1");
    net.send(TRUNK, &ack);
    net.advance(Duration::from_secs(10));
    assert!(
        statuses(&net.sent(), TRUNK).is_empty(),
        "no 2xx retransmission after ACK"
    );
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    let out = net.sent();
    assert_eq!(statuses(&out, TRUNK), vec![200]);
    let bye = requests(&out, B);
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].method, Method::Bye);
    net.send(B, &reply(bye[0], 200, "btag", B, ""));
    let cdrs = net.cdrs();
    assert_eq!(cdrs.len(), 1);
    let cdr = &cdrs[0];
    assert_eq!(
        (cdr.sip_status, cdr.hangup_side, cdr.hangup_cause.as_str()),
        (200, crate::store::HangupSide::Caller, "normal_clearing")
    );
    assert_eq!(cdr.billable_ms, 10_000);
    assert_eq!(cdr.legs.len(), 2);
    assert_eq!(net.sw.active_calls(), 0);
}

#[test]
fn unacked_2xx_is_retransmitted_then_call_is_torn_down() {
    let mut net = Net::new();
    answered_call(&mut net);
    net.advance(Duration::from_millis(600));
    assert_eq!(
        statuses(&net.sent(), TRUNK),
        vec![200],
        "2xx retransmitted at T1"
    );
    net.advance(Duration::from_secs(40));
    let out = net.sent();
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Bye),
        "no ACK within 64·T1: B is hung up"
    );
}

#[test]
fn callee_bye_is_relayed_to_caller() {
    let mut net = Net::new();
    let (b_inv, _a_ok) = answered_call(&mut net);
    let b_ok = Response::for_request(&b_inv, 200, "OK");
    let mut b_ok = b_ok;
    let mut to = b_ok.to().unwrap();
    to.set_tag("btag");
    b_ok.headers.set(HeaderName::TO, to.to_string());
    net.send(B, &in_dialog("BYE", &b_ok, 1, false, B));
    let out = net.sent();
    assert_eq!(statuses(&out, B), vec![200]);
    let bye = requests(&out, TRUNK);
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].method, Method::Bye);
}

#[test]
fn caller_cancel_while_ringing_cancels_the_callee() {
    let mut net = Net::new();
    let b_inv = ring_b(&mut net, "c2");
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.sent();
    let cancel = invite_from_trunk("1002", "c2", false)
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    net.send(TRUNK, &cancel);
    let out = net.sent();
    let mut st = statuses(&out, TRUNK);
    st.sort();
    assert_eq!(st, vec![200, 487], "200 to CANCEL, 487 to the INVITE");
    let c = requests(&out, B);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].method, Method::Cancel);
    assert_eq!(
        c[0].top_via().unwrap().branch(),
        b_inv.top_via().unwrap().branch(),
        "CANCEL shares the INVITE's branch"
    );
    net.send(B, &reply(c[0], 200, "btag", B, ""));
    net.send(B, &reply(&b_inv, 487, "btag", B, ""));
    let out = net.sent();
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Ack),
        "487 from B is ACKed"
    );
    assert_eq!(net.sw.active_calls(), 0);
}

#[test]
fn busy_callee_gives_486_to_caller() {
    let mut net = Net::new();
    let b_inv = ring_b(&mut net, "c3");
    net.send(B, &reply(&b_inv, 486, "btag", B, ""));
    let out = net.sent();
    assert_eq!(statuses(&out, TRUNK), vec![486]);
    let cdrs = net.cdrs();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(
        (cdrs[0].sip_status, cdrs[0].hangup_cause.as_str()),
        (486, "busy")
    );
    assert_eq!(cdrs[0].billable_ms, 0);
}

#[test]
fn no_answer_times_out_with_480_and_cancels() {
    let mut net = Net::new();
    let b_inv = ring_b(&mut net, "c4");
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.sent();
    net.advance(Duration::from_secs(21));
    let out = net.sent();
    assert!(statuses(&out, TRUNK).contains(&480));
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Cancel));
}

#[test]
fn forked_call_first_answer_wins_and_others_are_cancelled() {
    let mut net = Net::new();
    net.bind("1002", B);
    net.bind("1003", C);
    net.send(TRUNK, &invite_from_trunk("group", "c5", true));
    let out = net.sent();
    let (b_inv, c_inv) = (requests(&out, B)[0].clone(), requests(&out, C)[0].clone());
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.send(C, &reply(&c_inv, 180, "ctag", C, ""));
    net.send(C, &reply(&c_inv, 200, "ctag", C, SDP_B));
    let out = net.sent();
    assert!(statuses(&out, TRUNK).contains(&200));
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Cancel),
        "the losing fork is cancelled"
    );
    assert!(requests(&out, C).iter().any(|r| r.method == Method::Ack));
}

#[test]
fn reinvite_hold_is_relayed_with_its_sdp() {
    let mut net = Net::new();
    let (_b_inv, a_ok) = answered_call(&mut net);
    net.send(TRUNK, &in_dialog("ACK", &a_ok, 1, true, TRUNK));
    net.sent();
    let hold_sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let reinv = in_dialog("INVITE", &a_ok, 2, true, TRUNK).replace(
        "Content-Length: 0\n\n",
        &format!(
            "Content-Type: application/sdp\nContent-Length: {}\n\n{}",
            hold_sdp.len(),
            hold_sdp.replace("\r\n", "\n")
        ),
    );
    net.send(TRUNK, &reinv);
    let out = net.sent();
    let b_reinv = requests(&out, B)
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .expect("re-INVITE relayed")
        .clone();
    assert!(std::str::from_utf8(&b_reinv.body)
        .unwrap()
        .contains("a=sendonly"));
    assert_eq!(
        b_reinv.cseq().unwrap().seq,
        2,
        "B leg CSeq continues from 1"
    );
    net.send(
        B,
        &reply(
            &b_reinv,
            200,
            "btag",
            B,
            &SDP_B.replace(
                "m=audio 5000 RTP/AVP 0\n",
                "m=audio 5000 RTP/AVP 0\na=recvonly\n",
            ),
        ),
    );
    let out = net.sent();
    assert!(
        statuses(&out, TRUNK).contains(&200),
        "200 relayed to the re-INVITE"
    );
    assert!(
        requests(&out, B).iter().any(|r| r.method == Method::Ack),
        "B's re-INVITE 2xx ACKed"
    );
}

#[test]
fn unknown_dialog_gets_481_and_unknown_method_501() {
    let mut net = Net::new();
    let bye = "BYE sip:x@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bKzz\nMax-Forwards: 70\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: nope\nCSeq: 1 BYE\nContent-Length: 0\n\n";
    net.send(A, bye);
    assert_eq!(statuses(&net.sent(), A), vec![481]);
    let foo = bye
        .replace("BYE sip", "FOO sip")
        .replace("1 BYE", "1 FOO")
        .replace(";tag=2", "");
    net.send(A, &foo);
    assert_eq!(statuses(&net.sent(), A), vec![501]);
}

#[test]
fn invalid_request_gets_400_naming_the_problem_and_garbage_is_dropped() {
    let mut net = Net::new();
    let bad = "INVITE sip:1002@sb.test SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bKbad\nMax-Forwards: 70\nFrom: <sip:1001@sb.test>;tag=1\nTo: <sip:1002@sb.test>\nCall-ID: bad1\nCSeq: 1 BYE\nContent-Length: 0\n\n";
    net.send(A, bad);
    let out = net.sent();
    let r = match &out[0].1 {
        SipMessage::Response(r) => r.clone(),
        _ => panic!("expected a response"),
    };
    assert_eq!(r.status, 400);
    assert!(r.reason.to_lowercase().contains("cseq"), "{}", r.reason);
    net.send(A, "\u{1}\u{2} not sip at all");
    assert!(net.sent().is_empty());
    assert_eq!(net.sw.stats.dropped_unparseable, 1);
}

#[test]
fn endpoint_invite_is_challenged_then_accepted_with_digest() {
    let mut net = Net::new();
    net.bind("1002", B);
    let inv = "INVITE sip:1002@sb.test SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bKa1\nMax-Forwards: 70\nFrom: <sip:1001@sb.test>;tag=1\nTo: <sip:1002@sb.test>\nCall-ID: auth1\nCSeq: 1 INVITE\nContact: <sip:1001@127.0.0.1:6001>\nContent-Length: 0\n\n";
    net.send(A, inv);
    let out = net.sent();
    let chal = out
        .iter()
        .find_map(|(_, m)| match m {
            SipMessage::Response(r) if r.status == 407 => Some(r.clone()),
            _ => None,
        })
        .expect("407");
    let value = chal
        .headers
        .get(&HeaderName::PROXY_AUTHENTICATE)
        .unwrap()
        .to_string();
    let challenge = crate::sip::auth::Challenge::parse(&value).unwrap();
    let auth = crate::sip::auth::authorization(
        &challenge,
        "1001",
        "pw1001",
        "INVITE",
        "sip:1002@sb.test",
        1,
        "abcd",
    );
    let second = inv.replace("branch=z9hG4bKa1", "branch=z9hG4bKa2").replace(
        "CSeq: 1 INVITE",
        &format!("CSeq: 2 INVITE\nProxy-Authorization: {auth}"),
    );
    net.send(A, &second);
    let out = net.sent();
    assert_eq!(
        requests(&out, B).len(),
        1,
        "authenticated call reaches the callee"
    );
    // Wrong password: 403 after the challenge.
    let bad = crate::sip::auth::authorization(
        &challenge,
        "1001",
        "nope",
        "INVITE",
        "sip:1002@sb.test",
        2,
        "abce",
    );
    let third = inv
        .replace("branch=z9hG4bKa1", "branch=z9hG4bKa3")
        .replace("Call-ID: auth1", "Call-ID: auth2")
        .replace(
            "CSeq: 1 INVITE",
            &format!("CSeq: 2 INVITE\nProxy-Authorization: {bad}"),
        );
    net.send(A, &third);
    assert!(statuses(&net.sent(), A).contains(&403));
}

#[test]
fn max_forwards_zero_gives_483_and_unregistered_callee_480() {
    let mut net = Net::new();
    net.send(
        TRUNK,
        &invite_from_trunk("1002", "mf", false).replace("Max-Forwards: 70", "Max-Forwards: 0"),
    );
    assert!(statuses(&net.sent(), TRUNK).contains(&483));
    net.send(TRUNK, &invite_from_trunk("1002", "unreg", false));
    assert!(statuses(&net.sent(), TRUNK).contains(&480));
    net.send(TRUNK, &invite_from_trunk("777", "nf", false));
    assert!(statuses(&net.sent(), TRUNK).contains(&404));
}

#[test]
fn draining_switch_answers_503_with_retry_after() {
    let mut net = Net::new();
    net.bind("1002", B);
    net.sw.drain();
    net.send(TRUNK, &invite_from_trunk("1002", "dr", false));
    let out = net.sent();
    let r = out
        .iter()
        .find_map(|(_, m)| match m {
            SipMessage::Response(r) if r.status == 503 => Some(r.clone()),
            _ => None,
        })
        .expect("503");
    assert!(r.headers.get(&HeaderName::RETRY_AFTER).is_some());
}

/// A challenge from `realm` for `req`, as a carrier would send it.
fn challenge_for(req: &Request, status: u16, realm: &str) -> String {
    let v =
        crate::sip::auth::Verifier::with_random_secret(crate::sip::auth::VerifierConfig::default());
    let mut resp = Response::for_request(req, status, crate::sip::message::reason_phrase(status));
    let header = if status == 401 {
        HeaderName::WWW_AUTHENTICATE
    } else {
        HeaderName::PROXY_AUTHENTICATE
    };
    let mut to = resp.to().unwrap();
    to.set_tag("ctag");
    resp.headers.set(HeaderName::TO, to.to_string());
    for c in v.challenges(realm, std::time::SystemTime::now(), false) {
        resp.headers.push(header.clone(), c);
    }
    String::from_utf8(resp.to_bytes().to_vec())
        .unwrap()
        .replace("\r\n", "\n")
}

#[test]
fn carrier_challenge_is_answered_with_the_trunk_credentials() {
    let mut net = Net::new();
    net.send(TRUNK, &invite_from_trunk("9441234", "tr1", true));
    let out = net.sent();
    let inv = requests(&out, TRUNK)[0].clone();
    assert_eq!(
        inv.uri.user.as_deref(),
        Some("441234"),
        "9 stripped by the route"
    );
    net.send(TRUNK, &challenge_for(&inv, 407, "carrier"));
    let out = net.sent();
    let reqs = requests(&out, TRUNK);
    assert!(
        reqs.iter().any(|r| r.method == Method::Ack),
        "the 407 is ACKed"
    );
    let retry = reqs
        .iter()
        .find(|r| r.method == Method::Invite)
        .expect("INVITE re-sent");
    assert_eq!(retry.cseq().unwrap().seq, 2);
    let auth = retry
        .headers
        .get(&HeaderName::PROXY_AUTHORIZATION)
        .expect("credentials");
    assert!(auth.contains("username=\"acct\""), "{auth}");
    // A second challenge is a failure, not a loop.
    net.send(TRUNK, &challenge_for(retry, 407, "carrier"));
    assert!(statuses(&net.sent(), TRUNK).contains(&407));
}

#[test]
fn a_carrier_challenging_our_bye_gets_it_again_with_the_trunk_credentials() {
    let mut net = Net::new();
    net.send(TRUNK, &invite_from_trunk("9441234", "tb1", true));
    let out = net.sent();
    let inv = requests(&out, TRUNK)[0].clone();
    net.send(TRUNK, &reply(&inv, 200, "cust", TRUNK, SDP_B));
    let out = net.sent();
    let a_ok = ok_to_trunk(&out).expect("200 relayed to the caller");
    net.send(TRUNK, &in_dialog("ACK", &a_ok, 1, true, TRUNK));
    // The caller hangs up; the carrier challenges the BYE towards the callee.
    net.send(TRUNK, &in_dialog("BYE", &a_ok, 2, true, TRUNK));
    let out = net.sent();
    let bye = requests(&out, TRUNK)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .expect("BYE to the callee")
        .clone();
    assert!(bye.headers.get(&HeaderName::AUTHORIZATION).is_none());
    net.send(TRUNK, &challenge_for(&bye, 401, "carrier"));
    let out = net.sent();
    let retry = requests(&out, TRUNK)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .expect("BYE sent again")
        .clone();
    assert_eq!(retry.cseq().unwrap().seq, bye.cseq().unwrap().seq + 1);
    assert_eq!(retry.call_id(), bye.call_id());
    let auth = retry
        .headers
        .get(&HeaderName::AUTHORIZATION)
        .expect("credentials");
    assert!(auth.contains("username=\"acct\""), "{auth}");
    assert_eq!(
        net.sw.active_calls(),
        1,
        "the call waits for its BYE's answer"
    );
    // A second challenge ends it rather than looping.
    net.send(TRUNK, &challenge_for(&retry, 401, "carrier"));
    assert!(requests(&net.sent(), TRUNK)
        .iter()
        .all(|r| r.method != Method::Bye));
    assert_eq!(net.sw.active_calls(), 0);
    assert_eq!(net.cdrs().len(), 1);
}

#[test]
fn registering_trunk_registers_with_digest_and_refreshes() {
    let mut net = Net::new();
    let now = net.clock();
    net.sw.start(now);
    let out = net.sent();
    let reg = requests(&out, "127.0.0.1:5090")[0].clone();
    assert_eq!(reg.method, Method::Register);
    net.send("127.0.0.1:5090", &challenge_for(&reg, 401, "carrier"));
    let out = net.sent();
    let retry = requests(&out, "127.0.0.1:5090")[0].clone();
    assert!(retry
        .headers
        .get(&HeaderName::AUTHORIZATION)
        .unwrap()
        .contains("reguser"));
    let mut ok = Response::for_request(&retry, 200, "OK");
    ok.headers.push(
        HeaderName::CONTACT,
        "<sip:reguser@127.0.0.1:5060>;expires=100",
    );
    net.send(
        "127.0.0.1:5090",
        &String::from_utf8(ok.to_bytes().to_vec())
            .unwrap()
            .replace("\r\n", "\n"),
    );
    assert_eq!(
        net.sw.registrations()[0].1,
        RegistrationState::Registered { expires: 100 }
    );
    net.advance(Duration::from_secs(79));
    assert!(
        requests(&net.sent(), "127.0.0.1:5090").is_empty(),
        "no refresh before 80 %"
    );
    net.advance(Duration::from_secs(2));
    let refresh = requests(&net.sent(), "127.0.0.1:5090")[0].clone();
    assert_eq!(
        refresh.call_id().unwrap(),
        reg.call_id().unwrap(),
        "same Call-ID"
    );
    assert!(refresh.cseq().unwrap().seq > retry.cseq().unwrap().seq);
}

#[test]
fn ringing_without_a_dial_timeout_ends_at_the_ring_limit() {
    let mut net = Net::new();
    net.bind("1002", B);
    net.send(TRUNK, &invite_from_trunk("1002-forever", "rl", true));
    let b_inv = requests(&net.sent(), B)[0].clone();
    net.send(B, &reply(&b_inv, 180, "btag", B, ""));
    net.sent();
    net.advance(Duration::from_secs(180));
    assert!(
        !statuses(&net.sent(), TRUNK).contains(&480),
        "still ringing at 180 s"
    );
    net.advance(Duration::from_secs(2));
    let out = net.sent();
    assert!(
        statuses(&out, TRUNK).contains(&480),
        "Timer C: 480 after the ring limit"
    );
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Cancel));
}

/// Bad input loses nothing and leaks nothing: thousands of seeded mutations of valid
/// requests and responses (bytes flipped, lines dropped or doubled, truncation) never
/// panic the switch, and once the timers have run every transaction and call is gone.
#[test]
fn mutated_messages_never_panic_or_leak_transactions() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(4475);
    let mut net = Net::new();
    net.bind("1002", B);
    let seeds = [
        invite_from_trunk("1002", "fz", true),
        invite_from_trunk("1002", "fz2", false).replace("INVITE sip", "CANCEL sip").replace("1 INVITE", "1 CANCEL"),
        "BYE sip:x@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKb\nMax-Forwards: 70\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: fz\nCSeq: 2 BYE\nContent-Length: 0\n\n".to_string(),
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsb1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: fz\nCSeq: 1 INVITE\nContent-Length: 0\n\n".to_string(),
    ];
    for i in 0..4000 {
        let seed = seeds[i % seeds.len()].replace("fz", &format!("fz{i}"));
        let mut bytes = seed.into_bytes();
        match rng.random_range(0..4) {
            0 => {
                for _ in 0..rng.random_range(1..6) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            2 => {
                let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
                let drop = rng.random_range(0..lines.len());
                bytes = lines
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != drop)
                    .map(|(_, l)| l.to_vec())
                    .collect::<Vec<_>>()
                    .join(&b'\n');
            }
            _ => {
                let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
                let dup = rng.random_range(0..lines.len());
                let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                out.insert(dup, lines[dup].to_vec());
                bytes = out.join(&b'\n');
            }
        }
        let now = net.clock();
        net.sw.on_message(
            now,
            Bytes::from(bytes),
            Peer {
                transport: Transport::Udp,
                addr: addr(TRUNK),
            },
        );
        net.sent();
    }
    // Every surviving INVITE is still ringing 1002 (which never answers): CANCEL them all by
    // letting the ring limits and transaction timers run out.
    let st = net.sw.stats.clone();
    assert!(
        st.calls_started > 20 && st.rejected_invalid > 100 && st.dropped_unparseable > 100,
        "the mix exercised every path: {st:?}"
    );
    assert!(net.sw.transactions() > 0);
    net.advance(Duration::from_secs(600));
    net.sent();
    assert_eq!(net.sw.active_calls(), 0, "calls left behind");
    assert_eq!(net.sw.transactions(), 0, "transactions leaked");
}

/// A relay that hands out fixed endpoints and records what the B2BUA told it.
#[derive(Default)]
struct FakeRelay {
    /// Every allocation fails as if the port range were used up.
    exhausted: bool,
    updates: std::sync::Mutex<
        Vec<(
            crate::media::Leg,
            Option<SocketAddr>,
            crate::sip::sdp::Direction,
        )>,
    >,
    released: std::sync::Mutex<usize>,
    /// (prompt, looping, id) of every play, and the stops, in order.
    plays: std::sync::Mutex<Vec<(String, bool, u64)>>,
    stops: std::sync::Mutex<usize>,
    calls: std::sync::Mutex<Vec<crate::media::MediaCallId>>,
    /// record starts (`Some(file)`) and stops (`None`), in order.
    records: std::sync::Mutex<Vec<Option<String>>>,
}

impl crate::b2bua::media::MediaControl for FakeRelay {
    fn allocate(
        &self,
        call: &crate::media::MediaCallId,
    ) -> Result<[crate::media::LocalEndpoint; 2], crate::media::MediaError> {
        self.calls.lock().unwrap().push(call.clone());
        if self.exhausted {
            return Err(crate::media::MediaError::PortsExhausted { capacity: 0 });
        }
        let ep = |p: u16| crate::media::LocalEndpoint {
            rtp: addr(&format!("192.0.2.50:{p}")),
            rtcp: addr(&format!("192.0.2.50:{}", p + 1)),
        };
        Ok([ep(20000), ep(20002)])
    }
    fn update(
        &self,
        _call: &crate::media::MediaCallId,
        leg: crate::media::Leg,
        media: crate::media::RemoteMedia,
    ) -> Result<(), crate::media::MediaError> {
        self.updates
            .lock()
            .unwrap()
            .push((leg, media.rtp, media.direction));
        Ok(())
    }
    fn release(&self, _call: &crate::media::MediaCallId) {
        *self.released.lock().unwrap() += 1;
    }
    fn play(
        &self,
        _call: &crate::media::MediaCallId,
        _leg: crate::media::Leg,
        prompt: &str,
        looping: bool,
        id: u64,
    ) -> Result<(), crate::media::MediaError> {
        self.plays
            .lock()
            .unwrap()
            .push((prompt.to_string(), looping, id));
        Ok(())
    }
    fn stop_play(&self, _call: &crate::media::MediaCallId, _leg: crate::media::Leg) {
        *self.stops.lock().unwrap() += 1;
    }
    fn stats(&self, _call: &crate::media::MediaCallId) -> Option<crate::media::CallMediaStats> {
        let mut stats = crate::media::CallMediaStats::default();
        stats.legs[0].packets_in = 150;
        stats.legs[1].packets_in = 149;
        Some(stats)
    }
    fn record(
        &self,
        _call: &crate::media::MediaCallId,
        file: Option<&str>,
    ) -> Result<(), crate::media::MediaError> {
        self.records.lock().unwrap().push(file.map(str::to_string));
        Ok(())
    }
}

fn relayed_net() -> (Net, Arc<FakeRelay>) {
    relayed_net_with(FakeRelay::default())
}

fn relayed_net_with(relay: FakeRelay) -> (Net, Arc<FakeRelay>) {
    relayed_net_config(relay, CONFIG)
}

fn relayed_net_config(relay: FakeRelay, config: &str) -> (Net, Arc<FakeRelay>) {
    let mut net = Net::with_config(config);
    let relay = Arc::new(relay);
    let sw = std::mem::replace(&mut net.sw, Net::with_config(config).sw);
    net.sw = sw.with_media(relay.clone(), "192.0.2.50".parse().unwrap());
    (net, relay)
}

#[test]
fn relayed_call_points_each_phone_at_its_own_relay_endpoint() {
    use crate::media::Leg;
    use crate::sip::sdp::Direction;
    let (mut net, relay) = relayed_net();
    let b_inv = ring_b(&mut net, "m1");
    let offer = std::str::from_utf8(&b_inv.body).unwrap().to_string();
    assert!(
        offer.contains("c=IN IP4 192.0.2.50") && offer.contains("m=audio 20002 "),
        "B is offered B's endpoint: {offer}"
    );
    assert!(
        !offer.contains("4000"),
        "the caller's port never reaches B: {offer}"
    );
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    let out = net.sent();
    let ok = ok_to_trunk(&out).unwrap();
    let answer = std::str::from_utf8(&ok.body).unwrap().to_string();
    assert!(
        answer.contains("c=IN IP4 192.0.2.50") && answer.contains("m=audio 20000 "),
        "A gets A's endpoint: {answer}"
    );
    assert_eq!(
        relay.updates.lock().unwrap().clone(),
        vec![
            (Leg::A, Some(addr("127.0.0.1:4000")), Direction::SendRecv),
            (Leg::B, Some(addr("127.0.0.1:5000")), Direction::SendRecv),
            // the answer settles A's codec too
            (Leg::A, Some(addr("127.0.0.1:4000")), Direction::SendRecv),
        ]
    );
    // Hold from A: the relay learns sendonly, B sees the relay's address.
    net.send(TRUNK, &in_dialog("ACK", &ok, 1, true, TRUNK));
    let hold = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let reinv = in_dialog("INVITE", &ok, 2, true, TRUNK).replace(
        "Content-Length: 0\n\n",
        &format!(
            "Content-Type: application/sdp\nContent-Length: {}\n\n{}",
            hold.len(),
            hold.replace("\r\n", "\n")
        ),
    );
    net.send(TRUNK, &reinv);
    let out = net.sent();
    let b_reinv = requests(&out, B)
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .unwrap()
        .clone();
    let body = std::str::from_utf8(&b_reinv.body).unwrap();
    assert!(
        body.contains("m=audio 20002 ") && body.contains("a=sendonly"),
        "{body}"
    );
    assert_eq!(
        relay.updates.lock().unwrap().last().unwrap().2,
        Direction::SendOnly
    );
    // Hang up: the media session is released.
    net.send(TRUNK, &in_dialog("BYE", &ok, 3, true, TRUNK));
    let bye = requests(&net.sent(), B)
        .into_iter()
        .find(|r| r.method == Method::Bye)
        .unwrap()
        .clone();
    net.send(B, &reply(&bye, 200, "btag", B, ""));
    assert_eq!(*relay.released.lock().unwrap(), 1);
}

#[test]
fn unparseable_sdp_is_refused_with_488_when_media_is_relayed() {
    let (mut net, _relay) = relayed_net();
    net.bind("1002", B);
    let bad = invite_from_trunk("1002", "m2", true)
        .replace("m=audio 4000 RTP/AVP 0", "m=audio notaport RTP/AVP 0");
    net.send(TRUNK, &bad);
    assert!(statuses(&net.sent(), TRUNK).contains(&488));
}

#[test]
fn no_media_ports_refuses_the_call_with_503_and_a_cdr() {
    let (mut net, _relay) = relayed_net_with(FakeRelay {
        exhausted: true,
        ..FakeRelay::default()
    });
    net.bind("1002", B);
    net.send(TRUNK, &invite_from_trunk("1002", "m3", true));
    let out = net.sent();
    assert!(statuses(&out, TRUNK).contains(&503));
    assert!(requests(&out, B).is_empty(), "no fork without media");
    let cdrs = net.cdrs();
    assert_eq!(
        (cdrs[0].sip_status, cdrs[0].hangup_cause.as_str()),
        (503, "congestion")
    );
    assert_eq!(net.sw.active_calls(), 0);
}

#[test]
fn media_timeout_hangs_up_both_sides_with_the_cause_in_the_cdr() {
    let (mut net, relay) = relayed_net();
    let b_inv = ring_b(&mut net, "m4");
    net.send(B, &reply(&b_inv, 200, "btag", B, SDP_B));
    net.sent();
    let id = crate::media::MediaCallId(
        net.records
            .iter()
            .find_map(|o| match o {
                SwitchOutput::CallStarted(c) => Some(c.id.as_str().to_string()),
                _ => None,
            })
            .unwrap(),
    );
    let now = net.clock();
    net.sw.on_media_event(
        now,
        &id,
        crate::media::MediaEvent::Timeout {
            idle: Duration::from_secs(60),
        },
    );
    let out = net.sent();
    assert!(requests(&out, B).iter().any(|r| r.method == Method::Bye));
    assert!(requests(&out, TRUNK)
        .iter()
        .any(|r| r.method == Method::Bye));
    let cdr = net.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.hangup_cause.as_str(), cdr.hangup_side),
        ("media_timeout", crate::store::HangupSide::System)
    );
    let media: Vec<u64> = cdr.media.iter().map(|m| m.packets_in).collect();
    assert_eq!(
        media,
        [150, 149],
        "the relay's counters go in the CDR, A then B"
    );
    // Both BYEs answered: the call and its media session are gone.
    for (to, bye) in [
        (B, requests(&out, B)[0].clone()),
        (TRUNK, requests(&out, TRUNK)[0].clone()),
    ] {
        net.send(to, &reply(&bye, 200, "x", to, ""));
    }
    assert_eq!(net.sw.active_calls(), 0);
    assert_eq!(*relay.released.lock().unwrap(), 1);
}

#[test]
fn a_trunk_in_bypass_mode_keeps_its_sdp_untouched_while_others_are_relayed() {
    let config = CONFIG.replace(
        "inbound = [\"127.0.0.1:5080\"]\ncontext = \"internal\"",
        "inbound = [\"127.0.0.1:5080\"]\ncontext = \"internal\"\nmedia = \"bypass\"",
    );
    assert_ne!(config, CONFIG);
    let (mut net, relay) = relayed_net_config(FakeRelay::default(), &config);
    let b_inv = ring_b(&mut net, "bp1");
    let offer = std::str::from_utf8(&b_inv.body).unwrap();
    assert!(
        offer.contains("m=audio 4000 ") && !offer.contains("192.0.2.50"),
        "bypass: the caller's SDP reaches B as written: {offer}"
    );
    assert!(relay.calls.lock().unwrap().is_empty(), "no relay session");
}

mod durable;
mod ivr;
mod originate;
mod queue;
mod transfer;

#[test]
fn offers_gain_transcodable_codecs_and_a_foreign_answer_is_rewritten_for_the_offerer() {
    let (mut net, _relay) = relayed_net();
    let b_inv = ring_b(&mut net, "tc1");
    let offer = std::str::from_utf8(&b_inv.body).unwrap().to_string();
    assert!(
        offer.contains("m=audio 20002 RTP/AVP 0 8 ") && offer.contains("opus/48000/2"),
        "B may pick A-law or Opus as well as A's µ-law: {offer}"
    );
    let pcma = "v=0\no=- 2 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5000 RTP/AVP 8\na=rtpmap:8 PCMA/8000\n";
    net.send(B, &reply(&b_inv, 200, "btag", B, pcma));
    let ok = ok_to_trunk(&net.sent()).unwrap();
    let answer = std::str::from_utf8(&ok.body).unwrap();
    assert!(
        answer.contains("m=audio 20000 RTP/AVP 0") && !answer.contains("PCMA"),
        "A only offered µ-law, so A is answered with µ-law (the relay converts): {answer}"
    );
}
