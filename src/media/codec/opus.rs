//! Opus (RFC 6716) through libopus (`audiopus`), packetised per RFC 7587.
//!
//! libopus runs at 8 kHz mono here: the switch's audio is narrowband ([`super::super::audio`]),
//! and libopus decodes any Opus packet — whatever bandwidth and channel count the sender
//! chose — straight to the rate and channel count the decoder was created with, with its own
//! high-quality resampler. So no resampling stage of ours sits in the Opus path. The RTP
//! clock stays 48 kHz whatever the audio rate (RFC 7587 §4.1): a 20 ms frame advances the
//! RTP timestamp by 960 ([`super::CodecKind::rtp_ticks_per_frame`]).
//!
//! Garbage payloads come back as [`CodecError::Opus`] (libopus validates the TOC byte and
//! frame lengths of RFC 6716 §3.4); nothing here panics on input.

use audiopus::coder::{Decoder as LibDecoder, Encoder as LibEncoder};
use audiopus::packet::Packet;
use audiopus::{Application, Bitrate, Channels, MutSignals, SampleRate};

use super::CodecError;
use crate::media::audio::Frame;

/// Longest Opus packet duration (RFC 6716 §3.2.5: 120 ms), in 8 kHz samples.
pub const MAX_PACKET_SAMPLES: usize = 960;
/// Largest payload one Opus frame produces (RFC 6716 §3.2.1: 1275 bytes per frame).
pub const MAX_PAYLOAD: usize = 1275;
/// Bit rate we encode narrowband speech at. RFC 7587 §3.1.1 suggests 8–12 kb/s for NB
/// speech, but libopus 1.3 only adds in-band FEC (LBRR) to SILK frames above about
/// 14.4 kb/s at 5 % expected loss: at 16 kb/s no FEC was coded (measured), at 24 kb/s a lost
/// packet is rebuilt at full level from the next one (tests/media_codec.rs).
pub const BITRATE: i32 = 24_000;
/// Encoder complexity (0–10; libopus defaults to 10). At 5 an 8 kHz 20 ms encode costs
/// about 53 µs instead of 81 µs (benches/codec.rs) for 0.1 dB less waveform SNR on a
/// two-tone test signal.
pub const COMPLEXITY: u8 = 5;

/// An 8 kHz mono Opus encoder producing one 20 ms packet per frame.
pub struct OpusEncoder {
    inner: LibEncoder,
}

impl OpusEncoder {
    pub fn new() -> Result<Self, CodecError> {
        let mut inner = LibEncoder::new(SampleRate::Hz8000, Channels::Mono, Application::Voip)
            .map_err(CodecError::Opus)?;
        inner
            .set_bitrate(Bitrate::BitsPerSecond(BITRATE))
            .map_err(CodecError::Opus)?;
        // We advertise useinbandfec=1 (RFC 7587 §6.1); FEC is only coded when the encoder
        // expects loss, so tell it a little.
        inner.set_inband_fec(true).map_err(CodecError::Opus)?;
        inner.set_packet_loss_perc(5).map_err(CodecError::Opus)?;
        inner.set_complexity(COMPLEXITY).map_err(CodecError::Opus)?;
        Ok(OpusEncoder { inner })
    }

    /// Encode one frame into `out` (cleared first; its capacity is reused).
    pub fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<usize, CodecError> {
        out.clear();
        out.resize(MAX_PAYLOAD, 0);
        let n = self
            .inner
            .encode(&frame[..], out.as_mut_slice())
            .map_err(CodecError::Opus)?;
        out.truncate(n);
        Ok(n)
    }
}

/// An 8 kHz mono Opus decoder (any packet, any bandwidth, mono or stereo).
pub struct OpusDecoder {
    inner: LibDecoder,
    pcm: Box<[i16; MAX_PACKET_SAMPLES]>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, CodecError> {
        let inner =
            LibDecoder::new(SampleRate::Hz8000, Channels::Mono).map_err(CodecError::Opus)?;
        Ok(OpusDecoder {
            inner,
            pcm: Box::new([0; MAX_PACKET_SAMPLES]),
        })
    }

    /// Decode one RTP payload (one Opus packet, RFC 7587 §4.2), appending to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        let packet = Packet::try_from(payload).map_err(CodecError::Opus)?;
        let signals = MutSignals::try_from(&mut self.pcm[..]).map_err(CodecError::Opus)?;
        let n = self
            .inner
            .decode(Some(packet), signals, false)
            .map_err(CodecError::Opus)?;
        let n = n.min(MAX_PACKET_SAMPLES);
        out.extend_from_slice(&self.pcm[..n]);
        Ok(n)
    }

    /// Recover a lost packet of `samples` samples from the in-band FEC (LBRR) data carried
    /// by the packet after it, `next` (RFC 6716 §2.1.7, RFC 7587 §3.3), appending to `out`.
    /// Without FEC data in `next` libopus conceals instead. Call it before decoding `next`.
    pub fn recover(
        &mut self,
        next: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, CodecError> {
        let samples = samples.min(MAX_PACKET_SAMPLES) / 20 * 20;
        if samples == 0 {
            return Ok(0);
        }
        if next.is_empty() {
            return self.conceal(samples, out);
        }
        let packet = Packet::try_from(next).map_err(CodecError::Opus)?;
        let signals = MutSignals::try_from(&mut self.pcm[..samples]).map_err(CodecError::Opus)?;
        let n = self
            .inner
            .decode(Some(packet), signals, true)
            .map_err(CodecError::Opus)?;
        let n = n.min(samples);
        out.extend_from_slice(&self.pcm[..n]);
        Ok(n)
    }

    /// Packet-loss concealment for `samples` lost samples (rounded down to 2.5 ms, at most
    /// 120 ms per call), appending to `out`.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, CodecError> {
        let samples = samples.min(MAX_PACKET_SAMPLES) / 20 * 20;
        if samples == 0 {
            return Ok(0);
        }
        let signals = MutSignals::try_from(&mut self.pcm[..samples]).map_err(CodecError::Opus)?;
        let n = self
            .inner
            .decode(None, signals, false)
            .map_err(CodecError::Opus)?;
        let n = n.min(samples);
        out.extend_from_slice(&self.pcm[..n]);
        Ok(n)
    }
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusEncoder { 8000 Hz mono }")
    }
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpusDecoder { 8000 Hz mono }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::FRAME_SAMPLES;

    #[test]
    fn a_frame_encodes_and_decodes_to_160_samples() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let frame: Frame = std::array::from_fn(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16);
        let mut payload = Vec::new();
        let n = enc.encode(&frame, &mut payload).unwrap();
        assert!(n > 0 && n == payload.len() && n < 200, "{n}");
        let mut pcm = Vec::new();
        assert_eq!(dec.decode(&payload, &mut pcm).unwrap(), FRAME_SAMPLES);
        assert_eq!(pcm.len(), FRAME_SAMPLES);
    }

    #[test]
    fn garbage_and_empty_payloads_are_errors() {
        let mut dec = OpusDecoder::new().unwrap();
        let mut pcm = Vec::new();
        assert!(matches!(
            dec.decode(&[], &mut pcm),
            Err(CodecError::EmptyPayload)
        ));
        // TOC code 3 (arbitrary frame count) with a frame count of 0: RFC 6716 §3.2.5 R5
        assert!(matches!(
            dec.decode(&[0x03, 0x00], &mut pcm),
            Err(CodecError::Opus(_))
        ));
        // code 2 (two frames, different sizes) whose first length exceeds the packet: R4
        assert!(dec.decode(&[0x02, 0xFB, 0x01], &mut pcm).is_err());
        assert!(pcm.is_empty());
    }

    #[test]
    fn concealment_fills_the_gap() {
        let mut dec = OpusDecoder::new().unwrap();
        let mut pcm = Vec::new();
        assert_eq!(dec.conceal(160, &mut pcm).unwrap(), 160);
        assert_eq!(dec.conceal(5000, &mut pcm).unwrap(), MAX_PACKET_SAMPLES);
        assert_eq!(dec.conceal(0, &mut pcm).unwrap(), 0);
        assert_eq!(pcm.len(), 160 + MAX_PACKET_SAMPLES);
    }
}
