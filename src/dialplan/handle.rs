//! [`PlanHandle`]: the running plan behind an atomic pointer. Readers take an `Arc` and
//! keep it for the whole call; a reload builds and validates a complete new plan first
//! and swaps it in only when it has no error, so a bad edit never reaches calls.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Dialplan, PlanError};

/// The live dialplan, swappable as a whole.
#[derive(Debug)]
pub struct PlanHandle {
    plan: ArcSwap<Dialplan>,
}

impl PlanHandle {
    pub fn new(plan: Dialplan) -> PlanHandle {
        PlanHandle {
            plan: ArcSwap::from_pointee(plan),
        }
    }

    /// Loads `dir` for the first time.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<PlanHandle, Vec<PlanError>> {
        Dialplan::load_dir(dir).map(PlanHandle::new)
    }

    /// The plan to route a new call with; keep it for the call's lifetime.
    pub fn current(&self) -> Arc<Dialplan> {
        self.plan.load_full()
    }

    /// Reloads `dir`; on any error the running plan stays and every error is returned.
    pub fn reload_dir(&self, dir: impl AsRef<Path>) -> Result<(), Vec<PlanError>> {
        let plan = Dialplan::load_dir(dir)?;
        self.replace(plan);
        Ok(())
    }

    /// Swaps in an already validated plan.
    pub fn replace(&self, plan: Dialplan) {
        self.plan.store(Arc::new(plan));
    }
}
