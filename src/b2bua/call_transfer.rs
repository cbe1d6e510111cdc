//! Blind transfer ordered by an operator (the API): the caller's side of a bridged call
//! stays up, the other side gets a BYE, and the caller is routed to a new extension as if
//! they had dialled it (ringback while the new party rings, bridged at the relay when it
//! answers). The call keeps its record; the new party is one more leg of it.
//!
//! This is the switch moving its own call, not SIP REFER (RFC 3515) from a phone.

use super::call::{Call, CallState};
use super::script::Wait;
use crate::dialplan::Action;

/// Why a call cannot be transferred now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("no live call with this id")]
    NoSuchCall,
    #[error("only a call bridged to a second party can be transferred")]
    NotBridged,
    #[error("calls an ACD queue connected are moved by the ACD, not transferred")]
    Queued,
}

impl Call {
    /// Hangs up B and routes A to `exten` in `context` (the call's own when empty).
    pub(super) fn blind_transfer(
        &mut self,
        io: &mut super::CallIo<'_>,
        context: &str,
        exten: &str,
    ) -> Result<(), TransferError> {
        if self.state != CallState::Answered
            || self.script.wait != Wait::Bridged
            || self.dialogs[1].is_none()
        {
            return Err(TransferError::NotBridged);
        }
        if self.queue.is_some() {
            return Err(TransferError::Queued);
        }
        if let Some(mut b) = self.dialogs[1].take() {
            self.send_bye(io, &mut b);
        }
        self.forget_b(io);
        let context = if context.is_empty() {
            self.script.context.clone()
        } else {
            context.to_string()
        };
        self.script.wait = Wait::Nothing;
        self.script.replace(
            &context,
            exten,
            vec![Action::Transfer {
                context: context.clone(),
                exten: exten.to_string(),
            }],
            Default::default(),
        );
        self.run_script(io);
        Ok(())
    }
}
