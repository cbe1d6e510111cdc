//! What the B2BUA asks of routing: given the context a call enters, the caller and the
//! dialled number, where should it go? The dialplan module answers through the
//! [`Router`] trait; the B2BUA never parses dialplans.

use std::time::Duration;

/// Where a call is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// Ring all registered contacts of these endpoints in parallel.
    Endpoints(Vec<String>),
    /// Send to a trunk with this (rewritten) number.
    Trunk { name: String, number: String },
}

/// The routing verdict for a new call.
#[derive(Debug, Clone, PartialEq)]
pub enum Routing {
    Dial {
        dest: Destination,
        timeout: Option<Duration>,
    },
    Reject {
        status: u16,
        reason: String,
    },
}

pub trait Router: Send + Sync {
    fn route(&self, context: &str, caller: &str, callee: &str, now_unix_ms: i64) -> Routing;
}
