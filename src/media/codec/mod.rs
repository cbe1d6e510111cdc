//! Audio codecs: RTP payloads ↔ the switch's decoded audio (8 kHz mono `i16`, 20 ms frames,
//! [`crate::media::audio`]).
//!
//! Owns the codec instances a relay session keeps per leg and direction: a [`Decoder`]
//! (payload → PCM, any packet duration) and an [`Encoder`] (one 20 ms [`Frame`] → one
//! payload), for G.711 µ-law and A-law ([`g711`], RFC 3551 §4.5.14) and Opus ([`opus`],
//! RFC 6716 / RFC 7587); the [`Transcoder`] that joins them for two legs that share no
//! codec, re-framing 10/30/60 ms packets to 20 ms; and the FIR [`resample`]r between 8, 16
//! and 48 kHz used by prompts and wideband paths.
//!
//! [`CodecKind`] is defined in [`crate::sip::sdp`] (SDP negotiation needs it and imports
//! point down) and re-exported here.
//!
//! No allocation per packet once the caller's buffers have grown to a packet's size; no
//! panic on any payload: G.711 decodes every byte, Opus errors come back as
//! [`CodecError::Opus`].

pub mod g711;
pub mod opus;
pub mod resample;
mod transcode;

pub use crate::sip::sdp::CodecKind;
pub use resample::Resampler;
pub use transcode::{Transcoded, Transcoder, MAX_GAP};

use crate::media::audio::Frame;

/// Why a payload could not be decoded or a frame encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// libopus refused (invalid packet, RFC 6716 §3.4), or could not be set up.
    #[error("opus: {0}")]
    Opus(audiopus::Error),
    /// An RTP packet with no payload.
    #[error("empty RTP payload")]
    EmptyPayload,
    /// A sample-rate pair the resampler does not convert.
    #[error("no resampler from {from} Hz to {to} Hz")]
    UnsupportedRate { from: u32, to: u32 },
}

/// Decodes RTP payloads of one codec to 8 kHz PCM.
#[derive(Debug)]
pub struct Decoder {
    kind: CodecKind,
    inner: DecoderInner,
}

#[derive(Debug)]
enum DecoderInner {
    Pcmu,
    Pcma,
    Opus(Box<opus::OpusDecoder>),
}

impl Decoder {
    pub fn new(kind: CodecKind) -> Result<Self, CodecError> {
        let inner = match kind {
            CodecKind::Pcmu => DecoderInner::Pcmu,
            CodecKind::Pcma => DecoderInner::Pcma,
            CodecKind::Opus => DecoderInner::Opus(Box::new(opus::OpusDecoder::new()?)),
        };
        Ok(Decoder { kind, inner })
    }

    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Decode one RTP payload, appending 8 kHz samples to `out`; returns how many were appended.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        match &mut self.inner {
            DecoderInner::Pcmu => {
                g711::ulaw_decode_into(payload, out);
                Ok(payload.len())
            }
            DecoderInner::Pcma => {
                g711::alaw_decode_into(payload, out);
                Ok(payload.len())
            }
            DecoderInner::Opus(d) => d.decode(payload, out),
        }
    }

    /// Fill in for `samples` lost samples (8 kHz), appending to `out`: Opus packet-loss
    /// concealment (in 2.5 ms steps), silence for G.711; at most 120 ms
    /// ([`opus::MAX_PACKET_SAMPLES`]) per call, so a wild sequence-number gap cannot make a
    /// huge buffer. Returns how many were appended.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, CodecError> {
        match &mut self.inner {
            DecoderInner::Pcmu | DecoderInner::Pcma => {
                let samples = samples.min(opus::MAX_PACKET_SAMPLES);
                out.resize(out.len() + samples, 0);
                Ok(samples)
            }
            DecoderInner::Opus(d) => d.conceal(samples, out),
        }
    }

    /// Fill in for one lost packet of `samples` samples using the packet received after it,
    /// `next`: Opus in-band FEC (RFC 7587 §3.3; what `useinbandfec=1` asks the sender for),
    /// silence for G.711 (which carries no redundancy). Capped like [`Decoder::conceal`].
    /// Call it before decoding `next` itself.
    pub fn recover(
        &mut self,
        next: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        match &mut self.inner {
            DecoderInner::Pcmu | DecoderInner::Pcma => self.conceal(samples, out),
            DecoderInner::Opus(d) => d.recover(next, samples, out),
        }
    }
}

/// Encodes 20 ms frames of 8 kHz PCM to RTP payloads of one codec.
#[derive(Debug)]
pub struct Encoder {
    kind: CodecKind,
    inner: EncoderInner,
}

#[derive(Debug)]
enum EncoderInner {
    Pcmu,
    Pcma,
    Opus(Box<opus::OpusEncoder>),
}

impl Encoder {
    pub fn new(kind: CodecKind) -> Result<Self, CodecError> {
        let inner = match kind {
            CodecKind::Pcmu => EncoderInner::Pcmu,
            CodecKind::Pcma => EncoderInner::Pcma,
            CodecKind::Opus => EncoderInner::Opus(Box::new(opus::OpusEncoder::new()?)),
        };
        Ok(Encoder { kind, inner })
    }

    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Encode one 20 ms frame into `out` (cleared first); returns the payload length.
    /// The RTP timestamp advances by [`CodecKind::rtp_ticks_per_frame`] per frame.
    pub fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<usize, CodecError> {
        out.clear();
        match &mut self.inner {
            EncoderInner::Pcmu => g711::ulaw_encode_into(frame, out),
            EncoderInner::Pcma => g711::alaw_encode_into(frame, out),
            EncoderInner::Opus(e) => return e.encode(frame, out),
        }
        Ok(out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::FRAME_SAMPLES;

    #[test]
    fn g711_encoders_make_one_byte_per_sample() {
        let frame: Frame = std::array::from_fn(|i| (i as i16 - 80) * 100);
        for kind in [CodecKind::Pcmu, CodecKind::Pcma] {
            let mut enc = Encoder::new(kind).unwrap();
            let mut dec = Decoder::new(kind).unwrap();
            let mut payload = vec![0xAB; 7];
            assert_eq!(enc.encode(&frame, &mut payload).unwrap(), FRAME_SAMPLES);
            assert_eq!(payload.len(), FRAME_SAMPLES);
            let mut pcm = vec![1, 2];
            assert_eq!(dec.decode(&payload, &mut pcm).unwrap(), FRAME_SAMPLES);
            assert_eq!(&pcm[..2], &[1, 2], "decode appends");
            for (a, b) in frame.iter().zip(&pcm[2..]) {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= 8 + i32::from(*a).abs() / 16);
            }
        }
    }

    #[test]
    fn decoders_refuse_empty_payloads_and_conceal_losses() {
        for kind in CodecKind::ALL {
            let mut dec = Decoder::new(kind).unwrap();
            let mut pcm = Vec::new();
            assert_eq!(dec.decode(&[], &mut pcm), Err(CodecError::EmptyPayload));
            assert_eq!(dec.conceal(160, &mut pcm).unwrap(), 160, "{kind:?}");
            assert_eq!(pcm.len(), 160);
            // a wild gap is capped at 120 ms per call
            assert_eq!(dec.conceal(usize::MAX, &mut pcm).unwrap(), 960, "{kind:?}");
        }
    }
}
