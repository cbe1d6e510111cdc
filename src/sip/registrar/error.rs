//! Why a REGISTER was refused, and the SIP answer for it (RFC 3261 §10.3).

/// A REGISTER the location service refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegisterError {
    /// `Contact: *` with other contacts, or without `Expires: 0` (§10.3 step 6): 400.
    #[error("wildcard contact needs Expires: 0 and no other contact")]
    InvalidWildcard,
    /// A `q` outside 0..=1: 400.
    #[error("contact q value outside 0..=1")]
    InvalidQ,
    /// A non-zero expiry below the minimum (§10.3 step 7): 423 with `Min-Expires`.
    #[error("interval too brief, minimum {min_expires} s")]
    IntervalTooBrief { min_expires: u32 },
    /// Same Call-ID as a binding, CSeq not higher (§10.3 steps 6–7): 500.
    #[error("CSeq {cseq} not above stored {stored_cseq} for this Call-ID")]
    OutOfOrder { cseq: u32, stored_cseq: u32 },
    /// The AOR would exceed its contact limit: 403.
    #[error("more than {max} contacts for this address-of-record")]
    TooManyContacts { max: usize },
}

impl RegisterError {
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::InvalidWildcard | RegisterError::InvalidQ => 400,
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::OutOfOrder { .. } => 500,
            RegisterError::TooManyContacts { .. } => 403,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            RegisterError::InvalidWildcard | RegisterError::InvalidQ => "Bad Request",
            RegisterError::IntervalTooBrief { .. } => "Interval Too Brief",
            RegisterError::OutOfOrder { .. } => "Server Internal Error",
            RegisterError::TooManyContacts { .. } => "Forbidden",
        }
    }

    /// The `Min-Expires` header value to add to the response, if any (§20.23).
    pub fn min_expires(&self) -> Option<u32> {
        match self {
            RegisterError::IntervalTooBrief { min_expires } => Some(*min_expires),
            _ => None,
        }
    }
}
