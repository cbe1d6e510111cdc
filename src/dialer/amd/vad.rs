//! Voice activity per block: is this 20 ms of audio voice or silence?
//!
//! Asterisk (`ast_dsp_silence`) compares the frame's average absolute amplitude with a
//! fixed `silence_threshold` (256 on 0–32768, about −42 dBFS). That works on a quiet line
//! and fails on a noisy one: a mobile in the street or a hissing trunk stays above 256,
//! every frame is "voice", and a person who said "Hello?" is called a machine
//! (LONGGREETING or MAXWORDLENGTH).
//!
//! We keep the fixed threshold as a lower bound and add an adaptive one: the *noise floor*
//! is the quietest frame of the last [`FLOOR_FRAMES`] frames (2 s) — minimum statistics,
//! which hold through speech because speech has pauses and stationary noise does not — and
//! a frame is voice only if it is also `noise_floor_ratio` times louder than that floor.
//! The adaptive threshold is capped at [`CEILING`] times the fixed one (2048 with the
//! default 256, a noise of about −21 dBFS): a line is rarely noisier than that, while a steady *loud*
//! signal — a fax or modem tone, music on hold, a held vowel — must stay voice so that
//! Asterisk's MAXWORDLENGTH and LONGGREETING still see it. Cost: one 100-entry minimum per
//! block, no allocation. With the ratio at 0 this is Asterisk's decision exactly.

/// Frames the noise floor looks back over (2 s of 20 ms frames).
pub const FLOOR_FRAMES: usize = 100;
/// The adaptive threshold never exceeds this many times the fixed one.
pub const CEILING: u32 = 8;

/// Average absolute amplitude of a frame (0 for an empty one), on 0–32768.
pub fn frame_level(frame: &[i16]) -> u32 {
    if frame.is_empty() {
        return 0;
    }
    let sum: u64 = frame
        .iter()
        .map(|&s| u64::from(i32::from(s).unsigned_abs()))
        .sum();
    (sum / frame.len() as u64) as u32
}

/// The voice/silence decision with its noise-floor memory.
#[derive(Debug, Clone)]
pub struct Vad {
    threshold: u32,
    ratio: f32,
    levels: [u16; FLOOR_FRAMES],
    filled: usize,
    next: usize,
}

impl Vad {
    /// `threshold`: the fixed lower bound (Asterisk's `silence_threshold`); `ratio`: how
    /// far above the noise floor voice must be (0 = no adaptive floor).
    pub fn new(threshold: u32, ratio: f32) -> Self {
        Vad {
            threshold,
            ratio: if ratio.is_finite() {
                ratio.max(0.0)
            } else {
                0.0
            },
            levels: [0; FLOOR_FRAMES],
            filled: 0,
            next: 0,
        }
    }

    /// The noise floor: the quietest of the frames seen in the last 2 s (0 before any).
    pub fn noise_floor(&self) -> u32 {
        self.levels[..self.filled]
            .iter()
            .copied()
            .min()
            .map_or(0, u32::from)
    }

    /// The level a frame must reach to be voice now.
    pub fn threshold(&self) -> u32 {
        if self.ratio == 0.0 {
            return self.threshold;
        }
        let adaptive = (self.noise_floor() as f32 * self.ratio) as u32;
        let ceiling = self.threshold.saturating_mul(CEILING);
        self.threshold.max(adaptive.min(ceiling))
    }

    /// Classify one frame of `level` ([`frame_level`]) and remember it for the floor.
    pub fn is_voice(&mut self, level: u32) -> bool {
        let voice = level >= self.threshold();
        self.levels[self.next] = level.min(u32::from(u16::MAX)) as u16;
        self.next = (self.next + 1) % FLOOR_FRAMES;
        self.filled = (self.filled + 1).min(FLOOR_FRAMES);
        voice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_is_mean_absolute_amplitude() {
        assert_eq!(frame_level(&[]), 0);
        assert_eq!(frame_level(&[100, -300, 0, 200]), 150);
        assert_eq!(frame_level(&[i16::MIN; 160]), 32768);
    }

    #[test]
    fn fixed_threshold_without_ratio() {
        let mut v = Vad::new(256, 0.0);
        for _ in 0..200 {
            assert!(v.is_voice(400), "steady 400 is voice for Asterisk");
        }
        assert!(!v.is_voice(255));
        assert!(v.is_voice(256));
    }

    #[test]
    fn adaptive_floor_calls_steady_noise_silence_but_keeps_speech() {
        let mut v = Vad::new(256, 2.0);
        // a steady noise of level 600: only the very first frame (no floor yet) is voice
        assert!(v.is_voice(600));
        for _ in 0..50 {
            assert!(!v.is_voice(600));
        }
        assert_eq!(v.noise_floor(), 600);
        // speech at 3000 over it is voice, and a second of speech keeps the floor down
        for _ in 0..50 {
            assert!(v.is_voice(3000));
        }
        assert_eq!(v.noise_floor(), 600);
        assert!(!v.is_voice(1100));
    }

    #[test]
    fn floor_forgets_after_two_seconds() {
        let mut v = Vad::new(256, 2.0);
        v.is_voice(10);
        for _ in 0..FLOOR_FRAMES {
            v.is_voice(400);
        }
        assert_eq!(v.noise_floor(), 400);
        assert!(!v.is_voice(700));
    }

    #[test]
    fn a_steady_loud_signal_stays_voice() {
        let mut v = Vad::new(256, 2.0);
        v.is_voice(0);
        for i in 0..500 {
            assert!(
                v.is_voice(2100),
                "frame {i}: a steady tone over the ceiling is voice"
            );
        }
        assert_eq!(v.threshold(), 2048);
    }
}
