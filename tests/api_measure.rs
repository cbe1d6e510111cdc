//! Figures, not tests (ignored by default; no assertion on time): HTTP request cost and
//! WebSocket event delivery on the real switch. Run:
//! `cargo test --release --test api_measure -- --ignored --nocapture`

mod api_support;

use std::time::Instant;

use futures_util::StreamExt;
use switchboard::events::{Event, Topic, DEFAULT_CAPACITY};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn http_and_event_stream_figures() {
    let h = api_support::start().await;
    let requests = 2000;
    let t = Instant::now();
    for _ in 0..requests {
        let r = h
            .get("/api/v1/stats", api_support::ADMIN)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(r.status(), 200);
    }
    println!(
        "GET /api/v1/stats, one keep-alive client: {:?} per request",
        t.elapsed() / requests
    );

    let url = format!(
        "ws://{}/api/v1/events?topics=system&token={}",
        h.http,
        api_support::ADMIN
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    // A burst that fits the bus: the time to publish it, and to deliver it all.
    let n = DEFAULT_CAPACITY - 96;
    let t = Instant::now();
    for i in 0..n {
        h.running.events.publish(Event {
            topic: Topic::System,
            kind: "system.measure".into(),
            at: chrono::Utc::now(),
            data: serde_json::json!({ "n": i }),
        });
    }
    let published = t.elapsed();
    let mut got = 0;
    while got < n {
        match ws.next().await.expect("open").expect("frame") {
            Message::Text(_) => got += 1,
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
    let delivered = t.elapsed();
    println!(
        "{n} events: published in {published:?} ({:.0}/s), delivered to one WebSocket in {delivered:?} ({:.0}/s)",
        n as f64 / published.as_secs_f64(),
        n as f64 / delivered.as_secs_f64()
    );
    h.stop().await;
}
