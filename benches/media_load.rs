//! Media relay load tool (`make bench-media`): N calls on loopback, each phone sending a
//! 172-byte RTP packet every 20 ms (50 packets/s per direction) through a relay; reports
//! loss, one-way latency p50/p99/max, the latency the relay adds over a phone-to-phone
//! baseline, and the relay's CPU (per call) and run-queue wait.
//!
//! Per N, up to three phases run one after the other with the same load generator:
//! * `direct`: phone to phone, no relay (the baseline: what the generator and the kernel cost);
//! * `switchboard`: through our [`MediaEngine`] on its own tokio runtime (threads `relay*`);
//! * `rtpengine`: through the Debian `rtpengine` daemon (userspace, `--table=-1`), started and
//!   stopped by the tool, each call set up with ng `offer`/`answer` and torn down with
//!   `delete` (`benches/media/rtpengine_ng.rs`).
//!
//! N steps up; once a relay loses packets at one N it is skipped at higher N (`--all` runs
//! every step anyway). The generator paces all phones from one task per generator thread
//! (1 ms ticks, the phones' send times spread evenly over the 20 ms) and stamps the send time
//! into the payload; CPU comes from /proc/{self,PID}/task/*/{stat,schedstat}.
//!
//! ```text
//! cargo bench --bench media_load -- [N ...] [--secs S] [--relay-threads T] [--gen-threads G]
//!     [--rtpengine[=BIN]] [--rtpengine-threads T] [--no-switchboard] [--no-direct] [--all]
//! ```
//! e.g. `cargo bench --bench media_load -- 250 500 1000 2000 --secs 10 --rtpengine`.
//! Run by `cargo test --all-targets` (i.e. without `--bench`) it does a 200 ms smoke run of
//! 10 calls through our relay and checks the ng client's bencode.

#[path = "media/rtpengine_ng.rs"]
mod rtpengine_ng;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RelatchPolicy};
use tokio::net::UdpSocket;
use tokio::runtime::Runtime;

use rtpengine_ng::{phone_sdp, NgClient, Rtpengine};

const PTIME: Duration = Duration::from_millis(20);
const PAYLOAD: usize = 160;
/// Both relays take their ports from here, below the kernel's ephemeral range the phones use.
const RELAY_PORTS: (u16, u16) = (10000, 24999);
const NG_PORT: u16 = 22299;

struct Args {
    calls: Vec<usize>,
    run: Duration,
    relay_threads: usize,
    gen_threads: usize,
    rtpengine: Option<String>,
    rtpengine_threads: Option<usize>,
    switchboard: bool,
    direct: bool,
    all: bool,
    smoke: bool,
}

fn args() -> Args {
    let mut a = Args {
        calls: Vec::new(),
        run: Duration::from_secs(10),
        relay_threads: 1,
        gen_threads: 1,
        rtpengine: None,
        rtpengine_threads: None,
        switchboard: true,
        direct: true,
        all: false,
        smoke: false,
    };
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it:
    // then only a smoke run (10 calls, 200 ms) keeps the test suite fast.
    if !std::env::args().any(|a| a == "--bench") {
        a.calls = vec![10];
        a.run = Duration::from_millis(200);
        a.direct = false;
        a.smoke = true;
        return a;
    }
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, d: usize| v.and_then(|v| v.parse().ok()).unwrap_or(d);
    while let Some(s) = it.next() {
        match s.as_str() {
            "--secs" => a.run = Duration::from_secs(num(it.next(), 10) as u64),
            "--relay-threads" => a.relay_threads = num(it.next(), 1),
            "--gen-threads" => a.gen_threads = num(it.next(), 1),
            "--rtpengine-threads" => a.rtpengine_threads = Some(num(it.next(), 1)),
            "--rtpengine" => a.rtpengine = Some("rtpengine".into()),
            "--no-switchboard" => a.switchboard = false,
            "--no-direct" => a.direct = false,
            "--all" => a.all = true,
            _ => {
                if let Some(bin) = s.strip_prefix("--rtpengine=") {
                    a.rtpengine = Some(bin.into());
                } else if let Ok(n) = s.parse() {
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

/// utime + stime in clock ticks (100 Hz) of the threads of process `proc_dir` (e.g.
/// "/proc/self") whose name starts with `prefix` ("" = all).
fn cpu_ticks(proc_dir: &str, prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("{proc_dir}/task")) else {
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

/// Time the threads named `prefix…` of `proc_dir` spent runnable but waiting for a CPU, in ns
/// (task/*/schedstat, second field): a starved relay shows up here, not in CPU.
fn runqueue_wait_ns(proc_dir: &str, prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("{proc_dir}/task")) else {
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

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Direct,
    Switchboard,
    Rtpengine,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct (baseline)",
            Target::Switchboard => "switchboard",
            Target::Rtpengine => "rtpengine",
        }
    }
}

struct Phase {
    sent: u64,
    send_failed: u64,
    received: u64,
    latencies_us: Vec<u32>,
    relay_cpu: f64,
    relay_wait: f64,
    gen_cpu: f64,
    gen_wait: f64,
}

/// A phone: its socket and where it sends (the relay's port for it, or the other phone).
type Phone = (Arc<UdpSocket>, SocketAddr);

/// Runs the load for `run`: one pacing task per generator thread sends for its share of the
/// phones, one receive task per phone records latencies. Returns (sent, send failures,
/// latencies of every packet received).
async fn run_load(
    phones: Vec<Phone>,
    run: Duration,
    gen_threads: usize,
    base: Instant,
) -> (u64, u64, Vec<u32>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut receivers = Vec::new();
    for (sock, _) in phones.iter() {
        let (sock, stop) = (sock.clone(), stop.clone());
        let expect = (run.as_millis() as usize / 20 + 16).min(1 << 16);
        receivers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(expect);
            let mut buf = [0u8; 2048];
            while let Ok((len, _)) = sock.recv_from(&mut buf).await {
                if len >= 20 {
                    let t = u64::from_be_bytes(buf[12..20].try_into().unwrap_or([0; 8]));
                    let now = base.elapsed().as_nanos() as u64;
                    lat.push((now.saturating_sub(t) / 1000) as u32);
                } else if stop.load(Relaxed) {
                    break; // the end marker (a short datagram) after the drain time
                }
            }
            lat
        }));
    }
    // the pacers: phone k of a group of n sends at offsets k * 20 ms / n, every 20 ms
    let groups = gen_threads.max(1);
    let mut pacers = Vec::new();
    for g in 0..groups {
        let mine: Vec<(usize, Phone)> = phones
            .iter()
            .enumerate()
            .filter(|(i, _)| i % groups == g)
            .map(|(i, p)| (i, p.clone()))
            .collect();
        let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
        pacers.push(tokio::spawn(async move {
            let n = mine.len().max(1) as u64;
            let slot_ns = PTIME.as_nanos() as u64 / n;
            let start = Instant::now();
            let mut done: u64 = 0; // packets sent so far by this pacer
            let mut pkt = [0u8; 12 + PAYLOAD];
            pkt[0] = 0x80;
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !stop.load(Relaxed) {
                tick.tick().await;
                let due = start.elapsed().as_nanos() as u64 / slot_ns.max(1) + 1;
                while done < due {
                    let (idx, (sock, dst)) = &mine[(done % n) as usize];
                    let seq = (done / n + 1) as u16;
                    pkt[1] = 0; // PT 0 (PCMU)
                    pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                    pkt[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
                    pkt[8..12].copy_from_slice(&(*idx as u32).to_be_bytes());
                    let t = base.elapsed().as_nanos() as u64;
                    pkt[12..20].copy_from_slice(&t.to_be_bytes());
                    match sock.try_send_to(&pkt, *dst) {
                        Ok(_) => sent.fetch_add(1, Relaxed),
                        Err(_) => failed.fetch_add(1, Relaxed),
                    };
                    done += 1;
                }
            }
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Relaxed);
    for p in pacers {
        let _ = p.await;
    }
    // let the packets in flight arrive, then wake every receiver with a short end marker; a
    // marker can be dropped by a full socket buffer, so it is repeated (bounded: 10 s)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    if let Ok(marker) = UdpSocket::bind("127.0.0.1:0").await {
        loop {
            let mut waiting = 0;
            for ((sock, _), r) in phones.iter().zip(&receivers) {
                if !r.is_finished() {
                    waiting += 1;
                    if let Ok(addr) = sock.local_addr() {
                        let _ = marker.send_to(b"end", addr).await;
                    }
                }
            }
            if waiting == 0 || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut all = Vec::new();
    let mut stuck = 0;
    for r in receivers {
        if !r.is_finished() {
            stuck += 1;
            r.abort();
            continue;
        }
        if let Ok(l) = r.await {
            all.extend(l);
        }
    }
    if stuck > 0 {
        eprintln!("{stuck} receivers still busy 10 s after the end: their packets count as lost");
    }
    (sent.load(Relaxed), failed.load(Relaxed), all)
}

fn phase(calls: usize, a: &Args, target: Target) -> Result<Phase, String> {
    let relay_rt = runtime("relay", a.relay_threads);
    let gen_rt = runtime("gen", a.gen_threads);
    let base = Instant::now();
    let phones: Vec<(Arc<UdpSocket>, Arc<UdpSocket>)> = gen_rt.block_on(async {
        let mut v = Vec::with_capacity(calls);
        for _ in 0..calls {
            let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
            let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
            v.push((a, b));
        }
        v
    });
    let addrs: Vec<(SocketAddr, SocketAddr)> = phones
        .iter()
        .map(|(a, b)| (a.local_addr().expect("addr"), b.local_addr().expect("addr")))
        .collect();
    let mut engine = None;
    let mut rtpengine = None;
    let mut ng = None;
    // where phone A and phone B of each call send
    let dsts: Vec<(SocketAddr, SocketAddr)> = match target {
        Target::Direct => addrs.iter().map(|&(aa, ba)| (ba, aa)).collect(),
        Target::Switchboard => {
            let mut c = MediaConfig::new(
                "127.0.0.1".parse().expect("ip"),
                RELAY_PORTS.0..=RELAY_PORTS.1,
            );
            c.relatch = RelatchPolicy::Never;
            let e = MediaEngine::new(c).map_err(|e| e.to_string())?;
            let _guard = relay_rt.enter();
            let mut v = Vec::with_capacity(calls);
            for (i, &(aa, ba)) in addrs.iter().enumerate() {
                let id = MediaCallId(format!("load-{i}"));
                let ep_a = e.offer(&id, Leg::A, Some(aa)).map_err(|e| e.to_string())?;
                let ep_b = e.offer(&id, Leg::B, Some(ba)).map_err(|e| e.to_string())?;
                v.push((ep_a.rtp, ep_b.rtp));
            }
            engine = Some(e);
            v
        }
        Target::Rtpengine => {
            let bin = a.rtpengine.as_deref().unwrap_or("rtpengine");
            let threads = a.rtpengine_threads.unwrap_or(a.relay_threads);
            let log = std::env::temp_dir().join(format!("media_load-rtpengine-{calls}.log"));
            let r = Rtpengine::start(bin, NG_PORT, RELAY_PORTS, threads, &log.to_string_lossy())
                .map_err(|e| e.to_string())?;
            let mut client = NgClient::new(r.ng).map_err(|e| e.to_string())?;
            let mut v = Vec::with_capacity(calls);
            for (i, &(aa, ba)) in addrs.iter().enumerate() {
                let id = format!("load-{i}");
                // offer: the caller's (A's) SDP in, the port for B out; answer: the reverse
                let for_b = client
                    .offer(&id, "a", &phone_sdp(aa))
                    .map_err(|e| format!("offer {id}: {e}"))?;
                let for_a = client
                    .answer(&id, "a", "b", &phone_sdp(ba))
                    .map_err(|e| format!("answer {id}: {e}"))?;
                v.push((for_a, for_b));
            }
            rtpengine = Some(r);
            ng = Some(client);
            v
        }
    };
    let mut load = Vec::with_capacity(calls * 2);
    for ((pa, pb), (da, db)) in phones.iter().zip(&dsts) {
        load.push((pa.clone(), *da));
        load.push((pb.clone(), *db));
    }
    let (relay_dir, relay_prefix) = match &rtpengine {
        Some(r) => (format!("/proc/{}", r.pid()), ""),
        None => ("/proc/self".to_string(), "relay"),
    };
    let snapshot = || {
        (
            cpu_ticks(&relay_dir, relay_prefix),
            runqueue_wait_ns(&relay_dir, relay_prefix),
            cpu_ticks("/proc/self", "gen"),
            runqueue_wait_ns("/proc/self", "gen"),
        )
    };
    let (r0, w0, g0, v0) = snapshot();
    let t0 = Instant::now();
    let (sent, send_failed, mut lat) = gen_rt.block_on(run_load(load, a.run, a.gen_threads, base));
    let (r1, w1, g1, v1) = snapshot();
    let secs = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    if let Some(mut client) = ng {
        for i in 0..calls {
            let _ = client.delete(&format!("load-{i}"), "a");
        }
    }
    drop(rtpengine);
    drop(phones);
    drop(engine);
    relay_rt.shutdown_timeout(Duration::from_secs(1));
    gen_rt.shutdown_timeout(Duration::from_secs(1));
    let share = |ticks: u64| ticks as f64 / 100.0 / secs * 100.0;
    Ok(Phase {
        sent,
        send_failed,
        received: lat.len() as u64,
        latencies_us: lat,
        relay_cpu: share(r1 - r0),
        relay_wait: (w1 - w0) as f64 / 1e9 / secs * 100.0,
        gen_cpu: share(g1 - g0),
        gen_wait: (v1 - v0) as f64 / 1e9 / secs * 100.0,
    })
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
    if a.smoke {
        rtpengine_ng::self_check();
    }
    let rtpengine_threads = a.rtpengine_threads.unwrap_or(a.relay_threads);
    println!(
        "# {} s per phase; switchboard relay threads {}, rtpengine --num-threads {}, generator threads {}",
        a.run.as_secs_f64(),
        a.relay_threads,
        rtpengine_threads,
        a.gen_threads
    );
    println!(
        "| calls | path | packets/s relayed | loss % | p50 µs | p99 µs | max µs | added p50 / p99 µs | relay CPU % | CPU µs per call-s | relay run-queue wait % | generator CPU % | generator run-queue wait % |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut targets = Vec::new();
    if a.direct {
        targets.push(Target::Direct);
    }
    if a.switchboard {
        targets.push(Target::Switchboard);
    }
    if a.rtpengine.is_some() {
        targets.push(Target::Rtpengine);
    }
    let mut lossy: Vec<Target> = Vec::new();
    for &calls in &a.calls {
        let mut baseline: Option<(u32, u32)> = None;
        for &t in &targets {
            if lossy.contains(&t) && !a.all && t != Target::Direct {
                println!(
                    "| {calls} | {} | skipped: lost packets at a lower N | | | | | | | | | | |",
                    t.name()
                );
                continue;
            }
            let p = match phase(calls, &a, t) {
                Ok(p) => p,
                Err(e) => {
                    println!(
                        "| {calls} | {} | failed: {e} | | | | | | | | | | |",
                        t.name()
                    );
                    if a.smoke {
                        std::process::exit(1);
                    }
                    continue;
                }
            };
            let offered = p.sent + p.send_failed;
            let lost = offered.saturating_sub(p.received);
            let loss = if offered == 0 {
                0.0
            } else {
                lost as f64 * 100.0 / offered as f64
            };
            if lost > 0 && !lossy.contains(&t) {
                lossy.push(t);
            }
            let (p50, p99) = (pct(&p.latencies_us, 0.50), pct(&p.latencies_us, 0.99));
            let added = match (t, baseline) {
                (Target::Direct, _) => {
                    baseline = Some((p50, p99));
                    "–".to_string()
                }
                (_, Some((b50, b99))) => format!(
                    "{:+} / {:+}",
                    i64::from(p50) - i64::from(b50),
                    i64::from(p99) - i64::from(b99)
                ),
                _ => "–".to_string(),
            };
            let relay = t != Target::Direct;
            let dash = || "–".to_string();
            println!(
                "| {calls} | {} | {:.0} | {loss:.3}{} | {p50} | {p99} | {} | {added} | {} | {} | {} | {:.0} | {:.1} |",
                t.name(),
                p.received as f64 / a.run.as_secs_f64(),
                if p.send_failed > 0 { format!(" ({} send errors)", p.send_failed) } else { String::new() },
                p.latencies_us.last().copied().unwrap_or(0),
                if relay { format!("{:.1}", p.relay_cpu) } else { dash() },
                if relay { format!("{:.0}", p.relay_cpu / 100.0 / calls as f64 * 1e6) } else { dash() },
                if relay { format!("{:.1}", p.relay_wait) } else { dash() },
                p.gen_cpu,
                p.gen_wait,
            );
            if a.smoke && p.received == 0 {
                eprintln!("smoke run: no packet came through the relay");
                std::process::exit(1);
            }
        }
    }
}
