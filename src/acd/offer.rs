//! Matching waiting callers to agents, and everything time makes happen: ring
//! timeouts, wrap-up ends, max waits, periodic announcements, tiers opening and skill
//! requirements widening.
//!
//! Offering order is global: across queues, higher caller priority first, then earlier
//! arrival. A caller is offered to agents of the lowest tier it may reach (tier k opens
//! after k × `tier_wait_secs`, counting only tiers with a logged-in agent) whose skill
//! levels meet its requirements (lowered by `skill_widen_step` per
//! `skill_widen_every_secs` waited), preferring agents not yet tried this round.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::agent::AgentState;
use super::events::QueueHappening;
use super::inputs::Withdraw;
use super::queue::{Caller, Entry, Kind, Phase, Queue};
use super::strategy::{self, Candidate};
use super::{Acd, AcdOutput, AgentId, CallRef, RefuseReason};

impl Acd {
    /// Offers waiting callers (and due callbacks) to free agents.
    pub(super) fn dispatch(&mut self, now: Instant) {
        self.leave_when_empty(now);
        let mut free = self.free_agents();
        if free > 0 {
            let open = self.free_queues();
            let names: Vec<String> = open
                .into_iter()
                .filter(|n| self.queues.get(n).is_some_and(|q| !q.entries.is_empty()))
                .collect();
            let tiers = self.all_tiers();
            // A k-way merge over the queues (each already in order), so a long backlog
            // costs nothing once every free agent has been offered a call.
            let mut cursor: Vec<Option<Key>> = vec![None; names.len()];
            while free > 0 {
                let mut best: Option<(Key, usize)> = None;
                for (qi, name) in names.iter().enumerate() {
                    let Some(q) = self.queues.get(name) else {
                        continue;
                    };
                    let from = cursor[qi].map_or(0, |k| q.entries.partition_point(|e| key(e) <= k));
                    let next = q.entries[from..].iter().find(|e| awaits_offer(e)).map(key);
                    if let Some(k) = next {
                        if best.is_none_or(|(b, _)| k < b) {
                            best = Some((k, qi));
                        }
                    }
                }
                let Some((k, qi)) = best else {
                    break;
                };
                cursor[qi] = Some(k);
                let t = tiers.get(&names[qi]).map_or(&[][..], Vec::as_slice);
                // Nobody left to offer to ends the pass. `next_due` ignores tier and
                // skill steps of queues without a free member, so no stale step wakes us.
                free = free.saturating_sub(self.offer(now, &names[qi], k.0 .0, k.1, t));
            }
        }
        self.drop_drained();
    }

    /// Agents that could take a call now (of some queue).
    pub(super) fn free_agents(&self) -> usize {
        self.agents
            .values()
            .filter(|a| a.state == AgentState::Available && a.reachable && !a.removed)
            .count()
    }

    /// Queues with a member agent that could take a call now.
    pub(super) fn free_queues(&self) -> BTreeSet<String> {
        self.agents
            .values()
            .filter(|a| a.state == AgentState::Available && a.reachable && !a.removed)
            .flat_map(|a| a.queues.keys().cloned())
            .collect()
    }

    /// Offers one entry; returns how many agents it rang (callbacks ring none).
    fn offer(
        &mut self,
        now: Instant,
        queue: &str,
        priority: i32,
        seq: u64,
        tiers: &[u32],
    ) -> usize {
        let Some(q) = self.queues.get_mut(queue) else {
            return 0;
        };
        let Some(i) = q.index_of(priority, seq) else {
            return 0;
        };
        let cfg = &q.config;
        let e = &mut q.entries[i];
        let joined = e.joined;
        if let Kind::Caller(c) = &mut e.kind {
            c.next_step = next_step(c, joined, cfg, tiers.len(), now);
        }
        let Some(q) = self.queues.get(queue) else {
            return 0;
        };
        let entry = &q.entries[i];
        let wait = now.saturating_duration_since(entry.joined);
        let max_tier = max_tier(tiers, q.config.tier_wait_secs, wait);
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
            return 0;
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
            return 0;
        }
        let timeout = Queue::secs(q.config.ring_timeout_secs);
        let Some(q) = self.queues.get_mut(queue) else {
            return 0;
        };
        q.last = picked.last().cloned();
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
                0
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
                let n = picked.len();
                for agent in picked {
                    self.ring(now, &call, queue, &agent, timeout);
                }
                n
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

    /// Distinct tiers with a logged-in member, ascending, per queue.
    fn all_tiers(&self) -> BTreeMap<String, Vec<u32>> {
        let mut sets: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
        for a in self.agents.values() {
            if a.state.is_logged_in() && !a.removed {
                for (q, t) in &a.queues {
                    sets.entry(q.as_str()).or_default().insert(*t);
                }
            }
        }
        sets.into_iter()
            .map(|(q, s)| (q.to_string(), s.into_iter().collect()))
            .collect()
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
        let serving = self.serving().get(name).copied().unwrap_or(0);
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
        let open = self.free_queues();
        for q in self.queues.values() {
            let free = open.contains(&q.config.name);
            for e in &q.entries {
                let Some(c) = e.caller() else { continue };
                at(c.deadline);
                at(c.next_announce);
                match &c.phase {
                    Phase::Ringing { until, .. } => at(Some(*until)),
                    Phase::Waiting => at(c.next_step.filter(|_| free)),
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
        for q in self.queues.values() {
            for c in q.entries.iter().filter_map(|e| e.caller()) {
                if let Phase::Ringing { agents, until } = &c.phase {
                    if *until <= now {
                        timeouts.extend(agents.iter().map(|a| (c.call.clone(), a.clone())));
                    }
                }
                if c.deadline.is_some_and(|d| d <= now) {
                    deadlines.push(c.call.clone());
                }
            }
        }
        for (call, agent) in timeouts {
            self.withdraw(now, &call, &agent, Withdraw::Timeout);
        }
        for call in deadlines {
            self.send_away(now, &call, RefuseReason::Timeout);
        }
        self.announce_due(now);
    }

    /// Periodic announcements that are due, with positions from one pass per queue.
    fn announce_due(&mut self, now: Instant) {
        let serving = self.serving();
        for q in self.queues.values_mut() {
            let every = q
                .config
                .announce_every_secs
                .map(Queue::secs)
                .filter(|e| !e.is_zero());
            let n = serving.get(&q.config.name).copied().unwrap_or(0);
            for (i, e) in q.entries.iter_mut().enumerate() {
                let Kind::Caller(c) = &mut e.kind else {
                    continue;
                };
                let Some(every) = every else {
                    c.next_announce = None;
                    continue;
                };
                let Some(mut next) = c.next_announce.filter(|t| *t <= now) else {
                    continue;
                };
                while next <= now {
                    next += every;
                }
                c.next_announce = Some(next);
                if c.phase == Phase::Waiting {
                    self.out.push_back(AcdOutput::Announce {
                        call: c.call.clone(),
                        position: i + 1,
                        estimated_wait: q.counters.estimate(i + 1, n),
                    });
                }
            }
        }
    }

    /// Per queue: member agents logged in and not paused (they will serve the queue).
    fn serving(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for a in self.agents.values() {
            if a.state.is_logged_in() && !matches!(a.state, AgentState::Paused(_)) {
                for q in a.queues.keys() {
                    *n.entry(q.clone()).or_default() += 1;
                }
            }
        }
        n
    }
}

/// An entry's place in the offering order.
type Key = (std::cmp::Reverse<i32>, u64);

fn key(e: &Entry) -> Key {
    (std::cmp::Reverse(e.priority), e.seq)
}

/// A live caller not being offered right now, or a kept callback.
fn awaits_offer(e: &Entry) -> bool {
    match &e.kind {
        Kind::Caller(c) => c.phase == Phase::Waiting,
        Kind::Callback { .. } => true,
    }
}

/// The highest tier a caller reaches after `wait` (tier k of the logged-in `tiers`
/// opens after k × `step` seconds), or `None` when no member is logged in.
fn max_tier(tiers: &[u32], step: u32, wait: Duration) -> Option<u32> {
    let k = wait
        .as_secs()
        .checked_div(u64::from(step))
        .map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
    tiers.get(k.min(tiers.len().saturating_sub(1))).copied()
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
