//! [`AmdDetector`]: Asterisk's `app_amd` state machine, fed frames, deciding once.
//!
//! The rules, their order within a frame and the word counting are Asterisk's (see the
//! [module diagram](super)), including its quirks: the first word counts only if some
//! silence (≥ `between_words_silence_ms`) came before it, total voice for LONGGREETING
//! includes blips before the first word, and the analysis-time check comes before the
//! frame is looked at. What differs is the voice decision in front of it ([`super::vad`])
//! and an onset debounce: a voiced run shorter than `voice_onset_ms` (default 40 ms, two
//! frames) is counted as silence. In Asterisk one loud frame — a click, a codec glitch, a
//! breath — restarts the after-greeting silence count and the initial-silence count; with
//! the debounce it does not, so a person who said "Hello?" and then breathed is still
//! called a person after 800 ms. With `voice_onset_ms` ≤ one frame and
//! `noise_floor_ratio` 0 the detector is Asterisk's exactly ([`AmdConfig::asterisk`]).
//!
//! Audio is analysed in 20 ms blocks (160 samples) whatever the frames' length: pushed
//! samples are gathered into blocks (only a running sum is kept), so 10 ms, 30 ms or odd
//! frames give the same verdict as 20 ms ones, and every time reported is a multiple of
//! 20 ms. No allocation and no clock: [`AmdDetector::push`] is one pass over the frame and
//! a few comparisons per block.

use super::vad::Vad;
use super::{AmdCause, AmdConfig, AmdResult, AmdVerdict};

/// Samples per millisecond at 8 kHz.
const PER_MS: u64 = 8;
/// Samples per analysis block (20 ms).
const BLOCK: u32 = 160;

fn samples(ms: u32) -> u64 {
    u64::from(ms) * PER_MS
}

fn ms(samples: u64) -> u32 {
    u32::try_from(samples / PER_MS).unwrap_or(u32::MAX)
}

/// One call's answering-machine detection.
#[derive(Debug, Clone)]
pub struct AmdDetector {
    cfg: AmdConfig,
    vad: Vad,
    /// Samples gathered into the current block and the sum of their absolute values.
    block_fill: u32,
    block_abs: u64,
    /// Samples analysed (Asterisk's `iTotalTime`).
    total: u64,
    /// Voiced samples not yet confirmed as voice by the onset debounce.
    pending_voice: u64,
    /// In a confirmed voiced run.
    in_voice: bool,
    /// Consecutive silence (Asterisk's `dspsilence`).
    silence_run: u64,
    /// Consecutive voice since the last word-ending silence.
    consecutive_voice: u64,
    /// All voice so far.
    voice_total: u64,
    words: u32,
    /// Asterisk's `STATE_IN_WORD` (starts true: the first word needs silence before it).
    in_word: bool,
    in_initial_silence: bool,
    in_greeting: bool,
    /// End of the last voiced frame, in samples.
    last_voice_end: u64,
    verdict: Option<AmdVerdict>,
}

impl AmdDetector {
    pub fn new(cfg: AmdConfig) -> Self {
        AmdDetector {
            vad: Vad::new(cfg.silence_threshold, cfg.noise_floor_ratio),
            cfg,
            block_fill: 0,
            block_abs: 0,
            total: 0,
            pending_voice: 0,
            in_voice: false,
            silence_run: 0,
            consecutive_voice: 0,
            voice_total: 0,
            words: 0,
            in_word: true,
            in_initial_silence: true,
            in_greeting: false,
            last_voice_end: 0,
            verdict: None,
        }
    }

    pub fn config(&self) -> &AmdConfig {
        &self.cfg
    }

    /// Feed the next frame of the callee's audio (20 ms = 160 samples at 8 kHz normally;
    /// any length works, an empty one is ignored). Returns the verdict on the frame that
    /// completes the deciding block, and `None` before and after.
    pub fn push(&mut self, frame: &[i16]) -> Option<AmdVerdict> {
        if self.verdict.is_some() {
            return None;
        }
        for &s in frame {
            self.block_abs += u64::from(i32::from(s).unsigned_abs());
            self.block_fill += 1;
            if self.block_fill == BLOCK {
                let level = (self.block_abs / u64::from(BLOCK)) as u32;
                (self.block_fill, self.block_abs) = (0, 0);
                if let Some(v) = self.block(level) {
                    return Some(v);
                }
            }
        }
        None
    }

    /// One 20 ms block of average level `level`.
    fn block(&mut self, level: u32) -> Option<AmdVerdict> {
        let n = u64::from(BLOCK);
        let voiced = self.vad.is_voice(level);
        self.total += n;
        if self.total >= samples(self.cfg.total_analysis_ms) {
            let end = self.greeting_end();
            return self.decide(AmdResult::NotSure, AmdCause::TooLong, end);
        }
        if voiced {
            if !self.in_voice {
                self.pending_voice += n;
                if self.pending_voice < samples(self.cfg.voice_onset_ms) {
                    return None;
                }
                self.in_voice = true;
            }
            let run = std::mem::take(&mut self.pending_voice).max(n);
            self.voice(run)
        } else {
            self.in_voice = false;
            let run = std::mem::take(&mut self.pending_voice) + n;
            self.silence(run)
        }
    }

    /// The audio ended (hang-up, media stopped) before a verdict: NotSure with cause
    /// [`AmdCause::Hangup`]. `None` if a verdict was already given.
    pub fn finish(&mut self) -> Option<AmdVerdict> {
        if self.verdict.is_some() {
            return None;
        }
        let end = self.greeting_end();
        self.decide(AmdResult::NotSure, AmdCause::Hangup, end)
    }

    /// The verdict, once given.
    pub fn verdict(&self) -> Option<AmdVerdict> {
        self.verdict
    }

    /// Words counted so far.
    pub fn words(&self) -> u32 {
        self.words
    }

    /// Audio analysed so far, ms.
    pub fn elapsed_ms(&self) -> u32 {
        ms(self.total)
    }

    /// The greeting's end if we are in silence after at least one word.
    fn greeting_end(&self) -> Option<u32> {
        (self.in_greeting && !self.in_voice && self.silence_run > 0)
            .then(|| ms(self.last_voice_end))
    }

    fn silence(&mut self, run: u64) -> Option<AmdVerdict> {
        self.silence_run += run;
        if self.silence_run >= samples(self.cfg.between_words_silence_ms) {
            self.in_word = false;
            self.consecutive_voice = 0;
        }
        if self.in_initial_silence && self.silence_run >= samples(self.cfg.initial_silence_ms) {
            return self.decide(AmdResult::Machine, AmdCause::InitialSilence, None);
        }
        if self.in_greeting && self.silence_run >= samples(self.cfg.after_greeting_silence_ms) {
            let end = Some(ms(self.last_voice_end));
            return self.decide(AmdResult::Human, AmdCause::HumanSilence, end);
        }
        None
    }

    fn voice(&mut self, run: u64) -> Option<AmdVerdict> {
        self.silence_run = 0;
        self.consecutive_voice += run;
        self.voice_total += run;
        self.last_voice_end = self.total;
        let min_word = samples(self.cfg.min_word_length_ms);
        if self.consecutive_voice >= min_word && !self.in_word {
            self.words += 1;
            self.in_word = true;
        }
        if self.consecutive_voice >= samples(self.cfg.maximum_word_length_ms) {
            return self.decide(AmdResult::Machine, AmdCause::MaxWordLength, None);
        }
        if self.words >= self.cfg.maximum_number_of_words {
            return self.decide(AmdResult::Machine, AmdCause::MaxWords, None);
        }
        if self.in_greeting && self.voice_total >= samples(self.cfg.greeting_ms) {
            return self.decide(AmdResult::Machine, AmdCause::LongGreeting, None);
        }
        if self.consecutive_voice >= min_word && !self.in_greeting {
            self.in_initial_silence = false;
            self.in_greeting = true;
        }
        None
    }

    fn decide(
        &mut self,
        result: AmdResult,
        cause: AmdCause,
        greeting_end_ms: Option<u32>,
    ) -> Option<AmdVerdict> {
        let v = AmdVerdict {
            result,
            cause,
            decided_after_ms: ms(self.total),
            greeting_end_ms,
            words: self.words,
        };
        self.verdict = Some(v);
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::amd::synth::{self, Kind, SynthConfig, Truth};

    /// A timeline of (ms, voiced) segments as 8 kHz audio: voice is a 300 Hz sine of
    /// amplitude 4000 (average level ~2550), silence is `floor` (a steady noise level).
    fn audio(segments: &[(u32, bool)], floor: i16) -> Vec<i16> {
        let mut out = Vec::new();
        for &(ms, voiced) in segments {
            for _ in 0..ms * 8 {
                let i = out.len() as f64;
                let s = if voiced {
                    4000.0 * (std::f64::consts::TAU * 300.0 * i / 8000.0).sin()
                } else {
                    // a steady "noise": alternating ±floor
                    if out.len() % 2 == 0 {
                        f64::from(floor)
                    } else {
                        -f64::from(floor)
                    }
                };
                out.push(s as i16);
            }
        }
        out
    }

    /// Run a detector over `samples` in chunks of `chunk`; the verdicts returned.
    fn run(cfg: AmdConfig, samples: &[i16], chunk: usize) -> Vec<AmdVerdict> {
        let mut d = AmdDetector::new(cfg);
        samples.chunks(chunk).filter_map(|c| d.push(c)).collect()
    }

    fn one(cfg: AmdConfig, samples: &[i16]) -> AmdVerdict {
        let v = run(cfg, samples, 160);
        assert_eq!(v.len(), 1, "exactly one verdict: {v:?}");
        v[0]
    }

    #[test]
    fn silence_is_a_machine_by_initial_silence_as_in_asterisk() {
        let v = one(AmdConfig::default(), &audio(&[(6000, false)], 0));
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Machine, AmdCause::InitialSilence)
        );
        assert_eq!(v.decided_after_ms, 2500);
        assert_eq!(v.greeting_end_ms, None);
        // with initial_silence beyond the analysis time, silence is NotSure (TOOLONG)
        let cfg = AmdConfig {
            initial_silence_ms: 9000,
            ..AmdConfig::default()
        };
        let v = one(cfg, &audio(&[(6000, false)], 0));
        assert_eq!((v.result, v.cause), (AmdResult::NotSure, AmdCause::TooLong));
        assert_eq!(v.decided_after_ms, 5000);
    }

    #[test]
    fn hello_then_silence_is_human_and_greeting_end_is_the_burst_end() {
        let v = one(
            AmdConfig::default(),
            &audio(&[(300, false), (600, true), (3000, false)], 0),
        );
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Human, AmdCause::HumanSilence)
        );
        assert_eq!(v.greeting_end_ms, Some(900));
        assert_eq!(v.decided_after_ms, 900 + 800);
        assert_eq!(v.words, 1);
    }

    #[test]
    fn long_greetings_are_machines() {
        // words of 400 ms with 150 ms gaps: the second word makes MAXWORDS (2)
        let greeting = [
            (200, false),
            (400, true),
            (150, false),
            (400, true),
            (150, false),
            (400, true),
            (150, false),
            (400, true),
            (2000, false),
        ];
        let v = one(AmdConfig::default(), &audio(&greeting, 0));
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Machine, AmdCause::MaxWords)
        );
        // the word starts in the block 740–760 (half voice, loud enough): 100 ms later
        assert_eq!(v.decided_after_ms, 840);
        // allowing many words, the voice total reaches greeting_ms (1500) in the 4th word
        // (blocks half-filled by a word's start or end count as voice: 400+420+400+280)
        let cfg = AmdConfig {
            maximum_number_of_words: 10,
            ..AmdConfig::default()
        };
        let v = one(cfg, &audio(&greeting, 0));
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Machine, AmdCause::LongGreeting)
        );
        assert_eq!(v.decided_after_ms, 2120);
        // one endless word
        let cfg = AmdConfig {
            maximum_number_of_words: 10,
            greeting_ms: 60_000,
            total_analysis_ms: 60_000,
            ..AmdConfig::default()
        };
        let v = one(cfg, &audio(&[(100, false), (7000, true)], 0));
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Machine, AmdCause::MaxWordLength)
        );
        assert_eq!(v.decided_after_ms, 100 + 5000);
    }

    #[test]
    fn verdict_is_given_once() {
        let samples = audio(&[(300, false), (600, true), (3000, false)], 0);
        let mut d = AmdDetector::new(AmdConfig::default());
        let mut verdicts = 0;
        for c in samples.chunks(160) {
            verdicts += usize::from(d.push(c).is_some());
        }
        assert_eq!(verdicts, 1);
        assert!(d.verdict().is_some());
        assert_eq!(d.push(&samples[..160]), None);
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn finish_before_a_verdict_is_not_sure_hangup() {
        let mut d = AmdDetector::new(AmdConfig::default());
        for c in audio(&[(300, false), (500, true), (200, false)], 0).chunks(160) {
            assert_eq!(d.push(c), None);
        }
        let v = d.finish().expect("verdict");
        assert_eq!((v.result, v.cause), (AmdResult::NotSure, AmdCause::Hangup));
        assert_eq!(v.greeting_end_ms, Some(800));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn empty_frames_and_odd_lengths_work() {
        let samples = audio(&[(300, false), (600, true), (3000, false)], 0);
        let mut d = AmdDetector::new(AmdConfig::default());
        assert_eq!(d.push(&[]), None);
        assert_eq!(d.push(&[i16::MIN]), None);
        let v: Vec<AmdVerdict> = samples.chunks(77).filter_map(|c| d.push(c)).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].result, AmdResult::Human);
        assert_eq!(v[0].decided_after_ms, 1700, "{v:?}");
        assert_eq!(v[0].greeting_end_ms, Some(900));
        // one-sample frames
        let v = run(AmdConfig::default(), &samples, 1);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].result, AmdResult::Human);
    }

    #[test]
    fn a_click_in_the_after_greeting_silence_does_not_restart_it() {
        // "Hello?", 500 ms silence, one loud 20 ms frame, silence
        let samples = audio(
            &[
                (300, false),
                (600, true),
                (500, false),
                (20, true),
                (3000, false),
            ],
            0,
        );
        let ours = one(AmdConfig::default(), &samples);
        assert_eq!(ours.result, AmdResult::Human);
        assert_eq!(ours.decided_after_ms, 1700);
        // Asterisk restarts the 800 ms count after the click
        let theirs = one(AmdConfig::asterisk(), &samples);
        assert_eq!(theirs.result, AmdResult::Human);
        assert_eq!(theirs.decided_after_ms, 300 + 600 + 500 + 20 + 800);
        assert_eq!(theirs.greeting_end_ms, Some(1420));
    }

    #[test]
    fn steady_line_noise_above_the_threshold_does_not_make_a_machine() {
        // line noise at level 600 (> 256) around a 600 ms "Hello?"
        let samples = audio(&[(400, false), (600, true), (3000, false)], 600);
        let ours = one(AmdConfig::default(), &samples);
        assert_eq!(ours.result, AmdResult::Human, "{ours:?}");
        assert_eq!(ours.greeting_end_ms, Some(1000));
        let theirs = one(AmdConfig::asterisk(), &samples);
        assert_eq!(theirs.result, AmdResult::Machine, "{theirs:?}");
    }

    #[test]
    fn first_word_without_silence_before_it_is_not_counted_as_in_asterisk() {
        let samples = audio(&[(400, true), (100, false), (400, true), (3000, false)], 0);
        let v = one(AmdConfig::asterisk(), &samples);
        assert_eq!((v.result, v.words), (AmdResult::Human, 1));
    }

    #[test]
    fn frame_length_does_not_change_the_verdict() {
        let cfg = SynthConfig::default();
        for (seed, kind) in (0..6).flat_map(|s| [(s, Kind::HelloName), (s, Kind::MachineGreeting)])
        {
            let g = synth::greeting(kind, seed, &cfg);
            let by20 = run(AmdConfig::default(), &g.samples, 160);
            assert_eq!(
                run(AmdConfig::default(), &g.samples, 80),
                by20,
                "10 ms frames"
            );
            assert_eq!(
                run(AmdConfig::default(), &g.samples, 333),
                by20,
                "odd frames"
            );
        }
    }

    #[test]
    fn clicks_do_not_postpone_initial_silence() {
        // a click every 500 ms on a silent line: Asterisk's count restarts at each one and
        // never reaches 2500 ms; ours ignores one-frame bursts
        let mut segs = Vec::new();
        for _ in 0..12 {
            segs.extend([(480, false), (20, true)]);
        }
        let samples = audio(&segs, 0);
        let ours = one(AmdConfig::default(), &samples);
        assert_eq!(
            (ours.result, ours.cause),
            (AmdResult::Machine, AmdCause::InitialSilence)
        );
        // the click at 2480 is pending until the next block shows it was a click
        assert_eq!(ours.decided_after_ms, 2520);
        let theirs = one(AmdConfig::asterisk(), &samples);
        assert_eq!(
            (theirs.result, theirs.cause),
            (AmdResult::NotSure, AmdCause::TooLong)
        );
    }

    #[test]
    fn vicidial_settings_allow_a_two_part_human_greeting() {
        // "Hello," 150 ms "this is Ann", silence: two words
        let samples = audio(
            &[
                (300, false),
                (400, true),
                (200, false),
                (600, true),
                (3000, false),
            ],
            0,
        );
        let v = one(AmdConfig::default(), &samples);
        assert_eq!(
            (v.result, v.cause),
            (AmdResult::Machine, AmdCause::MaxWords)
        );
        let v = one(AmdConfig::vicidial(), &samples);
        assert_eq!(
            (v.result, v.cause, v.words),
            (AmdResult::Human, AmdCause::HumanSilence, 2)
        );
        assert_eq!(v.decided_after_ms, 1500 + 1000);
        assert_eq!(v.greeting_end_ms, Some(1500));
    }

    #[test]
    fn verdicts_serialise_for_events() {
        let v = one(
            AmdConfig::default(),
            &audio(&[(300, false), (600, true), (3000, false)], 0),
        );
        let json = serde_json::to_value(v).expect("json");
        assert_eq!(json["result"], "human");
        assert_eq!(json["cause"], "human_silence");
        assert_eq!(json["greeting_end_ms"], 900);
    }

    #[test]
    fn synthetic_hellos_are_human_and_machine_greetings_are_machines() {
        let cfg = SynthConfig::default();
        let mut human_ok = 0;
        let mut machine_ok = 0;
        for seed in 0..30 {
            let g = synth::greeting(Kind::Hello, seed, &cfg);
            assert_eq!(g.truth, Truth::Human);
            let v = one(AmdConfig::default(), &g.samples);
            if v.result == AmdResult::Human {
                human_ok += 1;
                let end = v
                    .greeting_end_ms
                    .expect("human verdicts carry the greeting end");
                assert!(
                    end.abs_diff(g.greeting_end_ms) <= 100,
                    "seed {seed}: greeting end {end} vs truth {}",
                    g.greeting_end_ms
                );
            }
            let g = synth::greeting(Kind::MachineGreeting, seed, &cfg);
            if one(AmdConfig::default(), &g.samples).result == AmdResult::Machine {
                machine_ok += 1;
            }
        }
        assert!(human_ok >= 27, "{human_ok}/30 hellos called human");
        assert!(
            machine_ok >= 27,
            "{machine_ok}/30 machine greetings called machine"
        );
    }
}
