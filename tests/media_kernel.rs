//! The kernel fast path (`kernel_forwarding`) over real UDP sockets on 127.0.0.1: after a
//! direction's first packet the kernel forwards its plain audio — intact, from the relay's
//! own port, counted with its loss — and the relay thread gets back whatever needs it:
//! telephone events, hold, a stranger, the media timeout. `media_relay_kernel.rs` runs the
//! whole relay suite with it on; this file checks that the kernel did the forwarding.
//!
//! Where the kernel lets us use no BPF (not root, a seccomp filter) or has no TCX (Linux
//! before 6.6) these tests say so and pass; anywhere else the engine must have it.

mod media_support;

use std::net::SocketAddr;
use std::time::Duration;

use media_support::{kernel_forwarding_expected, recv, until, Call, WAIT};
use switchboard::media::rtp::TelephoneEvent;
use switchboard::media::{
    Leg, MediaCallId, MediaConfig, MediaEngine, MediaEvent, RelatchPolicy, RemoteMedia,
};
use switchboard::sip::sdp::Direction;
use tokio::net::UdpSocket;

fn engine(
    ports: std::ops::RangeInclusive<u16>,
    relatch: RelatchPolicy,
    media_timeout: Duration,
) -> Option<MediaEngine> {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), ports);
    config.relatch = relatch;
    config.media_timeout = media_timeout;
    config.kernel_forwarding = true;
    let engine = MediaEngine::new(config).unwrap();
    if engine.kernel_forwarding().is_none() {
        assert!(
            !kernel_forwarding_expected(),
            "root on Linux 6.6+: the kernel must take the program"
        );
        eprintln!("SKIPPED: kernel forwarding unavailable here (not root, or Linux before 6.6)");
        return None;
    }
    Some(engine)
}

async fn call_with(engine: MediaEngine, telephone_event: Option<u8>) -> Call {
    let (a, b) = (phone().await, phone().await);
    let id = MediaCallId::from("k");
    let media = |s: &UdpSocket| RemoteMedia {
        rtp: Some(s.local_addr().unwrap()),
        telephone_event,
        ..Default::default()
    };
    let ep_a = engine.offer_media(&id, Leg::A, media(&a)).unwrap();
    let ep_b = engine.offer_media(&id, Leg::B, media(&b)).unwrap();
    Call {
        engine,
        id,
        a,
        b,
        ep_a,
        ep_b,
    }
}

async fn phone() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn rtp(pt: u8, seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// `from` sends audio `seq` (PT 0, 160 bytes) to `to`; `at` must get it intact from `via`.
async fn relay_one(from: &UdpSocket, to: SocketAddr, at: &UdpSocket, via: SocketAddr, seq: u16) {
    let p = rtp(0, seq, 7, &[seq as u8; 160]);
    from.send_to(&p, to).await.unwrap();
    assert_eq!(recv(at).await, (p, via), "packet {seq}");
}

impl Call {
    async fn a_to_b(&self, seq: u16) {
        relay_one(&self.a, self.ep_a.rtp, &self.b, self.ep_b.rtp, seq).await;
    }
    async fn b_to_a(&self, seq: u16) {
        relay_one(&self.b, self.ep_b.rtp, &self.a, self.ep_a.rtp, seq).await;
    }
    fn stats(&self, leg: Leg) -> switchboard::media::LegStats {
        *self.engine.stats(&self.id).unwrap().leg(leg)
    }
}

#[tokio::test]
async fn plain_audio_is_forwarded_by_the_kernel_intact_and_counted() {
    let Some(e) = engine(23500..=23509, RelatchPolicy::Never, Duration::from_secs(60)) else {
        return;
    };
    let c = call_with(e, None).await;
    for seq in 1..=20 {
        c.a_to_b(seq).await;
        c.b_to_a(seq).await;
    }
    let (a, b) = (c.stats(Leg::A), c.stats(Leg::B));
    // the first packet each way went through the relay thread, the rest through the kernel
    assert_eq!((a.packets_in, a.packets_offloaded), (20, 19));
    assert_eq!((b.packets_in, b.packets_offloaded), (20, 19));
    assert_eq!(
        (a.bytes_in, b.packets_out, b.bytes_out),
        (20 * 172, 20, 20 * 172)
    );
    assert_eq!((a.lost, a.seq_gaps, b.lost), (0, 0, 0));
    assert!(c.engine.idle_since(&c.id).unwrap() >= a.last_packet.unwrap());
}

#[tokio::test]
async fn loss_late_packets_and_ssrc_changes_are_counted_in_the_kernel() {
    let Some(e) = engine(23510..=23519, RelatchPolicy::Never, Duration::from_secs(60)) else {
        return;
    };
    let c = call_with(e, None).await;
    for seq in [1, 2, 3, 4, 7, 8] {
        c.a_to_b(seq).await;
    }
    let a = c.stats(Leg::A);
    assert_eq!((a.packets_offloaded, a.seq_gaps, a.lost), (5, 1, 2));
    c.a_to_b(5).await; // late
    assert_eq!(c.stats(Leg::A).lost, 1);
    let p = rtp(0, 900, 8, &[1; 160]);
    c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
    assert_eq!(recv(&c.b).await.0, p);
    let a = c.stats(Leg::A);
    assert_eq!((a.ssrc_changes, a.packets_offloaded), (1, 7));
}

#[tokio::test]
async fn telephone_events_reach_the_switch_while_the_audio_is_offloaded() {
    let Some(e) = engine(23520..=23529, RelatchPolicy::Never, Duration::from_secs(60)) else {
        return;
    };
    let c = call_with(e, Some(101)).await;
    let mut events = c.engine.take_events(&c.id).unwrap();
    for seq in 1..=5 {
        c.a_to_b(seq).await;
    }
    for (i, end) in [false, true, true, true].into_iter().enumerate() {
        let ev = TelephoneEvent {
            event: 7,
            end,
            volume: 10,
            duration: 800,
        };
        let mut p = rtp(101, 6 + i as u16, 9, &ev.to_bytes());
        p[4..8].copy_from_slice(&1600u32.to_be_bytes()); // one event, one timestamp
        c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
        assert_eq!(recv(&c.b).await.0, p);
    }
    let ev = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
    let Some(MediaEvent::Dtmf { leg, dtmf }) = ev else {
        panic!("expected DTMF, got {ev:?}")
    };
    assert_eq!((leg, dtmf.digit), (Leg::A, Some('7')));
    assert!(events.try_recv().is_err(), "one event");
    for seq in 10..=12 {
        c.a_to_b(seq).await;
    }
    let a = c.stats(Leg::A);
    // 2-5 and 11-12: the events took the direction back, audio 10 offloaded it again
    assert_eq!((a.packets_in, a.packets_offloaded), (12, 6));
    // the events' sequence numbers are no loss, neither for the thread nor the kernel
    assert_eq!((a.lost, a.seq_gaps), (0, 0));
}

#[tokio::test]
async fn hold_takes_the_direction_back_and_resume_offloads_it_again() {
    let Some(e) = engine(23530..=23539, RelatchPolicy::Never, Duration::from_secs(60)) else {
        return;
    };
    let c = call_with(e, None).await;
    for seq in 1..=3 {
        c.b_to_a(seq).await;
    }
    assert_eq!(c.stats(Leg::B).packets_offloaded, 2);
    // A holds B: B's audio no longer reaches A
    c.engine
        .update(&c.id, Leg::A, None, Direction::SendOnly)
        .unwrap();
    for seq in 4..=6 {
        c.b.send_to(&rtp(0, seq, 7, &[0; 160]), c.ep_b.rtp)
            .await
            .unwrap();
    }
    until(|| c.stats(Leg::B).dropped_hold == 3, "three packets held").await;
    c.engine
        .update(&c.id, Leg::A, None, Direction::SendRecv)
        .unwrap();
    for seq in 7..=10 {
        c.b_to_a(seq).await;
    }
    let b = c.stats(Leg::B);
    assert_eq!(
        (b.packets_in, b.packets_offloaded, b.dropped_hold),
        (10, 5, 3)
    );
}

#[tokio::test]
async fn a_stranger_cannot_take_over_while_the_phone_talks_through_the_kernel() {
    let Some(e) = engine(
        23540..=23549,
        RelatchPolicy::AfterConsecutive(3),
        Duration::from_secs(60),
    ) else {
        return;
    };
    let c = call_with(e, None).await;
    let stranger = phone().await;
    c.a_to_b(1).await;
    for seq in 2..=6 {
        // two strangers, then the phone itself (through the kernel): never three in a row
        for _ in 0..2 {
            stranger
                .send_to(&rtp(0, 500, 66, b"bleed"), c.ep_a.rtp)
                .await
                .unwrap();
        }
        c.a_to_b(seq).await;
    }
    until(
        || c.stats(Leg::A).dropped_stranger == 10,
        "strangers dropped",
    )
    .await;
    assert!(c.b.try_recv(&mut [0; 64]).is_err(), "no bleed");
    // the phone goes quiet, the new source persists: it takes over (a NAT rebinding), once
    // the kernel has not heard the phone for a second
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        stranger
            .send_to(&rtp(0, 500, 66, b"bleed"), c.ep_a.rtp)
            .await
            .unwrap();
    }
    // (the run may count one stranger from before the silence: the kernel's packets from
    // the phone were not in the thread's queue to break it)
    assert_eq!(recv(&c.b).await.0, rtp(0, 500, 66, b"bleed"));
    until(
        || c.stats(Leg::A).dropped_stranger + c.stats(Leg::A).packets_in == 10 + 6 + 3,
        "the three strangers taken",
    )
    .await;
    while c.b.try_recv(&mut [0; 64]).is_ok() {}
    for seq in 501..=503 {
        relay_one(&stranger, c.ep_a.rtp, &c.b, c.ep_b.rtp, seq).await;
    }
    // the old source is the stranger now, in the kernel as in the thread
    let dropped = c.stats(Leg::A).dropped_stranger;
    c.a.send_to(&rtp(0, 7, 7, &[0; 160]), c.ep_a.rtp)
        .await
        .unwrap();
    until(
        || c.stats(Leg::A).dropped_stranger == dropped + 1,
        "old source dropped",
    )
    .await;
}

#[tokio::test]
async fn the_media_timeout_sees_the_kernels_audio_and_its_silence() {
    let Some(e) = engine(
        23550..=23559,
        RelatchPolicy::Never,
        Duration::from_millis(300),
    ) else {
        return;
    };
    let c = call_with(e, None).await;
    let mut events = c.engine.take_events(&c.id).unwrap();
    for seq in 1..=16 {
        c.a_to_b(seq).await;
        c.b_to_a(seq).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // 800 ms of audio, almost all of it forwarded by the kernel: no timeout
    assert!(events.try_recv().is_err(), "no timeout while audio flows");
    assert!(c.stats(Leg::A).packets_offloaded >= 14);
    let ev = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
    assert!(
        matches!(ev, Some(MediaEvent::Timeout { .. })),
        "silence: {ev:?}"
    );
}
