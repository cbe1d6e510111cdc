//! `GET /api/v1/events?topics=call,agent` (WebSocket): the event bus as JSON text
//! frames, filtered by topic.
//!
//! A listener that falls behind never slows the switch: publishers write to a bounded
//! broadcast channel and move on. When this connection's receiver lags (the channel
//! overwrote events it had not sent yet), the connection is closed with code 1008
//! (policy violation) and a reason naming how many events were lost; the client
//! reconnects and re-reads state over REST. A client that stops reading altogether
//! blocks our send: after [`SEND_TIMEOUT`] the connection is dropped (no close frame can
//! get through a full socket). When the switch stops, clients get 1001 (going away).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use tokio::sync::{broadcast, watch};

use super::auth::{form_pairs, LinkCaller};
use super::error::ApiError;
use super::ApiState;
use crate::events::{Event, Topic};

/// How long one frame may take to go out before the client is considered gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest message a client may send (it has nothing to send but control frames).
pub const MAX_CLIENT_MESSAGE: usize = 4096;

/// `topics=call,queue` → the set; absent or empty → every topic.
pub fn parse_topics(query: Option<&str>) -> Result<HashSet<Topic>, ApiError> {
    let mut topics = HashSet::new();
    for (k, v) in form_pairs(query.unwrap_or("")) {
        match k.as_str() {
            "topics" => {
                for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    topics.insert(
                        t.parse::<Topic>()
                            .map_err(|e| ApiError::unprocessable("topics", e.to_string()))?,
                    );
                }
            }
            "token" => {}
            other => {
                return Err(ApiError::bad_request(
                    format!("unknown query parameter {other:?}"),
                    Some(other),
                ))
            }
        }
    }
    if topics.is_empty() {
        topics.extend(Topic::ALL);
    }
    Ok(topics)
}

/// One text frame of the event stream.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct EventFrame {
    /// call | agent | queue | campaign | system
    pub topic: String,
    /// `call.started`, `call.answered`, `call.ended`, …
    #[schema(rename = "type")]
    pub kind: String,
    /// RFC 3339
    pub at: String,
    /// For call.* events: a CallEventData.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The `data` of `call.*` events: the fields of `GET /api/v1/calls`, plus, on
/// `call.ended`, how the call ended.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct CallEventData {
    pub id: String,
    pub caller: String,
    pub callee: String,
    /// ringing | answered | ended
    pub state: String,
    pub started_at: String,
    pub answered_at: Option<String>,
    /// call.ended only.
    #[schema(required = false)]
    pub ended_at: Option<String>,
    /// call.ended only: normal_clearing, no_answer, busy, admin_hangup, …
    #[schema(required = false)]
    pub cause: Option<String>,
    /// call.ended only: caller | callee | system
    #[schema(required = false)]
    pub hangup_side: Option<String>,
    /// call.ended only: the final SIP status the caller got.
    #[schema(required = false)]
    pub sip_status: Option<u16>,
}

/// Live events (WebSocket upgrade).
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(
        ("topics" = Option<String>, Query, description = "Comma-separated topics: call, agent, queue, campaign, system (default all)"),
        ("token" = Option<String>, Query, description = "API token, for clients that cannot set Authorization"),
    ),
    responses(
        (status = 101, description = "WebSocket: one EventFrame per text frame (call.* data: CallEventData); closed 1008 with a reason when the client falls behind"),
        (status = 401, description = "Missing or wrong token", body = super::error::ErrorBody),
        (status = 422, description = "Unknown topic", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn events(
    State(state): State<Arc<ApiState>>,
    LinkCaller(_caller): LinkCaller,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let topics = parse_topics(query.as_deref())?;
    // Subscribe before answering 101, so every event after the handshake is seen.
    let rx = state.events.subscribe();
    let shutdown = state.shutdown.clone();
    // Clients have nothing to say on this socket beyond pings and close.
    Ok(ws
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| pump(socket, rx, topics, shutdown)))
}

async fn close(socket: &mut WebSocket, code: u16, reason: String) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

async fn pump(
    mut socket: WebSocket,
    mut rx: broadcast::Receiver<Arc<Event>>,
    topics: HashSet<Topic>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if !topics.contains(&ev.topic) {
                        continue;
                    }
                    let Ok(text) = serde_json::to_string(&*ev) else { continue };
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                }
                Err(broadcast::error::RecvError::Lagged(lost)) => {
                    tracing::info!(lost, "event listener too slow: closing its WebSocket");
                    close(&mut socket, close_code::POLICY, format!("too slow: {lost} events dropped; reconnect")).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    close(&mut socket, close_code::AWAY, "switch stopping".into()).await;
                    return;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => {
                close(&mut socket, close_code::AWAY, "switch stopping".into()).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_default_to_all_and_unknown_ones_are_422() {
        assert_eq!(parse_topics(None).expect("ok").len(), Topic::ALL.len());
        let t = parse_topics(Some("topics=call,queue&token=x")).expect("ok");
        assert_eq!(t, HashSet::from([Topic::Call, Topic::Queue]));
        let e = parse_topics(Some("topics=call,calls")).expect_err("422");
        assert_eq!(e.field(), Some("topics"));
        let e = parse_topics(Some("topic=call")).expect_err("400");
        assert_eq!(e.field(), Some("topic"));
    }
}
