//! Errors of the message layer: [`ParseError`] (the bytes are not a SIP message, or a
//! header value does not match its RFC 3261 §25 grammar) and [`Invalid`] (the message
//! parsed but breaks a rule an element must check before acting on it, RFC 3261 §8.2,
//! §16.3; the switch answers with `status` and `reason`).

/// A syntax error: the input does not match the RFC 3261 §25 grammar.
///
/// Carries a short static reason (no allocation on the error path) so a datagram of
/// garbage costs nothing more than the scan that rejected it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SIP parse error: {reason}")]
pub struct ParseError {
    reason: &'static str,
    status: u16,
}

impl ParseError {
    /// A parse error with a short human-readable reason.
    pub const fn new(reason: &'static str) -> Self {
        Self {
            reason,
            status: 400,
        }
    }

    /// A parse error that maps to another status (505 for an unsupported SIP version).
    pub const fn with_status(reason: &'static str, status: u16) -> Self {
        Self { reason, status }
    }

    /// The short reason, e.g. `"bad Request-URI"`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The status this error maps to: 400 (RFC 3261 §21.4.1), or 505 when the start line
    /// names a SIP version other than 2.0 (§21.5.6). A message that failed [`parse`] has
    /// no headers to build a response from, so the transport normally drops it; the
    /// status is for logs and metrics.
    ///
    /// [`parse`]: super::parse
    pub fn status(&self) -> u16 {
        self.status
    }
}

/// A semantic defect that makes an element refuse the message: `status` (400, 416, 505 …)
/// and a `reason` meant for the response's reason phrase, e.g.
/// `"Bad CSeq: method does not match request line"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {reason}")]
pub struct Invalid {
    /// The status code to answer with.
    pub status: u16,
    /// Reason phrase naming what is wrong.
    pub reason: String,
}

impl Invalid {
    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self {
            status: 400,
            reason: reason.into(),
        }
    }
}

pub(crate) fn err(reason: &'static str) -> ParseError {
    ParseError::new(reason)
}
