//! Media relay load tool: N calls on loopback, each phone sending 20 ms RTP packets
//! (50 packets/s per direction) through the relay; reports loss, one-way latency
//! p50/p99/max and CPU per thread group (from /proc/self/task/*/stat).
//!
//! The relay and the phones run on separate tokio runtimes with named threads, so the
//! relay's CPU is counted apart from the load generator's. A second phase sends the same
//! load phone-to-phone without the relay; the difference in latency is what the relay adds.
//!
//! `cargo bench --bench media_load -- [calls ...] [--secs S] [--relay-threads T]`
//! (run by `cargo test --all-targets`, i.e. without `--bench`, it does a 200 ms smoke run).
//! e.g. `cargo bench --bench media_load -- 100 500 --secs 10`

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RelatchPolicy};
use tokio::net::UdpSocket;
use tokio::runtime::Runtime;

const PTIME: Duration = Duration::from_millis(20);
const PAYLOAD: usize = 160;

struct Args {
    calls: Vec<usize>,
    run: Duration,
    relay_threads: usize,
}

fn args() -> Args {
    let mut a = Args {
        calls: Vec::new(),
        run: Duration::from_secs(10),
        relay_threads: 1,
    };
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it:
    // then only a smoke run (10 calls, 200 ms) keeps the test suite fast.
    if !std::env::args().any(|a| a == "--bench") {
        a.calls = vec![10];
        a.run = Duration::from_millis(200);
        return a;
    }
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--secs" => {
                a.run = Duration::from_secs(it.next().and_then(|v| v.parse().ok()).unwrap_or(10))
            }
            "--relay-threads" => {
                a.relay_threads = it.next().and_then(|v| v.parse().ok()).unwrap_or(1)
            }
            _ => {
                if let Ok(n) = s.parse() {
                    a.calls.push(n)
                }
            }
        }
    }
    if a.calls.is_empty() {
        a.calls = vec![100, 500];
    }
    a
}

/// utime + stime in clock ticks (100 Hz) of this process's threads whose name starts with `prefix`.
fn cpu_ticks(prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // after the comm: state is field 3, utime 14, stime 15 (1-based) → indices 11, 12
        let t = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += t(11) + t(12);
    }
    total
}

/// Time the threads named `prefix…` spent runnable but waiting for a CPU, in ns
/// (/proc/self/task/*/schedstat, second field): a starved relay shows up here, not in CPU.
fn runqueue_wait_ns(prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
            continue;
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        total += stat
            .split(' ')
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

fn runtime(name: &'static str, threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

struct Phase {
    sent: u64,
    received: u64,
    latencies_us: Vec<u32>,
    relay_cpu: f64,
    gen_cpu: f64,
    relay_wait: f64,
    gen_wait: f64,
}

/// Pairs of (phone socket, where it sends).
async fn run_load(
    pairs: Vec<(Arc<UdpSocket>, SocketAddr)>,
    run: Duration,
    base: Instant,
) -> (u64, u64, Vec<u32>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let n = pairs.len().max(1) as u32;
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (i, (sock, dst)) in pairs.into_iter().enumerate() {
        let (stop_s, sent_s, sock_s) = (stop.clone(), sent.clone(), sock.clone());
        let offset = PTIME * (i as u32 % n) / n;
        senders.push(tokio::spawn(async move {
            let mut iv = tokio::time::interval_at(tokio::time::Instant::now() + offset, PTIME);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut pkt = [0u8; 12 + PAYLOAD];
            pkt[0] = 0x80;
            pkt[8..12].copy_from_slice(&(i as u32).to_be_bytes());
            let mut seq: u16 = 0;
            while !stop_s.load(Relaxed) {
                iv.tick().await;
                seq = seq.wrapping_add(1);
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                pkt[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
                let t = base.elapsed().as_nanos() as u64;
                pkt[12..20].copy_from_slice(&t.to_be_bytes());
                if sock_s.send_to(&pkt, dst).await.is_ok() {
                    sent_s.fetch_add(1, Relaxed);
                }
            }
        }));
        let stop_r = stop.clone();
        receivers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(run.as_secs() as usize * 60 + 16);
            let mut buf = [0u8; 2048];
            loop {
                let r = tokio::time::timeout(Duration::from_millis(100), sock.recv_from(&mut buf))
                    .await;
                match r {
                    Ok(Ok((len, _))) if len >= 20 => {
                        let t = u64::from_be_bytes(buf[12..20].try_into().unwrap_or([0; 8]));
                        let now = base.elapsed().as_nanos() as u64;
                        lat.push((now.saturating_sub(t) / 1000) as u32);
                    }
                    Ok(_) => {}
                    Err(_) if stop_r.load(Relaxed) => break,
                    Err(_) => {}
                }
            }
            lat
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let mut all = Vec::new();
    for r in receivers {
        if let Ok(l) = r.await {
            all.extend(l);
        }
    }
    (sent.load(Relaxed), all.len() as u64, all)
}

fn phase(
    calls: usize,
    run: Duration,
    relay_threads: usize,
    through_relay: bool,
    port_base: u16,
) -> Phase {
    let relay_rt = runtime("relay", relay_threads);
    let gen_rt = runtime("gen", 1);
    let base = Instant::now();
    let engine = {
        let mut c = MediaConfig::new(
            "127.0.0.1".parse().unwrap(),
            // slack: other processes may hold a few ports of the range
            port_base..=port_base + (calls as u16) * 4 + 203,
        );
        c.relatch = RelatchPolicy::Never;
        MediaEngine::new(c).expect("engine")
    };
    // phones
    let phones: Vec<(Arc<UdpSocket>, Arc<UdpSocket>)> = gen_rt.block_on(async {
        let mut v = Vec::with_capacity(calls);
        for _ in 0..calls {
            let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
            let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
            v.push((a, b));
        }
        v
    });
    let mut pairs = Vec::with_capacity(calls * 2);
    {
        let _guard = relay_rt.enter();
        for (i, (a, b)) in phones.iter().enumerate() {
            let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            if through_relay {
                let id = MediaCallId(format!("load-{i}"));
                let ep_a = engine.offer(&id, Leg::A, Some(aa)).expect("offer A");
                let ep_b = engine.offer(&id, Leg::B, Some(ba)).expect("offer B");
                pairs.push((a.clone(), ep_a.rtp));
                pairs.push((b.clone(), ep_b.rtp));
            } else {
                pairs.push((a.clone(), ba));
                pairs.push((b.clone(), aa));
            }
        }
    }
    let (r0, g0, w0, v0, t0) = (
        cpu_ticks("relay"),
        cpu_ticks("gen"),
        runqueue_wait_ns("relay"),
        runqueue_wait_ns("gen"),
        Instant::now(),
    );
    let (sent, received, mut lat) = gen_rt.block_on(run_load(pairs, run, base));
    let (r1, g1, w1, v1, wall) = (
        cpu_ticks("relay"),
        cpu_ticks("gen"),
        runqueue_wait_ns("relay"),
        runqueue_wait_ns("gen"),
        t0.elapsed(),
    );
    lat.sort_unstable();
    let secs_f = wall.as_secs_f64();
    drop(phones);
    drop(engine);
    relay_rt.shutdown_timeout(Duration::from_secs(1));
    gen_rt.shutdown_timeout(Duration::from_secs(1));
    Phase {
        sent,
        received,
        latencies_us: lat,
        relay_cpu: (r1 - r0) as f64 / 100.0 / secs_f * 100.0,
        gen_cpu: (g1 - g0) as f64 / 100.0 / secs_f * 100.0,
        relay_wait: (w1 - w0) as f64 / 1e9 / secs_f * 100.0,
        gen_wait: (v1 - v0) as f64 / 1e9 / secs_f * 100.0,
    }
}

fn pct(v: &[u32], p: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn main() {
    let a = args();
    println!(
        "| calls | path | packets/s relayed | loss % | latency p50 µs | p99 µs | max µs | relay CPU % | relay runqueue wait % | generator CPU % | generator runqueue wait % |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &calls in &a.calls {
        for through in [true, false] {
            let p = phase(calls, a.run, a.relay_threads, through, 28000);
            let loss = if p.sent == 0 {
                0.0
            } else {
                (p.sent.saturating_sub(p.received)) as f64 * 100.0 / p.sent as f64
            };
            println!(
                "| {calls} | {} | {:.0} | {loss:.3} | {} | {} | {} | {} | {} | {:.0} | {:.1} |",
                if through {
                    "relay"
                } else {
                    "direct (baseline)"
                },
                p.received as f64 / a.run.as_secs_f64(),
                pct(&p.latencies_us, 0.50),
                pct(&p.latencies_us, 0.99),
                p.latencies_us.last().copied().unwrap_or(0),
                if through {
                    format!("{:.1}", p.relay_cpu)
                } else {
                    "–".into()
                },
                if through {
                    format!("{:.1}", p.relay_wait)
                } else {
                    "–".into()
                },
                p.gen_cpu,
                p.gen_wait,
            );
        }
    }
}
