//! Prompts: audio files decoded once into 8 kHz samples and shared ([`Prompt`] is an
//! `Arc` inside, cloning is free), played to legs through [`FrameSource`]s.
//!
//! Formats: WAV with 16-bit PCM at 8 or 16 kHz (16 kHz is resampled with the codec layer's
//! anti-aliased resampler), WAV with G.711 A-law or µ-law samples (format tags 6 and 7,
//! 8 kHz), and headerless G.711 (`.ulaw`, `.pcmu`, `.ul`, `.mulaw` / `.alaw`, `.pcma`,
//! `.al`, 8 kHz). Files with several channels are mixed down to mono.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::audio::{Frame, FrameSource, FRAME_SAMPLES, SAMPLE_RATE};
use super::codec::g711;
use super::codec::resample::Resampler;
use super::codec::CodecError;
use super::wav::{self, WavEncoding, WavError};

/// Why a file cannot be a prompt.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: WavError,
    },
    #[error("{path}: {rate} Hz samples (8000 or 16000 expected)")]
    UnsupportedRate { path: PathBuf, rate: u32 },
    #[error("{path}: {encoding:?} at {rate} Hz (G.711 is 8000 Hz)")]
    G711Rate {
        path: PathBuf,
        encoding: WavEncoding,
        rate: u32,
    },
    #[error("{0}: unknown audio file type (.wav, .ulaw/.pcmu, .alaw/.pcma)")]
    UnknownType(PathBuf),
}

/// Decoded audio, 8 kHz mono; cheap to clone.
#[derive(Debug, Clone)]
pub struct Prompt {
    samples: Arc<[i16]>,
}

/// Read and decode the audio file at `path`.
pub fn load(path: &Path) -> Result<Prompt, PromptError> {
    let bytes = std::fs::read(path).map_err(|source| PromptError::Io {
        path: path.to_owned(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if wav::is_wave(&bytes) {
        return from_wav(&bytes, path);
    }
    let decode: fn(u8) -> i16 = match ext.as_deref() {
        Some("ulaw" | "pcmu" | "ul" | "mulaw" | "mu") => g711::ulaw_decode,
        Some("alaw" | "pcma" | "al") => g711::alaw_decode,
        Some("wav") => {
            return Err(PromptError::Wav {
                path: path.to_owned(),
                source: WavError::NotWave,
            })
        }
        _ => return Err(PromptError::UnknownType(path.to_owned())),
    };
    Ok(Prompt::from_samples(
        bytes.iter().map(|&b| decode(b)).collect(),
    ))
}

fn from_wav(bytes: &[u8], path: &Path) -> Result<Prompt, PromptError> {
    let w = wav::parse(bytes).map_err(|source| PromptError::Wav {
        path: path.to_owned(),
        source,
    })?;
    let f = w.format;
    let channels = usize::from(f.channels);
    let sample = |i: usize| -> i16 {
        match f.encoding {
            WavEncoding::Pcm16 => i16::from_le_bytes([w.data[2 * i], w.data[2 * i + 1]]),
            WavEncoding::Alaw => g711::alaw_decode(w.data[i]),
            WavEncoding::Ulaw => g711::ulaw_decode(w.data[i]),
        }
    };
    let frames = w.data.len() / f.block_align();
    let mono: Vec<i16> = (0..frames)
        .map(|k| {
            let sum: i32 = (0..channels)
                .map(|c| i32::from(sample(k * channels + c)))
                .sum();
            (sum / channels as i32) as i16
        })
        .collect();
    match (f.encoding, f.sample_rate) {
        (_, SAMPLE_RATE) => Ok(Prompt::from_samples(mono)),
        (WavEncoding::Pcm16, 16000) => {
            downsample_16k(&mono)
                .map(Prompt::from_samples)
                .map_err(|_| PromptError::UnsupportedRate {
                    path: path.to_owned(),
                    rate: 16000,
                })
        }
        (WavEncoding::Pcm16, rate) => Err(PromptError::UnsupportedRate {
            path: path.to_owned(),
            rate,
        }),
        (encoding, rate) => Err(PromptError::G711Rate {
            path: path.to_owned(),
            encoding,
            rate,
        }),
    }
}

/// 16 kHz → 8 kHz through the codec layer's anti-aliasing resampler, without its delay:
/// half as many samples, aligned with the input.
fn downsample_16k(samples: &[i16]) -> Result<Vec<i16>, CodecError> {
    let mut r = Resampler::new(16000, 8000)?;
    let mut out = Vec::with_capacity(samples.len() / 2 + 64);
    r.process(samples, &mut out);
    let delay = r.delay();
    r.process(&vec![0; 2 * delay + 4], &mut out);
    out.drain(..delay.min(out.len()));
    out.truncate(samples.len() / 2);
    Ok(out)
}

impl Prompt {
    /// A prompt from 8 kHz mono samples.
    pub fn from_samples(samples: Vec<i16>) -> Prompt {
        Prompt {
            samples: samples.into(),
        }
    }

    /// The decoded 8 kHz samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Playing time (the last frame is padded with silence when played).
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Plays the prompt once.
    pub fn source(&self) -> Box<dyn FrameSource> {
        Box::new(PromptSource {
            samples: self.samples.clone(),
            pos: 0,
            looping: false,
        })
    }

    /// Plays the prompt over and over (music on hold), seamlessly: the loop does not restart
    /// on a frame boundary. An empty prompt ends at once.
    pub fn looping(&self) -> Box<dyn FrameSource> {
        Box::new(PromptSource {
            samples: self.samples.clone(),
            pos: 0,
            looping: true,
        })
    }
}

struct PromptSource {
    samples: Arc<[i16]>,
    pos: usize,
    looping: bool,
}

impl FrameSource for PromptSource {
    fn next_frame(&mut self, out: &mut Frame) -> bool {
        let all = &self.samples[..];
        if all.is_empty() || (!self.looping && self.pos >= all.len()) {
            return false;
        }
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            if self.pos == all.len() {
                if !self.looping {
                    out[filled..].fill(0);
                    break;
                }
                self.pos = 0;
            }
            let n = (FRAME_SAMPLES - filled).min(all.len() - self.pos);
            out[filled..filled + n].copy_from_slice(&all[self.pos..self.pos + n]);
            filled += n;
            self.pos += n;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::wav::WavFormat;

    fn frames(mut s: Box<dyn FrameSource>, max: usize) -> Vec<Frame> {
        let mut v = Vec::new();
        let mut f = [0; FRAME_SAMPLES];
        while v.len() < max && s.next_frame(&mut f) {
            v.push(f);
        }
        v
    }

    #[test]
    fn once_pads_the_last_frame_and_ends() {
        let p = Prompt::from_samples((1..=400).collect());
        assert_eq!(p.duration(), Duration::from_millis(50));
        let f = frames(p.source(), 10);
        assert_eq!(f.len(), 3);
        assert_eq!((f[0][0], f[2][79], f[2][80]), (1, 400, 0));
    }

    #[test]
    fn looping_wraps_inside_a_frame() {
        let p = Prompt::from_samples((1..=100).collect());
        let f = frames(p.looping(), 5);
        assert_eq!(f.len(), 5);
        assert_eq!((f[0][99], f[0][100], f[1][0]), (100, 1, 61));
        assert!(frames(Prompt::from_samples(vec![]).looping(), 5).is_empty());
    }

    fn write_wav(dir: &Path, name: &str, format: WavFormat, data: &[u8]) -> PathBuf {
        let mut f = wav::header(format, data.len() as u32).to_vec();
        f.extend_from_slice(data);
        let p = dir.join(name);
        std::fs::write(&p, f).unwrap();
        p
    }

    #[test]
    fn loads_pcm_g711_wav_raw_and_stereo_files() {
        let dir = tempfile::tempdir().unwrap();
        let pcm: Vec<u8> = [1000i16, -1000]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let fmt = |encoding, channels, sample_rate| WavFormat {
            encoding,
            channels,
            sample_rate,
        };
        let p = write_wav(dir.path(), "a.wav", fmt(WavEncoding::Pcm16, 1, 8000), &pcm);
        assert_eq!(load(&p).unwrap().samples(), &[1000, -1000]);
        // stereo is mixed down
        let p = write_wav(dir.path(), "s.wav", fmt(WavEncoding::Pcm16, 2, 8000), &pcm);
        assert_eq!(load(&p).unwrap().samples(), &[0]);
        let mu = [g711::ulaw_encode(4000), g711::ulaw_encode(-4000)];
        let p = write_wav(dir.path(), "u.wav", fmt(WavEncoding::Ulaw, 1, 8000), &mu);
        let s = load(&p).unwrap();
        assert!((s.samples()[0] - 4000).abs() < 200 && (s.samples()[1] + 4000).abs() < 200);
        let a = [g711::alaw_encode(-300)];
        let p = dir.path().join("x.PCMA");
        std::fs::write(&p, a).unwrap();
        assert!((load(&p).unwrap().samples()[0] + 300).abs() < 20);
        let p = dir.path().join("x.ulaw");
        std::fs::write(&p, mu).unwrap();
        assert_eq!(load(&p).unwrap().samples().len(), 2);
    }

    #[test]
    fn sixteen_khz_halves_the_sample_count() {
        let dir = tempfile::tempdir().unwrap();
        // 1 kHz at 16 kHz, plus 6 kHz that must not fold down to 2 kHz
        let pcm: Vec<u8> = (0..1600)
            .map(|i| {
                let t = i as f64 / 16000.0 * 2.0 * std::f64::consts::PI;
                ((1000.0 * t).sin() * 8000.0 + (6000.0 * t).sin() * 8000.0) as i16
            })
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let fmt = WavFormat {
            encoding: WavEncoding::Pcm16,
            channels: 1,
            sample_rate: 16000,
        };
        let p = write_wav(dir.path(), "w.wav", fmt, &pcm);
        let got = load(&p).unwrap();
        assert_eq!(got.samples().len(), 800);
        assert_eq!(got.duration(), Duration::from_millis(100));
        let s = &got.samples()[100..];
        let one_k = crate::media::goertzel::amplitude(s, 1000.0, 8000);
        let alias = crate::media::goertzel::amplitude(s, 2000.0, 8000);
        assert!(
            one_k > 7000.0 && alias < 100.0,
            "1 kHz {one_k}, alias {alias}"
        );
    }

    #[test]
    fn bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(&dir.path().join("missing.wav")),
            Err(PromptError::Io { .. })
        ));
        let p = dir.path().join("x.mp3");
        std::fs::write(&p, b"ID3").unwrap();
        assert!(matches!(load(&p), Err(PromptError::UnknownType(_))));
        let p = dir.path().join("x.wav");
        std::fs::write(&p, b"garbage").unwrap();
        assert!(matches!(load(&p), Err(PromptError::Wav { .. })));
        let fmt = WavFormat {
            encoding: WavEncoding::Pcm16,
            channels: 1,
            sample_rate: 44100,
        };
        let p = write_wav(dir.path(), "cd.wav", fmt, &[0, 0]);
        assert!(matches!(
            load(&p),
            Err(PromptError::UnsupportedRate { rate: 44100, .. })
        ));
    }
}
