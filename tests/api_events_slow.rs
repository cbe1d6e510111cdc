//! A WebSocket listener that falls behind is closed with code 1008 and a reason, and the
//! publisher never waits for it: the test publishes far more events than the bus holds
//! while the connection's task cannot run (single-threaded runtime), so its receiver lags.

mod api_support;

use api_support::{start, ADMIN, WAIT};
use futures_util::StreamExt;
use switchboard::events::{Event, Topic, DEFAULT_CAPACITY};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_slow_listener_is_dropped_with_a_reason() {
    let h = start().await;
    let url = format!("ws://{}/api/v1/events?topics=system&token={ADMIN}", h.http);
    let (mut slow, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    let url = format!("ws://{}/api/v1/events?topics=call&token={ADMIN}", h.http);
    let (mut other, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");

    // Synchronous publishing: no other task runs until it is done.
    for n in 0..DEFAULT_CAPACITY * 3 {
        h.running.events.publish(Event {
            topic: Topic::System,
            kind: "system.test".into(),
            at: chrono::Utc::now(),
            data: serde_json::json!({ "n": n }),
        });
    }

    let mut close = None;
    while let Some(msg) = tokio::time::timeout(WAIT, slow.next())
        .await
        .expect("the server acts")
    {
        match msg.expect("frame") {
            Message::Close(frame) => {
                close = frame;
                break;
            }
            Message::Text(t) => panic!("a lagging listener got an event: {t}"),
            _ => {}
        }
    }
    let frame = close.expect("a close frame with a reason");
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(
        frame.reason.as_str().contains("too slow"),
        "{}",
        frame.reason
    );

    // Listeners are independent: the other one (calls only) also lagged on the same bus
    // and was closed the same way; a new one connects and works.
    let msg = tokio::time::timeout(WAIT, other.next())
        .await
        .expect("the server acts");
    assert!(matches!(msg, Some(Ok(Message::Close(Some(_))))), "{msg:?}");
    let url = format!("ws://{}/api/v1/events?topics=system&token={ADMIN}", h.http);
    let (mut fresh, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    h.running.events.publish(Event {
        topic: Topic::System,
        kind: "system.after".into(),
        at: chrono::Utc::now(),
        data: serde_json::json!({}),
    });
    let msg = tokio::time::timeout(WAIT, fresh.next())
        .await
        .expect("event")
        .expect("open")
        .expect("frame");
    assert!(
        msg.to_text().unwrap_or("").contains("system.after"),
        "{msg:?}"
    );
    h.stop().await;
}
