// The relay suite (see tests/media_relay.rs and tests/media_relay_kernel.rs, which include
// it with `KERNEL_FORWARDING` off and on).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard::media::rtp::TelephoneEvent;
use switchboard::media::{
    Leg, MediaCallId, MediaConfig, MediaEngine, MediaError, MediaEvent,
    RelatchPolicy, RemoteMedia,
};
use switchboard::sip::sdp::Direction;
use tokio::net::UdpSocket;

use media_support::{recv, Call, WAIT};

/// The suite's port ranges, moved by `PORT_OFFSET` so its two runs can share a machine.
fn ports(first: u16, last: u16) -> std::ops::RangeInclusive<u16> {
    first + PORT_OFFSET..=last + PORT_OFFSET
}

fn engine(ports: std::ops::RangeInclusive<u16>, relatch: RelatchPolicy) -> MediaEngine {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), ports);
    config.relatch = relatch;
    config.kernel_forwarding = KERNEL_FORWARDING;
    MediaEngine::new(config).unwrap()
}

async fn phone() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn addr(s: &UdpSocket) -> SocketAddr {
    s.local_addr().unwrap()
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn nothing_queued(s: &UdpSocket) -> bool {
    let mut buf = [0u8; 2048];
    matches!(s.try_recv_from(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Poll a condition every 2 ms, for at most 2 s.
async fn until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A calls B: both phones' SDP addresses are their real sockets.
async fn call(ports: std::ops::RangeInclusive<u16>, relatch: RelatchPolicy) -> Call {
    let engine = engine(ports, relatch);
    let (a, b) = (phone().await, phone().await);
    let id = MediaCallId::from("call-1");
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let ep_b = engine.offer(&id, Leg::B, None).unwrap();
    assert_eq!(engine.answer(&id, Leg::B, Some(addr(&b))).unwrap(), ep_b);
    Call {
        engine,
        id,
        a,
        b,
        ep_a,
        ep_b,
    }
}

#[tokio::test]
async fn payload_sequence_and_timestamp_arrive_intact_both_ways() {
    let c = call(ports(22000, 22009), RelatchPolicy::Never).await;
    for i in 0..20u16 {
        let p = rtp(0, 1000 + i, 160 * u32::from(i), 0xaaaa, &[i as u8; 160]);
        c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
        let (got, from) = recv(&c.b).await;
        assert_eq!(got, p);
        assert_eq!(
            from, c.ep_b.rtp,
            "B sees the relay's B-side port (symmetric)"
        );

        let q = rtp(8, 50_000 + i, 7 + 160 * u32::from(i), 0xbbbb, &[0x55; 80]);
        c.b.send_to(&q, c.ep_b.rtp).await.unwrap();
        let (got, from) = recv(&c.a).await;
        assert_eq!(got, q);
        assert_eq!(from, c.ep_a.rtp);
    }
    let s = c.engine.stats(&c.id).unwrap();
    assert_eq!(
        (s.leg(Leg::A).packets_in, s.leg(Leg::B).packets_out),
        (20, 20)
    );
    assert_eq!(
        (s.leg(Leg::B).packets_in, s.leg(Leg::A).packets_out),
        (20, 20)
    );
    assert_eq!(s.leg(Leg::A).bytes_in, 20 * 172);
}

#[tokio::test]
async fn latching_follows_the_real_source_not_the_sdp_port() {
    let engine = engine(ports(22010, 22019), RelatchPolicy::Never);
    let id = MediaCallId::from("nat");
    let (sdp_port, real_a, b) = (phone().await, phone().await, phone().await);
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&sdp_port))).unwrap();
    let ep_b = engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();

    real_a
        .send_to(&rtp(0, 1, 0, 1, b"nat"), ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&b).await.0, rtp(0, 1, 0, 1, b"nat"));
    b.send_to(&rtp(0, 9, 0, 2, b"back"), ep_b.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&real_a).await.0, rtp(0, 9, 0, 2, b"back"));
    assert!(
        nothing_queued(&sdp_port),
        "nothing goes to the advertised address once latched"
    );
}

#[tokio::test]
async fn strangers_are_dropped_and_counted() {
    let c = call(ports(22020, 22029), RelatchPolicy::Never).await;
    c.a.send_to(&rtp(0, 1, 0, 1, b"a"), c.ep_a.rtp)
        .await
        .unwrap();
    recv(&c.b).await;
    let stranger = phone().await;
    for i in 0..3 {
        stranger
            .send_to(&rtp(0, 100 + i, 0, 66, b"evil"), c.ep_a.rtp)
            .await
            .unwrap();
    }
    until(|| c.engine.stats(&c.id).unwrap().leg(Leg::A).dropped_stranger == 3).await;
    assert!(nothing_queued(&c.b));
    c.a.send_to(&rtp(0, 2, 160, 1, b"a2"), c.ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.b).await.0, rtp(0, 2, 160, 1, b"a2"));
    let s = c.engine.stats(&c.id).unwrap();
    assert_eq!(s.leg(Leg::A).packets_in, 2);
}

#[tokio::test]
async fn a_persistent_new_source_takes_over_under_relatch_policy() {
    let c = call(ports(22030, 22039), RelatchPolicy::AfterConsecutive(3)).await;
    c.a.send_to(&rtp(0, 1, 0, 1, b"a"), c.ep_a.rtp)
        .await
        .unwrap();
    recv(&c.b).await;
    let moved = phone().await; // the phone's NAT binding changed
    for i in 0..3u16 {
        moved
            .send_to(&rtp(0, 2 + i, 0, 1, b"m"), c.ep_a.rtp)
            .await
            .unwrap();
    }
    assert_eq!(
        recv(&c.b).await.0,
        rtp(0, 4, 0, 1, b"m"),
        "the third packet relatches and is relayed"
    );
    assert_eq!(
        c.engine.stats(&c.id).unwrap().leg(Leg::A).dropped_stranger,
        2
    );
    c.b.send_to(&rtp(0, 1, 0, 2, b"b"), c.ep_b.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&moved).await.0, rtp(0, 1, 0, 2, b"b"));
}

#[tokio::test]
async fn hold_stops_the_held_direction_and_resumes() {
    let c = call(ports(22040, 22049), RelatchPolicy::Never).await;
    // A puts B on hold: A's re-INVITE says sendonly (music on hold may flow A→B)
    c.engine
        .update(&c.id, Leg::A, None, Direction::SendOnly)
        .unwrap();
    c.a.send_to(&rtp(0, 1, 0, 1, b"moh"), c.ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.b).await.0, rtp(0, 1, 0, 1, b"moh"));
    c.b.send_to(&rtp(0, 1, 0, 2, b"b"), c.ep_b.rtp)
        .await
        .unwrap();
    until(|| c.engine.stats(&c.id).unwrap().leg(Leg::B).dropped_hold == 1).await;
    assert!(nothing_queued(&c.a));

    // inactive: nothing either way
    c.engine
        .update(&c.id, Leg::A, None, Direction::Inactive)
        .unwrap();
    c.a.send_to(&rtp(0, 2, 160, 1, b"x"), c.ep_a.rtp)
        .await
        .unwrap();
    until(|| c.engine.stats(&c.id).unwrap().leg(Leg::A).dropped_hold == 1).await;
    assert!(nothing_queued(&c.b));

    // resume
    c.engine
        .update(&c.id, Leg::A, None, Direction::SendRecv)
        .unwrap();
    c.b.send_to(&rtp(0, 2, 160, 2, b"back"), c.ep_b.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.a).await.0, rtp(0, 2, 160, 2, b"back"));
    c.a.send_to(&rtp(0, 3, 320, 1, b"fwd"), c.ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.b).await.0, rtp(0, 3, 320, 1, b"fwd"));
}

#[tokio::test]
async fn dtmf_packets_make_one_event_and_the_payload_type_is_remapped() {
    let engine = engine(ports(22050, 22059), RelatchPolicy::Never);
    let id = MediaCallId::from("dtmf");
    let (a, b) = (phone().await, phone().await);
    let media = |sock: &UdpSocket, pt| RemoteMedia {
        rtp: Some(addr(sock)),
        telephone_event: Some(pt),
        ..Default::default()
    };
    let ep_a = engine.offer_media(&id, Leg::A, media(&a, 101)).unwrap();
    engine.offer_media(&id, Leg::B, media(&b, 96)).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    assert!(
        engine.take_events(&id).is_none(),
        "the receiver is handed out once"
    );

    let ev = |end, duration| {
        TelephoneEvent {
            event: 5,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    };
    let mut packets = Vec::new();
    for (i, (end, d)) in [
        (false, 160),
        (false, 320),
        (false, 480),
        (true, 800),
        (true, 800),
        (true, 800),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = rtp(101, 10 + i as u16, 48_000, 7, &ev(end, d));
        if i == 0 {
            p[1] |= 0x80; // marker on the first packet of the event
        }
        a.send_to(&p, ep_a.rtp).await.unwrap();
        packets.push(p);
    }
    for p in &packets {
        let (got, _) = recv(&b).await;
        assert_eq!(
            got[1],
            (p[1] & 0x80) | 96,
            "telephone-event PT rewritten to B's"
        );
        assert_eq!(got[2..], p[2..], "everything else untouched");
    }
    let first = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    let MediaEvent::Dtmf { leg, dtmf } = first else {
        panic!("expected DTMF, got {first:?}")
    };
    assert_eq!(
        (leg, dtmf.digit, dtmf.duration, dtmf.duration_ms),
        (Leg::A, Some('5'), 800, 100)
    );
    assert!(
        events.try_recv().is_err(),
        "three end packets are one event"
    );
    // audio with another PT is not touched
    a.send_to(&rtp(0, 16, 49_000, 7, b"pcmu"), ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&b).await.0, rtp(0, 16, 49_000, 7, b"pcmu"));
}

#[tokio::test]
async fn delete_releases_ports_and_exhaustion_is_503() {
    let engine = engine(ports(22060, 22063), RelatchPolicy::Never); // two pairs
    let id = MediaCallId::from("d");
    assert_eq!(engine.ports_available(), 2);
    let ep = engine.offer(&id, Leg::A, None).unwrap();
    assert_eq!(
        engine.offer(&id, Leg::A, None).unwrap(),
        ep,
        "offer is idempotent"
    );
    engine.offer(&id, Leg::B, None).unwrap();
    assert_eq!(engine.ports_available(), 0);
    let err = engine
        .offer(&MediaCallId::from("other"), Leg::A, None)
        .unwrap_err();
    assert!(matches!(err, MediaError::PortsExhausted { .. }));
    assert_eq!(err.status_code(), 503);
    assert_eq!(
        engine.calls(),
        1,
        "a failed first offer leaves no call behind"
    );

    assert!(engine.delete(&id).await);
    assert!(!engine.delete(&id).await, "delete is idempotent");
    assert_eq!(engine.ports_available(), 2);
    assert!(engine.stats(&id).is_none());
    // the ports are really closed: we can bind them ourselves
    std::net::UdpSocket::bind(ep.rtp).unwrap();
    std::net::UdpSocket::bind(ep.rtcp).unwrap();
}

#[tokio::test]
async fn commands_on_unknown_calls_and_legs_fail() {
    let engine = engine(ports(22064, 22067), RelatchPolicy::Never);
    let id = MediaCallId::from("u");
    assert!(matches!(
        engine.answer(&id, Leg::B, None),
        Err(MediaError::NoSuchCall(_))
    ));
    assert!(matches!(
        engine.update(&id, Leg::A, None, Direction::SendRecv),
        Err(MediaError::NoSuchCall(_))
    ));
    engine.offer(&id, Leg::A, None).unwrap();
    assert!(matches!(
        engine.update(&id, Leg::B, None, Direction::SendRecv),
        Err(MediaError::NoSuchLeg(_, Leg::B))
    ));
    assert!(engine.endpoint(&id, Leg::B).is_none());
    assert!(engine.endpoint(&id, Leg::A).is_some());
}

#[tokio::test]
async fn stats_count_packets_and_detect_a_gap_as_loss() {
    let c = call(ports(22070, 22079), RelatchPolicy::Never).await;
    let mut sent = 0;
    for seq in (1..=10u16).filter(|s| *s != 5 && *s != 6) {
        c.a.send_to(&rtp(0, seq, 160 * u32::from(seq), 9, &[0; 160]), c.ep_a.rtp)
            .await
            .unwrap();
        recv(&c.b).await;
        sent += 1;
    }
    let s = c.engine.stats(&c.id).unwrap();
    let a = s.leg(Leg::A);
    assert_eq!((a.packets_in, a.bytes_in), (sent, sent * 172));
    assert_eq!((a.seq_gaps, a.lost), (1, 2));
    assert_eq!(s.leg(Leg::B).packets_out, sent);
    assert!(a.last_packet.is_some());
    assert!(c.engine.idle_since(&c.id).unwrap() >= a.last_packet.unwrap());
    // a new SSRC is counted
    c.a.send_to(&rtp(0, 500, 0, 10, &[0; 160]), c.ep_a.rtp)
        .await
        .unwrap();
    recv(&c.b).await;
    assert_eq!(c.engine.stats(&c.id).unwrap().leg(Leg::A).ssrc_changes, 1);
}

#[tokio::test]
async fn rtcp_goes_to_the_rtcp_address_or_muxed() {
    let engine = engine(ports(22080, 22089), RelatchPolicy::Never);
    let id = MediaCallId::from("rtcp");
    let (a, a_rtcp, b, b_rtcp) = (phone().await, phone().await, phone().await, phone().await);
    let ep_a = engine
        .offer_media(
            &id,
            Leg::A,
            RemoteMedia {
                rtp: Some(addr(&a)),
                rtcp: Some(addr(&a_rtcp)),
                ..Default::default()
            },
        )
        .unwrap();
    let ep_b = engine
        .offer_media(
            &id,
            Leg::B,
            RemoteMedia {
                rtp: Some(addr(&b)),
                rtcp: Some(addr(&b_rtcp)),
                ..Default::default()
            },
        )
        .unwrap();
    let sr = [
        0x80u8, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    a_rtcp.send_to(&sr, ep_a.rtcp).await.unwrap();
    let (got, from) = recv(&b_rtcp).await;
    assert_eq!((got.as_slice(), from), (&sr[..], ep_b.rtcp));
    assert_eq!(engine.stats(&id).unwrap().leg(Leg::A).rtcp_in, 1);

    // B now muxes (RFC 5761): RTCP from A reaches B's RTP socket; B's muxed RTCP reaches A's RTCP socket
    engine
        .update_media(
            &id,
            Leg::B,
            RemoteMedia {
                rtp: Some(addr(&b)),
                rtcp_mux: true,
                ..Default::default()
            },
        )
        .unwrap();
    a_rtcp.send_to(&sr, ep_a.rtcp).await.unwrap();
    assert_eq!(recv(&b).await, (sr.to_vec(), ep_b.rtp));
    b.send_to(&sr, ep_b.rtp).await.unwrap();
    assert_eq!(recv(&a_rtcp).await, (sr.to_vec(), ep_a.rtcp));
    assert_eq!(
        engine.stats(&id).unwrap().leg(Leg::B).packets_in,
        0,
        "muxed RTCP is not counted as RTP"
    );

    // B's receiver report (RFC 3550 §6.4.2) about the stream it gets: 32/256 lost lately, 7
    // in all, jitter 160 timestamp units (20 ms at 8 kHz). Read into B's stats and passed
    // on untouched; A's sender reports had no block, so A reported nothing.
    let mut rr = vec![0x81u8, 201, 0, 7, 0, 0, 0, 2];
    rr.extend_from_slice(&[0, 0, 0, 1, 32, 0, 0, 7, 0, 0, 0x01, 0x00, 0, 0, 0, 160]);
    rr.extend_from_slice(&[0; 8]);
    b.send_to(&rr, ep_b.rtp).await.unwrap();
    assert_eq!(recv(&a_rtcp).await, (rr.clone(), ep_a.rtcp));
    let stats = engine.stats(&id).unwrap();
    let reported = stats.leg(Leg::B).reported.expect("B's report read");
    assert_eq!((reported.reports, reported.lost), (1, 7));
    assert_eq!(reported.fraction_lost, 0.125);
    assert_eq!(reported.jitter_ms, 20.0);
    assert_eq!(stats.leg(Leg::A).reported, None);
}

#[tokio::test]
async fn silence_after_answer_raises_a_media_timeout() {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), ports(22090, 22099));
    config.media_timeout = Duration::from_millis(100);
    let engine = MediaEngine::new(config).unwrap();
    let id = MediaCallId::from("quiet");
    let (a, b) = (phone().await, phone().await);
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    a.send_to(&rtp(0, 1, 0, 1, b"x"), ep_a.rtp).await.unwrap();
    recv(&b).await;
    let ev = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    let MediaEvent::Timeout { idle } = ev else {
        panic!("expected a timeout, got {ev:?}")
    };
    assert!(idle >= Duration::from_millis(100));
}

#[tokio::test]
async fn malformed_packets_are_dropped_without_latching() {
    let c = call(ports(22100, 22109), RelatchPolicy::Never).await;
    let junk = phone().await;
    junk.send_to(b"not rtp", c.ep_a.rtp).await.unwrap();
    until(|| c.engine.stats(&c.id).unwrap().leg(Leg::A).dropped_malformed == 1).await;
    // the real phone can still latch
    c.a.send_to(&rtp(0, 1, 0, 1, b"ok"), c.ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.b).await.0, rtp(0, 1, 0, 1, b"ok"));
    assert!(nothing_queued(&c.b));
}

#[tokio::test]
async fn ipv6_loopback_relays_too() {
    let engine = MediaEngine::new(MediaConfig::new("::1".parse().unwrap(), ports(22110, 22119))).unwrap();
    let id = MediaCallId::from("v6");
    let a = UdpSocket::bind("[::1]:0").await.unwrap();
    let b = UdpSocket::bind("[::1]:0").await.unwrap();
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let ep_b = engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();
    assert!(ep_a.rtp.is_ipv6());
    a.send_to(&rtp(0, 1, 0, 1, b"six"), ep_a.rtp).await.unwrap();
    assert_eq!(recv(&b).await, (rtp(0, 1, 0, 1, b"six"), ep_b.rtp));
}

#[tokio::test]
async fn media_before_the_other_leg_exists_is_dropped_and_counted() {
    let engine = engine(ports(22120, 22129), RelatchPolicy::Never);
    let id = MediaCallId::from("early");
    let a = phone().await;
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    a.send_to(&rtp(0, 1, 0, 1, b"early"), ep_a.rtp)
        .await
        .unwrap();
    until(|| engine.stats(&id).unwrap().leg(Leg::A).dropped_no_peer == 1).await;
    // B prepared but not answered yet: no address to send to
    engine.offer(&id, Leg::B, None).unwrap();
    a.send_to(&rtp(0, 2, 160, 1, b"ring"), ep_a.rtp)
        .await
        .unwrap();
    until(|| engine.stats(&id).unwrap().leg(Leg::A).dropped_no_peer == 2).await;
    let b = phone().await;
    let ep_b = engine.answer(&id, Leg::B, Some(addr(&b))).unwrap();
    a.send_to(&rtp(0, 3, 320, 1, b"talk"), ep_a.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&b).await, (rtp(0, 3, 320, 1, b"talk"), ep_b.rtp));
}

#[tokio::test]
async fn old_style_hold_from_sdp_stops_media_to_the_holder() {
    use switchboard::sip::sdp::SessionDescription;
    let c = call(ports(22130, 22139), RelatchPolicy::Never).await;
    c.a.send_to(&rtp(0, 1, 0, 1, b"a"), c.ep_a.rtp)
        .await
        .unwrap();
    recv(&c.b).await;
    // A re-INVITEs with c=0.0.0.0 (RFC 2543 hold)
    let hold = b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let media = RemoteMedia::from_sdp(&SessionDescription::parse(hold).unwrap(), 0).unwrap();
    assert_eq!(
        (media.rtp, media.direction, media.telephone_event),
        (None, Direction::SendOnly, Some(101))
    );
    c.engine.update_media(&c.id, Leg::A, media).unwrap();
    c.b.send_to(&rtp(0, 1, 0, 2, b"b"), c.ep_b.rtp)
        .await
        .unwrap();
    until(|| c.engine.stats(&c.id).unwrap().leg(Leg::B).dropped_hold == 1).await;
    assert!(nothing_queued(&c.a));
    // A's latched address survived the hold: unhold without a new address resumes to it
    c.engine
        .update(&c.id, Leg::A, None, Direction::SendRecv)
        .unwrap();
    c.b.send_to(&rtp(0, 2, 160, 2, b"b2"), c.ep_b.rtp)
        .await
        .unwrap();
    assert_eq!(recv(&c.a).await.0, rtp(0, 2, 160, 2, b"b2"));
}

#[test]
fn remote_media_reads_what_the_relay_needs_from_sdp() {
    use switchboard::sip::sdp::SessionDescription;
    let sdp = b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 10470 RTP/AVP 111 126\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\na=rtcp:10480\r\na=recvonly\r\n";
    let m = RemoteMedia::from_sdp(&SessionDescription::parse(sdp).unwrap(), 0).unwrap();
    assert_eq!(m.rtp, Some("10.0.0.5:10470".parse().unwrap()));
    assert_eq!(m.rtcp, Some("10.0.0.5:10480".parse().unwrap()));
    assert_eq!(
        (m.clock_rate, m.telephone_event, m.telephone_event_rate),
        (48000, Some(126), 8000)
    );
    assert_eq!((m.direction, m.rtcp_mux), (Direction::RecvOnly, false));
}

#[test]
fn telephone_event_at_the_codec_rate_is_chosen_and_no_runtime_is_an_error() {
    use switchboard::sip::sdp::SessionDescription;
    let sdp = b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0 101 100\r\na=rtpmap:101 telephone-event/48000\r\na=rtpmap:100 telephone-event/8000\r\n";
    let m = RemoteMedia::from_sdp(&SessionDescription::parse(sdp).unwrap(), 0).unwrap();
    assert_eq!(
        (m.clock_rate, m.telephone_event, m.telephone_event_rate),
        (8000, Some(100), 8000)
    );

    let engine = engine(ports(22140, 22149), RelatchPolicy::Never);
    let err = engine
        .offer(&MediaCallId::from("x"), Leg::A, None)
        .unwrap_err();
    assert!(matches!(err, MediaError::NoRuntime), "{err}");
    assert_eq!((engine.calls(), engine.ports_available()), (0, 5));
}

#[tokio::test]
async fn on_hold_the_hold_timeout_applies_instead() {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), ports(22150, 22159));
    config.media_timeout = Duration::from_secs(600);
    config.hold_timeout = Some(Duration::from_millis(50));
    let engine = MediaEngine::new(config).unwrap();
    let id = MediaCallId::from("held");
    let (a, b) = (phone().await, phone().await);
    engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    let held_at = Instant::now();
    engine
        .update(&id, Leg::A, None, Direction::SendOnly)
        .unwrap();
    let ev = tokio::time::timeout(WAIT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(ev, MediaEvent::Timeout { idle } if idle >= Duration::from_millis(50)),
        "{ev:?}"
    );
    assert!(held_at.elapsed() >= Duration::from_millis(50));
}
