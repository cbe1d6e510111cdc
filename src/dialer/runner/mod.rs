//! [`CampaignRunner`]: one running campaign on this node, sans-IO.
//!
//! It owns what the pacer needs (the [`Floor`] fold and the [`Pacer`]) and every attempt
//! it placed, from the claimed lead to the stored outcome. The runtime feeds it what the
//! switch and the ACD report ([`RunnerInput`]) with the wall time, and carries out what it
//! asks for ([`RunnerOutput`]): claim leads from the store, place a call, record an
//! attempt, pause or release an agent, show an agent the lead (screen pop).
//!
//! The call it places runs this program on answer: join the campaign's ACD queue with a
//! 2-second maximum wait (the FTC/FCC rule, 16 CFR 310.4(b)(1)(iv): a live person must be
//! connected to an agent within 2 s of the completed greeting, counted here from the
//! answer, which is stricter), and when no agent took it in time, play the campaign's
//! safe-harbor message and hang up; that attempt is `dropped` and counts as abandoned.
//!
//! Outcomes follow the SIP result ([`outcome::classify`]): 486/600/603 busy, 404/410/484/604
//! invalid (never retried), 480/408/487 no answer, 5xx and the rest congestion; the lead's
//! next state comes from the campaign's retry rules ([`Campaign::after_attempt`]).
//!
//! Preview mode (the agent sees the lead, then asks for the call) is in [`preview`].

mod outcome;
pub mod preview;
#[cfg(test)]
mod preview_tests;
#[cfg(test)]
mod tests;

pub use outcome::classify;
pub use preview::{CustomerLeg, MISSED_PAUSE, PREVIEW_PAUSE};

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::amd::AmdResult;
use super::campaign::{AbandonRegime, Campaign, DialMode};
use super::compliance::AMD_FALSE_POSITIVE_RATE;
use super::floor::{AgentState, FailCause, Floor, Observation};
use super::live::{AgentLead, AgentLeadState, CampaignLive};
use super::pacing::{Pacer, Predictive, PredictiveConfig, Progressive, Trigger, TICK};
use super::{AgentId, CallRef, Millis};
use crate::acd::AgentOp;
use crate::store::{Attempt, AttemptOutcome, Lead, LeadId, LeadNext};

/// Lines per logged-in agent, as in the simulator.
pub const LINES_PER_AGENT: u32 = 3;
/// The most leads asked for in one claim.
const MAX_CLAIM: u32 = 50;
/// The wait before dialling again after the switch refused a call.
const REFUSAL_BACKOFF: Millis = Millis(5_000);
/// The wait before asking again after a claim came back empty or failed.
const CLAIM_BACKOFF: Millis = Millis(2_000);
/// The seconds an answered call waits in the queue for an agent.
pub const BRIDGE_WINDOW_S: u32 = 2;
/// The agent's pause reason while a disposition is owed.
pub const DISPOSITION_PAUSE: &str = "disposition";
const DAY_MS: i64 = 86_400_000;

/// What the runtime reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerInput {
    /// The periodic wake-up.
    Tick,
    /// Leads the store handed this node (possibly fewer than asked).
    Claimed(Vec<Lead>),
    /// The claim failed (store error): try again on a later tick.
    ClaimFailed,
    /// The switch accepted the call for `tag` as call `call_key`.
    Originated { tag: String, call_key: u64 },
    /// The switch refused to place it (no such trunk, at max calls, draining) or the
    /// store no longer had the lead: not the lead's fault, so no attempt is recorded and
    /// the lead goes back to the hopper.
    OriginateRefused { tag: String, why: String },
    /// `originate.answered`: the customer answered; `call_id` is the call's record id.
    /// (Preview mode: the agent's phone answered, the lead is dialled next.)
    Answered { tag: String, call_id: String },
    /// `originate.bridged`: the call's second party answered and was bridged to the first
    /// (preview mode: the customer answered the agent's call).
    CustomerAnswered { tag: String },
    /// `originate.amd`: answering-machine detection's verdict on the greeting.
    Amd { tag: String, result: AmdResult },
    /// `originate.failed` with the final SIP status.
    Failed { tag: String, status: u16 },
    /// An agent took the answered call from the queue.
    Bridged { call_key: u64, agent: String },
    /// The answered call left the queue without an agent: the wait ran out or the queue
    /// refused it (`timeout`), or the customer hung up while waiting.
    LeftQueue { call_key: u64 },
    /// A call ended (record id), with its leg towards the lead when it had one (what a
    /// preview call's outcome is read from).
    CallEnded {
        call_id: String,
        customer: Option<CustomerLeg>,
    },
    /// An agent of the campaign's queue changed state.
    Agent { agent: String, state: AgentState },
    /// The agent has (`busy`) or no longer has a lead of another campaign on its desktop
    /// (offered, on the call or owing its disposition): preview mode offers it nothing
    /// meanwhile, even before the other campaign's pause reaches the ACD.
    AgentElsewhere { agent: String, busy: bool },
    /// The agent's disposition for its lead was stored (`human` false for a machine code).
    Dispositioned { agent: String, human: bool },
    /// The campaign was paused or stopped: no new calls; calls up finish normally.
    Stop,
    /// Preview mode: the agent asked for the call to the lead offered to it.
    PreviewDial { agent: String },
    /// Preview mode: the agent passed on the lead offered to it.
    PreviewSkip { agent: String },
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerOutput {
    /// Claim up to this many leads and answer with [`RunnerInput::Claimed`].
    Claim(u32),
    /// Mark the lead dialling and place the call; answer with `Originated` or
    /// `OriginateRefused`.
    Dial {
        tag: String,
        lead: Lead,
    },
    /// Store the attempt and move the lead (committed before anything else is done with it).
    Record {
        lead: LeadId,
        attempt: Attempt,
        next: LeadNext,
    },
    /// Give claimed leads back (paused or stopped before dialling them).
    Unclaim(Vec<LeadId>),
    AgentOp {
        agent: String,
        op: AgentOp,
    },
    /// Screen pop: the agent is connected to this lead.
    Assign {
        agent: String,
        lead: AgentLead,
    },
    /// The agent's call ended; the lead stays on its desktop for the disposition.
    AgentCallEnded {
        agent: String,
    },
    /// The agent is done with the lead.
    Unassign {
        agent: String,
    },
    /// Preview mode: mark the lead dialling, ring the agent's phone and, when it answers,
    /// dial the lead over the campaign's trunk; answer with `Originated` or
    /// `OriginateRefused` (the `originate.*` events of the agent's leg follow).
    PreviewDial {
        tag: String,
        agent: String,
        lead: Lead,
    },
}

/// Where an attempt is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Dialing,
    /// Answered; answering-machine detection listens to the greeting.
    Analysing,
    /// A machine answered (hung up, or left the campaign's message).
    Machine,
    /// Answered, waiting in the queue.
    Waiting,
    Bridged {
        agent: String,
    },
    /// Left the queue unconnected (safe-harbor message, or the customer hung up).
    Dropped,
}

#[derive(Debug, Clone)]
struct InFlight {
    lead: Lead,
    call: CallRef,
    call_key: Option<u64>,
    call_id: Option<String>,
    started_ms: i64,
    answered_ms: Option<i64>,
    phase: Phase,
    /// The agent stored a disposition before the call ended.
    dispositioned: bool,
    /// Preview mode: the agent who asked for this call (its phone is rung first).
    agent: Option<String>,
}

impl InFlight {
    /// A call just placed for `lead` (preview mode: asked for by `agent`).
    fn dialing(lead: Lead, call: CallRef, now_ms: i64, agent: Option<String>) -> InFlight {
        InFlight {
            lead,
            call,
            call_key: None,
            call_id: None,
            started_ms: now_ms,
            answered_ms: None,
            phase: Phase::Dialing,
            dispositioned: false,
            agent,
        }
    }
}

/// Talk and logged-in time of the campaign's agents.
#[derive(Debug, Clone, Copy, Default)]
struct Utilisation {
    logged_ms: u64,
    talk_ms: u64,
}

/// The AMD false-positive rate the Ofcom estimate counts (Ofcom regime with AMD on). A
/// definition with both is refused ([`CampaignError::AmdUnderOfcom`](super::campaign::CampaignError));
/// this still counts them right for a row stored before that check.
fn ofcom_amd_fp(c: &Campaign) -> Option<f64> {
    (c.abandon.regime == AbandonRegime::UkOfcom && c.amd.is_some())
        .then_some(AMD_FALSE_POSITIVE_RATE)
}

/// One running campaign.
pub struct CampaignRunner {
    id: String,
    campaign: Campaign,
    floor: Floor,
    pacer: Box<dyn Pacer + Send + Sync>,
    day_origin_ms: i64,
    last_tick: Millis,
    agents: HashMap<String, AgentId>,
    buffer: VecDeque<Lead>,
    claim_pending: bool,
    /// No claim before this (after one came back empty).
    claim_after: Millis,
    /// No call before this (after the switch refused one), and why it refused.
    dial_after: Millis,
    refusal: Option<String>,
    next_call: u64,
    attempts: BTreeMap<String, InFlight>,
    stopping: bool,
    /// Agents paused until they store the disposition of their last call.
    owed: HashSet<String>,
    counters: Counters,
    util: Utilisation,
    previews: preview::Previews,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    dials: u64,
    live_answers: u64,
    machines: u64,
    abandoned: u64,
}

impl CampaignRunner {
    /// A runner for campaign `id` whose queue has these agents (ids) in these states.
    pub fn new(id: &str, campaign: Campaign, agents: &[(String, AgentState)], now_ms: i64) -> Self {
        let pacer: Box<dyn Pacer + Send + Sync> = match campaign.dial_mode {
            DialMode::Predictive => Box::new(Predictive::new(PredictiveConfig {
                // At most a sixth under the campaign's ceiling (2.5 % for the legal 3 %).
                target: campaign.abandon.rate * 5.0 / 6.0,
                limit: campaign.abandon.rate,
                amd_false_positive_rate: ofcom_amd_fp(&campaign),
                ..PredictiveConfig::default()
            })),
            DialMode::Progressive | DialMode::Preview => Box::new(Progressive),
        };
        let mut r = CampaignRunner {
            id: id.to_string(),
            campaign,
            floor: Floor::new(),
            pacer,
            day_origin_ms: now_ms - now_ms.rem_euclid(DAY_MS),
            last_tick: Millis(0),
            agents: HashMap::new(),
            buffer: VecDeque::new(),
            claim_pending: false,
            claim_after: Millis(0),
            dial_after: Millis(0),
            refusal: None,
            next_call: 0,
            attempts: BTreeMap::new(),
            stopping: false,
            owed: HashSet::new(),
            counters: Counters::default(),
            util: Utilisation::default(),
            previews: preview::Previews::default(),
        };
        for (agent, state) in agents {
            r.agent_state(now_ms, agent, *state);
        }
        r
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }

    /// Stopping and nothing left in flight: the runtime may drop the runner.
    pub fn finished(&self) -> bool {
        self.stopping && self.attempts.is_empty() && !self.claim_pending
    }

    /// Whether the agent serves this campaign's queue.
    pub fn has_agent(&self, agent: &str) -> bool {
        self.agents.contains_key(agent)
    }

    /// Whether this runner placed the call with `tag`.
    pub fn owns_tag(&self, tag: &str) -> bool {
        self.attempts.contains_key(tag)
    }

    fn at(&self, now_ms: i64) -> Millis {
        Millis(u64::try_from(now_ms - self.day_origin_ms).unwrap_or(0))
    }

    /// Feed one input; what to do is appended to `out`.
    pub fn handle(&mut self, now_ms: i64, input: RunnerInput, out: &mut Vec<RunnerOutput>) {
        let trigger = match input {
            RunnerInput::Tick => {
                let now = self.at(now_ms);
                if now < self.last_tick + TICK {
                    return;
                }
                self.last_tick = now;
                Trigger::Tick
            }
            input => {
                self.apply(now_ms, input, out);
                Trigger::Event
            }
        };
        self.place(now_ms, trigger, out);
    }

    fn apply(&mut self, now_ms: i64, input: RunnerInput, out: &mut Vec<RunnerOutput>) {
        match input {
            RunnerInput::Tick => {}
            RunnerInput::Claimed(leads) => {
                self.claim_pending = false;
                if leads.is_empty() {
                    self.claim_after = self.at(now_ms) + CLAIM_BACKOFF;
                }
                if self.stopping {
                    out.push(RunnerOutput::Unclaim(
                        leads.into_iter().map(|l| l.id).collect(),
                    ));
                } else {
                    self.buffer.extend(leads);
                }
            }
            RunnerInput::ClaimFailed => {
                self.claim_pending = false;
                self.claim_after = self.at(now_ms) + CLAIM_BACKOFF;
            }
            RunnerInput::Originated { tag, call_key } => {
                if let Some(a) = self.attempts.get_mut(&tag) {
                    a.call_key = Some(call_key);
                }
            }
            RunnerInput::OriginateRefused { tag, why } => {
                if self.is_preview(&tag) {
                    tracing::warn!(campaign = self.id, tag, why, "preview call not placed");
                    return self.preview_agent_failed(now_ms, &tag, out);
                }
                let Some(a) = self.attempts.remove(&tag) else {
                    return;
                };
                let (call, ring, cause) = (a.call, Millis(0), FailCause::Rejected);
                self.observe(now_ms, Observation::Failed { call, ring, cause });
                self.counters.dials -= 1;
                out.push(RunnerOutput::Unclaim(vec![a.lead.id]));
                self.refusal = Some(why);
                self.dial_after = self.at(now_ms) + REFUSAL_BACKOFF;
            }
            RunnerInput::Failed { tag, .. } if self.is_preview(&tag) => {
                self.preview_agent_failed(now_ms, &tag, out)
            }
            RunnerInput::Failed { tag, status } => self.failed(now_ms, &tag, status, out),
            RunnerInput::Answered { tag, call_id } if self.is_preview(&tag) => {
                self.preview_agent_answered(&tag, call_id)
            }
            RunnerInput::CustomerAnswered { tag } => self.preview_connected(now_ms, &tag, out),
            RunnerInput::Answered { tag, call_id } => {
                let Some(a) = self.attempts.get_mut(&tag) else {
                    return;
                };
                a.call_id = Some(call_id);
                a.answered_ms = Some(now_ms);
                if self.campaign.amd.is_some() {
                    // The pacer hears of it as a live answer only once detection says so.
                    a.phase = Phase::Analysing;
                    return;
                }
                a.phase = Phase::Waiting;
                let ring = Millis(u64::try_from(now_ms - a.started_ms).unwrap_or(0));
                let call = a.call;
                self.observe(now_ms, Observation::Answered { call, ring });
            }
            RunnerInput::Amd { tag, result } => {
                let Some(a) = self.attempts.get_mut(&tag) else {
                    return;
                };
                if a.phase != Phase::Analysing {
                    return;
                }
                let answered = a.answered_ms.unwrap_or(now_ms);
                let ring = Millis(u64::try_from(answered - a.started_ms).unwrap_or(0));
                let call = a.call;
                if result == AmdResult::Machine {
                    a.phase = Phase::Machine;
                    self.counters.machines += 1;
                    let cause = FailCause::AmdMachine;
                    self.observe(now_ms, Observation::Failed { call, ring, cause });
                } else {
                    a.phase = Phase::Waiting;
                    self.observe(now_ms, Observation::Answered { call, ring });
                }
            }
            RunnerInput::Bridged { call_key, agent } => {
                let Some(tag) = self.tag_of_key(call_key) else {
                    return;
                };
                let Some(&id) = self.agents.get(&agent) else {
                    return;
                };
                let Some(a) = self.attempts.get_mut(&tag) else {
                    return;
                };
                if a.phase != Phase::Waiting {
                    return;
                }
                a.phase = Phase::Bridged {
                    agent: agent.clone(),
                };
                let call = a.call;
                let (lead, call_id) = (a.lead.clone(), a.call_id.clone().unwrap_or_default());
                let lead = self.lead_view(&lead, AgentLeadState::Connected, &call_id, now_ms);
                self.counters.live_answers += 1;
                out.push(RunnerOutput::Assign { agent, lead });
                self.observe(now_ms, Observation::Bridged { call, agent: id });
            }
            RunnerInput::LeftQueue { call_key } => {
                let Some(tag) = self.tag_of_key(call_key) else {
                    return;
                };
                let Some(a) = self.attempts.get_mut(&tag) else {
                    return;
                };
                if a.phase != Phase::Waiting {
                    return;
                }
                a.phase = Phase::Dropped;
                let call = a.call;
                self.counters.live_answers += 1;
                self.counters.abandoned += 1;
                self.observe(now_ms, Observation::Dropped { call });
            }
            RunnerInput::CallEnded { call_id, customer } => match self.tag_of_call(&call_id) {
                Some(tag) if self.is_preview(&tag) => {
                    self.preview_ended(now_ms, &tag, customer, out)
                }
                _ => self.ended(now_ms, &call_id, out),
            },
            RunnerInput::Agent { agent, state } => {
                let before = self.floor_state(&agent);
                self.agent_state(now_ms, &agent, state);
                self.preview_agent_state(&agent, before, state, out);
            }
            RunnerInput::AgentElsewhere { agent, busy } => {
                self.preview_elsewhere(&agent, busy, out)
            }
            RunnerInput::PreviewDial { agent } => self.preview_dial(now_ms, &agent, out),
            RunnerInput::PreviewSkip { agent } => self.preview_skip(&agent, out),
            RunnerInput::Dispositioned { agent, human } => {
                let Some(&id) = self.agents.get(&agent) else {
                    return;
                };
                let on_call = Phase::Bridged {
                    agent: agent.clone(),
                };
                let mut talking = false;
                for a in self.attempts.values_mut().filter(|a| a.phase == on_call) {
                    // Stored during the call: the attempt, stored at the end, must not
                    // overwrite the lead's next state the agent chose.
                    a.dispositioned = true;
                    talking = true;
                }
                if !talking {
                    out.push(RunnerOutput::Unassign {
                        agent: agent.clone(),
                    });
                }
                let owed = self.owed.remove(&agent);
                if owed {
                    out.push(RunnerOutput::AgentOp {
                        agent,
                        op: AgentOp::Unpause,
                    });
                }
                // Only the campaign whose call it was counts it (an agent may serve several).
                if talking || owed {
                    self.observe(now_ms, Observation::Disposition { agent: id, human });
                }
            }
            RunnerInput::Stop => {
                self.stopping = true;
                let leads: Vec<LeadId> = self.buffer.drain(..).map(|l| l.id).collect();
                if !leads.is_empty() {
                    out.push(RunnerOutput::Unclaim(leads));
                }
                self.preview_stop(out);
            }
        }
    }

    fn is_preview(&self, tag: &str) -> bool {
        self.attempts.get(tag).is_some_and(|a| a.agent.is_some())
    }

    fn tag_of_call(&self, call_id: &str) -> Option<String> {
        self.attempts
            .iter()
            .find(|(_, a)| a.call_id.as_deref() == Some(call_id))
            .map(|(t, _)| t.clone())
    }

    fn tag_of_key(&self, call_key: u64) -> Option<String> {
        self.attempts
            .iter()
            .find(|(_, a)| a.call_key == Some(call_key))
            .map(|(t, _)| t.clone())
    }

    fn observe(&mut self, now_ms: i64, obs: Observation) {
        let now = self.at(now_ms);
        self.floor.apply(now, &obs);
        self.pacer.observe(now, &obs, &self.floor);
    }

    fn agent_state(&mut self, now_ms: i64, agent: &str, state: AgentState) {
        let next = AgentId(self.agents.len() as u32);
        let id = *self.agents.entry(agent.to_string()).or_insert(next);
        let now = self.at(now_ms);
        if let Some(view) = self.floor.agents().get(id.0 as usize) {
            if view.state == state {
                // The ACD's available → reserved → ringing are all Ready here: one span.
                return;
            }
            let spent = now.saturating_sub(view.since).0;
            match view.state {
                AgentState::LoggedOut | AgentState::Paused => {}
                AgentState::InCall => {
                    self.util.logged_ms += spent;
                    self.util.talk_ms += spent;
                }
                _ => self.util.logged_ms += spent,
            }
        }
        self.observe(now_ms, Observation::Agent { agent: id, state });
    }

    /// The call never reached a person.
    fn failed(&mut self, now_ms: i64, tag: &str, status: u16, out: &mut Vec<RunnerOutput>) {
        let Some(a) = self.attempts.remove(tag) else {
            return;
        };
        let (outcome, cause) = classify(status);
        let ring = Millis(u64::try_from(now_ms - a.started_ms).unwrap_or(0));
        let call = a.call;
        self.observe(now_ms, Observation::Failed { call, ring, cause });
        self.record(now_ms, a, outcome, Some(status), out);
    }

    /// An answered call ended.
    fn ended(&mut self, now_ms: i64, call_id: &str, out: &mut Vec<RunnerOutput>) {
        let Some(tag) = self
            .attempts
            .iter()
            .find(|(_, a)| a.call_id.as_deref() == Some(call_id))
            .map(|(t, _)| t.clone())
        else {
            return;
        };
        let Some(a) = self.attempts.remove(&tag) else {
            return;
        };
        let outcome = match &a.phase {
            Phase::Bridged { agent } => {
                out.push(RunnerOutput::AgentCallEnded {
                    agent: agent.clone(),
                });
                if !self.campaign.disposition_required {
                    // No disposition will come: the agent handled a person (the Ofcom
                    // estimate's AH).
                    if let Some(&id) = self.agents.get(agent) {
                        self.observe(
                            now_ms,
                            Observation::Disposition {
                                agent: id,
                                human: true,
                            },
                        );
                    }
                }
                if a.dispositioned || !self.campaign.disposition_required {
                    out.push(RunnerOutput::Unassign {
                        agent: agent.clone(),
                    });
                } else {
                    self.owe_disposition(agent, out);
                }
                AttemptOutcome::Answered
            }
            Phase::Dropped => AttemptOutcome::Dropped,
            Phase::Machine => AttemptOutcome::Machine,
            Phase::Analysing => {
                // Hung up during the greeting: nobody to talk to, try again later.
                let (call, cause) = (a.call, FailCause::NoAnswer);
                let ring = Millis(0);
                self.observe(now_ms, Observation::Failed { call, ring, cause });
                AttemptOutcome::NoAnswer
            }
            Phase::Waiting => {
                // Hung up before the queue reported anything: unconnected live answer.
                self.counters.live_answers += 1;
                self.counters.abandoned += 1;
                self.observe(now_ms, Observation::Dropped { call: a.call });
                AttemptOutcome::Dropped
            }
            Phase::Dialing => AttemptOutcome::Congestion,
        };
        self.record(now_ms, a, outcome, Some(200), out);
    }

    /// The agent's call ended and the campaign wants its disposition first: paused till then.
    fn owe_disposition(&mut self, agent: &str, out: &mut Vec<RunnerOutput>) {
        self.owed.insert(agent.to_string());
        out.push(RunnerOutput::AgentOp {
            agent: agent.to_string(),
            op: AgentOp::Pause {
                reason: DISPOSITION_PAUSE.to_string(),
            },
        });
    }

    fn record(
        &mut self,
        now_ms: i64,
        a: InFlight,
        outcome: AttemptOutcome,
        status: Option<u16>,
        out: &mut Vec<RunnerOutput>,
    ) {
        let next = if a.dispositioned {
            LeadNext::Unchanged
        } else {
            self.campaign.after_attempt(&a.lead, outcome, now_ms)
        };
        out.push(RunnerOutput::Record {
            lead: a.lead.id.clone(),
            attempt: Attempt {
                call_id: a.call_id,
                outcome,
                sip_status: status,
                started_at_ms: a.started_ms,
                answered_at_ms: a.answered_ms,
                ended_at_ms: now_ms,
            },
            next,
        });
    }

    /// Ask the pacer and place what it wants, within the line cap and the leads at hand.
    fn place(&mut self, now_ms: i64, trigger: Trigger, out: &mut Vec<RunnerOutput>) {
        if self.campaign.dial_mode == DialMode::Preview {
            return self.preview_place(now_ms, out);
        }
        if self.stopping {
            return;
        }
        if !self.campaign.schedule.is_active(now_ms) {
            return;
        }
        let now = self.at(now_ms);
        if now < self.dial_after {
            return;
        }
        let want = self.pacer.calls_to_place(now, &self.floor, trigger);
        let cap = LINES_PER_AGENT * self.floor.logged_in();
        let n = want.min(cap.saturating_sub(self.floor.lines()));
        for _ in 0..n {
            let Some(lead) = self.buffer.pop_front() else {
                break;
            };
            self.dial(now_ms, lead, out);
        }
        // Keep a few leads at hand for the next placement.
        let at_hand = self.buffer.len() as u32;
        let wanted = (want.max(self.floor.logged_in()) + 2).min(MAX_CLAIM);
        if !self.claim_pending && at_hand < wanted && now >= self.claim_after {
            self.claim_pending = true;
            out.push(RunnerOutput::Claim(wanted - at_hand));
        }
    }

    fn dial(&mut self, now_ms: i64, lead: Lead, out: &mut Vec<RunnerOutput>) {
        let call = CallRef(self.next_call);
        self.next_call += 1;
        let tag = format!("{}/{}", self.id, call.0);
        self.counters.dials += 1;
        let a = InFlight::dialing(lead.clone(), call, now_ms, None);
        self.attempts.insert(tag.clone(), a);
        self.observe(now_ms, Observation::Dialed { call });
        out.push(RunnerOutput::Dial { tag, lead });
    }

    /// The figures the API shows.
    pub fn live(&self, now_ms: i64) -> CampaignLive {
        let f = &self.floor;
        let c = self.counters;
        let ready = f.ready();
        let rate = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        CampaignLive {
            campaign_id: self.id.clone(),
            dial_level: rate(
                u64::from(f.in_flight_count()),
                u64::from(ready + f.in_call()).max(1),
            ),
            lines_in_flight: f.in_flight_count(),
            answered_waiting: f.waiting(),
            agents_logged_in: f.logged_in(),
            agents_ready: ready,
            agents_in_call: f.in_call(),
            agents_wrap_up: f.wrap_up(),
            dials: c.dials,
            live_answers: c.live_answers,
            machines: c.machines,
            abandoned: c.abandoned,
            abandon_rate: self.abandon_rate(),
            abandon_target: self.campaign.abandon.rate,
            talk_utilisation: self.utilisation(now_ms),
            idle_reason: self.idle_reason(now_ms),
            updated_at_ms: now_ms,
        }
    }

    /// The running rate under the campaign's regime: US FTC abandoned ÷ live answers;
    /// UK Ofcom's estimate, which takes the machines agents marked out of the drops.
    fn abandon_rate(&self) -> f64 {
        let c = self.counters;
        match self.campaign.abandon.regime {
            AbandonRegime::UsFtc if c.live_answers > 0 => {
                c.abandoned as f64 / c.live_answers as f64
            }
            AbandonRegime::UsFtc => 0.0,
            // people among the drops by ring time, plus those the AMD hung up on
            AbandonRegime::UkOfcom => self
                .floor
                .abandon_estimate(true, ofcom_amd_fp(&self.campaign))
                .rate(),
        }
    }

    /// Talk ÷ logged-in time, the agents' current states counted up to now.
    fn utilisation(&self, now_ms: i64) -> f64 {
        let now = self.at(now_ms);
        let mut u = self.util;
        for v in self.floor.agents() {
            let spent = now.saturating_sub(v.since).0;
            match v.state {
                AgentState::LoggedOut | AgentState::Paused => {}
                AgentState::InCall => {
                    u.logged_ms += spent;
                    u.talk_ms += spent;
                }
                _ => u.logged_ms += spent,
            }
        }
        if u.logged_ms == 0 {
            0.0
        } else {
            u.talk_ms as f64 / u.logged_ms as f64
        }
    }

    fn idle_reason(&self, now_ms: i64) -> Option<String> {
        if self.stopping {
            return Some("stopping: calls in progress finish".into());
        }
        if !self.campaign.schedule.is_active(now_ms) {
            return Some("outside the campaign's schedule".into());
        }
        if let Some(why) = self
            .refusal
            .as_ref()
            .filter(|_| self.at(now_ms) < self.dial_after)
        {
            return Some(format!("the switch refused the last call: {why}"));
        }
        if self.floor.logged_in() == 0 {
            return Some("no agent of the campaign's queue is logged in".into());
        }
        let offered = self.previews.offered();
        if self.buffer.is_empty() && self.attempts.is_empty() && offered == 0 && !self.claim_pending
        {
            return Some("no lead is due in an open calling window".into());
        }
        if self.campaign.dial_mode == DialMode::Preview {
            return self.preview_idle_reason();
        }
        None
    }
}
