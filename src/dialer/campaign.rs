//! A campaign's definition: who is called over which trunk, by whom, how fast, when, and
//! what happens to a lead after each attempt or disposition. Validated at the edge
//! ([`Campaign::validate`]), with one error per offending field, named by its path.
//!
//! Legal floors are enforced here, not left to configuration: the ring timeout is at least
//! 15 s (16 CFR 310.4(b)(4)(ii)), the abandon-rate target at most 3 % (US FTC per campaign
//! over 30 days, UK Ofcom per campaign per 24 h), and under the US regime the calling
//! window lies within 08:00–21:00 lead-local (47 CFR 64.1200(c)(1)).
//!
//! States: `Draft → Running ⇄ Paused`, and any of them `→ Stopped` (final).
//! The store keeps the state, attempt cap and window as columns it enforces on claims and
//! the whole definition as JSON ([`Campaign::to_new`], [`Campaign::from_record`]).
//!
//! Times here are unix milliseconds (`i64`, as the store keeps them), passed in: the
//! pacing code's [`Millis`](super::Millis) counts from the campaign day's local midnight
//! instead, which suits a shift, not a lead's retry schedule spanning days.

use serde::{Deserialize, Serialize};

use super::amd::{AmdConfig, AmdConfigError};
use super::compliance::{ABANDON_LIMIT, AMD_FALSE_POSITIVE_RATE, MIN_RING_TIMEOUT};
use super::list::{normalise, PhoneError};
use crate::store::{AttemptOutcome, CampaignRecord, Lead, LeadNext, NewCampaign};
pub use crate::store::{CallingWindow, CampaignState};

/// How calls are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialMode {
    /// The agent sees the lead and starts the call.
    Preview,
    /// One call per available agent.
    Progressive,
    /// Paced by the predictive [`Pacer`](super::pacing::Pacer).
    Predictive,
}

/// Which rule the abandon rate is measured under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbandonRegime {
    /// US FTC TSR: abandoned ÷ live answers per campaign over 30 days.
    UsFtc,
    /// UK Ofcom: per campaign per 24 h, AMD false positives counted.
    UkOfcom,
}

/// The abandon rate the pacer steers to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AbandonTarget {
    /// Fraction (0.03 = 3 %).
    pub rate: f64,
    pub regime: AbandonRegime,
}

impl Default for AbandonTarget {
    fn default() -> Self {
        AbandonTarget {
            rate: ABANDON_LIMIT,
            regime: AbandonRegime::UsFtc,
        }
    }
}

/// Who takes the answered calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentSet {
    /// These agents (by id).
    Agents(Vec<String>),
    /// The agents of this ACD queue.
    Queue(String),
}

/// Retry rule for one outcome: wait `delay_s`, at most `max_attempts` attempts ending so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryRule {
    pub delay_s: u64,
    pub max_attempts: u32,
}

/// Retry rules per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryRules {
    pub busy: RetryRule,
    pub no_answer: RetryRule,
    pub machine: RetryRule,
    pub congestion: RetryRule,
    /// Delay before a lead whose answered call was dropped (safe-harbor) is called again.
    /// Default 72 h: Ofcom's policy statement forbids calling back an abandoned number
    /// within 72 h without a guaranteed live agent.
    pub dropped_delay_s: u64,
}

impl Default for RetryRules {
    fn default() -> Self {
        RetryRules {
            busy: RetryRule {
                delay_s: 600,
                max_attempts: 3,
            },
            no_answer: RetryRule {
                delay_s: 3_600,
                max_attempts: 3,
            },
            machine: RetryRule {
                delay_s: 4 * 3_600,
                max_attempts: 2,
            },
            congestion: RetryRule {
                delay_s: 120,
                max_attempts: 5,
            },
            dropped_delay_s: 72 * 3_600,
        }
    }
}

impl RetryRules {
    fn rule(&self, outcome: AttemptOutcome) -> Option<(&'static str, RetryRule)> {
        match outcome {
            AttemptOutcome::Busy => Some(("busy", self.busy)),
            AttemptOutcome::NoAnswer => Some(("no_answer", self.no_answer)),
            AttemptOutcome::Machine => Some(("machine", self.machine)),
            AttemptOutcome::Congestion => Some(("congestion", self.congestion)),
            _ => None,
        }
    }
}

/// What a disposition code does to the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionEffect {
    /// Finished.
    Done,
    /// Called again at the agent's time.
    Callback,
    /// Finished, number on the campaign's do-not-call list.
    DoNotCall,
}

/// A disposition code agents may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionCode {
    pub code: String,
    pub effect: DispositionEffect,
}

fn default_dispositions() -> Vec<DispositionCode> {
    use DispositionEffect::*;
    [
        ("sale", Done),
        ("not_interested", Done),
        ("callback", Callback),
        ("do_not_call", DoNotCall),
        ("wrong_number", Done),
        ("machine", Done),
    ]
    .into_iter()
    .map(|(code, effect)| DispositionCode {
        code: code.to_owned(),
        effect,
    })
    .collect()
}

/// When a campaign may run (unix ms; open ends are unbounded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub starts_at_ms: Option<i64>,
    pub stops_at_ms: Option<i64>,
}

impl Schedule {
    /// Whether the campaign may dial at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.starts_at_ms.is_none_or(|s| now_ms >= s) && self.stops_at_ms.is_none_or(|e| now_ms < e)
    }
}

/// A campaign's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub name: String,
    /// The trunk (carrier) outbound calls go through.
    pub trunk: String,
    /// Caller id presented, E.164.
    pub caller_id: String,
    pub agents: AgentSet,
    pub dial_mode: DialMode,
    #[serde(default)]
    pub abandon: AbandonTarget,
    /// Ring-no-answer timeout, ≥ 15 s.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_s: u32,
    /// Lead-local calling hours.
    #[serde(default)]
    pub window: CallingWindow,
    #[serde(default)]
    pub retry: RetryRules,
    /// Attempts per lead, all outcomes together.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_state")]
    pub state: CampaignState,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default = "default_dispositions")]
    pub dispositions: Vec<DispositionCode>,
    /// The agent takes no new call until the last one's disposition is saved.
    #[serde(default = "yes")]
    pub disposition_required: bool,
    /// Played to a live person no agent reached within 2 s (names the seller and a
    /// callback number); a prompt name from `[media] prompts_dir`.
    #[serde(default = "default_safe_harbor")]
    pub safe_harbor_prompt: String,
    /// The text the agent desktop shows during the call.
    #[serde(default)]
    pub script: String,
    /// Answering-machine detection on every answer (none: every answer is a person).
    #[serde(default)]
    pub amd: Option<AmdSettings>,
    /// Preview mode: seconds an offered lead waits for the agent's Dial or Skip before
    /// the call is placed anyway (none: it waits for the agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_timeout_s: Option<u32>,
}

/// Answering-machine detection for a campaign's calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmdSettings {
    /// The detector's parameters (those of Asterisk's `AMD()`). Default: VICIdial's
    /// settings, which on our synthetic greetings hang up on far fewer people than
    /// `amd.conf`'s (16 % against 40 %, BENCHMARKS.md "AMD accuracy"): a person taken for
    /// a machine is an abandoned call under Ofcom's rules.
    #[serde(default = "AmdConfig::vicidial")]
    pub config: AmdConfig,
    /// A prompt left on the machine after its beep; none: hang up at once.
    #[serde(default)]
    pub message: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_safe_harbor() -> String {
    "safe-harbor".to_owned()
}

fn default_ring_timeout() -> u32 {
    20
}
fn default_max_attempts() -> u32 {
    6
}
fn default_state() -> CampaignState {
    CampaignState::Draft
}

/// Ring timeouts above this are refused (a carrier gives up long before).
pub const MAX_RING_TIMEOUT_S: u32 = 120;
/// Preview timeouts outside these bounds are refused (the agent needs time to read).
pub const MIN_PREVIEW_TIMEOUT_S: u32 = 5;
pub const MAX_PREVIEW_TIMEOUT_S: u32 = 3_600;
/// Attempts per lead above this are refused.
pub const MAX_ATTEMPTS: u32 = 100;

/// One thing wrong with a definition; [`CampaignError::field`] names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CampaignError {
    #[error("name: must not be empty")]
    EmptyName,
    #[error("trunk: must not be empty")]
    EmptyTrunk,
    #[error("caller_id: {0}")]
    CallerId(PhoneError),
    #[error("agents: names no agent and no queue")]
    NoAgents,
    #[error("abandon.rate: {0} must be above 0 and at most {ABANDON_LIMIT} (3 %)")]
    AbandonRate(f64),
    #[error(
        "ring_timeout_s: {0} s is outside 15–{MAX_RING_TIMEOUT_S} s (15 s is the legal minimum)"
    )]
    RingTimeout(u32),
    #[error(
        "window: opens at minute {open} and closes at minute {close}; need open < close ≤ 1440"
    )]
    Window { open: u16, close: u16 },
    #[error(
        "window: {open}–{close} (minutes) leaves 08:00–21:00 lead-local, unlawful under us_ftc"
    )]
    WindowOutsideUsHours { open: u16, close: u16 },
    #[error("max_attempts: {0} is outside 1–{MAX_ATTEMPTS}")]
    MaxAttempts(u32),
    #[error("retry.{0}.max_attempts: must be at least 1")]
    RetryMax(&'static str),
    #[error("retry.{0}.delay_s: must be at least 60 s")]
    RetryDelay(&'static str),
    #[error("schedule: stops_at_ms is not after starts_at_ms")]
    Schedule,
    #[error("dispositions: code {0:?} is empty or repeated")]
    DispositionCode(String),
    #[error("state: cannot go from {from:?} to {to:?}")]
    Transition {
        from: CampaignState,
        to: CampaignState,
    },
    #[error("dispositions: unknown code {0:?}")]
    UnknownDisposition(String),
    #[error("callback_at: a callback disposition needs a time in the future")]
    CallbackTime,
    #[error("amd.config: {0}")]
    Amd(AmdConfigError),
    #[error(
        "preview_timeout_s: {0} s is outside {MIN_PREVIEW_TIMEOUT_S}–{MAX_PREVIEW_TIMEOUT_S} s"
    )]
    PreviewTimeout(u32),
    #[error(
        "amd: under uk_ofcom every person the detector takes for a machine is an abandoned call; \
         it takes {:.1} % of people for machines (BENCHMARKS.md \"AMD accuracy\"), over the 3 % \
         limit before any dialing: turn AMD off or use us_ftc",
        AMD_FALSE_POSITIVE_RATE * 100.0
    )]
    AmdUnderOfcom,
}

impl CampaignError {
    /// The offending field's path.
    pub fn field(&self) -> &'static str {
        match self {
            CampaignError::EmptyName => "name",
            CampaignError::EmptyTrunk => "trunk",
            CampaignError::CallerId(_) => "caller_id",
            CampaignError::NoAgents => "agents",
            CampaignError::AbandonRate(_) => "abandon.rate",
            CampaignError::RingTimeout(_) => "ring_timeout_s",
            CampaignError::Window { .. } | CampaignError::WindowOutsideUsHours { .. } => "window",
            CampaignError::MaxAttempts(_) => "max_attempts",
            CampaignError::RetryMax(o) | CampaignError::RetryDelay(o) => match *o {
                "busy" => "retry.busy",
                "no_answer" => "retry.no_answer",
                "machine" => "retry.machine",
                "congestion" => "retry.congestion",
                _ => "retry",
            },
            CampaignError::Schedule => "schedule",
            CampaignError::DispositionCode(_) | CampaignError::UnknownDisposition(_) => {
                "dispositions"
            }
            CampaignError::Transition { .. } => "state",
            CampaignError::CallbackTime => "callback_at",
            CampaignError::Amd(_) => "amd.config",
            CampaignError::PreviewTimeout(_) => "preview_timeout_s",
            CampaignError::AmdUnderOfcom => "amd",
        }
    }
}

/// Every problem of a definition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid campaign: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidCampaign(pub Vec<CampaignError>);

/// Whether a campaign may move from `from` to `to`.
pub fn check_transition(from: CampaignState, to: CampaignState) -> Result<(), CampaignError> {
    use CampaignState::*;
    match (from, to) {
        (Draft, Running) | (Running, Paused) | (Paused, Running) => Ok(()),
        (Draft | Running | Paused, Stopped) => Ok(()),
        _ => Err(CampaignError::Transition { from, to }),
    }
}

impl Campaign {
    /// A definition with every default: 3 % FTC target, 20 s ring timeout, 08:00–21:00,
    /// default retry rules, 6 attempts, draft.
    pub fn new(name: &str, trunk: &str, caller_id: &str, agents: AgentSet, mode: DialMode) -> Self {
        Campaign {
            name: name.to_owned(),
            trunk: trunk.to_owned(),
            caller_id: caller_id.to_owned(),
            agents,
            dial_mode: mode,
            abandon: AbandonTarget::default(),
            ring_timeout_s: default_ring_timeout(),
            window: CallingWindow::default(),
            retry: RetryRules::default(),
            max_attempts: default_max_attempts(),
            state: CampaignState::Draft,
            schedule: Schedule::default(),
            dispositions: default_dispositions(),
            disposition_required: true,
            safe_harbor_prompt: default_safe_harbor(),
            script: String::new(),
            amd: None,
            preview_timeout_s: None,
        }
    }

    /// Checks every field; returns all problems found.
    pub fn validate(&self) -> Result<(), InvalidCampaign> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(CampaignError::EmptyName);
        }
        if self.trunk.trim().is_empty() {
            errors.push(CampaignError::EmptyTrunk);
        }
        if let Err(e) = normalise(&self.caller_id, None) {
            errors.push(CampaignError::CallerId(e));
        }
        let no_agents = match &self.agents {
            AgentSet::Agents(list) => list.iter().all(|a| a.trim().is_empty()),
            AgentSet::Queue(queue) => queue.trim().is_empty(),
        };
        if no_agents {
            errors.push(CampaignError::NoAgents);
        }
        let rate = self.abandon.rate;
        if !(rate > 0.0 && rate <= ABANDON_LIMIT) {
            errors.push(CampaignError::AbandonRate(rate));
        }
        let min_ring = (MIN_RING_TIMEOUT.0 / 1000) as u32;
        if !(min_ring..=MAX_RING_TIMEOUT_S).contains(&self.ring_timeout_s) {
            errors.push(CampaignError::RingTimeout(self.ring_timeout_s));
        }
        let (open, close) = (self.window.open_min, self.window.close_min);
        if open >= close || close > 24 * 60 {
            errors.push(CampaignError::Window { open, close });
        } else if self.abandon.regime == AbandonRegime::UsFtc && (open < 8 * 60 || close > 21 * 60)
        {
            errors.push(CampaignError::WindowOutsideUsHours { open, close });
        }
        if let Some(t) = self.preview_timeout_s {
            if !(MIN_PREVIEW_TIMEOUT_S..=MAX_PREVIEW_TIMEOUT_S).contains(&t) {
                errors.push(CampaignError::PreviewTimeout(t));
            }
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            errors.push(CampaignError::MaxAttempts(self.max_attempts));
        }
        for outcome in [
            AttemptOutcome::Busy,
            AttemptOutcome::NoAnswer,
            AttemptOutcome::Machine,
            AttemptOutcome::Congestion,
        ] {
            if let Some((name, rule)) = self.retry.rule(outcome) {
                if rule.max_attempts == 0 {
                    errors.push(CampaignError::RetryMax(name));
                }
                if rule.delay_s < 60 {
                    errors.push(CampaignError::RetryDelay(name));
                }
            }
        }
        if let (Some(start), Some(stop)) = (self.schedule.starts_at_ms, self.schedule.stops_at_ms) {
            if stop <= start {
                errors.push(CampaignError::Schedule);
            }
        }
        if let Some(Err(e)) = self.amd.as_ref().map(|a| a.config.validate()) {
            errors.push(CampaignError::Amd(e));
        }
        if self.amd.is_some() && self.abandon.regime == AbandonRegime::UkOfcom {
            errors.push(CampaignError::AmdUnderOfcom);
        }
        let mut codes = std::collections::HashSet::new();
        for d in &self.dispositions {
            if d.code.trim().is_empty() || !codes.insert(d.code.as_str()) {
                errors.push(CampaignError::DispositionCode(d.code.clone()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidCampaign(errors))
        }
    }

    /// What the store writes: validated first.
    pub fn to_new(&self) -> Result<NewCampaign, InvalidCampaign> {
        self.validate()?;
        Ok(NewCampaign {
            name: self.name.clone(),
            state: self.state,
            max_attempts: self.max_attempts,
            window: self.window,
            settings: serde_json::to_value(self).unwrap_or(serde_json::Value::Null),
        })
    }

    /// The definition back from the store (its columns win over the JSON copy).
    pub fn from_record(record: &CampaignRecord) -> Result<Campaign, serde_json::Error> {
        let mut campaign: Campaign = serde_json::from_value(record.settings.clone())?;
        campaign.name = record.name.clone();
        campaign.state = record.state;
        campaign.max_attempts = record.max_attempts;
        campaign.window = record.window;
        Ok(campaign)
    }

    /// The lead's next state after an attempt that ended at `now_ms` with `outcome`.
    ///
    /// Answered (bridged) and invalid numbers are done (a disposition may reschedule an
    /// answered lead); busy, no answer, machine and congestion follow their retry rule until
    /// that outcome's cap or the lead's attempt cap is reached; a dropped call waits
    /// `dropped_delay_s`; an interrupted one is due again at once.
    pub fn after_attempt(&self, lead: &Lead, outcome: AttemptOutcome, now_ms: i64) -> LeadNext {
        let attempts = lead.attempts.saturating_add(1);
        let out_of_attempts = attempts >= self.max_attempts;
        let delay_s = match outcome {
            AttemptOutcome::Answered | AttemptOutcome::Invalid => return LeadNext::Done,
            AttemptOutcome::Interrupted => 0,
            AttemptOutcome::Dropped => self.retry.dropped_delay_s,
            _ => match self.retry.rule(outcome) {
                Some((_, rule))
                    if lead.counts.get(outcome).saturating_add(1) < rule.max_attempts =>
                {
                    rule.delay_s
                }
                _ => return LeadNext::Done,
            },
        };
        if out_of_attempts {
            return LeadNext::Done;
        }
        let delay_ms = i64::try_from(delay_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        LeadNext::Retry {
            at_ms: now_ms.saturating_add(delay_ms),
        }
    }

    /// The lead's next state after an agent's disposition `code` at `now_ms`.
    pub fn after_disposition(
        &self,
        code: &str,
        callback_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<LeadNext, CampaignError> {
        let effect = self
            .dispositions
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.effect)
            .ok_or_else(|| CampaignError::UnknownDisposition(code.to_owned()))?;
        Ok(match effect {
            DispositionEffect::Done => LeadNext::Done,
            DispositionEffect::DoNotCall => LeadNext::DoNotCall { global: false },
            DispositionEffect::Callback => match callback_at_ms {
                Some(at_ms) if at_ms > now_ms => LeadNext::Callback { at_ms },
                _ => return Err(CampaignError::CallbackTime),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CampaignId, LeadId, LeadStatus, ListId, OutcomeCounts};

    fn campaign() -> Campaign {
        Campaign::new(
            "spring",
            "carrier-a",
            "+14155552671",
            AgentSet::Queue("sales".into()),
            DialMode::Predictive,
        )
    }

    fn lead(attempts: u32, counts: OutcomeCounts) -> Lead {
        Lead {
            id: LeadId::from("l"),
            campaign: CampaignId::from("c"),
            list: ListId::from("x"),
            seq: 2,
            phone: "+14155552671".into(),
            tz: "America/Los_Angeles".into(),
            fields: serde_json::Value::Null,
            priority: 0,
            status: LeadStatus::Dialing,
            callback: false,
            next_at_ms: 0,
            attempts,
            counts,
            last_outcome: None,
            claimed_by: None,
        }
    }

    #[test]
    fn defaults_are_lawful_and_valid() {
        let c = campaign();
        c.validate().expect("valid");
        assert_eq!(c.ring_timeout_s, 20);
        assert_eq!(c.abandon.rate, 0.03);
        assert_eq!(
            c.window,
            CallingWindow {
                open_min: 480,
                close_min: 1260
            }
        );
        // Serde defaults give the same campaign from a minimal definition.
        let minimal: Campaign = serde_json::from_value(serde_json::json!({
            "name": "spring", "trunk": "carrier-a", "caller_id": "+14155552671",
            "agents": {"queue": "sales"}, "dial_mode": "predictive"
        }))
        .expect("minimal JSON");
        assert_eq!(minimal, c);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut c = campaign();
        c.name = " ".into();
        c.caller_id = "not a number".into();
        c.agents = AgentSet::Agents(vec![]);
        c.abandon.rate = 0.05;
        c.ring_timeout_s = 10;
        c.window = CallingWindow {
            open_min: 7 * 60,
            close_min: 22 * 60,
        };
        c.max_attempts = 0;
        c.retry.busy.delay_s = 5;
        c.retry.machine.max_attempts = 0;
        c.schedule = Schedule {
            starts_at_ms: Some(10),
            stops_at_ms: Some(5),
        };
        c.dispositions.push(DispositionCode {
            code: "sale".into(),
            effect: DispositionEffect::Done,
        });
        let errors = c.validate().expect_err("invalid").0;
        let fields: Vec<&str> = errors.iter().map(CampaignError::field).collect();
        assert_eq!(
            fields,
            [
                "name",
                "caller_id",
                "agents",
                "abandon.rate",
                "ring_timeout_s",
                "window",
                "max_attempts",
                "retry.busy",
                "retry.machine",
                "schedule",
                "dispositions"
            ]
        );
        // Ofcom has no statutory hours: the same window passes there.
        c = campaign();
        c.abandon.regime = AbandonRegime::UkOfcom;
        c.window = CallingWindow {
            open_min: 7 * 60,
            close_min: 22 * 60,
        };
        c.validate().expect("valid under Ofcom");
        // AMD under Ofcom: its false positives alone are over the limit.
        c.amd = Some(AmdSettings {
            config: AmdConfig::vicidial(),
            message: None,
        });
        let errors = c.validate().expect_err("AMD under Ofcom").0;
        assert_eq!(errors, vec![CampaignError::AmdUnderOfcom]);
        assert_eq!(errors[0].field(), "amd");
        assert!(errors[0].to_string().contains("15.9 %"), "{}", errors[0]);
        c.abandon.regime = AbandonRegime::UsFtc;
        c.window = CallingWindow::default();
        c.validate()
            .expect("AMD under the FTC: machines are not abandons");
        c.abandon.regime = AbandonRegime::UkOfcom;
        c.amd = None;
        c.window = CallingWindow {
            open_min: 7 * 60,
            close_min: 22 * 60,
        };
        c.window = CallingWindow {
            open_min: 600,
            close_min: 600,
        };
        assert_eq!(
            c.validate().expect_err("empty window").0[0].field(),
            "window"
        );
    }

    #[test]
    fn a_preview_timeout_is_optional_and_bounded() {
        let mut c = campaign();
        c.validate().expect("none: the offer waits for the agent");
        c.preview_timeout_s = Some(30);
        c.validate().expect("30 s");
        let new = c.to_new().expect("valid");
        let back = Campaign::from_record(&CampaignRecord {
            id: CampaignId::from("c"),
            name: new.name.clone(),
            state: new.state,
            max_attempts: new.max_attempts,
            window: new.window,
            settings: new.settings,
            created_at_ms: 0,
            updated_at_ms: 0,
        })
        .expect("stored and read back");
        assert_eq!(back.preview_timeout_s, Some(30));
        for bad in [0, 4, 3_601] {
            c.preview_timeout_s = Some(bad);
            let e = c.validate().expect_err("out of bounds");
            assert_eq!(e.0[0].field(), "preview_timeout_s", "{bad}");
        }
    }

    #[test]
    fn ring_timeout_floor_is_fifteen_seconds() {
        let mut c = campaign();
        c.ring_timeout_s = 15;
        c.validate().expect("15 s is lawful");
        c.ring_timeout_s = 14;
        assert!(c.validate().is_err());
    }

    #[test]
    fn transitions() {
        use CampaignState::*;
        assert!(check_transition(Draft, Running).is_ok());
        assert!(check_transition(Running, Paused).is_ok());
        assert!(check_transition(Paused, Running).is_ok());
        assert!(check_transition(Paused, Stopped).is_ok());
        assert!(check_transition(Stopped, Running).is_err());
        assert!(check_transition(Draft, Paused).is_err());
    }

    #[test]
    fn retries_follow_the_rules_and_caps() {
        let c = campaign();
        let now = 1_000_000;
        // First busy: retry in 10 min.
        assert_eq!(
            c.after_attempt(
                &lead(0, OutcomeCounts::default()),
                AttemptOutcome::Busy,
                now
            ),
            LeadNext::Retry {
                at_ms: now + 600_000
            }
        );
        // Third busy reaches the busy cap of 3.
        let two_busy = OutcomeCounts {
            busy: 2,
            ..Default::default()
        };
        assert_eq!(
            c.after_attempt(&lead(2, two_busy), AttemptOutcome::Busy, now),
            LeadNext::Done
        );
        // Other outcomes still retry after two busies.
        assert_eq!(
            c.after_attempt(&lead(2, two_busy), AttemptOutcome::NoAnswer, now),
            LeadNext::Retry {
                at_ms: now + 3_600_000
            }
        );
        // The lead's cap (6) wins over the outcome's.
        assert_eq!(
            c.after_attempt(
                &lead(5, OutcomeCounts::default()),
                AttemptOutcome::Congestion,
                now
            ),
            LeadNext::Done
        );
        assert_eq!(
            c.after_attempt(&lead(0, two_busy), AttemptOutcome::Answered, now),
            LeadNext::Done
        );
        assert_eq!(
            c.after_attempt(&lead(0, two_busy), AttemptOutcome::Invalid, now),
            LeadNext::Done
        );
        assert_eq!(
            c.after_attempt(&lead(0, two_busy), AttemptOutcome::Dropped, now),
            LeadNext::Retry {
                at_ms: now + 72 * 3_600_000
            }
        );
    }

    #[test]
    fn dispositions_map_to_lead_states() {
        let c = campaign();
        assert_eq!(c.after_disposition("sale", None, 5), Ok(LeadNext::Done));
        assert_eq!(
            c.after_disposition("do_not_call", None, 5),
            Ok(LeadNext::DoNotCall { global: false })
        );
        assert_eq!(
            c.after_disposition("callback", Some(10), 5),
            Ok(LeadNext::Callback { at_ms: 10 })
        );
        assert_eq!(
            c.after_disposition("callback", Some(5), 5),
            Err(CampaignError::CallbackTime)
        );
        assert!(matches!(
            c.after_disposition("nope", None, 5),
            Err(CampaignError::UnknownDisposition(_))
        ));
    }

    #[test]
    fn record_round_trip_keeps_the_definition() {
        let mut c = campaign();
        c.retry.busy.delay_s = 900;
        let new = c.to_new().expect("valid");
        let record = CampaignRecord {
            id: CampaignId::from("c"),
            name: new.name.clone(),
            state: CampaignState::Running,
            max_attempts: new.max_attempts,
            window: new.window,
            settings: new.settings.clone(),
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let back = Campaign::from_record(&record).expect("decode");
        assert_eq!(back.retry.busy.delay_s, 900);
        assert_eq!(back.state, CampaignState::Running);
    }

    #[test]
    fn schedule_bounds() {
        let s = Schedule {
            starts_at_ms: Some(10),
            stops_at_ms: Some(20),
        };
        assert!(!s.is_active(9) && s.is_active(10) && s.is_active(19) && !s.is_active(20));
        assert!(Schedule::default().is_active(i64::MIN));
    }
}
