//! One call's use of the kernel fast path ([`super::kernel`]): which of its two directions
//! (named by the leg the packets come from) the kernel forwards now, and what the relay
//! thread has already learned from the kernel's counts.
//!
//! The session offers a direction after relaying one of its packets as a plain pass; every
//! command to the call and every (re)latch withdraws both, so the next packets come to the
//! thread, which decides afresh. The counts stay in the kernel's map until the call ends:
//! the control side adds them to the thread's own ([`CallShared::kernel_counts`]), and the
//! thread folds them into what needs them here — receiver statistics (so offloaded packets
//! are not taken for lost), the relatch rule ("no packet from the latched source in
//! between") and the media timeout.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use super::kernel::{source_for, FlowCounters, FlowKey, Route};
use super::rtp::RtpHeader;
use super::session::CallShared;

#[derive(Debug, Default)]
pub(super) struct Offload {
    /// Per direction: its key and payload type while the kernel forwards it.
    active: [Option<(FlowKey, u8)>; 2],
    /// The direction's kernel count may have moved since `credited` was taken.
    moved: [bool; 2],
    /// The direction's kernel packet count when the thread last looked.
    seen: [u64; 2],
    /// The kernel count when the direction's last stranger came.
    at_stranger: [u64; 2],
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
    ) {
        let pt = packet.payload_type();
        let Some(kernel) = shared.kernel.as_deref() else {
            return;
        };
        let (SocketAddr::V4(phone), SocketAddr::V4(to)) = (phone, to) else {
            return;
        };
        let key = FlowKey::new(phone, port);
        if self.refused || self.active[i] == Some((key, pt)) {
            return;
        }
        let Ok(local) = out.local_addr() else { return };
        let Some(from) = source_for(local.ip(), to) else {
            return;
        };
        let route = Route {
            from: std::net::SocketAddrV4::new(from, local.port()),
            to,
            pt,
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
                self.active[i] = Some((key, pt));
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
        for slot in &mut self.active {
            if let (Some((key, _)), Some(k)) = (slot.take(), shared.kernel.as_deref()) {
                k.unroute(&key);
            }
        }
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

    /// A stranger reached direction `i`: did the latched phone send anything through the
    /// kernel since the last stranger?
    pub(super) fn latched_spoke(&mut self, shared: &CallShared, i: usize) -> bool {
        if self.active[i].is_none() {
            return false;
        }
        let packets = shared.kernel_counts(i).packets;
        let spoke = packets != self.at_stranger[i];
        self.at_stranger[i] = packets;
        spoke
    }

    /// When the kernel last forwarded a packet of this call, if it ever did.
    pub(super) fn last_packet(&self, shared: &CallShared, now: Instant) -> Option<Instant> {
        (0..2)
            .filter_map(|i| shared.kernel_counts(i).last_packet(now))
            .max()
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
