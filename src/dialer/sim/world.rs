//! The event loop: leads, calls and agents on a virtual clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::metrics::{mean_p90, ratio, Metrics};
use super::workload::{Draw, Workload};
use crate::dialer::campaign::AbandonRegime;
use crate::dialer::compliance::{AbandonLedger, AbandonRule, Verdict};
use crate::dialer::floor::{AgentState, FailCause, Floor, Observation};
use crate::dialer::hopper::{Hopper, LeadId};
use crate::dialer::pacing::{Pacer, Trigger, TICK};
use crate::dialer::{AgentId, CallRef, Millis};

const AGENT_DOMAIN: u64 = 0x5eed_a6e7_0000_0001;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Tick,
    Resolve(u64),
    Deadline(u64),
    AmdVerdict(u64),
    TalkEnd(u32),
    WrapEnd(u32),
    MachineEnd(u32),
    Login(u32),
    BreakStart(u32, u64),
    BreakEnd(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Human,
    Machine,
    Rejected,
    NoAnswer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Ringing,
    Analysing,
    Waiting,
    Bridged,
    Done,
}

struct Call {
    lead: LeadId,
    kind: Kind,
    ring: Millis,
    greeting: Millis,
    talk_s: f64,
    /// Uniform draw deciding the AMD's verdict.
    amd_u: f64,
    answered_at: Millis,
    state: CallState,
}

struct Agent {
    state: AgentState,
    since: Millis,
    machine: bool,
    pending_break: Option<Millis>,
    rng: ChaCha8Rng,
    idle_acc: Millis,
}

#[derive(Default)]
struct Acc {
    talk: u64,
    wrap: u64,
    machine: u64,
    logged: u64,
    connects: u64,
    machine_answers: u64,
    waits: Vec<f64>,
    peak_lines: u32,
    ledger: AbandonLedger,
    abandons_15: Vec<u32>,
    amd_false_positives: u64,
}

fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = r.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = r.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn draw(r: &mut ChaCha8Rng) -> Draw {
    Draw {
        z: normal(r),
        u: r.random(),
        pick: r.random(),
    }
}

pub(super) struct World<'w> {
    wl: &'w Workload,
    seed: u64,
    pacer: Box<dyn Pacer>,
    floor: Floor,
    rule: AbandonRule,
    hopper: Hopper,
    now: Millis,
    start: Millis,
    end: Millis,
    heap: BinaryHeap<Reverse<(Millis, u64, Ev)>>,
    seq: u64,
    calls: Vec<Call>,
    queue: VecDeque<u64>,
    agents: Vec<Agent>,
    acc: Acc,
}

impl<'w> World<'w> {
    pub fn new(wl: &'w Workload, seed: u64, pacer: Box<dyn Pacer>) -> Self {
        let start = Millis::from_secs(
            u64::from(wl.start_hhmm / 100) * 3600 + u64::from(wl.start_hhmm % 100) * 60,
        );
        let end = start + Millis::from_secs_f64(wl.hours * 3600.0);
        let n = wl.agents;
        let agents = (0..n)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ AGENT_DOMAIN);
                rng.set_stream(u64::from(i));
                Agent {
                    state: AgentState::LoggedOut,
                    since: start,
                    machine: false,
                    pending_break: None,
                    rng,
                    idle_acc: Millis(0),
                }
            })
            .collect();
        let mut w = World {
            wl,
            seed,
            pacer,
            floor: Floor::new(),
            rule: AbandonRule::default(),
            hopper: Hopper::endless(),
            now: start,
            start,
            end,
            heap: BinaryHeap::new(),
            seq: 0,
            calls: Vec::new(),
            queue: VecDeque::new(),
            agents,
            acc: Acc {
                abandons_15: vec![0; (wl.hours * 4.0).ceil() as usize + 1],
                ..Acc::default()
            },
        };
        for i in 0..n {
            let at = wl.login_ramp_min * 60.0 * f64::from(i) / f64::from(n);
            w.at(start + Millis::from_secs_f64(at), Ev::Login(i));
            for b in &wl.breaks {
                let go = b.at_h * 3600.0 + b.stagger_min * 60.0 * f64::from(i) / f64::from(n);
                w.at(
                    start + Millis::from_secs_f64(go),
                    Ev::BreakStart(i, Millis::from_secs_f64(b.minutes * 60.0).0),
                );
            }
        }
        w.at(start, Ev::Tick);
        w
    }

    fn at(&mut self, t: Millis, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, ev)));
    }

    fn emit(&mut self, obs: Observation) {
        self.floor.apply(self.now, &obs);
        self.pacer.observe(self.now, &obs, &self.floor);
    }

    fn hours_in(&self) -> f64 {
        self.now.saturating_sub(self.start).as_secs_f64() / 3600.0
    }

    pub fn run(&mut self) {
        while let Some(Reverse((t, _, ev))) = self.heap.pop() {
            if t >= self.end {
                break;
            }
            self.now = t;
            let trigger = if ev == Ev::Tick {
                Trigger::Tick
            } else {
                Trigger::Event
            };
            self.handle(ev);
            let want = self.pacer.calls_to_place(self.now, &self.floor, trigger);
            self.dial(want);
        }
        self.now = self.end;
        for i in 0..self.agents.len() {
            self.account(i);
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Tick => {
                let next = self.now + TICK;
                self.at(next, Ev::Tick);
            }
            Ev::Resolve(c) => self.resolve(c),
            Ev::Deadline(c) => self.deadline(c),
            Ev::AmdVerdict(c) => self.amd_verdict(c),
            Ev::TalkEnd(a) => {
                self.set_state(a, AgentState::WrapUp);
                let d = draw(&mut self.agents[a as usize].rng);
                let wrap = Millis::from_secs_f64(self.wl.wrap.sample(d));
                self.at(self.now + wrap, Ev::WrapEnd(a));
            }
            Ev::WrapEnd(a) => {
                self.emit(Observation::Disposition {
                    agent: AgentId(a),
                    human: true,
                });
                self.agent_free(a);
            }
            Ev::MachineEnd(a) => {
                self.emit(Observation::Disposition {
                    agent: AgentId(a),
                    human: false,
                });
                self.agent_free(a);
            }
            Ev::Login(a) => self.agent_free(a),
            Ev::BreakStart(a, len) => {
                let ag = &mut self.agents[a as usize];
                match ag.state {
                    AgentState::Ready => {
                        self.set_state(a, AgentState::Paused);
                        self.at(self.now + Millis(len), Ev::BreakEnd(a));
                    }
                    AgentState::LoggedOut | AgentState::Paused => {}
                    _ => ag.pending_break = Some(Millis(len)),
                }
            }
            Ev::BreakEnd(a) => self.agent_free(a),
        }
    }

    fn account(&mut self, a: usize) {
        let ag = &mut self.agents[a];
        let dt = self.now.saturating_sub(ag.since);
        let acc = &mut self.acc;
        match ag.state {
            AgentState::LoggedOut | AgentState::Paused => {}
            s => {
                acc.logged += dt.0;
                match s {
                    AgentState::InCall if ag.machine => acc.machine += dt.0,
                    AgentState::InCall => acc.talk += dt.0,
                    AgentState::WrapUp => acc.wrap += dt.0,
                    _ => ag.idle_acc = ag.idle_acc + dt,
                }
            }
        }
        ag.since = self.now;
    }

    fn set_state(&mut self, a: u32, state: AgentState) {
        self.account(a as usize);
        self.agents[a as usize].state = state;
        self.emit(Observation::Agent {
            agent: AgentId(a),
            state,
        });
    }

    fn agent_free(&mut self, a: u32) {
        if let Some(len) = self.agents[a as usize].pending_break.take() {
            self.set_state(a, AgentState::Paused);
            self.at(self.now + len, Ev::BreakEnd(a));
            return;
        }
        self.set_state(a, AgentState::Ready);
        if let Some(c) = self.queue.pop_front() {
            self.bridge(c, a);
        }
    }

    fn dial(&mut self, want: u32) {
        let cap = (self.wl.trunks_per_agent * f64::from(self.floor.logged_in())) as u32;
        let n = want.min(cap.saturating_sub(self.floor.lines()));
        for _ in 0..n {
            let Some(lead) = self.hopper.pop() else {
                return;
            };
            let call = self.draw_call(lead);
            let id = self.calls.len() as u64;
            let ring = call.ring;
            self.calls.push(call);
            self.emit(Observation::Dialed { call: CallRef(id) });
            self.at(self.now + ring, Ev::Resolve(id));
        }
        self.acc.peak_lines = self.acc.peak_lines.max(self.floor.lines());
    }

    /// Everything about a lead comes from the lead's own stream, in a fixed order.
    fn draw_call(&self, lead: LeadId) -> Call {
        let mut r = ChaCha8Rng::seed_from_u64(self.seed);
        r.set_stream(lead.0);
        let u: f64 = r.random();
        let (ring_d, greet_d, talk_d, rej_d) =
            (draw(&mut r), draw(&mut r), draw(&mut r), draw(&mut r));
        // drawn last: the earlier draws are what they were before AMD was modelled
        let amd_u: f64 = r.random();
        let wl = self.wl;
        let h = self.hours_in();
        let s = wl.shares_at(h);
        let rna = wl.rna_s;
        let (kind, ring_s) = if u < s.human {
            (Kind::Human, wl.ring_human.sample(ring_d))
        } else if u < s.human + s.machine {
            (Kind::Machine, wl.ring_machine.sample(ring_d))
        } else if u < s.human + s.machine + s.rejected {
            (Kind::Rejected, wl.reject_time.sample(rej_d).min(rna))
        } else {
            (Kind::NoAnswer, rna)
        };
        let (kind, ring_s) = if ring_s >= rna {
            (Kind::NoAnswer, rna)
        } else {
            (kind, ring_s)
        };
        Call {
            lead,
            kind,
            ring: Millis::from_secs_f64(ring_s),
            greeting: Millis::from_secs_f64(wl.greeting.sample(greet_d)),
            talk_s: wl.talk.sample(talk_d) * wl.talk_scale_at(h),
            amd_u,
            answered_at: Millis(0),
            state: CallState::Ringing,
        }
    }

    fn resolve(&mut self, c: u64) {
        let call = &self.calls[c as usize];
        let (kind, ring, greeting) = (call.kind, call.ring, call.greeting);
        let id = CallRef(c);
        match kind {
            Kind::Rejected | Kind::NoAnswer => {
                let cause = if kind == Kind::Rejected {
                    FailCause::Rejected
                } else {
                    FailCause::NoAnswer
                };
                self.calls[c as usize].state = CallState::Done;
                self.emit(Observation::Failed {
                    call: id,
                    ring,
                    cause,
                });
            }
            Kind::Human | Kind::Machine => {
                if kind == Kind::Machine {
                    self.acc.machine_answers += 1;
                }
                self.calls[c as usize].answered_at = self.now;
                match &self.wl.amd {
                    Some(amd) => {
                        self.calls[c as usize].state = CallState::Analysing;
                        let after = Millis::from_secs_f64(amd.after_greeting_s);
                        self.at(self.now + greeting + after, Ev::AmdVerdict(c));
                    }
                    None => self.answered(c),
                }
            }
        }
    }

    /// The answer is reported (after AMD, if any): bridge or queue until the deadline.
    fn answered(&mut self, c: u64) {
        let call = &mut self.calls[c as usize];
        let (ring, greeting, at) = (call.ring, call.greeting, call.answered_at);
        self.emit(Observation::Answered {
            call: CallRef(c),
            ring,
        });
        let ready = (0..self.agents.len())
            .filter(|i| self.agents[*i].state == AgentState::Ready)
            .min_by_key(|i| (self.agents[*i].since, *i));
        match ready {
            Some(a) => self.bridge(c, a as u32),
            None => {
                self.calls[c as usize].state = CallState::Waiting;
                self.queue.push_back(c);
                let deadline = self.rule.deadline(at + greeting).max(self.now);
                self.at(deadline, Ev::Deadline(c));
            }
        }
    }

    /// The AMD's verdict: a machine verdict hangs up (a person hung up on is abandoned
    /// under Ofcom); a person verdict reports the answer.
    fn amd_verdict(&mut self, c: u64) {
        let Some(amd) = &self.wl.amd else {
            return;
        };
        let call = &self.calls[c as usize];
        let human = call.kind == Kind::Human;
        let machine_verdict = if human {
            call.amd_u < amd.false_positive
        } else {
            call.amd_u >= amd.false_negative
        };
        if !machine_verdict {
            self.answered(c);
            return;
        }
        let ring = call.ring;
        self.calls[c as usize].state = CallState::Done;
        self.emit(Observation::Failed {
            call: CallRef(c),
            ring,
            cause: FailCause::AmdMachine,
        });
        if human {
            self.acc.amd_false_positives += 1;
            if self.wl.regime == AbandonRegime::UkOfcom {
                self.abandon();
            }
        }
    }

    /// Ground truth: a person abandoned now.
    fn abandon(&mut self) {
        self.acc.ledger.record(true);
        let bucket = (self.hours_in() * 4.0) as usize;
        if let Some(b) = self.acc.abandons_15.get_mut(bucket) {
            *b += 1;
        }
    }

    fn deadline(&mut self, c: u64) {
        let bridged = self.calls[c as usize].state != CallState::Waiting;
        if self.rule.at_deadline(bridged) != Verdict::SafeHarbor {
            return;
        }
        self.calls[c as usize].state = CallState::Done;
        self.queue.retain(|q| *q != c);
        self.emit(Observation::Dropped { call: CallRef(c) });
        if self.calls[c as usize].kind == Kind::Human {
            self.abandon();
        }
    }

    fn bridge(&mut self, c: u64, a: u32) {
        let (kind, talk_s) = {
            let call = &mut self.calls[c as usize];
            call.state = CallState::Bridged;
            (call.kind, call.talk_s)
        };
        let human = kind == Kind::Human;
        self.emit(Observation::Bridged {
            call: CallRef(c),
            agent: AgentId(a),
        });
        self.account(a as usize);
        let ag = &mut self.agents[a as usize];
        ag.machine = !human;
        if human {
            self.acc.waits.push(ag.idle_acc.as_secs_f64());
            ag.idle_acc = Millis(0);
            self.acc.connects += 1;
            self.acc.ledger.record(false);
        }
        self.set_state(a, AgentState::InCall);
        if human {
            self.at(self.now + Millis::from_secs_f64(talk_s), Ev::TalkEnd(a));
        } else {
            self.at(
                self.now + Millis::from_secs_f64(self.wl.machine_agent_s),
                Ev::MachineEnd(a),
            );
        }
    }

    pub fn lead_log(&self, n: usize) -> Vec<String> {
        self.calls
            .iter()
            .take(n)
            .map(|c| format!("{}:{:?}:{}:{:.3}", c.lead.0, c.kind, c.ring.0, c.talk_s))
            .collect()
    }

    pub fn metrics(&self, policy: &str, seed: u64) -> Metrics {
        let acc = &self.acc;
        let logged = acc.logged as f64;
        let (mean_wait, p90_wait) = mean_p90(&mut acc.waits.clone());
        let t = self.floor.totals;
        let agent_hours = logged / 3_600_000.0;
        Metrics {
            workload: self.wl.name.clone(),
            policy: policy.to_string(),
            seed,
            hours: self.wl.hours,
            talk_utilisation: ratio(acc.talk as f64, logged),
            occupancy: ratio((acc.talk + acc.wrap + acc.machine) as f64, logged),
            ftc_abandon_rate: acc.ledger.rate(),
            ofcom_acr_reported: self
                .floor
                .abandon_estimate(true, self.wl.ofcom_amd_fp())
                .rate(),
            mean_wait_s: mean_wait,
            p90_wait_s: p90_wait,
            connects_per_agent_hour: ratio(acc.connects as f64, agent_hours),
            dials_per_connect: ratio(t.dials as f64, acc.connects as f64),
            peak_lines: acc.peak_lines,
            dials: t.dials,
            live_answers: acc.ledger.live_answers,
            abandoned: acc.ledger.abandoned,
            connects: acc.connects,
            machine_answers: acc.machine_answers,
            drops: t.drops,
            worst_15min_abandons: acc.abandons_15.iter().copied().max().unwrap_or(0),
            amd_false_positives: acc.amd_false_positives,
        }
    }
}
