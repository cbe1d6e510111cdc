//! Answering-machine detection accuracy on synthetic greetings (`dialer::amd::synth`).
//!
//! N humans and N machines per scenario (seeds 0..N, fixed), each run through the
//! detector under several configurations: a confusion matrix (truth × verdict), accuracy,
//! the false-positive rate that matters for abandonment (human → machine: Ofcom counts
//! those as abandoned calls), mean decision time, and for people called people how much
//! of the 2-second budget after their greeting the decision used. Also the beep detector:
//! beeps found (end within ±60 ms) and false beeps. Two scenarios: the mixed line (SNR
//! 15–40 dB) and a noisy one (5–15 dB).
//!
//! `cargo bench --bench amd_accuracy -- [--n N] [--json]` (default N = 2,000 per class).
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a smoke run of 40.
//!
//! Synthetic greetings, not recordings: the figures compare rules and configurations on
//! the timings the generator models; they are not a field accuracy.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use switchboard::dialer::amd::synth::{self, Greeting, Kind, SynthConfig, Truth};
use switchboard::dialer::amd::{AmdConfig, AmdDetector, AmdResult, AmdVerdict, BeepDetector};

const FRAME: usize = 160;

#[derive(Default, Serialize)]
struct Stats {
    /// truth → verdict → count
    confusion: BTreeMap<&'static str, BTreeMap<&'static str, u32>>,
    /// kind → [correct, total]
    by_kind: BTreeMap<&'static str, [u32; 2]>,
    /// cause → count
    causes: BTreeMap<&'static str, u32>,
    humans: u32,
    machines: u32,
    correct: u32,
    human_as_machine: u32,
    machine_as_human: u32,
    not_sure: u32,
    decision_ms_sum: [u64; 2],
    /// people called people: decision − true end of greeting, ms
    human_budget_ms: Vec<u32>,
    /// |greeting_end_ms − true end|, people called people
    greeting_end_err_ms: Vec<u32>,
}

#[derive(Serialize)]
struct Summary {
    config: &'static str,
    scenario: &'static str,
    accuracy: f64,
    human_as_machine_rate: f64,
    machine_as_human_rate: f64,
    not_sure_rate: f64,
    mean_decision_ms_human: f64,
    mean_decision_ms_machine: f64,
    human_budget_ms_mean: f64,
    human_budget_ms_p90: u32,
    greeting_end_err_ms_mean: f64,
    #[serde(flatten)]
    stats: Stats,
}

#[derive(Default, Serialize)]
struct BeepStats {
    beeps: u32,
    found: u32,
    end_err_ms_sum: u64,
    /// reports in greetings with a beep that are not its end (a beep split in two, a vowel)
    extra_reports: u32,
    greetings_without_beep: u32,
    /// reports in greetings without a beep
    false_beeps: u32,
}

fn verdict_of(cfg: AmdConfig, g: &Greeting) -> AmdVerdict {
    let mut d = AmdDetector::new(cfg);
    g.samples
        .chunks(FRAME)
        .find_map(|f| d.push(f))
        .or_else(|| d.finish())
        .expect("finish gives a verdict when push did not")
}

fn record(s: &mut Stats, g: &Greeting, v: &AmdVerdict) {
    let truth = match g.truth {
        Truth::Human => "human",
        Truth::Machine => "machine",
    };
    let got = match v.result {
        AmdResult::Human => "human",
        AmdResult::Machine => "machine",
        AmdResult::NotSure => "not_sure",
    };
    *s.confusion
        .entry(truth)
        .or_default()
        .entry(got)
        .or_default() += 1;
    *s.causes.entry(v.cause.as_str()).or_default() += 1;
    let ok = truth == got;
    let kind = s.by_kind.entry(kind_name(g.kind)).or_default();
    kind[0] += u32::from(ok);
    kind[1] += 1;
    s.correct += u32::from(ok);
    let t = usize::from(g.truth == Truth::Machine);
    s.decision_ms_sum[t] += u64::from(v.decided_after_ms);
    match (g.truth, v.result) {
        (Truth::Human, AmdResult::Machine) => s.human_as_machine += 1,
        (Truth::Machine, AmdResult::Human) => s.machine_as_human += 1,
        (_, AmdResult::NotSure) => s.not_sure += 1,
        _ => {}
    }
    if g.truth == Truth::Human {
        s.humans += 1;
        if v.result == AmdResult::Human {
            s.human_budget_ms
                .push(v.decided_after_ms.saturating_sub(g.greeting_end_ms));
            if let Some(end) = v.greeting_end_ms {
                s.greeting_end_err_ms.push(end.abs_diff(g.greeting_end_ms));
            }
        }
    } else {
        s.machines += 1;
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Hello => "hello",
        Kind::HelloName => "hello_name",
        Kind::LateHello => "late_hello",
        Kind::LongSentence => "long_sentence",
        Kind::MachineGreeting => "machine_greeting",
        Kind::ShortGreeting => "short_greeting",
        Kind::LateGreeting => "late_greeting",
    }
}

fn mean(v: &[u32]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64
    }
}

fn p90(v: &[u32]) -> u32 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get((v.len() * 9 / 10).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

fn summarise(config: &'static str, scenario: &'static str, s: Stats) -> Summary {
    let n = f64::from((s.humans + s.machines).max(1));
    Summary {
        config,
        scenario,
        accuracy: f64::from(s.correct) / n,
        human_as_machine_rate: f64::from(s.human_as_machine) / f64::from(s.humans.max(1)),
        machine_as_human_rate: f64::from(s.machine_as_human) / f64::from(s.machines.max(1)),
        not_sure_rate: f64::from(s.not_sure) / n,
        mean_decision_ms_human: s.decision_ms_sum[0] as f64 / f64::from(s.humans.max(1)),
        mean_decision_ms_machine: s.decision_ms_sum[1] as f64 / f64::from(s.machines.max(1)),
        human_budget_ms_mean: mean(&s.human_budget_ms),
        human_budget_ms_p90: p90(&s.human_budget_ms),
        greeting_end_err_ms_mean: mean(&s.greeting_end_err_ms),
        stats: s,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let json = args.iter().any(|a| a == "--json");
    let n: u64 = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 2000 } else { 40 });

    let configs: [(&'static str, AmdConfig); 4] = [
        ("default", AmdConfig::default()),
        ("asterisk", AmdConfig::asterisk()),
        (
            "asterisk_3_words",
            AmdConfig {
                maximum_number_of_words: 3,
                ..AmdConfig::asterisk()
            },
        ),
        ("vicidial", AmdConfig::vicidial()),
    ];
    let scenarios: [(&'static str, SynthConfig); 2] = [
        ("snr_15_40", SynthConfig::default()),
        (
            "snr_5_15",
            SynthConfig {
                snr_db: Some(5.0),
                snr_db_max: Some(15.0),
                ..SynthConfig::default()
            },
        ),
    ];

    let started = Instant::now();
    let mut summaries = Vec::new();
    let mut beeps: BTreeMap<&'static str, BeepStats> = BTreeMap::new();
    let mut audio_s = 0.0f64;
    let mut detect_s = 0.0f64;
    for (scenario, synth_cfg) in scenarios {
        let mut stats: Vec<Stats> = configs.iter().map(|_| Stats::default()).collect();
        let b = beeps.entry(scenario).or_default();
        for seed in 0..n {
            for g in [
                synth::human(seed, &synth_cfg),
                synth::machine(seed, &synth_cfg),
            ] {
                audio_s += g.samples.len() as f64 / 8000.0;
                let t = Instant::now();
                for ((_, cfg), s) in configs.iter().zip(stats.iter_mut()) {
                    let v = verdict_of(*cfg, &g);
                    record(s, &g, &v);
                }
                detect_s += t.elapsed().as_secs_f64();
                let mut d = BeepDetector::default();
                let found: Vec<u32> = g.samples.chunks(FRAME).filter_map(|f| d.push(f)).collect();
                match g.beep {
                    Some(truth) => {
                        b.beeps += 1;
                        if let Some(&end) = found.iter().find(|&&e| e.abs_diff(truth.end_ms) <= 60)
                        {
                            b.found += 1;
                            b.end_err_ms_sum += u64::from(end.abs_diff(truth.end_ms));
                        }
                        b.extra_reports += found
                            .iter()
                            .filter(|&&e| e.abs_diff(truth.end_ms) > 60)
                            .count() as u32;
                    }
                    None => {
                        b.greetings_without_beep += 1;
                        b.false_beeps += found.len() as u32;
                    }
                }
            }
        }
        for ((name, _), s) in configs.iter().zip(stats) {
            summaries.push(summarise(name, scenario, s));
        }
    }
    // detector cost: per configuration, per second of audio
    let us_per_audio_s = detect_s * 1e6 / audio_s / configs.len() as f64;

    if json {
        let out = serde_json::json!({
            "n_per_class": n,
            "summaries": summaries,
            "beeps": beeps,
            "detector_us_per_audio_second": us_per_audio_s,
            "wall_s": started.elapsed().as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        return;
    }
    println!("AMD accuracy on synthetic greetings: {n} humans + {n} machines per scenario");
    println!(
        "{:<18} {:<10} {:>6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>12} {:>8}",
        "config",
        "scenario",
        "acc",
        "H→M",
        "M→H",
        "notsure",
        "t_H ms",
        "t_M ms",
        "budget ms",
        "end err"
    );
    for s in &summaries {
        println!(
            "{:<18} {:<10} {:>5.1}% {:>7.1}% {:>7.1}% {:>7.1}% {:>9.0} {:>9.0} {:>6.0}/{:<5} {:>8.0}",
            s.config,
            s.scenario,
            100.0 * s.accuracy,
            100.0 * s.human_as_machine_rate,
            100.0 * s.machine_as_human_rate,
            100.0 * s.not_sure_rate,
            s.mean_decision_ms_human,
            s.mean_decision_ms_machine,
            s.human_budget_ms_mean,
            s.human_budget_ms_p90,
            s.greeting_end_err_ms_mean,
        );
    }
    println!(
        "(t_H/t_M: mean decision time per truth; budget: decision − true end of the greeting for \
         people called people, mean/p90 ms; end err: mean |greeting_end_ms − true end| ms)"
    );
    for s in summaries
        .iter()
        .filter(|s| s.config == "default" || s.config == "asterisk")
    {
        println!("\n{} / {}: truth × verdict", s.config, s.scenario);
        for (truth, row) in &s.stats.confusion {
            let cell = |k: &str| row.get(k).copied().unwrap_or(0);
            println!(
                "  {:<8} human {:>5}  machine {:>5}  not_sure {:>5}",
                truth,
                cell("human"),
                cell("machine"),
                cell("not_sure")
            );
        }
        let kinds: Vec<String> = s
            .stats
            .by_kind
            .iter()
            .map(|(k, [ok, all])| format!("{k} {:.0}%", 100.0 * f64::from(*ok) / f64::from(*all)))
            .collect();
        println!("  by kind: {}", kinds.join(", "));
        let causes: Vec<String> = s
            .stats
            .causes
            .iter()
            .map(|(c, k)| format!("{c} {k}"))
            .collect();
        println!("  causes: {}", causes.join(", "));
    }
    for (scenario, b) in &beeps {
        println!(
            "\nbeeps / {scenario}: found {}/{} (mean end error {:.0} ms, {} other reports), false beeps {} in {} greetings without a beep",
            b.found,
            b.beeps,
            b.end_err_ms_sum as f64 / f64::from(b.found.max(1)),
            b.extra_reports,
            b.false_beeps,
            b.greetings_without_beep
        );
    }
    println!(
        "\ndetector: {us_per_audio_s:.1} µs of CPU per second of audio per configuration; wall {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
