//! Batched sends for a relay thread (`[media] relay_io = "io_uring"`): the datagrams a loop
//! round sends are queued here as `IORING_OP_SEND`s with their destination, and one
//! `io_uring_enter` at the end of the round sends them all, where epoll mode makes one
//! `sendto` each. Receiving, latching and timers stay as they are (epoll, `recvfrom`): this
//! is the "hybrid" of BENCHMARKS.md's io_uring floors, the part of io_uring's saving a relay
//! gets without handing its sockets to the ring.
//!
//! One outbox per relay thread, in a thread-local the thread installs at start; the session's
//! send helper offers each datagram to [`queue`] and sends it itself when the thread has
//! none (epoll mode, or io_uring refused: seccomp, old kernel, `io_uring_disabled`).
//!
//! Sends carry `MSG_DONTWAIT`: a UDP send completes or fails inside the submitting call.
//! [`flush`] still waits for every completion before it returns, so a queued datagram's
//! buffer, destination and counters are never reused or freed while the kernel may read
//! them. The relay thread flushes after each thing it does with its sessions (a command, the
//! ready sockets of a round, the due timers) and so before any session, whose counters a
//! queued send points at, can be dropped.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::Relaxed;

use io_uring::{opcode, types, IoUring};
use socket2::SockAddr;

use super::session::DATAGRAM;
use super::stats::{bump, LegCounters};

/// Datagrams queued before the outbox flushes by itself.
const SLOTS: usize = 512;

/// Who pays for a datagram that could not be sent (its out counters are taken back).
#[derive(Clone, Copy)]
pub(crate) enum Payer<'a> {
    /// Relayed from this phone's leg: its `dropped_send`.
    From(&'a LegCounters),
    /// Made by the switch for the receiving leg (a prompt): its `played` back, its `dropped_send`.
    Own,
}

/// The counters a failed send takes back; raw because they belong to a session the relay
/// thread owns, which (see the module doc) outlives the flush.
struct Undo {
    to: *const LegCounters,
    from: Option<*const LegCounters>,
    len: u64,
    /// Its completion was reaped.
    reaped: bool,
}

pub(crate) struct Outbox {
    ring: IoUring,
    bufs: Box<[u8]>,
    addrs: Vec<SockAddr>,
    undo: Vec<Undo>,
    /// The ring refused a submission: never used again, never freed (see [`Outbox::flush`]).
    retired: bool,
}

thread_local! {
    static OUTBOX: RefCell<Option<Outbox>> = const { RefCell::new(None) };
}

impl Outbox {
    fn new() -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_cqsize(2 * SLOTS as u32)
            .build(SLOTS as u32)?;
        Ok(Outbox {
            ring,
            bufs: vec![0u8; SLOTS * DATAGRAM].into_boxed_slice(),
            addrs: Vec::with_capacity(SLOTS),
            undo: Vec::with_capacity(SLOTS),
            retired: false,
        })
    }

    /// `false`: retired, send it yourself.
    fn push(
        &mut self,
        sock: &UdpSocket,
        buf: &[u8],
        dst: SocketAddr,
        to: &LegCounters,
        payer: Payer<'_>,
    ) -> bool {
        if self.undo.len() == SLOTS {
            self.flush_or_retire();
        }
        if self.retired {
            return false;
        }
        let i = self.undo.len();
        let len = buf.len().min(DATAGRAM);
        let slot = &mut self.bufs[i * DATAGRAM..i * DATAGRAM + len];
        slot.copy_from_slice(&buf[..len]);
        self.addrs.push(SockAddr::from(dst));
        let addr = &self.addrs[i];
        let sqe = opcode::Send::new(types::Fd(sock.as_raw_fd()), slot.as_ptr(), len as u32)
            .dest_addr(addr.as_ptr().cast())
            .dest_addr_len(addr.len())
            .flags(libc::MSG_DONTWAIT)
            .build()
            .user_data(i as u64);
        self.undo.push(Undo {
            to,
            from: match payer {
                Payer::From(f) => Some(f),
                Payer::Own => None,
            },
            len: len as u64,
            reaped: false,
        });
        // SAFETY: the buffer and the address stay put (preallocated, never grown past SLOTS)
        // and unread by us until `flush` has reaped this entry's completion. The queue holds
        // SLOTS entries and at most SLOTS are pushed between flushes.
        if unsafe { self.ring.submission().push(&sqe) }.is_err() {
            // cannot happen (see above); count it as not sent rather than lose track
            let u = self.undo.pop().expect("just pushed");
            self.addrs.pop();
            // SAFETY: `to` and `from` are the live references passed in.
            unsafe { undo(&u) };
        }
        true
    }

    fn flush_or_retire(&mut self) {
        if self.retired {
            return;
        }
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "io_uring refused the relay's sends; sending directly from now on");
            self.retired = true;
        }
    }

    /// Sends the queue and reaps every completion. `Err`: the ring refused the submission
    /// and the queued datagrams are counted as not sent; the caller must stop using (and
    /// must not free) this outbox, whose requests the kernel may still hold.
    fn flush(&mut self) -> io::Result<()> {
        let queued = self.undo.len();
        let mut reaped = 0;
        while reaped < queued {
            if let Err(e) = self.ring.submit_and_wait(queued - reaped) {
                if e.kind() != io::ErrorKind::Interrupted && self.ring.completion().is_empty() {
                    for u in self.undo.iter().filter(|u| !u.reaped) {
                        // SAFETY: the session owning these counters is alive (module doc).
                        unsafe { undo(u) };
                    }
                    return Err(e);
                }
            }
            for cqe in self.ring.completion() {
                reaped += 1;
                let Some(u) = self.undo.get_mut(cqe.user_data() as usize) else {
                    continue;
                };
                u.reaped = true;
                if cqe.result() < 0 {
                    // SAFETY: the session owning these counters is alive (module doc).
                    unsafe { undo(u) };
                }
            }
        }
        self.undo.clear();
        self.addrs.clear();
        Ok(())
    }
}

/// Takes a datagram's out counters back and charges its payer.
pub(crate) fn unsent(to: &LegCounters, len: u64, payer: Payer<'_>) {
    to.packets_out.fetch_sub(1, Relaxed);
    to.bytes_out.fetch_sub(len, Relaxed);
    match payer {
        Payer::From(from) => bump(&from.dropped_send),
        Payer::Own => {
            to.played.fetch_sub(1, Relaxed);
            bump(&to.dropped_send);
        }
    }
}

/// [`unsent`] for a queued datagram.
///
/// # Safety
/// `u`'s pointers must point at live counters.
unsafe fn undo(u: &Undo) {
    // SAFETY: the caller's promise.
    let (to, payer) = unsafe {
        (
            &*u.to,
            match u.from {
                Some(from) => Payer::From(&*from),
                None => Payer::Own,
            },
        )
    };
    unsent(to, u.len, payer);
}

/// Gives the calling thread an outbox; `Err` (io_uring unavailable): it sends directly.
pub(crate) fn install() -> io::Result<()> {
    let outbox = Outbox::new()?;
    OUTBOX.with(|o| *o.borrow_mut() = Some(outbox));
    Ok(())
}

/// Queues `buf` for `dst` from `sock` if this thread has an outbox; `false`: send it yourself.
/// `to`'s out counters are already raised; a failed send takes them back at the flush.
pub(crate) fn queue(
    sock: &UdpSocket,
    buf: &[u8],
    dst: SocketAddr,
    to: &LegCounters,
    payer: Payer<'_>,
) -> bool {
    OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        let queued = o
            .as_mut()
            .is_some_and(|outbox| outbox.push(sock, buf, dst, to, payer));
        if o.as_ref().is_some_and(|outbox| outbox.retired) {
            // the kernel may still hold its requests: leak it (once per thread, ~1 MB)
            std::mem::forget(o.take());
        }
        queued
    })
}

/// Sends everything queued on this thread and waits until the kernel is done with it.
pub(crate) fn flush() {
    OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        if let Some(outbox) = o.as_mut() {
            outbox.flush_or_retire();
            if outbox.retired {
                std::mem::forget(o.take());
            }
        }
    });
}
