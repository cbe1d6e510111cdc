//! Live calls as the operations surface sees them: a read-only summary of each call
//! ([`LiveCall`], for `GET /api/v1/calls`) and an operator's hang-up (`DELETE
//! /api/v1/calls/{id}`). Calls are named by their call record id, the same id their
//! CDR will carry.

use super::call::CallState;
use super::call_transfer::TransferError;
use super::{CallIo, Calls};
use crate::store::HangupSide;

/// The hang-up cause written to the CDR of a call ended by an operator.
pub const ADMIN_HANGUP_CAUSE: &str = "admin_hangup";

/// Where a live call is, as operators say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    Ringing,
    Answered,
}

/// One live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCall {
    /// The call record id (the CDR's id once the call ends).
    pub id: String,
    pub caller: String,
    pub callee: String,
    pub state: LiveState,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
}

/// One live call, borrowed from the call table (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCallRef<'a> {
    pub id: &'a str,
    pub caller: &'a str,
    pub callee: &'a str,
    pub state: LiveState,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
}

impl LiveCallRef<'_> {
    pub fn to_live_call(&self) -> LiveCall {
        LiveCall {
            id: self.id.to_string(),
            caller: self.caller.to_string(),
            callee: self.callee.to_string(),
            state: self.state,
            started_at_ms: self.started_at_ms,
            answered_at_ms: self.answered_at_ms,
        }
    }
}

impl Calls {
    /// Every call not already ending, in no particular order, borrowed.
    pub fn live(&self) -> impl Iterator<Item = LiveCallRef<'_>> {
        self.calls
            .values()
            .filter(|c| c.state != CallState::Ending)
            .map(|c| {
                let (caller, callee, started_at_ms, answered_at_ms) = c.cdr.parties();
                LiveCallRef {
                    id: c.cdr.id(),
                    caller,
                    callee,
                    state: if c.state == CallState::Answered {
                        LiveState::Answered
                    } else {
                        LiveState::Ringing
                    },
                    started_at_ms,
                    answered_at_ms,
                }
            })
    }

    /// Every call not already ending, in no particular order.
    pub fn snapshot(&self) -> Vec<LiveCall> {
        self.live().map(|c| c.to_live_call()).collect()
    }

    /// Ends the call with record id `id` as the system: BYE both ways when answered, a
    /// 480 to the caller (and CANCEL to the forks) while ringing. False when no such call
    /// is live (or it is already ending).
    pub fn hang_up(&mut self, io: &mut CallIo<'_>, id: &str) -> bool {
        let Some(key) = self
            .calls
            .iter()
            .find(|(_, c)| c.cdr.id() == id && c.state != CallState::Ending)
            .map(|(k, _)| *k)
        else {
            return false;
        };
        if let Some(c) = self.calls.get_mut(&key) {
            if c.state == CallState::Answered {
                c.hangup(io, None, ADMIN_HANGUP_CAUSE, HangupSide::System);
            } else {
                c.fail_a(io, 480, ADMIN_HANGUP_CAUSE, HangupSide::System);
                c.maybe_finish(io);
            }
        }
        self.apply(io, key);
        true
    }

    /// Blind transfer of the live call with record id `id` (see `call_transfer`).
    pub fn transfer(
        &mut self,
        io: &mut CallIo<'_>,
        id: &str,
        context: &str,
        exten: &str,
    ) -> Result<(), TransferError> {
        let key = self
            .calls
            .iter()
            .find(|(_, c)| c.cdr.id() == id && c.state != CallState::Ending)
            .map(|(k, _)| *k)
            .ok_or(TransferError::NoSuchCall)?;
        let done = match self.calls.get_mut(&key) {
            Some(c) => c.blind_transfer(io, context, exten),
            None => Err(TransferError::NoSuchCall),
        };
        self.apply(io, key);
        done
    }
}
