//! The dialer task: runs a [`CampaignRunner`] for every campaign the store says is
//! running, feeds it what the core task reports ([`DialerFeed`]: call ends and the
//! originate, queue and agent events, on a lossless channel), and carries out what it
//! asks for: claims and attempts in the store, calls and agent changes through
//! [`SwitchControl`], screen pops in [`DialerLive`].
//!
//! Store and switch requests run as their own tasks and report back on a channel, so a
//! slow store never delays another campaign's events. The campaign list is read every
//! second and at once when the API says something changed ([`DialerCommand::Wake`]).
//!
//! Preview campaigns: the agent's Dial and Skip come as [`DialerCommand`]s; a preview
//! call rings the agent's endpoint first (for its queue's ring time, [`preview_agent_ring`])
//! and, once it answers, dials the lead over the campaign's trunk ([`preview_request`]);
//! `originate.bridged` says the customer answered; the outcome is read from the call's
//! record. When a campaign puts a lead on an agent's desktop or takes it off, every other
//! runner serving that agent is told at once ([`RunnerInput::AgentElsewhere`]), so two
//! campaigns never offer one agent two leads.
//!
//! Several nodes sharing one store each read every running campaign; a node runs a campaign
//! only while it holds the campaign's lease in the store (renewed at every read, see
//! `store::lease_repo`), so two nodes never pace the same agents. Another node's campaign
//! shows the idle reason "run by node …" here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::control::SwitchControl;
use super::now_unix_ms;
use crate::acd::{AgentOp, AgentState as AcdState};
use crate::b2bua::{AmdPlan, SitWatch};
use crate::dialer::amd::BeepConfig;
use crate::dialer::campaign::{AgentSet, Campaign};
use crate::dialer::floor::AgentState;
use crate::dialer::live::AgentLeadState;
use crate::dialer::live::{CampaignLive, DialerCommand, DialerLive};
use crate::dialer::runner::{
    CampaignRunner, CustomerLeg, RunnerInput, RunnerOutput, BRIDGE_WINDOW_S, DISPOSITION_PAUSE,
};
use crate::dialplan::{Action, DialTarget, HangupCause, RingStrategy};
use crate::events::{Event, EventBus, Topic};
use crate::store::{CampaignId, CampaignLease, CampaignState, Cdr, Lead, LegRole, Store};
use crate::switch::OriginateRequest;

/// How often runners are ticked.
const TICK: Duration = Duration::from_millis(250);
/// How often the campaign list is read.
const SYNC: Duration = Duration::from_secs(1);
/// How long a campaign lease lasts unless renewed: a crashed node's campaigns move to
/// another node after this.
const LEASE_TTL_MS: i64 = 10_000;
/// A node that cannot renew its lease stops the campaign's runner this long before the
/// lease lapses, so it is not still dialling when another node takes over.
const LEASE_MARGIN_MS: i64 = 3_000;

/// What the core task hands the dialer.
#[derive(Debug, Clone)]
pub enum DialerFeed {
    /// An `originate.*`, `queue.*` or `agent.*` event.
    Event { kind: String, data: Value },
    /// A call ended (its record id), with its last leg towards a callee.
    CallEnded {
        id: String,
        customer: Option<CustomerLeg>,
    },
}

impl DialerFeed {
    /// What the dialer needs of a finished call's record.
    pub fn ended(cdr: &Cdr) -> DialerFeed {
        let customer = cdr
            .legs
            .iter()
            .rev()
            .find(|l| l.role == LegRole::B)
            .map(|l| CustomerLeg {
                status: l.final_status,
                answered_at_ms: l.answered_at_ms,
            });
        DialerFeed::CallEnded {
            id: cdr.id.as_str().to_string(),
            customer,
        }
    }

    /// Whether an event of this kind matters to the dialer.
    pub fn wants(kind: &str) -> bool {
        kind.starts_with("originate.") || kind.starts_with("queue.") || kind.starts_with("agent.")
    }

    /// What it means to a runner, if anything.
    fn input(&self) -> Option<RunnerInput> {
        let (kind, d) = match self {
            DialerFeed::CallEnded { id, customer } => {
                return Some(RunnerInput::CallEnded {
                    call_id: id.clone(),
                    customer: *customer,
                })
            }
            DialerFeed::Event { kind, data } => (kind.as_str(), data),
        };
        let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
        let key = || {
            d.get("call")
                .and_then(|c| c.as_str().and_then(|c| c.parse().ok()).or(c.as_u64()))
        };
        match kind {
            "originate.answered" => Some(RunnerInput::Answered {
                tag: s("tag")?,
                call_id: s("call")?,
            }),
            "originate.bridged" => Some(RunnerInput::CustomerAnswered { tag: s("tag")? }),
            "originate.amd" => Some(RunnerInput::Amd {
                tag: s("tag")?,
                result: serde_json::from_value(d.get("result")?.clone()).ok()?,
            }),
            "originate.failed" => Some(RunnerInput::Failed {
                tag: s("tag")?,
                status: d
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|v| u16::try_from(v).ok())?,
            }),
            "queue.event" => match d.get("event").and_then(Value::as_str)? {
                "answer" => Some(RunnerInput::Bridged {
                    call_key: key()?,
                    agent: s("agent")?,
                }),
                "abandon" | "overflow" | "refuse" => {
                    Some(RunnerInput::LeftQueue { call_key: key()? })
                }
                _ => None,
            },
            "agent.state" => Some(RunnerInput::Agent {
                agent: s("agent")?,
                state: floor_state(d.get("to")?.get("state")?.as_str()?),
            }),
            _ => None,
        }
    }
}

/// The pacer's view of an ACD state: an agent reserved or ringing for a call is still
/// free (the answered call waiting covers it).
fn floor_state(acd: &str) -> AgentState {
    match acd {
        "available" | "reserved" | "ringing" => AgentState::Ready,
        "on_call" => AgentState::InCall,
        "wrap_up" => AgentState::WrapUp,
        "paused" => AgentState::Paused,
        _ => AgentState::LoggedOut,
    }
}

fn acd_floor_state(s: &crate::acd::AgentState) -> AgentState {
    use crate::acd::AgentState as A;
    match s {
        A::LoggedOut => AgentState::LoggedOut,
        A::Available | A::Reserved | A::Ringing => AgentState::Ready,
        A::OnCall => AgentState::InCall,
        A::WrapUp => AgentState::WrapUp,
        A::Paused(_) => AgentState::Paused,
    }
}

/// A finished store or switch request, for campaign `.0`.
type Report = (String, RunnerInput);

struct Dialer {
    store: Store,
    control: SwitchControl,
    live: DialerLive,
    runners: HashMap<String, CampaignRunner>,
    reports: mpsc::UnboundedSender<Report>,
    /// Campaigns that cannot run, and why (shown until they change state).
    refused: HashMap<String, String>,
    /// Campaigns this node runs, and when its lease on each lapses unless renewed.
    leases: HashMap<String, i64>,
    /// `agent.screen_pop`, `campaign.attempt` and `campaign.stats` go out here.
    events: EventBus,
    /// Ticks since the last `campaign.stats`.
    ticks: u32,
}

/// Starts the dialer task.
pub fn spawn(
    store: Store,
    control: SwitchControl,
    live: DialerLive,
    events: EventBus,
    feed: mpsc::UnboundedReceiver<DialerFeed>,
    commands: mpsc::UnboundedReceiver<DialerCommand>,
) -> JoinHandle<()> {
    let (reports, reports_rx) = mpsc::unbounded_channel();
    let dialer = Dialer {
        store,
        control,
        live,
        runners: HashMap::new(),
        reports,
        refused: HashMap::new(),
        leases: HashMap::new(),
        events,
        ticks: 0,
    };
    tokio::spawn(dialer.run(feed, commands, reports_rx))
}

impl Dialer {
    async fn run(
        mut self,
        mut feed: mpsc::UnboundedReceiver<DialerFeed>,
        mut commands: mpsc::UnboundedReceiver<DialerCommand>,
        mut reports: mpsc::UnboundedReceiver<Report>,
    ) {
        self.release_claims().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sync = tokio::time::interval(SYNC);
        sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                f = feed.recv() => {
                    let Some(f) = f else { break };
                    if let Some(input) = f.input() {
                        self.broadcast(input);
                    }
                }
                Some(c) = commands.recv() => match c {
                    DialerCommand::Wake => self.sync().await,
                    DialerCommand::Dispositioned { agent, human } => {
                        self.broadcast(RunnerInput::Dispositioned { agent: agent.clone(), human });
                        self.forget_orphan(&agent);
                    }
                    DialerCommand::PreviewDial { agent } => {
                        self.broadcast(RunnerInput::PreviewDial { agent })
                    }
                    DialerCommand::PreviewSkip { agent } => {
                        self.broadcast(RunnerInput::PreviewSkip { agent })
                    }
                },
                Some((campaign, input)) = reports.recv() => self.deliver(&campaign, input),
                _ = tick.tick() => {
                    let ids: Vec<String> = self.runners.keys().cloned().collect();
                    for id in ids {
                        self.deliver(&id, RunnerInput::Tick);
                    }
                    self.publish();
                }
                _ = sync.tick() => self.sync().await,
            }
        }
    }

    /// Leads this node held when it last stopped go back (undialled) or get an
    /// `interrupted` attempt (being dialled): nothing is lost or dialled twice.
    async fn release_claims(&self) {
        match self.store.release_claims(now_unix_ms()).await {
            Ok(r) if r.returned + r.interrupted > 0 => tracing::warn!(
                returned = r.returned,
                interrupted = r.interrupted,
                "leads held at the last stop released"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(%e, "leads held at the last stop not released"),
        }
    }

    /// Starts runners for running campaigns and stops the others'.
    async fn sync(&mut self) {
        let records = match self.store.campaigns().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%e, "campaign list not read");
                return;
            }
        };
        let now = now_unix_ms();
        let mut running = Vec::new();
        for rec in records {
            let id = rec.id.as_str().to_string();
            if rec.state != CampaignState::Running {
                self.refused.remove(&id);
                if self.runners.contains_key(&id) {
                    self.deliver(&id, RunnerInput::Stop);
                } else {
                    self.live.remove_campaign(&id);
                }
                continue;
            }
            running.push(id.clone());
            if self.refused.contains_key(&id) || !self.hold_lease(&id, now).await {
                continue;
            }
            if self.runners.contains_key(&id) {
                continue;
            }
            match Campaign::from_record(&rec) {
                Ok(c) => self.start(&id, c, now).await,
                Err(e) => self.refuse(&id, 0.0, format!("stored definition unreadable: {e}")),
            }
        }
        let gone: Vec<String> = self
            .runners
            .keys()
            .filter(|id| !running.contains(id))
            .cloned()
            .collect();
        for id in gone {
            self.deliver(&id, RunnerInput::Stop);
        }
    }

    /// Takes or renews this node's lease on a running campaign; false when another node runs
    /// it (then this node's runner, if any, stops) or the store cannot say and the lease this
    /// node held is about to lapse.
    async fn hold_lease(&mut self, id: &str, now: i64) -> bool {
        let lease = self
            .store
            .lease_campaign(&CampaignId::from(id), now, LEASE_TTL_MS)
            .await;
        let held = match lease {
            Ok(CampaignLease::Held { until_ms }) => {
                self.leases.insert(id.to_string(), until_ms);
                return true;
            }
            Ok(CampaignLease::Elsewhere { node, .. }) => {
                if !self.runners.contains_key(id) {
                    self.live.set_campaign(CampaignLive {
                        campaign_id: id.to_string(),
                        idle_reason: Some(format!("run by node {node:?}")),
                        updated_at_ms: now,
                        ..Default::default()
                    });
                }
                false
            }
            Err(e) => {
                tracing::warn!(%e, campaign = id, "campaign lease not renewed");
                self.leases
                    .get(id)
                    .is_some_and(|&until| now + LEASE_MARGIN_MS < until)
            }
        };
        if !held && self.runners.contains_key(id) {
            tracing::warn!(campaign = id, "campaign lease lost: stopping its runner");
            self.leases.remove(id);
            self.deliver(id, RunnerInput::Stop);
        }
        held
    }

    async fn start(&mut self, id: &str, campaign: Campaign, now: i64) {
        let target = campaign.abandon.rate;
        let queue = campaign_queue(id, &campaign);
        let members = match &campaign.agents {
            AgentSet::Queue(_) => match self.control.queue_members(&queue).await {
                Ok(Some(m)) if !m.is_empty() => m,
                Ok(_) => {
                    let why = format!("no ACD queue {queue:?} with agents is configured");
                    return self.refuse(id, target, why);
                }
                Err(e) => return self.refuse(id, target, e.to_string()),
            },
            AgentSet::Agents(agents) => {
                match self
                    .control
                    .campaign_queue(&queue, Some(agents.clone()))
                    .await
                {
                    Ok(Ok(())) => agents.clone(),
                    Ok(Err(why)) => return self.refuse(id, target, why),
                    Err(e) => return self.refuse(id, target, e.to_string()),
                }
            }
        };
        let states: Vec<(String, AgentState)> = match self.control.acd().await {
            Ok(Some(view)) => view
                .agents
                .iter()
                .filter(|a| members.contains(&a.id.0))
                .map(|a| (a.id.0.clone(), acd_floor_state(&a.state)))
                .collect(),
            _ => members
                .iter()
                .map(|a| (a.clone(), AgentState::LoggedOut))
                .collect(),
        };
        tracing::info!(
            campaign = id,
            queue,
            agents = states.len(),
            "campaign running"
        );
        self.refused.remove(id);
        self.runners.insert(
            id.to_string(),
            CampaignRunner::new(id, campaign, &states, now),
        );
        for (agent, _) in &states {
            if self
                .live
                .agent_lead(agent)
                .is_some_and(|l| l.campaign_id != id)
            {
                let (agent, busy) = (agent.to_string(), true);
                self.deliver(id, RunnerInput::AgentElsewhere { agent, busy });
            }
        }
        self.deliver(id, RunnerInput::Tick);
    }

    /// A disposition for a lead whose campaign's runner is gone (stopped meanwhile): the
    /// desktop forgets it, the agent's disposition pause ends (what the runner would have
    /// done), and the other campaigns may offer the agent leads again.
    fn forget_orphan(&mut self, agent: &str) {
        let Some(lead) = self.live.agent_lead(agent) else {
            return;
        };
        if self.runners.contains_key(&lead.campaign_id) {
            return;
        }
        self.live.unassign(agent);
        let (control, id) = (self.control.clone(), agent.to_string());
        tokio::spawn(async move {
            let owed = AcdState::Paused(DISPOSITION_PAUSE.to_string());
            let paused = match control.acd().await {
                Ok(Some(view)) => view.agents.iter().any(|a| a.id.0 == id && a.state == owed),
                _ => false,
            };
            if paused {
                if let Err(e) = control.agent_op(&id, AgentOp::Unpause).await {
                    tracing::warn!(%e, agent = id, "disposition pause not ended");
                }
            }
        });
        self.tell_others(&lead.campaign_id, agent, false);
    }

    /// Tells every other runner serving `agent` that `campaign` put a lead on its desktop
    /// (`busy`) or took it off (see [`RunnerInput::AgentElsewhere`]). Done at once, within
    /// the same turn: a second campaign must not offer the agent a lead while the first
    /// one's pause is on its way to the ACD.
    fn tell_others(&mut self, campaign: &str, agent: &str, busy: bool) {
        let others: Vec<String> = self
            .runners
            .iter()
            .filter(|(id, r)| id.as_str() != campaign && r.has_agent(agent))
            .map(|(id, _)| id.clone())
            .collect();
        for id in others {
            let agent = agent.to_string();
            self.deliver(&id, RunnerInput::AgentElsewhere { agent, busy });
        }
    }

    /// A running campaign the dialer cannot run: its figures say why until it changes state.
    fn refuse(&mut self, id: &str, abandon_target: f64, why: String) {
        tracing::error!(campaign = id, why, "campaign cannot run");
        self.live.set_campaign(CampaignLive {
            campaign_id: id.to_string(),
            abandon_target,
            idle_reason: Some(why.clone()),
            updated_at_ms: now_unix_ms(),
            ..Default::default()
        });
        self.refused.insert(id.to_string(), why);
    }

    fn broadcast(&mut self, input: RunnerInput) {
        let ids: Vec<String> = self
            .runners
            .iter()
            .filter(|(_, r)| match &input {
                RunnerInput::Agent { agent, .. }
                | RunnerInput::Dispositioned { agent, .. }
                | RunnerInput::PreviewDial { agent }
                | RunnerInput::PreviewSkip { agent } => r.has_agent(agent),
                RunnerInput::Answered { tag, .. }
                | RunnerInput::CustomerAnswered { tag }
                | RunnerInput::Amd { tag, .. }
                | RunnerInput::Failed { tag, .. } => r.owns_tag(tag),
                _ => true,
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.deliver(&id, input.clone());
        }
    }

    /// Feeds one runner and carries out what it asks.
    fn deliver(&mut self, id: &str, input: RunnerInput) {
        let Some(runner) = self.runners.get_mut(id) else {
            if let RunnerInput::Claimed(leads) = input {
                // Claimed for a runner that is gone: give them back.
                self.unclaim(leads.into_iter().map(|l| l.id).collect());
            }
            return;
        };
        let now = now_unix_ms();
        let mut out = Vec::new();
        runner.handle(now, input, &mut out);
        let campaign = runner.campaign().clone();
        if runner.finished() {
            tracing::info!(campaign = id, "campaign runner stopped");
            self.runners.remove(id);
            self.live.remove_campaign(id);
            self.leases.remove(id);
            let (store, cid) = (self.store.clone(), CampaignId::from(id));
            tokio::spawn(async move {
                if let Err(e) = store.release_campaign_lease(&cid).await {
                    tracing::warn!(%e, campaign = %cid.as_str(), "campaign lease not released");
                }
            });
            if let AgentSet::Agents(_) = campaign.agents {
                let (control, queue) = (self.control.clone(), campaign_queue(id, &campaign));
                tokio::spawn(async move {
                    if let Err(e) = control.campaign_queue(&queue, None).await {
                        tracing::warn!(%e, queue, "campaign queue not removed");
                    }
                });
            }
        }
        let mut desk = Vec::new();
        for o in out {
            desk.extend(self.carry_out(id, &campaign, now, o));
        }
        // What the desktop holds once all is carried out (a skip takes one lead off and
        // puts the next on: the others never see it free in between).
        desk.dedup();
        for agent in desk {
            let busy = self.live.agent_lead(&agent).is_some();
            self.tell_others(id, &agent, busy);
        }
    }

    /// Carries out one output; returns the agent whose desktop got or lost a lead.
    fn carry_out(
        &self,
        id: &str,
        campaign: &Campaign,
        now: i64,
        o: RunnerOutput,
    ) -> Option<String> {
        let (store, reports, cid) = (self.store.clone(), self.reports.clone(), id.to_string());
        match o {
            RunnerOutput::Claim(n) => {
                tokio::spawn(async move {
                    let input = match store
                        .claim_leads(&CampaignId::from(cid.as_str()), now, n)
                        .await
                    {
                        Ok(leads) => RunnerInput::Claimed(leads),
                        Err(e) => {
                            tracing::warn!(%e, campaign = cid, "leads not claimed");
                            RunnerInput::ClaimFailed
                        }
                    };
                    let _ = reports.send((cid, input));
                });
            }
            RunnerOutput::Dial { tag, lead } => {
                let req = dial_request(campaign, &lead, &tag);
                let control = self.control.clone();
                tokio::spawn(async move {
                    let input = place(&store, &control, &cid, &lead, now, tag, req).await;
                    let _ = reports.send((cid, input));
                });
            }
            RunnerOutput::Record {
                lead,
                attempt,
                next,
            } => {
                self.event(
                    Topic::Campaign,
                    "campaign.attempt",
                    Ok(serde_json::json!({
                        "campaign_id": id,
                        "lead_id": lead.as_str(),
                        "call_id": attempt.call_id,
                        "outcome": attempt.outcome,
                        "sip_status": attempt.sip_status,
                    })),
                );
                tokio::spawn(async move {
                    if let Err(e) = store.record_attempt(&lead, &attempt, next).await {
                        tracing::error!(%e, lead = lead.as_str(), ?attempt, "attempt not stored");
                    }
                });
            }
            RunnerOutput::Unclaim(leads) => self.unclaim(leads),
            RunnerOutput::AgentOp { agent, op } => {
                let control = self.control.clone();
                tokio::spawn(async move {
                    if let Err(e) = control.agent_op(&agent, op).await {
                        tracing::warn!(%e, agent, "agent change not made");
                    }
                });
            }
            RunnerOutput::PreviewDial { tag, agent, lead } => {
                let control = self.control.clone();
                let campaign = campaign.clone();
                tokio::spawn(async move {
                    let endpoint = match control.acd().await {
                        Ok(Some(view)) => view
                            .agents
                            .iter()
                            .find(|a| a.id.0 == agent)
                            .map(|a| a.endpoint.clone()),
                        _ => None,
                    };
                    let queue = campaign_queue(&cid, &campaign);
                    let ring = control.queue_ring_timeout(&queue).await.ok().flatten();
                    let input = match endpoint {
                        None => refused(&cid, tag, format!("agent {agent} has no endpoint")),
                        Some(endpoint) => {
                            let ring = preview_agent_ring(ring);
                            let req = preview_request(&campaign, &lead, &tag, &endpoint, ring);
                            place(&store, &control, &cid, &lead, now, tag, req).await
                        }
                    };
                    let _ = reports.send((cid, input));
                });
            }
            RunnerOutput::Assign { agent, lead } => {
                let mut pop = serde_json::to_value(&lead).unwrap_or_default();
                pop["agent"] = Value::from(agent.as_str());
                let kind = match lead.state {
                    AgentLeadState::Connected => "agent.screen_pop",
                    AgentLeadState::Preview | AgentLeadState::Dialing => "agent.preview",
                };
                self.event(Topic::Agent, kind, Ok(pop));
                self.live.assign(&agent, lead);
                return Some(agent);
            }
            RunnerOutput::AgentCallEnded { agent } => self.live.call_ended(&agent),
            RunnerOutput::Unassign { agent } => {
                // Only this campaign's lead: another's may have replaced it (a race).
                let lead = self.live.unassign_of(&agent, id)?;
                if lead.state == AgentLeadState::Preview {
                    let data = serde_json::json!({
                        "agent": agent,
                        "campaign_id": lead.campaign_id,
                        "lead_id": lead.lead_id,
                    });
                    self.event(Topic::Agent, "agent.preview_withdrawn", Ok(data));
                }
                return Some(agent);
            }
        }
        None
    }

    fn unclaim(&self, leads: Vec<crate::store::LeadId>) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.unclaim_leads(&leads, now_unix_ms()).await {
                tracing::warn!(%e, "claimed leads not given back (released at the next start)");
            }
        });
    }

    /// Live figures to the API every tick, and as `campaign.stats` every second.
    fn publish(&mut self) {
        let now = now_unix_ms();
        self.ticks += 1;
        let announce = self.ticks >= (SYNC.as_millis() / TICK.as_millis()) as u32;
        if announce {
            self.ticks = 0;
        }
        for r in self.runners.values() {
            let live = r.live(now);
            if announce {
                self.event(
                    Topic::Campaign,
                    "campaign.stats",
                    serde_json::to_value(&live),
                );
            }
            self.live.set_campaign(live);
        }
    }

    fn event(&self, topic: Topic, kind: &str, data: Result<Value, serde_json::Error>) {
        self.events.publish(Event {
            topic,
            kind: kind.to_string(),
            at: chrono::Utc::now(),
            data: data.unwrap_or_default(),
        });
    }
}

/// The ACD queue a campaign's answered calls wait in: its configured queue, or for a list
/// of agents a queue of its own that the switch adds while the campaign runs.
pub fn campaign_queue(id: &str, campaign: &Campaign) -> String {
    match &campaign.agents {
        AgentSet::Queue(q) => q.clone(),
        AgentSet::Agents(_) => format!("campaign-{id}"),
    }
}

/// Marks the lead as being dialled, then places `req`: what the runner hears of it.
async fn place(
    store: &Store,
    control: &SwitchControl,
    campaign: &str,
    lead: &Lead,
    now: i64,
    tag: String,
    req: OriginateRequest,
) -> RunnerInput {
    match store.mark_dialing(&lead.id, now).await {
        Ok(true) => match control.originate(req).await {
            Ok(Ok(call_key)) => RunnerInput::Originated { tag, call_key },
            Ok(Err(e)) => refused(campaign, tag, e.to_string()),
            Err(e) => refused(campaign, tag, e.to_string()),
        },
        Ok(false) => refused(campaign, tag, "the lead is no longer ours".into()),
        Err(e) => refused(campaign, tag, format!("store: {e}")),
    }
}

fn refused(campaign: &str, tag: String, why: String) -> RunnerInput {
    tracing::warn!(campaign, why, "call not placed");
    RunnerInput::OriginateRefused { tag, why }
}

/// The call's variables naming its campaign and lead (`CAMPAIGN_ID`, `LEAD_ID`).
fn lead_vars(lead: &Lead) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("CAMPAIGN_ID".into(), lead.campaign.as_str().into()),
        ("LEAD_ID".into(), lead.id.as_str().into()),
    ])
}

/// The call for one lead: over the campaign's trunk; on answer, the campaign's queue for
/// at most [`BRIDGE_WINDOW_S`], then the safe-harbor message and hang up.
fn dial_request(campaign: &Campaign, lead: &Lead, tag: &str) -> OriginateRequest {
    let queue = campaign_queue(lead.campaign.as_str(), campaign);
    let vars = lead_vars(lead);
    OriginateRequest {
        first: DialTarget::Trunk {
            trunk: campaign.trunk.clone(),
            number: lead.phone.clone(),
        },
        caller_id: campaign.caller_id.clone(),
        caller_name: None,
        context: "dialer".into(),
        exten: lead.phone.clone(),
        actions: vec![
            Action::Queue {
                name: queue,
                max_wait_secs: Some(BRIDGE_WINDOW_S),
            },
            Action::Playback {
                prompt: campaign.safe_harbor_prompt.clone(),
            },
            Action::Hangup {
                cause: HangupCause::NormalClearing,
            },
        ],
        vars,
        ring_timeout: Duration::from_secs(u64::from(campaign.ring_timeout_s)),
        tag: tag.to_string(),
        detect_sit: SitWatch::FirstParty,
        amd: campaign.amd.as_ref().map(|a| AmdPlan {
            config: a.config,
            on_machine: match &a.message {
                Some(prompt) => vec![
                    Action::Playback {
                        prompt: prompt.clone(),
                    },
                    Action::Hangup {
                        cause: HangupCause::NormalClearing,
                    },
                ],
                None => vec![Action::Hangup {
                    cause: HangupCause::NormalClearing,
                }],
            },
            beep: a.message.as_ref().map(|_| BeepConfig::default()),
            bridge_window: Duration::from_secs(u64::from(BRIDGE_WINDOW_S)),
        }),
    }
}

/// Ring timeout of the agent's phone for a preview call when the campaign's queue has
/// none configured (a campaign naming its agents).
pub const PREVIEW_AGENT_RING: Duration = Duration::from_secs(30);

/// How long a preview call rings the agent's phone: the ring timeout of the campaign's
/// ACD queue (`ring_timeout_secs` of its `[[queue]]`), else [`PREVIEW_AGENT_RING`].
pub fn preview_agent_ring(queue_ring_secs: Option<u32>) -> Duration {
    queue_ring_secs
        .filter(|&s| s > 0)
        .map_or(PREVIEW_AGENT_RING, |s| Duration::from_secs(u64::from(s)))
}

/// A preview call: the agent's `endpoint` first for `agent_ring` (shown the campaign's
/// caller id, the same the lead sees), then on answer the lead over the campaign's trunk
/// for the campaign's ring timeout, bridged to the agent; hang up when either side does.
pub fn preview_request(
    campaign: &Campaign,
    lead: &Lead,
    tag: &str,
    endpoint: &str,
    agent_ring: Duration,
) -> OriginateRequest {
    let vars = lead_vars(lead);
    OriginateRequest {
        first: DialTarget::Endpoint(endpoint.to_string()),
        caller_id: campaign.caller_id.clone(),
        caller_name: None,
        context: "dialer".into(),
        exten: lead.phone.clone(),
        actions: vec![
            Action::Dial {
                targets: vec![DialTarget::Trunk {
                    trunk: campaign.trunk.clone(),
                    number: lead.phone.clone(),
                }],
                strategy: RingStrategy::Sequence,
                timeout_secs: campaign.ring_timeout_s,
                caller_id: Some(campaign.caller_id.clone()),
            },
            Action::Hangup {
                cause: HangupCause::NormalClearing,
            },
        ],
        vars,
        ring_timeout: agent_ring,
        tag: tag.to_string(),
        detect_sit: SitWatch::DialledParty,
        amd: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lead L1 of campaign C, claimed.
    fn claimed_lead() -> Lead {
        serde_json::from_value(json!({
            "id": "L1", "campaign": "C", "list": "LS", "seq": 1, "phone": "+14155550101",
            "tz": "America/New_York", "fields": {}, "priority": 0, "status": "claimed",
            "callback": false, "next_at_ms": 0, "attempts": 0,
            "counts": {"busy": 0, "no_answer": 0, "machine": 0, "congestion": 0},
            "last_outcome": null, "claimed_by": null
        }))
        .expect("lead")
    }

    fn event(kind: &str, data: Value) -> Option<RunnerInput> {
        DialerFeed::Event {
            kind: kind.into(),
            data,
        }
        .input()
    }

    #[test]
    fn the_switch_events_become_runner_inputs() {
        assert_eq!(
            event(
                "originate.answered",
                json!({"tag": "C/1", "call": "01J", "key": 7, "status": 200})
            ),
            Some(RunnerInput::Answered {
                tag: "C/1".into(),
                call_id: "01J".into()
            })
        );
        assert_eq!(
            event(
                "originate.bridged",
                json!({"tag": "C/p3", "call": "01J", "key": 7, "status": 200, "sit": false})
            ),
            Some(RunnerInput::CustomerAnswered { tag: "C/p3".into() })
        );
        assert_eq!(
            event(
                "originate.failed",
                json!({"tag": "C/2", "call": "01K", "status": 486})
            ),
            Some(RunnerInput::Failed {
                tag: "C/2".into(),
                status: 486
            })
        );
        assert_eq!(
            event(
                "queue.event",
                json!({"kind": "queue", "queue": "outbound", "call": "7", "event": "answer", "agent": "1001", "wait_ms": 40})
            ),
            Some(RunnerInput::Bridged {
                call_key: 7,
                agent: "1001".into()
            })
        );
        assert_eq!(
            event(
                "queue.event",
                json!({"queue": "outbound", "call": "8", "event": "refuse", "reason": "timeout"})
            ),
            Some(RunnerInput::LeftQueue { call_key: 8 })
        );
        assert_eq!(
            event(
                "queue.event",
                json!({"queue": "q", "call": "8", "event": "join", "position": 1})
            ),
            None
        );
        assert_eq!(
            event(
                "agent.state",
                json!({"kind": "agent", "agent": "1001", "from": {"state": "available"}, "to": {"state": "paused", "reason": "disposition"}, "reason": "pause"})
            ),
            Some(RunnerInput::Agent {
                agent: "1001".into(),
                state: AgentState::Paused
            })
        );
        assert_eq!(
            DialerFeed::CallEnded {
                id: "01J".into(),
                customer: None
            }
            .input(),
            Some(RunnerInput::CallEnded {
                call_id: "01J".into(),
                customer: None
            })
        );
    }

    #[test]
    fn a_preview_call_rings_the_agent_then_dials_the_lead_over_the_trunk() {
        let campaign = Campaign::new(
            "c",
            "carrier",
            "+14155550000",
            AgentSet::Agents(vec!["1001".into()]),
            crate::dialer::campaign::DialMode::Preview,
        );
        let lead = claimed_lead();
        let req = preview_request(&campaign, &lead, "C/p0", "ep1001", Duration::from_secs(12));
        assert_eq!(
            req.ring_timeout,
            Duration::from_secs(12),
            "the agent's ring time"
        );
        assert_eq!(req.first, DialTarget::Endpoint("ep1001".into()));
        assert_eq!(req.caller_id, "+14155550000", "the campaign's caller id");
        assert_eq!(req.tag, "C/p0");
        assert_eq!(
            req.actions[0],
            Action::Dial {
                targets: vec![DialTarget::Trunk {
                    trunk: "carrier".into(),
                    number: "+14155550101".into()
                }],
                strategy: RingStrategy::Sequence,
                timeout_secs: 20,
                caller_id: Some("+14155550000".into()),
            }
        );
        assert!(req.amd.is_none() && req.detect_sit == SitWatch::DialledParty);
        assert_eq!(req.vars["LEAD_ID"], "L1");
    }

    #[test]
    fn the_agents_ring_time_is_its_queues_else_thirty_seconds() {
        assert_eq!(preview_agent_ring(Some(10)), Duration::from_secs(10));
        assert_eq!(preview_agent_ring(None), PREVIEW_AGENT_RING);
        assert_eq!(preview_agent_ring(Some(0)), PREVIEW_AGENT_RING, "never 0 s");
        assert_eq!(PREVIEW_AGENT_RING, Duration::from_secs(30));
    }

    #[test]
    fn the_customer_leg_of_an_ended_call_is_its_last_b_leg() {
        use crate::store::{CallRecordId, CdrLeg, HangupSide};
        let leg = |role, status, answered| CdrLeg {
            role,
            peer: "p".into(),
            sip_call_id: "x".into(),
            remote_uri: "sip:x".into(),
            started_at_ms: 0,
            answered_at_ms: answered,
            ended_at_ms: 1,
            final_status: status,
        };
        let cdr = Cdr {
            id: CallRecordId::from_parts(1, 7),
            call_id: "a".into(),
            caller: "c".into(),
            callee: "d".into(),
            direction: None,
            started_at_ms: 0,
            answered_at_ms: Some(1),
            ended_at_ms: 2,
            duration_ms: 2,
            billable_ms: 1,
            sip_status: 200,
            hangup_side: HangupSide::Callee,
            hangup_cause: "normal_clearing".into(),
            legs: vec![
                leg(LegRole::A, Some(200), Some(1)),
                leg(LegRole::B, Some(486), None),
            ],
            media: Vec::new(),
        };
        let DialerFeed::CallEnded { id, customer } = DialerFeed::ended(&cdr) else {
            panic!("a call end");
        };
        assert_eq!(id, cdr.id.as_str());
        assert_eq!(
            customer,
            Some(CustomerLeg {
                status: Some(486),
                answered_at_ms: None
            })
        );
    }

    #[test]
    fn a_dial_queues_the_answer_for_two_seconds_then_plays_the_safe_harbor_message() {
        let campaign = Campaign::new(
            "c",
            "carrier",
            "+14155550000",
            AgentSet::Queue("outbound".into()),
            crate::dialer::campaign::DialMode::Predictive,
        );
        let lead = claimed_lead();
        let req = dial_request(&campaign, &lead, "C/0");
        assert_eq!(
            req.first,
            DialTarget::Trunk {
                trunk: "carrier".into(),
                number: "+14155550101".into()
            }
        );
        assert_eq!(req.ring_timeout, Duration::from_secs(20));
        assert_eq!(
            req.actions[0],
            Action::Queue {
                name: "outbound".into(),
                max_wait_secs: Some(2)
            }
        );
        assert_eq!(
            req.actions[1],
            Action::Playback {
                prompt: "safe-harbor".into()
            }
        );
        assert_eq!(req.vars["LEAD_ID"], "L1");
    }
}
