//! One direction of a transcoded bridge: audio from one phone in a codec the other phone's
//! SDP does not list is decoded and re-encoded in one it does (the codec layer's
//! [`Transcoder`], re-framing any packet duration to 20 ms), and goes out on the receiving
//! leg's own RTP stream ([`RtpOut`]): our SSRC, our sequence numbers, timestamps in the
//! output codec's clock. RFC 4733 telephone-events of the same direction move to that
//! stream too, with the receiving phone's payload type, the event timestamp mapped through
//! the same input→output clock relation as the audio, and durations scaled when the clocks
//! differ (RFC 4733 §2.5.1.1, §2.3.5).
//!
//! Timing: a small gap in the input timestamps (lost packets) is filled by the decoder's
//! concealment, so the output keeps its rhythm; a packet from the past (duplicate,
//! reordered) is dropped; a long gap (silence suppression), a new SSRC, or another writer on
//! the output stream (a prompt played meanwhile) starts a new talkspurt: marker bit, output
//! timestamp continued from the wall clock. Sans-IO: times are passed in, finished packets
//! go to a callback.

use std::time::Instant;

use super::audio::SAMPLE_RATE;
use super::codec::Transcoder;
use super::codec::{CodecError, CodecKind};
use super::outbound::{RtpOut, Stamp, Writer};
use super::rtp::RtpHeader;

/// Input gaps up to this long (8 kHz samples, 200 ms) are concealed; longer ones restart.
const MAX_CONCEALED: u64 = 1600;

const MAX_PACKET: usize = 1500;

/// What became of one input packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Decoded (and whatever 20 ms frames it completed were sent).
    Transcoded,
    /// Older than what was already decoded: dropped.
    Stale,
}

pub(crate) struct Transcoding {
    t: Transcoder,
    from: CodecKind,
    to: CodecKind,
    out_pt: u8,
    ssrc: Option<u32>,
    /// Input timestamp of the sample after the last one decoded.
    expected_in: Option<u32>,
    /// Output timestamp of the next frame sent; `None` until a talkspurt starts.
    next_out: Option<u32>,
    marker: bool,
    /// (input timestamp, output timestamp) of the last audio packet's first sample.
    anchor: Option<(u32, u32)>,
    payload: Vec<u8>,
    packet: Vec<u8>,
}

/// `v` in clock `from` to clock `to` (both ≤ 48 kHz, `v` < 2³²: no overflow in u64).
fn rescale(v: u64, from: u32, to: u32) -> u64 {
    v * u64::from(to) / u64::from(from.max(1))
}

impl Transcoding {
    pub(crate) fn new(from: CodecKind, to: CodecKind, out_pt: u8) -> Result<Self, CodecError> {
        Ok(Transcoding {
            t: Transcoder::new(from, to)?,
            from,
            to,
            out_pt,
            ssrc: None,
            expected_in: None,
            next_out: None,
            marker: true,
            anchor: None,
            payload: Vec::with_capacity(MAX_PACKET),
            packet: Vec::with_capacity(MAX_PACKET + 64),
        })
    }

    /// Whether this transcodes `from` → `to` (payload type `out_pt`).
    pub(crate) fn is(&self, from: CodecKind, to: CodecKind, out_pt: u8) -> bool {
        (self.from, self.to, self.out_pt) == (from, to, out_pt)
    }

    /// One audio packet in the input codec; finished output packets go to `send`.
    pub(crate) fn on_audio(
        &mut self,
        hdr: &RtpHeader<'_>,
        out: &mut RtpOut,
        now: Instant,
        mut send: impl FnMut(&[u8]),
    ) -> Result<Outcome, CodecError> {
        let (ts, in_rate, out_rate) = (
            hdr.timestamp(),
            self.from.clock_rate(),
            self.to.clock_rate(),
        );
        let mut restart = self.ssrc != Some(hdr.ssrc()) || out.taken_over(Writer::Transcoder);
        if let (false, Some(expected)) = (restart, self.expected_in) {
            let ahead = ts.wrapping_sub(expected) as i32;
            if ahead < 0 {
                return Ok(Outcome::Stale);
            }
            let gap = rescale(ahead as u64, in_rate, SAMPLE_RATE);
            if gap > MAX_CONCEALED {
                restart = true;
            } else if gap > 0 {
                self.t.push_loss(gap as usize)?;
            }
        }
        if restart || self.expected_in.is_none() {
            self.ssrc = Some(hdr.ssrc());
            self.next_out = None;
            self.marker = true;
        }
        let before = self.t.buffered() as u64;
        let n = self.t.push(hdr.payload())?;
        self.expected_in = Some(ts.wrapping_add(rescale(n as u64, SAMPLE_RATE, in_rate) as u32));
        let next_out = *self
            .next_out
            .get_or_insert_with(|| out.timestamp_at(now, out_rate));
        self.anchor = Some((
            ts,
            next_out.wrapping_add(rescale(before, SAMPLE_RATE, out_rate) as u32),
        ));
        while let Some(frame) = self.t.pop(&mut self.payload)? {
            let ts_out = self.next_out.unwrap_or(next_out);
            self.next_out = Some(ts_out.wrapping_add(frame.timestamp_increment));
            let stamp = Stamp {
                pt: self.out_pt,
                marker: std::mem::take(&mut self.marker),
                ts: ts_out,
                clock_rate: out_rate,
            };
            out.packet(
                &mut self.packet,
                stamp,
                Writer::Transcoder,
                now,
                &self.payload,
            );
            send(&self.packet);
        }
        Ok(Outcome::Transcoded)
    }

    /// One RFC 4733 event packet of this direction, re-stamped for the output stream:
    /// payload type `out_pt`, timestamp mapped, duration from `in_rate` to `out_rate`
    /// (the two phones' telephone-event clocks).
    pub(crate) fn on_event(
        &mut self,
        hdr: &RtpHeader<'_>,
        rates: (u32, u32),
        out_pt: u8,
        out: &mut RtpOut,
        now: Instant,
        send: impl FnOnce(&[u8]),
    ) {
        let (in_rate, out_rate) = rates;
        let payload = hdr.payload();
        if payload.len() < 4 {
            return;
        }
        let (ts, audio_in, audio_out) = (
            hdr.timestamp(),
            self.from.clock_rate(),
            self.to.clock_rate(),
        );
        let (a_in, a_out) = *self
            .anchor
            .get_or_insert_with(|| (ts, out.timestamp_at(now, audio_out)));
        let delta = ts.wrapping_sub(a_in) as i32;
        let moved = rescale(u64::from(delta.unsigned_abs()), audio_in, audio_out) as u32;
        let mapped = match delta >= 0 {
            true => a_out.wrapping_add(moved),
            false => a_out.wrapping_sub(moved),
        };
        let duration = u16::from_be_bytes([payload[2], payload[3]]);
        let duration = rescale(u64::from(duration), in_rate, out_rate).min(u64::from(u16::MAX));
        let stamp = Stamp {
            pt: out_pt,
            marker: hdr.marker(),
            ts: mapped,
            clock_rate: audio_out,
        };
        // The event with its duration rescaled (any further events of the packet as sent).
        let mut event = [0u8; 64];
        let n = payload.len().min(event.len());
        event[..n].copy_from_slice(&payload[..n]);
        event[2..4].copy_from_slice(&(duration as u16).to_be_bytes());
        out.packet(
            &mut self.packet,
            stamp,
            Writer::Transcoder,
            now,
            &event[..n],
        );
        send(&self.packet);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::g711;
    use std::time::Duration;

    fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    struct Sent(Vec<(u8, bool, u16, u32, Vec<u8>)>);
    impl Sent {
        fn push(&mut self, p: &[u8]) {
            let h = RtpHeader::parse(p).unwrap();
            self.0.push((
                h.payload_type(),
                h.marker(),
                h.sequence(),
                h.timestamp(),
                h.payload().to_vec(),
            ));
        }
    }

    #[test]
    fn ulaw_30_ms_packets_become_alaw_20_ms_packets_with_continuous_timestamps() {
        let t0 = Instant::now();
        let mut x = Transcoding::new(CodecKind::Pcmu, CodecKind::Pcma, 8).unwrap();
        let mut out = RtpOut::new();
        let mut sent = Sent(Vec::new());
        let pcm = 3000i16;
        for k in 0..4u32 {
            let p = packet(
                0,
                k as u16,
                1000 + 240 * k,
                5,
                &[g711::ulaw_encode(pcm); 240],
            );
            let h = RtpHeader::parse(&p).unwrap();
            let now = t0 + Duration::from_millis(30 * u64::from(k));
            let r = x.on_audio(&h, &mut out, now, |p| sent.push(p)).unwrap();
            assert_eq!(r, Outcome::Transcoded);
        }
        assert_eq!(sent.0.len(), 6, "120 ms in, six 20 ms frames out");
        let (seq0, ts0) = (sent.0[0].2, sent.0[0].3);
        for (k, (pt, marker, seq, ts, payload)) in sent.0.iter().enumerate() {
            assert_eq!(*pt, 8);
            assert_eq!(*marker, k == 0);
            assert_eq!(*seq, seq0.wrapping_add(k as u16));
            assert_eq!(*ts, ts0.wrapping_add(160 * k as u32));
            assert_eq!(payload.len(), 160);
            let back = g711::alaw_decode(payload[80]);
            assert!((back - pcm).abs() < 100, "{back}");
        }
        // a duplicate is stale; a lost packet is concealed so the rhythm holds
        let dup = packet(0, 3, 1000 + 240 * 3, 5, &[0xff; 240]);
        let r = x.on_audio(&RtpHeader::parse(&dup).unwrap(), &mut out, t0, |p| {
            sent.push(p)
        });
        assert_eq!(r.unwrap(), Outcome::Stale);
        let after_loss = packet(0, 5, 1000 + 240 * 5, 5, &[0xff; 240]);
        let now = t0 + Duration::from_millis(150);
        x.on_audio(
            &RtpHeader::parse(&after_loss).unwrap(),
            &mut out,
            now,
            |p| sent.push(p),
        )
        .unwrap();
        assert_eq!(
            sent.0.len(),
            9,
            "240 concealed + 240 new = 480 samples = 3 frames"
        );
        assert!(sent.0[6..].iter().all(|s| !s.1), "no new talkspurt");
        assert_eq!(sent.0[8].3, ts0.wrapping_add(160 * 8));
    }

    #[test]
    fn a_long_silence_or_new_ssrc_starts_a_talkspurt_on_the_wall_clock() {
        let t0 = Instant::now();
        let mut x = Transcoding::new(CodecKind::Pcma, CodecKind::Pcmu, 0).unwrap();
        let mut out = RtpOut::new();
        let mut sent = Sent(Vec::new());
        let p = packet(8, 0, 0, 5, &[0xd5; 160]);
        x.on_audio(&RtpHeader::parse(&p).unwrap(), &mut out, t0, |p| {
            sent.push(p)
        })
        .unwrap();
        // 2 s of silence suppression
        let p = packet(8, 1, 16160, 5, &[0xd5; 160]);
        let t1 = t0 + Duration::from_secs(2);
        x.on_audio(&RtpHeader::parse(&p).unwrap(), &mut out, t1, |p| {
            sent.push(p)
        })
        .unwrap();
        assert_eq!(sent.0.len(), 2);
        assert!(sent.0[1].1, "marker");
        assert_eq!(sent.0[1].3.wrapping_sub(sent.0[0].3), 16000, "wall clock");
        let p = packet(8, 900, 7, 6, &[0xd5; 160]);
        x.on_audio(&RtpHeader::parse(&p).unwrap(), &mut out, t1, |p| {
            sent.push(p)
        })
        .unwrap();
        assert!(sent.0[2].1, "a new SSRC starts a talkspurt");
    }

    #[test]
    fn events_are_restamped_on_the_output_stream_with_scaled_timing() {
        let t0 = Instant::now();
        let mut x = Transcoding::new(CodecKind::Pcmu, CodecKind::Opus, 111).unwrap();
        let mut out = RtpOut::new();
        let mut sent = Sent(Vec::new());
        let audio = packet(0, 0, 8000, 5, &[0xff; 160]);
        x.on_audio(&RtpHeader::parse(&audio).unwrap(), &mut out, t0, |p| {
            sent.push(p)
        })
        .unwrap();
        let audio_ts = sent.0[0].3;
        // digit 5 starting 20 ms after that audio, 400 ticks (50 ms) long at 8 kHz
        let ev = packet(101, 1, 8160, 5, &[5, 0x8a, 0x01, 0x90]);
        x.on_event(
            &RtpHeader::parse(&ev).unwrap(),
            (8000, 48000),
            96,
            &mut out,
            t0,
            |p| sent.push(p),
        );
        let (pt, _, seq, ts, payload) = &sent.0[1];
        assert_eq!(*pt, 96);
        assert_eq!(*seq, sent.0[0].2.wrapping_add(1), "same stream");
        assert_eq!(ts.wrapping_sub(audio_ts), 960, "20 ms at 48 kHz");
        assert_eq!(payload, &[5, 0x8a, 0x09, 0x60], "duration 400 → 2400");
    }
}
