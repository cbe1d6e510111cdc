//! Transcoding one leg's codec to another's: decode whatever packet duration the sender
//! uses (10, 20, 30, 60 ms, up to Opus's 120), buffer the PCM, and re-encode it as 20 ms
//! frames — the packetisation interval of everything the switch sends.
//!
//! Push/pop: [`Transcoder::push_rtp`] one received payload with its RTP sequence number
//! (or [`Transcoder::push`] without, plus [`Transcoder::push_loss`] for gaps the caller
//! tracks itself), then [`Transcoder::pop`] until it returns `None`; each popped packet carries the RTP timestamp increment of the output codec
//! (160 for G.711, 960 for Opus, RFC 7587 §4.1), so the caller stamps the output stream on
//! its own clock. 10 ms packets yield a frame every second push; 30 ms packets yield one or
//! two frames per push, alternating.
//!
//! Losses (RFC 3550 §A.1 sequence arithmetic, modulo 2^16): a gap of up to [`MAX_GAP`]
//! packets is filled so the output keeps its timing — the packet just before the one that
//! arrived is rebuilt from that packet's Opus in-band FEC (RFC 7587 §3.3), earlier ones are
//! concealed (Opus PLC, silence for G.711). Duplicates and late (reordered) packets are
//! dropped and counted: we have no jitter buffer, and their time has been filled already.
//! A larger jump is a restarted stream and is not filled.
//!
//! No allocation per packet: the PCM buffer is reserved at construction and the caller's
//! output `Vec` is reused. The buffer is bounded: when the caller stops popping, the oldest
//! audio is dropped (counted) rather than growing without limit.

use super::{CodecError, CodecKind, Decoder, Encoder};
use crate::media::audio::{Frame, FRAME_SAMPLES};

/// Most audio kept waiting for `pop`, in samples (200 ms at 8 kHz, plus one largest packet).
const MAX_BUFFERED: usize = 10 * FRAME_SAMPLES + super::opus::MAX_PACKET_SAMPLES;

/// Largest sequence gap, in packets, that [`Transcoder::push_rtp`] fills in (100 ms of
/// 20 ms packets).
pub const MAX_GAP: u16 = 5;

/// One encoded 20 ms payload, written to the `out` passed to [`Transcoder::pop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcoded {
    /// Payload length in bytes (`out.len()`).
    pub len: usize,
    /// How far the output RTP timestamp advances for this packet.
    pub timestamp_increment: u32,
}

/// Decodes one codec and re-encodes another, re-framing to 20 ms.
#[derive(Debug)]
pub struct Transcoder {
    decoder: Decoder,
    encoder: Encoder,
    pcm: Vec<i16>,
    frame: Frame,
    dropped: u64,
    /// Sequence number of the last packet given to `push_rtp`.
    last_seq: Option<u16>,
    /// Samples the last decoded packet held: the size of a lost one.
    last_samples: usize,
    late: u64,
}

impl Transcoder {
    pub fn new(from: CodecKind, to: CodecKind) -> Result<Self, CodecError> {
        Ok(Transcoder {
            decoder: Decoder::new(from)?,
            encoder: Encoder::new(to)?,
            pcm: Vec::with_capacity(MAX_BUFFERED + super::opus::MAX_PACKET_SAMPLES),
            frame: [0; FRAME_SAMPLES],
            dropped: 0,
            last_seq: None,
            last_samples: FRAME_SAMPLES,
            late: 0,
        })
    }

    pub fn from_kind(&self) -> CodecKind {
        self.decoder.kind()
    }

    pub fn to_kind(&self) -> CodecKind {
        self.encoder.kind()
    }

    /// Decode one received payload into the buffer; returns the samples it added. On error
    /// nothing is added (the caller counts the bad packet and goes on).
    pub fn push(&mut self, payload: &[u8]) -> Result<usize, CodecError> {
        let n = self.decoder.decode(payload, &mut self.pcm)?;
        self.bound();
        Ok(n)
    }

    /// Decode one received payload with its RTP sequence number into the buffer, filling a
    /// gap before it (see the module docs); returns the samples added. Duplicates and late
    /// packets add nothing (see [`Transcoder::late_packets`]). A payload that does not decode
    /// is concealed for its expected duration so the timing holds, and its error returned.
    pub fn push_rtp(&mut self, seq: u16, payload: &[u8]) -> Result<usize, CodecError> {
        let mut added = 0;
        if let Some(last) = self.last_seq {
            let delta = seq.wrapping_sub(last);
            if delta == 0 || delta >= 0x8000 {
                self.late += 1;
                return Ok(0);
            }
            let lost = delta - 1;
            if (1..=MAX_GAP).contains(&lost) {
                for _ in 1..lost {
                    added += self.decoder.conceal(self.last_samples, &mut self.pcm)?;
                }
                added += self
                    .decoder
                    .recover(payload, self.last_samples, &mut self.pcm)
                    .or_else(|_| self.decoder.conceal(self.last_samples, &mut self.pcm))?;
            }
        }
        self.last_seq = Some(seq);
        let result = match self.decoder.decode(payload, &mut self.pcm) {
            Ok(n) => {
                self.last_samples = n;
                Ok(added + n)
            }
            Err(e) => {
                self.decoder.conceal(self.last_samples, &mut self.pcm)?;
                Err(e)
            }
        };
        self.bound();
        result
    }

    /// Duplicate or late packets `push_rtp` dropped.
    pub fn late_packets(&self) -> u64 {
        self.late
    }

    /// Conceal `samples` (8 kHz) of lost input — Opus PLC, or silence for G.711 — so the
    /// output keeps its timing; returns the samples added.
    pub fn push_loss(&mut self, samples: usize) -> Result<usize, CodecError> {
        let mut left = samples.min(MAX_BUFFERED);
        let mut added = 0;
        while left > 0 {
            let n = self.decoder.conceal(left, &mut self.pcm)?;
            if n == 0 {
                break;
            }
            added += n;
            left -= n.min(left);
        }
        self.bound();
        Ok(added)
    }

    /// Encode the next 20 ms of buffered audio into `out` (cleared first); `None` when less
    /// than a frame is buffered.
    pub fn pop(&mut self, out: &mut Vec<u8>) -> Result<Option<Transcoded>, CodecError> {
        if self.pcm.len() < FRAME_SAMPLES {
            return Ok(None);
        }
        self.frame.copy_from_slice(&self.pcm[..FRAME_SAMPLES]);
        self.pcm.drain(..FRAME_SAMPLES);
        let len = self.encoder.encode(&self.frame, out)?;
        Ok(Some(Transcoded {
            len,
            timestamp_increment: self.encoder.kind().rtp_ticks_per_frame(),
        }))
    }

    /// Decoded samples waiting for `pop`.
    pub fn buffered(&self) -> usize {
        self.pcm.len()
    }

    /// Samples dropped because the buffer was full (the caller did not pop).
    pub fn dropped_samples(&self) -> u64 {
        self.dropped
    }

    fn bound(&mut self) {
        if self.pcm.len() > MAX_BUFFERED {
            let excess = self.pcm.len() - MAX_BUFFERED;
            self.pcm.drain(..excess);
            self.dropped += excess as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::g711;

    fn ulaw_payload(samples: usize, value: i16) -> Vec<u8> {
        vec![g711::ulaw_encode(value); samples]
    }

    #[test]
    fn ten_ms_packets_make_a_frame_every_second_push() {
        let mut t = Transcoder::new(CodecKind::Pcmu, CodecKind::Pcma).unwrap();
        let mut out = Vec::new();
        let mut frames = 0;
        for i in 0..10 {
            t.push(&ulaw_payload(80, 1000)).unwrap();
            while let Some(p) = t.pop(&mut out).unwrap() {
                assert_eq!(
                    p,
                    Transcoded {
                        len: 160,
                        timestamp_increment: 160
                    }
                );
                assert_eq!(out.len(), 160);
                frames += 1;
            }
            assert_eq!(frames, (i + 1) / 2);
        }
    }

    #[test]
    fn thirty_and_sixty_ms_packets_alternate_one_and_two_frames() {
        let mut t = Transcoder::new(CodecKind::Pcma, CodecKind::Pcmu).unwrap();
        let mut out = Vec::new();
        let mut per_push = Vec::new();
        for _ in 0..4 {
            t.push(&vec![g711::alaw_encode(-500); 240]).unwrap();
            let mut n = 0;
            while t.pop(&mut out).unwrap().is_some() {
                n += 1;
            }
            per_push.push(n);
        }
        assert_eq!(per_push, [1, 2, 1, 2]);
        assert_eq!(t.buffered(), 0);
        t.push(&vec![g711::alaw_encode(-500); 480]).unwrap();
        let mut n = 0;
        while t.pop(&mut out).unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        // the value survived A-law → linear → µ-law
        let v = g711::ulaw_decode(out[0]);
        assert!((i32::from(v) + 500).abs() < 40, "{v}");
    }

    #[test]
    fn opus_output_advances_the_48k_clock() {
        let mut t = Transcoder::new(CodecKind::Pcmu, CodecKind::Opus).unwrap();
        let mut out = Vec::new();
        t.push(&ulaw_payload(160, 0)).unwrap();
        let p = t.pop(&mut out).unwrap().unwrap();
        assert_eq!(p.timestamp_increment, 960);
        assert_eq!(p.len, out.len());
    }

    #[test]
    fn bad_input_adds_nothing_and_losses_keep_timing() {
        let mut t = Transcoder::new(CodecKind::Opus, CodecKind::Pcmu).unwrap();
        assert!(t.push(&[0x03, 0x00]).is_err());
        assert_eq!(t.buffered(), 0);
        assert_eq!(t.push_loss(320).unwrap(), 320);
        let mut out = Vec::new();
        assert!(t.pop(&mut out).unwrap().is_some());
        assert!(t.pop(&mut out).unwrap().is_some());
        assert!(t.pop(&mut out).unwrap().is_none());
    }

    #[test]
    fn sequence_gaps_are_filled_and_wraparound_is_not_a_gap() {
        let mut t = Transcoder::new(CodecKind::Pcmu, CodecKind::Pcma).unwrap();
        let p = ulaw_payload(160, 3000);
        assert_eq!(t.push_rtp(65534, &p).unwrap(), 160);
        assert_eq!(t.push_rtp(65535, &p).unwrap(), 160);
        assert_eq!(t.push_rtp(0, &p).unwrap(), 160, "wraparound");
        // 1 and 2 lost: two frames of silence first
        assert_eq!(t.push_rtp(3, &p).unwrap(), 480);
        let mut out = Vec::new();
        let mut frames = Vec::new();
        while t.pop(&mut out).unwrap().is_some() {
            frames.push(
                out.iter()
                    .all(|&b| g711::alaw_decode(b) == g711::alaw_decode(0xD5)),
            );
        }
        assert_eq!(frames, [false, false, false, true, true, false]);
        // a jump beyond MAX_GAP is a restart: nothing filled
        assert_eq!(t.push_rtp(3 + MAX_GAP + 2, &p).unwrap(), 160);
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let mut t = Transcoder::new(CodecKind::Pcma, CodecKind::Pcmu).unwrap();
        let p = vec![0x55u8; 160];
        assert_eq!(t.push_rtp(10, &p).unwrap(), 160);
        assert_eq!(t.push_rtp(10, &p).unwrap(), 0);
        assert_eq!(t.push_rtp(9, &p).unwrap(), 0);
        assert_eq!(t.push_rtp(11, &p).unwrap(), 160);
        assert_eq!(t.late_packets(), 2);
        assert_eq!(t.buffered(), 320);
    }

    #[test]
    fn a_gap_fills_with_the_size_of_the_last_packet() {
        let mut t = Transcoder::new(CodecKind::Pcmu, CodecKind::Pcmu).unwrap();
        assert_eq!(t.push_rtp(1, &ulaw_payload(240, 0)).unwrap(), 240);
        // packet 2 (30 ms) lost
        assert_eq!(t.push_rtp(3, &ulaw_payload(240, 0)).unwrap(), 480);
    }

    #[test]
    fn an_undecodable_packet_keeps_the_timing() {
        let mut t = Transcoder::new(CodecKind::Opus, CodecKind::Pcmu).unwrap();
        let mut enc = Encoder::new(CodecKind::Opus).unwrap();
        let mut good = Vec::new();
        enc.encode(&[1000; FRAME_SAMPLES], &mut good).unwrap();
        assert_eq!(t.push_rtp(1, &good).unwrap(), 160);
        assert!(t.push_rtp(2, &[0x03, 0x00]).is_err());
        assert_eq!(t.buffered(), 320, "the bad packet's 20 ms are concealed");
        assert_eq!(t.push_rtp(3, &good).unwrap(), 160, "no gap after it");
    }

    #[test]
    fn an_unpopped_buffer_is_bounded() {
        let mut t = Transcoder::new(CodecKind::Pcmu, CodecKind::Pcma).unwrap();
        let cap = t.pcm.capacity();
        for _ in 0..100 {
            t.push(&ulaw_payload(160, 7)).unwrap();
        }
        assert_eq!(t.buffered(), MAX_BUFFERED);
        assert_eq!(t.dropped_samples(), 100 * 160 - MAX_BUFFERED as u64);
        assert_eq!(t.pcm.capacity(), cap, "no reallocation");
    }
}
