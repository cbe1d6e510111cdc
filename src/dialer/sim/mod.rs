//! Shift simulator: a discrete-event world on a virtual clock that drives the dialer's
//! real code — a [`Pacer`], the [`Floor`](crate::dialer::floor::Floor)
//! fold, the [`compliance`](crate::dialer::compliance) 2-second rule and the
//! [`Hopper`](crate::dialer::hopper::Hopper) — and measures ground truth.
//!
//! Deterministic per seed. Common random numbers: each lead's outcome, ring time,
//! greeting and talk time come from the lead's own ChaCha stream, and each agent's wrap
//! times from the agent's own stream, so every policy faces the same world.
//! Breaks count as logged-out time in the metrics.

pub mod cli;
pub mod metrics;
pub mod workload;
mod world;

pub use metrics::Metrics;
pub use workload::Workload;

use crate::dialer::pacing::{Pacer, Policy, PolicyError};

/// Simulator errors.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("workload: {0}")]
    Toml(#[source] Box<toml::de::Error>),
    #[error("workload field {field}: {reason}")]
    InvalidWorkload {
        field: &'static str,
        reason: &'static str,
    },
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
}

/// Run one shift of `workload` with `policy` and `seed`.
pub fn run(workload: &Workload, seed: u64, policy: &Policy) -> Metrics {
    let mut w = world::World::new(workload, seed, policy.build_with(workload.ofcom_amd_fp()));
    w.run();
    w.metrics(&policy.label(), seed)
}

/// Run one shift with any pacer (e.g. an instrumented one in tests).
pub fn run_pacer(workload: &Workload, seed: u64, pacer: Box<dyn Pacer>, label: &str) -> Metrics {
    let mut w = world::World::new(workload, seed, pacer);
    w.run();
    w.metrics(label, seed)
}

/// Run one shift and also return the sequence of outcomes of the first `n` leads
/// dialed (for common-random-number checks).
pub fn run_with_leads(
    workload: &Workload,
    seed: u64,
    policy: &Policy,
    n: usize,
) -> (Metrics, Vec<String>) {
    let mut w = world::World::new(workload, seed, policy.build_with(workload.ofcom_amd_fp()));
    w.run();
    let leads = w.lead_log(n);
    (w.metrics(&policy.label(), seed), leads)
}
