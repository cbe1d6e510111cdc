//! What the B2BUA asks of routing: given the context a call enters, the caller, the
//! dialled number and the call's variables, which actions does the call execute? The
//! dialplan answers through the [`Router`] trait (the switch's `PlanRouter`; tests use
//! their own); the B2BUA executes the actions (`script`) but never parses dialplans.
//!
//! A call asks again mid-call: an IVR menu routes the digits pressed in the menu's
//! context, and `transfer` routes its extension.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Target;

pub use crate::dialplan::Action;

/// Where a `dial` step sends the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// Ring all registered contacts of these endpoints in parallel.
    Endpoints(Vec<String>),
    /// Send to a trunk with this (rewritten) number.
    Trunk { name: String, number: String },
}

/// The dialplan a call started with: mid-call routing (IVR choices, transfers) asks the
/// same plan even after a reload swapped in a new one.
pub type PlanPin = std::sync::Arc<crate::dialplan::Dialplan>;

/// One routing question.
#[derive(Debug, Clone)]
pub struct RouteQuery<'a> {
    pub context: &'a str,
    pub caller: &'a str,
    pub callee: &'a str,
    pub vars: &'a BTreeMap<String, String>,
    pub now_unix_ms: i64,
    /// Route in this plan instead of the current one.
    pub plan: Option<&'a PlanPin>,
}

/// The routing verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Routing {
    /// Execute these actions in order (with the route's variables).
    Actions {
        actions: Vec<Action>,
        vars: BTreeMap<String, String>,
    },
    Reject {
        status: u16,
        reason: String,
    },
}

impl Routing {
    /// A route of one `dial` to endpoints (tests and simple routers).
    pub fn dial_endpoints(endpoints: &[&str], timeout: Option<Duration>) -> Routing {
        Routing::Actions {
            actions: vec![Action::Dial {
                targets: endpoints
                    .iter()
                    .map(|e| crate::dialplan::DialTarget::Endpoint(e.to_string()))
                    .collect(),
                strategy: Default::default(),
                timeout_secs: timeout.map_or(0, |t| t.as_secs() as u32),
                caller_id: None,
            }],
            vars: BTreeMap::new(),
        }
    }
}

pub trait Router: Send + Sync {
    fn route(&self, query: &RouteQuery<'_>) -> Routing;
    /// The plan current now, for a new call to keep.
    fn pin(&self) -> Option<PlanPin> {
        None
    }
}

/// Turns a dial target into places to send INVITEs: an endpoint's registered contacts
/// (none when it is not registered), or a trunk's address.
pub trait Resolver {
    fn resolve(&self, target: &crate::dialplan::DialTarget, now: Instant) -> Vec<Target>;
}
