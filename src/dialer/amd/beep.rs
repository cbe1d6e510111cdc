//! [`BeepDetector`]: the "leave a message after the tone" beep of a voicemail greeting.
//!
//! A beep is one steady tone: a single frequency between 400 and 2000 Hz (1000 and 1400 Hz
//! are the common ones, but systems differ), holding at least 120 ms and at most a few
//! seconds. Rather than a Goertzel filter per candidate frequency, each 20 ms frame is
//! judged in two cheap steps:
//! 1. *Which frequency?* Count upward crossings of a hysteresis band (±½ RMS, so noise
//!    does not chatter) and time the first and last with sub-sample interpolation: the
//!    period of a clean tone comes out within a hertz or two.
//! 2. *Is that all there is?* A Goertzel filter at that frequency gives the tone's power;
//!    its share of the frame's power (the *purity*, 1 for a pure sine) must reach
//!    `min_purity` (0.8). Speech, noise, dual tones (DTMF, ringback, dial tone) spread
//!    their power and fail here.
//!
//! Consecutive tone frames whose frequency stays within `max_drift_hz` of the run's mean
//! (or that are pure at the run's frequency) form a run (one spoiled block inside is forgiven: at low SNR noise can push a single
//! block under the purity bar); when the run ends (the tone stops or changes), a run of
//! `min_ms..=max_ms` is a beep and [`BeepDetector::push`] reports the time it *ended* —
//! when a message can start. Each beep is reported once; the detector keeps listening.
//! Frames of any length are gathered into 20 ms blocks first. Pure and allocation-free;
//! time is counted in samples pushed.

use serde::{Deserialize, Serialize};

use crate::media::goertzel::{rms, Goertzel};

const RATE: u32 = 8000;
const PER_MS: u64 = 8;
/// Samples per analysis block (20 ms).
const BLOCK: usize = 160;

/// What counts as a beep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeepConfig {
    /// Lowest tone frequency, Hz. Default 400.
    pub min_hz: f32,
    /// Highest tone frequency, Hz. Default 2000.
    pub max_hz: f32,
    /// Shortest beep, ms. Default 120.
    pub min_ms: u32,
    /// Longest beep, ms (a longer tone is a dial tone, a fax or a modem). Default 4000.
    pub max_ms: u32,
    /// Share of the frame's power at the tone's frequency (0–1). Default 0.8 (a beep 6 dB
    /// above the noise still passes; a voiced vowel rarely does).
    pub min_purity: f32,
    /// Quietest beep, RMS on 0–32767. Default 100 (about −50 dBFS).
    pub min_rms: f32,
    /// How far a frame's frequency may stray from the run's mean, Hz. Default 10 (a beep's
    /// frequency is fixed; a voice's harmonics follow its pitch).
    pub max_drift_hz: f32,
}

impl Default for BeepConfig {
    fn default() -> Self {
        BeepConfig {
            min_hz: 400.0,
            max_hz: 2000.0,
            min_ms: 120,
            max_ms: 4000,
            min_purity: 0.8,
            min_rms: 100.0,
            max_drift_hz: 10.0,
        }
    }
}

/// A steady tone being followed.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
    hz_sum: f64,
    frames: u32,
    /// Consecutive blocks since the last tone block (a noisy block inside a beep).
    missed: u32,
}

/// Blocks a run may miss inside a beep (noise can spoil one block's purity).
const MAX_MISSED: u32 = 1;

impl Run {
    fn mean_hz(&self) -> f32 {
        (self.hz_sum / f64::from(self.frames.max(1))) as f32
    }
}

/// Listens for a voicemail beep.
#[derive(Debug, Clone)]
pub struct BeepDetector {
    cfg: BeepConfig,
    block: [i16; BLOCK],
    fill: usize,
    total: u64,
    run: Option<Run>,
    last_hz: Option<f32>,
}

impl Default for BeepDetector {
    fn default() -> Self {
        BeepDetector::new(BeepConfig::default())
    }
}

impl BeepDetector {
    pub fn new(cfg: BeepConfig) -> Self {
        BeepDetector {
            cfg,
            block: [0; BLOCK],
            fill: 0,
            total: 0,
            run: None,
            last_hz: None,
        }
    }

    /// Feed the next frame (any length; 160 samples normally). Returns the time the beep
    /// ended, in ms from the first sample, once the two blocks after the beep's last one
    /// are complete (40 ms later).
    pub fn push(&mut self, frame: &[i16]) -> Option<u32> {
        let mut beep = None;
        let mut rest = frame;
        while !rest.is_empty() {
            let take = (BLOCK - self.fill).min(rest.len());
            self.block[self.fill..self.fill + take].copy_from_slice(&rest[..take]);
            self.fill += take;
            rest = &rest[take..];
            if self.fill == BLOCK {
                self.fill = 0;
                let block = self.block;
                beep = beep.or(self.analyse(&block));
            }
        }
        beep
    }

    /// One full block.
    fn analyse(&mut self, block: &[i16; BLOCK]) -> Option<u32> {
        let start = self.total;
        self.total += BLOCK as u64;
        // A run goes on while the block is pure at the run's frequency, whatever the
        // crossing estimate says (noise jitters the estimate, not the Goertzel power).
        if let Some(hz) = self.run.map(|r| r.mean_hz()) {
            if self.pure_at(block, hz) {
                if let Some(run) = &mut self.run {
                    run.missed = 0;
                    run.end = self.total;
                }
                return None;
            }
        }
        match self.tone(block) {
            Some(hz) => match &mut self.run {
                Some(run) if (hz - run.mean_hz()).abs() <= self.cfg.max_drift_hz => {
                    run.missed = 0;
                    run.end = self.total;
                    run.hz_sum += f64::from(hz);
                    run.frames += 1;
                    None
                }
                _ => {
                    let done = self.close();
                    self.run = Some(Run {
                        start,
                        end: self.total,
                        hz_sum: f64::from(hz),
                        frames: 1,
                        missed: 0,
                    });
                    done
                }
            },
            None => match &mut self.run {
                Some(run) if run.missed < MAX_MISSED => {
                    run.missed += 1;
                    None
                }
                _ => self.close(),
            },
        }
    }

    /// Frequency of the last beep reported, Hz.
    pub fn last_hz(&self) -> Option<f32> {
        self.last_hz
    }

    /// End the current run; a beep if it lasted `min_ms..=max_ms`.
    fn close(&mut self) -> Option<u32> {
        let run = self.run.take()?;
        let len = run.end - run.start;
        let (min, max) = (
            u64::from(self.cfg.min_ms) * PER_MS,
            u64::from(self.cfg.max_ms) * PER_MS,
        );
        if len < min || len > max {
            return None;
        }
        self.last_hz = Some(run.mean_hz());
        Some(u32::try_from(run.end / PER_MS).unwrap_or(u32::MAX))
    }

    /// Whether `frame` is loud enough and a pure tone at `hz`.
    fn pure_at(&self, frame: &[i16], hz: f32) -> bool {
        let level = rms(frame);
        if level < f64::from(self.cfg.min_rms) {
            return false;
        }
        let power = Goertzel::new(hz, RATE).power(frame);
        power / (2.0 * level * level) >= f64::from(self.cfg.min_purity)
    }

    /// The frame's single tone, if it is one.
    fn tone(&self, frame: &[i16]) -> Option<f32> {
        let level = rms(frame);
        if level < f64::from(self.cfg.min_rms) {
            return None;
        }
        let hz = crossing_frequency(frame, 0.5 * level)?;
        if !(self.cfg.min_hz..=self.cfg.max_hz).contains(&hz) {
            return None;
        }
        self.pure_at(frame, hz).then_some(hz)
    }
}

/// The frequency of a periodic signal from its upward crossings of `+h` (after being
/// below `−h`), timed with linear interpolation. `None` with fewer than three crossings.
fn crossing_frequency(frame: &[i16], h: f64) -> Option<f32> {
    let mut below = false;
    let mut first: Option<f64> = None;
    let mut last = 0.0f64;
    let mut count = 0u32;
    let mut prev = f64::from(*frame.first()?);
    for (i, &s) in frame.iter().enumerate().skip(1) {
        let x = f64::from(s);
        if x < -h {
            below = true;
        } else if below && x >= h && prev < h {
            below = false;
            let t = (i - 1) as f64 + (h - prev) / (x - prev);
            first.get_or_insert(t);
            last = t;
            count += 1;
        }
        prev = x;
    }
    let first = first?;
    if count < 3 || last <= first {
        return None;
    }
    Some((f64::from(count - 1) * f64::from(RATE) / (last - first)) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::amd::synth::{self, Kind, SynthConfig};
    use crate::media::audio::{FrameSource, FRAME_SAMPLES};
    use crate::media::tone::{Silence, Tone, ToneSpec, BEEP, UK, US};

    /// Frames of `src` after `lead_ms` of silence, fed to a detector: the beeps reported.
    fn beeps_of(mut src: impl FrameSource, lead_ms: u64, max_frames: usize) -> Vec<u32> {
        let mut d = BeepDetector::default();
        let mut out = Vec::new();
        let mut f = [0i16; FRAME_SAMPLES];
        let mut lead = Silence::frames(lead_ms / 20);
        while lead.next_frame(&mut f) {
            out.extend(d.push(&f));
        }
        for _ in 0..max_frames {
            if !src.next_frame(&mut f) {
                break;
            }
            out.extend(d.push(&f));
        }
        // trailing silence lets a beep at the very end close
        for _ in 0..5 {
            out.extend(d.push(&[0; FRAME_SAMPLES]));
        }
        out
    }

    #[test]
    fn one_khz_beep_from_tone_rs_ends_on_time() {
        let got = beeps_of(Tone::new(&BEEP), 1000, 1000);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].abs_diff(1500) <= 40, "beep end {} ms", got[0]);
    }

    #[test]
    fn one_spoiled_block_inside_a_beep_is_forgiven_two_are_not() {
        let tone = |n: usize| -> Vec<i16> {
            (0..n)
                .map(|i| {
                    (6000.0 * (std::f64::consts::TAU * 1000.0 * i as f64 / 8000.0).sin()) as i16
                })
                .collect()
        };
        for (gap, expect) in [(160usize, vec![520u32]), (320, vec![300, 540])] {
            let mut audio = vec![0i16; 800];
            audio.extend(tone(1600));
            audio.extend(std::iter::repeat_n(0, gap));
            audio.extend(tone(1600));
            audio.extend(std::iter::repeat_n(0, 800));
            let mut d = BeepDetector::default();
            let got: Vec<u32> = audio
                .chunks(FRAME_SAMPLES)
                .filter_map(|c| d.push(c))
                .collect();
            assert_eq!(got, expect, "gap of {gap} samples");
        }
    }

    #[test]
    fn beeps_at_other_frequencies_and_off_frame_boundaries() {
        const fn once(freq: &'static [u16], cadence: &'static [u32]) -> ToneSpec {
            ToneSpec {
                frequencies: freq,
                cadence_ms: cadence,
                repeat: false,
                level_dbm0: -20.0,
            }
        }
        const CASES: [(u16, usize, u32, ToneSpec); 3] = [
            (440, 37, 200, once(&[440], &[200])),
            (1400, 101, 300, once(&[1400], &[300])),
            (1950, 3, 150, once(&[1950], &[150])),
        ];
        for (hz, lead_samples, ms, spec) in CASES {
            let mut d = BeepDetector::default();
            let mut audio = vec![0i16; 4000 + lead_samples];
            let mut t = Tone::new(&spec);
            let mut f = [0i16; FRAME_SAMPLES];
            while t.next_frame(&mut f) {
                audio.extend_from_slice(&f);
            }
            audio.extend(std::iter::repeat_n(0, 2000));
            let got: Vec<u32> = audio
                .chunks(FRAME_SAMPLES)
                .filter_map(|c| d.push(c))
                .collect();
            let end = ((4000 + lead_samples) / 8) as u32 + ms;
            assert_eq!(got.len(), 1, "{hz} Hz: {got:?}");
            assert!(got[0].abs_diff(end) <= 40, "{hz} Hz: {} vs {end}", got[0]);
            let seen = d.last_hz().unwrap_or(0.0);
            assert!((seen - f32::from(hz)).abs() < 5.0, "{hz} Hz read as {seen}");
        }
    }

    #[test]
    fn short_tones_dual_tones_and_endless_tones_are_not_beeps() {
        // 80 ms blip: too short
        let blip = ToneSpec {
            frequencies: &[1000],
            cadence_ms: &[80],
            repeat: false,
            level_dbm0: -10.0,
        };
        assert!(beeps_of(Tone::new(&blip), 200, 100).is_empty());
        // ringback (440+480) and DTMF are two tones
        assert!(beeps_of(Tone::new(&US.ringback), 0, 300).is_empty());
        assert!(beeps_of(Tone::dtmf("123#", 150, 100, -6.0).expect("dtmf"), 0, 300).is_empty());
        // a continuous 350+450 dial tone; and a single 1000 Hz tone over 4 s
        assert!(beeps_of(Tone::new(&UK.dial), 0, 300).is_empty());
        let long = ToneSpec {
            frequencies: &[1000],
            cadence_ms: &[5000],
            repeat: false,
            level_dbm0: -10.0,
        };
        assert!(beeps_of(Tone::new(&long), 0, 400).is_empty());
    }

    #[test]
    fn speech_and_noise_are_not_beeps() {
        let cfg = SynthConfig {
            beep_share: 0.0,
            ..SynthConfig::default()
        };
        for seed in 0..15 {
            for kind in [
                Kind::Hello,
                Kind::HelloName,
                Kind::LongSentence,
                Kind::MachineGreeting,
            ] {
                let g = synth::greeting(kind, seed, &cfg);
                let mut d = BeepDetector::default();
                let got: Vec<u32> = g.samples.chunks(160).filter_map(|c| d.push(c)).collect();
                assert!(
                    got.is_empty(),
                    "{kind:?} seed {seed}: false beep at {got:?}"
                );
            }
        }
    }

    #[test]
    fn beep_under_noise_is_found() {
        let cfg = SynthConfig {
            snr_db: Some(15.0),
            snr_db_max: None,
            beep_share: 1.0,
            ..SynthConfig::default()
        };
        let mut found = 0;
        for seed in 0..20 {
            let g = synth::greeting(Kind::ShortGreeting, seed, &cfg);
            let truth = g.beep.expect("short greetings end with a beep");
            let mut d = BeepDetector::default();
            let got: Vec<u32> = g.samples.chunks(160).filter_map(|c| d.push(c)).collect();
            if got.iter().any(|&t| t.abs_diff(truth.end_ms) <= 40) {
                found += 1;
            }
        }
        assert!(found >= 18, "found {found} of 20 beeps");
    }

    #[test]
    fn empty_and_odd_frames_do_not_panic() {
        let mut d = BeepDetector::default();
        assert_eq!(d.push(&[]), None);
        assert_eq!(d.push(&[i16::MIN; 7]), None);
        assert_eq!(d.push(&[i16::MAX; 1]), None);
        let mut t = Tone::new(&BEEP);
        let mut f = [0i16; FRAME_SAMPLES];
        let mut audio = Vec::new();
        while t.next_frame(&mut f) {
            audio.extend_from_slice(&f);
        }
        audio.extend(std::iter::repeat_n(0, 800));
        let got: Vec<u32> = audio.chunks(97).filter_map(|c| d.push(c)).collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].abs_diff(500) <= 40);
    }
}
