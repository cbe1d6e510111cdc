//! The relay's own threads (`relay-N`, `MediaConfig::relay_threads`): calls spread over
//! several relay threads all relay both ways, `delete` returns the ports once the owning
//! thread has closed the sockets, and the threads end with the engine. One test in this
//! binary, so the thread count it reads is its own.

mod media_support;

use media_support::{calls, recv, until};
use switchboard::media::{Leg, MediaConfig, MediaEngine, RelatchPolicy};

fn relay_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("relay-"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

#[tokio::test]
async fn calls_on_several_relay_threads_relay_both_ways_and_the_threads_end_with_the_engine() {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), 22600..=22619);
    config.relay_threads = 3;
    config.relatch = RelatchPolicy::Never;
    let engine = MediaEngine::new(config).unwrap();
    // a thread names itself when it first runs
    until(|| relay_threads() == 3, "three relay threads").await;
    let calls = calls(&engine, "t", 5).await;
    for (k, (id, a, b, ep_a, ep_b)) in calls.iter().enumerate() {
        let ssrc = k as u32 + 1;
        a.send_to(&rtp(1, ssrc), ep_a.rtp).await.unwrap();
        assert_eq!(recv(b).await, (rtp(1, ssrc), ep_b.rtp), "call {id}: A to B");
        b.send_to(&rtp(7, ssrc + 100), ep_b.rtp).await.unwrap();
        assert_eq!(
            recv(a).await,
            (rtp(7, ssrc + 100), ep_a.rtp),
            "call {id}: B to A"
        );
        let s = engine.stats(id).unwrap();
        assert_eq!(
            (s.leg(Leg::A).packets_in, s.leg(Leg::B).packets_out),
            (1, 1)
        );
    }
    // 5 calls × 2 legs of the 10 pairs in 22600..=22619
    assert_eq!(engine.ports_available(), 0);
    let (first, ..) = &calls[0];
    assert!(engine.delete(first).await);
    assert_eq!(engine.ports_available(), 2, "both legs' pairs back at once");
    drop(calls);

    drop(engine);
    until(|| relay_threads() == 0, "relay threads end with the engine").await;
}
