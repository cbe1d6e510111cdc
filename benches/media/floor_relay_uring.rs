//! A bench-only io_uring "floor" relay for `media_load --floor-uring`: the same job as the
//! epoll floor (`floor_relay.rs`: one thread, two sockets per call, no latching, statistics,
//! DTMF or hold) with the kernel crossings batched across sockets. No epoll: every socket has
//! one multishot `IORING_OP_RECV` armed on a provided-buffer ring, and every received datagram
//! goes out as an `IORING_OP_SEND` with its destination address (`sendto` semantics) from the
//! buffer it arrived in. One `io_uring_enter` per round submits the previous round's sends and
//! waits for the next completions; with `DEFER_TASKRUN` the receives run inside that call, on
//! this thread. Its CPU per packet, side by side with the epoll floor's, says whether the
//! one-syscall-per-packet design's syscall entries are worth replacing.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

/// Provided buffers: count (a power of two) and size (a G.711 RTP packet is 172 bytes).
const BUFS: u16 = 8192;
const BUF_LEN: usize = 2048;
const BGID: u16 = 7;
/// user_data: bit 63 set = a send (low bits: buffer id), clear = a socket's receive (its index).
const SEND: u64 = 1 << 63;
/// With a send's `user_data` when sends post no CQE on success: only a failed one shows up.
const SEND_FAILED: u64 = 1 << 62;

pub struct FloorRelayUring {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The provided-buffer ring: `BUFS` entries the kernel picks receive buffers from, and the
/// buffers themselves. The ring memory is page-aligned as the interface requires.
struct BufRing {
    ring: *mut types::BufRingEntry,
    bufs: Vec<u8>,
    tail: u16,
}

impl BufRing {
    fn new() -> std::io::Result<Self> {
        let bytes = BUFS as usize * std::mem::size_of::<types::BufRingEntry>();
        // SAFETY: anonymous private mapping, unmapped in Drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mut r = BufRing {
            ring: p.cast(),
            bufs: vec![0u8; BUFS as usize * BUF_LEN],
            tail: 0,
        };
        for bid in 0..BUFS {
            r.push(bid);
        }
        r.publish();
        Ok(r)
    }

    fn buf(&self, bid: u16) -> *const u8 {
        self.bufs[bid as usize * BUF_LEN..].as_ptr()
    }

    /// Hands buffer `bid` back to the kernel (visible after `publish`).
    fn push(&mut self, bid: u16) {
        let i = (self.tail & (BUFS - 1)) as usize;
        // SAFETY: i < BUFS, inside the mapping.
        let e = unsafe { &mut *self.ring.add(i) };
        e.set_addr(self.bufs[bid as usize * BUF_LEN..].as_ptr() as u64);
        e.set_len(BUF_LEN as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail field overlays entry 0's resv; the kernel reads it with acquire.
        let tail = unsafe { &*(types::BufRingEntry::tail(self.ring) as *const AtomicU16) };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        let bytes = BUFS as usize * std::mem::size_of::<types::BufRingEntry>();
        // SAFETY: the mapping made in new().
        unsafe { libc::munmap(self.ring.cast(), bytes) };
    }
}

impl FloorRelayUring {
    /// Relays for `phones` (phone A, phone B of each call); returns the relay and, per call,
    /// where phone A and phone B must send. Fails if io_uring is unavailable.
    pub fn start(
        phones: &[(SocketAddr, SocketAddr)],
    ) -> std::io::Result<(Self, Vec<(SocketAddr, SocketAddr)>)> {
        let (socks, dsts) = crate::floor_relay::bind_pairs(phones)?;
        let targets: Vec<socket2::SockAddr> = phones
            .iter()
            .flat_map(|&(pa, pb)| [pb.into(), pa.into()])
            .collect();
        let entries = (socks.len() as u32 + 64)
            .next_power_of_two()
            .clamp(1024, 32768);
        let fds: Vec<i32> = socks.iter().map(|s| s.as_raw_fd()).collect();
        // `MEDIA_FLOOR_URING_SEND_CQES=1`: every send posts a CQE and frees its buffer there
        // (the default skips successful sends' CQEs: half the completions)
        let send_cqes = std::env::var_os("MEDIA_FLOOR_URING_SEND_CQES").is_some_and(|v| v == "1");
        let stop = Arc::new(AtomicBool::new(false));
        let stop_t = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // SINGLE_ISSUER: the ring belongs to the task that made it, so it is made, registered
        // and driven on the relay thread.
        let thread = std::thread::Builder::new()
            .name("relay-floor-uring".into())
            .spawn(move || {
                let setup = || -> std::io::Result<(IoUring, BufRing)> {
                    let ring: IoUring = IoUring::builder()
                        .setup_single_issuer()
                        .setup_defer_taskrun()
                        .setup_cqsize(entries * 4)
                        .build(entries)?;
                    ring.submitter().register_files(&fds)?;
                    Ok((ring, BufRing::new()?))
                };
                let (mut ring, mut bufs) = match setup() {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // SAFETY: the ring memory outlives the io_uring (dropped after it, below).
                let r = unsafe {
                    ring.submitter()
                        .register_buf_ring_with_flags(bufs.ring as u64, BUFS, BGID, 0)
                };
                if let Err(e) = r {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                let recv = |k: usize| {
                    opcode::RecvMulti::new(types::Fixed(k as u32), BGID)
                        .build()
                        .user_data(k as u64)
                };
                let mut rearm: Vec<usize> = (0..fds.len()).collect();
                // the next enter's entries: re-armed receives and sends
                let mut queue: Vec<squeue::Entry> = Vec::with_capacity(4096);
                // without send CQEs: the buffers of the sends in `queue`, free again once the
                // enter that submits them returns (MSG_DONTWAIT: a send completes or fails
                // inline, it is never parked on the socket's wait queue)
                let mut sending: Vec<u16> = Vec::with_capacity(4096);
                let ts = types::Timespec::new().nsec(50_000_000);
                let args = types::SubmitArgs::new().timespec(&ts);
                while !stop_t.load(Ordering::Relaxed) {
                    // queue the re-arms and sends of the last round, then one enter
                    queue.extend(rearm.drain(..).map(recv));
                    let mut done = 0;
                    while done < queue.len() {
                        {
                            let mut sq = ring.submission();
                            for e in &queue[done..] {
                                // SAFETY: the buffers and addresses the entries point at
                                // live as long as the ring.
                                if unsafe { sq.push(e) }.is_err() {
                                    break;
                                }
                                done += 1;
                            }
                        }
                        if done < queue.len() {
                            let _ = ring.submit(); // the SQ is full: make room
                        }
                    }
                    queue.clear();
                    match ring.submitter().submit_with_args(1, &args) {
                        Ok(_) => {}
                        Err(e) if e.raw_os_error() == Some(libc::ETIME) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                        Err(_) => break,
                    }
                    let mut returned = !sending.is_empty();
                    for bid in sending.drain(..) {
                        bufs.push(bid);
                    }
                    for cqe in ring.completion() {
                        let ud = cqe.user_data();
                        let flags = cqe.flags();
                        if ud & SEND != 0 {
                            if ud & SEND_FAILED != 0 {
                                continue; // its buffer went back after the enter
                            }
                            bufs.push(ud as u16);
                            returned = true;
                            continue;
                        }
                        let k = ud as usize;
                        if !cqueue::more(flags) {
                            rearm.push(k);
                        }
                        let Some(bid) = cqueue::buffer_select(flags) else {
                            continue; // an error (e.g. ENOBUFS): re-armed next round
                        };
                        if cqe.result() <= 0 {
                            bufs.push(bid);
                            returned = true;
                            continue;
                        }
                        let dst = &targets[k];
                        let send = opcode::Send::new(
                            types::Fixed((k ^ 1) as u32),
                            bufs.buf(bid),
                            cqe.result() as u32,
                        )
                        .dest_addr(dst.as_ptr().cast())
                        .dest_addr_len(dst.len());
                        queue.push(if send_cqes {
                            send.build().user_data(SEND | u64::from(bid))
                        } else {
                            sending.push(bid);
                            send.flags(libc::MSG_DONTWAIT)
                                .build()
                                .flags(squeue::Flags::SKIP_SUCCESS)
                                .user_data(SEND | SEND_FAILED)
                        });
                    }
                    if returned {
                        bufs.publish();
                    }
                }
                drop(ring);
                drop(bufs);
                drop(socks);
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::Error::other("relay-floor-uring died")),
        }
        Ok((
            FloorRelayUring {
                stop,
                thread: Some(thread),
            },
            dsts,
        ))
    }
}

impl Drop for FloorRelayUring {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
