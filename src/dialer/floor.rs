//! The campaign floor as a pacer may see it: agent states, calls in flight and
//! answered calls waiting for an agent, plus today's counters.
//!
//! It is a pure fold over [`Observation`]s, the events a real dialer gets from SIP
//! (final responses, 200 OK), the bridge, the safe-harbor drop and the ACD (agent state
//! changes, dispositions). Ground truth (human or machine, greeting end) never enters.
//!
//! Per-call state is kept only while a call can still change the floor: a dialed call
//! until its answer or failure, an answered call until it is bridged or dropped. A call
//! whose end the driver never reports that way (a hang-up while queued, a lost final
//! response) is forgotten after [`MAX_RING`] or [`MAX_WAIT`] and counted in
//! [`Totals::expired`], so a day's fold stays bounded and such a call never holds a
//! line or a waiting slot for the rest of the shift.

use std::collections::BTreeMap;

use super::compliance::{expected_amd_false_positives, DropMix};
use super::{AgentId, CallRef, Millis};

/// A dialed call with no answer or failure after this long is forgotten (the ring-no-answer
/// timeout is 15–60 s in practice; SIP Timer C, 3 min, ends any INVITE left without a final response).
pub const MAX_RING: Millis = Millis(300_000);
/// An answered call neither bridged nor dropped after this long is forgotten (the 2-second
/// rule bounds the wait to the greeting + 2 s).
pub const MAX_WAIT: Millis = Millis(60_000);
/// How often the fold looks for such calls.
const SWEEP: Millis = Millis(10_000);

/// Agent states the ACD reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    /// Idle, waiting for a call (VICIdial READY/DONE).
    Ready,
    /// Bridged to a live (or machine) call.
    InCall,
    /// After-call work.
    WrapUp,
    /// On a break.
    Paused,
}

/// Why an attempt ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailCause {
    /// 486/600, SIT, 404: resolved before ringing out.
    Rejected,
    /// Ring-no-answer timeout.
    NoAnswer,
    /// Answered, and answering-machine detection called it a machine: hung up (or a
    /// message left) without an agent. Under Ofcom some of these were people.
    AmdMachine,
}

/// An observable event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    Dialed {
        call: CallRef,
    },
    /// 200 OK after `ring`.
    Answered {
        call: CallRef,
        ring: Millis,
    },
    Failed {
        call: CallRef,
        ring: Millis,
        cause: FailCause,
    },
    Bridged {
        call: CallRef,
        agent: AgentId,
    },
    /// The safe-harbor message was played and the call hung up.
    Dropped {
        call: CallRef,
    },
    Agent {
        agent: AgentId,
        state: AgentState,
    },
    /// The agent's disposition: a person (`human`) or an answering machine.
    Disposition {
        agent: AgentId,
        human: bool,
    },
}

/// One agent as seen by the pacer.
#[derive(Clone, Copy, Debug)]
pub struct AgentView {
    pub state: AgentState,
    /// When the agent entered `state`.
    pub since: Millis,
}

/// Today's counters (VICIdial's `calculate_drops` inputs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub dials: u64,
    pub answered: u64,
    pub failed: u64,
    pub drops: u64,
    pub agent_humans: u64,
    pub agent_machines: u64,
    /// Calls the AMD called machines ([`FailCause::AmdMachine`]).
    pub amd_machines: u64,
    /// Calls forgotten without an outcome (see [`MAX_RING`], [`MAX_WAIT`]).
    pub expired: u64,
}

/// The abandon rate as a dialer without ground truth estimates it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AbandonEstimate {
    /// Estimated abandoned calls: people among the drops (+ AMD false positives under Ofcom).
    pub abandoned: f64,
    /// Estimated live answers: agent-handled people + `abandoned`.
    pub live: f64,
}

impl AbandonEstimate {
    /// abandoned ÷ live (0 before any live answer).
    pub fn rate(&self) -> f64 {
        if self.live > 0.0 {
            self.abandoned / self.live
        } else {
            0.0
        }
    }
}

/// Observable campaign state.
#[derive(Clone, Debug, Default)]
pub struct Floor {
    agents: Vec<AgentView>,
    /// Dialed calls not yet answered or failed: their dial instants.
    in_flight: BTreeMap<CallRef, Millis>,
    counts: [u32; 5],
    pub totals: Totals,
    /// Answered calls not yet bridged or dropped (the waiting ones): ring time and answer
    /// instant.
    answered: BTreeMap<CallRef, Answer>,
    /// The ring time of each agent's call, until its disposition.
    agent_ring: Vec<Option<Millis>>,
    mix: DropMix,
    next_sweep: Millis,
}

#[derive(Clone, Copy, Debug)]
struct Answer {
    ring: Millis,
    at: Millis,
}

fn slot(s: AgentState) -> usize {
    match s {
        AgentState::LoggedOut => 0,
        AgentState::Ready => 1,
        AgentState::InCall => 2,
        AgentState::WrapUp => 3,
        AgentState::Paused => 4,
    }
}

impl Floor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fold one observation.
    pub fn apply(&mut self, now: Millis, obs: &Observation) {
        if now >= self.next_sweep {
            self.sweep(now);
        }
        match *obs {
            Observation::Dialed { call } => {
                self.totals.dials += 1;
                self.in_flight.insert(call, now);
            }
            Observation::Answered { call, ring } => {
                if self.in_flight.remove(&call).is_some() {
                    self.totals.answered += 1;
                    self.answered.insert(call, Answer { ring, at: now });
                }
            }
            Observation::Failed { call, cause, .. } => {
                if self.in_flight.remove(&call).is_some() {
                    self.totals.failed += 1;
                    if cause == FailCause::AmdMachine {
                        self.totals.amd_machines += 1;
                    }
                }
            }
            Observation::Bridged { call, agent } => {
                let ring = self.answered.remove(&call).map(|a| a.ring);
                let i = agent.0 as usize;
                if i >= self.agent_ring.len() {
                    self.agent_ring.resize(i + 1, None);
                }
                self.agent_ring[i] = ring;
            }
            Observation::Dropped { call } => {
                self.totals.drops += 1;
                let ring = self.answered.remove(&call).map(|a| a.ring);
                self.mix.drop(ring);
            }
            Observation::Agent { agent, state } => self.set_agent(now, agent, state),
            Observation::Disposition { agent, human } => {
                let ring = self
                    .agent_ring
                    .get_mut(agent.0 as usize)
                    .and_then(Option::take);
                self.mix.disposition(ring, human);
                if human {
                    self.totals.agent_humans += 1;
                } else {
                    self.totals.agent_machines += 1;
                }
            }
        }
    }

    /// Forget calls whose outcome never came (see [`MAX_RING`], [`MAX_WAIT`]).
    fn sweep(&mut self, now: Millis) {
        let before = self.in_flight.len() + self.answered.len();
        self.in_flight
            .retain(|_, dialed| now.saturating_sub(*dialed) < MAX_RING);
        self.answered
            .retain(|_, a| now.saturating_sub(a.at) < MAX_WAIT);
        let after = self.in_flight.len() + self.answered.len();
        self.totals.expired += (before - after) as u64;
        self.next_sweep = now + SWEEP;
    }

    fn set_agent(&mut self, now: Millis, agent: AgentId, state: AgentState) {
        let i = agent.0 as usize;
        if i >= self.agents.len() {
            let grow = i + 1 - self.agents.len();
            self.counts[0] += grow as u32;
            self.agents.resize(
                i + 1,
                AgentView {
                    state: AgentState::LoggedOut,
                    since: now,
                },
            );
        }
        let old = self.agents[i].state;
        self.counts[slot(old)] -= 1;
        self.counts[slot(state)] += 1;
        self.agents[i] = AgentView { state, since: now };
    }

    pub fn agents(&self) -> &[AgentView] {
        &self.agents
    }

    /// Calls dialed and not yet answered or failed, with their dial instants.
    pub fn in_flight(&self) -> impl Iterator<Item = (CallRef, Millis)> + '_ {
        self.in_flight.iter().map(|(c, t)| (*c, *t))
    }

    pub fn in_flight_count(&self) -> u32 {
        self.in_flight.len() as u32
    }

    /// Answered calls waiting for an agent.
    pub fn waiting(&self) -> u32 {
        self.answered.len() as u32
    }

    pub fn ready(&self) -> u32 {
        self.counts[1]
    }

    pub fn in_call(&self) -> u32 {
        self.counts[2]
    }

    pub fn wrap_up(&self) -> u32 {
        self.counts[3]
    }

    pub fn paused(&self) -> u32 {
        self.counts[4]
    }

    /// Everyone not logged out (paused included, as in `vicidial_live_agents`).
    pub fn logged_in(&self) -> u32 {
        self.counts[1] + self.counts[2] + self.counts[3] + self.counts[4]
    }

    /// Lines in use: ringing, answered-waiting and bridged calls.
    pub fn lines(&self) -> u32 {
        self.in_flight_count() + self.waiting() + self.in_call()
    }

    /// The running abandon rate's estimate: people among the drops (by ring time when
    /// `stratified`, else Ofcom's pooled 2015 formula) and, with `amd_false_positive_rate`
    /// (Ofcom regime with AMD), the people the AMD hung up on.
    pub fn abandon_estimate(
        &self,
        stratified: bool,
        amd_false_positive_rate: Option<f64>,
    ) -> AbandonEstimate {
        let t = &self.totals;
        let drops = self.mix.human_drops(stratified);
        let people_passed = t.agent_humans as f64 + drops;
        let fp = amd_false_positive_rate.map_or(0.0, |r| {
            expected_amd_false_positives(t.amd_machines, people_passed, r)
        });
        AbandonEstimate {
            abandoned: drops + fp,
            live: people_passed + fp,
        }
    }

    /// What progressive 1:1 would dial now: idle agents not yet covered by a call.
    pub fn progressive_need(&self) -> u32 {
        self.ready()
            .saturating_sub(self.in_flight_count() + self.waiting())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_counts_calls_and_agents() {
        let mut f = Floor::new();
        let t = Millis(0);
        f.apply(
            t,
            &Observation::Agent {
                agent: AgentId(1),
                state: AgentState::Ready,
            },
        );
        assert_eq!((f.ready(), f.logged_in(), f.agents().len()), (1, 1, 2));
        f.apply(t, &Observation::Dialed { call: CallRef(7) });
        assert_eq!(f.progressive_need(), 0);
        f.apply(
            t,
            &Observation::Answered {
                call: CallRef(7),
                ring: Millis(5),
            },
        );
        assert_eq!((f.in_flight_count(), f.waiting()), (0, 1));
        f.apply(
            t,
            &Observation::Bridged {
                call: CallRef(7),
                agent: AgentId(1),
            },
        );
        f.apply(
            t,
            &Observation::Agent {
                agent: AgentId(1),
                state: AgentState::InCall,
            },
        );
        assert_eq!(
            (f.waiting(), f.ready(), f.in_call(), f.lines()),
            (0, 0, 1, 1)
        );
        // an answer for an unknown call is ignored, never underflows
        f.apply(
            t,
            &Observation::Answered {
                call: CallRef(99),
                ring: Millis(5),
            },
        );
        f.apply(t, &Observation::Dropped { call: CallRef(99) });
        assert_eq!(f.waiting(), 0);
    }

    /// An 8-hour, 100-agent day at 3 dials a second where every tenth answered call ends
    /// without a bridge or a drop (the person hung up while queued, reported to nobody) and
    /// every hundredth dial never gets a final response: the fold forgets them, so its
    /// per-call state stays bounded and they stop counting as waiting calls and lines.
    #[test]
    fn calls_without_an_outcome_are_forgotten() {
        let mut f = Floor::new();
        for a in 0..100 {
            let agent = AgentId(a);
            f.apply(
                Millis(0),
                &Observation::Agent {
                    agent,
                    state: AgentState::Ready,
                },
            );
        }
        let mut peak = 0;
        let (mut lost_answers, mut lost_dials) = (0u64, 0u64);
        for c in 0..(8 * 3_600 * 3u64) {
            let now = Millis(c * 333);
            let call = CallRef(c);
            f.apply(now, &Observation::Dialed { call });
            let ring = Millis(9_000);
            if c % 100 == 99 {
                lost_dials += 1;
            } else if c % 3 == 0 {
                f.apply(now, &Observation::Answered { call, ring });
                if c % 30 == 0 {
                    lost_answers += 1;
                } else if c % 2 == 0 {
                    f.apply(now, &Observation::Dropped { call });
                } else {
                    let agent = AgentId((c % 100) as u32);
                    f.apply(now, &Observation::Bridged { call, agent });
                    f.apply(now, &Observation::Disposition { agent, human: true });
                }
            } else {
                let cause = FailCause::NoAnswer;
                f.apply(now, &Observation::Failed { call, ring, cause });
            }
            peak = peak.max(f.in_flight.len() + f.answered.len() + f.agent_ring.len());
        }
        // a sweep every 10 s; 5 min of lost dials (≈ 9) and 60 s of lost answers (≈ 6) at most
        assert!(peak < 150, "per-call state grew to {peak}");
        assert!(lost_answers > 2_000 && lost_dials > 800);
        let end = Millis(8 * 3_600_000 + MAX_RING.0 + 20_000);
        f.apply(
            end,
            &Observation::Agent {
                agent: AgentId(0),
                state: AgentState::Ready,
            },
        );
        assert_eq!((f.waiting(), f.in_flight_count()), (0, 0));
        assert_eq!(f.lines(), 0);
        assert_eq!(f.progressive_need(), 100);
        assert_eq!(f.totals.expired, lost_answers + lost_dials);
        // the ones that did resolve were all counted
        assert_eq!(f.totals.dials, 8 * 3_600 * 3);
    }

    /// A queued call is still waiting (and still a line) until MAX_WAIT has passed, and a
    /// ringing one until MAX_RING: the sweep (every 10 s) never forgets a call sooner.
    #[test]
    fn live_calls_are_kept_until_their_bound() {
        let mut f = Floor::new();
        let (a, b) = (CallRef(1), CallRef(2));
        f.apply(Millis(0), &Observation::Dialed { call: a });
        f.apply(Millis(0), &Observation::Dialed { call: b });
        f.apply(
            Millis(5_000),
            &Observation::Answered {
                call: a,
                ring: Millis(5_000),
            },
        );
        f.apply(
            Millis(64_000),
            &Observation::Agent {
                agent: AgentId(0),
                state: AgentState::Ready,
            },
        );
        assert_eq!(
            (f.waiting(), f.in_flight_count()),
            (1, 1),
            "answered 59 s ago"
        );
        f.apply(
            Millis(75_000),
            &Observation::Agent {
                agent: AgentId(0),
                state: AgentState::Ready,
            },
        );
        assert_eq!(
            (f.waiting(), f.in_flight_count()),
            (0, 1),
            "answered 70 s ago (swept every 10 s)"
        );
        f.apply(
            Millis(299_000),
            &Observation::Agent {
                agent: AgentId(0),
                state: AgentState::Ready,
            },
        );
        assert_eq!(f.in_flight_count(), 1, "dialed 299 s ago");
        // a late answer for a call still ringing counts normally
        f.apply(
            Millis(299_500),
            &Observation::Answered {
                call: b,
                ring: Millis(299_500),
            },
        );
        assert_eq!(
            (f.waiting(), f.totals.answered, f.totals.expired),
            (1, 2, 1)
        );
    }

    #[test]
    fn abandon_estimate_links_drops_and_dispositions_by_ring_time() {
        let mut f = Floor::new();
        let t = Millis(0);
        let answer = |f: &mut Floor, c: u64, ring_ms: u64| {
            f.apply(t, &Observation::Dialed { call: CallRef(c) });
            f.apply(
                t,
                &Observation::Answered {
                    call: CallRef(c),
                    ring: Millis(ring_ms),
                },
            );
        };
        // 40 people after an 8 s ring and 40 machines after 18 s reach agents
        for c in 0..80u64 {
            let machine = c % 2 == 1;
            answer(&mut f, c, if machine { 18_000 } else { 8_000 });
            let agent = AgentId(c as u32);
            f.apply(
                t,
                &Observation::Bridged {
                    call: CallRef(c),
                    agent,
                },
            );
            f.apply(
                t,
                &Observation::Disposition {
                    agent,
                    human: !machine,
                },
            );
        }
        // four drops after a machine-like ring
        for c in 100..104u64 {
            answer(&mut f, c, 18_500);
            f.apply(t, &Observation::Dropped { call: CallRef(c) });
        }
        let pooled = f.abandon_estimate(false, None);
        assert!((pooled.abandoned - 2.0).abs() < 1e-9, "{pooled:?}");
        let strat = f.abandon_estimate(true, None);
        assert!(strat.abandoned < 0.5, "{strat:?}");
        assert!((strat.live - 40.0 - strat.abandoned).abs() < 1e-9);
        // AMD machine verdicts: counted, and under Ofcom some were people
        for c in 200..300u64 {
            f.apply(t, &Observation::Dialed { call: CallRef(c) });
            let cause = FailCause::AmdMachine;
            let ring = Millis(9_000);
            f.apply(
                t,
                &Observation::Failed {
                    call: CallRef(c),
                    ring,
                    cause,
                },
            );
        }
        assert_eq!(f.totals.amd_machines, 100);
        let us = f.abandon_estimate(true, None);
        let uk = f.abandon_estimate(true, Some(0.2));
        let fp = (40.0 + us.abandoned) * 0.25;
        assert!((uk.abandoned - us.abandoned - fp).abs() < 1e-9, "{uk:?}");
        assert!((uk.live - us.live - fp).abs() < 1e-9);
        assert!(
            uk.rate() > 0.15 && us.rate() < 0.02,
            "{} {}",
            uk.rate(),
            us.rate()
        );
    }
}
