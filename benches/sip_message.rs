//! Parse and print of an 811-byte softphone INVITE: our `sip::message` side by side with
//! rsip 0.4 in the same criterion groups. Run with `cargo bench --bench sip_message`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use rsip::prelude::*;
use switchboard::sip::message::{self as ours, HasHeaders};

/// An INVITE as a desktop softphone sends it (811 bytes, Opus + G.722 + PCMU/PCMA offer).
const INVITE: &[u8] = b"INVITE sip:1002@192.168.1.10 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.50:5062;branch=z9hG4bK-524287-1---6e3b4c3a1f2d9e70;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:1001@192.168.1.50:5062;transport=UDP>\r\n\
To: <sip:1002@192.168.1.10>\r\n\
From: \"Alice Smith\" <sip:1001@192.168.1.10>;tag=4f1b7c2e\r\n\
Call-ID: ZTk4NmQ1YjM0YzdhMmQ0ZTk4NWY1ZTNiZDA\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO\r\n\
Content-Type: application/sdp\r\n\
User-Agent: Z 5.6.4 v2.10.20.2\r\n\
Content-Length: 310\r\n\
\r\n\
v=0\r\n\
o=Z 0 1234567 IN IP4 192.168.1.50\r\n\
s=Z\r\n\
c=IN IP4 192.168.1.50\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 106 9 98 101 0 8 3\r\n\
a=rtpmap:106 opus/48000/2\r\n\
a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1\r\n\
a=rtpmap:98 telephone-event/48000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n";

fn ours_typed(m: &ours::SipMessage) -> usize {
    let v = m.top_via().map(|v| v.params.len()).unwrap_or(0);
    let f = m.from().map(|f| f.params.len()).unwrap_or(0);
    let t = m.to().map(|t| t.params.len()).unwrap_or(0);
    let c = m.cseq().map(|c| c.seq as usize).unwrap_or(0);
    let k = m.contacts().ok().flatten().is_some() as usize;
    v + f + t + c + k
}

fn rsip_typed(m: &rsip::SipMessage) -> usize {
    let v = m
        .via_header()
        .ok()
        .and_then(|v| v.typed().ok())
        .map(|v| v.params.len())
        .unwrap_or(0);
    let f = m
        .from_header()
        .ok()
        .and_then(|f| f.typed().ok())
        .map(|f| f.params.len())
        .unwrap_or(0);
    let t = m
        .to_header()
        .ok()
        .and_then(|t| t.typed().ok())
        .map(|t| t.params.len())
        .unwrap_or(0);
    let c = m
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map(|c| c.seq as usize)
        .unwrap_or(0);
    let k = m
        .contact_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .is_some() as usize;
    v + f + t + c + k
}

fn parse(c: &mut Criterion) {
    assert_eq!(INVITE.len(), 811);
    let mut g = c.benchmark_group("sip_message_parse_811B_invite");
    g.bench_function("ours/parse", |b| {
        b.iter(|| ours::parse(Bytes::from_static(black_box(INVITE))).expect("parses"))
    });
    g.bench_function("rsip/parse", |b| {
        b.iter(|| rsip::SipMessage::try_from(black_box(INVITE)).expect("parses"))
    });
    g.bench_function("ours/parse+validate", |b| {
        b.iter(|| {
            let m = ours::parse(Bytes::from_static(black_box(INVITE))).expect("parses");
            ours::validate(&m).expect("valid");
            m
        })
    });
    g.bench_function("ours/parse+typed", |b| {
        b.iter(|| ours_typed(&ours::parse(Bytes::from_static(black_box(INVITE))).expect("parses")))
    });
    g.bench_function("rsip/parse+typed", |b| {
        b.iter(|| rsip_typed(&rsip::SipMessage::try_from(black_box(INVITE)).expect("parses")))
    });
    g.finish();
}

fn print(c: &mut Criterion) {
    let mine = ours::parse(Bytes::from_static(INVITE)).expect("parses");
    let theirs = rsip::SipMessage::try_from(INVITE).expect("parses");
    let mut g = c.benchmark_group("sip_message_print_811B_invite");
    g.bench_function("ours/to_bytes", |b| b.iter(|| black_box(&mine).to_bytes()));
    g.bench_function("rsip/to_string", |b| {
        b.iter(|| black_box(&theirs).to_string())
    });
    g.finish();
}

criterion_group!(benches, parse, print);
criterion_main!(benches);
