//! What the ACD reports for reports and dashboards: every agent state transition and
//! every queue happening (join, answer, abandon, overflow, refusal, callback).
//!
//! Events carry the virtual `Instant` they happened at for in-process consumers; it is
//! not serialized (an `Instant` has no wall-clock meaning), so the runtime stamps wall
//! time when it forwards the JSON.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::agent::AgentState;
use super::{AgentId, CallRef, RefuseReason};

/// One ACD event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AcdEvent {
    Agent(AgentEvent),
    Queue(QueueEvent),
}

/// An agent changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEvent {
    pub agent: AgentId,
    pub from: AgentState,
    pub to: AgentState,
    #[serde(skip)]
    pub at: Instant,
    /// Why: the op (`"login"`, `"pause"`), or what happened (`"missed"`, `"answered"`,
    /// `"caller_left"`, `"wrap_up_over"`, `"unreachable"`, ...).
    pub reason: String,
    /// The call the transition concerns, if any.
    pub call: Option<CallRef>,
}

/// Something happened to a caller in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEvent {
    pub queue: String,
    pub call: Option<CallRef>,
    #[serde(skip)]
    pub at: Instant,
    #[serde(flatten)]
    pub what: QueueHappening,
}

/// The kinds of queue events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum QueueHappening {
    Join {
        caller_id: String,
        position: usize,
    },
    Answer {
        agent: AgentId,
        #[serde(rename = "wait_ms", with = "millis")]
        wait: Duration,
    },
    Abandon {
        position: usize,
        #[serde(rename = "wait_ms", with = "millis")]
        wait: Duration,
    },
    Overflow {
        destination: String,
        #[serde(rename = "wait_ms", with = "millis")]
        wait: Duration,
    },
    Refuse {
        reason: RefuseReason,
    },
    /// The caller left a number and hung up; its place is kept.
    CallbackKept {
        number: String,
    },
    /// A kept callback reached the head with an agent free.
    CallbackDue {
        number: String,
        #[serde(rename = "wait_ms", with = "millis")]
        wait: Duration,
    },
    /// The bridged call ended.
    Complete {
        agent: AgentId,
        #[serde(rename = "talk_ms", with = "millis")]
        talk: Duration,
    },
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
