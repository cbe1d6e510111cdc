//! The switch's own RTP stream towards one leg's phone (RFC 3550 §5.1): what carries
//! prompts, tones and transcoded audio — one SSRC per leg, a sequence number that counts
//! every packet we originate, and a timestamp that follows the media clock across pauses,
//! so a phone's jitter buffer sees one continuous stream however often a prompt starts,
//! stops or hands over to transcoded relay. Relayed pass-through packets keep the far
//! phone's own SSRC, sequence and timestamp and do not touch this state. Pure: times are
//! passed in.

use std::time::Instant;

use super::rtp::FIXED_HEADER_LEN;

/// Who sent the last packet of the stream; a change of writer starts a new talkspurt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    Player,
    Transcoder,
}

/// What distinguishes one of our packets: payload type, marker, timestamp and its clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub pt: u8,
    pub marker: bool,
    pub ts: u32,
    pub clock_rate: u32,
}

#[derive(Debug)]
pub(crate) struct RtpOut {
    ssrc: u32,
    seq: u16,
    /// Timestamp of the last packet and when it was sent.
    last: Option<(u32, Instant)>,
    /// The RTP clock of the last packet's codec.
    clock_rate: u32,
    writer: Option<Writer>,
}

impl RtpOut {
    /// A stream with random SSRC and initial sequence number (RFC 3550 §5.1).
    pub(crate) fn new() -> Self {
        RtpOut {
            ssrc: rand::random(),
            seq: rand::random(),
            last: None,
            clock_rate: 8000,
            writer: None,
        }
    }

    /// The timestamp a packet sent at `now` continues the stream with, in `clock_rate`
    /// units: the last one advanced by the wall time since (random for a new stream).
    pub(crate) fn timestamp_at(&self, now: Instant, clock_rate: u32) -> u32 {
        match self.last {
            None => rand::random(),
            Some((ts, at)) => {
                let us = now.saturating_duration_since(at).as_micros() as u64;
                // a change of clock keeps the wall-clock relation (ts scaled at the switch)
                let ts = if clock_rate == self.clock_rate {
                    ts
                } else {
                    (u64::from(ts) * u64::from(clock_rate) / u64::from(self.clock_rate.max(1)))
                        as u32
                };
                ts.wrapping_add((us * u64::from(clock_rate) / 1_000_000) as u32)
            }
        }
    }

    /// Whether the last packet came from someone else than `writer` (or none was sent).
    pub(crate) fn taken_over(&self, writer: Writer) -> bool {
        self.writer != Some(writer)
    }

    /// Write the fixed header of our next packet into `out` (cleared first) and count it.
    pub(crate) fn header(&mut self, out: &mut Vec<u8>, h: Stamp, writer: Writer, now: Instant) {
        let Stamp {
            pt,
            marker,
            ts,
            clock_rate,
        } = h;
        out.clear();
        out.push(0x80);
        out.push((u8::from(marker) << 7) | (pt & 0x7f));
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&ts.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        debug_assert_eq!(out.len(), FIXED_HEADER_LEN);
        self.seq = self.seq.wrapping_add(1);
        self.last = Some((ts, now));
        self.clock_rate = clock_rate;
        self.writer = Some(writer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpHeader;
    use std::time::Duration;

    #[test]
    fn sequence_counts_every_packet_and_timestamps_follow_the_clock_across_pauses() {
        let t0 = Instant::now();
        let mut s = RtpOut::new();
        let mut buf = Vec::new();
        let stamp = |pt, marker, ts| Stamp {
            pt,
            marker,
            ts,
            clock_rate: 8000,
        };
        s.header(&mut buf, stamp(0, true, 1000), Writer::Player, t0);
        let h = RtpHeader::parse(&buf).unwrap();
        let (seq0, ssrc) = (h.sequence(), h.ssrc());
        assert!(h.marker());
        assert_eq!((h.payload_type(), h.timestamp()), (0, 1000));
        assert!(!s.taken_over(Writer::Player) && s.taken_over(Writer::Transcoder));

        // 1 s later: 8000 ticks on
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(s.timestamp_at(t1, 8000), 9000);
        assert_eq!(
            s.timestamp_at(t1, 48000),
            6000 + 48000,
            "clock change scales"
        );
        s.header(&mut buf, stamp(8, false, 9000), Writer::Transcoder, t1);
        let h = RtpHeader::parse(&buf).unwrap();
        assert_eq!((h.sequence(), h.ssrc()), (seq0.wrapping_add(1), ssrc));
        assert!(!h.marker());
    }
}
