//! One call's use of the kernel fast path ([`super::kernel`]): which of its two directions
//! (named by the leg the packets come from) the kernel forwards now, and what the relay
//! thread has already learned from the kernel's counts.
//!
//! The session offers a direction after relaying one of its packets as a plain pass. A
//! packet of the direction that the kernel left to the thread (a telephone event) takes it
//! back, so the kernel's and the thread's sequence numbers never overlap. Every
//! command to the call withdraws both directions (the control side already did, before
//! sending it: [`CallShared::unroute_all`]), a (re)latch the routes it makes stale, and a
//! stranger its direction for [`STRANGER_HOLD_OFF`]. The relatch rule ("a new source
//! takes over after N packets in a row, none from the latched one in between") needs the
//! latched phone's packets in the same queue as the stranger's, in order; strangers queued
//! while the kernel forwarded the phone's packets cannot be ordered against them, so no run
//! counts while the kernel heard the latched phone within [`STRANGER_HOLD_OFF`] (a phone
//! whose NAT binding moved is silent at its old address: it is relatched that much later). The next packets
//! come to the thread, which decides afresh. The counts stay in the kernel's map until the
//! call ends: the control side adds them to the thread's own ([`CallShared::kernel_counts`]),
//! and the thread folds them into its receiver statistics (so offloaded packets are not
//! taken for lost) and its media timeout.

use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use super::kernel::{source_for, FlowCounters, FlowKey};
use super::rtp::RtpHeader;
use super::session::CallShared;

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
    /// The kernel refused a route (a full map): relay this call in userspace.
    refused: bool,
}

impl Offload {
    /// Direction `i` (packets from `phone` to our leg's `port`) just passed `packet`
    /// untouched to `to` out of `out`: let the kernel forward the next ones.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer(
        &mut self,
        shared: &CallShared,
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
        if self.refused || self.active[i] == Some((key, pt, to)) {
            return;
        }
        let Ok(local) = out.local_addr() else { return };
        let Some(from) = source_for(local.ip(), to) else {
            return;
        };
        let Some(route) = kernel.route_for(SocketAddrV4::new(from, local.port()), to, pt) else {
            return;
        };
        {
            // listed before it can count, so the control side never misses a packet
            let mut keys = shared.offloaded[i]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        match kernel.route(&key, &route, packet.sequence(), packet.ssrc()) {
            Ok(()) => {
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
    pub(super) fn withdraw(&mut self, shared: &CallShared) {
        self.withdraw_one(shared, 0);
        self.withdraw_one(shared, 1);
    }

    /// Direction `i` back to the relay thread.
    pub(super) fn withdraw_one(&mut self, shared: &CallShared, i: usize) {
        if let (Some((key, ..)), Some(k)) = (self.active[i].take(), shared.kernel.as_deref()) {
            k.unroute(&key);
        }
    }

    /// Leg `i`'s phone is now at `addr`: its own direction's key is stale, and the other
    /// direction's route if it went elsewhere.
    pub(super) fn relatched(&mut self, shared: &CallShared, i: usize, addr: SocketAddr) {
        self.withdraw_one(shared, i);
        if self.active[1 - i].is_some_and(|(.., to)| SocketAddr::V4(to) != addr) {
            self.withdraw_one(shared, 1 - i);
        }
    }

    /// A stranger's packet reached direction `i`: the thread takes the direction back for
    /// a while, so the latched phone's packets queue with the stranger's, in order.
    pub(super) fn stranger(&mut self, shared: &CallShared, i: usize, now: Instant) {
        self.withdraw_one(shared, i);
        self.hold_off[i] = Some(now + STRANGER_HOLD_OFF);
    }

    /// What the kernel counted of direction `i`, if it forwarded any packet since the last
    /// call: the receiver statistics go on from its last one.
    pub(super) fn forwarded_since(
        &mut self,
        shared: &CallShared,
        i: usize,
    ) -> Option<FlowCounters> {
        if !self.moved[i] {
            return None;
        }
        self.moved[i] = self.active[i].is_some();
        let k = shared.kernel_counts(i);
        let moved = k.packets != self.seen[i];
        self.seen[i] = k.packets;
        moved.then_some(k)
    }

    /// Whether the kernel forwarded a packet of direction `i` within [`STRANGER_HOLD_OFF`].
    pub(super) fn latched_spoke_lately(&self, shared: &CallShared, i: usize, now: Instant) -> bool {
        if !self.ever[i] {
            return false;
        }
        let last = shared.kernel_last_packet(i);
        last.is_some_and(|at| now.saturating_duration_since(at) < STRANGER_HOLD_OFF)
    }

    /// When the kernel last forwarded a packet of this call, if it ever did.
    pub(super) fn last_packet(&self, shared: &CallShared) -> Option<Instant> {
        (0..2).filter_map(|i| shared.kernel_last_packet(i)).max()
    }

    /// The call ended: routes and counters out of the kernel.
    pub(super) fn close(&mut self, shared: &CallShared) {
        self.active = [None, None];
        let Some(kernel) = shared.kernel.as_deref() else {
            return;
        };
        for keys in &shared.offloaded {
            for key in keys.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                kernel.forget(&key);
            }
        }
    }
}
