//! The dialplan as the B2BUA's [`Router`]: evaluates the plan current at call start and
//! reduces the route to what the SIP core can execute today — the first `dial` (ring
//! group of endpoints in parallel, or a trunk) or a `hangup` with its cause.
//!
//! Actions that need media (playback, IVR, queue, record, voicemail) are answered with a
//! clear 501 naming the action until the media issue wires them; `answer` and `set` are
//! skipped. Only the first `dial` is used: fallback to later actions after a failed
//! dial, and sequential ring groups, come with the call-control work of the IVR issue.

use std::time::Duration;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::b2bua::route::{Destination, Router, Routing};
use crate::dialplan::{Action, DialTarget, HangupCause, PlanHandle, RouteContext};

pub struct PlanRouter {
    pub plans: Arc<PlanHandle>,
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

impl Router for PlanRouter {
    fn route(&self, context: &str, caller: &str, callee: &str, now_unix_ms: i64) -> Routing {
        let plan = self.plans.current();
        let ctx = RouteContext {
            context: context.to_string(),
            caller: caller.to_string(),
            callee: callee.to_string(),
            vars: Default::default(),
            now: DateTime::<Utc>::from_timestamp_millis(now_unix_ms).unwrap_or_default(),
        };
        let route = match plan.route(&ctx) {
            Ok(r) => r,
            Err(e) => {
                let (status, reason) = status_for_cause(e.cause());
                tracing::debug!(%e, context, callee, "no route");
                return Routing::Reject {
                    status,
                    reason: reason.to_string(),
                };
            }
        };
        for action in route.actions {
            match action {
                Action::Answer | Action::Set { .. } => continue,
                Action::Dial {
                    targets,
                    timeout_secs,
                    ..
                } => return dial(targets, timeout_secs),
                Action::Hangup { cause } => {
                    let (status, reason) = status_for_cause(cause);
                    return Routing::Reject {
                        status,
                        reason: reason.to_string(),
                    };
                }
                other => {
                    let name = serde_json::to_value(&other)
                        .ok()
                        .and_then(|v| v.get("action").and_then(|a| a.as_str().map(str::to_string)))
                        .unwrap_or_else(|| "action".into());
                    return Routing::Reject {
                        status: 501,
                        reason: format!("Not Implemented (dialplan action {name} needs media)"),
                    };
                }
            }
        }
        Routing::Reject {
            status: 404,
            reason: "Not Found".into(),
        }
    }
}

fn dial(targets: Vec<DialTarget>, timeout_secs: u32) -> Routing {
    let timeout = Some(Duration::from_secs(u64::from(timeout_secs)));
    let endpoints: Vec<String> = targets
        .iter()
        .filter_map(|t| match t {
            DialTarget::Endpoint(e) => Some(e.clone()),
            DialTarget::Trunk { .. } => None,
        })
        .collect();
    if !endpoints.is_empty() {
        return Routing::Dial {
            dest: Destination::Endpoints(endpoints),
            timeout,
        };
    }
    match targets.into_iter().next() {
        Some(DialTarget::Trunk { trunk, number }) => Routing::Dial {
            dest: Destination::Trunk {
                name: trunk,
                number,
            },
            timeout,
        },
        _ => Routing::Reject {
            status: 404,
            reason: "Not Found".into(),
        },
    }
}
