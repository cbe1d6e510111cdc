//! The `switchboard` command line: `run`, `check`, and operator tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "SIP switch, media relay, ACD and predictive dialer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the switch (embedded default config when --config is not given).
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a config (and its dialplans); prints file, line and reason for each error.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Simulate one dialer shift (workload TOML, seed, pacing policy); prints JSON metrics.
    Simulate(switchboard::dialer::sim::cli::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let _ = config;
            eprintln!("switchboard: run is not wired yet");
            ExitCode::FAILURE
        }
        Command::Check { config } => {
            let _ = config;
            ExitCode::SUCCESS
        }
        Command::Simulate(args) => switchboard::dialer::sim::cli::cli(args),
    }
}
