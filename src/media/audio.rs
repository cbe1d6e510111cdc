//! Decoded audio inside the switch, the common currency of media applications: 8 kHz
//! mono signed 16-bit PCM in 20 ms frames of 160 samples (narrowband, what G.711 carries;
//! wideband codecs are resampled at the codec boundary).
//!
//! Two seams let applications plug into a call's relay session:
//! * a [`FrameSource`] is *played to* a leg (prompt, tone, music on hold): the session
//!   pulls one frame every 20 ms, encodes it with the leg's codec and sends it as RTP;
//! * an [`AudioTap`] *listens to* a leg (recorder, answering-machine detection, in-band
//!   DTMF): the session hands it every decoded frame that leg's phone sent.
//!
//! Both are driven from the call's relay task, so they must not block.

use std::time::Duration;

use super::Leg;

/// Samples per second of decoded audio.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one frame (20 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 160;
/// The duration of one frame: the RTP packetisation interval of everything we send.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// One 20 ms frame of decoded audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// Audio played to a leg, pulled once per 20 ms.
pub trait FrameSource: Send {
    /// Fill `out` with the next frame; `false` when the source is exhausted (then `out`
    /// is not used).
    fn next_frame(&mut self, out: &mut Frame) -> bool;
}

/// A listener on decoded audio from a leg's phone.
pub trait AudioTap: Send {
    /// One decoded frame that `leg`'s phone sent, `at` since the session started.
    fn on_frame(&mut self, leg: Leg, at: Duration, frame: &Frame);
}
