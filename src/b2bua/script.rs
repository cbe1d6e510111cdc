//! The call's program: the dialplan actions of its route, executed in order (Asterisk's
//! "applications"), with the call's variables and what it is waiting for.
//!
//! ```text
//!  next action ─► answer | playback | ivr | collect | dial | set | transfer | hangup …
//!      ▲               │ waits for: PlayDone, digits (DTMF) or their timeout,
//!      └───────────────┘            the dial's outcome (answer → bridged; failure → next action)
//! ```
//!
//! Semantics (the contract in `dialplan::action`): a `dial` that nobody answers falls
//! through to the next action (the fallback); an answered `dial` bridges and the call ends
//! with the bridge. A menu routes its digits in its context; no digits or an unknown
//! option plays the invalid prompt and retries, `attempts` times, then routes
//! `on_failure`. When the actions run out, an answered call is hung up and an unanswered
//! one gets the last dial's failure status (480 if nothing was dialled).
//!
//! This file holds the program state ([`Script`]); `call_app.rs` carries its actions out
//! on the call.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::dialplan::template::{Lookup, Template};
use crate::dialplan::{Action, HangupCause, IvrMenu};

/// What the program waits for before its next action.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Wait {
    /// Ready: run the next action.
    Nothing,
    /// A prompt to finish playing.
    Play(u64),
    /// Digits from the caller.
    Input(Input),
    /// The outcome of a `dial`.
    Dial,
    /// The switch called A and waits for the answer.
    Originating,
    /// Waiting in an ACD queue for an agent.
    Queue,
    /// Answering-machine detection on the greeting of a call the switch placed.
    Amd,
    /// A machine answered: its beep, to leave the message after.
    Beep,
    /// Greeting, beep and message of a `voicemail`.
    Voicemail(super::call_voicemail::Voicemail),
    /// Bridged: the call ends when either side hangs up.
    Bridged,
    /// The call is over.
    Done,
}

/// What the digits are for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum InputFor {
    Menu(IvrMenu),
    Collect {
        var: String,
        terminator: Option<char>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Input {
    pub purpose: InputFor,
    pub max_digits: usize,
    /// Wait for the first digit after the prompt, and between digits.
    pub timeout: Duration,
    /// The prompt still playing (the first digit interrupts it).
    pub playing: Option<u64>,
    pub digits: String,
}

impl Input {
    /// Whether `digits` ends the input.
    pub fn complete(&self) -> bool {
        let terminated = match &self.purpose {
            InputFor::Collect {
                terminator: Some(t),
                ..
            } => self.digits.ends_with(*t),
            _ => false,
        };
        terminated || self.digits.len() >= self.max_digits
    }

    /// The digits without a terminator.
    pub fn value(&self) -> String {
        match &self.purpose {
            InputFor::Collect {
                terminator: Some(t),
                ..
            } => self.digits.trim_end_matches(*t).to_string(),
            _ => self.digits.clone(),
        }
    }
}

/// The program of one call.
#[derive(Debug)]
pub(super) struct Script {
    actions: VecDeque<Action>,
    pub vars: BTreeMap<String, String>,
    pub caller: String,
    pub callee: String,
    pub context: String,
    pub wait: Wait,
    /// When the current wait times out (digit timeout, dial timeout).
    pub deadline: Option<Instant>,
    /// The dialplan the call started with (mid-call routing uses it).
    pub plan: Option<super::route::PlanPin>,
    /// How to call the caller back (queue callbacks).
    pub reach_back: Option<crate::dialplan::DialTarget>,
    /// The status of the last failed dial and whose doing it was (the caller's final
    /// response if nothing follows).
    pub last_failure: Option<(u16, crate::store::HangupSide)>,
}

impl Script {
    pub fn new(
        actions: Vec<Action>,
        vars: BTreeMap<String, String>,
        context: &str,
        caller: &str,
        callee: &str,
    ) -> Script {
        Script {
            actions: actions.into(),
            vars,
            caller: caller.to_string(),
            callee: callee.to_string(),
            context: context.to_string(),
            wait: Wait::Nothing,
            deadline: None,
            last_failure: None,
            plan: None,
            reach_back: None,
        }
    }

    /// The next action to run, if the program is ready for one.
    pub fn next(&mut self) -> Option<Action> {
        if self.wait != Wait::Nothing {
            return None;
        }
        self.actions.pop_front()
    }

    /// Whether the program is ready and has nothing left.
    pub fn exhausted(&self) -> bool {
        self.wait == Wait::Nothing && self.actions.is_empty()
    }

    /// A new route replaces what was left (IVR choice, transfer).
    pub fn replace(
        &mut self,
        context: &str,
        callee: &str,
        actions: Vec<Action>,
        vars: BTreeMap<String, String>,
    ) {
        self.actions = actions.into();
        self.vars.extend(vars);
        self.context = context.to_string();
        self.callee = callee.to_string();
        self.wait = Wait::Nothing;
        self.deadline = None;
    }

    /// Runs `actions` before what was left.
    pub fn push_front(&mut self, actions: Vec<Action>) {
        for a in actions.into_iter().rev() {
            self.actions.push_front(a);
        }
    }

    /// Stops the program (the call is over).
    pub fn stop(&mut self) {
        self.actions.clear();
        self.wait = Wait::Done;
        self.deadline = None;
    }

    /// Expands the `${var}` references the router left for run time (variables filled
    /// by `collect`), with the call's variables.
    pub fn expand(&self, text: &str) -> String {
        if !text.contains("${") {
            return text.to_string();
        }
        let Ok(t) = Template::parse(text) else {
            return text.to_string();
        };
        t.expand(|name| match name {
            "EXTEN" => Lookup::Value(self.callee.clone()),
            "CONTEXT" => Lookup::Value(self.context.clone()),
            "CALLERID(num)" | "caller" => Lookup::Value(self.caller.clone()),
            n => self
                .vars
                .get(n)
                .map_or(Lookup::Unknown, |v| Lookup::Value(v.clone())),
        })
    }
}

/// The SIP status a dialplan hangup cause maps to (RFC 3398 §8.2.6, Q.850 → SIP).
pub fn status_for_cause(cause: HangupCause) -> (u16, &'static str) {
    match cause {
        HangupCause::UnallocatedNumber => (404, "Not Found"),
        HangupCause::NoRouteDestination => (404, "Not Found (no route)"),
        HangupCause::NormalClearing => (480, "Temporarily Unavailable"),
        HangupCause::UserBusy => (486, "Busy Here"),
        HangupCause::NoAnswer => (480, "Temporarily Unavailable (no answer)"),
        HangupCause::CallRejected => (403, "Forbidden"),
        HangupCause::Congestion => (503, "Service Unavailable"),
        HangupCause::NormalTemporaryFailure => (503, "Service Unavailable"),
    }
}

/// The CDR cause name of a dialplan hangup cause.
pub fn cause_name(cause: HangupCause) -> String {
    serde_json::to_value(cause)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "normal_clearing".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Input {
        Input {
            purpose: InputFor::Collect {
                var: "pin".into(),
                terminator: Some('#'),
            },
            max_digits: 4,
            timeout: Duration::from_secs(5),
            playing: None,
            digits: String::new(),
        }
    }

    #[test]
    fn input_completes_on_terminator_or_length() {
        let mut i = menu();
        i.digits = "12#".into();
        assert!(i.complete());
        assert_eq!(i.value(), "12");
        i.digits = "123".into();
        assert!(!i.complete());
        i.digits = "1234".into();
        assert!(i.complete());
    }

    #[test]
    fn runtime_variables_expand() {
        let mut s = Script::new(vec![], BTreeMap::new(), "ivr", "1001", "500");
        s.vars.insert("pin".into(), "4321".into());
        assert_eq!(
            s.expand("acct-${pin}-${EXTEN}-${caller}"),
            "acct-4321-500-1001"
        );
        assert_eq!(s.expand("plain"), "plain");
    }

    #[test]
    fn waits_block_the_next_action() {
        let mut s = Script::new(
            vec![Action::Answer, Action::RecordStop],
            BTreeMap::new(),
            "c",
            "a",
            "b",
        );
        assert_eq!(s.next(), Some(Action::Answer));
        s.wait = Wait::Play(1);
        assert_eq!(s.next(), None);
        s.wait = Wait::Nothing;
        assert_eq!(s.next(), Some(Action::RecordStop));
        assert!(s.exhausted());
    }
}
