//! `switchboard simulate` front end: workload files, policy strings, JSON output.

use std::path::PathBuf;

use switchboard::dialer::sim::cli::{simulate, SimulateArgs};
use switchboard::dialer::sim::SimError;

fn args(workload: &str, policy: &str) -> SimulateArgs {
    SimulateArgs {
        workload: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("benches/workloads")
            .join(workload),
        seed: 3,
        policy: policy.into(),
        hours: Some(0.1),
    }
}

#[test]
fn every_shipped_workload_runs_and_prints_metrics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/workloads");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("workloads dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        let json =
            simulate(&args(&name, "vicidial-tapered:dl_diff=-2,intensity=10")).expect("runs");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        for key in [
            "talk_utilisation",
            "occupancy",
            "ftc_abandon_rate",
            "ofcom_acr_reported",
            "mean_wait_s",
            "p90_wait_s",
            "connects_per_agent_hour",
            "dials_per_connect",
            "peak_lines",
        ] {
            assert!(
                v.get(key).is_some_and(|x| x.is_number()),
                "{name}: {key} missing"
            );
        }
        n += 1;
    }
    assert!(
        n >= 13,
        "expected the 9 cells and 4 dynamic scenarios, found {n}"
    );
}

#[test]
fn errors_name_their_cause() {
    assert!(matches!(
        simulate(&args("25x30.toml", "ratio:abc")),
        Err(SimError::Policy(_))
    ));
    assert!(matches!(
        simulate(&args("nope.toml", "ours")),
        Err(SimError::Io { .. })
    ));
    let mut a = args("25x30.toml", "ours");
    a.hours = Some(-1.0);
    assert!(matches!(
        simulate(&a),
        Err(SimError::InvalidWorkload { field: "hours", .. })
    ));
}

#[test]
fn seed_is_in_the_output_and_changes_the_world() {
    let a = simulate(&args("25x30.toml", "progressive")).expect("runs");
    let mut other = args("25x30.toml", "progressive");
    other.seed = 4;
    let b = simulate(&other).expect("runs");
    assert!(a.contains("\"seed\":3") && b.contains("\"seed\":4"));
    assert_ne!(a.replace("\"seed\":3", ""), b.replace("\"seed\":4", ""));
}
