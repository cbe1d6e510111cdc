//! Randomized (seeded) run of the ACD against a model of the switch: random agent ops,
//! phones coming and going, callers joining, leaving and asking for callbacks, rings
//! failing, answers (timely, late and stray), calls ending, and time passing. After
//! every step the model checks that an agent holds at most one call, that a Ringing
//! agent has exactly one pending ring and Reserved is never left behind, that every
//! answer gets exactly one Bridge or Release, that no call is bridged twice, and that
//! every caller is waiting, ringing, bridged or gone.

mod acd_support;

use std::collections::{BTreeMap, BTreeSet};

use acd_support::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard::acd::*;

const AGENTS: usize = 6;

struct Model {
    pending: BTreeSet<(CallRef, AgentId)>,
    bridged: BTreeMap<CallRef, AgentId>,
    waiting: BTreeSet<CallRef>,
    ever: Vec<CallRef>,
}

impl Model {
    fn apply(&mut self, out: &[AcdOutput]) {
        for o in out {
            match o {
                AcdOutput::Ring { call, agent, .. } => {
                    assert!(
                        self.waiting.contains(call),
                        "ring for a caller not waiting: {call}"
                    );
                    assert!(
                        !self.pending.iter().any(|(_, a)| a == agent),
                        "{agent} rung twice at once"
                    );
                    assert!(
                        !self.bridged.values().any(|a| a == agent),
                        "{agent} rung while on a call"
                    );
                    self.pending.insert((call.clone(), agent.clone()));
                }
                AcdOutput::CancelRing { call, agent } => {
                    assert!(
                        self.pending.remove(&(call.clone(), agent.clone())),
                        "cancel without ring"
                    );
                }
                AcdOutput::Bridge { call, agent } => {
                    assert!(!self.bridged.contains_key(call), "{call} bridged twice");
                    self.bridged.insert(call.clone(), agent.clone());
                    self.waiting.remove(call);
                }
                AcdOutput::Overflow { call, .. } | AcdOutput::Refuse { call, .. } => {
                    self.waiting.remove(call);
                    assert!(
                        !self.pending.iter().any(|(c, _)| c == call),
                        "rings left for {call}"
                    );
                }
                AcdOutput::Announce { call, .. } => {
                    assert!(
                        self.waiting.contains(call),
                        "announce to {call} not waiting"
                    );
                }
                AcdOutput::Release { .. } | AcdOutput::CallbackDue { .. } | AcdOutput::Event(_) => {
                }
            }
        }
    }

    fn check(&self, h: &H) {
        for s in h.acd.agents(h.now) {
            let rings: Vec<&CallRef> = self
                .pending
                .iter()
                .filter(|(_, a)| *a == s.id)
                .map(|(c, _)| c)
                .collect();
            let on: Vec<&CallRef> = self
                .bridged
                .iter()
                .filter(|(_, a)| **a == s.id)
                .map(|(c, _)| c)
                .collect();
            assert!(
                rings.len() + on.len() <= 1,
                "{} in more than one call",
                s.id
            );
            match &s.state {
                AgentState::Reserved => panic!("{} left Reserved", s.id),
                AgentState::Ringing => {
                    assert_eq!(rings.len(), 1, "{} Ringing without a pending ring", s.id);
                    assert_eq!(s.call.as_ref(), Some(rings[0]));
                }
                AgentState::OnCall => {
                    assert_eq!(on.len(), 1, "{} OnCall without a bridge", s.id);
                    assert_eq!(s.call.as_ref(), Some(on[0]));
                }
                _ => {
                    assert!(
                        rings.is_empty() && on.is_empty(),
                        "{} {:?} holds a call",
                        s.id,
                        s.state
                    );
                    assert_eq!(s.call, None);
                }
            }
        }
        for (c, _) in &self.pending {
            assert!(self.waiting.contains(c), "ring pending for {c} not waiting");
        }
        let waiting: usize = ["q0", "q1"]
            .iter()
            .filter_map(|q| h.acd.queue_stats(q, h.now))
            .map(|s| s.waiting)
            .sum();
        assert_eq!(waiting, self.waiting.len(), "callers waiting: ACD vs model");
    }
}

fn setup(seed: u64) -> H {
    let mut q0 = queue("q0", Strategy::LongestIdle);
    q0.max_wait_secs = Some(120);
    q0.overflow = Some("voicemail".into());
    q0.announce_every_secs = Some(20);
    q0.max_len = Some(6);
    q0.wrap_up_secs = 5;
    q0.tier_wait_secs = 15;
    q0.skill_widen_every_secs = Some(10);
    let mut q1 = queue("q1", Strategy::RingAll);
    q1.leave_when_empty = true;
    q1.ring_timeout_secs = 8;
    let agents = (0..AGENTS)
        .map(|i| {
            let mut a = member(&format!("a{i}"), &[("q0", (i % 3) as u32), ("q1", 0)]);
            a.skills.insert("en".into(), (i * 2) as u8);
            a
        })
        .collect();
    let mut cfg = config(vec![q0, q1], agents);
    cfg.max_missed = 2;
    cfg.seed = seed;
    H::new(cfg)
}

fn run(seed: u64, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut h = setup(seed);
    let mut m = Model {
        pending: BTreeSet::new(),
        bridged: BTreeMap::new(),
        waiting: BTreeSet::new(),
        ever: Vec::new(),
    };
    let mut next_call = 0;
    let mut elapsed = 0;
    for _ in 0..steps {
        elapsed += rng.random_range(0..6);
        let out = h.advance_to(elapsed);
        m.apply(&out);
        m.check(&h);
        let a = agent(&format!("a{}", rng.random_range(0..AGENTS)));
        let any_call = |rng: &mut ChaCha8Rng, m: &Model| -> CallRef {
            if m.ever.is_empty() {
                call("none")
            } else {
                m.ever[rng.random_range(0..m.ever.len())].clone()
            }
        };
        let input = match rng.random_range(0..100) {
            0..=14 => {
                let op = match rng.random_range(0..5) {
                    0 | 1 => AgentOp::Login,
                    2 => AgentOp::Logout,
                    3 => AgentOp::Pause {
                        reason: "break".into(),
                    },
                    _ => AgentOp::Unpause,
                };
                AcdInput::Agent { agent: a, op }
            }
            15..=19 => AcdInput::EndpointReachable {
                endpoint: format!("ep-{a}"),
                reachable: rng.random_bool(0.6),
            },
            20..=39 => {
                next_call += 1;
                let c = call(&format!("c{next_call}"));
                m.ever.push(c.clone());
                let q = if rng.random_bool(0.6) { "q0" } else { "q1" };
                let skills = if rng.random_bool(0.3) {
                    vec![("en".to_string(), rng.random_range(0..12))]
                } else {
                    vec![]
                };
                AcdInput::CallerJoin {
                    call: c,
                    queue: q.into(),
                    caller_id: "x".into(),
                    skills,
                    priority: rng.random_range(-1..2),
                }
            }
            40..=47 => AcdInput::CallerLeft {
                call: any_call(&mut rng, &m),
            },
            48..=55 => match pick(&mut rng, &m.pending) {
                Some((call, agent)) => AcdInput::RingFailed {
                    call,
                    agent,
                    busy: rng.random_bool(0.5),
                },
                None => continue,
            },
            56..=79 => match pick(&mut rng, &m.pending) {
                Some((call, agent)) if rng.random_bool(0.9) => {
                    AcdInput::AgentAnswered { call, agent }
                }
                _ => AcdInput::AgentAnswered {
                    call: any_call(&mut rng, &m),
                    agent: a,
                },
            },
            80..=91 => match pick(
                &mut rng,
                &m.bridged
                    .iter()
                    .map(|(c, a)| (c.clone(), a.clone()))
                    .collect(),
            ) {
                Some((call, agent)) => AcdInput::CallEnded { call, agent },
                None => continue,
            },
            _ => AcdInput::CallbackRequested {
                call: any_call(&mut rng, &m),
                number: "555".into(),
            },
        };
        // What the switch side does when it sends this input.
        let mut answered = None;
        match &input {
            AcdInput::CallerJoin { call, .. } => {
                m.waiting.insert(call.clone());
            }
            AcdInput::CallerLeft { call } => {
                m.bridged.remove(call);
            }
            AcdInput::RingFailed { call, agent, .. } => {
                m.pending.remove(&(call.clone(), agent.clone()));
            }
            AcdInput::AgentAnswered { call, agent } => {
                m.pending.remove(&(call.clone(), agent.clone()));
                answered = Some((call.clone(), agent.clone()));
            }
            AcdInput::CallEnded { call, .. } => {
                m.bridged.remove(call);
            }
            _ => {}
        }
        let was_waiting = match &input {
            AcdInput::CallerLeft { call } | AcdInput::CallbackRequested { call, .. } => {
                m.waiting.contains(call)
            }
            _ => false,
        };
        let out = h.input(input.clone());
        if let Some((c, a)) = answered {
            let verdicts = out
                .iter()
                .filter(|o| matches!(o, AcdOutput::Bridge { call, agent } | AcdOutput::Release { call, agent } if *call == c && *agent == a))
                .count();
            assert_eq!(verdicts, 1, "answer of {a} for {c}: {out:?}");
        }
        m.apply(&out);
        if was_waiting {
            // The switch hangs the caller up: every ring of it must have been cancelled.
            if let AcdInput::CallerLeft { call } | AcdInput::CallbackRequested { call, .. } = &input
            {
                assert!(
                    !m.pending.iter().any(|(c, _)| c == call),
                    "zombie ring for {call}"
                );
                m.waiting.remove(call);
            }
        }
        m.check(&h);
    }
}

fn pick(rng: &mut ChaCha8Rng, set: &BTreeSet<(CallRef, AgentId)>) -> Option<(CallRef, AgentId)> {
    if set.is_empty() {
        return None;
    }
    set.iter().nth(rng.random_range(0..set.len())).cloned()
}

#[test]
fn random_inputs_keep_the_invariants() {
    for seed in 0..16 {
        run(seed, 200);
    }
}
