//! Per-leg media counters. The relay task writes them as relaxed atomics on the packet
//! path; the control side reads a [`LegStats`] snapshot at any time without stopping media.
//! [`Reception`] holds the receiver-side RTP arithmetic of RFC 3550: extended sequence
//! numbers and loss (§6.4.1, A.1, A.3) and interarrival jitter (§6.4.1, A.8), computed from
//! what we observe at the relay. Pure: arrival times are passed in.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Live counters of one leg (one phone).
#[derive(Debug, Default)]
pub struct LegCounters {
    pub(crate) packets_in: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) packets_out: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) rtcp_in: AtomicU64,
    pub(crate) dropped_stranger: AtomicU64,
    pub(crate) dropped_hold: AtomicU64,
    pub(crate) dropped_no_peer: AtomicU64,
    pub(crate) dropped_malformed: AtomicU64,
    pub(crate) dropped_send: AtomicU64,
    pub(crate) ssrc_changes: AtomicU64,
    pub(crate) seq_gaps: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) jitter: AtomicU32,
    pub(crate) clock_rate: AtomicU32,
    /// Microseconds since the engine epoch, plus one; 0 = never.
    pub(crate) last_packet_us: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) played: AtomicU64,
    pub(crate) dropped_muted: AtomicU64,
    pub(crate) transcoded: AtomicU64,
    pub(crate) dropped_codec: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    /// RTCP reports read from this phone, and the latest one's figures.
    pub(crate) reports: AtomicU64,
    pub(crate) reported_fraction: AtomicU32,
    pub(crate) reported_lost: AtomicU64,
    pub(crate) reported_jitter: AtomicU32,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

/// A snapshot of one leg. "in" = from that leg's phone, "out" = sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegStats {
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Of `packets_in`, those the kernel fast path forwarded (`[media] kernel_forwarding`).
    pub packets_offloaded: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub rtcp_in: u64,
    /// From a source other than the latched one.
    pub dropped_stranger: u64,
    /// Not forwarded because of the direction (hold).
    pub dropped_hold: u64,
    /// No other leg yet, or it has no address to send to.
    pub dropped_no_peer: u64,
    pub dropped_malformed: u64,
    pub dropped_send: u64,
    pub ssrc_changes: u64,
    pub seq_gaps: u64,
    /// Packets expected (from sequence numbers) but not received (RFC 3550 A.3).
    pub lost: u64,
    /// Interarrival jitter in timestamp units (RFC 3550 A.8) …
    pub jitter: u32,
    /// … and in milliseconds at the stream's clock rate.
    pub jitter_ms: f64,
    pub last_packet: Option<Instant>,
    /// DTMF or timeout events dropped because the event channel was full.
    pub events_dropped: u64,
    /// Packets the switch originated to this phone (prompts, tones).
    pub played: u64,
    /// From this phone, not forwarded because the switch plays to the other phone.
    pub dropped_muted: u64,
    /// From this phone, decoded and re-encoded in the other phone's codec.
    pub transcoded: u64,
    /// From this phone, not forwarded while transcoding (a payload type we cannot decode,
    /// or a payload the decoder refused).
    pub dropped_codec: u64,
    /// Payloads from this phone a decoder refused (for a tap, the recorder or transcoding).
    pub decode_errors: u64,
    /// What this phone's latest RTCP report says of the stream it receives from the relay;
    /// None until it sends one.
    pub reported: Option<PeerReport>,
}

impl LegStats {
    /// Adds what the kernel forwarded from this phone.
    pub(crate) fn add_offloaded(&mut self, k: &super::kernel::FlowCounters, last: Option<Instant>) {
        self.packets_in += k.packets;
        self.bytes_in += k.bytes;
        self.packets_offloaded = k.packets;
        self.last_packet = self.last_packet.max(last);
        self.seq_gaps += k.gaps;
        self.lost = self.lost.saturating_add_signed(k.lost);
        self.ssrc_changes += k.ssrc_changes;
    }
}

/// A phone's view of the stream it receives, from its latest RTCP report block
/// ([`super::rtcp::ReportBlock`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeerReport {
    /// Reports read so far.
    pub reports: u64,
    /// Share of packets lost since its previous report (0..=1).
    pub fraction_lost: f64,
    /// Packets lost since reception began (negative counts from duplicates read as 0).
    pub lost: u64,
    /// Interarrival jitter, in milliseconds at this leg's clock rate.
    pub jitter_ms: f64,
}

/// Both legs of a call, indexed by [`super::Leg::index`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallMediaStats {
    pub legs: [LegStats; 2],
}

impl CallMediaStats {
    pub fn leg(&self, leg: super::Leg) -> &LegStats {
        &self.legs[leg.index()]
    }
}

impl LegCounters {
    pub(crate) fn touch(&self, epoch: Instant, now: Instant) {
        let us = now.saturating_duration_since(epoch).as_micros() as u64 + 1;
        self.last_packet_us.store(us, Relaxed);
    }

    pub(crate) fn last_packet(&self, epoch: Instant) -> Option<Instant> {
        match self.last_packet_us.load(Relaxed) {
            0 => None,
            us => Some(epoch + Duration::from_micros(us - 1)),
        }
    }

    pub fn snapshot(&self, epoch: Instant) -> LegStats {
        let jitter = self.jitter.load(Relaxed);
        let rate = self.clock_rate.load(Relaxed).max(1);
        LegStats {
            packets_in: self.packets_in.load(Relaxed),
            packets_offloaded: 0,
            bytes_in: self.bytes_in.load(Relaxed),
            packets_out: self.packets_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            rtcp_in: self.rtcp_in.load(Relaxed),
            dropped_stranger: self.dropped_stranger.load(Relaxed),
            dropped_hold: self.dropped_hold.load(Relaxed),
            dropped_no_peer: self.dropped_no_peer.load(Relaxed),
            dropped_malformed: self.dropped_malformed.load(Relaxed),
            dropped_send: self.dropped_send.load(Relaxed),
            ssrc_changes: self.ssrc_changes.load(Relaxed),
            seq_gaps: self.seq_gaps.load(Relaxed),
            lost: self.lost.load(Relaxed),
            jitter,
            jitter_ms: f64::from(jitter) * 1000.0 / f64::from(rate),
            last_packet: self.last_packet(epoch),
            events_dropped: self.events_dropped.load(Relaxed),
            played: self.played.load(Relaxed),
            dropped_muted: self.dropped_muted.load(Relaxed),
            transcoded: self.transcoded.load(Relaxed),
            dropped_codec: self.dropped_codec.load(Relaxed),
            decode_errors: self.decode_errors.load(Relaxed),
            reported: match self.reports.load(Relaxed) {
                0 => None,
                reports => Some(PeerReport {
                    reports,
                    fraction_lost: f64::from(self.reported_fraction.load(Relaxed)) / 256.0,
                    lost: self.reported_lost.load(Relaxed),
                    jitter_ms: f64::from(self.reported_jitter.load(Relaxed)) * 1000.0
                        / f64::from(rate),
                }),
            },
        }
    }

    /// Keeps the figures of a report block this phone sent.
    pub(crate) fn on_report(&self, r: &super::rtcp::ReportBlock) {
        self.reported_fraction
            .store(u32::from(r.fraction_lost), Relaxed);
        self.reported_lost
            .store(r.cumulative_lost.max(0) as u64, Relaxed);
        self.reported_jitter.store(r.jitter, Relaxed);
        bump(&self.reports);
    }
}

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// What one packet changed, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    pub ssrc_changed: bool,
    /// Sequence numbers were skipped (a gap in order, not a reorder).
    pub gap: bool,
}

/// Receiver statistics of one incoming RTP stream (one SSRC at a time).
#[derive(Debug, Clone, Default)]
pub struct Reception {
    ssrc: Option<u32>,
    base_seq: u64,
    max_seq: u16,
    cycles: u64,
    received: u64,
    lost_before: u64,
    transit: Option<u32>,
    jitter: f64,
}

impl Reception {
    /// One packet: `arrival` is the arrival time in the stream's timestamp units (any origin);
    /// `for_jitter` is false for packets whose timestamps do not follow the media clock
    /// (RFC 4733 events share one timestamp).
    /// Packets arrived and were forwarded where we could not see them (the kernel, which
    /// keeps their statistics itself), the last one `seq` of `ssrc`: a new segment starts
    /// there, the loss so far kept.
    pub fn resume(&mut self, ssrc: u32, seq: u16) {
        self.lost_before += self.segment_lost();
        self.ssrc = Some(ssrc);
        self.restart(seq);
        self.received = 1;
        self.transit = None;
    }

    pub fn on_packet(
        &mut self,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        arrival: u32,
        for_jitter: bool,
    ) -> Observed {
        let mut seen = Observed::default();
        if self.ssrc != Some(ssrc) {
            seen.ssrc_changed = self.ssrc.is_some();
            self.lost_before += self.segment_lost();
            *self = Reception {
                ssrc: Some(ssrc),
                lost_before: self.lost_before,
                ..Default::default()
            };
            self.restart(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta == 0 {
                // duplicate
            } else if delta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                seen.gap = delta > 1;
                self.max_seq = seq;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // a jump far ahead or back: the sender restarted its sequence (A.1 "bad_seq")
                self.lost_before += self.segment_lost();
                self.restart(seq);
            }
        }
        self.received += 1;
        if for_jitter {
            let transit = arrival.wrapping_sub(timestamp);
            if let Some(prev) = self.transit {
                let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
                self.jitter += (d - self.jitter) / 16.0;
            }
            self.transit = Some(transit);
        }
        seen
    }

    fn restart(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.received = 0;
    }

    fn segment_lost(&self) -> u64 {
        if self.ssrc.is_none() {
            return 0;
        }
        let expected = self.cycles + u64::from(self.max_seq) + 1 - self.base_seq;
        expected.saturating_sub(self.received)
    }

    /// Cumulative packets lost over all SSRCs and restarts.
    pub fn lost(&self) -> u64 {
        self.lost_before + self.segment_lost()
    }

    /// RFC 3550 jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_has_no_loss() {
        let mut r = Reception::default();
        for i in 0..100u16 {
            let o = r.on_packet(
                7,
                65500u16.wrapping_add(i),
                u32::from(i) * 160,
                u32::from(i) * 160,
                true,
            );
            assert!(!o.gap && !o.ssrc_changed);
        }
        assert_eq!((r.lost(), r.jitter()), (0, 0));
    }

    #[test]
    fn gap_counts_loss_and_reorder_fills_it() {
        let mut r = Reception::default();
        r.on_packet(7, 10, 0, 0, true);
        assert!(r.on_packet(7, 13, 480, 480, true).gap);
        assert_eq!(r.lost(), 2);
        assert!(!r.on_packet(7, 12, 320, 500, true).gap);
        assert_eq!(r.lost(), 1);
    }

    #[test]
    fn ssrc_change_keeps_earlier_loss() {
        let mut r = Reception::default();
        r.on_packet(1, 1, 0, 0, true);
        r.on_packet(1, 5, 0, 0, true);
        assert!(r.on_packet(2, 900, 0, 0, true).ssrc_changed);
        r.on_packet(2, 901, 0, 0, true);
        assert_eq!(r.lost(), 3);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut r = Reception::default();
        // packets every 160 units, arrivals alternate 0 and +32 units late
        for i in 0..200u32 {
            let late = if i % 2 == 1 { 32 } else { 0 };
            r.on_packet(7, i as u16, i * 160, i * 160 + late, true);
        }
        // |D| = 32 each time: J converges to 32
        assert!((31..=32).contains(&r.jitter()), "jitter {}", r.jitter());
        // DTMF packets (not for jitter) do not move it
        let before = r.jitter();
        r.on_packet(7, 200, 5, 999_999, false);
        assert_eq!(r.jitter(), before);
    }
}
