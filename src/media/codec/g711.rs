//! G.711 companding (ITU-T G.711 (11/88), tables 1a/1b and 2a/2b): µ-law (PCMU, RTP static
//! payload type 0) and A-law (PCMA, payload type 8), RFC 3551 §4.5.14.
//!
//! The arithmetic is the classic reference (Sun's public-domain `g711.c`, the one SoX,
//! Asterisk and FreeSWITCH derive from): 16-bit linear in, the top 14 (µ-law) or 13 (A-law)
//! bits are companded. Encoding finds the segment from the position of the leading one bit;
//! decoding is a 256-entry table built at compile time. Both are total functions: every
//! `i16` encodes and every byte decodes, so no G.711 payload can be "invalid".
//!
//! Transcoding µ-law ↔ A-law goes through linear (what G.711 Appendix does too); the code
//! pairs that do not round-trip exactly differ by one quantisation step.

/// Added to the magnitude before µ-law segment search (0x84 in 16-bit scale, 0x21 in 14-bit).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude µ-law represents before the bias.
const ULAW_CLIP: i32 = 8159;

/// Encode one linear sample to µ-law.
pub fn ulaw_encode(s: i16) -> u8 {
    let mut v = i32::from(s) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    let v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    // segment s holds magnitudes up to (0x40 << s) - 1
    let bits = 32 - v.leading_zeros() as i32;
    let seg = (bits - 6).max(0);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let code = ((seg << 4) | ((v >> (seg + 1)) & 0x0F)) as u8;
    code ^ mask
}

/// Decode one µ-law byte to linear.
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_TABLE[usize::from(b)]
}

/// Encode one linear sample to A-law.
pub fn alaw_encode(s: i16) -> u8 {
    let v = i32::from(s) >> 3;
    let (mask, v) = if v >= 0 {
        (0xD5u8, v)
    } else {
        (0x55u8, -v - 1)
    };
    // segment s holds magnitudes up to (0x20 << s) - 1; v <= 4095 so s <= 7
    let bits = 32 - v.leading_zeros() as i32;
    let seg = (bits - 5).max(0);
    let mantissa = if seg < 2 { v >> 1 } else { v >> seg } & 0x0F;
    let code = ((seg << 4) | mantissa) as u8;
    code ^ mask
}

/// Decode one A-law byte to linear.
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_TABLE[usize::from(b)]
}

const fn ulaw_to_linear(b: u8) -> i16 {
    let u = !b;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_to_linear(b: u8) -> i16 {
    let a = b ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = if alaw {
            alaw_to_linear(i as u8)
        } else {
            ulaw_to_linear(i as u8)
        };
        i += 1;
    }
    out
}

static ULAW_TABLE: [i16; 256] = table(false);
static ALAW_TABLE: [i16; 256] = table(true);

/// Encode samples to µ-law into `out` (appended).
pub fn ulaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| ulaw_encode(s)));
}

/// Encode samples to A-law into `out` (appended).
pub fn alaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| alaw_encode(s)));
}

/// Decode µ-law bytes into `out` (appended).
pub fn ulaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| ulaw_decode(b)));
}

/// Decode A-law bytes into `out` (appended).
pub fn alaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| alaw_decode(b)));
}

/// µ-law byte to the A-law byte of the same linear value (re-quantised).
pub fn ulaw_to_alaw(b: u8) -> u8 {
    alaw_encode(ulaw_decode(b))
}

/// A-law byte to the µ-law byte of the same linear value (re-quantised).
pub fn alaw_to_ulaw(b: u8) -> u8 {
    ulaw_encode(alaw_decode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_points() {
        // G.711 table 2a: 0xFF and 0x7F are +0 and -0; 0x80/0x00 the extremes.
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xF0), 120);
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(-1), 0x7E); // Sun g711.c: magnitude 1, the first negative step
    }

    #[test]
    fn alaw_reference_points() {
        // G.711 table 1a: even bits inverted (0x55), 0xD5/0x55 the smallest steps.
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            let u = ulaw_encode(ulaw_decode(b));
            // the two zeros of µ-law both decode to 0, which encodes as +0
            let expect = if b == 0x7F { 0xFF } else { b };
            assert_eq!(u, expect, "µ-law {b:#04x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#04x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_error_bounded() {
        let mut prev_u = ulaw_decode(ulaw_encode(i16::MIN));
        let mut prev_a = alaw_decode(alaw_encode(i16::MIN));
        for s in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {s}");
            prev_u = u;
            prev_a = a;
            // decoders reconstruct mid-step: error within half the top step (1024) plus
            // the bits dropped before companding (2 for µ-law, 3 for A-law)
            let (s, u, a) = (i32::from(s), i32::from(u), i32::from(a));
            if s.abs() < 32000 {
                assert!((s - u).abs() <= 512 + 4, "µ-law error at {s}: {u}");
                assert!((s - a).abs() <= 512 + 8, "A-law error at {s}: {a}");
            }
            // relative error of a logarithmic code: under ~6.5% above the linear segments
            if s.abs() > 1024 && s.abs() < 32000 {
                assert!((s - u).abs() * 100 <= s.abs() * 7, "µ-law at {s}: {u}");
                assert!((s - a).abs() * 100 <= s.abs() * 7, "A-law at {s}: {a}");
            }
        }
    }

    #[test]
    fn cross_law_conversion_stays_within_one_step() {
        for b in 0..=255u8 {
            let lin = i32::from(ulaw_decode(b));
            let via_a = i32::from(alaw_decode(ulaw_to_alaw(b)));
            assert!((lin - via_a).abs() <= (lin.abs() / 16).max(16), "{b:#04x}");
            let lin = i32::from(alaw_decode(b));
            let via_u = i32::from(ulaw_decode(alaw_to_ulaw(b)));
            assert!((lin - via_u).abs() <= (lin.abs() / 16).max(16), "{b:#04x}");
        }
    }
}
