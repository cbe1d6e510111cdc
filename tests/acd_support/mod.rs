//! A virtual-clock harness around `Acd` for the acd_* integration tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use switchboard::acd::*;

pub struct H {
    pub acd: Acd,
    pub t0: Instant,
    pub now: Instant,
    /// Every event seen so far.
    pub events: Vec<AcdEvent>,
}

pub fn call(c: &str) -> CallRef {
    CallRef(c.into())
}

pub fn agent(a: &str) -> AgentId {
    AgentId(a.into())
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn queue(name: &str, strategy: Strategy) -> QueueConfig {
    QueueConfig {
        name: name.into(),
        strategy,
        wrap_up_secs: 0,
        ..QueueConfig::default()
    }
}

pub fn member(id: &str, queues: &[(&str, u32)]) -> AgentConfig {
    AgentConfig {
        id: id.into(),
        endpoint: format!("ep-{id}"),
        skills: Default::default(),
        queues: queues.iter().map(|(q, t)| Membership::new(q, *t)).collect(),
    }
}

pub fn config(queues: Vec<QueueConfig>, agents: Vec<AgentConfig>) -> AcdConfig {
    AcdConfig {
        queues,
        agents,
        ..AcdConfig::default()
    }
}

impl H {
    pub fn new(cfg: AcdConfig) -> Self {
        let t0 = Instant::now();
        Self {
            acd: Acd::new(cfg),
            t0,
            now: t0,
            events: Vec::new(),
        }
    }

    /// Feeds an input; returns the non-event outputs.
    pub fn input(&mut self, input: AcdInput) -> Vec<AcdOutput> {
        self.acd.handle(self.now, input);
        self.drain()
    }

    fn drain(&mut self) -> Vec<AcdOutput> {
        let mut out = Vec::new();
        while let Some(o) = self.acd.poll_output() {
            match o {
                AcdOutput::Event(e) => self.events.push(e),
                o => out.push(o),
            }
        }
        out
    }

    /// Runs every timeout up to `t0 + s` seconds; returns the outputs.
    pub fn advance_to(&mut self, s: u64) -> Vec<AcdOutput> {
        let target = self.t0 + secs(s);
        let mut out = Vec::new();
        let mut same = 0;
        while let Some(t) = self.acd.poll_timeout() {
            if t > target {
                break;
            }
            assert!(t >= self.now, "timeout in the past");
            same = if t == self.now { same + 1 } else { 0 };
            assert!(same < 100, "the timer does not move on: a busy loop");
            self.now = t;
            self.acd.on_timeout(t);
            out.extend(self.drain());
        }
        self.now = target;
        out
    }

    pub fn op(&mut self, a: &str, op: AgentOp) -> Vec<AcdOutput> {
        self.input(AcdInput::Agent {
            agent: agent(a),
            op,
        })
    }

    pub fn login(&mut self, agents: &[&str]) {
        for a in agents {
            let out = self.op(a, AgentOp::Login);
            assert!(out.is_empty() || out.iter().all(|o| matches!(o, AcdOutput::Ring { .. })));
        }
    }

    pub fn join(&mut self, c: &str, q: &str) -> Vec<AcdOutput> {
        self.join_with(c, q, Vec::new(), 0)
    }

    pub fn join_with(
        &mut self,
        c: &str,
        q: &str,
        skills: Vec<(&str, u8)>,
        priority: i32,
    ) -> Vec<AcdOutput> {
        self.input(AcdInput::CallerJoin {
            call: call(c),
            queue: q.into(),
            caller_id: format!("cid-{c}"),
            skills: skills
                .into_iter()
                .map(|(s, l)| (s.to_string(), l))
                .collect(),
            priority,
        })
    }

    pub fn answer(&mut self, c: &str, a: &str) -> Vec<AcdOutput> {
        self.input(AcdInput::AgentAnswered {
            call: call(c),
            agent: agent(a),
        })
    }

    pub fn end(&mut self, c: &str, a: &str) -> Vec<AcdOutput> {
        self.input(AcdInput::CallEnded {
            call: call(c),
            agent: agent(a),
        })
    }

    pub fn leave(&mut self, c: &str) -> Vec<AcdOutput> {
        self.input(AcdInput::CallerLeft { call: call(c) })
    }

    pub fn state(&self, a: &str) -> AgentState {
        self.acd
            .agents(self.now)
            .into_iter()
            .find(|s| s.id.0 == a)
            .map(|s| s.state)
            .expect("agent exists")
    }

    pub fn snapshot(&self, a: &str) -> AgentSnapshot {
        self.acd
            .agents(self.now)
            .into_iter()
            .find(|s| s.id.0 == a)
            .expect("agent exists")
    }

    pub fn stats(&self, q: &str) -> QueueStats {
        self.acd.queue_stats(q, self.now).expect("queue exists")
    }
}

/// The agents rung by these outputs, in order.
pub fn rung(out: &[AcdOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            AcdOutput::Ring { agent, .. } => Some(agent.0.clone()),
            _ => None,
        })
        .collect()
}

pub fn ring(c: &str, a: &str, timeout: u64) -> AcdOutput {
    AcdOutput::Ring {
        call: call(c),
        agent: agent(a),
        endpoint: format!("ep-{a}"),
        timeout: secs(timeout),
    }
}

pub fn cancel(c: &str, a: &str) -> AcdOutput {
    AcdOutput::CancelRing {
        call: call(c),
        agent: agent(a),
    }
}

pub fn bridge(c: &str, a: &str) -> AcdOutput {
    AcdOutput::Bridge {
        call: call(c),
        agent: agent(a),
    }
}

pub fn release(c: &str, a: &str) -> AcdOutput {
    AcdOutput::Release {
        call: call(c),
        agent: agent(a),
    }
}
