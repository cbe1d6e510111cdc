//! [`CallEvents`]: the core task's duty to the operations surface. It turns the switch's
//! call starts and ends into `call.*` events on the [`EventBus`], forwards the other
//! layers' events (agent, queue, voicemail, originate) under their topic, and updates
//! [`Metrics`] (calls, and RTP from each CDR's media counters).
//!
//! `call.answered` is found by looking at the live calls every [`ANSWER_SCAN`] while
//! anyone listens (the switch reports starts and ends, not answers), and is always
//! published before a call's `call.ended`, even for a call that was answered and hung up
//! between two looks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use tokio::sync::mpsc;

use super::dialer::DialerFeed;
use crate::api::metrics::Metrics;
use crate::b2bua::{LiveCallRef, LiveState};
use crate::events::{Event, EventBus, Topic};
use crate::store::{CallStart, Cdr};

/// How often live calls are looked at for answers (while anyone listens).
pub const ANSWER_SCAN: Duration = Duration::from_millis(200);

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An event kind's topic: its prefix (`agent.state` → agent); a recording belongs to its
/// call; `system` when the prefix names no topic.
fn topic_of(kind: &str) -> Topic {
    match kind.split('.').next().unwrap_or("") {
        "recording" => Topic::Call,
        prefix => prefix.parse().unwrap_or(Topic::System),
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// The `data` of call events: the fields of `GET /api/v1/calls`.
fn call_data(
    id: &str,
    caller: &str,
    callee: &str,
    state: &str,
    started: i64,
    answered: Option<i64>,
) -> serde_json::Value {
    json!({
        "id": id,
        "caller": caller,
        "callee": callee,
        "state": state,
        "started_at": rfc3339(started),
        "answered_at": answered.map(rfc3339),
    })
}

/// Publishes `call.*` events and counts calls (owned by the core task).
pub struct CallEvents {
    bus: EventBus,
    metrics: Arc<Metrics>,
    /// Live calls whose `call.answered` went out.
    announced: HashSet<String>,
    /// The dialer task's feed (it must see every outcome, so not through the lossy bus).
    dialer: Option<mpsc::UnboundedSender<DialerFeed>>,
}

impl CallEvents {
    pub fn new(bus: EventBus, metrics: Arc<Metrics>) -> CallEvents {
        CallEvents {
            bus,
            metrics,
            announced: HashSet::new(),
            dialer: None,
        }
    }

    /// Also hands call ends and originate/queue/agent events to the dialer task.
    pub fn feeding(mut self, dialer: mpsc::UnboundedSender<DialerFeed>) -> CallEvents {
        self.dialer = Some(dialer);
        self
    }

    pub fn started(&mut self, c: &CallStart) {
        self.metrics.call_started(c.started_at_ms);
        if self.bus.has_listeners() {
            self.bus.publish(Event {
                topic: Topic::Call,
                kind: "call.started".into(),
                at: at(c.started_at_ms),
                data: call_data(
                    c.id.as_str(),
                    &c.caller,
                    &c.callee,
                    "ringing",
                    c.started_at_ms,
                    None,
                ),
            });
        }
    }

    pub fn ended(&mut self, c: &Cdr) {
        self.metrics.call_ended();
        self.metrics.rtp_call_ended(&c.media);
        let was_announced = self.announced.remove(c.id.as_str());
        if let Some(d) = &self.dialer {
            let _ = d.send(DialerFeed::ended(c));
        }
        if !self.bus.has_listeners() {
            return;
        }
        if let (Some(answered), false) = (c.answered_at_ms, was_announced) {
            self.publish_answered(
                c.id.as_str(),
                &c.caller,
                &c.callee,
                c.started_at_ms,
                answered,
            );
        }
        let mut data = call_data(
            c.id.as_str(),
            &c.caller,
            &c.callee,
            "ended",
            c.started_at_ms,
            c.answered_at_ms,
        );
        data["ended_at"] = json!(rfc3339(c.ended_at_ms));
        data["cause"] = json!(c.hangup_cause);
        data["hangup_side"] = json!(c.hangup_side.as_str());
        data["sip_status"] = json!(c.sip_status);
        self.bus.publish(Event {
            topic: Topic::Call,
            kind: "call.ended".into(),
            at: at(c.ended_at_ms),
            data,
        });
    }

    /// Whether a look at the live calls is worth it now.
    pub fn wants_scan(&self) -> bool {
        self.bus.has_listeners()
    }

    /// Publishes `call.answered` for calls answered since the last look (allocates only
    /// for those).
    pub fn scan<'a>(&mut self, calls: impl Iterator<Item = LiveCallRef<'a>>) {
        for c in calls {
            if let (LiveState::Answered, Some(answered)) = (c.state, c.answered_at_ms) {
                if !self.announced.contains(c.id) {
                    self.announced.insert(c.id.to_string());
                    self.publish_answered(c.id, c.caller, c.callee, c.started_at_ms, answered);
                }
            }
        }
    }

    fn publish_answered(&self, id: &str, caller: &str, callee: &str, started: i64, answered: i64) {
        self.bus.publish(Event {
            topic: Topic::Call,
            kind: "call.answered".into(),
            at: at(answered),
            data: call_data(id, caller, callee, "answered", started, Some(answered)),
        });
    }

    /// Publishes another layer's event (agent, queue, voicemail, originate, recording): the
    /// topic is `topic_of` the kind.
    pub fn forward(&self, kind: &str, data: serde_json::Value, unix_ms: i64) {
        if let Some(d) = self.dialer.as_ref().filter(|_| DialerFeed::wants(kind)) {
            let _ = d.send(DialerFeed::Event {
                kind: kind.to_string(),
                data: data.clone(),
            });
        }
        if !self.bus.has_listeners() {
            return;
        }
        self.bus.publish(Event {
            topic: topic_of(kind),
            kind: kind.to_string(),
            at: at(unix_ms),
            data,
        });
    }

    pub fn set_active(&self, n: usize) {
        self.metrics.set_active_calls(n);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_kinds_map_to_topics() {
        use super::{topic_of, Topic};
        assert_eq!(topic_of("agent.state"), Topic::Agent);
        assert_eq!(topic_of("queue.event"), Topic::Queue);
        assert_eq!(topic_of("recording.started"), Topic::Call);
        assert_eq!(topic_of("voicemail.message"), Topic::System);
        assert_eq!(topic_of("originate"), Topic::System);
    }

    use super::*;
    use crate::b2bua::LiveCall;
    use crate::store::{CallRecordId, HangupSide};

    fn start(id: &str) -> CallStart {
        CallStart {
            id: CallRecordId::from(id.to_string()),
            call_id: "c".into(),
            caller: "1001".into(),
            callee: "1002".into(),
            direction: None,
            started_at_ms: 1_000,
        }
    }

    fn cdr(id: &str, answered: Option<i64>) -> Cdr {
        Cdr {
            id: CallRecordId::from(id.to_string()),
            call_id: "c".into(),
            caller: "1001".into(),
            callee: "1002".into(),
            direction: None,
            started_at_ms: 1_000,
            answered_at_ms: answered,
            ended_at_ms: 5_000,
            duration_ms: 4_000,
            billable_ms: 0,
            sip_status: 200,
            hangup_side: HangupSide::Caller,
            hangup_cause: "normal_clearing".into(),
            legs: Vec::new(),
            media: Vec::new(),
        }
    }

    fn live(id: &str, answered: Option<i64>) -> LiveCall {
        LiveCall {
            id: id.into(),
            caller: "1001".into(),
            callee: "1002".into(),
            state: if answered.is_some() {
                LiveState::Answered
            } else {
                LiveState::Ringing
            },
            started_at_ms: 1_000,
            answered_at_ms: answered,
        }
    }

    fn as_ref(c: &LiveCall) -> LiveCallRef<'_> {
        LiveCallRef {
            id: &c.id,
            caller: &c.caller,
            callee: &c.callee,
            state: c.state,
            started_at_ms: c.started_at_ms,
            answered_at_ms: c.answered_at_ms,
        }
    }

    fn kinds(rx: &mut tokio::sync::broadcast::Receiver<Arc<Event>>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(e.kind.clone());
        }
        out
    }

    #[test]
    fn a_call_yields_started_answered_ended_once_each() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        let mut ev = CallEvents::new(bus, Arc::new(Metrics::new()));
        ev.started(&start("A"));
        ev.scan([live("A", None)].iter().map(as_ref));
        ev.scan([live("A", Some(2_000))].iter().map(as_ref));
        ev.scan([live("A", Some(2_000))].iter().map(as_ref));
        ev.ended(&cdr("A", Some(2_000)));
        assert_eq!(
            kinds(&mut rx),
            ["call.started", "call.answered", "call.ended"]
        );
    }

    #[test]
    fn an_answer_between_two_looks_still_comes_before_the_end() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        let metrics = Arc::new(Metrics::new());
        let mut ev = CallEvents::new(bus, metrics.clone());
        ev.started(&start("B"));
        ev.ended(&cdr("B", Some(2_000)));
        ev.started(&start("C"));
        ev.ended(&cdr("C", None));
        assert_eq!(
            kinds(&mut rx),
            [
                "call.started",
                "call.answered",
                "call.ended",
                "call.started",
                "call.ended"
            ]
        );
        assert_eq!(metrics.calls_total(), 2);
        assert!(ev.announced.is_empty());
    }

    #[test]
    fn other_events_are_filed_under_the_topic_their_kind_names() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        let ev = CallEvents::new(bus, Arc::new(Metrics::new()));
        ev.forward("agent.state", serde_json::json!({"agent": "1001"}), 1_000);
        ev.forward("queue.event", serde_json::json!({}), 1_000);
        ev.forward("voicemail.message", serde_json::json!({}), 1_000);
        let topics: Vec<(Topic, String)> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| (e.topic, e.kind.clone()))
            .collect();
        assert_eq!(
            topics,
            [
                (Topic::Agent, "agent.state".to_string()),
                (Topic::Queue, "queue.event".to_string()),
                (Topic::System, "voicemail.message".to_string()),
            ]
        );
    }

    #[test]
    fn ended_events_carry_the_cause_and_the_call_fields() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        let mut ev = CallEvents::new(bus, Arc::new(Metrics::new()));
        ev.ended(&cdr("D", None));
        let e = rx.try_recv().expect("event");
        assert_eq!(e.topic, Topic::Call);
        assert_eq!(e.data["cause"], "normal_clearing");
        assert_eq!(e.data["id"], "D");
        assert_eq!(e.data["started_at"], "1970-01-01T00:00:01.000Z");
        assert!(e.data["answered_at"].is_null());
    }
}
