//! The `switchboard` command line: `run`, `check`, and operator tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard::config::Config;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let _ = config;
            eprintln!("switchboard: run is not wired yet");
            ExitCode::FAILURE
        }
        Command::Check { config } => check(config.as_deref()),
    }
}

/// Loads the config named on the command line, or the embedded default.
fn load_config(
    path: Option<&std::path::Path>,
) -> Result<Config, Vec<switchboard::config::ConfigError>> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::embedded_default()),
    }
}

fn check(path: Option<&std::path::Path>) -> ExitCode {
    match load_config(path) {
        Ok(cfg) => {
            println!(
                "{}: ok ({} endpoints, {} trunks)",
                cfg.source,
                cfg.endpoints.len(),
                cfg.trunks.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}
