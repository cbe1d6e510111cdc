//! Single-frequency energy: the Goertzel algorithm (one DFT bin by a second-order IIR), the
//! dominant of a set of candidate frequencies, and RMS level.
//!
//! Used by tests to check that audio which went through codecs and resamplers still carries
//! the tone it started with, and by in-band detectors (DTMF per ITU-T Q.24, call-progress
//! tones, answering-machine beeps). The frequency need not fall on a bin centre: the
//! coefficient is computed for the exact frequency (the "generalised" form).
//!
//! Pure: slices in, numbers out.

use std::f64::consts::PI;

/// A Goertzel filter tuned to one frequency, reusable across blocks.
#[derive(Debug, Clone, Copy)]
pub struct Goertzel {
    coeff: f64,
    cos: f64,
    sin: f64,
}

impl Goertzel {
    pub fn new(freq: f32, sample_rate: u32) -> Self {
        let w = 2.0 * PI * f64::from(freq) / f64::from(sample_rate.max(1));
        Goertzel {
            coeff: 2.0 * w.cos(),
            cos: w.cos(),
            sin: w.sin(),
        }
    }

    /// Squared magnitude of the frequency's DFT term over `samples`, normalised so that a
    /// sine of amplitude `A` gives `A²` (when the block holds many periods).
    pub fn power(&self, samples: &[i16]) -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in samples {
            let s0 = f64::from(x) + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let re = s1 - s2 * self.cos;
        let im = s2 * self.sin;
        let n = samples.len() as f64;
        (re * re + im * im) * 4.0 / (n * n)
    }
}

/// [`Goertzel::power`] for one frequency.
pub fn power(samples: &[i16], freq: f32, sample_rate: u32) -> f64 {
    Goertzel::new(freq, sample_rate).power(samples)
}

/// Amplitude of the component at `freq` (the square root of [`power`]).
pub fn amplitude(samples: &[i16], freq: f32, sample_rate: u32) -> f64 {
    power(samples, freq, sample_rate).sqrt()
}

/// Root-mean-square level of the samples (0 for an empty slice). A sine of amplitude `A`
/// has RMS `A/√2`.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// The strongest of `candidates` in `samples`: its index in `candidates` and its power.
/// `None` when there are no candidates or no samples.
pub fn dominant(samples: &[i16], candidates: &[f32], sample_rate: u32) -> Option<(usize, f64)> {
    if samples.is_empty() {
        return None;
    }
    candidates
        .iter()
        .map(|&f| power(samples, f, sample_rate))
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The fraction of the signal's energy that lies at `freqs` (0..=1, roughly): the sum of
/// their powers over twice the mean square. A clean mix of those tones gives about 1; noise
/// or another tone gives about 0.
pub fn purity(samples: &[i16], freqs: &[f32], sample_rate: u32) -> f64 {
    let r = rms(samples);
    if r == 0.0 {
        return 0.0;
    }
    let tones: f64 = freqs.iter().map(|&f| power(samples, f, sample_rate)).sum();
    tones / (2.0 * r * r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / 8000.0).sin()).round() as i16)
            .collect()
    }

    #[test]
    fn power_is_normalised_to_amplitude_squared() {
        let s = sine(1000.0, 10000.0, 800);
        assert!((amplitude(&s, 1000.0, 8000) - 10000.0).abs() < 10.0);
        assert!(amplitude(&s, 1300.0, 8000) < 100.0);
        // off-bin frequency (697 Hz is not a multiple of 8000/800)
        let s = sine(697.0, 5000.0, 800);
        assert!((amplitude(&s, 697.0, 8000) - 5000.0).abs() < 50.0);
    }

    #[test]
    fn rms_of_sine_and_silence() {
        let s = sine(1000.0, 10000.0, 800);
        assert!((rms(&s) - 10000.0 / 2f64.sqrt()).abs() < 5.0);
        assert_eq!(rms(&[0; 160]), 0.0);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn dominant_picks_the_present_tone() {
        let s = sine(1209.0, 8000.0, 400);
        let cands = [1209.0, 1336.0, 1477.0, 1633.0];
        assert_eq!(dominant(&s, &cands, 8000).map(|d| d.0), Some(0));
        let s = sine(1477.0, 8000.0, 400);
        assert_eq!(dominant(&s, &cands, 8000).map(|d| d.0), Some(2));
        assert_eq!(dominant(&[], &cands, 8000), None);
        assert_eq!(dominant(&s, &[], 8000), None);
    }

    #[test]
    fn purity_separates_tone_from_other_tone() {
        let s = sine(440.0, 8000.0, 1600);
        assert!(purity(&s, &[440.0], 8000) > 0.95);
        assert!(purity(&s, &[480.0], 8000) < 0.05);
    }
}
