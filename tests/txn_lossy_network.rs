//! Client and server transactions talking over a simulated lossy UDP path on a virtual
//! clock (str0m-style): each test drops chosen datagrams and checks that the RFC 3261 §17
//! retransmissions recover, at the exact instants the timers dictate.
//!
//! Messages are opaque bytes ("INVITE", "100", "486", "ACK" …); the tiny drivers below stand
//! in for the transport, the matching and the TU, following the driving contract: after every
//! input drain `poll_output`, then sleep until the earliest `poll_timeout`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard::sip::txn::{
    AnswerRetransmitter, ClientInviteState, ClientInviteTsx, ClientNonInviteTsx, Delivery,
    ServerInviteState, ServerInviteTsx, ServerNonInviteTsx, TimerConfig, TsxOutput,
};

const LATENCY: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Uac,
    Uas,
}

/// A one-way-latency network that drops the n-th copy of chosen messages.
struct Net {
    t0: Instant,
    queue: BTreeMap<(Instant, u64), (Side, Bytes)>,
    seq: u64,
    /// (destination, message, which copy (1-based)) to drop.
    drops: Vec<(Side, &'static str, usize)>,
    sent: Vec<(u64, Side, Bytes)>,
}

impl Net {
    fn new(t0: Instant, drops: Vec<(Side, &'static str, usize)>) -> Self {
        Self {
            t0,
            queue: BTreeMap::new(),
            seq: 0,
            drops,
            sent: Vec::new(),
        }
    }

    fn send(&mut self, now: Instant, to: Side, bytes: Bytes) {
        self.sent.push((ms_since(self.t0, now), to, bytes.clone()));
        let copy = self
            .sent
            .iter()
            .filter(|(_, s, b)| *s == to && *b == bytes)
            .count();
        if self
            .drops
            .iter()
            .any(|&(s, m, n)| s == to && bytes == m && n == copy)
        {
            return;
        }
        self.seq += 1;
        self.queue.insert((now + LATENCY, self.seq), (to, bytes));
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<(Side, Bytes)> {
        let (&key, _) = self.queue.iter().next()?;
        if key.0 > now {
            return None;
        }
        self.queue.remove(&key)
    }

    /// When each copy of `message` towards `to` was sent, in ms since t0 (dropped ones too).
    fn sent_times(&self, to: Side, message: &str) -> Vec<u64> {
        self.sent
            .iter()
            .filter(|(_, s, b)| *s == to && *b == message)
            .map(|&(t, _, _)| t)
            .collect()
    }
}

fn ms_since(t0: Instant, now: Instant) -> u64 {
    (now - t0).as_millis() as u64
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// One side of a test: transactions plus a scripted TU.
trait Endpoint {
    fn side(&self) -> Side;
    fn deliver(&mut self, now: Instant, msg: Bytes);
    fn on_timer(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    /// Drains every transaction's outputs; `Transmit`s go to the peer.
    fn drain(&mut self, now: Instant, net: &mut Net);
}

/// Runs both endpoints and the network until nothing is left to do or `until`.
fn run(a: &mut dyn Endpoint, z: &mut dyn Endpoint, net: &mut Net, start: Instant, until: Instant) {
    a.drain(start, net);
    z.drain(start, net);
    loop {
        let next = [net.next_delivery(), a.poll_timeout(), z.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(now) = next.filter(|&t| t <= until) else {
            return;
        };
        while let Some((to, msg)) = net.pop_due(now) {
            if to == a.side() {
                a.deliver(now, msg);
                a.drain(now, net);
            } else {
                z.deliver(now, msg);
                z.drain(now, net);
            }
        }
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.on_timer(now);
            a.drain(now, net);
        }
        if z.poll_timeout().is_some_and(|t| t <= now) {
            z.on_timer(now);
            z.drain(now, net);
        }
    }
}

fn drain_into(
    out: impl FnMut() -> Option<TsxOutput>,
    now: Instant,
    t0: Instant,
    peer: Side,
    net: &mut Net,
    events: &mut Vec<(u64, TsxOutput)>,
) {
    for o in std::iter::from_fn(out) {
        if let TsxOutput::Transmit(bytes) = &o {
            net.send(now, peer, bytes.clone());
        } else {
            events.push((ms_since(t0, now), o));
        }
    }
}

// ---------------------------------------------------------------------------------------
// INVITE: UAC with a ClientInviteTsx; UAS with a ServerInviteTsx (+ AnswerRetransmitter).

struct InviteUac {
    t0: Instant,
    tsx: ClientInviteTsx,
    to_tu: Vec<(u64, String)>,
    events: Vec<(u64, TsxOutput)>,
    /// ACKs the TU sends for 2xx (not through the transaction).
    tu_acks: Vec<Instant>,
}

impl Endpoint for InviteUac {
    fn side(&self) -> Side {
        Side::Uac
    }
    fn deliver(&mut self, now: Instant, msg: Bytes) {
        let text = String::from_utf8_lossy(&msg).into_owned();
        let status: u16 = text.parse().expect("responses are status codes");
        if self.tsx.on_response(now, status, || b("ACK")) == Delivery::ToTu {
            self.to_tu.push((ms_since(self.t0, now), text));
            if (200..300).contains(&status) {
                self.tu_acks.push(now);
            }
        }
    }
    fn on_timer(&mut self, now: Instant) {
        self.tsx.on_timer(now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.tsx.poll_timeout()
    }
    fn drain(&mut self, now: Instant, net: &mut Net) {
        let (t0, tsx, events) = (self.t0, &mut self.tsx, &mut self.events);
        drain_into(|| tsx.poll_output(), now, t0, Side::Uas, net, events);
        for _ in self.tu_acks.drain(..) {
            net.send(now, Side::Uas, b("ACK-2xx"));
        }
    }
}

struct InviteUas {
    t0: Instant,
    cfg: TimerConfig,
    /// The final status the TU answers with, right after a 100 and a 180.
    answer: u16,
    tsx: Option<ServerInviteTsx>,
    ok: Option<AnswerRetransmitter>,
    events: Vec<(u64, TsxOutput)>,
    acks_to_tu: Vec<u64>,
    invites_to_tu: usize,
}

impl Endpoint for InviteUas {
    fn side(&self) -> Side {
        Side::Uas
    }
    fn deliver(&mut self, now: Instant, msg: Bytes) {
        match (&msg[..], &mut self.tsx) {
            (b"INVITE", Some(tsx)) => tsx.on_request_retransmission(now),
            (b"INVITE", None) => {
                self.invites_to_tu += 1;
                let mut tsx = ServerInviteTsx::new(now, &self.cfg, false);
                tsx.send_response(now, 100, b("100")).unwrap();
                tsx.send_response(now, 180, b("180")).unwrap();
                let text: &'static str = match self.answer {
                    200 => "200",
                    486 => "486",
                    other => panic!("no script for {other}"),
                };
                tsx.send_response(now, self.answer, b(text)).unwrap();
                if self.answer == 200 {
                    self.ok = Some(AnswerRetransmitter::new(now, &self.cfg, b(text)));
                }
                self.tsx = Some(tsx);
            }
            (b"ACK" | b"ACK-2xx", Some(tsx)) => {
                if tsx.on_ack(now) == Delivery::ToTu {
                    self.acks_to_tu.push(ms_since(self.t0, now));
                    if let Some(ok) = &mut self.ok {
                        ok.ack_received();
                    }
                }
            }
            (other, _) => panic!("unexpected {:?}", String::from_utf8_lossy(other)),
        }
    }
    fn on_timer(&mut self, now: Instant) {
        if let Some(tsx) = &mut self.tsx {
            tsx.on_timer(now);
        }
        if let Some(ok) = &mut self.ok {
            ok.on_timer(now);
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let a = self.tsx.as_ref().and_then(|t| t.poll_timeout());
        let b = self.ok.as_ref().and_then(|o| o.poll_timeout());
        a.into_iter().chain(b).min()
    }
    fn drain(&mut self, now: Instant, net: &mut Net) {
        let t0 = self.t0;
        if let Some(tsx) = &mut self.tsx {
            drain_into(
                || tsx.poll_output(),
                now,
                t0,
                Side::Uac,
                net,
                &mut self.events,
            );
        }
        if let Some(ok) = &mut self.ok {
            drain_into(
                || ok.poll_output(),
                now,
                t0,
                Side::Uac,
                net,
                &mut self.events,
            );
        }
    }
}

fn invite_pair(t0: Instant, answer: u16) -> (InviteUac, InviteUas) {
    let cfg = TimerConfig::default();
    let uac = InviteUac {
        t0,
        tsx: ClientInviteTsx::new(t0, &cfg, false, b("INVITE")),
        to_tu: Vec::new(),
        events: Vec::new(),
        tu_acks: Vec::new(),
    };
    let uas = InviteUas {
        t0,
        cfg,
        answer,
        tsx: None,
        ok: None,
        events: Vec::new(),
        acks_to_tu: Vec::new(),
        invites_to_tu: 0,
    };
    (uac, uas)
}

#[test]
fn lost_invite_is_retransmitted_and_the_uas_sees_it_once() {
    let t0 = Instant::now();
    let (mut uac, mut uas) = invite_pair(t0, 486);
    // The first two INVITEs are lost; Timer A's third copy gets through.
    let mut net = Net::new(t0, vec![(Side::Uas, "INVITE", 1), (Side::Uas, "INVITE", 2)]);
    run(
        &mut uac,
        &mut uas,
        &mut net,
        t0,
        t0 + Duration::from_secs(60),
    );

    assert_eq!(net.sent_times(Side::Uas, "INVITE"), vec![0, 500, 1500]);
    assert_eq!(uas.invites_to_tu, 1);
    // The UAS answered at 1550; the UAC saw 100, 180, 486 at 1600 and ACKed at once.
    assert_eq!(
        uac.to_tu,
        vec![
            (1600, "100".into()),
            (1600, "180".into()),
            (1600, "486".into())
        ]
    );
    assert_eq!(net.sent_times(Side::Uas, "ACK"), vec![1600]);
    // The ACK reached the UAS at 1650, before Timer G's first firing (2050): no retransmits.
    assert_eq!(net.sent_times(Side::Uac, "486"), vec![1550]);
    assert_eq!(uac.events, vec![(33_600, TsxOutput::Terminated)]); // Timer D = 32 s
    assert_eq!(uas.events, vec![(6650, TsxOutput::Terminated)]); // Timer I = T4
}

#[test]
fn lost_486_is_retransmitted_by_timer_g_and_re_acked() {
    let t0 = Instant::now();
    let (mut uac, mut uas) = invite_pair(t0, 486);
    let mut net = Net::new(
        t0,
        vec![
            (Side::Uac, "486", 1),
            (Side::Uac, "486", 2),
            // The first ACK is lost too: the next 486 retransmission draws it again.
            (Side::Uas, "ACK", 1),
        ],
    );
    run(
        &mut uac,
        &mut uas,
        &mut net,
        t0,
        t0 + Duration::from_secs(60),
    );

    // INVITE reached the UAS at 50; 100 and 180 reached the UAC at 100 and stopped Timer A.
    assert_eq!(net.sent_times(Side::Uas, "INVITE"), vec![0]);
    // G from 50: 550 (lost), 1550 (arrives 1600, ACK lost), 3550 (arrives 3600, ACK arrives).
    assert_eq!(net.sent_times(Side::Uac, "486"), vec![50, 550, 1550, 3550]);
    assert_eq!(net.sent_times(Side::Uas, "ACK"), vec![1600, 3600]);
    assert_eq!(
        uac.to_tu,
        vec![
            (100, "100".into()),
            (100, "180".into()),
            (1600, "486".into())
        ]
    );
    assert_eq!(uac.tsx.state(), ClientInviteState::Terminated);
    assert_eq!(uac.events, vec![(33_600, TsxOutput::Terminated)]);
    assert_eq!(uas.events, vec![(8650, TsxOutput::Terminated)]); // ACK at 3650 + T4
}

#[test]
fn lost_200_is_retransmitted_by_the_uas_core_until_the_tus_ack() {
    let t0 = Instant::now();
    let (mut uac, mut uas) = invite_pair(t0, 200);
    let mut net = Net::new(t0, vec![(Side::Uac, "200", 1), (Side::Uac, "200", 2)]);
    run(
        &mut uac,
        &mut uas,
        &mut net,
        t0,
        t0 + Duration::from_secs(60),
    );

    // Sent by the transaction at 50, then by the AnswerRetransmitter at 550 and 1550.
    assert_eq!(net.sent_times(Side::Uac, "200"), vec![50, 550, 1550]);
    assert_eq!(
        uac.to_tu,
        vec![
            (100, "100".into()),
            (100, "180".into()),
            (1600, "200".into())
        ]
    );
    // The UAC's TU (not its transaction) ACKs; the UAS transaction passes it to its TU.
    assert_eq!(net.sent_times(Side::Uas, "ACK"), Vec::<u64>::new());
    assert_eq!(net.sent_times(Side::Uas, "ACK-2xx"), vec![1600]);
    assert_eq!(uas.acks_to_tu, vec![1650]);
    assert_eq!(uac.events, vec![(33_600, TsxOutput::Terminated)]); // Timer M
                                                                   // The retransmitter stops on the ACK; the transaction lingers until Timer L.
    assert_eq!(
        uas.events,
        vec![
            (1650, TsxOutput::Terminated),
            (32_050, TsxOutput::Terminated)
        ]
    );
    assert_eq!(
        uas.tsx.as_ref().map(|t| t.state()),
        Some(ServerInviteState::Terminated)
    );
}

// ---------------------------------------------------------------------------------------
// Non-INVITE: OPTIONS answered 200.

struct NictUac {
    t0: Instant,
    tsx: ClientNonInviteTsx,
    to_tu: Vec<(u64, u16)>,
    events: Vec<(u64, TsxOutput)>,
}

impl Endpoint for NictUac {
    fn side(&self) -> Side {
        Side::Uac
    }
    fn deliver(&mut self, now: Instant, msg: Bytes) {
        let status: u16 = String::from_utf8_lossy(&msg).parse().unwrap();
        if self.tsx.on_response(now, status) == Delivery::ToTu {
            self.to_tu.push((ms_since(self.t0, now), status));
        }
    }
    fn on_timer(&mut self, now: Instant) {
        self.tsx.on_timer(now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.tsx.poll_timeout()
    }
    fn drain(&mut self, now: Instant, net: &mut Net) {
        let (t0, tsx, events) = (self.t0, &mut self.tsx, &mut self.events);
        drain_into(|| tsx.poll_output(), now, t0, Side::Uas, net, events);
    }
}

struct NistUas {
    t0: Instant,
    tsx: Option<ServerNonInviteTsx>,
    requests_to_tu: usize,
    events: Vec<(u64, TsxOutput)>,
}

impl Endpoint for NistUas {
    fn side(&self) -> Side {
        Side::Uas
    }
    fn deliver(&mut self, now: Instant, _msg: Bytes) {
        match &mut self.tsx {
            Some(tsx) => tsx.on_request_retransmission(now),
            None => {
                self.requests_to_tu += 1;
                let mut tsx = ServerNonInviteTsx::new(now, &TimerConfig::default(), false);
                tsx.send_response(now, 200, b("200")).unwrap();
                self.tsx = Some(tsx);
            }
        }
    }
    fn on_timer(&mut self, now: Instant) {
        if let Some(tsx) = &mut self.tsx {
            tsx.on_timer(now);
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.tsx.as_ref().and_then(|t| t.poll_timeout())
    }
    fn drain(&mut self, now: Instant, net: &mut Net) {
        if let Some(tsx) = &mut self.tsx {
            let t0 = self.t0;
            drain_into(
                || tsx.poll_output(),
                now,
                t0,
                Side::Uac,
                net,
                &mut self.events,
            );
        }
    }
}

#[test]
fn lost_options_and_lost_200_recover_through_timer_e_and_the_server_resend() {
    let t0 = Instant::now();
    let mut uac = NictUac {
        t0,
        tsx: ClientNonInviteTsx::new(t0, &TimerConfig::default(), false, b("OPTIONS")),
        to_tu: Vec::new(),
        events: Vec::new(),
    };
    let mut uas = NistUas {
        t0,
        tsx: None,
        requests_to_tu: 0,
        events: Vec::new(),
    };
    let mut net = Net::new(t0, vec![(Side::Uas, "OPTIONS", 1), (Side::Uac, "200", 1)]);
    run(
        &mut uac,
        &mut uas,
        &mut net,
        t0,
        t0 + Duration::from_secs(60),
    );

    // OPTIONS at 0 lost; E at 500 arrives at 550, answered (lost); E at 1500 arrives at 1550
    // and the server transaction re-sends its 200, which completes the client at 1600.
    assert_eq!(net.sent_times(Side::Uas, "OPTIONS"), vec![0, 500, 1500]);
    assert_eq!(net.sent_times(Side::Uac, "200"), vec![550, 1550]);
    assert_eq!(uas.requests_to_tu, 1);
    assert_eq!(uac.to_tu, vec![(1600, 200)]);
    assert_eq!(uac.events, vec![(6600, TsxOutput::Terminated)]); // Timer K = T4
    assert_eq!(uas.events, vec![(32_550, TsxOutput::Terminated)]); // Timer J = 64*T1
}
