//! Special information tones (ITU-T E.180 §6, ANSI T1.209 / Telcordia SR-2275): the three
//! rising tones a network plays before "the number you have dialled is not in service"
//! and similar announcements, usually in early media. A dialer that hears them knows the
//! number is invalid (or the network congested) without waiting for the final response,
//! and never retries an invalid one.
//!
//! The North American variants use first tones of 913.8 or 985.2 Hz, second 1370.6 or
//! 1428.5 Hz, third 1776.7 Hz, each 274 or 380 ms; ITU's are 950 / 1400 / 1800 Hz of
//! 330 ms. Each 20 ms frame is tested for one dominant tone of a group (Goertzel power
//! against the frame's energy: a pure tone puts all of it at one frequency, speech and
//! dual-frequency tones such as ringback do not); three groups in rising order, each held
//! for [`MIN_FRAMES`], make a detection. Pure: frames in, a verdict out.

use crate::media::goertzel::Goertzel;

/// Frames (20 ms) a tone must hold: 160 ms, under the shortest segment (274 ms).
pub const MIN_FRAMES: u32 = 8;
/// Frames of another tone tolerated inside a segment (a frame straddling a boundary).
const GLITCH_FRAMES: u32 = 1;
/// Share of the frame's energy at the tone's frequency (a pure tone gives ≈ 1).
const PURITY: f64 = 0.6;
/// Quieter frames carry no tone (mean square, 16-bit samples; ≈ −50 dBFS).
const MIN_ENERGY: f64 = 100.0 * 100.0;

const GROUPS: [&[f32]; 3] = [
    &[913.8, 950.0, 985.2],
    &[1370.6, 1400.0, 1428.5],
    &[1776.7, 1800.0],
];

/// Finds a special information tone in 8 kHz audio fed 20 ms at a time.
#[derive(Debug, Clone)]
pub struct SitDetector {
    filters: [Vec<Goertzel>; 3],
    /// The group being held (0..3) and for how many frames.
    group: usize,
    held: u32,
    glitches: u32,
    found: bool,
}

impl Default for SitDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SitDetector {
    pub fn new() -> Self {
        let bank = |g: &[f32]| g.iter().map(|f| Goertzel::new(*f, 8_000)).collect();
        SitDetector {
            filters: [bank(GROUPS[0]), bank(GROUPS[1]), bank(GROUPS[2])],
            group: 0,
            held: 0,
            glitches: 0,
            found: false,
        }
    }

    /// Which group's tone dominates the frame, if any.
    fn tone(&self, frame: &[i16]) -> Option<usize> {
        if frame.is_empty() {
            return None;
        }
        let energy = frame.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / frame.len() as f64;
        if energy < MIN_ENERGY {
            return None;
        }
        // A sine of amplitude A has mean square A²/2 and Goertzel power A².
        (0..3).find(|&g| {
            self.filters[g]
                .iter()
                .any(|f| f.power(frame) / (2.0 * energy) >= PURITY)
        })
    }

    /// Feeds one frame; true once, when the third tone has held long enough.
    pub fn push(&mut self, frame: &[i16]) -> bool {
        if self.found {
            return false;
        }
        let tone = self.tone(frame);
        if tone == Some(self.group) {
            self.held += 1;
            self.glitches = 0;
        } else if self.held >= MIN_FRAMES && tone == Some(self.group + 1) {
            // The next tone: the segment before it was long enough.
            self.group += 1;
            self.held = 1;
            self.glitches = 0;
        } else if self.held > 0 && self.glitches < GLITCH_FRAMES {
            self.glitches += 1;
        } else {
            let restart = tone == Some(0);
            self.group = 0;
            self.held = u32::from(restart);
            self.glitches = 0;
        }
        if self.group == 2 && self.held >= MIN_FRAMES {
            self.found = true;
        }
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, ms: u32, amp: f64, phase: &mut f64) -> Vec<i16> {
        let n = ms * 8;
        (0..n)
            .map(|_| {
                let v = amp * phase.sin();
                *phase += 2.0 * std::f64::consts::PI * freq / 8_000.0;
                v as i16
            })
            .collect()
    }

    fn feed(d: &mut SitDetector, audio: &[i16]) -> Option<usize> {
        audio
            .chunks(160)
            .enumerate()
            .find_map(|(i, f)| d.push(f).then_some(i))
    }

    fn sit(first: f64, second: f64, ms: u32) -> Vec<i16> {
        let mut p = 0.0;
        let mut a = sine(first, ms, 8_000.0, &mut p);
        a.extend(sine(second, ms, 8_000.0, &mut p));
        a.extend(sine(1776.7, 380, 8_000.0, &mut p));
        a.extend(vec![0; 8_000]);
        a
    }

    #[test]
    fn north_american_and_itu_tones_are_found_in_the_third_segment() {
        for (f1, f2, ms) in [
            (913.8, 1370.6, 274),
            (985.2, 1428.5, 380),
            (950.0, 1400.0, 330),
        ] {
            let mut d = SitDetector::new();
            let frame = feed(&mut d, &sit(f1, f2, ms)).expect("SIT found");
            let third_starts = (2 * ms / 20) as usize;
            assert!(
                (third_starts + 7..=third_starts + 10).contains(&frame),
                "{f1}/{f2}: found at frame {frame}, third tone starts at {third_starts}"
            );
            assert!(!d.push(&[1000; 160]), "reported once");
        }
    }

    #[test]
    fn quiet_and_offset_tones_still_count() {
        let mut p = 0.0;
        let mut audio = vec![0i16; 1_000]; // not frame-aligned
        for f in [913.8, 1370.6, 1776.7] {
            audio.extend(sine(f, 274, 600.0, &mut p));
        }
        assert!(feed(&mut SitDetector::new(), &audio).is_some());
    }

    #[test]
    fn ringback_speech_and_wrong_orders_are_not_sit() {
        let mut p = 0.0;
        let mut q = 0.0;
        // US ringback: 440 + 480 Hz together.
        let ring: Vec<i16> = sine(440.0, 2_000, 4_000.0, &mut p)
            .into_iter()
            .zip(sine(480.0, 2_000, 4_000.0, &mut q))
            .map(|(a, b)| a / 2 + b / 2)
            .collect();
        assert!(feed(&mut SitDetector::new(), &ring).is_none());
        // Noise-like "speech".
        let mut x: u32 = 12_345;
        let noise: Vec<i16> = (0..16_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((x >> 16) as i16) / 4
            })
            .collect();
        assert!(feed(&mut SitDetector::new(), &noise).is_none());
        // Falling tones, and segments too short.
        let mut p = 0.0;
        let mut falling = sine(1776.7, 380, 8_000.0, &mut p);
        falling.extend(sine(1370.6, 380, 8_000.0, &mut p));
        falling.extend(sine(913.8, 380, 8_000.0, &mut p));
        assert!(feed(&mut SitDetector::new(), &falling).is_none());
        let mut p = 0.0;
        let mut short = Vec::new();
        for f in [913.8, 1370.6, 1776.7] {
            short.extend(sine(f, 100, 8_000.0, &mut p));
        }
        assert!(feed(&mut SitDetector::new(), &short).is_none());
        assert!(!SitDetector::new().push(&[]));
    }
}
