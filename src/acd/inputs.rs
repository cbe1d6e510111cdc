//! What each [`AcdInput`] does to agents and callers, and the shared moves: withdraw
//! an offer, take a caller out of its queue, finish an agent's call.

use std::time::Instant;

use super::agent::{AgentOp, AgentState, Deferred};
use super::config::AfterCall;
use super::events::QueueHappening;
use super::queue::{Caller, Entry, Kind, Phase, Queue};
use super::{Acd, AcdInput, AcdOutput, AgentId, Bridged, CallRef, RefuseReason};

/// Why an offer to an agent ends without a bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Withdraw {
    /// Ring timeout: cancel the ring; counts as a miss.
    Timeout,
    /// The agent's leg failed (busy or unreachable); counts as a miss.
    Failed { busy: bool },
    /// The ACD moves on (caller left, another agent won, max wait); not a miss.
    Cancel(&'static str),
    /// The agent leaves (logout, pause, phone gone): cancel; the caller sets the state.
    AgentLeaves,
}

impl Acd {
    pub(super) fn on_input(&mut self, now: Instant, input: AcdInput) {
        match input {
            AcdInput::Agent { agent, op } => self.agent_op(now, &agent, op),
            AcdInput::EndpointReachable {
                endpoint,
                reachable,
            } => self.endpoint_reachable(now, &endpoint, reachable),
            AcdInput::CallerJoin {
                call,
                queue,
                caller_id,
                skills,
                priority,
            } => self.join(now, call, &queue, caller_id, skills, priority),
            AcdInput::CallerMaxWait { call, max_wait } => {
                if let Some(q) = self.waiting.get(&call).and_then(|q| self.queues.get_mut(q)) {
                    let joined = q
                        .entries
                        .iter()
                        .find(|e| e.call() == Some(&call))
                        .map(|e| e.joined);
                    if let (Some(c), Some(joined)) = (q.caller_mut(&call), joined) {
                        c.deadline = joined.checked_add(max_wait);
                    }
                }
            }
            AcdInput::CallerLeft { call } => self.caller_left(now, &call),
            AcdInput::RingFailed { call, agent, busy } => {
                self.withdraw(now, &call, &agent, Withdraw::Failed { busy });
            }
            AcdInput::AgentAnswered { call, agent } => self.answered(now, call, agent),
            AcdInput::CallEnded { call, agent } => {
                if self.bridged.get(&call).is_some_and(|b| b.agent == agent) {
                    self.call_ended(now, &call);
                }
            }
            AcdInput::CallbackRequested { call, number } => self.callback(now, &call, number),
        }
    }

    pub(super) fn agent_op(&mut self, now: Instant, id: &AgentId, op: AgentOp) {
        let Some(a) = self.agents.get(id) else {
            tracing::debug!(agent = %id, ?op, "op for an unknown agent ignored");
            return;
        };
        let state = a.state.clone();
        let ringing = match (&state, &a.call) {
            (AgentState::Reserved | AgentState::Ringing, Some((c, _))) => Some(c.clone()),
            _ => None,
        };
        let target = match (&op, &state) {
            (AgentOp::Login, AgentState::LoggedOut) => AgentState::Available,
            (AgentOp::Logout, AgentState::OnCall) => {
                self.defer(id, Deferred::Logout);
                return;
            }
            (AgentOp::Logout, _) => AgentState::LoggedOut,
            (AgentOp::Pause { reason }, AgentState::OnCall) => {
                self.defer(id, Deferred::Pause(reason.clone()));
                return;
            }
            (AgentOp::Pause { reason }, s) if s.is_logged_in() => {
                AgentState::Paused(reason.clone())
            }
            (AgentOp::Unpause, AgentState::OnCall) => {
                if let Some(a) = self.agents.get_mut(id) {
                    a.deferred = a.deferred.take().filter(|d| *d == Deferred::Logout);
                }
                return;
            }
            (AgentOp::Unpause, AgentState::Paused(_)) => AgentState::Available,
            (AgentOp::EndWrapUp, AgentState::WrapUp) => AgentState::Available,
            _ => {
                tracing::debug!(agent = %id, ?op, ?state, "op does not apply");
                return;
            }
        };
        if let Some(call) = ringing {
            self.withdraw(now, &call, id, Withdraw::AgentLeaves);
        }
        if let Some(a) = self.agents.get_mut(id) {
            if target == AgentState::Available {
                a.missed_in_row = 0;
            }
            if op == AgentOp::Login {
                a.idle_since = Some(now);
            }
        }
        let reason = match &op {
            AgentOp::Login => "login",
            AgentOp::Logout => "logout",
            AgentOp::Pause { .. } => "pause",
            AgentOp::Unpause => "unpause",
            AgentOp::EndWrapUp => "end_wrap_up",
        };
        self.set_agent(id, target, now, reason);
        self.drop_if_gone(id);
    }

    fn defer(&mut self, id: &AgentId, d: Deferred) {
        if let Some(a) = self.agents.get_mut(id) {
            if a.deferred != Some(Deferred::Logout) {
                a.deferred = Some(d);
            }
        }
    }

    fn endpoint_reachable(&mut self, now: Instant, endpoint: &str, reachable: bool) {
        if reachable {
            self.unreachable.remove(endpoint);
        } else {
            self.unreachable.insert(endpoint.to_string());
        }
        let ids: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.endpoint == endpoint)
            .map(|a| a.id.clone())
            .collect();
        for id in ids {
            let Some(a) = self.agents.get_mut(&id) else {
                continue;
            };
            a.reachable = reachable;
            let ringing = match (&a.state, &a.call) {
                (AgentState::Reserved | AgentState::Ringing, Some((c, _))) if !reachable => {
                    Some(c.clone())
                }
                _ => None,
            };
            if let Some(call) = ringing {
                self.withdraw(now, &call, &id, Withdraw::AgentLeaves);
                self.set_agent(&id, AgentState::Available, now, "unreachable");
            }
        }
    }

    fn join(
        &mut self,
        now: Instant,
        call: CallRef,
        name: &str,
        caller_id: String,
        skills: Vec<(String, u8)>,
        priority: i32,
    ) {
        if self.waiting.contains_key(&call) || self.bridged.contains_key(&call) {
            tracing::debug!(%call, "duplicate join ignored");
            return;
        }
        let logged_in = self.logged_in(name);
        let refuse = match self.queues.get(name) {
            None => Some(RefuseReason::NoSuchQueue),
            Some(q) if q.draining => Some(RefuseReason::NoSuchQueue),
            Some(q) if q.is_full() => Some(RefuseReason::Full),
            Some(q) if !q.config.join_empty && logged_in == 0 => Some(RefuseReason::JoinEmpty),
            Some(_) => None,
        };
        if let Some(reason) = refuse {
            if let Some(q) = self.queues.get_mut(name) {
                q.counters.refused += 1;
            }
            self.out.push_back(AcdOutput::Refuse {
                call: call.clone(),
                reason,
            });
            self.queue_event(name, Some(&call), now, QueueHappening::Refuse { reason });
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let Some(q) = self.queues.get_mut(name) else {
            return;
        };
        let cfg = &q.config;
        let caller = Caller {
            call: call.clone(),
            skills,
            phase: Phase::Waiting,
            tried: Default::default(),
            next_announce: cfg
                .announce_every_secs
                .filter(|s| *s > 0)
                .map(|s| now + Queue::secs(s)),
            deadline: cfg.max_wait_secs.map(|s| now + Queue::secs(s)),
            next_step: None,
        };
        let announce = cfg.announce_on_join;
        q.counters.offered += 1;
        let position = q.insert(Entry {
            seq,
            priority,
            joined: now,
            kind: Kind::Caller(caller),
        });
        self.waiting.insert(call.clone(), name.to_string());
        self.queue_event(
            name,
            Some(&call),
            now,
            QueueHappening::Join {
                caller_id,
                position,
            },
        );
        if announce {
            self.announce(&call);
        }
    }

    /// Member agents of `queue` logged in (any state but LoggedOut).
    pub(super) fn logged_in(&self, queue: &str) -> usize {
        self.agents
            .values()
            .filter(|a| a.queues.contains_key(queue) && a.state.is_logged_in() && !a.removed)
            .count()
    }

    fn caller_left(&mut self, now: Instant, call: &CallRef) {
        if self.bridged.contains_key(call) {
            self.call_ended(now, call);
            return;
        }
        let Some((queue, position, entry)) = self.take_caller(now, call, "caller_left") else {
            return;
        };
        let wait = now.saturating_duration_since(entry.joined);
        if let Some(q) = self.queues.get_mut(&queue) {
            q.counters.abandoned += 1;
        }
        self.queue_event(
            &queue,
            Some(call),
            now,
            QueueHappening::Abandon { position, wait },
        );
    }

    /// Takes a live caller out of its queue, cancelling any ring (agents back to
    /// Available). Returns its queue, position and entry.
    pub(super) fn take_caller(
        &mut self,
        now: Instant,
        call: &CallRef,
        why: &'static str,
    ) -> Option<(String, usize, Entry)> {
        let queue = self.waiting.get(call)?.clone();
        let ringing: Vec<AgentId> = match self.queues.get_mut(&queue)?.caller_mut(call) {
            Some(Caller {
                phase: Phase::Ringing { agents, .. },
                ..
            }) => agents.iter().cloned().collect(),
            _ => Vec::new(),
        };
        for agent in ringing {
            self.withdraw(now, call, &agent, Withdraw::Cancel(why));
        }
        self.waiting.remove(call);
        let (position, entry) = self.queues.get_mut(&queue)?.remove(call)?;
        Some((queue, position, entry))
    }

    /// Ends the offer of `call` to `agent`. Ignored unless that agent is ringing for it.
    pub(super) fn withdraw(
        &mut self,
        now: Instant,
        call: &CallRef,
        agent: &AgentId,
        why: Withdraw,
    ) {
        if let Some(c) = self
            .waiting
            .get(call)
            .and_then(|q| self.queues.get_mut(q))
            .and_then(|q| q.caller_mut(call))
        {
            if let Phase::Ringing { agents, .. } = &mut c.phase {
                agents.remove(agent);
                if agents.is_empty() {
                    c.phase = Phase::Waiting;
                }
            }
            c.tried.insert(agent.clone());
        }
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        let offered =
            a.holds(call) && matches!(a.state, AgentState::Reserved | AgentState::Ringing);
        if !offered {
            return;
        }
        if !matches!(why, Withdraw::Failed { .. }) {
            self.out.push_back(AcdOutput::CancelRing {
                call: call.clone(),
                agent: agent.clone(),
            });
        }
        let reason = match why {
            Withdraw::Timeout => "no_answer",
            Withdraw::Failed { busy: true } => "busy",
            Withdraw::Failed { busy: false } => "failed",
            Withdraw::Cancel(r) => r,
            Withdraw::AgentLeaves => return,
        };
        let missed = matches!(why, Withdraw::Timeout | Withdraw::Failed { .. });
        let mut to = AgentState::Available;
        if missed {
            a.missed += 1;
            a.missed_in_row += 1;
            if self.max_missed > 0 && a.missed_in_row >= self.max_missed {
                to = AgentState::Paused("missed".into());
            }
        }
        if a.removed {
            to = AgentState::LoggedOut;
        }
        self.set_agent(agent, to, now, reason);
        self.drop_if_gone(agent);
    }

    fn answered(&mut self, now: Instant, call: CallRef, agent: AgentId) {
        let ringing_here = self
            .waiting
            .get(&call)
            .and_then(|q| self.queues.get(q))
            .and_then(|q| {
                q.entries
                    .iter()
                    .find_map(|e| e.caller().filter(|c| c.call == call))
            })
            .is_some_and(
                |c| matches!(&c.phase, Phase::Ringing { agents, .. } if agents.contains(&agent)),
            )
            && self
                .agents
                .get(&agent)
                .is_some_and(|a| a.holds(&call) && a.state == AgentState::Ringing);
        if !ringing_here {
            tracing::debug!(%call, %agent, "late or stray answer: released");
            self.out.push_back(AcdOutput::Release { call, agent });
            return;
        }
        // The others lose the race.
        let others: Vec<AgentId> = match self
            .waiting
            .get(&call)
            .and_then(|q| self.queues.get_mut(q))
            .and_then(|q| q.caller_mut(&call))
        {
            Some(Caller {
                phase: Phase::Ringing { agents, .. },
                ..
            }) => agents.iter().filter(|a| **a != agent).cloned().collect(),
            _ => Vec::new(),
        };
        for other in others {
            self.withdraw(now, &call, &other, Withdraw::Cancel("answered_elsewhere"));
        }
        let Some(queue) = self.waiting.remove(&call) else {
            return;
        };
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        let Some((_, entry)) = q.remove(&call) else {
            return;
        };
        let wait = now.saturating_duration_since(entry.joined);
        q.counters.answered += 1;
        q.counters.answer_wait_total += wait;
        if wait <= Queue::secs(q.config.service_level_secs) {
            q.counters.answered_in_sl += 1;
        }
        self.bridged.insert(
            call.clone(),
            Bridged {
                queue: queue.clone(),
                agent: agent.clone(),
                at: now,
            },
        );
        if let Some(a) = self.agents.get_mut(&agent) {
            a.missed_in_row = 0;
        }
        self.out.push_back(AcdOutput::Bridge {
            call: call.clone(),
            agent: agent.clone(),
        });
        self.set_agent(&agent, AgentState::OnCall, now, "answered");
        self.queue_event(
            &queue,
            Some(&call),
            now,
            QueueHappening::Answer { agent, wait },
        );
    }

    /// The bridged call ended: the agent wraps up (or takes a deferred state).
    fn call_ended(&mut self, now: Instant, call: &CallRef) {
        let Some(b) = self.bridged.remove(call) else {
            return;
        };
        let talk = now.saturating_duration_since(b.at);
        let wrap = self
            .queues
            .get(&b.queue)
            .map(|q| Queue::secs(q.config.wrap_up_secs))
            .unwrap_or_default();
        if let Some(q) = self.queues.get_mut(&b.queue) {
            q.counters.record_handle(talk + wrap);
        }
        let after_call = self.after_call;
        let Some(a) = self.agents.get_mut(&b.agent) else {
            return;
        };
        a.calls += 1;
        a.idle_since = Some(now);
        let to = match a.deferred.take() {
            Some(Deferred::Logout) => AgentState::LoggedOut,
            _ if a.removed => AgentState::LoggedOut,
            Some(Deferred::Pause(r)) => AgentState::Paused(r),
            None if !a.reachable && after_call == AfterCall::Pause => {
                AgentState::Paused("unreachable".into())
            }
            None if !a.reachable && after_call == AfterCall::Logout => AgentState::LoggedOut,
            None if wrap.is_zero() => AgentState::Available,
            None => {
                a.wrap_until = Some(now + wrap);
                AgentState::WrapUp
            }
        };
        self.set_agent(&b.agent, to, now, "call_ended");
        let agent = b.agent.clone();
        self.queue_event(
            &b.queue,
            Some(call),
            now,
            QueueHappening::Complete { agent, talk },
        );
        self.drop_if_gone(&b.agent);
        self.drop_drained();
    }

    fn callback(&mut self, now: Instant, call: &CallRef, number: String) {
        let allowed = self
            .waiting
            .get(call)
            .and_then(|q| self.queues.get(q))
            .is_some_and(|q| q.config.callback);
        if !allowed {
            return;
        }
        let Some((queue, _, entry)) = self.take_caller(now, call, "callback") else {
            return;
        };
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        q.counters.callbacks_kept += 1;
        q.insert(Entry {
            kind: Kind::Callback {
                number: number.clone(),
            },
            ..entry
        });
        self.queue_event(
            &queue,
            Some(call),
            now,
            QueueHappening::CallbackKept { number },
        );
    }
}
