//! Call-progress tones, beeps, DTMF digits and silence as [`FrameSource`]s.
//!
//! A tone is a list of segments (a duration in samples and up to two frequencies, or
//! silence) played once or repeated. Cadences are counted in samples, not frames, so a
//! 225 ms segment ends at sample 1800 even though that is mid-frame, and the schedule never
//! drifts over a long ring. The sine phase runs on the absolute sample count (frequencies
//! are whole hertz, so the phase is exact modulo one second).
//!
//! Country tone plans ([`ToneSet::for_country`]): US (ANSI T1.401 "precise tones"), UK
//! (BT SIN 350) and the ETSI/CEPT plan most of Europe uses (ETSI ES 201 970 / EG 201 188).
//! DTMF frequencies are ITU-T Q.23. Levels are in dBm0 per frequency, where a full-scale
//! G.711 sine is +3.17 dBm0 (G.711 §A.2).

use crate::media::audio::{Frame, FrameSource, FRAME_SAMPLES, SAMPLE_RATE};

/// A tone as its standard describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    /// Frequencies summed while on (empty: silence).
    pub frequencies: &'static [u16],
    /// Durations in ms, alternating on and off, starting with on. Empty: continuous.
    pub cadence_ms: &'static [u32],
    /// Repeat the cadence forever (ringback) or play it once (beep).
    pub repeat: bool,
    /// Level of each frequency, dBm0.
    pub level_dbm0: f32,
}

/// Dial, ringback, busy and congestion (reorder) tones of one country's tone plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSet {
    /// Continuous.
    pub dial: ToneSpec,
    pub ringback: ToneSpec,
    pub busy: ToneSpec,
    pub congestion: ToneSpec,
}

const fn spec(frequencies: &'static [u16], cadence_ms: &'static [u32], level: f32) -> ToneSpec {
    ToneSpec {
        frequencies,
        cadence_ms,
        repeat: true,
        level_dbm0: level,
    }
}

/// US/Canada: dial 350+440 Hz continuous; ringback 440+480 Hz 2 s on 4 s off; busy 480+620 Hz 0.5/0.5; reorder 480+620
/// Hz 0.25/0.25.
pub const US: ToneSet = ToneSet {
    dial: spec(&[350, 440], &[], -13.0),
    ringback: spec(&[440, 480], &[2000, 4000], -19.0),
    busy: spec(&[480, 620], &[500, 500], -24.0),
    congestion: spec(&[480, 620], &[250, 250], -24.0),
};

/// UK: dial 350+450 Hz continuous; ringback 400+450 Hz 0.4 on 0.2 off 0.4 on 2.0 off; busy 400 Hz 0.375/0.375;
/// congestion 400 Hz 0.4 on 0.35 off 0.225 on 0.525 off.
pub const UK: ToneSet = ToneSet {
    dial: spec(&[350, 450], &[], -13.0),
    ringback: spec(&[400, 450], &[400, 200, 400, 2000], -19.0),
    busy: spec(&[400], &[375, 375], -13.0),
    congestion: spec(&[400], &[400, 350, 225, 525], -13.0),
};

/// ETSI/CEPT (most of continental Europe): dial 425 Hz continuous; ringback 425 Hz 1 s on 4 s off; busy 425 Hz
/// 0.5/0.5; congestion 425 Hz 0.25/0.25.
pub const EU: ToneSet = ToneSet {
    dial: spec(&[425], &[], -13.0),
    ringback: spec(&[425], &[1000, 4000], -13.0),
    busy: spec(&[425], &[500, 500], -13.0),
    congestion: spec(&[425], &[250, 250], -13.0),
};

/// A 1 kHz beep of 0.5 s, once (the "leave a message" or recording beep).
pub const BEEP: ToneSpec = ToneSpec {
    frequencies: &[1000],
    cadence_ms: &[500],
    repeat: false,
    level_dbm0: -10.0,
};

impl ToneSet {
    /// The tone plan of a country: `us` (also `ca`), `uk` (also `gb`), `eu` (also the
    /// ISO codes of CEPT countries using 425 Hz: de, fr, es, it, nl, be, at, ch, …).
    /// Case-insensitive. `None` for unknown codes.
    pub fn for_country(code: &str) -> Option<ToneSet> {
        let code = code.to_ascii_lowercase();
        match code.as_str() {
            "us" | "ca" => Some(US),
            "uk" | "gb" => Some(UK),
            "eu" | "de" | "fr" | "es" | "it" | "nl" | "be" | "at" | "ch" | "pt" | "se" | "no"
            | "dk" | "fi" | "pl" | "cz" | "gr" | "ie" | "lu" => Some(EU),
            _ => None,
        }
    }
}

/// DTMF frequencies (ITU-T Q.23): (low group, high group) for `0-9 * # A-D`.
pub fn dtmf_frequencies(digit: char) -> Option<(u16, u16)> {
    const LOW: [u16; 4] = [697, 770, 852, 941];
    const HIGH: [u16; 4] = [1209, 1336, 1477, 1633];
    let (row, col) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some((LOW[row], HIGH[col]))
}

/// Peak sample value of a sine at `dbm0` (G.711: +3.17 dBm0 is full scale, 32767).
pub fn amplitude_of_dbm0(dbm0: f32) -> f32 {
    32767.0 * 10f32.powf((dbm0 - 3.17) / 20.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    samples: u64,
    /// Up to two frequencies; 0 = none.
    freqs: [u16; 2],
}

/// A tone generator: a [`FrameSource`] playing a [`ToneSpec`] or a DTMF digit string.
#[derive(Debug, Clone)]
pub struct Tone {
    segments: Vec<Segment>,
    repeat: bool,
    amplitude: f32,
    /// Current segment and the samples already played of it.
    seg: usize,
    in_seg: u64,
    /// Samples produced since the start (the sine's time base).
    n: u64,
    done: bool,
}

fn ms_to_samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

impl Tone {
    /// A generator for `spec`. A continuous tone (empty cadence) plays forever.
    pub fn new(spec: &ToneSpec) -> Self {
        let freqs = [
            spec.frequencies.first().copied().unwrap_or(0),
            spec.frequencies.get(1).copied().unwrap_or(0),
        ];
        let mut segments: Vec<Segment> = spec
            .cadence_ms
            .iter()
            .enumerate()
            .map(|(i, &ms)| Segment {
                samples: ms_to_samples(ms),
                freqs: if i % 2 == 0 { freqs } else { [0, 0] },
            })
            .collect();
        let mut repeat = spec.repeat;
        if segments.is_empty() {
            segments.push(Segment {
                samples: u64::MAX,
                freqs,
            });
            repeat = true;
        }
        Tone::from_segments(segments, repeat, spec.level_dbm0)
    }

    /// DTMF digits (`0-9 * # A-D`), each `on_ms` of tone then `off_ms` of silence, once.
    /// `None` if a character is not a DTMF digit.
    pub fn dtmf(digits: &str, on_ms: u32, off_ms: u32, level_dbm0: f32) -> Option<Self> {
        let mut segments = Vec::with_capacity(digits.len() * 2);
        for d in digits.chars() {
            let (low, high) = dtmf_frequencies(d)?;
            segments.push(Segment {
                samples: ms_to_samples(on_ms),
                freqs: [low, high],
            });
            segments.push(Segment {
                samples: ms_to_samples(off_ms),
                freqs: [0, 0],
            });
        }
        Some(Tone::from_segments(segments, false, level_dbm0))
    }

    fn from_segments(segments: Vec<Segment>, repeat: bool, level_dbm0: f32) -> Self {
        // A cadence of only zero-length segments would never advance: treat it as done.
        let done = segments.iter().all(|s| s.samples == 0);
        Tone {
            segments,
            repeat,
            amplitude: amplitude_of_dbm0(level_dbm0),
            seg: 0,
            in_seg: 0,
            n: 0,
            done,
        }
    }

    /// Samples produced so far.
    pub fn position(&self) -> u64 {
        self.n
    }

    /// One sample of segment `freqs` at time `n`.
    fn sample(&self, freqs: [u16; 2], n: u64) -> i16 {
        let rate = u64::from(SAMPLE_RATE);
        let mut v = 0.0f32;
        for f in freqs.into_iter().filter(|&f| f != 0) {
            // exact phase: (f·n mod rate) / rate of a turn
            let turn = (u64::from(f) * (n % rate)) % rate;
            let phase = turn as f32 * (std::f32::consts::TAU / SAMPLE_RATE as f32);
            v += self.amplitude * phase.sin();
        }
        v.round().clamp(-32768.0, 32767.0) as i16
    }
}

impl FrameSource for Tone {
    fn next_frame(&mut self, out: &mut Frame) -> bool {
        if self.done {
            return false;
        }
        let mut i = 0;
        while i < FRAME_SAMPLES {
            let Some(&seg) = self.segments.get(self.seg) else {
                // played once and finished mid-frame: pad with silence
                out[i..].fill(0);
                self.done = true;
                return true;
            };
            let left = seg.samples - self.in_seg;
            let run = left.min((FRAME_SAMPLES - i) as u64) as usize;
            if seg.freqs == [0, 0] {
                out[i..i + run].fill(0);
            } else {
                for (k, s) in out[i..i + run].iter_mut().enumerate() {
                    *s = self.sample(seg.freqs, self.n + k as u64);
                }
            }
            i += run;
            self.n += run as u64;
            self.in_seg += run as u64;
            if self.in_seg == seg.samples {
                self.in_seg = 0;
                self.seg += 1;
                if self.seg == self.segments.len() && self.repeat {
                    self.seg = 0;
                }
            }
        }
        if self.seg >= self.segments.len() {
            self.done = true;
        }
        true
    }
}

/// Silence, for a number of frames or forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    frames_left: Option<u64>,
}

impl Silence {
    /// `frames` frames of silence, then exhausted.
    pub fn frames(frames: u64) -> Self {
        Silence {
            frames_left: Some(frames),
        }
    }

    /// Silence that never ends.
    pub fn endless() -> Self {
        Silence { frames_left: None }
    }
}

impl FrameSource for Silence {
    fn next_frame(&mut self, out: &mut Frame) -> bool {
        match &mut self.frames_left {
            Some(0) => return false,
            Some(n) => *n -= 1,
            None => {}
        }
        out.fill(0);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_g711_full_scale() {
        assert!((amplitude_of_dbm0(3.17) - 32767.0).abs() < 1.0);
        // -19 dBm0: 32767·10^(-22.17/20) ≈ 2552 peak
        assert!((amplitude_of_dbm0(-19.0) - 2552.3).abs() < 1.0);
    }

    #[test]
    fn country_codes() {
        assert_eq!(ToneSet::for_country("US"), Some(US));
        assert_eq!(ToneSet::for_country("gb"), Some(UK));
        assert_eq!(ToneSet::for_country("de"), Some(EU));
        assert_eq!(ToneSet::for_country("xx"), None);
    }

    #[test]
    fn silence_counts_frames() {
        let mut s = Silence::frames(2);
        let mut f = [7; FRAME_SAMPLES];
        assert!(s.next_frame(&mut f));
        assert_eq!(f, [0; FRAME_SAMPLES]);
        assert!(s.next_frame(&mut f));
        assert!(!s.next_frame(&mut f));
        let mut e = Silence::endless();
        assert!((0..1000).all(|_| e.next_frame(&mut f)));
    }

    #[test]
    fn dtmf_rejects_non_digits_and_has_exact_length() {
        assert!(Tone::dtmf("12x", 100, 100, -6.0).is_none());
        let mut t = Tone::dtmf("1#", 70, 50, -6.0).unwrap();
        let mut f = [0; FRAME_SAMPLES];
        let mut frames = 0;
        while t.next_frame(&mut f) {
            frames += 1;
        }
        // 2 × 120 ms = 1920 samples = 12 frames exactly
        assert_eq!(frames, 12);
        assert_eq!(t.position(), 1920);
        let mut t = Tone::dtmf("5", 50, 0, -6.0).unwrap();
        // 400 samples: two full frames and a padded third
        assert!(t.next_frame(&mut f) && t.next_frame(&mut f) && t.next_frame(&mut f));
        assert!(f[80..].iter().all(|&s| s == 0));
        assert!(!t.next_frame(&mut f));
    }

    #[test]
    fn degenerate_cadences_end_instead_of_spinning() {
        const ZERO: ToneSpec = ToneSpec {
            frequencies: &[440],
            cadence_ms: &[0, 0],
            repeat: true,
            level_dbm0: -10.0,
        };
        let mut f = [0; FRAME_SAMPLES];
        assert!(!Tone::new(&ZERO).next_frame(&mut f));
        assert!(Tone::dtmf("", 100, 100, -6.0).is_some_and(|mut t| !t.next_frame(&mut f)));
    }
}
