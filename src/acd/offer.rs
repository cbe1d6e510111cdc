//! Matching waiting callers to agents, and everything time makes happen: ring
//! timeouts, wrap-up ends, max waits, periodic announcements, tiers opening and skill
//! requirements widening.
//!
//! Offering order is global: across queues, higher caller priority first, then earlier
//! arrival. A caller is offered to agents of the lowest tier it may reach (tier k opens
//! after k × `tier_wait_secs`, counting only tiers with a logged-in agent) whose skill
//! levels meet its requirements (lowered by `skill_widen_step` per
//! `skill_widen_every_secs` waited), preferring agents not yet tried this round.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::agent::AgentState;
use super::events::QueueHappening;
use super::inputs::Withdraw;
use super::queue::{Caller, Kind, Phase, Queue};
use super::strategy::{self, Candidate};
use super::{Acd, AcdOutput, AgentId, CallRef, RefuseReason};

impl Acd {
    /// Offers waiting callers (and due callbacks) to free agents.
    pub(super) fn dispatch(&mut self, now: Instant) {
        self.leave_when_empty(now);
        let mut order: Vec<(std::cmp::Reverse<i32>, u64, String)> = Vec::new();
        for (name, q) in &self.queues {
            for e in &q.entries {
                let waiting = match &e.kind {
                    Kind::Caller(c) => c.phase == Phase::Waiting,
                    Kind::Callback { .. } => true,
                };
                if waiting {
                    order.push((std::cmp::Reverse(e.priority), e.seq, name.clone()));
                }
            }
        }
        order.sort();
        for (_, seq, queue) in order {
            self.offer(now, &queue, seq);
        }
        self.drop_drained();
    }

    fn offer(&mut self, now: Instant, queue: &str, seq: u64) {
        let tiers = self.tiers(queue).len();
        if let Some(q) = self.queues.get_mut(queue) {
            let cfg = &q.config;
            if let Some(e) = q.entries.iter_mut().find(|e| e.seq == seq) {
                let joined = e.joined;
                if let Kind::Caller(c) = &mut e.kind {
                    c.next_step = next_step(c, joined, cfg, tiers, now);
                }
            }
        }
        let Some(q) = self.queues.get(queue) else {
            return;
        };
        let Some(entry) = q.entries.iter().find(|e| e.seq == seq) else {
            return;
        };
        let wait = now.saturating_duration_since(entry.joined);
        let max_tier = self.max_tier(q, wait);
        let (skills, tried) = match &entry.kind {
            Kind::Caller(c) => (widened(&c.skills, &q.config, wait), &c.tried),
            Kind::Callback { .. } => (Vec::new(), &BTreeSet::new()),
        };
        let eligible: Vec<Candidate<'_>> = self
            .agents
            .values()
            .filter(|a| a.offerable(queue))
            .filter_map(|a| {
                let tier = *a.queues.get(queue)?;
                let skilled = skills.iter().all(|(s, lvl)| a.skill(s) >= *lvl);
                (skilled && max_tier.is_some_and(|m| tier <= m))
                    .then_some(Candidate { agent: a, tier })
            })
            .collect();
        if eligible.is_empty() {
            return;
        }
        let fresh = eligible.iter().any(|c| !tried.contains(&c.agent.id));
        let new_round = !fresh;
        let eligible: Vec<Candidate<'_>> = eligible
            .into_iter()
            .filter(|c| new_round || !tried.contains(&c.agent.id))
            .collect();
        let picked = strategy::choose(
            q.config.strategy,
            eligible,
            q.last.as_ref(),
            &skills,
            &mut self.rng,
        );
        if picked.is_empty() {
            return;
        }
        let timeout = Queue::secs(q.config.ring_timeout_secs);
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        q.last = picked.last().cloned();
        let Some(i) = q.entries.iter().position(|e| e.seq == seq) else {
            return;
        };
        match &mut q.entries[i].kind {
            Kind::Callback { number } => {
                let number = number.clone();
                let entry = q.entries.remove(i);
                q.counters.callbacks_due += 1;
                self.out.push_back(AcdOutput::CallbackDue {
                    queue: queue.to_string(),
                    number: number.clone(),
                });
                let wait = now.saturating_duration_since(entry.joined);
                self.queue_event(
                    queue,
                    None,
                    now,
                    QueueHappening::CallbackDue { number, wait },
                );
            }
            Kind::Caller(c) => {
                if new_round {
                    c.tried.clear();
                }
                c.phase = Phase::Ringing {
                    agents: picked.iter().cloned().collect(),
                    until: now + timeout,
                };
                let call = c.call.clone();
                for agent in picked {
                    self.ring(now, &call, queue, &agent, timeout);
                }
            }
        }
    }

    fn ring(&mut self, now: Instant, call: &CallRef, queue: &str, id: &AgentId, timeout: Duration) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.call = Some((call.clone(), queue.to_string()));
        let endpoint = a.endpoint.clone();
        self.set_agent(id, AgentState::Reserved, now, "offer");
        self.out.push_back(AcdOutput::Ring {
            call: call.clone(),
            agent: id.clone(),
            endpoint,
            timeout,
        });
        self.set_agent(id, AgentState::Ringing, now, "ring");
    }

    /// The highest tier `wait` reaches in `q`, or `None` when no member is logged in.
    fn max_tier(&self, q: &Queue, wait: Duration) -> Option<u32> {
        let tiers = self.tiers(&q.config.name);
        let step = u64::from(q.config.tier_wait_secs);
        let k = wait
            .as_secs()
            .checked_div(step)
            .map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
        tiers.get(k.min(tiers.len().saturating_sub(1))).copied()
    }

    /// Distinct tiers of `queue` with a logged-in member, ascending.
    fn tiers(&self, queue: &str) -> Vec<u32> {
        let set: BTreeSet<u32> = self
            .agents
            .values()
            .filter(|a| a.state.is_logged_in() && !a.removed)
            .filter_map(|a| a.queues.get(queue).copied())
            .collect();
        set.into_iter().collect()
    }

    /// Queues with `leave_when_empty` and no logged-in member send their callers away.
    fn leave_when_empty(&mut self, now: Instant) {
        let empty: Vec<String> = self
            .queues
            .values()
            .filter(|q| q.config.leave_when_empty && q.live() > 0)
            .map(|q| q.config.name.clone())
            .filter(|name| self.logged_in(name) == 0)
            .collect();
        for name in empty {
            let calls: Vec<CallRef> = self.queues[&name]
                .entries
                .iter()
                .filter_map(|e| e.call().cloned())
                .collect();
            for call in calls {
                self.send_away(now, &call, RefuseReason::LeaveEmpty);
            }
        }
    }

    /// Takes a caller out with Overflow (when the queue has a destination) or Refuse.
    fn send_away(&mut self, now: Instant, call: &CallRef, reason: RefuseReason) {
        let Some((queue, _, entry)) = self.take_caller(now, call, "caller_moved_on") else {
            return;
        };
        let wait = now.saturating_duration_since(entry.joined);
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        let what = match q.config.overflow.clone() {
            Some(destination) => {
                q.counters.overflowed += 1;
                self.out.push_back(AcdOutput::Overflow {
                    call: call.clone(),
                    destination: destination.clone(),
                });
                QueueHappening::Overflow { destination, wait }
            }
            None => {
                if reason == RefuseReason::Timeout {
                    q.counters.timed_out += 1;
                } else {
                    q.counters.refused += 1;
                }
                self.out.push_back(AcdOutput::Refuse {
                    call: call.clone(),
                    reason,
                });
                QueueHappening::Refuse { reason }
            }
        };
        self.queue_event(&queue, Some(call), now, what);
    }

    /// Position and estimated wait to the caller.
    pub(super) fn announce(&mut self, call: &CallRef) {
        let Some(name) = self.waiting.get(call) else {
            return;
        };
        let serving = self
            .agents
            .values()
            .filter(|a| {
                a.queues.contains_key(name.as_str())
                    && a.state.is_logged_in()
                    && !matches!(a.state, AgentState::Paused(_))
            })
            .count();
        let Some(q) = self.queues.get(name) else {
            return;
        };
        let Some(position) = q.position(call) else {
            return;
        };
        let estimated_wait = q.counters.estimate(position, serving);
        self.out.push_back(AcdOutput::Announce {
            call: call.clone(),
            position,
            estimated_wait,
        });
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut at = |t: Option<Instant>| {
            if let Some(t) = t {
                due = Some(due.map_or(t, |d| d.min(t)));
            }
        };
        for a in self.agents.values() {
            at(a.wrap_until.filter(|_| a.state == AgentState::WrapUp));
        }
        for q in self.queues.values() {
            for e in &q.entries {
                let Some(c) = e.caller() else { continue };
                at(c.deadline);
                at(c.next_announce);
                match &c.phase {
                    Phase::Ringing { until, .. } => at(Some(*until)),
                    Phase::Waiting => at(c.next_step),
                }
            }
        }
        due
    }

    pub(super) fn fire_due(&mut self, now: Instant) {
        let wrapped: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.state == AgentState::WrapUp && a.wrap_until.is_some_and(|t| t <= now))
            .map(|a| a.id.clone())
            .collect();
        for id in wrapped {
            self.set_agent(&id, AgentState::Available, now, "wrap_up_over");
        }
        let mut timeouts = Vec::new();
        let mut deadlines = Vec::new();
        let mut announces = Vec::new();
        for q in self.queues.values_mut() {
            let every = q.config.announce_every_secs.map(Queue::secs);
            for e in &mut q.entries {
                let Kind::Caller(c) = &mut e.kind else {
                    continue;
                };
                if let Phase::Ringing { agents, until } = &c.phase {
                    if *until <= now {
                        timeouts.extend(agents.iter().map(|a| (c.call.clone(), a.clone())));
                    }
                }
                if c.deadline.is_some_and(|d| d <= now) {
                    deadlines.push(c.call.clone());
                }
                if let (Some(next), Some(every)) = (c.next_announce, every) {
                    if next <= now && !every.is_zero() {
                        let mut n = next;
                        while n <= now {
                            n += every;
                        }
                        c.next_announce = Some(n);
                        if c.phase == Phase::Waiting {
                            announces.push(c.call.clone());
                        }
                    }
                }
            }
        }
        for (call, agent) in timeouts {
            self.withdraw(now, &call, &agent, Withdraw::Timeout);
        }
        for call in deadlines {
            self.send_away(now, &call, RefuseReason::Timeout);
        }
        for call in announces {
            self.announce(&call);
        }
    }
}

/// The caller's skill requirements after waiting `wait`.
fn widened(skills: &[(String, u8)], cfg: &super::QueueConfig, wait: Duration) -> Vec<(String, u8)> {
    let steps = cfg
        .skill_widen_every_secs
        .filter(|s| *s > 0)
        .map_or(0, |s| wait.as_secs() / u64::from(s));
    let drop = u64::from(cfg.skill_widen_step).saturating_mul(steps);
    let drop = u8::try_from(drop).unwrap_or(u8::MAX);
    skills
        .iter()
        .map(|(s, l)| (s.clone(), l.saturating_sub(drop)))
        .collect()
}

/// When a caller waiting since `joined` next reaches a new tier or a lower skill
/// requirement, if that can still change anything (`tiers` with a logged-in member).
fn next_step(
    c: &Caller,
    joined: Instant,
    cfg: &super::QueueConfig,
    tiers: usize,
    now: Instant,
) -> Option<Instant> {
    let wait = now.saturating_duration_since(joined).as_secs();
    let after = |period: u32| {
        let p = u64::from(period);
        joined + Duration::from_secs((wait / p + 1) * p)
    };
    let tier = (cfg.tier_wait_secs > 0
        && usize::try_from(wait / u64::from(cfg.tier_wait_secs)).is_ok_and(|k| k + 1 < tiers))
    .then(|| after(cfg.tier_wait_secs));
    let widen = cfg.skill_widen_every_secs.filter(|p| *p > 0).filter(|_| {
        widened(&c.skills, cfg, Duration::from_secs(wait))
            .iter()
            .any(|(_, l)| *l > 0)
            && cfg.skill_widen_step > 0
    });
    let skill = widen.map(after);
    match (tier, skill) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
