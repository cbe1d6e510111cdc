//! What the running dialer shares with the operations surface: each running campaign's
//! live figures, the lead each agent is talking to (screen pop, disposition), and a
//! channel back to the dialer task for what the API learns first (a disposition was
//! saved, a campaign was started or paused).
//!
//! The dialer task is the only writer of the figures and assignments; the API reads
//! them lock-free (`dashmap`) and never waits on the dialer.

use std::sync::Arc;

use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;

/// A running campaign now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CampaignLive {
    pub campaign_id: String,
    /// Calls placed per agent ready or about to be (the pacer's current level).
    pub dial_level: f64,
    /// Calls placed and not yet answered or failed.
    pub lines_in_flight: u32,
    /// Answered calls waiting for an agent (the 2-second window).
    pub answered_waiting: u32,
    pub agents_logged_in: u32,
    pub agents_ready: u32,
    pub agents_in_call: u32,
    pub agents_wrap_up: u32,
    /// Since the runner started (this process).
    pub dials: u64,
    /// Answered by a person (bridged or abandoned).
    pub live_answers: u64,
    pub machines: u64,
    /// Live answers not bridged within 2 s of the greeting (safe-harbor message played).
    pub abandoned: u64,
    /// abandoned ÷ live answers (0 before the first live answer).
    pub abandon_rate: f64,
    pub abandon_target: f64,
    /// Talk time ÷ logged-in time of the campaign's agents since the runner started.
    pub talk_utilisation: f64,
    /// Why the runner is not dialling now, if it is not (window closed, no leads, ...).
    pub idle_reason: Option<String>,
    pub updated_at_ms: i64,
}

/// Where the agent is with its lead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentLeadState {
    /// Preview mode: offered to the agent, who may dial or skip it.
    Preview,
    /// Preview mode: the agent asked for the call; their phone rings, then the lead's.
    Dialing,
    /// Connected to the lead (the dialer's call was bridged to the agent).
    #[default]
    Connected,
}

/// The lead an agent is connected to (or was, until the disposition), or in preview mode
/// the lead offered to it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentLead {
    pub campaign_id: String,
    pub lead_id: String,
    /// preview | dialing | connected
    pub state: AgentLeadState,
    /// The call's record id (CDR id; empty while a preview is not yet dialled).
    pub call_id: String,
    pub phone: String,
    /// The list's columns (screen pop).
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// When the agent was connected (preview: when the lead was offered).
    pub bridged_at_ms: i64,
    /// The call has ended; the agent owes a disposition.
    pub ended: bool,
    /// The campaign keeps the agent out of the next call until the disposition is saved.
    pub disposition_required: bool,
}

/// What the API tells the dialer task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialerCommand {
    /// The agent's disposition for its current lead was stored; the dialer releases the
    /// agent (ends the disposition pause) and forgets the assignment.
    Dispositioned { agent: String, human: bool },
    /// A campaign was created, edited, started, paused or stopped: look at the store now.
    Wake,
    /// Preview mode: the agent asked the switch to call the lead offered to it.
    PreviewDial { agent: String },
    /// Preview mode: the agent passed on the lead offered to it (it goes back unattempted).
    PreviewSkip { agent: String },
}

/// Shared between the dialer task (writer) and the API (reader). Cheap to clone.
#[derive(Debug, Clone)]
pub struct DialerLive {
    campaigns: Arc<DashMap<String, CampaignLive>>,
    agents: Arc<DashMap<String, AgentLead>>,
    commands: mpsc::UnboundedSender<DialerCommand>,
}

impl DialerLive {
    /// A handle and the receiving end the dialer task serves.
    pub fn new() -> (DialerLive, mpsc::UnboundedReceiver<DialerCommand>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let live = DialerLive {
            campaigns: Arc::default(),
            agents: Arc::default(),
            commands,
        };
        (live, rx)
    }

    /// The running campaign's figures (`None` when it is not running on this node).
    pub fn campaign(&self, id: &str) -> Option<CampaignLive> {
        self.campaigns.get(id).map(|c| c.clone())
    }

    /// Every running campaign's figures.
    pub fn campaigns(&self) -> Vec<CampaignLive> {
        let mut all: Vec<_> = self.campaigns.iter().map(|c| c.clone()).collect();
        all.sort_by(|a, b| a.campaign_id.cmp(&b.campaign_id));
        all
    }

    /// The lead the agent is on or owes a disposition for.
    pub fn agent_lead(&self, agent: &str) -> Option<AgentLead> {
        self.agents.get(agent).map(|a| a.clone())
    }

    /// Tell the dialer task something (ignored when no dialer runs).
    pub fn send(&self, command: DialerCommand) {
        let _ = self.commands.send(command);
    }

    // The dialer task's side.

    pub fn set_campaign(&self, live: CampaignLive) {
        self.campaigns.insert(live.campaign_id.clone(), live);
    }

    pub fn remove_campaign(&self, id: &str) {
        self.campaigns.remove(id);
    }

    pub fn assign(&self, agent: &str, lead: AgentLead) {
        self.agents.insert(agent.to_string(), lead);
    }

    /// Marks the agent's call ended (the lead stays for the disposition).
    pub fn call_ended(&self, agent: &str) {
        if let Some(mut a) = self.agents.get_mut(agent) {
            a.ended = true;
        }
    }

    pub fn unassign(&self, agent: &str) -> Option<AgentLead> {
        self.agents.remove(agent).map(|(_, a)| a)
    }

    /// Removes the agent's lead only when it is campaign `campaign`'s.
    pub fn unassign_of(&self, agent: &str, campaign: &str) -> Option<AgentLead> {
        self.agents
            .remove_if(agent, |_, a| a.campaign_id == campaign)
            .map(|(_, a)| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: &str) -> AgentLead {
        AgentLead {
            campaign_id: "C1".into(),
            lead_id: id.into(),
            state: AgentLeadState::Connected,
            call_id: "K1".into(),
            phone: "+14155550100".into(),
            fields: serde_json::json!({"name": "Ada"}),
            bridged_at_ms: 1,
            ended: false,
            disposition_required: true,
        }
    }

    #[test]
    fn the_api_sees_what_the_dialer_writes() {
        let (live, mut rx) = DialerLive::new();
        let reader = live.clone();
        live.assign("1001", lead("L1"));
        assert_eq!(
            reader.agent_lead("1001").map(|l| l.lead_id),
            Some("L1".into())
        );
        live.call_ended("1001");
        assert!(reader.agent_lead("1001").is_some_and(|l| l.ended));
        reader.send(DialerCommand::Dispositioned {
            agent: "1001".into(),
            human: true,
        });
        assert_eq!(
            rx.try_recv().ok(),
            Some(DialerCommand::Dispositioned {
                agent: "1001".into(),
                human: true,
            })
        );
        assert!(
            live.unassign_of("1001", "C2").is_none(),
            "another campaign's"
        );
        assert!(live.unassign_of("1001", "C1").is_some());
        assert!(reader.agent_lead("1001").is_none());
        live.set_campaign(CampaignLive {
            campaign_id: "B".into(),
            ..Default::default()
        });
        live.set_campaign(CampaignLive {
            campaign_id: "A".into(),
            ..Default::default()
        });
        let ids: Vec<_> = reader
            .campaigns()
            .into_iter()
            .map(|c| c.campaign_id)
            .collect();
        assert_eq!(ids, ["A", "B"]);
        live.remove_campaign("A");
        assert!(reader.campaign("A").is_none());
    }
}
