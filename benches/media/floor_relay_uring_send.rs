//! A bench-only hybrid "floor" relay for `media_load --floor-uring-send`: the epoll floor's
//! receive side unchanged (level-triggered `epoll_wait`, one `recvfrom` per ready socket) and
//! only the sends batched: each received datagram is queued as an `IORING_OP_SEND` with its
//! destination, and one `io_uring_enter` per round sends them all. This is the cheapest change
//! a real epoll relay could take (its receive path, latching and timers stay as they are), so
//! its CPU per packet beside the epoll floor's and the full io_uring floor's says how much of
//! io_uring's saving that change would keep.
//!
//! Sends carry `MSG_DONTWAIT` and `IOSQE_CQE_SKIP_SUCCESS`: a UDP send then completes or fails
//! inside the submitting `io_uring_enter` (never parked on the socket), so a round's buffers
//! are free once that call returns and only failures post a completion.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

use io_uring::{opcode, squeue, types, IoUring};

/// epoll events (and so sends) per round at most.
const ROUND: usize = 1024;
const BUF_LEN: usize = 2048;

pub struct FloorRelayUringSend {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FloorRelayUringSend {
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
        let fds: Vec<i32> = socks.iter().map(|s| s.as_raw_fd()).collect();
        let ep = crate::floor_relay::epoll_for(&socks)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_t = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("relay-floor-uring-send".into())
            .spawn(move || {
                let setup = || -> std::io::Result<IoUring> {
                    let ring: IoUring = IoUring::builder()
                        .setup_single_issuer()
                        .setup_cqsize(2 * ROUND as u32)
                        .build(ROUND as u32)?;
                    ring.submitter().register_files(&fds)?;
                    Ok(ring)
                };
                let mut ring = match setup() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        unsafe { libc::close(ep) };
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; ROUND];
                let mut bufs = vec![0u8; ROUND * BUF_LEN];
                while !stop_t.load(Relaxed) {
                    let n = unsafe {
                        libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 50)
                    };
                    let mut queued = 0;
                    {
                        let mut sq = ring.submission();
                        for (i, ev) in events.iter().take(n.max(0) as usize).enumerate() {
                            let k = { ev.u64 } as usize;
                            let buf = &mut bufs[i * BUF_LEN..(i + 1) * BUF_LEN];
                            let Ok((len, _)) = socks[k].recv_from(buf) else {
                                continue;
                            };
                            let dst = &targets[k];
                            let send = opcode::Send::new(
                                types::Fixed((k ^ 1) as u32),
                                buf.as_ptr(),
                                len as u32,
                            )
                            .dest_addr(dst.as_ptr().cast())
                            .dest_addr_len(dst.len())
                            .flags(libc::MSG_DONTWAIT)
                            .build()
                            .flags(squeue::Flags::SKIP_SUCCESS);
                            // SAFETY: the buffer is not touched again before the submit
                            // below returns, by which time the send is done (see above).
                            // The SQ holds ROUND entries, a round queues at most ROUND.
                            if unsafe { sq.push(&send) }.is_ok() {
                                queued += 1;
                            }
                        }
                    }
                    if queued > 0 {
                        let _ = ring.submit();
                    }
                    // only failed sends post a completion: drop them
                    ring.completion().for_each(drop);
                }
                drop(ring);
                unsafe { libc::close(ep) };
                drop(socks);
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::Error::other("relay-floor-uring-send died")),
        }
        Ok((
            FloorRelayUringSend {
                stop,
                thread: Some(thread),
            },
            dsts,
        ))
    }
}

impl Drop for FloorRelayUringSend {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
