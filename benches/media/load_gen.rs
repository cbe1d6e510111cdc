//! The phones of `benches/media_load.rs`: plain threads (`gen0`, `gen1`, …) on level-triggered
//! epoll. [`run`] hands each thread its phones and sockets: shared sockets go to the batched
//! generator of `batch_gen.rs` (the default), a socket per phone (`--per-phone-sockets`) to
//! [`worker`] here, which costs about one syscall per packet each way (what a relay meets when
//! every phone is its own host).
//!
//! Each thread owns every `threads`-th phone. It sends: phone k of its n phones at offsets
//! k × 20 ms / n, every 20 ms, a 172-byte RTP packet (PT 0, SSRC = phone index) with the send
//! time (ns since `base`) in the first 8 payload bytes. It receives: one `recvfrom` per ready
//! socket per `epoll_wait` (level-triggered: a socket with more queued comes back next round)
//! and records the one-way latency. After `run` it stops sending and keeps receiving until the
//! sockets have been quiet for 300 ms (at most 10 s: a relay still flushing a standing queue
//! then counts the rest as lost).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

pub const PTIME_NS: u64 = 20_000_000;
pub const PACKET: usize = 12 + 160;
pub const QUIET: Duration = Duration::from_millis(300);
pub const FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// What one run measured.
pub struct Outcome {
    pub sent: u64,
    pub send_failed: u64,
    /// One-way latency of every packet received, µs, unsorted.
    pub latencies_us: Vec<u32>,
    /// A generator thread gave up waiting for the relay to go quiet.
    pub flush_cut: bool,
    /// Per-phone sockets only: packets a phone received from another phone than its call's
    /// other one (SSRC ≠ its own ^ 1): a relay that routes to the wrong leg. Shared sockets
    /// cannot tell and leave it 0.
    pub misrouted: u64,
    /// CPU time of the generator threads, and their time runnable but not running, ns.
    pub cpu_ns: u64,
    pub runqueue_wait_ns: u64,
}

/// Runs the phones for `run` on `threads` generator threads. `socks` are the generator's
/// sockets, `phones` (index into `socks`, where it sends) its phones; phone i's SSRC is i.
/// Socket s belongs to thread s % threads and must carry only phones of that thread (phone i
/// runs on thread i % threads). `batched`: `batch_gen.rs`'s threads; else one phone per
/// socket and one syscall per packet.
pub fn run(
    socks: Vec<UdpSocket>,
    phones: Vec<(usize, SocketAddr)>,
    run: Duration,
    threads: usize,
    base: Instant,
    batched: bool,
) -> std::io::Result<Outcome> {
    let groups = threads.max(1);
    if !batched && socks.len() != phones.len() {
        return Err(std::io::Error::other(
            "per-phone generator: one socket per phone",
        ));
    }
    let all = phones.len() as u32;
    for s in &socks {
        s.set_nonblocking(true)?;
    }
    // socket s → (its thread, its index there)
    let local: Vec<(usize, usize)> = (0..socks.len()).map(|s| (s % groups, s / groups)).collect();
    let mut thread_socks: Vec<Vec<UdpSocket>> = (0..groups).map(|_| Vec::new()).collect();
    for (s, sock) in socks.into_iter().enumerate() {
        thread_socks[s % groups].push(sock);
    }
    let mut thread_phones: Vec<Vec<(u32, usize, SocketAddr)>> =
        (0..groups).map(|_| Vec::new()).collect();
    for (i, (s, dst)) in phones.into_iter().enumerate() {
        let (g, k) = *local
            .get(s)
            .ok_or_else(|| std::io::Error::other("phone on an unknown socket"))?;
        if g != i % groups {
            return Err(std::io::Error::other("phone on another thread's socket"));
        }
        thread_phones[g].push((i as u32, k, dst));
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for (g, (socks, phones)) in thread_socks.into_iter().zip(thread_phones).enumerate() {
        let b = std::thread::Builder::new().name(format!("gen{g}"));
        handles.push(if !batched {
            let mut socks: Vec<Option<UdpSocket>> = socks.into_iter().map(Some).collect();
            let part = phones
                .into_iter()
                .filter_map(|(i, k, d)| Some((i, socks.get_mut(k)?.take()?, d)))
                .collect();
            b.spawn(move || worker(part, run, base, start))?
        } else {
            b.spawn(move || crate::batch_gen::worker(socks, phones, all, run, base, start))?
        });
    }
    let mut out = Outcome {
        sent: 0,
        send_failed: 0,
        latencies_us: Vec::new(),
        flush_cut: false,
        misrouted: 0,
        cpu_ns: 0,
        runqueue_wait_ns: 0,
    };
    for h in handles {
        let w = h
            .join()
            .map_err(|_| std::io::Error::other("generator thread panicked"))??;
        out.sent += w.sent;
        out.send_failed += w.send_failed;
        out.latencies_us.extend(w.latencies_us);
        out.flush_cut |= w.flush_cut;
        out.misrouted += w.misrouted;
        out.cpu_ns += w.cpu_ns;
        out.runqueue_wait_ns += w.runqueue_wait_ns;
    }
    Ok(out)
}

struct Epoll(i32);

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the fd came from epoll_create1 and is closed once.
        unsafe { libc::close(self.0) };
    }
}

fn worker(
    part: Vec<(u32, UdpSocket, SocketAddr)>,
    run: Duration,
    base: Instant,
    start: Instant,
) -> std::io::Result<Outcome> {
    // SAFETY: plain syscalls on fds we own; the event buffer outlives each epoll_wait.
    let ep = Epoll(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
    if ep.0 < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for (k, (_, s, _)) in part.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: k as u64,
        };
        if unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let n = part.len().max(1) as u64;
    let slot_ns = (PTIME_NS / n).max(1);
    let run_ns = run.as_nanos() as u64;
    let mut out = Outcome {
        sent: 0,
        send_failed: 0,
        latencies_us: Vec::with_capacity((run_ns / PTIME_NS + 8) as usize * part.len()),
        flush_cut: false,
        misrouted: 0,
        cpu_ns: 0,
        runqueue_wait_ns: 0,
    };
    let (cpu0, wait0) = (thread_cpu_ns(), thread_wait_ns());
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut pkt = [0u8; PACKET];
    pkt[0] = 0x80; // V=2, PT 0
    let mut buf = [0u8; 2048];
    let mut done: u64 = 0; // packets sent so far
    let mut last_rx = Instant::now();
    loop {
        let el = start.elapsed().as_nanos() as u64;
        let sending = el < run_ns && !part.is_empty();
        if sending {
            let due = el / slot_ns + 1;
            while done < due {
                let (idx, sock, dst) = &part[(done % n) as usize];
                let seq = (done / n + 1) as u16;
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                pkt[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
                pkt[8..12].copy_from_slice(&idx.to_be_bytes());
                let t = base.elapsed().as_nanos() as u64;
                pkt[12..20].copy_from_slice(&t.to_be_bytes());
                match sock.send_to(&pkt, dst) {
                    Ok(_) => out.sent += 1,
                    Err(_) => out.send_failed += 1,
                }
                done += 1;
            }
        }
        let timeout_ms = if sending {
            let next = done * slot_ns;
            next.saturating_sub(start.elapsed().as_nanos() as u64)
                .div_ceil(1_000_000) as i32
        } else {
            50
        };
        let k =
            unsafe { libc::epoll_wait(ep.0, events.as_mut_ptr(), events.len() as i32, timeout_ms) };
        if k > 0 {
            for ev in &events[..k as usize] {
                let idx = { ev.u64 } as usize;
                let Some((me, sock, _)) = part.get(idx) else {
                    continue;
                };
                if let Ok((len, _)) = sock.recv_from(&mut buf) {
                    if len >= 20 {
                        let ssrc = u32::from_be_bytes(buf[8..12].try_into().unwrap_or([0; 4]));
                        if ssrc != me ^ 1 {
                            out.misrouted += 1;
                        }
                        let t = u64::from_be_bytes(buf[12..20].try_into().unwrap_or([0; 8]));
                        let now = base.elapsed().as_nanos() as u64;
                        out.latencies_us.push((now.saturating_sub(t) / 1000) as u32);
                    }
                }
            }
            last_rx = Instant::now();
        }
        if !sending {
            let since_end = start.elapsed().saturating_sub(run);
            if last_rx.elapsed() >= QUIET && since_end >= QUIET {
                break;
            }
            if since_end > FLUSH_LIMIT {
                out.flush_cut = true;
                break;
            }
        }
    }
    out.cpu_ns = thread_cpu_ns().saturating_sub(cpu0);
    out.runqueue_wait_ns = thread_wait_ns().saturating_sub(wait0);
    Ok(out)
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), ns.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Run-queue wait of the calling thread (/proc/thread-self/schedstat, second field), ns.
pub fn thread_wait_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split(' ').nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
