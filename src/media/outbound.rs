//! The switch's own RTP stream towards one leg's phone (RFC 3550 §5.1): what carries
//! prompts, tones and transcoded audio — one SSRC per leg, a sequence number that counts
//! every packet we originate, and a timestamp that follows the media clock across pauses,
//! so a phone's jitter buffer sees one continuous stream however often a prompt starts,
//! stops or hands over to transcoded relay. Relayed pass-through packets keep the far
//! phone's own SSRC, sequence and timestamp and do not touch this state. Pure: times are
//! passed in.

use std::time::Instant;

use std::time::Duration;

use super::rtp::FIXED_HEADER_LEN;

/// The first sender report follows our first packet after this.
pub(crate) const FIRST_REPORT: Duration = Duration::from_secs(1);
/// Then one about every this long (RFC 3550 §6.2's minimum).
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(5);

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
    /// Packets and payload octets sent (RFC 3550 §6.4.1 sender info; wrapping).
    sent_packets: u32,
    sent_octets: u32,
    /// When the next sender report is due; None before the first packet.
    report_due: Option<Instant>,
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
            sent_packets: 0,
            sent_octets: 0,
            report_due: None,
        }
    }

    /// A compound RTCP packet (RFC 3550 §6.1: SR, then SDES with our CNAME) into `out`
    /// when one is due at `now`: [`FIRST_REPORT`] after our first packet, then every
    /// [`REPORT_INTERVAL`] randomised by ±50 % (§6.2), while the stream sends (a stream
    /// quiet for longer than that, a prompt that ended, sends none). `ntp` is the wall
    /// clock at `now` as a 64-bit NTP timestamp.
    pub(crate) fn sender_report(
        &mut self,
        now: Instant,
        ntp: u64,
        cname: &str,
        out: &mut Vec<u8>,
    ) -> bool {
        let (Some(due), Some((_, last))) = (self.report_due, self.last) else {
            return false;
        };
        if now < due {
            return false;
        }
        if now.saturating_duration_since(last) > REPORT_INTERVAL {
            self.report_due = None;
            return false;
        }
        let jitter = rand::random_range(0.5..1.5);
        self.report_due = Some(now + REPORT_INTERVAL.mul_f64(jitter));
        out.clear();
        // SR, no report blocks: header, SSRC, NTP, RTP timestamp, packets, octets.
        out.extend_from_slice(&[0x80, 200, 0, 6]);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&ntp.to_be_bytes());
        out.extend_from_slice(&self.timestamp_at(now, self.clock_rate).to_be_bytes());
        out.extend_from_slice(&self.sent_packets.to_be_bytes());
        out.extend_from_slice(&self.sent_octets.to_be_bytes());
        // SDES: one chunk, CNAME item, null-terminated and padded to 32 bits.
        let name = &cname.as_bytes()[..cname.len().min(255)];
        let chunk = 4 + 2 + name.len() + 1;
        let padded = chunk.div_ceil(4) * 4;
        out.extend_from_slice(&[0x81, 202]);
        out.extend_from_slice(&((padded / 4) as u16).to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&[1, name.len() as u8]);
        out.extend_from_slice(name);
        out.resize(out.len() + padded - chunk + 1, 0);
        true
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

    /// Write our next packet into `out` (cleared first): the fixed header, then `payload`;
    /// counted for the sender reports.
    pub(crate) fn packet(
        &mut self,
        out: &mut Vec<u8>,
        h: Stamp,
        writer: Writer,
        now: Instant,
        payload: &[u8],
    ) {
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
        out.extend_from_slice(payload);
        self.sent_packets = self.sent_packets.wrapping_add(1);
        self.sent_octets = self.sent_octets.wrapping_add(payload.len() as u32);
        self.report_due.get_or_insert(now + FIRST_REPORT);
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
        s.packet(&mut buf, stamp(0, true, 1000), Writer::Player, t0, &[]);
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
        s.packet(&mut buf, stamp(8, false, 9000), Writer::Transcoder, t1, &[]);
        let h = RtpHeader::parse(&buf).unwrap();
        assert_eq!((h.sequence(), h.ssrc()), (seq0.wrapping_add(1), ssrc));
        assert!(!h.marker());
    }

    #[test]
    fn sender_reports_follow_our_packets_and_stop_when_the_stream_does() {
        let t0 = Instant::now();
        let mut s = RtpOut::new();
        let (mut pkt, mut report) = (Vec::new(), Vec::new());
        let stamp = Stamp {
            pt: 0,
            marker: false,
            ts: 5000,
            clock_rate: 8000,
        };
        assert!(
            !s.sender_report(t0, 1, "sb", &mut report),
            "nothing sent yet"
        );
        for n in 0..50u32 {
            let at = t0 + Duration::from_millis(20 * u64::from(n));
            s.packet(
                &mut pkt,
                Stamp {
                    ts: 5000 + 160 * n,
                    ..stamp
                },
                Writer::Player,
                at,
                &[0xd5; 160],
            );
        }
        let ssrc = RtpHeader::parse(&pkt).unwrap().ssrc();
        let t1 = t0 + Duration::from_millis(990);
        assert!(
            !s.sender_report(t1, 1, "sb", &mut report),
            "not before a second"
        );
        let ntp = 0x1234_5678_9abc_def0;
        assert!(s.sender_report(t1 + Duration::from_millis(10), ntp, "sb", &mut report));
        let word = |i: usize| u32::from_be_bytes(report[i..i + 4].try_into().unwrap());
        assert_eq!(&report[..4], &[0x80, 200, 0, 6], "SR without report blocks");
        assert_eq!(word(4), ssrc);
        assert_eq!((word(8), word(12)), (0x1234_5678, 0x9abc_def0), "NTP time");
        // the RTP time of the same instant: the last packet's plus 20 ms
        assert_eq!(word(16), 5000 + 160 * 49 + 160);
        assert_eq!(
            (word(20), word(24)),
            (50, 50 * 160),
            "packets and payload octets"
        );
        assert_eq!(&report[28..30], &[0x81, 202], "then SDES");
        let sdes_words = usize::from(u16::from_be_bytes([report[30], report[31]])) + 1;
        assert_eq!(report.len(), 28 + 4 * sdes_words);
        assert_eq!(word(32), ssrc);
        assert_eq!(&report[36..40], &[1, 2, b's', b'b'], "CNAME");
        assert!(report[40..].iter().all(|&b| b == 0) && report.len() % 4 == 0);
        // Not again at once; the stream then stops, and no report follows.
        assert!(!s.sender_report(t1 + Duration::from_secs(2), ntp, "sb", &mut report));
        assert!(!s.sender_report(t1 + Duration::from_secs(8), ntp, "sb", &mut report));
        assert!(!s.sender_report(t1 + Duration::from_secs(20), ntp, "sb", &mut report));
    }
}
