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
    /// Simulate one dialer shift (workload TOML, seed, pacing policy); prints JSON metrics.
    Simulate(switchboard::dialer::sim::cli::SimulateArgs),
    /// Dry-run the dialplans: how would a call from CALLER to CALLEE in CONTEXT be routed?
    Route {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        context: String,
        #[arg(long, default_value = "")]
        caller: String,
        #[arg(long)]
        callee: String,
        /// The instant to evaluate time conditions at (RFC 3339); default now.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(config.as_deref()),
        Command::Check { config } => check(config.as_deref()),
        Command::Simulate(args) => switchboard::dialer::sim::cli::cli(args),
        Command::Route {
            config,
            context,
            caller,
            callee,
            at,
        } => {
            let ctx = switchboard::dialplan::RouteContext {
                context,
                caller,
                callee,
                vars: Default::default(),
                now: at.unwrap_or_else(chrono::Utc::now),
            };
            route(config.as_deref(), &ctx)
        }
    }
}

/// Prints the evaluation trace and the resulting route as JSON (or the routing error).
fn route(path: Option<&std::path::Path>, ctx: &switchboard::dialplan::RouteContext) -> ExitCode {
    let cfg = match load_config(path) {
        Ok(cfg) => cfg,
        Err(errors) => return report(&errors),
    };
    let plan = match switchboard::dialplan::Dialplan::load_dir(&cfg.dialplan_dir) {
        Ok(plan) => plan,
        Err(errors) => return report(&errors),
    };
    println!("{}", plan.explain(ctx));
    match plan.route(ctx) {
        Ok(route) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&route).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("no route: {e}");
            ExitCode::FAILURE
        }
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

fn run(path: Option<&std::path::Path>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "switchboard=info".into()),
        )
        .init();
    let cfg = match load_config(path) {
        Ok(cfg) => cfg,
        Err(errors) => return report(&errors),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let dialplan_dir = cfg.dialplan_dir.clone();
        let source = cfg.source.clone();
        match switchboard::runtime::start(cfg).await {
            Ok(running) => {
                tracing::info!(config = %source, udp = ?running.bound.udp, tcp = ?running.bound.tcp, "switchboard running");
                let file = path.map(std::path::Path::to_path_buf);
                switchboard::runtime::run_until_signalled(running, dialplan_dir, file).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn report<E: std::fmt::Display>(errors: &[E]) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    ExitCode::FAILURE
}

fn check(path: Option<&std::path::Path>) -> ExitCode {
    let cfg = match load_config(path) {
        Ok(cfg) => cfg,
        Err(errors) => return report(&errors),
    };
    if let Err(errors) = switchboard::dialplan::Dialplan::load_dir(&cfg.dialplan_dir) {
        return report(&errors);
    }
    if let Err(e) = switchboard::switch::acd_config(&cfg) {
        return report(&[e]);
    }
    println!(
        "{}: ok ({} endpoints, {} trunks, dialplans in {})",
        cfg.source,
        cfg.endpoints.len(),
        cfg.trunks.len(),
        cfg.dialplan_dir.display()
    );
    ExitCode::SUCCESS
}
