//! The batched phones of `benches/media_load.rs` (the default; `--per-phone-sockets` runs the
//! one-socket-per-phone generator of `load_gen.rs` instead): the phones of one generator
//! thread share that thread's few sockets (`--gen-sockets K`, one by default), send with
//! `sendmmsg` (up to [`BATCH`] packets, each to its own relay port, per syscall) and receive
//! with `recvmmsg` (up to [`BATCH`] per syscall, a few batches per ready socket per wake-up).
//!
//! Pacing and stamping are those of `load_gen.rs`: phone k of a thread's n phones is due at
//! k × 20 ms / n, the send time (ns since `base`) goes into the first 8 payload bytes when the
//! packet is put in its batch (a batch is sent at once, at the latest at the end of the round
//! that filled it), and the one-way latency is taken when the batch holding it is read.
//! Received packets are demultiplexed by SSRC (the sending phone's index): a datagram that is
//! not RTP version 2 from one of our phones is not counted.
//!
//! What the relay sees: every leg's packets come from one of the shared addresses, so several
//! legs latch to the same source address (several calls' phones behind one NAT binding).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Instant;

use crate::load_gen::{
    thread_cpu_ns, thread_wait_ns, Outcome, FLUSH_LIMIT, PACKET, PTIME_NS, QUIET,
};

/// Packets per `sendmmsg` / `recvmmsg`.
pub const BATCH: usize = 64;
/// `recvmmsg` calls per ready socket per wake-up at most: the socket is drained (a starved
/// thread that read one batch per round while sending its whole backlog overflowed even a
/// 32 MB receive buffer), but a round still ends in time for the next sends.
const READS_PER_WAKE: usize = 64;
/// Packets put in batches per round at most: a thread that fell behind (off CPU) reads between
/// the slices of its backlog instead of sending all of it first into a receive queue it does
/// not read meanwhile.
const SENDS_PER_ROUND: u64 = 16 * BATCH as u64;
/// Receive buffer of a shared socket (the kernel doubles it): 200 000 packets/s queue up while
/// a thread is off CPU, and a loopback datagram of 172 bytes takes ~1.6 KB of it (truesize):
/// 32 MB overflowed after ~100 ms behind on a loaded box.
const RCVBUF: i32 = 64 << 20;
const RXBUF: usize = 2048;

/// A bound, non-blocking loopback socket with a large receive buffer (`SO_RCVBUFFORCE` when
/// allowed, else `SO_RCVBUF` up to `rmem_max`).
pub fn shared_socket() -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    s.set_nonblocking(true)?;
    let v = RCVBUF;
    let len = std::mem::size_of::<i32>() as libc::socklen_t;
    let p = (&v as *const i32).cast();
    // SAFETY: setsockopt reads an i32 from a live local.
    unsafe {
        let fd = s.as_raw_fd();
        if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, p, len) != 0 {
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, p, len);
        }
    }
    Ok(s)
}

/// A destination in the form `sendmmsg` takes.
struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

fn raw_addr(a: SocketAddr) -> RawAddr {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    RawAddr {
        storage,
        len: len as libc::socklen_t,
    }
}

/// The packets waiting to go out on one socket: (phone, packet).
struct Pending {
    phones: [u32; BATCH],
    pkts: Vec<[u8; PACKET]>,
    n: usize,
}

/// Sends `p` on `fd` in one `sendmmsg` (more if the kernel takes part of it); a packet the
/// kernel refuses counts as failed and is skipped.
fn flush(fd: i32, p: &mut Pending, dsts: &[RawAddr], out: &mut Outcome) {
    if p.n == 0 {
        return;
    }
    let mut iovs: [libc::iovec; BATCH] = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; BATCH];
    // SAFETY: all-zero is a valid mmsghdr (null pointers, zero lengths).
    let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..p.n {
        iovs[i].iov_base = p.pkts[i].as_mut_ptr().cast();
        iovs[i].iov_len = PACKET;
        let d = &dsts[p.phones[i] as usize];
        hdrs[i].msg_hdr.msg_name = (&d.storage as *const libc::sockaddr_storage) as *mut _;
        hdrs[i].msg_hdr.msg_namelen = d.len;
        hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    let mut at = 0;
    while at < p.n {
        // SAFETY: hdrs[at..n] point at live packets, iovecs and addresses of this frame.
        let r = unsafe { libc::sendmmsg(fd, hdrs[at..].as_mut_ptr(), (p.n - at) as u32, 0) };
        if r <= 0 {
            out.send_failed += 1;
            at += 1;
        } else {
            out.sent += r as u64;
            at += r as usize;
        }
    }
    p.n = 0;
}

/// Receive buffers for one `recvmmsg`.
struct Rx {
    bufs: Vec<[u8; RXBUF]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Rx {
    fn new() -> Box<Self> {
        let mut rx = Box::new(Rx {
            bufs: vec![[0u8; RXBUF]; BATCH],
            iovs: Vec::with_capacity(BATCH),
            // SAFETY: all-zero is a valid mmsghdr.
            hdrs: vec![unsafe { std::mem::zeroed() }; BATCH],
        });
        for i in 0..BATCH {
            let base = rx.bufs[i].as_mut_ptr().cast();
            rx.iovs.push(libc::iovec {
                iov_base: base,
                iov_len: RXBUF,
            });
        }
        for i in 0..BATCH {
            let iov = &mut rx.iovs[i] as *mut libc::iovec;
            rx.hdrs[i].msg_hdr.msg_iov = iov;
            rx.hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        rx
    }

    /// One `recvmmsg` on `fd`: records the latency of each packet from one of our `phones`
    /// phones; returns how many datagrams were read.
    fn read(&mut self, fd: i32, phones: u32, base: Instant, out: &mut Outcome) -> usize {
        // SAFETY: hdrs point at this Rx's iovecs and buffers, which do not move.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r <= 0 {
            return 0;
        }
        let now = base.elapsed().as_nanos() as u64;
        for i in 0..r as usize {
            let len = (self.hdrs[i].msg_len as usize).min(RXBUF);
            if let Some(lat) = latency(&self.bufs[i][..len], phones, now) {
                out.latencies_us.push(lat);
            }
        }
        r as usize
    }
}

/// The one-way latency (µs) of `pkt` read at `now`, if it is RTP v2 from one of `phones`.
fn latency(pkt: &[u8], phones: u32, now: u64) -> Option<u32> {
    if pkt.len() < 20 || pkt[0] >> 6 != 2 {
        return None;
    }
    let ssrc = u32::from_be_bytes(pkt[8..12].try_into().ok()?);
    if ssrc >= phones {
        return None;
    }
    let t = u64::from_be_bytes(pkt[12..20].try_into().ok()?);
    Some((now.saturating_sub(t) / 1000) as u32)
}

struct Epoll(i32);

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the fd came from epoll_create1 and is closed once.
        unsafe { libc::close(self.0) };
    }
}

/// One generator thread: `socks` are its sockets, `phones` (SSRC, index into `socks`,
/// destination) its phones; `all_phones` is the number of phones of every thread.
pub fn worker(
    socks: Vec<UdpSocket>,
    phones: Vec<(u32, usize, SocketAddr)>,
    all_phones: u32,
    run: std::time::Duration,
    base: Instant,
    start: Instant,
) -> std::io::Result<Outcome> {
    // SAFETY: plain syscalls on fds we own; the event buffer outlives each epoll_wait.
    let ep = Epoll(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
    if ep.0 < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for (k, s) in socks.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: k as u64,
        };
        if unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let dsts: Vec<RawAddr> = phones.iter().map(|p| raw_addr(p.2)).collect();
    let n = phones.len().max(1) as u64;
    let slot_ns = (PTIME_NS / n).max(1);
    let run_ns = run.as_nanos() as u64;
    let mut out = Outcome {
        sent: 0,
        send_failed: 0,
        latencies_us: Vec::with_capacity((run_ns / PTIME_NS + 8) as usize * phones.len()),
        flush_cut: false,
        misrouted: 0,
        cpu_ns: 0,
        runqueue_wait_ns: 0,
    };
    let (cpu0, wait0) = (thread_cpu_ns(), thread_wait_ns());
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut template = [0u8; PACKET];
    template[0] = 0x80; // V=2, PT 0
    let mut pending: Vec<Pending> = socks
        .iter()
        .map(|_| Pending {
            phones: [0; BATCH],
            pkts: vec![template; BATCH],
            n: 0,
        })
        .collect();
    let mut rx = Rx::new();
    let mut done: u64 = 0; // packets put in a batch so far
    let mut last_rx = Instant::now();
    loop {
        let el = start.elapsed().as_nanos() as u64;
        let sending = el < run_ns && !phones.is_empty();
        if sending {
            let due = (el / slot_ns + 1).min(done + SENDS_PER_ROUND);
            while done < due {
                let k = (done % n) as usize;
                let (ssrc, sock, _) = phones[k];
                let p = &mut pending[sock];
                let pkt = &mut p.pkts[p.n];
                let seq = (done / n + 1) as u16;
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                pkt[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
                pkt[8..12].copy_from_slice(&ssrc.to_be_bytes());
                let t = base.elapsed().as_nanos() as u64;
                pkt[12..20].copy_from_slice(&t.to_be_bytes());
                p.phones[p.n] = k as u32;
                p.n += 1;
                if p.n == BATCH {
                    flush(socks[sock].as_raw_fd(), p, &dsts, &mut out);
                }
                done += 1;
            }
            for (s, p) in socks.iter().zip(pending.iter_mut()) {
                flush(s.as_raw_fd(), p, &dsts, &mut out);
            }
        }
        let timeout_ms = if sending {
            // still behind (the slice was cut): 0, read and go on sending
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
                let Some(s) = socks.get({ ev.u64 } as usize) else {
                    continue;
                };
                for _ in 0..READS_PER_WAKE {
                    if rx.read(s.as_raw_fd(), all_phones, base, &mut out) < BATCH {
                        break;
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

/// Checks of the pure parts, run by the smoke run (`cargo test --all-targets`): this bench
/// has no test harness.
pub fn self_check() {
    let mut p = [0u8; PACKET];
    p[0] = 0x80;
    p[8..12].copy_from_slice(&3u32.to_be_bytes());
    p[12..20].copy_from_slice(&1_000_000u64.to_be_bytes());
    assert_eq!(latency(&p, 4, 3_500_000), Some(2500));
    assert_eq!(
        latency(&p, 3, 3_500_000),
        None,
        "SSRC 3 is not one of 3 phones"
    );
    assert_eq!(latency(&p[..19], 4, 3_500_000), None, "too short");
    p[0] = 0x40;
    assert_eq!(latency(&p, 4, 3_500_000), None, "not RTP v2");
    let a = raw_addr("127.0.0.1:4000".parse().expect("addr"));
    assert_eq!(a.len as usize, std::mem::size_of::<libc::sockaddr_in>());
    assert_eq!(a.storage.ss_family, libc::AF_INET as libc::sa_family_t);
    // SAFETY: raw_addr wrote a sockaddr_in (checked by the length) into the aligned storage.
    let sin =
        unsafe { &*(&a.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
    assert_eq!(u16::from_be(sin.sin_port), 4000);
    assert_eq!(sin.sin_addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
    let a6 = raw_addr("[::1]:4002".parse().expect("addr"));
    assert_eq!(a6.len as usize, std::mem::size_of::<libc::sockaddr_in6>());
    // SAFETY: as above, a sockaddr_in6.
    let sin6 =
        unsafe { &*(&a6.storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
    assert_eq!(u16::from_be(sin6.sin6_port), 4002);
    assert_eq!(
        sin6.sin6_addr.s6_addr,
        std::net::Ipv6Addr::LOCALHOST.octets()
    );
}
