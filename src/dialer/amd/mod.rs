//! Answering-machine detection (AMD) and voicemail-beep detection on the callee's audio
//! just after answer.
//!
//! This module owns the *classifier*: it is fed the decoded 20 ms frames (8 kHz, i16)
//! the callee sent and says once whether a live person or a machine answered. Wiring it to
//! a call's media tap, and acting on the verdict (bridge to an agent, play safe-harbor,
//! hang up or leave a message after the beep), belongs to the caller.
//!
//! * [`detector`] — [`AmdDetector`]: the energy/timing state machine of Asterisk's
//!   `app_amd` (initial silence, greeting length, after-greeting silence, word counting,
//!   total analysis time), with the same parameters and causes, behind a better voice
//!   activity decision ([`vad`]: an adaptive noise floor and an onset debounce).
//! * [`vad`] — per-frame voice/silence from the frame's average absolute amplitude.
//! * [`beep`] — [`BeepDetector`]: one steady tone between 400 and 2000 Hz for ≥ 120 ms
//!   (the "leave a message after the tone" beep), by a bank of Goertzel filters.
//! * [`synth`] — synthetic greetings (humans and machines, with noise and edge cases),
//!   deterministic per seed, with ground truth: the test and benchmark corpus.
//!
//! Pure: no clock, no IO. Time is the audio itself — every duration is counted in samples
//! pushed, so a test runs a 5-second analysis in microseconds.
//!
//! State diagram of the detector (Asterisk's, causes in capitals):
//! ```text
//!  InitialSilence ──silence ≥ initial_silence──────────────► MACHINE (INITIALSILENCE)
//!        │ a word (voice ≥ min_word_length)
//!        ▼
//!   InGreeting ──silence ≥ after_greeting_silence──────────► HUMAN   (HUMAN)
//!        │──total voice ≥ greeting────────────────────────► MACHINE (LONGGREETING)
//!        │──words ≥ maximum_number_of_words───────────────► MACHINE (MAXWORDS)
//!        │──one word ≥ maximum_word_length────────────────► MACHINE (MAXWORDLENGTH)
//!  (any state) ──analysed ≥ total_analysis_time───────────► NOTSURE (TOOLONG)
//! ```

pub mod beep;
pub mod detector;
pub mod synth;
pub mod vad;

pub use beep::{BeepConfig, BeepDetector};
pub use detector::AmdDetector;

use serde::{Deserialize, Serialize};

/// Parameters of the detector. Field names and defaults follow Asterisk's `amd.conf`
/// (`configs/samples/amd.conf.sample`); the last two fields are ours (see [`vad`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmdConfig {
    /// Silence before the first word longer than this means a machine (many answering
    /// machines and voicemail systems wait before playing their greeting). Default 2500.
    pub initial_silence_ms: u32,
    /// Total voice in the greeting longer than this means a machine: people say "Hello?",
    /// machines say a paragraph. Default 1500.
    pub greeting_ms: u32,
    /// Silence after the greeting longer than this means a person (who said hello and is
    /// now waiting for an answer). Default 800.
    pub after_greeting_silence_ms: u32,
    /// No verdict after this much audio gives NotSure. Default 5000.
    pub total_analysis_ms: u32,
    /// Voice must last this long to count as a word (shorter bursts are clicks or
    /// breaths). Default 100.
    pub min_word_length_ms: u32,
    /// Silence at least this long ends a word. Default 50.
    pub between_words_silence_ms: u32,
    /// This many words means a machine. Default 2 (amd.conf; the code's default is 3).
    pub maximum_number_of_words: u32,
    /// A frame whose average absolute amplitude (0–32768) is below this is silence.
    /// Default 256.
    pub silence_threshold: u32,
    /// One word longer than this means a machine (or a fax, music, a tone). Default 5000.
    pub maximum_word_length_ms: u32,
    /// Ours: a frame is voice only if its level is also at least this many times the noise
    /// floor (the quietest frame of the last 2 s). 0 turns the adaptive floor off, as in
    /// Asterisk. Default 2.0 (6 dB above the floor).
    pub noise_floor_ratio: f32,
    /// Ours: voice starts only after this much consecutive voiced audio; a shorter burst
    /// (a click, a codec glitch) is counted as silence. 20 (one frame) is Asterisk's
    /// behaviour. Default 40.
    pub voice_onset_ms: u32,
}

impl Default for AmdConfig {
    fn default() -> Self {
        AmdConfig {
            initial_silence_ms: 2500,
            greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            total_analysis_ms: 5000,
            min_word_length_ms: 100,
            between_words_silence_ms: 50,
            maximum_number_of_words: 2,
            silence_threshold: 256,
            maximum_word_length_ms: 5000,
            noise_floor_ratio: 2.0,
            voice_onset_ms: 40,
        }
    }
}

impl AmdConfig {
    /// Asterisk's `app_amd` exactly: amd.conf's defaults with our VAD improvements off.
    pub fn asterisk() -> Self {
        AmdConfig {
            noise_floor_ratio: 0.0,
            voice_onset_ms: 20,
            ..AmdConfig::default()
        }
    }

    /// VICIdial's dialplan call `AMD(2000,2000,1000,5000,120,50,4,256)`, with our VAD.
    pub fn vicidial() -> Self {
        AmdConfig {
            initial_silence_ms: 2000,
            greeting_ms: 2000,
            after_greeting_silence_ms: 1000,
            total_analysis_ms: 5000,
            min_word_length_ms: 120,
            between_words_silence_ms: 50,
            maximum_number_of_words: 4,
            silence_threshold: 256,
            ..AmdConfig::default()
        }
    }

    /// Check the values make a detector that can decide.
    pub fn validate(&self) -> Result<(), AmdConfigError> {
        if self.total_analysis_ms == 0 {
            return Err(AmdConfigError::Zero("total_analysis_ms"));
        }
        if self.after_greeting_silence_ms == 0 {
            return Err(AmdConfigError::Zero("after_greeting_silence_ms"));
        }
        if self.maximum_number_of_words == 0 {
            return Err(AmdConfigError::Zero("maximum_number_of_words"));
        }
        if !(self.noise_floor_ratio.is_finite() && self.noise_floor_ratio >= 0.0) {
            return Err(AmdConfigError::NoiseFloorRatio(self.noise_floor_ratio));
        }
        Ok(())
    }
}

/// Why an [`AmdConfig`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AmdConfigError {
    #[error("{0}: must be greater than 0")]
    Zero(&'static str),
    #[error("noise_floor_ratio: {0} is not a finite number ≥ 0")]
    NoiseFloorRatio(f32),
}

/// What answered (Asterisk's `AMDSTATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdResult {
    Human,
    Machine,
    NotSure,
}

impl AmdResult {
    /// Asterisk's `AMDSTATUS` value.
    pub fn as_str(self) -> &'static str {
        match self {
            AmdResult::Human => "HUMAN",
            AmdResult::Machine => "MACHINE",
            AmdResult::NotSure => "NOTSURE",
        }
    }
}

/// Which rule decided (Asterisk's `AMDCAUSE`, without its numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdCause {
    /// Machine: silence before any word lasted `initial_silence_ms`.
    InitialSilence,
    /// Human: silence after the greeting lasted `after_greeting_silence_ms`.
    HumanSilence,
    /// Machine: voice in the greeting reached `greeting_ms`.
    LongGreeting,
    /// Machine: `maximum_number_of_words` words.
    MaxWords,
    /// Machine: one word reached `maximum_word_length_ms`.
    MaxWordLength,
    /// Not sure: `total_analysis_ms` passed without a decision.
    TooLong,
    /// Not sure: the audio ended ([`AmdDetector::finish`]) before a decision.
    Hangup,
}

impl AmdCause {
    /// Asterisk's `AMDCAUSE` prefix (`HANGUP` is an `AMDSTATUS` there).
    pub fn as_str(self) -> &'static str {
        match self {
            AmdCause::InitialSilence => "INITIALSILENCE",
            AmdCause::HumanSilence => "HUMAN",
            AmdCause::LongGreeting => "LONGGREETING",
            AmdCause::MaxWords => "MAXWORDS",
            AmdCause::MaxWordLength => "MAXWORDLENGTH",
            AmdCause::TooLong => "TOOLONG",
            AmdCause::Hangup => "HANGUP",
        }
    }
}

/// The detector's one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmdVerdict {
    pub result: AmdResult,
    pub cause: AmdCause,
    /// Audio analysed when the verdict was taken, ms from the first frame.
    pub decided_after_ms: u32,
    /// When the callee's greeting ended, ms from the first frame: the end of the last
    /// voiced frame before the silence the verdict was taken in. `Some` only when the
    /// verdict came during silence after at least one word (always for
    /// [`AmdCause::HumanSilence`]); the FTC/Ofcom 2-second rule counts from here.
    pub greeting_end_ms: Option<u32>,
    /// Words counted.
    pub words: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_amd_conf_and_serde_fills_missing_fields() {
        let c: AmdConfig = toml::from_str("greeting_ms = 2000").expect("parse");
        assert_eq!(c.greeting_ms, 2000);
        assert_eq!(c.initial_silence_ms, 2500);
        assert_eq!(c.after_greeting_silence_ms, 800);
        assert_eq!(c.total_analysis_ms, 5000);
        assert_eq!(c.min_word_length_ms, 100);
        assert_eq!(c.between_words_silence_ms, 50);
        assert_eq!(c.maximum_number_of_words, 2);
        assert_eq!(c.silence_threshold, 256);
        assert_eq!(c.maximum_word_length_ms, 5000);
        assert!(toml::from_str::<AmdConfig>("greting_ms = 1").is_err());
        let back: AmdConfig = toml::from_str(&toml::to_string(&c).expect("ser")).expect("de");
        assert_eq!(back, c);
    }

    #[test]
    fn validate_refuses_configs_that_cannot_decide() {
        assert_eq!(AmdConfig::default().validate(), Ok(()));
        assert_eq!(AmdConfig::asterisk().validate(), Ok(()));
        let c = AmdConfig {
            total_analysis_ms: 0,
            ..AmdConfig::default()
        };
        assert_eq!(c.validate(), Err(AmdConfigError::Zero("total_analysis_ms")));
        let c = AmdConfig {
            noise_floor_ratio: f32::NAN,
            ..AmdConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(AmdConfigError::NoiseFloorRatio(_))
        ));
    }

    #[test]
    fn names_are_asterisks() {
        assert_eq!(AmdResult::NotSure.as_str(), "NOTSURE");
        assert_eq!(AmdCause::HumanSilence.as_str(), "HUMAN");
        assert_eq!(AmdCause::MaxWordLength.as_str(), "MAXWORDLENGTH");
    }
}
