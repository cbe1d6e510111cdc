//! Dialer pacing matrix (research/dialer.md §7): every workload in benches/workloads/
//! × {progressive, ratio 2.0, ratio oracle-tuned, VICIdial ADAPT_TAPERED defaults and
//! tuned, ours}. Baselines are tuned per cell on training seeds 0..train; everything is
//! reported on held-out seeds 100..100+seeds. Ours is never tuned.
//!
//! `nice -n 10 cargo bench --bench dialer_matrix -- [--hours H] [--seeds N] [--train N]
//!  [--threads T] [--only NAME,..] [--policy P] [--seed0 S]` — prints a markdown table. `--policy P`
//! (e.g. `ours`) runs that policy alone on the held-out seeds, without the baselines and
//! their tuning: a quick look at one cell while working on a pacer. `--seed0 S` moves the
//! held-out seeds to S..S+N (explore on 200.., report on the default 100..); `--vs Q`
//! (with `--policy`) also runs Q on the same seeds and prints the paired difference.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use switchboard::dialer::pacing::{AdaptMethod, AdaptParams, Policy};
use switchboard::dialer::sim::{run, Metrics, Workload};

struct Opts {
    hours: Option<f64>,
    seeds: u64,
    train: u64,
    threads: usize,
    only: Option<Vec<String>>,
    policy: Option<Policy>,
    /// First held-out seed (100; exploration runs use another range, e.g. 200).
    seed0: u64,
    /// With `--policy`: also run this one and print the paired difference.
    vs: Option<Policy>,
}

fn opts() -> Opts {
    let mut o = Opts {
        hours: None,
        seeds: 30,
        train: 10,
        threads: 2,
        only: None,
        policy: None,
        seed0: 100,
        vs: None,
    };
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a smoke run only
    // (one small cell, half an hour, one seed each), so the suite stays fast.
    if !args.iter().any(|a| a == "--bench") {
        o.hours = Some(0.5);
        o.seeds = 1;
        o.train = 1;
        o.only = Some(vec!["5x30".to_string()]);
    }
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--hours" => o.hours = v.parse().ok(),
            "--seeds" => o.seeds = v.parse().unwrap_or(30),
            "--train" => o.train = v.parse().unwrap_or(10),
            "--vs" => match v.parse() {
                Ok(p) => o.vs = Some(p),
                Err(e) => {
                    eprintln!("--vs: {e}");
                    std::process::exit(2);
                }
            },
            "--seed0" => o.seed0 = v.parse().unwrap_or(100),
            "--threads" => o.threads = v.parse().unwrap_or(2),
            "--only" => o.only = Some(v.split(',').map(String::from).collect()),
            "--policy" => match v.parse() {
                Ok(p) => o.policy = Some(p),
                Err(e) => {
                    eprintln!("--policy: {e}");
                    std::process::exit(2);
                }
            },
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

fn runs(w: &Workload, p: &Policy, seeds: &[u64], threads: usize) -> Vec<Metrics> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = seeds.get(i) else { break };
                let m = run(w, *seed, p);
                out.lock().expect("poisoned").push(m);
            });
        }
    });
    let mut v = out.into_inner().expect("poisoned");
    v.sort_by_key(|m| m.seed);
    v
}

struct Sum {
    util: f64,
    util_ci: f64,
    occ: f64,
    aband: f64,
    ok_shifts: f64,
    worst: f64,
    wait: f64,
    p90: f64,
    cph: f64,
}

fn summarise(ms: &[Metrics]) -> Sum {
    let n = ms.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Metrics) -> f64| ms.iter().map(f).sum::<f64>() / n;
    let util = mean(&|m| m.talk_utilisation);
    let var = ms
        .iter()
        .map(|m| (m.talk_utilisation - util).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    let live: u64 = ms.iter().map(|m| m.live_answers).sum();
    let ab: u64 = ms.iter().map(|m| m.abandoned).sum();
    Sum {
        util,
        util_ci: 1.96 * (var / n).sqrt(),
        occ: mean(&|m| m.occupancy),
        aband: if live == 0 {
            0.0
        } else {
            ab as f64 / live as f64
        },
        ok_shifts: ms.iter().filter(|m| m.ftc_abandon_rate <= 0.03).count() as f64 / n,
        worst: ms.iter().map(|m| m.ftc_abandon_rate).fold(0.0, f64::max),
        wait: mean(&|m| m.mean_wait_s),
        p90: mean(&|m| m.p90_wait_s),
        cph: mean(&|m| m.connects_per_agent_hour),
    }
}

/// Best mean utilisation with aggregate abandon ≤ 3 % on the training seeds.
fn tune(w: &Workload, grid: &[Policy], seeds: &[u64], threads: usize) -> Option<(Policy, f64)> {
    let mut best: Option<(Policy, f64)> = None;
    for p in grid {
        let s = summarise(&runs(w, p, seeds, threads));
        if s.aband <= 0.03 && best.as_ref().is_none_or(|b| s.util > b.1) {
            best = Some((p.clone(), s.util));
        }
    }
    best
}

fn vici(dl: f64, intensity: f64, latest: i64) -> Policy {
    let mut p = AdaptParams::defaults(AdaptMethod::Tapered);
    p.dl_diff_target = dl;
    p.intensity = intensity;
    p.latest_server_time = latest;
    Policy::Vicidial(p)
}

fn row(cell: &str, name: &str, s: &Sum) {
    println!(
        "| {cell} | {name} | {:.1} ± {:.1} | {:.1} | {:.2} | {:.0} | {:.1} | {:.1} / {:.1} | {:.1} |",
        100.0 * s.util,
        100.0 * s.util_ci,
        100.0 * s.occ,
        100.0 * s.aband,
        100.0 * s.ok_shifts,
        100.0 * s.worst,
        s.wait,
        s.p90,
        s.cph
    );
}

fn main() {
    let o = opts();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workloads");
    let names = [
        "5x15",
        "5x30",
        "5x60",
        "25x15",
        "25x30",
        "25x60",
        "100x15",
        "100x30",
        "100x60",
        "d1-login-breaks",
        "d2-answer-step",
        "d3-talk-drift",
        "d4-small-bimodal",
        "ofcom-25x30-amd",
    ];
    let train: Vec<u64> = (0..o.train).collect();
    let test: Vec<u64> = (o.seed0..o.seed0 + o.seeds).collect();
    println!(
        "| cell | policy | talk util % (±95% CI) | occupancy % | abandon % (truth, all shifts) | shifts ≤3 % | worst shift % | wait mean / p90 s | connects/agent-h |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut paired = Vec::new();
    for name in names {
        if o.only
            .as_ref()
            .is_some_and(|l| !l.iter().any(|x| x == name))
        {
            continue;
        }
        let mut w = match Workload::load(&dir.join(format!("{name}.toml"))) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        if let Some(h) = o.hours {
            w.hours = h;
        }
        let t = o.threads;
        let show = |label: &str, p: &Policy| {
            let ms = runs(&w, p, &test, t);
            row(name, label, &summarise(&ms));
            ms
        };
        if let Some(p) = &o.policy {
            let ms = show(&p.label(), p);
            if let Some(q) = &o.vs {
                let base = show(&q.label(), q);
                let d: Vec<f64> = ms
                    .iter()
                    .zip(&base)
                    .map(|(a, b)| 100.0 * (a.talk_utilisation - b.talk_utilisation))
                    .collect();
                let n = d.len().max(1) as f64;
                let mean = d.iter().sum::<f64>() / n;
                let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
                let min = d.iter().copied().fold(f64::INFINITY, f64::min);
                let est = ms.iter().map(|m| m.ofcom_acr_reported).sum::<f64>() / n;
                println!(
                    "| {name} | paired {} − {} | {mean:+.3} ± {:.3} / min {min:+.3} | estimated abandon {:.2} % |",
                    p.label(),
                    q.label(),
                    1.96 * (var / n).sqrt(),
                    100.0 * est
                );
            }
            continue;
        }
        let prog = show("progressive", &Policy::Progressive);
        show("ratio 2.0 (default)", &Policy::Ratio(2.0));
        let ratios: Vec<Policy> = (1..=20)
            .map(|i| 1.0 + 0.05 * f64::from(i))
            .chain([2.25, 2.5, 3.0])
            .map(Policy::Ratio)
            .collect();
        match tune(&w, &ratios, &train, t) {
            Some((p, _)) => {
                show(&format!("ratio tuned ({})", p.label()), &p);
            }
            None => println!("| {name} | ratio tuned | none ≤3 % on training seeds | | | | | | |"),
        }
        show("VICIdial TAPERED defaults", &vici(0.0, 0.0, 2100));
        let end = i64::from(w.start_hhmm) + (w.hours * 100.0).round() as i64;
        let mut grid = Vec::new();
        let dls = (0..=15)
            .map(|d: i32| f64::from(-d))
            .chain([-18.0, -21.0, -25.0, -30.0, -40.0]);
        for dl in dls {
            if -dl < f64::from(w.agents) {
                for latest in [end, end + 800] {
                    grid.push(vici(dl, 0.0, latest));
                }
            }
        }
        let best = tune(&w, &grid, &train, t).map(|(p, _)| p);
        let best = best.map(|p| {
            let Policy::Vicidial(b) = &p else { return p };
            let more: Vec<Policy> = [-20.0, -10.0, 0.0, 10.0, 20.0]
                .iter()
                .map(|i| vici(b.dl_diff_target, *i, b.latest_server_time))
                .collect();
            tune(&w, &more, &train, t).map_or(p, |(q, _)| q)
        });
        let vt = match best {
            Some(p) => {
                let label = p.label();
                let knobs = label.trim_start_matches("vicidial-tapered:");
                show(&format!("VICIdial TAPERED tuned ({knobs})"), &p)
            }
            None => {
                println!("| {name} | VICIdial tuned | none ≤3 % on training seeds | | | | | | |");
                Vec::new()
            }
        };
        let ours = show("**ours** (untuned)", &Policy::Ours);
        paired.push(paired_row(name, &ours, &prog, &vt));
    }
    println!();
    println!("Paired on the same seeds (common random numbers), talk utilisation points:");
    println!();
    println!("| cell | ours − progressive: mean / min over seeds | ours − VICIdial TAPERED tuned: mean ± 95% CI / min |");
    println!("|---|---|---|");
    for r in paired {
        println!("{r}");
    }
}

fn paired_row(name: &str, ours: &[Metrics], prog: &[Metrics], vt: &[Metrics]) -> String {
    let diff = |base: &[Metrics]| -> Option<(f64, f64, f64)> {
        if base.len() != ours.len() || base.is_empty() {
            return None;
        }
        let d: Vec<f64> = ours
            .iter()
            .zip(base)
            .map(|(o, b)| 100.0 * (o.talk_utilisation - b.talk_utilisation))
            .collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Some((
            mean,
            1.96 * (var / n).sqrt(),
            d.iter().copied().fold(f64::INFINITY, f64::min),
        ))
    };
    let p = diff(prog).map_or("n/a".into(), |(m, _, lo)| format!("{m:+.1} / {lo:+.1}"));
    let v = diff(vt).map_or("n/a".into(), |(m, ci, lo)| {
        format!("{m:+.1} ± {ci:.1} / {lo:+.1}")
    });
    format!("| {name} | {p} | {v} |")
}
