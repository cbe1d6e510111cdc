//! Media relay load tool (`make bench-media`): N calls on loopback, each phone sending a
//! 172-byte RTP packet every 20 ms (50 packets/s per direction) through a relay; reports
//! loss, one-way latency p50/p99/max, the latency the relay adds over a phone-to-phone
//! baseline, and the relay's CPU (per call) and run-queue wait.
//!
//! Per N, up to five phases run one after the other with the same load generator:
//! * `direct`: phone to phone, no relay (the baseline: what the generator and the kernel cost);
//! * `switchboard, io_uring sends (default)` and `switchboard, sendto`: through our
//!   [`MediaEngine`] (its epoll relay threads `relay-N`) with `relay_io = io_uring` (a
//!   round's sends in one `io_uring_enter`) and `relay_io = epoll` (a `sendto` each);
//! * `switchboard, kernel forwarding`: the same engine with `kernel_forwarding` on (the
//!   eBPF fast path, `switchboard::media::kernel`; needs root and Linux 6.6+, else the phase
//!   says unavailable): its relay threads see a call's first packets, the kernel the rest;
//! * `rtpengine`: through the Debian `rtpengine` daemon (userspace, `--table=-1`), started and
//!   stopped by the tool, each call set up with ng `offer`/`answer` and torn down with
//!   `delete` (`benches/media/rtpengine_ng.rs`);
//! * with `--floor`, `epoll floor`: a bench-only relay thread doing nothing but recvfrom/sendto
//!   on level-triggered epoll (`benches/media/floor_relay.rs`): the kernel's share of the cost;
//! * with `--floor-uring`, `io_uring floor`: the same with io_uring instead (multishot receives
//!   on a provided-buffer ring, sends with their destination, one `io_uring_enter` per round
//!   for all sockets: `benches/media/floor_relay_uring.rs`);
//! * with `--floor-uring-send`, the epoll floor's receive side with the sends batched into one
//!   `io_uring_enter` per round (`benches/media/floor_relay_uring_send.rs`).
//!
//! N steps up; once a relay loses packets at one N it is skipped at higher N (`--all` runs
//! every step anyway). The phones are plain threads on level-triggered epoll
//! (`benches/media/load_gen.rs`: send times spread evenly over the 20 ms, the send time stamped
//! into the payload). By default a thread's phones share its sockets (`--gen-sockets K`, 1)
//! and send/receive with `sendmmsg`/`recvmmsg` in batches of 64 (`benches/media/batch_gen.rs`),
//! so the relay sees many legs latched to one source address; `--per-phone-sockets` gives
//! every phone its own socket and costs one syscall per packet each way. CPU comes from
//! /proc/{self,PID}/task/*/{stat,schedstat} (threads `relay*`, `gen*`, all of rtpengine's),
//! and for the whole machine from /proc/stat (user, system, irq, softirq: the kernel's share
//! of a relayed packet, which runs in softirq or in the sender's system call, whoever the
//! sender is): "machine CPU over direct" is what a relay adds to the machine, per call.
//!
//! ```text
//! cargo bench --bench media_load -- [N ...] [--secs S] [--relay-threads T] [--coalesce-us U] [--gen-threads G]
//!     [--gen-sockets K | --per-phone-sockets] [--ports LO-HI] [--ng-port P]
//!     [--rtpengine[=BIN]] [--rtpengine-threads T] [--floor] [--floor-uring] [--floor-uring-send] [--no-sendto] [--no-uring] [--no-kernel] [--no-switchboard] [--no-direct] [--all]
//! ```
//! e.g. `cargo bench --bench media_load -- 250 500 1000 2000 --secs 10 --rtpengine`.
//! Run by `cargo test --all-targets` (i.e. without `--bench`) it does a 200 ms smoke run of
//! 10 calls through our relay and checks the ng client's bencode.

#[path = "media/batch_gen.rs"]
mod batch_gen;
#[path = "media/floor_relay.rs"]
mod floor_relay;
#[path = "media/floor_relay_uring.rs"]
mod floor_relay_uring;
#[path = "media/floor_relay_uring_send.rs"]
mod floor_relay_uring_send;
#[path = "media/load_gen.rs"]
mod load_gen;
#[path = "media/rtpengine_ng.rs"]
mod rtpengine_ng;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RelatchPolicy, RelayIo};
use tokio::runtime::Runtime;

use rtpengine_ng::{phone_sdp, NgClient, Rtpengine};

/// Both relays take their ports from here (`--ports LO-HI`), below the kernel's ephemeral
/// range the phones use.
const RELAY_PORTS: (u16, u16) = (10000, 24999);
/// rtpengine's ng control port (`--ng-port P`).
const NG_PORT: u16 = 22299;

struct Args {
    calls: Vec<usize>,
    run: Duration,
    relay_threads: usize,
    /// `--coalesce-us`: [`MediaConfig::relay_coalesce`]; `None` = the default.
    coalesce_us: Option<u64>,
    gen_threads: usize,
    /// `--gen-sockets K`: sockets per generator thread, shared by its phones (batched I/O);
    /// `None` (`--per-phone-sockets`): one socket per phone, one syscall per packet.
    gen_sockets: Option<usize>,
    ports: (u16, u16),
    ng_port: u16,
    rtpengine: Option<String>,
    rtpengine_threads: Option<usize>,
    switchboard: bool,
    direct: bool,
    floor: bool,
    /// `--floor-uring`: the bench-only io_uring floor relay (`benches/media/floor_relay_uring.rs`).
    floor_uring: bool,
    /// `--floor-uring-send`: the hybrid floor (epoll + recvfrom in, io_uring sends out).
    floor_uring_send: bool,
    /// `--no-sendto` / `--no-uring`: leave out our relay's `relay_io = epoll` (a `sendto`
    /// per packet) / `relay_io = io_uring` (the default) phase.
    sendto: bool,
    uring: bool,
    /// `--no-kernel`: leave out the `kernel_forwarding` phase.
    kernel: bool,
    all: bool,
    smoke: bool,
}

fn args() -> Args {
    let mut a = Args {
        calls: Vec::new(),
        run: Duration::from_secs(10),
        relay_threads: 1,
        coalesce_us: None,
        gen_threads: 1,
        gen_sockets: Some(1),
        ports: RELAY_PORTS,
        ng_port: NG_PORT,
        rtpengine: None,
        rtpengine_threads: None,
        switchboard: true,
        direct: true,
        floor: false,
        floor_uring: false,
        floor_uring_send: false,
        sendto: true,
        uring: true,
        kernel: true,
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
            "--coalesce-us" => a.coalesce_us = Some(num(it.next(), 0) as u64),
            "--gen-threads" => a.gen_threads = num(it.next(), 1),
            "--gen-sockets" => a.gen_sockets = Some(num(it.next(), 1).max(1)),
            "--per-phone-sockets" => a.gen_sockets = None,
            "--ng-port" => a.ng_port = num(it.next(), NG_PORT.into()) as u16,
            "--ports" => {
                let v = it.next().unwrap_or_default();
                let (lo, hi) = v.split_once('-').unwrap_or(("", ""));
                match (lo.parse(), hi.parse()) {
                    (Ok(lo), Ok(hi)) if lo < hi => a.ports = (lo, hi),
                    _ => eprintln!("--ports {v:?}: expected LO-HI; using the default"),
                }
            }
            "--rtpengine-threads" => a.rtpengine_threads = Some(num(it.next(), 1)),
            "--rtpengine" => a.rtpengine = Some("rtpengine".into()),
            "--no-switchboard" => a.switchboard = false,
            "--no-direct" => a.direct = false,
            "--floor" => a.floor = true,
            "--floor-uring" => a.floor_uring = true,
            "--floor-uring-send" => a.floor_uring_send = true,
            "--no-sendto" => a.sendto = false,
            "--no-uring" => a.uring = false,
            "--no-kernel" => a.kernel = false,
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

/// The whole machine's busy time so far (all CPUs: user, nice, system, irq, softirq, steal),
/// in clock ticks (100 Hz), from the first line of /proc/stat.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum()
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
    Floor,
    FloorUring,
    FloorUringSend,
    Switchboard,
    /// Our relay with `relay_io = io_uring` (the default).
    SwitchboardUring,
    /// The default relay with `kernel_forwarding` on.
    SwitchboardKernel,
    Rtpengine,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Direct => "direct (baseline)",
            Target::Floor => "epoll floor (bench-only)",
            Target::FloorUring => "io_uring floor (bench-only)",
            Target::FloorUringSend => "epoll + io_uring sends floor (bench-only)",
            Target::Switchboard => "switchboard, sendto",
            Target::SwitchboardUring => "switchboard, io_uring sends (default)",
            Target::SwitchboardKernel => "switchboard, kernel forwarding",
            Target::Rtpengine => "rtpengine",
        }
    }
}

struct Phase {
    sent: u64,
    /// See `load_gen::Outcome::misrouted`.
    misrouted: u64,
    send_failed: u64,
    received: u64,
    latencies_us: Vec<u32>,
    relay_cpu: f64,
    relay_wait: f64,
    gen_cpu: f64,
    gen_wait: f64,
    /// CPU per packet, ns: the relay's per packet relayed (received by a phone), the
    /// generator's per packet sent or received. Unlike the shares above these stay comparable
    /// when a loaded box starves the generator and less than the nominal load is offered.
    relay_ns_per_packet: f64,
    gen_ns_per_packet: f64,
    /// The whole machine's busy share (100 = one core).
    machine_cpu: f64,
}

fn phase(calls: usize, a: &Args, target: Target) -> Result<Phase, String> {
    // the control side's runtime (the relay has threads of its own, `relay-N`)
    let relay_rt = runtime("ctl", 1);
    let base = Instant::now();
    // phone 2c is call c's A, 2c+1 its B; phone i sends from socket i % sockets
    let sockets = match a.gen_sockets {
        None => 2 * calls,
        Some(k) => (k * a.gen_threads.max(1)).min(2 * calls).max(1),
    };
    let mut socks = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let s = match a.gen_sockets {
            None => UdpSocket::bind("127.0.0.1:0"),
            Some(_) => batch_gen::shared_socket(),
        };
        socks.push(s.map_err(|e| format!("phone socket: {e}"))?);
    }
    let local: Vec<SocketAddr> = socks
        .iter()
        .map(|s| s.local_addr().map_err(|e| format!("phone socket: {e}")))
        .collect::<Result<_, _>>()?;
    let addrs: Vec<(SocketAddr, SocketAddr)> = (0..calls)
        .map(|c| (local[2 * c % sockets], local[(2 * c + 1) % sockets]))
        .collect();
    let mut engine = None;
    let mut floor = None;
    let mut floor_uring = None;
    let mut floor_uring_send = None;
    let mut rtpengine = None;
    let mut ng = None;
    // where phone A and phone B of each call send
    let dsts: Vec<(SocketAddr, SocketAddr)> = match target {
        Target::Direct => addrs.iter().map(|&(aa, ba)| (ba, aa)).collect(),
        Target::Floor => {
            let (f, v) =
                floor_relay::FloorRelay::start(&addrs).map_err(|e| format!("floor relay: {e}"))?;
            floor = Some(f);
            v
        }
        Target::FloorUring => {
            let (f, v) = floor_relay_uring::FloorRelayUring::start(&addrs)
                .map_err(|e| format!("io_uring floor relay: {e}"))?;
            floor_uring = Some(f);
            v
        }
        Target::FloorUringSend => {
            let (f, v) = floor_relay_uring_send::FloorRelayUringSend::start(&addrs)
                .map_err(|e| format!("io_uring send floor relay: {e}"))?;
            floor_uring_send = Some(f);
            v
        }
        Target::Switchboard | Target::SwitchboardUring | Target::SwitchboardKernel => {
            let mut c = MediaConfig::new("127.0.0.1".parse().expect("ip"), a.ports.0..=a.ports.1);
            c.relatch = RelatchPolicy::Never;
            c.relay_threads = a.relay_threads;
            c.relay_io = match target {
                Target::Switchboard => RelayIo::Epoll,
                _ => RelayIo::IoUring,
            };
            c.kernel_forwarding = target == Target::SwitchboardKernel;
            if let Some(us) = a.coalesce_us {
                c.relay_coalesce = Duration::from_micros(us);
            }
            let e = MediaEngine::new(c).map_err(|e| e.to_string())?;
            if target == Target::SwitchboardKernel && e.kernel_forwarding().is_none() {
                return Err(KERNEL_UNAVAILABLE.to_string());
            }
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
            let r = Rtpengine::start(bin, a.ng_port, a.ports, threads, &log.to_string_lossy())
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
    for (c, (da, db)) in dsts.iter().enumerate() {
        load.push((2 * c % sockets, *da));
        load.push(((2 * c + 1) % sockets, *db));
    }
    let (relay_dir, relay_prefix) = match &rtpengine {
        Some(r) => (format!("/proc/{}", r.pid()), ""),
        None => ("/proc/self".to_string(), "relay"),
    };
    // io_uring's worker threads (`iou-wrk-*`, should a request be punted to them) work for
    // the relay: counted with it
    let in_process = rtpengine.is_none();
    let snapshot = || {
        let iou =
            |f: &dyn Fn(&str, &str) -> u64| if in_process { f(&relay_dir, "iou-") } else { 0 };
        (
            cpu_ticks(&relay_dir, relay_prefix) + iou(&cpu_ticks),
            runqueue_wait_ns(&relay_dir, relay_prefix) + iou(&runqueue_wait_ns),
        )
    };
    let (r0, w0) = snapshot();
    let m0 = machine_busy_ticks();
    let t0 = Instant::now();
    let out = load_gen::run(
        socks,
        load,
        a.run,
        a.gen_threads,
        base,
        a.gen_sockets.is_some(),
    )
    .map_err(|e| format!("generator: {e}"))?;
    // saturating below: a relay thread of the previous phase still ending at the first
    // snapshot and gone at the second takes its counts with it
    let (r1, w1) = snapshot();
    let m1 = machine_busy_ticks();
    let secs = t0.elapsed().as_secs_f64();
    let mut lat = out.latencies_us;
    lat.sort_unstable();
    let received = lat.len() as u64;
    if out.flush_cut {
        eprintln!(
            "{calls} calls, {}: the relay was still flushing 10 s after the end",
            target.name()
        );
    }
    if let Some(mut client) = ng {
        for i in 0..calls {
            let _ = client.delete(&format!("load-{i}"), "a");
        }
    }
    drop(rtpengine);
    drop(engine);
    drop(floor);
    drop(floor_uring);
    drop(floor_uring_send);
    relay_rt.shutdown_timeout(Duration::from_secs(1));
    let share = |ticks: u64| ticks as f64 / 100.0 / secs * 100.0;
    Ok(Phase {
        sent: out.sent,
        misrouted: out.misrouted,
        send_failed: out.send_failed,
        received: lat.len() as u64,
        latencies_us: lat,
        relay_cpu: share(r1.saturating_sub(r0)),
        relay_wait: w1.saturating_sub(w0) as f64 / 1e9 / secs * 100.0,
        gen_cpu: out.cpu_ns as f64 / 1e9 / secs * 100.0,
        relay_ns_per_packet: r1.saturating_sub(r0) as f64 * 1e7 / (received.max(1) as f64),
        gen_ns_per_packet: out.cpu_ns as f64 / ((out.sent + received).max(1) as f64),
        gen_wait: out.runqueue_wait_ns as f64 / 1e9 / secs * 100.0,
        machine_cpu: share(m1.saturating_sub(m0)),
    })
}

fn pct(v: &[u32], p: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

/// The smoke run of `cargo test --all-targets`: 10 calls for 200 ms through our relay, with
/// the batched generator and with the per-phone one, then through the io_uring floor relay
/// (skipped where io_uring is unavailable); every packet must come through.
fn smoke(mut a: Args) {
    let runs = [
        (Some(1), Target::Switchboard, "batched"),
        (None, Target::Switchboard, "per-phone sockets"),
        (Some(1), Target::SwitchboardUring, "io_uring sends, batched"),
        (
            None,
            Target::SwitchboardUring,
            "io_uring sends, per-phone sockets",
        ),
        (
            Some(1),
            Target::SwitchboardKernel,
            "kernel forwarding, batched",
        ),
        (Some(1), Target::FloorUring, "io_uring floor, batched"),
        (
            None,
            Target::FloorUring,
            "io_uring floor, per-phone sockets",
        ),
        (
            Some(1),
            Target::FloorUringSend,
            "epoll + io_uring sends, batched",
        ),
        (
            None,
            Target::FloorUringSend,
            "epoll + io_uring sends, per-phone",
        ),
    ];
    for (mode, target, name) in runs {
        a.gen_sockets = mode;
        match phase(a.calls[0], &a, target) {
            Ok(p)
                if p.received > 0
                    && p.received == p.sent
                    && p.send_failed == 0
                    && p.misrouted == 0 =>
            {
                println!("smoke, {name}: {} packets relayed", p.received)
            }
            Ok(p) => {
                eprintln!(
                    "smoke, {name}: sent {} (failed {}), received {} ({} from the wrong phone)",
                    p.sent, p.send_failed, p.received, p.misrouted
                );
                std::process::exit(1);
            }
            Err(e)
                if matches!(target, Target::FloorUring | Target::FloorUringSend)
                    && !uring_available() =>
            {
                println!("smoke, {name}: skipped, io_uring unavailable here ({e})")
            }
            Err(e) if e == KERNEL_UNAVAILABLE => println!("smoke, {name}: skipped, {e}"),
            Err(e) => {
                eprintln!("smoke, {name}: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Whether this process may set up an io_uring (seccomp or `kernel.io_uring_disabled` may
/// forbid it).
fn uring_available() -> bool {
    io_uring::IoUring::new(8).is_ok()
}

const KERNEL_UNAVAILABLE: &str =
    "kernel forwarding unavailable here (not root, or Linux before 6.6; the engine logged why)";

fn main() {
    let a = args();
    if a.smoke {
        rtpengine_ng::self_check();
        batch_gen::self_check();
        smoke(a);
        return;
    }
    let rtpengine_threads = a.rtpengine_threads.unwrap_or(a.relay_threads);
    println!(
        "# {} s per phase; switchboard relay threads {} (coalesce {}), rtpengine --num-threads {}, generator threads {} ({})",
        a.run.as_secs_f64(),
        a.relay_threads,
        a.coalesce_us
            .map_or("default".to_string(), |us| format!("{us} µs")),
        rtpengine_threads,
        a.gen_threads,
        match a.gen_sockets {
            None => "a socket per phone, sendto/recvfrom".to_string(),
            Some(k) => format!("{k} shared socket(s) per thread, sendmmsg/recvmmsg ×{}", batch_gen::BATCH),
        }
    );
    println!(
        "| calls | path | packets/s sent / received | loss % | p50 µs | p99 µs | max µs | added p50 / p99 µs | relay CPU % | CPU µs per call-s | relay run-queue wait % | generator CPU % | generator run-queue wait % | relay CPU ns / packet | generator CPU ns / packet | machine CPU % | machine CPU over direct, µs per call-s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut targets = Vec::new();
    if a.direct {
        targets.push(Target::Direct);
    }
    if a.floor {
        targets.push(Target::Floor);
    }
    if a.floor_uring {
        targets.push(Target::FloorUring);
    }
    if a.floor_uring_send {
        targets.push(Target::FloorUringSend);
    }
    if a.switchboard && a.sendto {
        targets.push(Target::Switchboard);
    }
    if a.switchboard && a.uring {
        targets.push(Target::SwitchboardUring);
    }
    if a.switchboard && a.kernel {
        targets.push(Target::SwitchboardKernel);
    }
    if a.rtpengine.is_some() {
        targets.push(Target::Rtpengine);
    }
    let mut lossy: Vec<Target> = Vec::new();
    for &calls in &a.calls {
        let mut baseline: Option<(u32, u32)> = None;
        let mut direct_machine: Option<f64> = None;
        for &t in &targets {
            if lossy.contains(&t) && !a.all && t != Target::Direct {
                println!(
                    "| {calls} | {} | skipped: lost packets at a lower N | | | | | | | | | | | | | | |",
                    t.name()
                );
                continue;
            }
            let p = match phase(calls, &a, t) {
                Ok(p) => p,
                Err(e) => {
                    println!(
                        "| {calls} | {} | failed: {e} | | | | | | | | | | | | | | |",
                        t.name()
                    );
                    if a.smoke {
                        std::process::exit(1);
                    }
                    continue;
                }
            };
            let offered = p.sent + p.send_failed;
            let nominal = calls as f64 * 100.0 * a.run.as_secs_f64();
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
            if t == Target::Direct {
                direct_machine = Some(p.machine_cpu);
            }
            let machine_added = match direct_machine {
                Some(d) if relay => {
                    format!("{:.0}", (p.machine_cpu - d) / 100.0 / calls as f64 * 1e6)
                }
                _ => dash(),
            };
            println!(
                "| {calls} | {} | {:.0}{} / {:.0} | {loss:.3}{} | {p50} | {p99} | {} | {added} | {} | {} | {} | {:.0} | {:.1} | {} | {:.0} | {:.1} | {machine_added} |",
                t.name(),
                offered as f64 / a.run.as_secs_f64(),
                // the generator paces by the clock and stops at the end of the run: a starved
                // generator offers less than the nominal 100 packets/s per call
                if (offered as f64) < 0.99 * nominal { " (generator behind)" } else { "" },
                p.received as f64 / a.run.as_secs_f64(),
                if p.send_failed > 0 { format!(" ({} send errors)", p.send_failed) } else { String::new() },
                p.latencies_us.last().copied().unwrap_or(0),
                if relay { format!("{:.1}", p.relay_cpu) } else { dash() },
                if relay { format!("{:.0}", p.relay_cpu / 100.0 / calls as f64 * 1e6) } else { dash() },
                if relay { format!("{:.1}", p.relay_wait) } else { dash() },
                p.gen_cpu,
                p.gen_wait,
                if relay { format!("{:.0}", p.relay_ns_per_packet) } else { dash() },
                p.gen_ns_per_packet,
                p.machine_cpu,
            );
            if a.smoke && p.received == 0 {
                eprintln!("smoke run: no packet came through the relay");
                std::process::exit(1);
            }
        }
    }
}
