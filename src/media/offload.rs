//! One call's use of the kernel fast path ([`super::kernel`]): which of its two directions
//! (named by the leg the packets come from) the kernel forwards now, and what the relay
//! thread has already learned from the kernel's counts.
//!
//! The session offers a direction after relaying one of its packets as a plain pass, and
//! takes it back:
//! - for a packet of it that the kernel left to the thread (a telephone event), so the
//!   kernel's and the thread's sequence numbers never overlap;
//! - for every command to the call (the control side already unrouted, before sending it:
//!   [`OffloadShare::unroute_all`]);
//! - for a (re)latch, the routes it makes stale;
//! - for a stranger, the direction for [`STRANGER_HOLD_OFF`]. The relatch rule ("a new
//!   source takes over after N packets in a row, none from the latched one in between")
//!   needs the latched phone's packets in the same queue as the stranger's, in order.
//!   Strangers queued while the kernel forwarded the phone's packets cannot be ordered
//!   against them, so no run counts while the kernel heard the latched phone within
//!   [`STRANGER_HOLD_OFF`] (a phone whose NAT binding moved is silent at its old address:
//!   it is relatched that much later).
//!
//! The next packets come to the thread, which decides afresh. The counts stay in the
//! kernel's map until the call ends: the control side adds them to the thread's own
//! ([`OffloadShare::counts`]), and the thread folds them into its receiver statistics (so
//! offloaded packets are not taken for lost) and its media timeout.

use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::kernel::{source_for, FlowCounters, FlowKey, KernelForwarder};
use super::rtp::RtpHeader;

/// How long a direction stays with the relay thread after a stranger's packet.
pub(super) const STRANGER_HOLD_OFF: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(super) struct Offload {
    /// Per direction: its key, payload type and destination while the kernel forwards it.
    active: [Option<(FlowKey, u8, SocketAddrV4)>; 2],
    /// Per direction: not offered again before this (a stranger came).
    hold_off: [Option<Instant>; 2],
    /// Per direction: the kernel has had a route for it.
    ever: [bool; 2],
    /// The direction's kernel count may have moved since `seen` was taken.
    moved: [bool; 2],
    /// The direction's kernel packet count when the thread last looked.
    seen: [u64; 2],
    /// Per direction: a route the kernel cannot take (no interface has our address), not
    /// asked again for every packet.
    declined: [Option<(FlowKey, u8, SocketAddrV4)>; 2],
    /// The kernel refused a route (a full map): relay this call in userspace.
    refused: bool,
}

impl Offload {
    /// Direction `i` (packets from `phone` to our leg's `port`) just passed `packet`
    /// untouched to `to` out of `out`: let the kernel forward the next ones.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer(
        &mut self,
        shared: &OffloadShare,
        i: usize,
        phone: SocketAddr,
        port: u16,
        out: &UdpSocket,
        to: SocketAddr,
        packet: &RtpHeader,
        now: Instant,
    ) {
        let pt = packet.payload_type();
        if self.hold_off[i].is_some_and(|until| now < until) {
            return;
        }
        let Some(kernel) = shared.kernel.as_deref() else {
            return;
        };
        let (SocketAddr::V4(phone), SocketAddr::V4(to)) = (phone, to) else {
            return;
        };
        let key = FlowKey::new(phone, port);
        let wanted = Some((key, pt, to));
        if self.refused || self.active[i] == wanted || self.declined[i] == wanted {
            return;
        }
        let route = out.local_addr().ok().and_then(|local| {
            let from = source_for(local.ip(), to)?;
            kernel.route_for(SocketAddrV4::new(from, local.port()), to, pt)
        });
        let Some(route) = route else {
            self.declined[i] = wanted;
            return;
        };
        // listed before it can count, so the control side never misses a packet
        shared.list(i, key);
        match kernel.route(&key, &route, packet.sequence(), packet.ssrc()) {
            Ok(()) => {
                tracing::debug!(from = %phone, to = %to, pt, "kernel forwards this direction");
                self.active[i] = Some((key, pt, to));
                self.ever[i] = true;
                self.moved[i] = true;
            }
            Err(e) => {
                tracing::warn!(error = %e, "kernel forwarding refused a call: relayed in userspace");
                self.refused = true;
            }
        }
    }

    /// Both directions back to the relay thread.
    pub(super) fn withdraw(&mut self, shared: &OffloadShare) {
        self.withdraw_one(shared, 0);
        self.withdraw_one(shared, 1);
    }

    /// Direction `i` back to the relay thread.
    pub(super) fn withdraw_one(&mut self, shared: &OffloadShare, i: usize) {
        if let (Some((key, ..)), Some(k)) = (self.active[i].take(), shared.kernel.as_deref()) {
            k.unroute(&key);
        }
    }

    /// Leg `i`'s phone is now at `addr`: its own direction's key is stale, and the other
    /// direction's route if it went elsewhere.
    pub(super) fn relatched(&mut self, shared: &OffloadShare, i: usize, addr: SocketAddr) {
        self.withdraw_one(shared, i);
        if self.active[1 - i].is_some_and(|(.., to)| SocketAddr::V4(to) != addr) {
            self.withdraw_one(shared, 1 - i);
        }
    }

    /// A stranger's packet reached direction `i`: the thread takes the direction back for
    /// a while, so the latched phone's packets queue with the stranger's, in order.
    pub(super) fn stranger(&mut self, shared: &OffloadShare, i: usize, now: Instant) {
        self.withdraw_one(shared, i);
        self.hold_off[i] = Some(now + STRANGER_HOLD_OFF);
    }

    /// What the kernel counted of direction `i`, if it forwarded any packet since the last
    /// call: the receiver statistics go on from its last one.
    pub(super) fn forwarded_since(
        &mut self,
        shared: &OffloadShare,
        i: usize,
    ) -> Option<FlowCounters> {
        if !self.moved[i] {
            return None;
        }
        self.moved[i] = self.active[i].is_some();
        let k = shared.counts(i);
        let moved = k.packets != self.seen[i];
        self.seen[i] = k.packets;
        moved.then_some(k)
    }

    /// Whether the kernel forwarded a packet of direction `i` within [`STRANGER_HOLD_OFF`].
    pub(super) fn latched_spoke_lately(
        &self,
        shared: &OffloadShare,
        i: usize,
        now: Instant,
    ) -> bool {
        if !self.ever[i] {
            return false;
        }
        let last = shared.last_packet(i);
        last.is_some_and(|at| now.saturating_duration_since(at) < STRANGER_HOLD_OFF)
    }

    /// When the kernel last forwarded a packet of this call, if it ever did.
    pub(super) fn last_packet(&self, shared: &OffloadShare) -> Option<Instant> {
        (0..2).filter_map(|i| shared.last_packet(i)).max()
    }

    /// The call ended: routes and counters out of the kernel.
    pub(super) fn close(&mut self, shared: &OffloadShare) {
        self.active = [None, None];
        shared.forget_all();
    }
}

/// What the relay thread and the control side share of a call's offloaded directions: the
/// kernel fast path (if the engine has it) and every key it forwarded for the call, by the
/// leg the packets come from (the kernel keeps their counts until the call ends).
#[derive(Debug)]
pub(crate) struct OffloadShare {
    kernel: Option<Arc<KernelForwarder>>,
    /// An `Instant` and the kernel clock read together ([`super::kernel::anchor`]).
    clock: (Instant, u64),
    keys: [Mutex<Vec<FlowKey>>; 2],
}

impl OffloadShare {
    pub(crate) fn new(kernel: Option<Arc<KernelForwarder>>, clock: (Instant, u64)) -> Self {
        OffloadShare {
            kernel,
            clock,
            keys: Default::default(),
        }
    }

    fn keys(&self, leg_index: usize) -> std::sync::MutexGuard<'_, Vec<FlowKey>> {
        self.keys[leg_index]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn list(&self, leg_index: usize, key: FlowKey) {
        let mut keys = self.keys(leg_index);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// Nothing of this call forwarded by the kernel any more (a command is on its way to the
    /// relay thread, which may offload again once it has applied it).
    pub(crate) fn unroute_all(&self) {
        let Some(k) = self.kernel.as_deref() else {
            return;
        };
        for i in 0..2 {
            self.keys(i).iter().for_each(|key| k.unroute(key));
        }
    }

    fn forget_all(&self) {
        let Some(k) = self.kernel.as_deref() else {
            return;
        };
        for i in 0..2 {
            self.keys(i).drain(..).for_each(|key| k.forget(&key));
        }
    }

    /// What the kernel forwarded of the packets from `leg_index`'s phone, all routes summed.
    pub(crate) fn counts(&self, leg_index: usize) -> FlowCounters {
        let mut sum = FlowCounters::default();
        if let Some(k) = self.kernel.as_deref() {
            for key in self.keys(leg_index).iter() {
                sum.add(&k.counters(key));
            }
        }
        sum
    }

    /// When the kernel last forwarded a packet from `leg_index`'s phone.
    pub(crate) fn last_packet(&self, leg_index: usize) -> Option<Instant> {
        self.when(&self.counts(leg_index))
    }

    /// `counts`' last packet on `Instant`'s clock.
    pub(crate) fn when(&self, counts: &FlowCounters) -> Option<Instant> {
        counts.last_packet(self.clock)
    }
}
