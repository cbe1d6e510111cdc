//! A measurement, not a test (ignored by default; asserts nothing about time): how closely a
//! prompt's packets follow the 20 ms schedule at a phone on loopback. Prints the span of
//! 500 packets against 500 × 20 ms (drift), the inter-arrival distribution and the worst
//! deviation of any packet from its slot.
//!
//! cargo test --release --test media_apps_pacing -- --ignored --nocapture

use std::time::Instant;

use switchboard::media::prompt::Prompt;
use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine};
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn prompt_pacing_at_the_phone() {
    let engine = MediaEngine::new(MediaConfig::new(
        "127.0.0.1".parse().unwrap(),
        22500..=22509,
    ))
    .unwrap();
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let id = MediaCallId::from("pacing");
    engine
        .offer(&id, Leg::A, Some(a.local_addr().unwrap()))
        .unwrap();
    let n = 500usize;
    let prompt = Prompt::from_samples(vec![100; 160 * n]);
    engine.play(&id, Leg::A, prompt.source(), 1).unwrap();
    let mut buf = [0u8; 2048];
    let mut at = Vec::with_capacity(n);
    for _ in 0..n {
        a.recv(&mut buf).await.unwrap();
        at.push(Instant::now());
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let mut gaps: Vec<f64> = at.windows(2).map(|w| ms(w[1] - w[0])).collect();
    gaps.sort_by(f64::total_cmp);
    let span = ms(at[n - 1] - at[0]);
    let worst = at
        .iter()
        .enumerate()
        .map(|(k, t)| (ms(*t - at[0]) - 20.0 * k as f64).abs())
        .fold(0.0, f64::max);
    let q = |p: usize| gaps[(gaps.len() - 1) * p / 100];
    println!(
        "{n} packets: span {span:.2} ms for {} ms of audio (drift {:+.3} ms); inter-arrival min {:.3} p50 {:.3} p99 {:.3} max {:.3} ms; worst packet {worst:.3} ms off its slot",
        20 * (n - 1),
        span - 20.0 * (n - 1) as f64,
        gaps[0],
        q(50),
        q(99),
        gaps[gaps.len() - 1],
    );
}
