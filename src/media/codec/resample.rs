//! Sample-rate conversion between 8, 16 and 48 kHz (and any pair whose ratio reduces to
//! small integers): a polyphase FIR resampler, stateful across calls.
//!
//! Up by L, low-pass, down by M, computed without the zeros: output sample `n` sits at input
//! position `n·M/L`; its phase `(n·M) mod L` picks one of L sub-filters of the prototype.
//! The prototype is a Kaiser-windowed sinc at the intermediate rate `L·f_in`, cut off at
//! 0.45 of the lower rate (passband to 0.4, the 300–3400 Hz telephone band at 8 kHz; at
//! least 70 dB down from the lower rate's Nyquist frequency on), so downsampling does not
//! alias and upsampling does not image. Latency is the filter's group delay, about 2.7 ms
//! whatever the ratio (the test aligns on it).
//!
//! Hot path: no allocation once the internal work buffer has grown to the largest block
//! seen; the caller's output `Vec` is appended to (reserve it once). Arithmetic in `f32`,
//! output rounded and clamped to `i16`.

use super::CodecError;

/// Stopband attenuation of the prototype filter, dB.
const ATTENUATION_DB: f64 = 70.0;
/// Passband edge and stopband edge as fractions of the lower rate.
const PASS: f64 = 0.4;
const STOP: f64 = 0.5;

/// A streaming resampler from one rate to another.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    /// Upsampling factor L.
    up: usize,
    /// Downsampling factor M.
    down: usize,
    /// `up` sub-filters of `taps` coefficients each, stored reversed (oldest input first).
    phases: Vec<f32>,
    taps: usize,
    /// History (`taps - 1` samples) followed by the block being processed.
    work: Vec<f32>,
    /// Phase of the next output sample (0..up).
    phase: usize,
    /// Input samples to skip at the start of the next block (down > up).
    skip: usize,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        term *= half / k as f64;
        sum += term * term;
        if term * term < sum * 1e-12 {
            break;
        }
    }
    sum
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz. Both reduce to a ratio L/M with L, M ≤ 12
    /// (8↔16↔48 kHz, 8↔12, 16↔24, 44.1 is refused); equal rates copy.
    pub fn new(from: u32, to: u32) -> Result<Self, CodecError> {
        let unsupported = CodecError::UnsupportedRate { from, to };
        if from == 0 || to == 0 {
            return Err(unsupported);
        }
        let g = gcd(from, to);
        let (up, down) = ((to / g) as usize, (from / g) as usize);
        if up > 12 || down > 12 {
            return Err(unsupported);
        }
        let (phases, taps) = if up == 1 && down == 1 {
            (vec![1.0], 1)
        } else {
            design(from, to, up)
        };
        Ok(Resampler {
            from,
            to,
            up,
            down,
            phases,
            taps,
            work: vec![0.0; taps - 1],
            phase: 0,
            skip: 0,
        })
    }

    pub fn from_rate(&self) -> u32 {
        self.from
    }

    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Delay the filter adds, in output samples.
    pub fn delay(&self) -> usize {
        // group delay of the prototype at the intermediate rate, in output samples
        (self.taps * self.up - 1) / 2 / self.down
    }

    /// Forget all history (a new stream).
    pub fn reset(&mut self) {
        self.work.clear();
        self.work.resize(self.taps - 1, 0.0);
        self.phase = 0;
        self.skip = 0;
    }

    /// Resample `input`, appending the output to `out`; returns how many samples were
    /// appended. Over a stream, `k` input samples yield `k·to/from` output samples (give or
    /// take one at block edges when the ratio does not divide the block).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) -> usize {
        let hist = self.taps - 1;
        let start = out.len();
        if self.skip >= input.len() {
            self.skip -= input.len();
            self.push_history(input);
            return 0;
        }
        self.work.truncate(hist);
        self.work.extend(input.iter().map(|&s| f32::from(s)));
        // `i`: index in `work` of the newest input sample the next output depends on
        let mut i = hist + self.skip;
        let len = self.work.len();
        out.reserve((input.len() * self.up).div_ceil(self.down) + 1);
        while i < len {
            let coeffs = &self.phases[self.phase * self.taps..(self.phase + 1) * self.taps];
            let window = &self.work[i + 1 - self.taps..=i];
            let y = dot(coeffs, window);
            out.push(y.round().clamp(-32768.0, 32767.0) as i16);
            self.phase += self.down;
            i += self.phase / self.up;
            self.phase %= self.up;
        }
        self.skip = i - len;
        self.work.drain(..len - hist);
        out.len() - start
    }

    fn push_history(&mut self, input: &[i16]) {
        let hist = self.taps - 1;
        self.work.extend(input.iter().map(|&s| f32::from(s)));
        let excess = self.work.len() - hist;
        self.work.drain(..excess);
    }
}

/// Four-lane dot product (lets the compiler vectorise the f32 sum).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = a.chunks_exact(4).zip(b.chunks_exact(4));
    for (x, y) in chunks {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail = a.len() / 4 * 4;
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a[tail..].iter().zip(&b[tail..]) {
        sum += x * y;
    }
    sum
}

/// The polyphase bank: `up` sub-filters of `taps` coefficients, each reversed.
fn design(from: u32, to: u32, up: usize) -> (Vec<f32>, usize) {
    let mid_rate = f64::from(from) * up as f64;
    let low = f64::from(from.min(to));
    let transition = (STOP - PASS) * low / mid_rate; // cycles per sample at the mid rate
    let cutoff = (PASS + STOP) / 2.0 * low / mid_rate;
    // Kaiser's formula for length and β
    let n_est = (ATTENUATION_DB - 7.95) / (14.36 * transition) + 1.0;
    let taps = (n_est / up as f64).ceil() as usize;
    let n = taps * up;
    let beta = 0.1102 * (ATTENUATION_DB - 8.7);
    let centre = (n as f64 - 1.0) / 2.0;
    let i0_beta = bessel_i0(beta);
    let proto: Vec<f64> = (0..n)
        .map(|k| {
            let t = k as f64 - centre;
            let x = 2.0 * cutoff * t;
            let sinc = if x.abs() < 1e-12 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let r = t / centre.max(0.5);
            let window = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            2.0 * cutoff * sinc * window * up as f64
        })
        .collect();
    // phase p, tap k: proto[p + k·up] applies to x[i - k]; store reversed in k
    let mut phases = vec![0.0f32; n];
    for p in 0..up {
        for k in 0..taps {
            phases[p * taps + (taps - 1 - k)] = proto[p + k * up] as f32;
        }
    }
    (phases, taps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::goertzel;

    fn tone(freq: f32, rate: u32, n: usize, amp: f32) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                (amp * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn ratios_and_refusals() {
        for (f, t) in [
            (8000, 48000),
            (48000, 8000),
            (8000, 16000),
            (16000, 8000),
            (16000, 48000),
        ] {
            assert!(Resampler::new(f, t).is_ok(), "{f}->{t}");
        }
        assert!(Resampler::new(44100, 8000).is_err());
        assert!(Resampler::new(0, 8000).is_err());
        let mut same = Resampler::new(8000, 8000).unwrap();
        let mut out = Vec::new();
        assert_eq!(same.process(&[1, 2, 3], &mut out), 3);
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn output_length_follows_the_ratio_across_odd_blocks() {
        for (f, t) in [
            (8000u32, 48000u32),
            (48000, 8000),
            (16000, 8000),
            (8000, 16000),
            (48000, 16000),
        ] {
            let mut r = Resampler::new(f, t).unwrap();
            let input = tone(440.0, f, 4801, 8000.0);
            let mut out = Vec::new();
            for block in input.chunks(37) {
                r.process(block, &mut out);
            }
            let expect = (input.len() as u64 * u64::from(t)).div_ceil(u64::from(f)) as usize;
            assert_eq!(out.len(), expect, "{f}->{t}");
        }
    }

    #[test]
    fn block_boundaries_do_not_change_the_output() {
        // state carries across calls: any split of the input gives the same samples
        let sizes = [1usize, 7, 160, 3, 959, 960, 2, 500];
        for (f, t) in [
            (8000u32, 48000u32),
            (48000, 8000),
            (16000, 8000),
            (48000, 16000),
        ] {
            let input = tone(1234.0, f, 5000, 12000.0);
            let mut whole = Vec::new();
            Resampler::new(f, t).unwrap().process(&input, &mut whole);
            let mut r = Resampler::new(f, t).unwrap();
            let mut split = Vec::new();
            let mut at = 0;
            for n in sizes.iter().cycle() {
                if at >= input.len() {
                    break;
                }
                let end = (at + n).min(input.len());
                r.process(&input[at..end], &mut split);
                at = end;
            }
            assert_eq!(split, whole, "{f}->{t}");
            // reset starts a fresh stream
            r.reset();
            let mut again = Vec::new();
            r.process(&input, &mut again);
            assert_eq!(again, whole, "{f}->{t} after reset");
        }
    }

    #[test]
    fn passband_tone_keeps_its_level_and_stopband_tone_is_removed() {
        // 48 kHz → 8 kHz: 1 kHz passes, 4.4 kHz (would alias to 3.6 kHz) is at least 60 dB down
        let mut r = Resampler::new(48000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&tone(1000.0, 48000, 48000, 10000.0), &mut out);
        let steady = &out[r.delay() + 100..];
        let a = goertzel::amplitude(steady, 1000.0, 8000);
        assert!((a - 10000.0).abs() < 300.0, "1 kHz amplitude {a}");

        let mut r = Resampler::new(48000, 8000).unwrap();
        let mut out = Vec::new();
        r.process(&tone(4400.0, 48000, 48000, 10000.0), &mut out);
        let rms = goertzel::rms(&out[r.delay() + 100..]);
        assert!(rms < 10.0, "aliased 4.4 kHz rms {rms}");
    }

    #[test]
    fn upsampling_leaves_no_images() {
        // 8 kHz → 48 kHz: a 1 kHz tone must not leave images at 7, 9 kHz
        let mut r = Resampler::new(8000, 48000).unwrap();
        let mut out = Vec::new();
        r.process(&tone(1000.0, 8000, 8000, 10000.0), &mut out);
        let steady = &out[r.delay() + 600..];
        let main = goertzel::amplitude(steady, 1000.0, 48000);
        assert!((main - 10000.0).abs() < 300.0, "{main}");
        for image in [7000.0, 9000.0, 15000.0, 17000.0] {
            let a = goertzel::amplitude(steady, image, 48000);
            assert!(a < 10.0, "image at {image}: {a}");
        }
        // a tone at the passband edge keeps its level and its image just above 4 kHz is gone
        let mut r = Resampler::new(8000, 48000).unwrap();
        let mut out = Vec::new();
        r.process(&tone(3200.0, 8000, 8000, 10000.0), &mut out);
        let steady = &out[r.delay() + 600..];
        let edge = goertzel::amplitude(steady, 3200.0, 48000);
        assert!((edge - 10000.0).abs() < 300.0, "{edge}");
        let image = goertzel::amplitude(steady, 4800.0, 48000);
        assert!(image < 10.0, "image at 4.8 kHz: {image}");
    }
}
