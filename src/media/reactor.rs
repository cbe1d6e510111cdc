//! Relay threads (`relay-0`, `relay-1`, …): each owns a share of the calls' [`Session`]s
//! (sharded by call key) and drives them from its own level-triggered epoll loop, with no
//! async runtime between the kernel and the packet path.
//!
//! One loop round: `epoll_wait` for every ready socket of every call this thread owns →
//! the control commands queued meanwhile, if the eventfd is among the ready (first, so a
//! packet meets the call as the control side left it when the packet came; a call a command
//! closes or replaces leaves stale tokens, told apart by a generation) → per ready socket one
//! datagram through [`Session::on_readable`] (level-triggered: a socket with more waiting is
//! reported again next round, so no `EAGAIN` read is ever spent) → the per-call deadlines that
//! are due (media timeout, prompt and recording pacing) from a heap. The wait's timeout is the earliest
//! deadline. A busy thread collects many packets per wake-up; an idle one sleeps in
//! `epoll_wait`, woken by a socket, a deadline, or the control side's eventfd.
//!
//! With [`RelayIo::IoUring`] the round's sends are queued and go out in one `io_uring_enter`
//! after the ready sockets, after the due deadlines and after each command ([`outbox`]).
//!
//! The control side ([`super::MediaEngine`]) sends [`Command`]s over a channel and writes
//! the eventfd once per burst (a flag says a wake-up is already pending). Dropping the last
//! [`Reactor`] handle closes the channel: the thread closes its sessions and ends.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::outbox;
use super::session::{Control, Session, Stream, DATAGRAM};
use super::RelayIo;

/// What the control side asks of a relay thread.
pub(crate) enum Command {
    /// A new call, keyed by `key` (unique per engine).
    Open {
        key: u64,
        session: Box<Session>,
    },
    Control {
        key: u64,
        control: Control,
    },
    /// End the call: sockets closed and ports back in the pool before `done` is told.
    Close {
        key: u64,
        done: Option<oneshot::Sender<()>>,
    },
}

/// Handle to one relay thread. The thread ends once every handle is dropped.
pub(crate) struct Reactor {
    tx: Option<mpsc::Sender<Command>>,
    wake: Arc<EventFd>,
}

impl Reactor {
    /// Start a relay thread named `name`; `coalesce`: see [`Coalescer`].
    pub(crate) fn spawn(name: String, coalesce: Duration, io: RelayIo) -> io::Result<Arc<Reactor>> {
        let wake = Arc::new(EventFd::new()?);
        let (tx, rx) = mpsc::channel();
        let mut event_loop = Loop::new(wake.clone(), rx, Coalescer::new(coalesce))?;
        std::thread::Builder::new().name(name).spawn(move || {
            if io == RelayIo::IoUring {
                if let Err(e) = outbox::install() {
                    tracing::warn!(error = %e, "io_uring unavailable: the relay sends with sendto");
                }
            }
            event_loop.run()
        })?;
        Ok(Arc::new(Reactor { tx: Some(tx), wake }))
    }

    /// Queue `c` and wake the thread; `Err` if the thread is gone.
    pub(crate) fn send(&self, c: Command) -> Result<(), ()> {
        let tx = self.tx.as_ref().ok_or(())?;
        tx.send(c).map_err(|_| ())?;
        self.wake.notify();
        Ok(())
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // disconnect first, then wake: the thread sees the closed channel and ends
        drop(self.tx.take());
        self.wake.pending.store(false, Ordering::Relaxed);
        self.wake.notify();
    }
}

/// A non-blocking eventfd with a "wake-up already pending" flag, so a burst of commands
/// costs one write and one read.
pub(crate) struct EventFd {
    fd: OwnedFd,
    pending: AtomicBool,
}

impl EventFd {
    fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the fd is owned from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EventFd {
            // SAFETY: fd is a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            pending: AtomicBool::new(false),
        })
    }

    fn notify(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. A full counter (EAGAIN)
        // already means "wake up".
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Called before the commands are drained. The read comes first: a sender that found the
    /// flag still set between the read and the reset wrote nothing, but its command is already
    /// queued and the drain that follows takes it; one that comes after the reset writes. (The
    /// other order let a sender's write be swallowed by the read while the flag stayed set, and
    /// no later command woke the thread: calls after a burst had no media.)
    fn clear(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN (nothing written) is fine.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
        self.pending.store(false, Ordering::Release);
    }
}

/// The epoll token of the eventfd.
const WAKE: u64 = u64::MAX;
/// Events taken from one `epoll_wait`.
const EVENTS: usize = 1024;

/// Token of one socket: slot (32 bits) | generation (30 bits) | leg (1) | stream (1).
fn token(slot: u32, gen: u32, leg: usize, stream: Stream) -> u64 {
    (u64::from(slot) << 32)
        | (u64::from(gen & 0x3fff_ffff) << 2)
        | ((leg as u64 & 1) << 1)
        | stream as u64
}

struct Slot {
    gen: u32,
    session: Session,
    /// Next media-timeout check and next pacing tick (players, recorder).
    timer: Instant,
    tick: Option<Instant>,
}

struct Loop {
    ep: OwnedFd,
    wake: Arc<EventFd>,
    rx: mpsc::Receiver<Command>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    keys: HashMap<u64, u32>,
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    next_gen: u32,
    coalesce: Coalescer,
}

/// Wake-up coalescing: a relay thread that is woken for nearly every packet spends more on
/// being woken (on a VM, an inter-processor interrupt and two context switches) than on the
/// packet. Under load (at least [`Coalescer::BUSY_PER_WINDOW`] packets in the last
/// [`Coalescer::WINDOW`]) the thread sleeps `pause` after a small round (fewer than
/// [`Coalescer::BEHIND`] ready sockets: it is keeping up and would block again soon), so the
/// next round collects the packets of that time in one wake-up. A packet then
/// waits at most `pause` longer (a fraction of the 1 ms latency budget); at low rates
/// nothing waits. Pure: time and counts are passed in.
#[derive(Debug)]
pub(crate) struct Coalescer {
    pause: Duration,
    window_start: Option<Instant>,
    count: u32,
    busy: bool,
}

impl Coalescer {
    const WINDOW: Duration = Duration::from_millis(10);
    /// 10 000 packets/s: two or more per 200 µs pause.
    const BUSY_PER_WINDOW: u32 = 100;

    pub(crate) fn new(pause: Duration) -> Self {
        Coalescer {
            pause,
            window_start: None,
            count: 0,
            busy: false,
        }
    }

    /// A round of this many ready sockets or more means the thread is behind: the next
    /// `epoll_wait` will not block anyway, and a pause would only cap its throughput (on a
    /// starved CPU a pause can turn into a long wait for the CPU).
    const BEHIND: usize = 64;

    /// A round handled `packets` datagrams at `now`. Returns how long to sleep first.
    pub(crate) fn after_round(&mut self, now: Instant, packets: usize) -> Option<Duration> {
        if self.pause.is_zero() {
            return None;
        }
        let start = *self.window_start.get_or_insert(now);
        self.count = self.count.saturating_add(packets as u32);
        if now.saturating_duration_since(start) >= Self::WINDOW {
            self.busy = self.count >= Self::BUSY_PER_WINDOW;
            self.window_start = Some(now);
            self.count = 0;
        }
        (self.busy && packets > 0 && packets < Self::BEHIND).then_some(self.pause)
    }
}

impl Loop {
    fn new(
        wake: Arc<EventFd>,
        rx: mpsc::Receiver<Command>,
        coalesce: Coalescer,
    ) -> io::Result<Self> {
        // SAFETY: plain syscall; the fd is owned from here on.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: ep is a fresh descriptor nobody else owns.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        let l = Loop {
            ep,
            wake,
            rx,
            slots: Vec::new(),
            free: Vec::new(),
            keys: HashMap::new(),
            deadlines: BinaryHeap::new(),
            next_gen: 0,
            coalesce,
        };
        l.register(l.wake.fd.as_raw_fd(), WAKE)?;
        Ok(l)
    }

    fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both fds are open; the kernel copies `ev`.
        let r = unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn run(&mut self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        let mut buf = vec![0u8; DATAGRAM];
        loop {
            let timeout = self.timeout_ms(Instant::now());
            // SAFETY: `events` is a live buffer of EVENTS entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.ep.as_raw_fd(),
                    events.as_mut_ptr(),
                    EVENTS as i32,
                    timeout,
                )
            };
            let now = Instant::now();
            let ready = &events[..n.max(0) as usize];
            // commands first: a packet must meet the call as the control side left it
            // before the packet came (a leg added, an address given); a token of a call a
            // command closed is then stale and skipped by its generation
            if ready.iter().any(|ev| ev.u64 == WAKE) && !self.commands(now) {
                break;
            }
            let mut packets = 0;
            for ev in ready {
                let t = ev.u64;
                if t == WAKE {
                    continue;
                }
                packets += 1;
                let (slot, gen) = ((t >> 32) as usize, ((t >> 2) & 0x3fff_ffff) as u32);
                let leg = ((t >> 1) & 1) as usize;
                let stream = if t & 1 == 0 {
                    Stream::Rtp
                } else {
                    Stream::Rtcp
                };
                if let Some(Some(s)) = self.slots.get_mut(slot) {
                    if s.gen & 0x3fff_ffff == gen {
                        s.session.on_readable(leg, stream, &mut buf, now);
                    }
                }
            }
            outbox::flush();
            self.due(now);
            outbox::flush();
            if let Some(pause) = self.coalesce.after_round(now, packets) {
                std::thread::sleep(pause);
            }
        }
        for s in self.slots.drain(..).flatten() {
            s.session.close();
        }
    }

    /// `epoll_wait`'s timeout: until the earliest deadline, rounded up to the millisecond.
    fn timeout_ms(&self, now: Instant) -> i32 {
        match self.deadlines.peek() {
            None => -1,
            Some(Reverse((t, _, _))) => {
                let d = t.saturating_duration_since(now);
                let ms = d.as_micros().div_ceil(1000);
                ms.min(i32::MAX as u128) as i32
            }
        }
    }

    /// Apply the queued commands; `false` once the control side is gone.
    fn commands(&mut self, now: Instant) -> bool {
        self.wake.clear();
        loop {
            match self.rx.try_recv() {
                Ok(c) => {
                    self.command(c, now);
                    // before the next command can close the call a send points at
                    outbox::flush();
                }
                Err(mpsc::TryRecvError::Empty) => return true,
                Err(mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn command(&mut self, c: Command, now: Instant) {
        match c {
            Command::Open { key, session } => {
                let idx = match self.free.pop() {
                    Some(i) => i,
                    None => {
                        self.slots.push(None);
                        (self.slots.len() - 1) as u32
                    }
                };
                self.next_gen = self.next_gen.wrapping_add(1);
                self.slots[idx as usize] = Some(Slot {
                    gen: self.next_gen,
                    session: *session,
                    timer: now,
                    tick: None,
                });
                self.keys.insert(key, idx);
                self.service(idx, now, true);
            }
            Command::Control { key, control } => {
                let Some(&idx) = self.keys.get(&key) else {
                    return;
                };
                let Some(s) = self.slots[idx as usize].as_mut() else {
                    return;
                };
                if let Control::AddLeg { leg, rtp, rtcp, .. } = &control {
                    let gen = s.gen;
                    let fds = [
                        (rtp.as_raw_fd(), Stream::Rtp),
                        (rtcp.as_raw_fd(), Stream::Rtcp),
                    ];
                    for (fd, stream) in fds {
                        if let Err(e) = self.register(fd, token(idx, gen, leg.index(), stream)) {
                            tracing::warn!(error = %e, "relay: cannot watch a media socket");
                        }
                    }
                }
                if let Some(s) = self.slots[idx as usize].as_mut() {
                    s.session.apply(control, now);
                }
                self.service(idx, now, true);
            }
            Command::Close { key, done } => {
                if let Some(idx) = self.keys.remove(&key) {
                    if let Some(s) = self.slots[idx as usize].take() {
                        // closing the sockets takes them out of the epoll set
                        s.session.close();
                        self.free.push(idx);
                    }
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Run the deadlines due at `now`.
    fn due(&mut self, now: Instant) {
        while let Some(&Reverse((t, idx, gen))) = self.deadlines.peek() {
            if t > now {
                break;
            }
            self.deadlines.pop();
            let live = matches!(&self.slots[idx as usize], Some(s) if s.gen == gen);
            if live {
                self.service(idx, now, false);
            }
        }
    }

    /// A call's timer and tick: run what is due (everything with `force`, as after a
    /// command) and schedule the next ones.
    fn service(&mut self, idx: u32, now: Instant, force: bool) {
        let Some(s) = self.slots[idx as usize].as_mut() else {
            return;
        };
        if force || s.timer <= now {
            let next = s.session.on_timer(now);
            if next != s.timer || force {
                s.timer = next;
                self.deadlines.push(Reverse((next, idx, s.gen)));
            }
        }
        if force || s.tick.is_some_and(|t| t <= now) {
            let next = s.session.on_tick(now);
            if next != s.tick || force {
                s.tick = next;
                if let Some(t) = next {
                    self.deadlines.push(Reverse((t, idx, s.gen)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_only_under_load_and_never_when_disabled_or_behind() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let pause = Duration::from_micros(200);
        let mut c = Coalescer::new(pause);
        // a light load: 5 packets per 10 ms window
        for k in 0..5 {
            assert_eq!(c.after_round(ms(k * 2), 1), None);
        }
        assert_eq!(c.after_round(ms(10), 1), None, "window of 6: not busy");
        // a heavy one: 200 packets in the next window
        for k in 0..20 {
            c.after_round(ms(10) + Duration::from_micros(k * 400), 10);
        }
        assert_eq!(c.after_round(ms(20), 3), Some(pause));
        assert_eq!(c.after_round(ms(21), 0), None, "a round with no packet");
        assert_eq!(c.after_round(ms(21), 63), Some(pause));
        assert_eq!(c.after_round(ms(22), 64), None, "behind: read on");
        assert_eq!(c.after_round(ms(22), 1024), None, "behind: read on");
        // the load stops: the window that saw the 1024 still counts as busy, the next not
        assert_eq!(c.after_round(ms(31), 1), Some(pause));
        assert_eq!(c.after_round(ms(42), 1), None);

        let mut off = Coalescer::new(Duration::ZERO);
        for k in 0..50 {
            assert_eq!(off.after_round(ms(k), 10), None);
        }
    }

    #[test]
    fn tokens_keep_slot_generation_leg_and_stream_apart() {
        let t = token(7, 0x4000_0003, 1, Stream::Rtcp);
        assert_eq!(t >> 32, 7);
        assert_eq!((t >> 2) & 0x3fff_ffff, 3, "generation wraps to 30 bits");
        assert_eq!(((t >> 1) & 1, t & 1), (1, 1));
        assert_ne!(t, WAKE);
        assert_ne!(token(7, 3, 0, Stream::Rtp), token(7, 4, 0, Stream::Rtp));
    }
}
