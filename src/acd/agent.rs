//! One agent: a person logged in on an endpoint, their state machine and the time they
//! spend in each state.
//!
//! ```text
//!             login                 offer            Ring sent          answer won
//! LoggedOut ───────► Available ───────► Reserved ───────► Ringing ───────► OnCall
//!     ▲    ◄─────── │  ▲   ▲                                  │ timeout/refused  │ call ended
//!     │    logout   │  │   └──────────────────────────────────┘ (miss; N misses │
//!     │      pause  ▼  │ unpause                                  → Paused)     ▼
//!     └────────── Paused(reason) ◄──────────── deferred pause ───────────── WrapUp
//!                                                       wrap-up over / EndWrapUp ─► Available
//! ```
//! An op that cannot apply now (pause or logout during a call) is kept and applied when
//! the call ends. `reachable` follows the endpoint's registration: an unreachable agent
//! keeps its state but is not offered calls.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::events::AgentEvent;
use super::{AgentId, CallRef};

/// Agent states (the trade's names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum AgentState {
    LoggedOut,
    Available,
    /// Chosen for a call; the ring is about to go out.
    Reserved,
    Ringing,
    OnCall,
    WrapUp,
    Paused(String),
}

impl AgentState {
    pub fn is_logged_in(&self) -> bool {
        *self != AgentState::LoggedOut
    }

    /// The state holds a call reference (reserved for, ringing for, or on it).
    pub fn has_call(&self) -> bool {
        matches!(
            self,
            AgentState::Reserved | AgentState::Ringing | AgentState::OnCall
        )
    }
}

/// What an agent (or the API, or a star code) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AgentOp {
    Login,
    Logout,
    Pause { reason: String },
    Unpause,
    EndWrapUp,
}

impl AgentOp {
    /// From the dialplan's `queue_agent` action (`reason` only matters for pause;
    /// a pause without one gets `"break"`).
    pub fn from_dialplan(op: crate::dialplan::AgentOp, reason: Option<String>) -> Self {
        use crate::dialplan::AgentOp as D;
        match op {
            D::Login => AgentOp::Login,
            D::Logout => AgentOp::Logout,
            D::Pause => AgentOp::Pause {
                reason: reason.unwrap_or_else(|| "break".into()),
            },
            D::Unpause => AgentOp::Unpause,
        }
    }
}

/// An op kept until the agent's call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Deferred {
    Pause(String),
    Logout,
}

/// Accumulated time per kind of state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateTimes {
    pub available: Duration,
    /// Reserved + Ringing.
    pub ringing: Duration,
    pub talk: Duration,
    pub wrap: Duration,
    pub pause: Duration,
}

impl StateTimes {
    fn add(&mut self, state: &AgentState, d: Duration) {
        let slot = match state {
            AgentState::LoggedOut => return,
            AgentState::Available => &mut self.available,
            AgentState::Reserved | AgentState::Ringing => &mut self.ringing,
            AgentState::OnCall => &mut self.talk,
            AgentState::WrapUp => &mut self.wrap,
            AgentState::Paused(_) => &mut self.pause,
        };
        *slot += d;
    }
}

/// A read-only view of one agent for the API and dashboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentSnapshot {
    pub id: AgentId,
    pub endpoint: String,
    pub state: AgentState,
    #[serde(skip)]
    pub since: Option<Instant>,
    pub reachable: bool,
    pub call: Option<CallRef>,
    /// Calls answered (bridged) since start.
    pub calls: u64,
    /// Offers not taken (timeouts and refusals), total and in a row.
    pub missed: u64,
    pub missed_in_row: u32,
    /// Time per state, including the current one up to `now`.
    pub times: StateTimes,
}

/// The live agent.
#[derive(Debug, Clone)]
pub(super) struct Agent {
    pub id: AgentId,
    pub endpoint: String,
    pub skills: BTreeMap<String, u8>,
    /// Queue → tier.
    pub queues: BTreeMap<String, u32>,
    pub state: AgentState,
    /// When the current state began (`None` until the first transition).
    pub since: Option<Instant>,
    pub reachable: bool,
    /// The call while Reserved, Ringing or OnCall, with its queue.
    pub call: Option<(CallRef, String)>,
    /// Idle since (login or last call's end): the longest-idle key.
    pub idle_since: Option<Instant>,
    pub wrap_until: Option<Instant>,
    pub deferred: Option<Deferred>,
    /// The agent left the configuration: logged out once idle, then dropped.
    pub removed: bool,
    pub calls: u64,
    pub missed: u64,
    pub missed_in_row: u32,
    pub times: StateTimes,
}

impl Agent {
    pub fn new(
        id: AgentId,
        endpoint: String,
        skills: BTreeMap<String, u8>,
        reachable: bool,
    ) -> Self {
        Self {
            id,
            endpoint,
            skills,
            queues: BTreeMap::new(),
            state: AgentState::LoggedOut,
            since: None,
            reachable,
            call: None,
            idle_since: None,
            wrap_until: None,
            deferred: None,
            removed: false,
            calls: 0,
            missed: 0,
            missed_in_row: 0,
            times: StateTimes::default(),
        }
    }

    /// Moves to `to`, accounting the time spent in the old state. Returns the event, or
    /// `None` when nothing changed.
    pub fn set(&mut self, to: AgentState, now: Instant, reason: &str) -> Option<AgentEvent> {
        if self.state == to {
            return None;
        }
        let spent = self
            .since
            .map(|s| now.saturating_duration_since(s))
            .unwrap_or_default();
        self.times.add(&self.state, spent);
        let from = std::mem::replace(&mut self.state, to.clone());
        self.since = Some(now);
        if to != AgentState::WrapUp {
            self.wrap_until = None;
        }
        let call = self.call.as_ref().map(|(c, _)| c.clone());
        if !to.has_call() {
            self.call = None;
        }
        Some(AgentEvent {
            agent: self.id.clone(),
            from,
            to,
            at: now,
            reason: reason.to_string(),
            call,
        })
    }

    /// Can be offered a call of `queue` right now.
    pub fn offerable(&self, queue: &str) -> bool {
        self.state == AgentState::Available
            && self.reachable
            && !self.removed
            && self.queues.contains_key(queue)
    }

    pub fn skill(&self, name: &str) -> u8 {
        self.skills.get(name).copied().unwrap_or(0)
    }

    /// The call this agent holds, if it is `call`.
    pub fn holds(&self, call: &CallRef) -> bool {
        self.call.as_ref().is_some_and(|(c, _)| c == call)
    }

    pub fn snapshot(&self, now: Instant) -> AgentSnapshot {
        let mut times = self.times;
        let spent = self.since.map(|s| now.saturating_duration_since(s));
        times.add(&self.state, spent.unwrap_or_default());
        AgentSnapshot {
            id: self.id.clone(),
            endpoint: self.endpoint.clone(),
            state: self.state.clone(),
            since: self.since,
            reachable: self.reachable,
            call: self.call.as_ref().map(|(c, _)| c.clone()),
            calls: self.calls,
            missed: self.missed,
            missed_in_row: self.missed_in_row,
            times,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(_t0: Instant) -> Agent {
        Agent::new(AgentId("a".into()), "1001".into(), BTreeMap::new(), true)
    }

    #[test]
    fn time_in_state_is_accounted_on_each_transition() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut a = agent(t0);
        a.set(AgentState::Available, s(10), "login");
        a.set(AgentState::Ringing, s(15), "offer");
        a.set(AgentState::OnCall, s(18), "answered");
        a.set(AgentState::WrapUp, s(78), "call_ended");
        a.set(AgentState::Paused("lunch".into()), s(88), "pause");
        let snap = a.snapshot(s(100));
        assert_eq!(snap.times.available, Duration::from_secs(5));
        assert_eq!(snap.times.ringing, Duration::from_secs(3));
        assert_eq!(snap.times.talk, Duration::from_secs(60));
        assert_eq!(snap.times.wrap, Duration::from_secs(10));
        assert_eq!(snap.times.pause, Duration::from_secs(12));
    }

    #[test]
    fn same_state_is_no_transition_and_pause_reasons_differ() {
        let t0 = Instant::now();
        let mut a = agent(t0);
        assert!(a.set(AgentState::LoggedOut, t0, "x").is_none());
        a.set(AgentState::Paused("lunch".into()), t0, "pause");
        let ev = a.set(AgentState::Paused("meeting".into()), t0, "pause");
        assert!(ev.is_some_and(|e| e.from == AgentState::Paused("lunch".into())));
    }

    #[test]
    fn leaving_a_call_state_drops_the_call() {
        let t0 = Instant::now();
        let mut a = agent(t0);
        a.call = Some((CallRef("c".into()), "q".into()));
        a.set(AgentState::Ringing, t0, "offer");
        assert!(a.holds(&CallRef("c".into())));
        let ev = a.set(AgentState::Available, t0, "missed").expect("changed");
        assert_eq!(ev.call, Some(CallRef("c".into())));
        assert!(a.call.is_none());
    }

    #[test]
    fn dialplan_ops_map_with_a_default_pause_reason() {
        use crate::dialplan::AgentOp as D;
        assert_eq!(
            AgentOp::from_dialplan(D::Pause, None),
            AgentOp::Pause {
                reason: "break".into()
            }
        );
        assert_eq!(
            AgentOp::from_dialplan(D::Login, Some("x".into())),
            AgentOp::Login
        );
    }
}
