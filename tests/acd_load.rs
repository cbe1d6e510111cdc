//! Throughput figure (not a test of speed: it asserts nothing about time). Run with
//! `cargo test --release --test acd_load -- --ignored --nocapture`.

mod acd_support;

use std::time::Instant;

use acd_support::*;
use switchboard::acd::*;

/// A busy center: 200 agents in 4 queues, callers arriving faster than they are
/// served (a backlog of hundreds), every call answered and ended.
#[test]
#[ignore = "prints a throughput figure"]
fn busy_center_inputs_per_second() {
    let queues: Vec<QueueConfig> = (0..4)
        .map(|i| queue(&format!("q{i}"), Strategy::LongestIdle))
        .collect();
    let agents = (0..200)
        .map(|i| {
            member(
                &format!("a{i}"),
                &[
                    (&format!("q{}", i % 4), 0),
                    (&format!("q{}", (i + 1) % 4), 1),
                ],
            )
        })
        .collect();
    let mut h = H::new(config(queues, agents));
    let ids: Vec<String> = (0..200).map(|i| format!("a{i}")).collect();
    for a in &ids {
        h.op(a, AgentOp::Login);
    }
    let started = Instant::now();
    let mut inputs = 0u64;
    let mut ringing: Vec<(String, String)> = Vec::new();
    let mut talking: Vec<(String, String)> = Vec::new();
    for n in 0..20_000u64 {
        let c = format!("c{n}");
        let out = h.join(&c, &format!("q{}", n % 4));
        inputs += 1;
        collect(&out, &mut ringing);
        if n % 3 == 0 {
            // Agents answer rings, and some calls end (backlog grows: 2 of 3 joins wait).
            for (c, a) in ringing.drain(..) {
                collect(&h.answer(&c, &a), &mut Vec::new());
                talking.push((c, a));
                inputs += 1;
            }
            if let Some((c, a)) = talking.first().cloned() {
                talking.remove(0);
                collect(&h.end(&c, &a), &mut ringing);
                inputs += 1;
            }
        }
        h.now += secs(1);
    }
    let el = started.elapsed();
    let waiting: usize = (0..4)
        .filter_map(|i| h.acd.queue_stats(&format!("q{i}"), h.now))
        .map(|s| s.waiting)
        .sum();
    println!(
        "{inputs} inputs in {:?}: {:.0} inputs/s; {waiting} callers still waiting",
        el,
        inputs as f64 / el.as_secs_f64()
    );
}

fn collect(out: &[AcdOutput], ringing: &mut Vec<(String, String)>) {
    for o in out {
        if let AcdOutput::Ring { call, agent, .. } = o {
            ringing.push((call.0.clone(), agent.0.clone()));
        }
    }
}
