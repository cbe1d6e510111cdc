//! Synthetic answers to an outbound call — people saying "Hello?" and machines playing a
//! greeting — deterministic per seed, with ground truth. The corpus of the AMD tests and of
//! `benches/amd_accuracy.rs`.
//!
//! Speech is made the source-filter way: a glottal pulse train at a moving pitch (f0 with
//! declination or a question rise, plus jitter) through a spectral-tilt low-pass and three
//! formant resonators of a random vowel, with unvoiced consonants as band-passed noise and
//! raised-cosine syllable envelopes. It is not intelligible, but its level, pauses,
//! syllable rhythm and harmonic spectrum are speech-like, which is what an energy/timing
//! detector and a tone detector see. Background noise is near-Gaussian (Irwin–Hall) at a given SNR
//! (relative to the speech level); beeps are pure tones.
//!
//! What the kinds model ([`Kind`]): a person's "Hello?" (repeated if nobody answers), a
//! "Hello, this is Ann" in two bursts, a person who picks up and waits before speaking, a
//! person who answers with a whole sentence; a machine greeting of 3–12 words over 2–8 s
//! (optionally followed by a beep), a very short machine greeting, and a machine that
//! starts late. These are *synthetic*: accuracy measured on them says how the rules behave
//! on the timings modelled here, not on real recordings.
//!
//! Random numbers come from `ChaCha8Rng` seeded per greeting (as the dialer's simulator
//! does), so a seed gives the same audio on every platform and `rand` version.

use std::f32::consts::{PI, TAU};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Samples per millisecond (8 kHz).
const PER_MS: usize = 8;

/// Who answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    Human,
    Machine,
}

/// The scenario a greeting was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// "Hello?" (300–900 ms) after 0.2–1.2 s, then silence; "Hello?" again after 1.5–2.5 s.
    Hello,
    /// "Hello," then "this is Ann" (two bursts 150–400 ms apart).
    HelloName,
    /// A person who waits 1.5–3.5 s before saying "Hello?".
    LateHello,
    /// A person who answers with a sentence: 3–5 words over 1.5–3 s.
    LongSentence,
    /// A machine greeting: 3–12 words over 2–8 s, 50–300 ms gaps, optionally a beep.
    MachineGreeting,
    /// A very short machine greeting ("Leave a message"): 1–2 words, 0.6–1.2 s, a beep.
    ShortGreeting,
    /// A machine that starts its greeting after 2–4 s of silence.
    LateGreeting,
}

impl Kind {
    pub fn truth(self) -> Truth {
        match self {
            Kind::Hello | Kind::HelloName | Kind::LateHello | Kind::LongSentence => Truth::Human,
            Kind::MachineGreeting | Kind::ShortGreeting | Kind::LateGreeting => Truth::Machine,
        }
    }

    pub const ALL: [Kind; 7] = [
        Kind::Hello,
        Kind::HelloName,
        Kind::LateHello,
        Kind::LongSentence,
        Kind::MachineGreeting,
        Kind::ShortGreeting,
        Kind::LateGreeting,
    ];
}

/// How greetings are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SynthConfig {
    /// Background noise, dB below the speech level; `None` for a clean line. When
    /// `snr_db_max` is set too, each greeting draws its SNR uniformly from
    /// `snr_db..=snr_db_max`.
    pub snr_db: Option<f32>,
    pub snr_db_max: Option<f32>,
    /// Every greeting is padded with silence (and noise) to at least this length.
    pub min_len_ms: u32,
    /// Share of [`Kind::MachineGreeting`]s that end with a beep.
    pub beep_share: f32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            snr_db: Some(15.0),
            snr_db_max: Some(40.0),
            min_len_ms: 6000,
            beep_share: 0.5,
        }
    }
}

/// A beep in a greeting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BeepTruth {
    pub start_ms: u32,
    pub end_ms: u32,
    pub hz: f32,
}

/// One synthetic answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Greeting {
    /// 8 kHz mono audio from the moment of answer.
    #[serde(skip)]
    pub samples: Vec<i16>,
    pub kind: Kind,
    pub truth: Truth,
    /// When the first word starts.
    pub speech_start_ms: u32,
    /// When the greeting proper ends (a person's first "Hello…" before any repeat; the end
    /// of a machine's message).
    pub greeting_end_ms: u32,
    pub beep: Option<BeepTruth>,
    /// The SNR used, dB (`None`: clean).
    pub snr_db: Option<f32>,
}

/// A human answer, its kind drawn from the mix 60 % Hello, 20 % HelloName, 10 % LateHello,
/// 10 % LongSentence.
pub fn human(seed: u64, cfg: &SynthConfig) -> Greeting {
    let pick: f32 = ChaCha8Rng::seed_from_u64(seed ^ 0x4855_4d41_4e00_0000).random();
    let kind = match pick {
        p if p < 0.6 => Kind::Hello,
        p if p < 0.8 => Kind::HelloName,
        p if p < 0.9 => Kind::LateHello,
        _ => Kind::LongSentence,
    };
    greeting(kind, seed, cfg)
}

/// A machine answer, its kind drawn from the mix 80 % MachineGreeting, 10 % ShortGreeting,
/// 10 % LateGreeting.
pub fn machine(seed: u64, cfg: &SynthConfig) -> Greeting {
    let pick: f32 = ChaCha8Rng::seed_from_u64(seed ^ 0x4d41_4348_0000_0000).random();
    let kind = match pick {
        p if p < 0.8 => Kind::MachineGreeting,
        p if p < 0.9 => Kind::ShortGreeting,
        _ => Kind::LateGreeting,
    };
    greeting(kind, seed, cfg)
}

/// A greeting of a given kind.
pub fn greeting(kind: Kind, seed: u64, cfg: &SynthConfig) -> Greeting {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut s = Script::new(&mut r, kind.truth());
    let mut beep = None;
    let greeting_end;
    match kind {
        Kind::Hello | Kind::LateHello => {
            let pre = if kind == Kind::Hello {
                r.random_range(200..1200)
            } else {
                r.random_range(1500..3500)
            };
            s.pause(pre);
            let d = r.random_range(300..900);
            s.word(&mut r, d, true);
            greeting_end = s.now_ms();
            s.pause(r.random_range(1500..2500));
            let d = r.random_range(300..700);
            s.word(&mut r, d, true);
        }
        Kind::HelloName => {
            s.pause(r.random_range(200..1000));
            let d = r.random_range(300..700);
            s.word(&mut r, d, false);
            s.pause(r.random_range(150..400));
            let d = r.random_range(500..1000);
            s.word(&mut r, d, false);
            greeting_end = s.now_ms();
            s.pause(r.random_range(1500..2500));
            let d = r.random_range(300..700);
            s.word(&mut r, d, true);
        }
        Kind::LongSentence => {
            s.pause(r.random_range(200..800));
            let words = r.random_range(3..=5);
            let total = r.random_range(1500..3000);
            s.phrase(&mut r, words, total, 60..250);
            greeting_end = s.now_ms();
        }
        Kind::MachineGreeting | Kind::LateGreeting => {
            let pre = if kind == Kind::MachineGreeting {
                r.random_range(100..1500)
            } else {
                r.random_range(2000..4000)
            };
            s.pause(pre);
            let words = r.random_range(3..=12);
            let total = r.random_range((words * 250).max(2000)..8000);
            s.phrase(&mut r, words, total, 50..300);
            greeting_end = s.now_ms();
            if r.random::<f32>() < cfg.beep_share {
                beep = Some(s.beep(&mut r));
            }
        }
        Kind::ShortGreeting => {
            s.pause(r.random_range(100..800));
            let words = r.random_range(1..=2);
            let total = r.random_range(600..1200);
            s.phrase(&mut r, words, total, 80..200);
            greeting_end = s.now_ms();
            beep = Some(s.beep(&mut r));
        }
    }
    s.pause(500);
    let speech_start_ms = s.speech_start_ms.unwrap_or(0);
    let snr_db = match (cfg.snr_db, cfg.snr_db_max) {
        (Some(lo), Some(hi)) if hi > lo => Some(r.random_range(lo..=hi)),
        (snr, _) => snr,
    };
    let samples = s.render(&mut r, snr_db, cfg.min_len_ms);
    Greeting {
        samples,
        kind,
        truth: kind.truth(),
        speech_start_ms,
        greeting_end_ms: greeting_end,
        beep,
        snr_db,
    }
}

/// A speaker: pitch, loudness, intonation.
#[derive(Debug, Clone, Copy)]
struct Speaker {
    f0: f32,
    /// RMS of a stressed vowel.
    level: f32,
}

/// A greeting being written: speech as f32 samples.
struct Script {
    buf: Vec<f32>,
    speaker: Speaker,
    speech_start_ms: Option<u32>,
}

/// Vowel formants (F1, F2, F3), Hz (Peterson & Barney averages).
const VOWELS: [[f32; 3]; 6] = [
    [730.0, 1090.0, 2440.0],
    [270.0, 2290.0, 3010.0],
    [300.0, 870.0, 2240.0],
    [530.0, 1840.0, 2480.0],
    [570.0, 840.0, 2410.0],
    [660.0, 1720.0, 2410.0],
];

impl Script {
    fn new(r: &mut ChaCha8Rng, truth: Truth) -> Self {
        let f0 = r.random_range(100.0..250.0);
        // Machines are recordings, often normalised louder; people vary more.
        let level = match truth {
            Truth::Human => r.random_range(800.0..6000.0),
            Truth::Machine => r.random_range(1500.0..6000.0),
        };
        Script {
            buf: Vec::with_capacity(64_000),
            speaker: Speaker { f0, level },
            speech_start_ms: None,
        }
    }

    fn now_ms(&self) -> u32 {
        (self.buf.len() / PER_MS) as u32
    }

    fn pause(&mut self, ms: u32) {
        self.buf.resize(self.buf.len() + ms as usize * PER_MS, 0.0);
    }

    /// `words` words over `total_ms` with gaps drawn from `gap_ms`.
    fn phrase(
        &mut self,
        r: &mut ChaCha8Rng,
        words: u32,
        total_ms: u32,
        gap_ms: std::ops::Range<u32>,
    ) {
        let words = words.max(1);
        let gaps: Vec<u32> = (1..words).map(|_| r.random_range(gap_ms.clone())).collect();
        let speech = total_ms.saturating_sub(gaps.iter().sum()).max(words * 150);
        let mean = speech / words;
        for i in 0..words {
            let d = ((mean as f32) * r.random_range(0.6..1.4)) as u32;
            self.word(r, d.max(120), false);
            if let Some(&g) = gaps.get(i as usize) {
                self.pause(g);
            }
        }
    }

    /// One voiced burst of `ms` (1–4 syllables); `question` raises the pitch at the end.
    ///
    /// Syllables change vowel and stress; the level between them dips to about half (no
    /// silence, as in fluent speech), except for an occasional stop closure (10 % of
    /// syllable boundaries: 40–90 ms near silence, the /k/ of "speaking"). The first
    /// syllable may start with an unvoiced consonant (band-passed noise).
    fn word(&mut self, r: &mut ChaCha8Rng, ms: u32, question: bool) {
        if self.speech_start_ms.is_none() {
            self.speech_start_ms = Some(self.now_ms());
        }
        let n = ms as usize * PER_MS;
        let syllables = (1 + ms as usize / 250).min(4);
        let mut weights: Vec<f32> = (0..syllables).map(|_| r.random_range(0.7..1.3)).collect();
        let sum: f32 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= sum);
        let start = self.buf.len();
        self.buf.resize(start + n, 0.0);
        let mut at = 0usize;
        // Pitch: a phase accumulator with declination (or a question rise) and jitter.
        let mut phase = r.random::<f32>();
        let mut jitter = 0.0f32;
        let mut noise = Noise(r.random::<u64>() | 1);
        let f0 = self.speaker.f0 * r.random_range(0.9..1.1);
        for (k, w) in weights.iter().enumerate() {
            let len = if k + 1 == syllables {
                n - at
            } else {
                (w * n as f32) as usize
            };
            let stress = r.random_range(0.6..1.0f32) * self.speaker.level;
            let vowel = VOWELS[r.random_range(0..VOWELS.len())];
            let consonant = if k == 0 && r.random::<f32>() < 0.5 {
                (r.random_range(30..70) * PER_MS).min(len / 3)
            } else {
                0
            };
            let closure = if k > 0 && r.random::<f32>() < 0.1 {
                (r.random_range(40..90) * PER_MS).min(len / 3)
            } else {
                0
            };
            let mut formants = vowel.map(|f| Resonator::new(f * r.random_range(0.9..1.1), 90.0));
            let mut tilt = 0.0f32;
            let mut fric = Resonator::new(r.random_range(2200.0..3400.0), 600.0);
            let voiced_len = len - consonant;
            let seg_start = start + at;
            for i in 0..len {
                let t = (at + i) as f32 / n as f32;
                let contour = if question {
                    0.95 + 0.45 * t * t
                } else {
                    1.1 - 0.25 * t
                };
                if i % 8 == 0 {
                    jitter = 0.85 * jitter + 0.15 * (noise.uniform() * 2.0 - 1.0);
                }
                let f = f0 * contour * (1.0 + 0.05 * jitter);
                phase += f / 8000.0;
                let pulse = if phase >= 1.0 {
                    phase -= 1.0;
                    1.0
                } else {
                    0.0
                };
                let v = if i < consonant {
                    fric.step(noise.uniform() * 2.0 - 1.0)
                } else {
                    tilt = 0.9 * tilt + pulse;
                    let mut y = tilt;
                    for fm in formants.iter_mut() {
                        y = fm.step(y);
                    }
                    y
                };
                self.buf[seg_start + i] = v;
            }
            // Normalise, then shape: consonant at a quarter of the vowel's level, the
            // vowel a bump from half level to full and back.
            let seg = &mut self.buf[seg_start..seg_start + len];
            let vrms = rms_f32(&seg[consonant..]).max(1e-9);
            let crms = rms_f32(&seg[..consonant]).max(1e-9);
            for (i, x) in seg.iter_mut().enumerate() {
                *x *= if i < consonant {
                    stress * 0.25 / crms * hann_edge(i, consonant, consonant / 3)
                } else if i - consonant < closure {
                    stress * 0.03 / vrms
                } else {
                    let j = (i - consonant) as f32 / voiced_len.max(1) as f32;
                    stress / vrms * (0.5 + 0.5 * (PI * j).sin())
                };
            }
            at += len;
        }
        // Word edges: 30 ms attack, up to 60 ms release.
        let word = &mut self.buf[start..start + n];
        let (attack, release) = ((30 * PER_MS).min(n / 4), (60 * PER_MS).min(n / 4));
        for (i, x) in word.iter_mut().enumerate() {
            if i < attack {
                *x *= hann_edge(i, 2 * attack, attack);
            } else if n - i <= release {
                *x *= hann_edge(n - i - 1, 2 * release, release);
            }
        }
    }

    /// Silence of 300–1000 ms, then a beep of 200–800 ms at a typical voicemail frequency,
    /// its level within −3..+6 dB of the speech's.
    fn beep(&mut self, r: &mut ChaCha8Rng) -> BeepTruth {
        const FREQS: [f32; 6] = [850.0, 1000.0, 1000.0, 1400.0, 1800.0, 440.0];
        self.pause(r.random_range(300..1000));
        let hz = FREQS[r.random_range(0..FREQS.len())];
        let ms = r.random_range(200..800);
        // RMS 3 dB below to 6 dB above the speech level.
        let amp = self.speaker.level * 2f32.sqrt() * 10f32.powf(r.random_range(-3.0..6.0) / 20.0);
        let start_ms = self.now_ms();
        let n = ms as usize * PER_MS;
        let w = std::f64::consts::TAU * f64::from(hz) / 8000.0;
        self.buf
            .extend((0..n).map(|i| amp * (w * i as f64).sin() as f32));
        BeepTruth {
            start_ms,
            end_ms: start_ms + ms,
            hz,
        }
    }

    /// Pad, add noise, quantise.
    fn render(mut self, r: &mut ChaCha8Rng, snr_db: Option<f32>, min_len_ms: u32) -> Vec<i16> {
        let min = min_len_ms as usize * PER_MS;
        if self.buf.len() < min {
            self.buf.resize(min, 0.0);
        }
        let noise_rms = snr_db.map_or(0.0, |db| self.speaker.level / 10f32.powf(db / 20.0));
        let k = noise_rms * (3.0f32).sqrt();
        let mut noise = Noise(r.random::<u64>() | 1);
        self.buf
            .iter()
            .map(|&x| {
                let g = if noise_rms > 0.0 {
                    noise.gaussian()
                } else {
                    0.0
                };
                (x + g * k).round().clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }
}

/// Per-sample noise: xorshift64* seeded from the greeting's ChaCha stream (ChaCha per
/// sample made generation ten times slower in debug builds, and tests use it).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform on [0, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Approximately standard-normal times 1/√3 (Irwin–Hall: the sum of four 16-bit
    /// uniforms, centred; variance 1/3).
    fn gaussian(&mut self) -> f32 {
        let x = self.next();
        let sum: u32 = (0..4).map(|i| ((x >> (16 * i)) & 0xffff) as u32).sum();
        sum as f32 / 65536.0 - 2.0
    }
}

/// A two-pole resonator at `freq` with bandwidth `bw` (8 kHz).
#[derive(Debug, Clone, Copy)]
struct Resonator {
    a1: f32,
    a2: f32,
    g: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    fn new(freq: f32, bw: f32) -> Self {
        let rr = (-PI * bw / 8000.0).exp();
        let theta = TAU * freq / 8000.0;
        Resonator {
            a1: 2.0 * rr * theta.cos(),
            a2: -rr * rr,
            g: 1.0 - rr,
            y1: 0.0,
            y2: 0.0,
        }
    }

    fn step(&mut self, x: f32) -> f32 {
        let y = self.g * x + self.a1 * self.y1 + self.a2 * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// A raised-cosine fade of `edge` samples at both ends of a segment of `len`.
fn hann_edge(i: usize, len: usize, edge: usize) -> f32 {
    if edge == 0 {
        return 1.0;
    }
    let d = i.min(len.saturating_sub(i + 1));
    if d >= edge {
        1.0
    } else {
        0.5 - 0.5 * (PI * d as f32 / edge as f32).cos()
    }
}

fn rms_f32(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::amd::vad::frame_level;

    #[test]
    fn same_seed_same_audio_other_seed_other_audio() {
        let cfg = SynthConfig::default();
        for kind in Kind::ALL {
            let a = greeting(kind, 7, &cfg);
            assert_eq!(a, greeting(kind, 7, &cfg), "{kind:?}");
            assert_ne!(a.samples, greeting(kind, 8, &cfg).samples, "{kind:?}");
            assert_eq!(a.truth, kind.truth());
        }
        assert_eq!(human(3, &cfg), human(3, &cfg));
        assert_eq!(machine(3, &cfg).truth, Truth::Machine);
    }

    #[test]
    fn timings_follow_the_kind() {
        let cfg = SynthConfig {
            snr_db: None,
            snr_db_max: None,
            ..SynthConfig::default()
        };
        for seed in 0..10 {
            let g = greeting(Kind::Hello, seed, &cfg);
            assert!((200..1200).contains(&g.speech_start_ms));
            let burst = g.greeting_end_ms - g.speech_start_ms;
            assert!((300..900).contains(&burst), "hello of {burst} ms");
            assert!(g.samples.len() >= 6000 * 8);
            // clean line: silent before speech, loud inside the burst
            let frames: Vec<u32> = g.samples.chunks(160).map(frame_level).collect();
            assert!(frames[..(g.speech_start_ms / 20) as usize]
                .iter()
                .all(|&l| l == 0));
            let burst =
                &frames[(g.speech_start_ms / 20) as usize..(g.greeting_end_ms / 20) as usize];
            let loudest = burst.iter().max().copied().unwrap_or(0);
            assert!(loudest > 400, "loudest frame of the burst {loudest}");

            let g = greeting(Kind::MachineGreeting, seed, &cfg);
            let speech = g.greeting_end_ms - g.speech_start_ms;
            assert!((2000..10_000).contains(&speech), "greeting of {speech} ms");
            let g = greeting(Kind::LateHello, seed, &cfg);
            assert!(g.speech_start_ms >= 1500);
            let g = greeting(Kind::ShortGreeting, seed, &cfg);
            let b = g.beep.expect("short greetings end with a beep");
            assert!(b.start_ms >= g.greeting_end_ms + 300 && b.end_ms > b.start_ms + 150);
            let at = (b.start_ms as usize + 50) * 8;
            assert!(crate::media::goertzel::purity(&g.samples[at..at + 160], &[b.hz], 8000) > 0.9);
        }
    }

    #[test]
    fn noise_is_at_the_requested_snr() {
        let cfg = SynthConfig {
            snr_db: Some(20.0),
            snr_db_max: None,
            ..SynthConfig::default()
        };
        let g = greeting(Kind::Hello, 1, &cfg);
        assert_eq!(g.snr_db, Some(20.0));
        let quiet = &g.samples[..(g.speech_start_ms as usize * 8).min(1600)];
        let clean = greeting(
            Kind::Hello,
            1,
            &SynthConfig {
                snr_db: None,
                ..cfg
            },
        );
        let speech =
            &clean.samples[clean.speech_start_ms as usize * 8..clean.greeting_end_ms as usize * 8];
        let ratio = crate::media::goertzel::rms(speech) / crate::media::goertzel::rms(quiet);
        // the burst's RMS includes its edges and dips, so a little under 20 dB (×10)
        assert!(
            (4.0..12.0).contains(&ratio),
            "speech/noise RMS ratio {ratio}"
        );
    }
}
