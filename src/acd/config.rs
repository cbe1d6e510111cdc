//! ACD configuration as data: queues and agents, `serde::Deserialize` with defaults, so
//! the switch can map `switchboard.toml`'s `[[queue]]` and `[[agent]]` tables straight
//! into an [`AcdConfig`]. Validation beyond types (unknown queue names in an agent's
//! membership) is lenient: an unknown queue simply never offers that agent a call.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::strategy::Strategy;

/// The whole ACD: queues, agents and global agent rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcdConfig {
    #[serde(rename = "queue", alias = "queues")]
    pub queues: Vec<QueueConfig>,
    #[serde(rename = "agent", alias = "agents")]
    pub agents: Vec<AgentConfig>,
    /// Consecutive missed offers (ring timeout or refusal) after which an agent is
    /// paused with reason `"missed"`; 0 disables auto-pause.
    pub max_missed: u32,
    /// What an agent whose phone unregistered during a call becomes when the call ends.
    pub unreachable_after_call: AfterCall,
    /// Whether endpoints count as reachable before the switch reports otherwise.
    pub reachable_at_start: bool,
    /// Seed of the `random` strategy's generator (deterministic tests and replays).
    pub seed: u64,
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            queues: Vec::new(),
            agents: Vec::new(),
            max_missed: 3,
            unreachable_after_call: AfterCall::Pause,
            reachable_at_start: true,
            seed: 0,
        }
    }
}

/// The state an agent takes after a call during which their phone went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterCall {
    /// Wrap up as usual; the agent stays un-offered until the phone is back.
    WrapUp,
    /// Paused with reason `"unreachable"`.
    Pause,
    /// Logged out.
    Logout,
}

/// One queue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    /// How long one offer rings an agent before the next is tried.
    pub ring_timeout_secs: u32,
    /// After-call work of agents who took a call from this queue; 0 = none.
    pub wrap_up_secs: u32,
    /// Longest a caller waits before [`overflow`](Self::overflow) (or a `Timeout` refusal).
    pub max_wait_secs: Option<u32>,
    /// Where callers go on max wait or leave-when-empty: `exten` or `context,exten`.
    pub overflow: Option<String>,
    /// Callers (and kept callbacks) the queue holds at most.
    pub max_len: Option<usize>,
    /// Accept callers when no member agent is logged in.
    pub join_empty: bool,
    /// Send waiting callers away when the last member agent logs out.
    pub leave_when_empty: bool,
    /// Period of position / estimated-wait announcements; none when absent.
    pub announce_every_secs: Option<u32>,
    /// Announce position once right after joining.
    pub announce_on_join: bool,
    /// Service level threshold T: answered within T seconds counts as "in service level".
    pub service_level_secs: u32,
    /// A caller reaches the next tier of agents after each step of this many seconds.
    pub tier_wait_secs: u32,
    /// Skill requirements drop by [`skill_widen_step`](Self::skill_widen_step) after
    /// each period of this many seconds; never when absent.
    pub skill_widen_every_secs: Option<u32>,
    pub skill_widen_step: u8,
    /// Whether callers may leave a callback number and keep their place.
    pub callback: bool,
    /// Recent handle times (talk + wrap-up) kept for the estimated wait.
    pub handle_time_window: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            strategy: Strategy::LongestIdle,
            ring_timeout_secs: 15,
            wrap_up_secs: 10,
            max_wait_secs: None,
            overflow: None,
            max_len: None,
            join_empty: true,
            leave_when_empty: false,
            announce_every_secs: None,
            announce_on_join: false,
            service_level_secs: 20,
            tier_wait_secs: 30,
            skill_widen_every_secs: None,
            skill_widen_step: 1,
            callback: true,
            handle_time_window: 20,
        }
    }
}

/// One agent: a person, the endpoint their phone registers as, skills and queues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    pub id: String,
    /// Endpoint name the switch rings (a registered phone or a WebRTC agent).
    pub endpoint: String,
    /// Skill name → level (0–100 or any scale the queues' callers use).
    pub skills: BTreeMap<String, u8>,
    /// Queues this agent serves.
    #[serde(alias = "queue")]
    pub queues: Vec<Membership>,
}

/// An agent's place in one queue: lower tiers are offered calls first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub queue: String,
    #[serde(default, alias = "penalty")]
    pub tier: u32,
}

impl Membership {
    pub fn new(queue: &str, tier: u32) -> Self {
        Self {
            queue: queue.to_string(),
            tier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_tables_map_with_defaults() {
        let cfg: AcdConfig = toml::from_str(
            r#"
            max_missed = 2
            [[queue]]
            name = "sales"
            strategy = "ring_all"
            max_wait_secs = 120
            overflow = "default,voicemail"
            [[agent]]
            id = "alice"
            endpoint = "1001"
            skills = { english = 5 }
            queues = [{ queue = "sales", penalty = 1 }, { queue = "support" }]
            "#,
        )
        .expect("valid");
        assert_eq!(cfg.max_missed, 2);
        let q = &cfg.queues[0];
        assert_eq!(q.strategy, Strategy::RingAll);
        assert_eq!(q.ring_timeout_secs, 15);
        assert_eq!(q.max_wait_secs, Some(120));
        assert!(q.join_empty);
        let a = &cfg.agents[0];
        assert_eq!(
            a.queues,
            vec![Membership::new("sales", 1), Membership::new("support", 0)]
        );
        assert_eq!(a.skills.get("english"), Some(&5));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<AcdConfig, _> =
            toml::from_str("[[queue]]\nname = \"q\"\nstrategi = \"random\"\n");
        assert!(r.is_err());
    }
}
