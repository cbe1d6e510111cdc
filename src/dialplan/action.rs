//! Dialplan actions (Asterisk "applications"): as written in TOML, and as handed to the
//! call in a [`Route`](super::Route), with every `${...}` expanded.
//!
//! In TOML an action is either a bare name (`"answer"`, `"record_stop"`) or a one-key
//! inline table whose key is the action: `{ dial = { endpoint = "${EXTEN}", timeout = 30 } }`.
//! See `dialplans/demo.toml` for each one in use.
//!
//! Runtime contract of the actions the call executes in order:
//! * `dial` rings its targets (`parallel`: all at once for `timeout` s; `sequence`: one
//!   after the other, `timeout` s each). When someone answers, the call is bridged and the
//!   route ends when the bridge ends; when nobody answers, the next action runs — that
//!   next action is the fallback (Asterisk's Dial semantics).
//! * `ivr`: play `prompt`, collect up to `max_digits` within `timeout` s, then call
//!   `route()` again with `context = menu.context` and `callee = digits`. On no digits or
//!   no match, play `invalid_prompt` and retry, `attempts` times in all; then route the
//!   extension `on_failure` (default `i`) in `menu.context`.
//! * `collect` stores the digits in a variable at run time; later `${var}` references to
//!   it stay unexpanded in the route for the call to expand (see `template`).
//! * `transfer` re-routes the call to `exten` in `context` when it is reached at run time
//!   (after earlier actions such as an answered `dial` have finished), whereas `goto` is
//!   followed by `route()` itself and never appears in a `Route`.
//! * In `goto`, `transfer` and `ivr`, an omitted `context` means the context the action
//!   is written in (not the including one), so the target can be checked at load.

use serde::{Deserialize, Serialize};

use super::template::TemplateError;

/// Q.850 hangup causes the plan can ask for (the b2bua maps them to SIP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupCause {
    UnallocatedNumber,
    NoRouteDestination,
    NormalClearing,
    UserBusy,
    NoAnswer,
    CallRejected,
    Congestion,
    NormalTemporaryFailure,
}

impl HangupCause {
    /// The Q.850 cause value.
    pub fn q850(self) -> u8 {
        match self {
            HangupCause::UnallocatedNumber => 1,
            HangupCause::NoRouteDestination => 3,
            HangupCause::NormalClearing => 16,
            HangupCause::UserBusy => 17,
            HangupCause::NoAnswer => 19,
            HangupCause::CallRejected => 21,
            HangupCause::Congestion => 34,
            HangupCause::NormalTemporaryFailure => 41,
        }
    }
}

impl std::fmt::Display for HangupCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HangupCause::UnallocatedNumber => "unallocated_number",
            HangupCause::NoRouteDestination => "no_route_destination",
            HangupCause::NormalClearing => "normal_clearing",
            HangupCause::UserBusy => "user_busy",
            HangupCause::NoAnswer => "no_answer",
            HangupCause::CallRejected => "call_rejected",
            HangupCause::Congestion => "congestion",
            HangupCause::NormalTemporaryFailure => "normal_temporary_failure",
        })
    }
}

/// How a ring group rings its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    #[default]
    Parallel,
    Sequence,
}

/// Something `dial` rings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DialTarget {
    /// A registered endpoint (phone, WebRTC agent) by name.
    Endpoint(String),
    /// A carrier trunk by name, with the number to send it (already rewritten).
    Trunk { trunk: String, number: String },
}

/// Agent state changes from star codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentOp {
    Login,
    Logout,
    Pause,
    Unpause,
}

/// An IVR menu; its options are the extensions of `context`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IvrMenu {
    pub context: String,
    pub prompt: String,
    pub invalid_prompt: Option<String>,
    pub timeout_secs: u32,
    pub max_digits: u32,
    pub attempts: u32,
    pub on_failure: String,
}

/// One concrete step of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Answer,
    Playback {
        prompt: String,
    },
    Ivr(IvrMenu),
    Collect {
        var: String,
        prompt: Option<String>,
        max_digits: u32,
        timeout_secs: u32,
        terminator: Option<String>,
    },
    Dial {
        targets: Vec<DialTarget>,
        strategy: RingStrategy,
        timeout_secs: u32,
        caller_id: Option<String>,
    },
    Queue {
        name: String,
        max_wait_secs: Option<u32>,
    },
    QueueAgent {
        op: AgentOp,
        agent: String,
        queue: Option<String>,
        reason: Option<String>,
    },
    RecordStart {
        file: String,
    },
    RecordStop,
    Voicemail {
        mailbox: String,
        greeting: Option<String>,
        max_secs: u32,
    },
    Set {
        var: String,
        value: String,
    },
    /// Followed during evaluation; never in a `Route`.
    Goto {
        context: String,
        exten: String,
    },
    Transfer {
        context: String,
        exten: String,
    },
    Hangup {
        cause: HangupCause,
    },
}

impl Action {
    /// Every string field that may hold `${...}` (names of contexts and variables do not).
    pub(crate) fn templates_mut(&mut self) -> Vec<&mut String> {
        let mut out: Vec<&mut String> = Vec::new();
        match self {
            Action::Answer | Action::RecordStop | Action::Hangup { .. } => {}
            Action::Playback { prompt } => out.push(prompt),
            Action::Ivr(m) => {
                out.push(&mut m.prompt);
                out.extend(m.invalid_prompt.as_mut());
            }
            Action::Collect {
                prompt,
                terminator: _,
                ..
            } => out.extend(prompt.as_mut()),
            Action::Dial {
                targets, caller_id, ..
            } => {
                for t in targets {
                    match t {
                        DialTarget::Endpoint(e) => out.push(e),
                        DialTarget::Trunk { trunk, number } => {
                            out.push(trunk);
                            out.push(number);
                        }
                    }
                }
                out.extend(caller_id.as_mut());
            }
            Action::Queue { name, .. } => out.push(name),
            Action::QueueAgent {
                agent,
                queue,
                reason,
                ..
            } => {
                out.push(agent);
                out.extend(queue.as_mut());
                out.extend(reason.as_mut());
            }
            Action::RecordStart { file } => out.push(file),
            Action::Voicemail {
                mailbox, greeting, ..
            } => {
                out.push(mailbox);
                out.extend(greeting.as_mut());
            }
            Action::Set { value, .. } => out.push(value),
            Action::Goto { exten, .. } | Action::Transfer { exten, .. } => out.push(exten),
        }
        out
    }

    /// Context names this action refers to, for load-time checks.
    pub(crate) fn context_ref(&self) -> Option<&str> {
        match self {
            Action::Ivr(m) => Some(&m.context),
            Action::Goto { context, .. } | Action::Transfer { context, .. } => Some(context),
            _ => None,
        }
    }
}

/// Why an action was rejected at load (besides TOML shape errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum ActionError {
    #[error("unknown action \"{0}\"")]
    Unknown(String),
    #[error("an action is a name or a one-key table such as {{ playback = \"hello\" }}")]
    Shape,
    #[error("dial needs endpoint, endpoints, trunk or trunks")]
    DialNoTarget,
    #[error("dial to a trunk needs number")]
    TrunkNeedsNumber,
    #[error("dial number without trunk")]
    NumberWithoutTrunk,
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("bad variable name \"{0}\"")]
    BadVarName(String),
    #[error("{0}")]
    Template(#[from] TemplateError),
}

/// The action names, for the "unknown action" check before serde sees the value.
pub(crate) const ACTION_NAMES: &[&str] = &[
    "answer",
    "playback",
    "ivr",
    "collect",
    "dial",
    "queue",
    "queue_agent",
    "record_start",
    "record_stop",
    "voicemail",
    "set",
    "goto",
    "transfer",
    "hangup",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIvr {
    context: Option<String>,
    prompt: String,
    invalid_prompt: Option<String>,
    timeout: Option<u32>,
    max_digits: Option<u32>,
    attempts: Option<u32>,
    on_failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCollect {
    var: String,
    prompt: Option<String>,
    max_digits: Option<u32>,
    timeout: Option<u32>,
    terminator: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDial {
    endpoint: Option<String>,
    #[serde(default)]
    endpoints: Vec<String>,
    trunk: Option<String>,
    #[serde(default)]
    trunks: Vec<String>,
    number: Option<String>,
    strategy: Option<RingStrategy>,
    timeout: Option<u32>,
    caller_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    name: String,
    max_wait: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueueAgent {
    op: AgentOp,
    agent: String,
    queue: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVoicemail {
    mailbox: String,
    greeting: Option<String>,
    max_secs: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJump {
    context: Option<String>,
    exten: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSet {
    var: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecord {
    file: String,
}

/// An action as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawAction {
    Answer,
    Playback(String),
    Ivr(RawIvr),
    Collect(RawCollect),
    Dial(RawDial),
    Queue(RawQueue),
    QueueAgent(RawQueueAgent),
    RecordStart(RawRecord),
    RecordStop,
    Voicemail(RawVoicemail),
    Set(RawSet),
    Goto(RawJump),
    Transfer(RawJump),
    Hangup(HangupCause),
}

fn var_name(name: String) -> Result<String, ActionError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(ActionError::BadVarName(name))
    }
}

fn at_least_one(v: u32, what: &'static str) -> Result<u32, ActionError> {
    if v == 0 {
        Err(ActionError::Zero(what))
    } else {
        Ok(v)
    }
}

impl RawAction {
    /// Checks the fields; `here` is the context the action is written in.
    pub(crate) fn validate(self, here: &str) -> Result<Action, ActionError> {
        let ctx = |c: Option<String>| c.unwrap_or_else(|| here.to_string());
        let action = match self {
            RawAction::Answer => Action::Answer,
            RawAction::Playback(prompt) => Action::Playback { prompt },
            RawAction::Ivr(m) => Action::Ivr(IvrMenu {
                context: ctx(m.context),
                prompt: m.prompt,
                invalid_prompt: m.invalid_prompt,
                timeout_secs: at_least_one(m.timeout.unwrap_or(5), "timeout")?,
                max_digits: at_least_one(m.max_digits.unwrap_or(1), "max_digits")?,
                attempts: at_least_one(m.attempts.unwrap_or(3), "attempts")?,
                on_failure: m.on_failure.unwrap_or_else(|| "i".to_string()),
            }),
            RawAction::Collect(c) => Action::Collect {
                var: var_name(c.var)?,
                prompt: c.prompt,
                max_digits: at_least_one(c.max_digits.unwrap_or(20), "max_digits")?,
                timeout_secs: at_least_one(c.timeout.unwrap_or(5), "timeout")?,
                terminator: c.terminator,
            },
            RawAction::Dial(d) => d.validate()?,
            RawAction::Queue(q) => Action::Queue {
                name: q.name,
                max_wait_secs: q.max_wait,
            },
            RawAction::QueueAgent(a) => Action::QueueAgent {
                op: a.op,
                agent: a.agent,
                queue: a.queue,
                reason: a.reason,
            },
            RawAction::RecordStart(r) => Action::RecordStart { file: r.file },
            RawAction::RecordStop => Action::RecordStop,
            RawAction::Voicemail(v) => Action::Voicemail {
                mailbox: v.mailbox,
                greeting: v.greeting,
                max_secs: at_least_one(v.max_secs.unwrap_or(120), "max_secs")?,
            },
            RawAction::Set(s) => Action::Set {
                var: var_name(s.var)?,
                value: s.value,
            },
            RawAction::Goto(j) => Action::Goto {
                context: ctx(j.context),
                exten: j.exten,
            },
            RawAction::Transfer(j) => Action::Transfer {
                context: ctx(j.context),
                exten: j.exten,
            },
            RawAction::Hangup(cause) => Action::Hangup { cause },
        };
        let mut action = action;
        for t in action.templates_mut() {
            super::template::Template::parse(t)?;
        }
        Ok(action)
    }
}

impl RawDial {
    fn validate(self) -> Result<Action, ActionError> {
        let mut targets: Vec<DialTarget> = Vec::new();
        targets.extend(
            self.endpoint
                .into_iter()
                .chain(self.endpoints)
                .map(DialTarget::Endpoint),
        );
        let trunks: Vec<String> = self.trunk.into_iter().chain(self.trunks).collect();
        match (&self.number, trunks.is_empty()) {
            (None, false) => return Err(ActionError::TrunkNeedsNumber),
            (Some(_), true) => return Err(ActionError::NumberWithoutTrunk),
            (Some(number), false) => {
                targets.extend(trunks.into_iter().map(|trunk| DialTarget::Trunk {
                    trunk,
                    number: number.clone(),
                }))
            }
            (None, true) => {}
        }
        if targets.is_empty() {
            return Err(ActionError::DialNoTarget);
        }
        Ok(Action::Dial {
            targets,
            strategy: self.strategy.unwrap_or_default(),
            timeout_secs: at_least_one(self.timeout.unwrap_or(30), "timeout")?,
            caller_id: self.caller_id,
        })
    }
}
