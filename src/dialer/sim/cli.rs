//! `switchboard simulate --workload FILE --seed N --policy P`: one shift, JSON metrics.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{run, SimError, Workload};
use crate::dialer::pacing::Policy;

/// Arguments of `switchboard simulate`.
#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Workload TOML (see benches/workloads/).
    #[arg(long)]
    pub workload: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// ours | progressive | ratio:N | vicidial-tapered[:dl_diff=..,intensity=..,latest=HHMM]
    /// | vicidial-hard-limit[..] | vicidial-average[..]
    #[arg(long, default_value = "ours")]
    pub policy: String,
    /// Override the shift length in hours.
    #[arg(long)]
    pub hours: Option<f64>,
}

/// Run and render the JSON line.
pub fn simulate(args: &SimulateArgs) -> Result<String, SimError> {
    let mut w = Workload::load(&args.workload)?;
    if let Some(h) = args.hours {
        w.hours = h;
        w.validate()?;
    }
    let policy: Policy = args.policy.parse()?;
    let m = run(&w, args.seed, &policy);
    Ok(serde_json::to_string(&m).unwrap_or_default())
}

/// Entry point for `main.rs`.
pub fn cli(args: SimulateArgs) -> ExitCode {
    match simulate(&args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard simulate: {e}");
            ExitCode::FAILURE
        }
    }
}
