//! A real SIP call over UDP through the real switch, seen from the operations surface:
//! the WebSocket stream gets call.started, call.answered, call.ended in order; the call
//! is listed live and hung up with DELETE (both legs get a BYE); its CDR is found by
//! search and in the CSV export; /stats and /metrics count it.

mod api_support;

use api_support::{answer_bye, start, Harness, ADMIN, SUPERVISOR, WAIT};
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(h: &Harness, query: &str) -> Ws {
    let url = format!("ws://{}/api/v1/events?{query}", h.http);
    let (ws, resp) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket handshake");
    assert_eq!(resp.status(), 101);
    ws
}

async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an event arrives")
            .expect("stream open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let event: Value = serde_json::from_str(t.as_str()).expect("event JSON");
            // Frames and call data are what the OpenAPI document describes.
            let doc = api_support::schema::document();
            let schemas = &doc["components"]["schemas"];
            let check =
                |schema: &Value, v: &Value| api_support::schema::validate(&doc, schema, v, "$");
            assert_eq!(check(&schemas["EventFrame"], &event), Ok(()), "{event}");
            if event["topic"] == "call" {
                assert_eq!(
                    check(&schemas["CallEventData"], &event["data"]),
                    Ok(()),
                    "{event}"
                );
            }
            return event;
        }
    }
}

/// Polls (bounded) until `f` holds: the store writer commits CDRs off the signalling path.
async fn eventually<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // A bounded wait for an asynchronous commit, not a timing assertion.
    for _ in 0..500 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn a_real_call_is_streamed_listed_hung_up_and_recorded() {
    let h = start().await;
    let mut ws = connect(&h, &format!("topics=call&token={SUPERVISOR}")).await;
    let mut other_topics = connect(&h, &format!("topics=queue,agent&token={ADMIN}")).await;

    let sip_call_id = h.answered_call("5551234").await;

    let started = next_event(&mut ws).await;
    assert_eq!(started["topic"], "call");
    assert_eq!(started["type"], "call.started", "{started}");
    assert_eq!(started["data"]["callee"], "5551234");
    assert_eq!(started["data"]["state"], "ringing");
    let id = started["data"]["id"].as_str().expect("id").to_string();
    let answered = next_event(&mut ws).await;
    assert_eq!(answered["type"], "call.answered", "{answered}");
    assert_eq!(answered["data"]["id"], id.as_str());
    assert!(answered["data"]["answered_at"].is_string());

    // Listed live, answered.
    let calls = h.get_json("/api/v1/calls", SUPERVISOR).await;
    let calls = calls.as_array().expect("array");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["id"], id.as_str());
    assert_eq!(calls[0]["state"], "answered");
    assert_eq!(calls[0]["callee"], "5551234");
    // The event carries the same fields as the list.
    for k in [
        "id",
        "caller",
        "callee",
        "state",
        "started_at",
        "answered_at",
    ] {
        assert!(
            calls[0].get(k).is_some() && answered["data"].get(k).is_some(),
            "{k}"
        );
    }
    let stats = h.get_json("/api/v1/stats", SUPERVISOR).await;
    assert_eq!(stats["active_calls"], 1);
    assert_eq!(stats["calls_total"], 1);

    // Hang up through the API: both legs get a BYE.
    let del = h
        .client
        .delete(h.url(&format!("/api/v1/calls/{id}")))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(del.status(), 204);
    tokio::join!(answer_bye(&h.caller), answer_bye(&h.callee));
    let ended = next_event(&mut ws).await;
    assert_eq!(ended["type"], "call.ended", "{ended}");
    assert_eq!(ended["data"]["id"], id.as_str());
    assert_eq!(ended["data"]["cause"], "admin_hangup");
    let again = h
        .client
        .delete(h.url(&format!("/api/v1/calls/{id}")))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(again.status(), 404);

    // The CDR, by search and in the CSV export.
    let path = "/api/v1/cdrs?callee=5551234&status=answered&limit=10";
    eventually(|| async {
        h.get_json(path, SUPERVISOR)
            .await
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    let cdrs = h.get_json(path, SUPERVISOR).await;
    let cdr = &cdrs[0];
    assert_eq!(cdr["id"], id.as_str());
    assert_eq!(cdr["call_id"], sip_call_id.as_str());
    assert_eq!(cdr["status"], "answered");
    assert_eq!(cdr["cause"], "admin_hangup");
    assert_eq!(cdr["hangup_side"], "system");
    assert!(cdr["billable_s"].as_f64().is_some_and(|b| b >= 0.0));
    assert_eq!(
        h.get_json("/api/v1/cdrs?caller=nobody", SUPERVISOR).await,
        Value::Array(vec![])
    );
    assert_eq!(
        h.get_json("/api/v1/cdrs?status=cancelled", SUPERVISOR)
            .await,
        Value::Array(vec![])
    );

    // CSV with a plain link (token in the query).
    let csv = h
        .client
        .get(h.url(&format!(
            "/api/v1/cdrs.csv?callee=5551234&token={SUPERVISOR}"
        )))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/csv"));
    let text = csv.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,call_id,caller,callee,"), "{text}");
    assert!(
        lines[1].starts_with(&format!("{id},{sip_call_id},")),
        "{text}"
    );
    assert!(
        lines[1].ends_with(",answered,200,system,admin_hangup"),
        "{text}"
    );

    // Metrics count the call and the requests.
    let metrics = h.metrics_when_idle().await;
    assert!(
        metrics.contains("\nswitchboard_calls_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nswitchboard_active_calls 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_http_requests_total{route=\"/api/v1/calls/{id}\",method=\"DELETE\",status=\"204\"} 1"), "{metrics}");
    assert!(
        !metrics.contains("switchboard_store_write_seconds_count 0\n"),
        "{metrics}"
    );

    // The other listener asked for queue/agent events only: the first thing it gets is
    // the queue event published after the call, not the call's events.
    h.running.events.publish(switchboard::events::Event {
        topic: switchboard::events::Topic::Queue,
        kind: "queue.test".into(),
        at: chrono::Utc::now(),
        data: serde_json::json!({}),
    });
    let first = next_event(&mut other_topics).await;
    assert_eq!(first["type"], "queue.test", "{first}");
    h.stop().await;
}

#[tokio::test]
async fn the_event_stream_needs_a_token_and_known_topics() {
    let h = start().await;
    let url = format!("ws://{}/api/v1/events?topics=call", h.http);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
    let url = format!("ws://{}/api/v1/events?topics=calls&token={ADMIN}", h.http);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 422),
        other => panic!("expected a 422, got {other:?}"),
    }
    h.stop().await;
}

#[tokio::test]
async fn a_ringing_call_hung_up_by_the_api_gets_480_and_its_fork_a_cancel() {
    let h = start().await;
    let (_, b_invite, b_from) = h.ringing_call("5550000").await;
    let calls = h.get_json("/api/v1/calls", SUPERVISOR).await;
    assert_eq!(calls[0]["state"], "ringing", "{calls}");
    assert!(calls[0]["answered_at"].is_null());
    let id = calls[0]["id"].as_str().expect("id").to_string();

    let del = h
        .client
        .delete(h.url(&format!("/api/v1/calls/{id}")))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(del.status(), 204);
    // The caller is refused; the callee's INVITE is cancelled (200 to CANCEL, 487 to INVITE).
    let refused = api_support::recv_response(&h.caller, 480).await;
    assert!(refused.contains("ring-5550000@api.test"), "{refused}");
    let (cancel, from) = api_support::recv_request(&h.callee, "CANCEL").await;
    h.callee
        .send_to(
            api_support::respond(&cancel, 200, "OK", ";tag=b2").as_bytes(),
            from,
        )
        .await
        .expect("send");
    h.callee
        .send_to(
            api_support::respond(&b_invite, 487, "Request Terminated", ";tag=b2").as_bytes(),
            b_from,
        )
        .await
        .expect("send");

    let path = "/api/v1/cdrs?callee=5550000";
    eventually(|| async {
        h.get_json(path, SUPERVISOR)
            .await
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    let cdr = &h.get_json(path, SUPERVISOR).await[0];
    assert_eq!(cdr["id"], id.as_str());
    assert_eq!(cdr["cause"], "admin_hangup");
    assert_eq!(cdr["status"], "failed");
    assert_eq!(cdr["sip_status"], 480);
    assert!(cdr["answered_at"].is_null());
    assert_eq!(
        h.get_json("/api/v1/calls", SUPERVISOR).await,
        Value::Array(vec![])
    );
    h.stop().await;
}
