//! The ACD (automatic call distribution): agents, queues, strategies and queue
//! statistics of the inbound call center, as one sans-IO state machine.
//!
//! The switch drives an [`Acd`] like every core here: [`Acd::handle`] with an
//! [`AcdInput`] and the current virtual instant, then [`Acd::poll_output`] until it
//! returns `None`, then sleep until [`Acd::poll_timeout`] and call [`Acd::on_timeout`].
//! The ACD never reads the clock, owns no socket and never blocks; the switch carries
//! out [`AcdOutput`]s on calls (ring an agent's phone, bridge, release, announce,
//! overflow) and reports back what happened on them.
//!
//! Race rules (each tested): a caller who leaves while agents ring gets every ring
//! cancelled and the agents back to Available; in a ring-all the first
//! [`AcdInput::AgentAnswered`] wins ([`AcdOutput::Bridge`]) and any later one, or any
//! answer after a [`AcdOutput::CancelRing`], gets [`AcdOutput::Release`]; an agent
//! holds at most one call; a Reserved or Ringing agent always has a pending ring.
//!
//! Files: [`agent`] (agent state machine and time in state), [`queue`] (entries and
//! order), [`strategy`] (selection), [`stats`], [`config`], [`events`], [`star`]
//! (star codes), `offer` (matching callers to agents, timers) and `inputs` (what each
//! input does).

pub mod agent;
pub mod config;
pub mod events;
mod inputs;
mod offer;
pub mod queue;
pub mod star;
pub mod stats;
pub mod strategy;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use agent::{AgentOp, AgentSnapshot, AgentState, StateTimes};
pub use config::{AcdConfig, AfterCall, AgentConfig, Membership, QueueConfig};
pub use events::{AcdEvent, AgentEvent, QueueEvent, QueueHappening};
pub use stats::QueueStats;
pub use strategy::Strategy;

use agent::Agent;
use queue::Queue;

/// An agent's id (a person, not a phone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

/// The switch's key of a call (opaque to the ACD).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CallRef(pub String);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the switch tells the ACD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdInput {
    /// An agent op (API or star code).
    Agent { agent: AgentId, op: AgentOp },
    /// An endpoint's phone registered (`true`) or unregistered / failed (`false`).
    EndpointReachable { endpoint: String, reachable: bool },
    /// A caller enters a queue (the switch has answered it and plays music on hold).
    /// `skills` are requirements (name, minimum level); higher `priority` goes first.
    CallerJoin {
        call: CallRef,
        queue: String,
        caller_id: String,
        skills: Vec<(String, u8)>,
        priority: i32,
    },
    /// A per-call max wait (the dialplan `queue` action's `max_wait_secs`), counted from
    /// the join; overrides the queue's when sent right after `CallerJoin`.
    CallerMaxWait { call: CallRef, max_wait: Duration },
    /// The caller hung up (while waiting, or while an agent rang).
    CallerLeft { call: CallRef },
    /// The agent's leg got a non-2xx final response or could not be sent.
    RingFailed {
        call: CallRef,
        agent: AgentId,
        busy: bool,
    },
    /// The agent's phone answered (its 2xx is held until Bridge or Release).
    AgentAnswered { call: CallRef, agent: AgentId },
    /// The bridged call is over (either side hung up).
    CallEnded { call: CallRef, agent: AgentId },
    /// The caller asked to be called back at `number`; the switch hangs the call up.
    CallbackRequested { call: CallRef, number: String },
}

/// Why a caller is turned away (or leaves without an agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefuseReason {
    NoSuchQueue,
    /// `max_len` reached.
    Full,
    /// No member agent logged in and `join_empty = false`.
    JoinEmpty,
    /// The last member agent logged out and `leave_when_empty = true` (no overflow set).
    LeaveEmpty,
    /// Max wait reached and no overflow destination.
    Timeout,
}

impl RefuseReason {
    /// Asterisk's `${QUEUESTATUS}` value for this outcome.
    pub fn queue_status(self) -> &'static str {
        match self {
            RefuseReason::NoSuchQueue => "NOSUCHQUEUE",
            RefuseReason::Full => "FULL",
            RefuseReason::JoinEmpty => "JOINEMPTY",
            RefuseReason::LeaveEmpty => "LEAVEEMPTY",
            RefuseReason::Timeout => "TIMEOUT",
        }
    }
}

/// What the ACD asks the switch to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdOutput {
    /// Ring the agent's phone for this caller; give up after `timeout`.
    Ring {
        call: CallRef,
        agent: AgentId,
        endpoint: String,
        timeout: Duration,
    },
    /// Stop ringing this agent (lost a race, caller left, ring timeout, agent left).
    CancelRing {
        call: CallRef,
        agent: AgentId,
    },
    /// This agent's answer won: connect caller and agent.
    Bridge {
        call: CallRef,
        agent: AgentId,
    },
    /// This agent answered too late: hang its leg up.
    Release {
        call: CallRef,
        agent: AgentId,
    },
    /// Tell the caller its 1-based position and the estimated wait.
    Announce {
        call: CallRef,
        position: usize,
        estimated_wait: Option<Duration>,
    },
    /// Route the caller to `destination` (`exten` or `context,exten`).
    Overflow {
        call: CallRef,
        destination: String,
    },
    /// The caller is not (or no longer) in the queue; continue its dialplan.
    Refuse {
        call: CallRef,
        reason: RefuseReason,
    },
    /// A kept callback reached the head of `queue` with an agent free: dial `number`.
    CallbackDue {
        queue: String,
        number: String,
    },
    Event(AcdEvent),
}

/// A caller connected to an agent.
#[derive(Debug, Clone)]
struct Bridged {
    queue: String,
    agent: AgentId,
    at: Instant,
}

/// The ACD state machine.
pub struct Acd {
    max_missed: u32,
    after_call: AfterCall,
    reachable_at_start: bool,
    queues: BTreeMap<String, Queue>,
    agents: BTreeMap<AgentId, Agent>,
    /// Live callers in a queue's entries → queue name.
    waiting: BTreeMap<CallRef, String>,
    bridged: BTreeMap<CallRef, Bridged>,
    /// Endpoints reported unreachable (so agents configured later start right).
    unreachable: BTreeSet<String>,
    seq: u64,
    rng: ChaCha8Rng,
    out: VecDeque<AcdOutput>,
}

impl Acd {
    pub fn new(config: AcdConfig) -> Self {
        let mut acd = Self {
            max_missed: config.max_missed,
            after_call: config.unreachable_after_call,
            reachable_at_start: config.reachable_at_start,
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            waiting: BTreeMap::new(),
            bridged: BTreeMap::new(),
            unreachable: BTreeSet::new(),
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            out: VecDeque::new(),
        };
        acd.apply_config(config, None);
        acd
    }

    /// Swaps in a new configuration keeping live state: queues and agents that stay
    /// keep their callers, states and counters; removed queues refuse new callers and
    /// drain; removed agents get no new offers and are logged out once idle.
    pub fn reconfigure(&mut self, config: AcdConfig, now: Instant) {
        self.max_missed = config.max_missed;
        self.after_call = config.unreachable_after_call;
        self.reachable_at_start = config.reachable_at_start;
        self.apply_config(config, Some(now));
        self.dispatch(now);
    }

    fn apply_config(&mut self, config: AcdConfig, now: Option<Instant>) {
        let names: BTreeSet<&str> = config.queues.iter().map(|q| q.name.as_str()).collect();
        for q in self.queues.values_mut() {
            q.draining = !names.contains(q.config.name.as_str());
        }
        for qc in config.queues {
            match self.queues.get_mut(&qc.name) {
                Some(q) => {
                    q.counters.window = qc.handle_time_window.max(1);
                    q.config = qc;
                    q.draining = false;
                }
                None => {
                    self.queues.insert(qc.name.clone(), Queue::new(qc));
                }
            }
        }
        let ids: BTreeSet<AgentId> = config
            .agents
            .iter()
            .map(|a| AgentId(a.id.clone()))
            .collect();
        for ac in config.agents {
            let id = AgentId(ac.id);
            let reachable = self.reachable_at_start && !self.unreachable.contains(&ac.endpoint);
            let agent = self
                .agents
                .entry(id.clone())
                .or_insert_with(|| Agent::new(id, ac.endpoint.clone(), BTreeMap::new(), reachable));
            agent.endpoint = ac.endpoint;
            agent.skills = ac.skills;
            agent.queues = ac.queues.into_iter().map(|m| (m.queue, m.tier)).collect();
            agent.removed = false;
        }
        let gone: Vec<AgentId> = self
            .agents
            .keys()
            .filter(|id| !ids.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(a) = self.agents.get_mut(&id) {
                a.removed = true;
                a.queues.clear();
            }
            if let Some(now) = now {
                self.agent_op(now, &id, AgentOp::Logout);
            }
            self.drop_if_gone(&id);
        }
        self.drop_drained();
    }

    /// Feeds one input; drain [`poll_output`](Self::poll_output) afterwards.
    pub fn handle(&mut self, now: Instant, input: AcdInput) {
        self.on_input(now, input);
        self.dispatch(now);
    }

    pub fn poll_output(&mut self) -> Option<AcdOutput> {
        self.out.pop_front()
    }

    /// The next instant something is due (ring timeout, wrap-up end, announcement,
    /// max wait, a tier or skill requirement widening).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_due()
    }

    pub fn on_timeout(&mut self, now: Instant) {
        self.fire_due(now);
        self.dispatch(now);
    }

    /// Live statistics of one queue.
    pub fn queue_stats(&self, queue: &str, now: Instant) -> Option<QueueStats> {
        let q = self.queues.get(queue)?;
        let members = self
            .agents
            .values()
            .filter(|a| a.queues.contains_key(queue));
        let (mut logged_in, mut available) = (0, 0);
        for a in members {
            logged_in += usize::from(a.state.is_logged_in());
            available += usize::from(a.offerable(queue));
        }
        let waits = q.entries.iter().map(|e| (e.caller().is_some(), e.joined));
        Some(QueueStats::build(
            queue,
            &q.counters,
            waits,
            now,
            (logged_in, available),
        ))
    }

    /// Every agent, by id.
    pub fn agents(&self, now: Instant) -> Vec<AgentSnapshot> {
        self.agents.values().map(|a| a.snapshot(now)).collect()
    }

    /// Names of the configured queues (including draining ones).
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }

    /// The agent whose phone is `endpoint` (star codes dialled from a phone).
    pub fn agent_for_endpoint(&self, endpoint: &str) -> Option<AgentId> {
        self.agents
            .values()
            .find(|a| a.endpoint == endpoint)
            .map(|a| a.id.clone())
    }

    fn emit(&mut self, ev: Option<AgentEvent>) {
        if let Some(ev) = ev {
            self.out.push_back(AcdOutput::Event(AcdEvent::Agent(ev)));
        }
    }

    fn queue_event(
        &mut self,
        queue: &str,
        call: Option<&CallRef>,
        at: Instant,
        what: QueueHappening,
    ) {
        self.out
            .push_back(AcdOutput::Event(AcdEvent::Queue(QueueEvent {
                queue: queue.to_string(),
                call: call.cloned(),
                at,
                what,
            })));
    }

    /// Moves an agent and reports the transition.
    fn set_agent(&mut self, id: &AgentId, to: AgentState, now: Instant, reason: &str) {
        let ev = self.agents.get_mut(id).and_then(|a| a.set(to, now, reason));
        self.emit(ev);
    }

    /// Forgets an agent removed from the configuration once logged out.
    fn drop_if_gone(&mut self, id: &AgentId) {
        if self
            .agents
            .get(id)
            .is_some_and(|a| a.removed && a.state == AgentState::LoggedOut)
        {
            self.agents.remove(id);
        }
    }

    /// Forgets draining queues with nobody left in them.
    fn drop_drained(&mut self) {
        let bridged: BTreeSet<&str> = self.bridged.values().map(|b| b.queue.as_str()).collect();
        self.queues.retain(|name, q| {
            !(q.draining && q.entries.is_empty() && !bridged.contains(name.as_str()))
        });
    }
}
