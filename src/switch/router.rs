//! The dialplan as the B2BUA's [`Router`]: evaluates the plan current at the moment of
//! asking (a new call, an IVR choice, a transfer) and hands the route's actions to the
//! call, which executes them (`b2bua::script`). A call keeps the actions it was given even
//! when the plan is reloaded meanwhile.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::b2bua::route::{PlanPin, RouteQuery, Router, Routing};
use crate::dialplan::{PlanHandle, RouteContext};

pub use crate::b2bua::status_for_cause;

pub struct PlanRouter {
    pub plans: Arc<PlanHandle>,
}

impl Router for PlanRouter {
    fn pin(&self) -> Option<PlanPin> {
        Some(self.plans.current())
    }

    fn route(&self, q: &RouteQuery<'_>) -> Routing {
        let plan = q.plan.cloned().unwrap_or_else(|| self.plans.current());
        let ctx = RouteContext {
            context: q.context.to_string(),
            caller: q.caller.to_string(),
            callee: q.callee.to_string(),
            vars: q.vars.clone(),
            now: DateTime::<Utc>::from_timestamp_millis(q.now_unix_ms).unwrap_or_default(),
        };
        match plan.route(&ctx) {
            Ok(route) => Routing::Actions {
                actions: route.actions,
                vars: route.vars,
            },
            Err(e) => {
                let (status, reason) = status_for_cause(e.cause());
                tracing::debug!(%e, context = q.context, callee = q.callee, "no route");
                Routing::Reject {
                    status,
                    reason: reason.to_string(),
                }
            }
        }
    }
}
