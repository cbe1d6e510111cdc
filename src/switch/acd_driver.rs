//! Queues and agents inside the switch: what calls report ([`QueueNotice`]) goes into the
//! sans-IO [`Acd`], and its decisions are carried out on calls (ring an agent's phone,
//! bridge, release, announce, overflow, refuse). The ACD runs in the switch's own task,
//! so a decision and the call it concerns never race.
//!
//! Configuration: `[[queue]]` and `[[agent]]` tables and an `[acd]` table in
//! `switchboard.toml` (see [`crate::acd::config`]).

use std::time::Duration;

use serde::Deserialize;

use crate::acd::{
    Acd, AcdConfig, AcdInput, AcdOutput, AfterCall, AgentConfig, AgentId, AgentOp, CallRef,
    QueueConfig, QueueEvent, QueueHappening,
};
use crate::b2bua::route::Action;

use super::OriginateRequest;
use crate::b2bua::route::Resolver;
use crate::b2bua::{Call, CallEvent, CallIo, CallKey, Now, QueueNotice, SitWatch};
use crate::config::{Config, ConfigError};
use crate::dialplan::DialTarget;

use super::{Switch, SwitchOutput};

/// Announced to callers of queues that keep places for callbacks.
const CALLBACK_OFFER: &str = "queue-callback";

/// A called-back customer goes ahead of the callers waiting.
const CALLBACK_PRIORITY: i32 = 100;

/// Prompts announcing a position or a wait in minutes exist for these numbers.
const SPOKEN_NUMBERS: usize = 20;

#[derive(Deserialize)]
struct AcdSections {
    #[serde(default)]
    queue: Vec<QueueConfig>,
    #[serde(default)]
    agent: Vec<AgentConfig>,
    #[serde(default)]
    acd: AcdSettings,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AcdSettings {
    max_missed: Option<u32>,
    unreachable_after_call: Option<AfterCall>,
    seed: Option<u64>,
}

/// The ACD configuration of `cfg`: `None` when it defines no queue and no agent.
pub fn acd_config(cfg: &Config) -> Result<Option<AcdConfig>, ConfigError> {
    let s: AcdSections = cfg.section()?;
    if s.queue.is_empty() && s.agent.is_empty() {
        return Ok(None);
    }
    let mut acd = AcdConfig {
        queues: s.queue,
        agents: s.agent,
        ..AcdConfig::default()
    };
    if let Some(m) = s.acd.max_missed {
        acd.max_missed = m;
    }
    if let Some(a) = s.acd.unreachable_after_call {
        acd.unreachable_after_call = a;
    }
    if let Some(seed) = s.acd.seed {
        acd.seed = seed;
    }
    Ok(Some(acd))
}

fn call_ref(key: CallKey) -> CallRef {
    CallRef(key.0.to_string())
}

fn call_key(call: &CallRef) -> Option<CallKey> {
    call.0.parse().ok().map(CallKey)
}

/// Position and estimated wait as prompts.
fn announcement(position: usize, wait: Option<Duration>) -> Vec<String> {
    let mut prompts = Vec::new();
    if (1..=SPOKEN_NUMBERS).contains(&position) {
        prompts.push("queue-position".to_string());
        prompts.push(format!("digit-{position}"));
    }
    if let Some(w) = wait {
        let minutes = (w.as_secs().div_ceil(60) as usize).max(1);
        if minutes <= SPOKEN_NUMBERS {
            prompts.push("queue-wait".to_string());
            prompts.push(format!("digit-{minutes}"));
            prompts.push("queue-minutes".to_string());
        }
    }
    prompts
}

impl Switch {
    /// Runs queues and agents with this configuration.
    pub fn with_acd(mut self, config: AcdConfig) -> Switch {
        self.callback_queues = config
            .queues
            .iter()
            .filter(|q| q.callback)
            .map(|q| q.name.clone())
            .collect();
        self.acd = Some(Acd::new(config.clone()));
        self.acd_config = Some(config);
        self
    }

    /// Adds (`Some(agents)`) or removes (`None`) `queue`, a queue of its own for a campaign
    /// that names its agents rather than a configured queue: the agents serve it besides
    /// their configured queues, from now on, keeping their states and calls; a removed queue
    /// drains. Refused (with the reason) without configured agents, for an agent not
    /// configured, or for a queue name the configuration already uses.
    pub fn set_campaign_queue(
        &mut self,
        now: Now,
        queue: &str,
        agents: Option<Vec<String>>,
    ) -> Result<(), String> {
        let (Some(_), Some(base)) = (self.acd.as_ref(), self.acd_config.as_ref()) else {
            return Err("no agents are configured ([[agent]] tables)".into());
        };
        if base.queues.iter().any(|q| q.name == queue) {
            return Err(format!("queue {queue:?} is a configured queue"));
        }
        match agents {
            Some(agents) => {
                let unknown: Vec<&str> = agents
                    .iter()
                    .map(String::as_str)
                    .filter(|id| !base.agents.iter().any(|a| a.id == *id))
                    .collect();
                if !unknown.is_empty() {
                    return Err(format!("no [[agent]] {}", unknown.join(", ")));
                }
                self.campaign_queues.insert(queue.to_string(), agents);
            }
            None => {
                self.campaign_queues.remove(queue);
            }
        }
        if let (Some(config), Some(acd)) = (self.merged_acd_config(), self.acd.as_mut()) {
            acd.reconfigure(config, now.at);
        }
        self.drain_acd(now);
        Ok(())
    }

    /// Swaps in the `[[queue]]`, `[[agent]]` and `[acd]` of a reloaded configuration file,
    /// keeping live state (see [`Acd::reconfigure`]): callers and agents of queues that stay
    /// keep their places and states, removed queues drain, removed agents are logged out
    /// once idle. Campaign queues stay, without agents the file no longer has.
    pub fn reload_acd(&mut self, now: Now, config: AcdConfig) {
        self.callback_queues = config
            .queues
            .iter()
            .filter(|q| q.callback)
            .map(|q| q.name.clone())
            .collect();
        self.campaign_queues
            .retain(|name, _| !config.queues.iter().any(|q| q.name == *name));
        for agents in self.campaign_queues.values_mut() {
            agents.retain(|id| config.agents.iter().any(|a| a.id == *id));
        }
        self.acd_config = Some(config);
        let merged = self.merged_acd_config();
        match (self.acd.as_mut(), merged) {
            (Some(acd), Some(config)) => acd.reconfigure(config, now.at),
            (None, Some(config)) => self.acd = Some(Acd::new(config)),
            _ => {}
        }
        self.drain_acd(now);
    }

    /// The agents serving `queue` (configured or a campaign's), or None for no such queue.
    pub fn queue_members(&self, queue: &str) -> Option<Vec<String>> {
        let config = self.merged_acd_config()?;
        config.queues.iter().find(|q| q.name == queue)?;
        let members = config
            .agents
            .iter()
            .filter(|a| a.queues.iter().any(|m| m.queue == queue));
        Some(members.map(|a| a.id.clone()).collect())
    }

    /// The ring timeout of a queue of the configuration file (`ring_timeout_secs`, 15 s
    /// when unset); `None` for a campaign's own queue or an unknown one.
    pub fn queue_ring_timeout(&self, queue: &str) -> Option<u32> {
        let config = self.acd_config.as_ref()?;
        let q = config.queues.iter().find(|q| q.name == queue)?;
        Some(q.ring_timeout_secs)
    }

    /// The configured ACD plus the campaigns' own queues.
    fn merged_acd_config(&self) -> Option<AcdConfig> {
        let mut config = self.acd_config.clone()?;
        for (name, agents) in &self.campaign_queues {
            config.queues.push(QueueConfig {
                name: name.clone(),
                callback: false,
                ..QueueConfig::default()
            });
            for a in config.agents.iter_mut().filter(|a| agents.contains(&a.id)) {
                a.queues.push(crate::acd::Membership::new(name, 0));
            }
        }
        Some(config)
    }

    /// The ACD, for snapshots and statistics (API, wallboard).
    pub fn acd(&self) -> Option<&Acd> {
        self.acd.as_ref()
    }

    /// An agent state change from the API.
    pub fn agent_op(&mut self, now: Now, agent: &str, op: AgentOp) {
        if let Some(acd) = self.acd.as_mut() {
            acd.handle(
                now.at,
                AcdInput::Agent {
                    agent: AgentId(agent.to_string()),
                    op,
                },
            );
            self.drain_acd(now);
        }
    }

    /// An endpoint's phone registered or went away.
    pub(super) fn endpoint_reachable(&mut self, now: Now, endpoint: &str, reachable: bool) {
        if let Some(acd) = self.acd.as_mut() {
            acd.handle(
                now.at,
                AcdInput::EndpointReachable {
                    endpoint: endpoint.to_string(),
                    reachable,
                },
            );
            self.drain_acd(now);
        }
    }

    /// Feeds what calls reported into the ACD.
    pub(super) fn feed_acd(&mut self, now: Now, notices: Vec<QueueNotice>) {
        let Some(acd) = self.acd.as_mut() else {
            for notice in notices {
                if let QueueNotice::Join { key, queue, .. } = notice {
                    tracing::warn!(queue, "no queues configured: the call leaves the queue");
                    self.act(now, key, |c, io| c.queue_leave(io, "NOACD", None));
                }
            }
            return;
        };
        for notice in notices {
            let input = match notice {
                QueueNotice::Join {
                    key,
                    queue,
                    caller,
                    max_wait,
                    skills,
                    priority,
                } => {
                    acd.handle(
                        now.at,
                        AcdInput::CallerJoin {
                            call: call_ref(key),
                            queue,
                            caller_id: caller,
                            skills,
                            priority,
                        },
                    );
                    match max_wait {
                        Some(max_wait) => AcdInput::CallerMaxWait {
                            call: call_ref(key),
                            max_wait,
                        },
                        None => continue,
                    }
                }
                QueueNotice::AgentAnswered { key, agent } => AcdInput::AgentAnswered {
                    call: call_ref(key),
                    agent: AgentId(agent),
                },
                QueueNotice::AgentFailed { key, agent, busy } => AcdInput::RingFailed {
                    call: call_ref(key),
                    agent: AgentId(agent),
                    busy,
                },
                QueueNotice::CallerLeft { key } => AcdInput::CallerLeft {
                    call: call_ref(key),
                },
                QueueNotice::AgentCallEnded { key, agent } => AcdInput::CallEnded {
                    call: call_ref(key),
                    agent: AgentId(agent),
                },
                QueueNotice::CallbackRequested { key, number, reach } => {
                    if let Some(reach) = reach {
                        self.callbacks.insert(number.clone(), reach);
                    }
                    AcdInput::CallbackRequested {
                        call: call_ref(key),
                        number,
                    }
                }
                QueueNotice::AgentOp {
                    agent, op, reason, ..
                } => AcdInput::Agent {
                    agent: AgentId(agent),
                    op: AgentOp::from_dialplan(op, reason),
                },
            };
            acd.handle(now.at, input);
        }
        self.drain_acd(now);
    }

    /// ACD timers due at `now`.
    pub(super) fn acd_timeout(&mut self, now: Now) {
        if let Some(acd) = self.acd.as_mut() {
            acd.on_timeout(now.at);
            self.drain_acd(now);
        }
    }

    fn drain_acd(&mut self, now: Now) {
        while let Some(out) = self.acd.as_mut().and_then(Acd::poll_output) {
            self.carry_out(now, out);
        }
    }

    fn carry_out(&mut self, now: Now, out: AcdOutput) {
        let key = |call: &CallRef| call_key(call).unwrap_or(CallKey(0));
        match out {
            AcdOutput::Ring {
                call,
                agent,
                endpoint,
                ..
            } => {
                let targets = self
                    .targets
                    .resolve(&DialTarget::Endpoint(endpoint), now.at);
                self.act(now, key(&call), |c, io| c.queue_ring(io, &agent.0, targets));
            }
            AcdOutput::CancelRing { call, agent } => {
                self.act(now, key(&call), |c, io| c.queue_cancel(io, &agent.0))
            }
            AcdOutput::Bridge { call, agent } => {
                self.act(now, key(&call), |c, io| c.queue_bridge(io, &agent.0))
            }
            AcdOutput::Release { call, agent } => {
                self.act(now, key(&call), |c, io| c.queue_release(io, &agent.0))
            }
            AcdOutput::Announce {
                call,
                position,
                estimated_wait,
            } => {
                let mut prompts = announcement(position, estimated_wait);
                let key = key(&call);
                if self
                    .calls
                    .queue_of(key)
                    .is_some_and(|q| self.callback_queues.contains(q))
                {
                    // the offer: press * to keep your place and be called back
                    prompts.push(CALLBACK_OFFER.to_string());
                }
                self.act(now, key, |c, io| c.queue_announce(io, prompts));
            }
            AcdOutput::Overflow { call, destination } => self.act(now, key(&call), |c, io| {
                c.queue_leave(io, "TIMEOUT", Some(&destination))
            }),
            AcdOutput::Refuse { call, reason } => self.act(now, key(&call), |c, io| {
                c.queue_leave(io, reason.queue_status(), None)
            }),
            AcdOutput::CallbackDue { queue, number } => self.place_callback(now, queue, number),
            AcdOutput::Event(e) => {
                if let crate::acd::AcdEvent::Queue(QueueEvent {
                    call: Some(call),
                    what: QueueHappening::CallbackKept { .. },
                    ..
                }) = &e
                {
                    self.act(now, key(call), |c, io| c.queue_callback_kept(io));
                }
                let kind = match &e {
                    crate::acd::AcdEvent::Agent(_) => "agent.state",
                    crate::acd::AcdEvent::Queue(_) => "queue.event",
                };
                let data = serde_json::to_value(&e).unwrap_or_default();
                self.outputs
                    .push_back(SwitchOutput::Event(CallEvent { kind, data }));
            }
        }
    }

    /// A kept callback reached the head with an agent free: call the customer back and
    /// put them first in the queue.
    fn place_callback(&mut self, now: Now, queue: String, number: String) {
        let Some(first) = self.callbacks.remove(&number) else {
            tracing::warn!(queue, number, "callback due for a caller we cannot reach");
            return;
        };
        let vars = [("QUEUE_PRIORITY".to_string(), CALLBACK_PRIORITY.to_string())];
        let req = OriginateRequest {
            detect_sit: SitWatch::Off,
            amd: None,
            first,
            caller_id: number.clone(),
            caller_name: Some(format!("{queue} callback")),
            context: String::new(),
            exten: number.clone(),
            actions: vec![Action::Queue {
                name: queue.clone(),
                max_wait_secs: None,
            }],
            vars: vars.into_iter().collect(),
            ring_timeout: Duration::from_secs(30),
            tag: format!("callback:{queue}:{number}"),
        };
        if let Err(e) = self.originate(now, req) {
            tracing::warn!(%e, queue, number, "callback not placed");
        }
    }

    fn act(&mut self, now: Now, key: CallKey, f: impl FnOnce(&mut Call, &mut CallIo<'_>)) {
        self.with_calls(now, |calls, io| calls.act(io, key, f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_queue_is_refused_with_file_and_line() {
        let text = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"t\"\n\n\
                    [[queue]]\nname = \"sales\"\nstrategy = \"bogus\"\n";
        let cfg = Config::parse("sb.toml", text).unwrap();
        let err = acd_config(&cfg).unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("sb.toml", 7), "{err}");
        assert!(err.reason.contains("bogus"), "{err}");
        let shipped = Config::embedded_default();
        let acd = acd_config(&shipped).unwrap().expect("the demo has queues");
        assert_eq!(acd.queues.len(), 2);
    }

    #[test]
    fn announcements_speak_position_and_minutes() {
        assert_eq!(
            announcement(3, Some(Duration::from_secs(125))),
            [
                "queue-position",
                "digit-3",
                "queue-wait",
                "digit-3",
                "queue-minutes"
            ]
        );
        assert_eq!(announcement(25, None), Vec::<String>::new());
    }
}
