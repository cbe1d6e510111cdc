//! Calls the switch places itself: the API's click-to-call, the dialer's attempts, queue
//! callbacks. The first party is rung with our own offer; when it answers, the given
//! actions run (dial the second party, queue, play), exactly as for a call the switch
//! answered. Outcomes come back as `originate.answered` / `originate.failed` events
//! carrying the originator's tag.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::b2bua::route::{Action, Resolver};
use crate::b2bua::{AmdPlan, CallKey, Now, Originate, SitWatch};
use crate::dialplan::DialTarget;
use crate::sip::message::NameAddr;

use super::targets::sip_uri;
use super::Switch;

/// What to place.
#[derive(Debug, Clone)]
pub struct OriginateRequest {
    /// Rung first: an endpoint (its first registered contact) or a trunk and number.
    pub first: DialTarget,
    /// The number presented to the first party.
    pub caller_id: String,
    pub caller_name: Option<String>,
    /// Context and `${EXTEN}` of the actions that run on answer.
    pub context: String,
    pub exten: String,
    pub actions: Vec<Action>,
    pub vars: BTreeMap<String, String>,
    pub ring_timeout: Duration,
    /// Echoed in the outcome events.
    pub tag: String,
    /// Whose early media is listened to for a special information tone: the first party's
    /// (heard: the call is given up and reported failed with 404, `"sit": true`) or the
    /// dialled party's (heard: that party is given up and recorded with 404).
    pub detect_sit: SitWatch,
    /// Tell a person from a machine when the first party answers (see [`AmdPlan`]).
    pub amd: Option<AmdPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    #[error("{0} has no registered contact or no such trunk")]
    Unreachable(String),
    #[error("the switch is draining or at max_calls")]
    Overloaded,
}

impl Switch {
    /// Places a call; its outcome arrives as events.
    pub fn originate(
        &mut self,
        now: Now,
        req: OriginateRequest,
    ) -> Result<CallKey, OriginateError> {
        if self.draining || self.calls.len() >= self.cfg.sip.max_calls {
            return Err(OriginateError::Overloaded);
        }
        let target = self
            .targets
            .resolve(&req.first, now.at)
            .into_iter()
            .next()
            .ok_or_else(|| OriginateError::Unreachable(format!("{:?}", req.first)))?;
        let mut req = req;
        if req.context.is_empty() {
            // Dialled from the first party's phone: its context routes the rest.
            if let DialTarget::Endpoint(name) = &req.first {
                if let Some(e) = self.cfg.endpoints.iter().find(|e| &e.user == name) {
                    req.context = e.context.clone();
                }
            }
            for a in &mut req.actions {
                if let Action::Transfer { context, .. } | Action::Goto { context, .. } = a {
                    if context.is_empty() {
                        *context = req.context.clone();
                    }
                }
            }
        }
        let caller = NameAddr {
            display: req.caller_name.clone(),
            uri: sip_uri(&req.caller_id, &self.cfg.sip.domain, None),
            params: Vec::new(),
        };
        let o = Originate {
            target,
            caller,
            ring_timeout: req.ring_timeout,
            tag: req.tag,
            detect_sit: req.detect_sit,
            amd: req.amd,
        };
        let mut key = CallKey(0);
        self.with_calls(now, |calls, io| {
            key = calls.originate(io, o, &req.context, &req.exten, req.actions, req.vars);
        });
        Ok(key)
    }
}
