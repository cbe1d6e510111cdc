//! Listening to a leg: decoding what its phone sends, for the recorder and the leg's
//! [`AudioTap`](super::audio::AudioTap)s. Exists only while someone listens (a decoder per
//! leg costs memory and, for Opus, CPU), and follows the codec the phone actually sends
//! (the payload type of each packet), recreating its decoder when that changes.
//!
//! Decoded samples come out as they were carried (10, 20, 30 ms … per packet); taps get
//! them re-cut into whole 20 ms [`Frame`]s. No allocation per packet once the sample
//! buffer has grown to the largest packet.

use super::audio::{Frame, FRAME_SAMPLES};
use super::codec::{CodecError, CodecKind, Decoder};

/// 120 ms at 8 kHz: the longest Opus packet.
const MAX_PACKET_SAMPLES: usize = 960;

pub(crate) struct Listener {
    decoder: Option<Decoder>,
    pcm: Vec<i16>,
    frame: Frame,
    filled: usize,
}

impl Listener {
    pub(crate) fn new() -> Self {
        Listener {
            decoder: None,
            pcm: Vec::with_capacity(MAX_PACKET_SAMPLES * 2),
            frame: [0; FRAME_SAMPLES],
            filled: 0,
        }
    }

    /// Decode one payload in `kind`: all its samples go to `heard`, every 20 ms frame
    /// completed by them to `frame`.
    pub(crate) fn on_payload(
        &mut self,
        kind: CodecKind,
        payload: &[u8],
        heard: impl FnOnce(&[i16]),
        mut frame: impl FnMut(&Frame),
    ) -> Result<(), CodecError> {
        let decoder = match &mut self.decoder {
            Some(d) if d.kind() == kind => d,
            slot => {
                // a new codec starts a new frame
                self.filled = 0;
                slot.insert(Decoder::new(kind)?)
            }
        };
        self.pcm.clear();
        decoder.decode(payload, &mut self.pcm)?;
        heard(&self.pcm);
        let mut rest = &self.pcm[..];
        while !rest.is_empty() {
            let n = (FRAME_SAMPLES - self.filled).min(rest.len());
            self.frame[self.filled..self.filled + n].copy_from_slice(&rest[..n]);
            self.filled += n;
            rest = &rest[n..];
            if self.filled == FRAME_SAMPLES {
                self.filled = 0;
                frame(&self.frame);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::g711;

    #[test]
    fn ten_ms_packets_make_whole_frames_and_every_sample_is_heard() {
        let mut l = Listener::new();
        let (mut heard, mut frames) = (0, Vec::new());
        for k in 0..5u8 {
            let payload = [g711::ulaw_encode(i16::from(k) * 1000); 80];
            l.on_payload(
                CodecKind::Pcmu,
                &payload,
                |s| heard += s.len(),
                |f| frames.push((f[0], f[159])),
            )
            .unwrap();
        }
        assert_eq!(heard, 400);
        assert_eq!(frames.len(), 2, "400 samples: two frames and a half");
        let d = |v: i16| g711::ulaw_decode(g711::ulaw_encode(v));
        assert_eq!(frames[0], (d(0), d(1000)));
        assert_eq!(frames[1], (d(2000), d(3000)));
    }

    #[test]
    fn a_codec_change_replaces_the_decoder_and_restarts_the_frame() {
        let mut l = Listener::new();
        let mut frames = Vec::new();
        l.on_payload(CodecKind::Pcmu, &[0xff; 100], |_| {}, |_| {})
            .unwrap();
        let a = [g711::alaw_encode(-2000); 160];
        l.on_payload(CodecKind::Pcma, &a, |_| {}, |f| frames.push(f[0]))
            .unwrap();
        assert_eq!(frames, [g711::alaw_decode(a[0])]);
        assert!(l.on_payload(CodecKind::Pcma, &[], |_| {}, |_| {}).is_err());
    }
}
