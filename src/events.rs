//! The crate-level event bus: what happened to calls (and later agents, queues,
//! campaigns), published by the layers that know it and read by whoever listens (the
//! WebSocket stream of [`crate::api`] today). Publishers never wait: the bus is a
//! bounded tokio `broadcast` channel, so a listener that falls behind loses events (it
//! sees `Lagged` and is expected to give up), while calls go on at full speed.
//!
//! This module imports no other switchboard module; the layers that publish import it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// How many events a listener may fall behind before it lags.
pub const DEFAULT_CAPACITY: usize = 4096;

/// The stream an event belongs to; listeners filter by topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    Call,
    Agent,
    Queue,
    Campaign,
    System,
}

impl Topic {
    pub const ALL: [Topic; 5] = [
        Topic::Call,
        Topic::Agent,
        Topic::Queue,
        Topic::Campaign,
        Topic::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Call => "call",
            Topic::Agent => "agent",
            Topic::Queue => "queue",
            Topic::Campaign => "campaign",
            Topic::System => "system",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A topic name that is not one of [`Topic::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic \"{0}\" (expected call, agent, queue, campaign or system)")]
pub struct UnknownTopic(pub String);

impl FromStr for Topic {
    type Err = UnknownTopic;
    fn from_str(s: &str) -> Result<Topic, UnknownTopic> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTopic(s.to_string()))
    }
}

/// One event: `{"topic":"call","type":"call.started","at":"RFC3339","data":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub topic: Topic,
    /// `call.started`, `call.answered`, `call.ended`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// Cheap to clone; every clone publishes to the same listeners.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(DEFAULT_CAPACITY)
    }
}

impl EventBus {
    /// A bus on which a listener may fall `capacity` events behind before it lags.
    pub fn new(capacity: usize) -> EventBus {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus { tx }
    }

    /// Publishes to every current listener; never waits, and is a no-op without listeners.
    pub fn publish(&self, event: Event) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(event));
        }
    }

    /// A new listener, seeing events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Whether anyone listens (publishers may skip building events otherwise).
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> Event {
        Event {
            topic: Topic::Call,
            kind: kind.into(),
            at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default(),
            data: serde_json::json!({"id": "x"}),
        }
    }

    #[test]
    fn serialises_with_the_contract_field_names() {
        let json = serde_json::to_value(event("call.started")).expect("json");
        assert_eq!(json["topic"], "call");
        assert_eq!(json["type"], "call.started");
        assert_eq!(json["at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["data"]["id"], "x");
    }

    #[test]
    fn topics_parse_and_reject_unknown_names() {
        for t in Topic::ALL {
            assert_eq!(t.as_str().parse::<Topic>(), Ok(t));
        }
        assert_eq!("calls".parse::<Topic>(), Err(UnknownTopic("calls".into())));
    }

    #[tokio::test]
    async fn a_lagging_listener_loses_events_but_publishers_never_block() {
        let bus = EventBus::new(2);
        let mut slow = bus.subscribe();
        for n in 0..10 {
            bus.publish(event(&format!("e{n}")));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(8))
        ));
        assert_eq!(
            slow.recv().await.map(|e| e.kind.clone()).ok(),
            Some("e8".into())
        );
    }

    #[test]
    fn publishing_without_listeners_is_fine() {
        let bus = EventBus::default();
        assert!(!bus.has_listeners());
        bus.publish(event("call.started"));
    }
}
