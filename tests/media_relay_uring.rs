//! The relay with `relay_io = io_uring` (a round's sends in one `io_uring_enter`) against
//! the default `sendto`, over real UDP sockets on 127.0.0.1: many calls sending at once
//! (rounds of many datagrams) all arrive intact from the right port, a prompt the switch
//! plays is counted as played, and a send the kernel refuses is taken back out of the
//! counters and counted as dropped. One test per mode and fact; where io_uring is refused
//! (seccomp, `kernel.io_uring_disabled`) the relay falls back to `sendto` and the same
//! assertions hold.

mod media_support;

use media_support::{calls, recv, until};
use switchboard::media::prompt::Prompt;
use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RelatchPolicy, RelayIo};
use tokio::net::UdpSocket;

fn engine(ports: std::ops::RangeInclusive<u16>, io: RelayIo) -> MediaEngine {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), ports);
    config.relatch = RelatchPolicy::Never;
    config.relay_io = io;
    MediaEngine::new(config).unwrap()
}

/// Whether this process holds an io_uring (the relay thread's, once it has started).
fn holds_io_uring() -> bool {
    std::fs::read_dir("/proc/self/fd").is_ok_and(|d| {
        d.flatten().any(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().contains("io_uring"))
        })
    })
}

fn io_uring_allowed() -> bool {
    // the same setup call the relay makes; a refused one is the fallback case
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").map_or(true, |v| v.trim() == "0")
}

fn rtp(seq: u16, ssrc: u32, fill: u8) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[fill; 160]);
    p
}

/// 24 calls; every A phone sends 5 packets before anyone reads, then every B phone: the
/// relay thread finds many ready sockets per round and sends them in one batch.
async fn many_calls_relay_intact(io: RelayIo, ports: std::ops::RangeInclusive<u16>) {
    const CALLS: usize = 24; // 4 ports each: 96 of the 100
    let engine = engine(ports, io);
    let calls = calls(&engine, "u", CALLS).await;
    for (k, (_, a, b, ep_a, ep_b)) in calls.iter().enumerate() {
        for seq in 0..5 {
            a.send_to(&rtp(seq, k as u32, k as u8), ep_a.rtp)
                .await
                .unwrap();
            b.send_to(&rtp(seq, 1000 + k as u32, !(k as u8)), ep_b.rtp)
                .await
                .unwrap();
        }
    }
    for (k, (id, a, b, ep_a, ep_b)) in calls.iter().enumerate() {
        for seq in 0..5 {
            assert_eq!(
                recv(b).await,
                (rtp(seq, k as u32, k as u8), ep_b.rtp),
                "call {k}: A to B"
            );
            assert_eq!(
                recv(a).await,
                (rtp(seq, 1000 + k as u32, !(k as u8)), ep_a.rtp),
                "call {k}: B to A"
            );
        }
        let s = engine.stats(id).unwrap();
        assert_eq!(
            (s.leg(Leg::B).packets_out, s.leg(Leg::A).packets_out),
            (5, 5)
        );
        assert_eq!(
            (s.leg(Leg::B).bytes_out, s.leg(Leg::A).dropped_send),
            (5 * 172, 0)
        );
    }
    if io == RelayIo::IoUring && io_uring_allowed() {
        assert!(holds_io_uring(), "the relay thread set up its io_uring");
    }
}

#[tokio::test]
async fn io_uring_many_calls_relay_intact_from_the_right_port() {
    many_calls_relay_intact(RelayIo::IoUring, 22700..=22799).await;
}

#[tokio::test]
async fn sendto_many_calls_relay_intact_from_the_right_port() {
    many_calls_relay_intact(RelayIo::Epoll, 22800..=22899).await;
}

/// A prompt the switch plays goes out through the same path and counts as played.
async fn a_prompt_is_played(io: RelayIo, ports: std::ops::RangeInclusive<u16>) {
    let engine = engine(ports, io);
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let id = MediaCallId::from("ivr");
    let ep_a = engine
        .offer(&id, Leg::A, Some(a.local_addr().unwrap()))
        .unwrap();
    let prompt = Prompt::from_samples(vec![1000; 3 * 160]);
    engine.play(&id, Leg::A, prompt.source(), 1).unwrap();
    for _ in 0..3 {
        assert_eq!(recv(&a).await.1, ep_a.rtp);
    }
    let s = engine.stats(&id).unwrap();
    assert_eq!((s.leg(Leg::A).played, s.leg(Leg::A).packets_out), (3, 3));
}

#[tokio::test]
async fn io_uring_a_prompt_is_played_and_counted() {
    a_prompt_is_played(RelayIo::IoUring, 22900..=22909).await;
}

/// B's SDP names an IPv6 address the relay's IPv4 socket cannot send to: every relayed
/// packet fails in the kernel, is taken back out of B's out counters and is charged to A.
async fn a_refused_send_is_counted_as_dropped(io: RelayIo, ports: std::ops::RangeInclusive<u16>) {
    let engine = engine(ports, io);
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let id = MediaCallId::from("v6");
    let ep_a = engine
        .offer(&id, Leg::A, Some(a.local_addr().unwrap()))
        .unwrap();
    engine
        .answer(&id, Leg::B, Some("[::1]:9".parse().unwrap()))
        .unwrap();
    for seq in 0..4 {
        a.send_to(&rtp(seq, 7, 0), ep_a.rtp).await.unwrap();
    }
    until(
        || {
            engine
                .stats(&id)
                .is_some_and(|s| s.leg(Leg::A).dropped_send == 4)
        },
        "four sends refused and counted",
    )
    .await;
    let s = engine.stats(&id).unwrap();
    assert_eq!(
        (
            s.leg(Leg::A).packets_in,
            s.leg(Leg::B).packets_out,
            s.leg(Leg::B).bytes_out
        ),
        (4, 0, 0)
    );
}

#[tokio::test]
async fn io_uring_a_refused_send_is_taken_back_and_counted_as_dropped() {
    a_refused_send_is_counted_as_dropped(RelayIo::IoUring, 22910..=22919).await;
}

#[tokio::test]
async fn sendto_a_refused_send_is_taken_back_and_counted_as_dropped() {
    a_refused_send_is_counted_as_dropped(RelayIo::Epoll, 22920..=22929).await;
}
