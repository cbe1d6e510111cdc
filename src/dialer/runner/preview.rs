//! Preview dialling ([`DialMode::Preview`]): the agent sees the lead before the call.
//!
//! For each agent of the campaign's queue who is ready (logged in, not paused, not on a
//! call) and owes no disposition, the runner takes the next claimed lead and **offers**
//! it: the agent is paused with reason [`PREVIEW_PAUSE`] so the ACD hands them no queue
//! call meanwhile, and their desktop shows the lead ([`AgentLeadState::Preview`]). The
//! agent then
//! - dials ([`RunnerInput::PreviewDial`], or by itself after the campaign's
//!   `preview_timeout_s`): the runtime rings the agent's phone and, once it answers,
//!   dials the lead over the campaign's trunk and bridges them. When the customer answers
//!   ([`RunnerInput::CustomerAnswered`], the call's `originate.bridged`) the desktop shows
//!   the call connected, as a predictive bridge does, and the pacer counts the live
//!   answer. The customer leg's final status ([`CustomerLeg`], from the call's record when
//!   it ends) is classified like a predictive attempt ([`classify`]); an answered call is
//!   a connect (a live answer never abandoned: the agent is on the line). A number the
//!   network announces as not in service is invalid: refused with 404/410/484/604, or
//!   announced with special information tones in the lead's early media (the call listens
//!   to the dialled party, `SitWatch::DialledParty`, gives it up and records 404). The disposition
//!   rule then applies as in predictive. When the agent's own phone does not answer, the
//!   lead goes back unattempted and the agent is paused with reason [`MISSED_PAUSE`];
//! - or skips ([`RunnerInput::PreviewSkip`]): the lead goes back unchanged (no attempt)
//!   and the next one is offered; this runner does not offer it to that agent again.
//!
//! An agent who logs out, and a campaign paused or stopped, give offered leads back; a
//! restart gives back every claim (the runtime's release at start). An agent who serves
//! several campaigns holds one lead at a time: while another campaign's lead is on its
//! desktop ([`RunnerInput::AgentElsewhere`], told by the runtime in the same turn, before
//! that campaign's pause reaches the ACD) it is offered nothing here.
//!
//! ```text
//!  ready ──offer──► preview ──dial──► dialing ──agent answers──► ringing the lead
//!                     │                  └──agent's phone fails──► lead back, agent paused
//!                     └──skip / logout / stop / taken elsewhere──► lead back (unattempted)
//!  ringing the lead ──customer answers──► connected ──end──► record (disposition owed)
//!                   └──refused / not answered / agent hangs up──► record
//! ```
//!
//! [`DialMode::Preview`]: crate::dialer::campaign::DialMode::Preview
//! [`RunnerInput::PreviewDial`]: super::RunnerInput::PreviewDial
//! [`RunnerInput::CustomerAnswered`]: super::RunnerInput::CustomerAnswered
//! [`RunnerInput::PreviewSkip`]: super::RunnerInput::PreviewSkip
//! [`RunnerInput::AgentElsewhere`]: super::RunnerInput::AgentElsewhere

use std::collections::{BTreeMap, HashSet};

use super::{classify, CampaignRunner, InFlight, Phase, RunnerOutput};
use crate::acd::AgentOp;
use crate::dialer::floor::{AgentState, FailCause, Observation};
use crate::dialer::live::{AgentLead, AgentLeadState};
use crate::dialer::{CallRef, Millis};
use crate::store::{AttemptOutcome, Lead, LeadId};

/// The agent's pause reason while a lead is offered or being dialled.
pub const PREVIEW_PAUSE: &str = "preview";
/// The agent's pause reason after their phone did not answer a preview call they asked for.
pub const MISSED_PAUSE: &str = "preview-missed";

/// What the call's record says about the leg towards the lead (the last B leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerLeg {
    /// Its final status (none when the leg was given up before any answer).
    pub status: Option<u16>,
    /// When it answered, if it did (unix ms).
    pub answered_at_ms: Option<i64>,
}

/// A lead offered to an agent.
#[derive(Debug, Clone)]
pub(super) struct Offer {
    lead: Lead,
    offered_ms: i64,
    /// The attempt's tag once the agent dialled.
    tag: Option<String>,
}

/// The preview state of one runner.
#[derive(Debug, Default)]
pub(super) struct Previews {
    /// Agent → the lead offered to it.
    offers: BTreeMap<String, Offer>,
    /// Agents this runner paused ([`PREVIEW_PAUSE`]) and has not released.
    held: HashSet<String>,
    /// (agent, lead) pairs the agent skipped: not offered to that agent again.
    skipped: HashSet<(String, LeadId)>,
    /// Agents with another campaign's lead on their desktop ([`RunnerInput::AgentElsewhere`]).
    elsewhere: HashSet<String>,
}

impl Previews {
    pub(super) fn offered(&self) -> usize {
        self.offers.len()
    }
}

impl CampaignRunner {
    pub(super) fn floor_state(&self, agent: &str) -> AgentState {
        self.agents
            .get(agent)
            .and_then(|id| self.floor.agents().get(id.0 as usize))
            .map_or(AgentState::LoggedOut, |v| v.state)
    }

    fn has_preview_call(&self, agent: &str) -> bool {
        self.attempts
            .values()
            .any(|a| a.agent.as_deref() == Some(agent))
    }

    /// What the agent's desktop shows of `lead` (`at_ms`: when offered, or connected).
    pub(super) fn lead_view(
        &self,
        lead: &Lead,
        state: AgentLeadState,
        call_id: &str,
        at_ms: i64,
    ) -> AgentLead {
        AgentLead {
            campaign_id: self.id.clone(),
            lead_id: lead.id.as_str().to_string(),
            state,
            call_id: call_id.to_string(),
            phone: lead.phone.clone(),
            fields: lead.fields.clone(),
            bridged_at_ms: at_ms,
            ended: false,
            disposition_required: self.campaign.disposition_required,
        }
    }

    /// Offers leads to free agents, places timed-out previews and keeps leads at hand.
    pub(super) fn preview_place(&mut self, now_ms: i64, out: &mut Vec<RunnerOutput>) {
        if self.stopping {
            return;
        }
        if let Some(t) = self.campaign.preview_timeout_s {
            let due: Vec<String> = self
                .previews
                .offers
                .iter()
                .filter(|(_, o)| o.tag.is_none() && now_ms - o.offered_ms >= i64::from(t) * 1000)
                .map(|(a, _)| a.clone())
                .collect();
            for agent in due {
                self.preview_dial(now_ms, &agent, out);
            }
        }
        if !self.campaign.schedule.is_active(now_ms) {
            return;
        }
        let mut names: Vec<String> = self.agents.keys().cloned().collect();
        names.sort();
        let mut waiting = 0u32;
        for agent in names {
            let held = self.previews.held.contains(&agent);
            let free = held || self.floor_state(&agent) == AgentState::Ready;
            if !free
                || self.previews.elsewhere.contains(&agent)
                || self.previews.offers.contains_key(&agent)
                || self.owed.contains(&agent)
                || self.has_preview_call(&agent)
            {
                continue;
            }
            let pick = self.buffer.iter().position(|l| {
                !self
                    .previews
                    .skipped
                    .contains(&(agent.clone(), l.id.clone()))
            });
            let Some(lead) = pick.and_then(|i| self.buffer.remove(i)) else {
                waiting += 1;
                if held {
                    // Nothing to offer: back to the ACD until a lead comes.
                    self.previews.held.remove(&agent);
                    out.push(RunnerOutput::AgentOp {
                        agent,
                        op: AgentOp::Unpause,
                    });
                }
                continue;
            };
            if !held {
                self.previews.held.insert(agent.clone());
                out.push(RunnerOutput::AgentOp {
                    agent: agent.clone(),
                    op: AgentOp::Pause {
                        reason: PREVIEW_PAUSE.to_string(),
                    },
                });
            }
            let view = self.lead_view(&lead, AgentLeadState::Preview, "", now_ms);
            out.push(RunnerOutput::Assign {
                agent: agent.clone(),
                lead: view,
            });
            self.previews.offers.insert(
                agent,
                Offer {
                    lead,
                    offered_ms: now_ms,
                    tag: None,
                },
            );
        }
        let now = self.at(now_ms);
        if waiting > 0 && !self.claim_pending && now >= self.claim_after {
            self.claim_pending = true;
            out.push(RunnerOutput::Claim(waiting + 1));
        }
    }

    /// The agent asked for the call to its offered lead.
    pub(super) fn preview_dial(&mut self, now_ms: i64, agent: &str, out: &mut Vec<RunnerOutput>) {
        let Some(offer) = self.previews.offers.get_mut(agent) else {
            return;
        };
        if offer.tag.is_some() {
            return;
        }
        let call = CallRef(self.next_call);
        self.next_call += 1;
        let tag = format!("{}/p{}", self.id, call.0);
        offer.tag = Some(tag.clone());
        let lead = offer.lead.clone();
        self.counters.dials += 1;
        let a = InFlight::dialing(lead.clone(), call, now_ms, Some(agent.to_string()));
        self.attempts.insert(tag.clone(), a);
        self.observe(now_ms, Observation::Dialed { call });
        let view = self.lead_view(&lead, AgentLeadState::Dialing, "", now_ms);
        out.push(RunnerOutput::Assign {
            agent: agent.to_string(),
            lead: view,
        });
        out.push(RunnerOutput::PreviewDial {
            tag,
            agent: agent.to_string(),
            lead,
        });
    }

    /// The agent passed on its offered lead: back unchanged, the next one offered.
    pub(super) fn preview_skip(&mut self, agent: &str, out: &mut Vec<RunnerOutput>) {
        if let Some(lead) = self.take_back_offer(agent, out) {
            self.previews.skipped.insert((agent.to_string(), lead));
        }
    }

    /// Takes the agent's offered lead back if it was not dialled (off the desktop, back
    /// to the store); its id.
    fn take_back_offer(&mut self, agent: &str, out: &mut Vec<RunnerOutput>) -> Option<LeadId> {
        let undialled = |o: &Offer| o.tag.is_none();
        self.previews.offers.get(agent).filter(|o| undialled(o))?;
        let offer = self.previews.offers.remove(agent)?;
        out.push(RunnerOutput::Unassign {
            agent: agent.to_string(),
        });
        out.push(RunnerOutput::Unclaim(vec![offer.lead.id.clone()]));
        Some(offer.lead.id)
    }

    /// Gives an offered (not dialled) lead back; with `release`, the agent too.
    fn withdraw_offer(&mut self, agent: &str, release: bool, out: &mut Vec<RunnerOutput>) {
        if self.take_back_offer(agent, out).is_none() {
            return;
        }
        if release && self.previews.held.remove(agent) {
            out.push(RunnerOutput::AgentOp {
                agent: agent.to_string(),
                op: AgentOp::Unpause,
            });
        }
    }

    /// The agent changed state: one who logs out gives its offer back; one unpaused
    /// (from the desktop) while a lead is offered is held again, so the ACD hands them no
    /// queue call while the lead is on their screen.
    pub(super) fn preview_agent_state(
        &mut self,
        agent: &str,
        before: AgentState,
        state: AgentState,
        out: &mut Vec<RunnerOutput>,
    ) {
        if state == AgentState::LoggedOut {
            self.withdraw_offer(agent, false, out);
            self.previews.held.remove(agent);
            return;
        }
        let offered = self
            .previews
            .offers
            .get(agent)
            .is_some_and(|o| o.tag.is_none());
        if before == AgentState::Paused && state == AgentState::Ready && offered {
            self.previews.held.insert(agent.to_string());
            out.push(RunnerOutput::AgentOp {
                agent: agent.to_string(),
                op: AgentOp::Pause {
                    reason: PREVIEW_PAUSE.to_string(),
                },
            });
        }
    }

    /// Another campaign put one of its leads on the agent's desktop (`busy`), or took it
    /// off: a busy agent is offered nothing here, and an offer it has not dialled (a
    /// race: the other campaign's call reached it first) goes back.
    pub(super) fn preview_elsewhere(
        &mut self,
        agent: &str,
        busy: bool,
        out: &mut Vec<RunnerOutput>,
    ) {
        if busy {
            self.previews.elsewhere.insert(agent.to_string());
            self.withdraw_offer(agent, true, out);
        } else {
            self.previews.elsewhere.remove(agent);
        }
    }

    /// The campaign is pausing or stopping: offers go back, agents go back to the ACD.
    pub(super) fn preview_stop(&mut self, out: &mut Vec<RunnerOutput>) {
        let agents: Vec<String> = self.previews.offers.keys().cloned().collect();
        for agent in agents {
            self.withdraw_offer(&agent, true, out);
        }
        let idle: Vec<String> = self
            .previews
            .held
            .iter()
            .filter(|a| !self.has_preview_call(a))
            .cloned()
            .collect();
        for agent in idle {
            self.previews.held.remove(&agent);
            out.push(RunnerOutput::AgentOp {
                agent,
                op: AgentOp::Unpause,
            });
        }
    }

    /// The agent's phone answered the preview call: the lead is being dialled.
    pub(super) fn preview_agent_answered(&mut self, tag: &str, call_id: String) {
        if let Some(a) = self.attempts.get_mut(tag) {
            if let Some(agent) = a.agent.clone() {
                a.call_id = Some(call_id);
                a.phase = Phase::Bridged { agent };
            }
        }
    }

    /// The customer answered the agent's call and was bridged to it: the desktop shows
    /// the call as connected (the same screen pop as a predictive bridge), and the pacer
    /// counts the live answer now.
    pub(super) fn preview_connected(
        &mut self,
        now_ms: i64,
        tag: &str,
        out: &mut Vec<RunnerOutput>,
    ) {
        let fresh = |a: &&mut InFlight| a.answered_ms.is_none();
        let Some(a) = self.attempts.get_mut(tag).filter(fresh) else {
            return;
        };
        let Some(agent) = a.agent.clone() else {
            return; // a predictive call: its queue reports the bridge
        };
        a.answered_ms = Some(now_ms);
        let (call, started) = (a.call, a.started_ms);
        let (lead, call_id) = (a.lead.clone(), a.call_id.clone().unwrap_or_default());
        let ring = Millis(u64::try_from(now_ms - started).unwrap_or(0));
        self.counters.live_answers += 1;
        self.observe(now_ms, Observation::Answered { call, ring });
        if let Some(&id) = self.agents.get(&agent) {
            self.observe(now_ms, Observation::Bridged { call, agent: id });
        }
        let view = self.lead_view(&lead, AgentLeadState::Connected, &call_id, now_ms);
        out.push(RunnerOutput::Assign { agent, lead: view });
    }

    /// The agent's phone did not take the call (or the switch refused it): the lead goes
    /// back unattempted and the agent is paused as missing.
    pub(super) fn preview_agent_failed(
        &mut self,
        now_ms: i64,
        tag: &str,
        out: &mut Vec<RunnerOutput>,
    ) {
        let Some(a) = self.attempts.remove(tag) else {
            return;
        };
        let Some(agent) = a.agent else {
            return;
        };
        let (call, ring, cause) = (a.call, Millis(0), FailCause::Rejected);
        self.observe(now_ms, Observation::Failed { call, ring, cause });
        self.counters.dials = self.counters.dials.saturating_sub(1);
        self.previews.offers.remove(&agent);
        self.previews.held.remove(&agent);
        out.push(RunnerOutput::Unassign {
            agent: agent.clone(),
        });
        out.push(RunnerOutput::Unclaim(vec![a.lead.id]));
        out.push(RunnerOutput::AgentOp {
            agent,
            op: AgentOp::Pause {
                reason: MISSED_PAUSE.to_string(),
            },
        });
    }

    /// The preview call ended: the customer leg's outcome is the attempt's.
    pub(super) fn preview_ended(
        &mut self,
        now_ms: i64,
        tag: &str,
        customer: Option<CustomerLeg>,
        out: &mut Vec<RunnerOutput>,
    ) {
        let Some(mut a) = self.attempts.remove(tag) else {
            return;
        };
        let Some(agent) = a.agent.clone() else {
            return;
        };
        self.previews.offers.remove(&agent);
        self.previews.held.remove(&agent);
        // The customer's answer, reported during the call (counted then) or read from the
        // call's record (the record's time is the switch's own).
        let heard = a.answered_ms;
        let answered = customer.and_then(|c| c.answered_at_ms).or(heard);
        let (outcome, status) = match (answered, customer.and_then(|c| c.status)) {
            (Some(at), _) => {
                a.answered_ms = Some(at);
                (AttemptOutcome::Answered, 200)
            }
            // Given up unanswered (ring timeout, or the agent hung up first): no answer.
            (None, None) => (AttemptOutcome::NoAnswer, 480),
            (None, Some(s)) => (classify(s).0, s),
        };
        let ring = Millis(u64::try_from(answered.unwrap_or(now_ms) - a.started_ms).unwrap_or(0));
        let call = a.call;
        if outcome == AttemptOutcome::Answered {
            if heard.is_none() {
                self.counters.live_answers += 1;
                self.observe(now_ms, Observation::Answered { call, ring });
                if let Some(&id) = self.agents.get(&agent) {
                    self.observe(now_ms, Observation::Bridged { call, agent: id });
                }
            }
            out.push(RunnerOutput::AgentCallEnded {
                agent: agent.clone(),
            });
            if a.dispositioned || !self.campaign.disposition_required {
                out.push(RunnerOutput::Unassign {
                    agent: agent.clone(),
                });
                out.push(RunnerOutput::AgentOp {
                    agent: agent.clone(),
                    op: AgentOp::Unpause,
                });
            } else {
                self.owe_disposition(&agent, out);
            }
        } else {
            let cause = classify(status).1;
            self.observe(now_ms, Observation::Failed { call, ring, cause });
            out.push(RunnerOutput::Unassign {
                agent: agent.clone(),
            });
            out.push(RunnerOutput::AgentOp {
                agent: agent.clone(),
                op: AgentOp::Unpause,
            });
            // An outcome decided by the agent's disposition during the call is kept.
        }
        self.record(now_ms, a, outcome, Some(status), out);
    }

    /// Why a preview campaign offers nothing now, if that is so.
    pub(super) fn preview_idle_reason(&self) -> Option<String> {
        if self.previews.offered() > 0 {
            return None;
        }
        Some("preview mode: no ready agent of the campaign's queue".into())
    }
}
