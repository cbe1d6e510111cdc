//! Codecs, transcoding, resampling and tones, through the public API: a known tone goes in,
//! and the same tone (frequency found by Goertzel, level within a tolerance, exact length)
//! must come out of every path.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard::media::audio::{Frame, FrameSource, FRAME_SAMPLES};
use switchboard::media::codec::{g711, CodecKind, Decoder, Encoder, Resampler, Transcoder};
use switchboard::media::goertzel;
use switchboard::media::tone::{self, Tone, ToneSet, ToneSpec, BEEP};

const PROBES: [f32; 6] = [400.0, 700.0, 1000.0, 1400.0, 2000.0, 3000.0];

/// Render a source to samples, at most `max_frames` frames.
fn render(src: &mut dyn FrameSource, max_frames: usize) -> Vec<i16> {
    let mut out = Vec::new();
    let mut f: Frame = [0; FRAME_SAMPLES];
    for _ in 0..max_frames {
        if !src.next_frame(&mut f) {
            break;
        }
        out.extend_from_slice(&f);
    }
    out
}

fn beep() -> Vec<i16> {
    let pcm = render(&mut Tone::new(&BEEP), 1000);
    assert_eq!(pcm.len(), 4000, "the beep is 0.5 s");
    pcm
}

/// Encode PCM as 20 ms payloads of `kind`.
fn encode_all(kind: CodecKind, pcm: &[i16]) -> Vec<Vec<u8>> {
    let mut enc = Encoder::new(kind).unwrap();
    pcm.chunks_exact(FRAME_SAMPLES)
        .map(|c| {
            let mut frame: Frame = [0; FRAME_SAMPLES];
            frame.copy_from_slice(c);
            let mut p = Vec::new();
            enc.encode(&frame, &mut p).unwrap();
            p
        })
        .collect()
}

fn decode_all(kind: CodecKind, payloads: &[Vec<u8>]) -> Vec<i16> {
    let mut dec = Decoder::new(kind).unwrap();
    let mut pcm = Vec::new();
    for p in payloads {
        dec.decode(p, &mut pcm).unwrap();
    }
    pcm
}

fn transcode_all(from: CodecKind, to: CodecKind, payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut t = Transcoder::new(from, to).unwrap();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for p in payloads {
        t.push(p).unwrap();
        while let Some(pkt) = t.pop(&mut buf).unwrap() {
            assert_eq!(pkt.timestamp_increment, to.rtp_ticks_per_frame());
            assert_eq!(pkt.len, buf.len());
            out.push(buf.clone());
        }
    }
    out
}

/// The 1 kHz beep is there: dominant among the probes, amplitude within `tol` of the input's.
fn assert_is_the_beep(pcm: &[i16], skip: usize, tol: f64, what: &str) {
    let expect = f64::from(tone::amplitude_of_dbm0(BEEP.level_dbm0));
    let steady = &pcm[skip..pcm.len() - skip];
    let (idx, _) = goertzel::dominant(steady, &PROBES, 8000).unwrap();
    assert_eq!(PROBES[idx], 1000.0, "{what}: dominant frequency");
    let a = goertzel::amplitude(steady, 1000.0, 8000);
    assert!(
        (a - expect).abs() <= expect * tol,
        "{what}: 1 kHz amplitude {a:.0}, expected {expect:.0} ± {:.0}%",
        tol * 100.0
    );
    assert!(
        goertzel::purity(steady, &[1000.0], 8000) > 0.9,
        "{what}: noisy"
    );
}

#[test]
fn all_256_g711_codes_round_trip_through_linear() {
    for b in 0..=255u8 {
        assert_eq!(g711::alaw_encode(g711::alaw_decode(b)), b);
        let back = g711::ulaw_encode(g711::ulaw_decode(b));
        assert_eq!(back, if b == 0x7F { 0xFF } else { b }, "{b:#04x}");
    }
    // ITU-T G.711 reference points (16-bit scale)
    assert_eq!(g711::ulaw_decode(0x80), 32124);
    assert_eq!(g711::ulaw_decode(0x00), -32124);
    assert_eq!(g711::ulaw_decode(0xFF), 0);
    assert_eq!(g711::alaw_decode(0xAA), 32256);
    assert_eq!(g711::alaw_decode(0x2A), -32256);
    assert_eq!(g711::alaw_decode(0xD5), 8);
}

#[test]
fn beep_survives_ulaw_to_alaw_and_back() {
    let pcm = beep();
    let mu = encode_all(CodecKind::Pcmu, &pcm);
    let a = transcode_all(CodecKind::Pcmu, CodecKind::Pcma, &mu);
    assert_eq!(a.len(), 25);
    assert!(a.iter().all(|p| p.len() == 160));
    let out = decode_all(CodecKind::Pcma, &a);
    assert_eq!(out.len(), pcm.len());
    assert_is_the_beep(&out, 0, 0.03, "µ→A");

    let mu2 = transcode_all(CodecKind::Pcma, CodecKind::Pcmu, &a);
    let out = decode_all(CodecKind::Pcmu, &mu2);
    assert_eq!(out.len(), pcm.len());
    assert_is_the_beep(&out, 0, 0.03, "µ→A→µ");
}

#[test]
fn beep_survives_g711_to_opus_and_back() {
    let pcm = beep();
    let mu = encode_all(CodecKind::Pcmu, &pcm);
    let opus = transcode_all(CodecKind::Pcmu, CodecKind::Opus, &mu);
    assert_eq!(opus.len(), 25);
    assert!(
        opus.iter().all(|p| !p.is_empty() && p.len() < 160),
        "Opus compresses"
    );
    let back = transcode_all(CodecKind::Opus, CodecKind::Pcmu, &opus);
    assert_eq!(back.len(), 25);
    let out = decode_all(CodecKind::Pcmu, &back);
    assert_eq!(out.len(), pcm.len());
    // skip the codec's start-up (lookahead and the first frames' adaptation)
    assert_is_the_beep(&out, 5 * FRAME_SAMPLES, 0.10, "µ→Opus→µ");
    assert!(goertzel::rms(&out) > 500.0, "not silence");
}

/// What a browser sends: 48 kHz stereo Opus, here in `ms`-long packets of a 1 kHz tone.
fn browser_opus(ms: usize, packets: usize) -> Vec<Vec<u8>> {
    use audiopus::{coder::Encoder as LibEncoder, Application, Channels, SampleRate};
    let enc = LibEncoder::new(SampleRate::Hz48000, Channels::Stereo, Application::Audio).unwrap();
    let per_packet = 48 * ms;
    let amp = f64::from(tone::amplitude_of_dbm0(BEEP.level_dbm0));
    (0..packets)
        .map(|p| {
            let pcm: Vec<i16> = (0..per_packet * 2)
                .map(|i| {
                    let n = (p * per_packet + i / 2) as f64;
                    (amp * (2.0 * std::f64::consts::PI * 1000.0 * n / 48000.0).sin()) as i16
                })
                .collect();
            let mut out = vec![0u8; 4000];
            let len = enc.encode(&pcm, &mut out).unwrap();
            out.truncate(len);
            out
        })
        .collect()
}

#[test]
fn wideband_stereo_opus_of_10_40_60_ms_decodes_to_8k_mono_of_its_duration() {
    for ms in [10usize, 20, 40, 60] {
        let packets = browser_opus(ms, 600 / ms);
        let mut dec = Decoder::new(CodecKind::Opus).unwrap();
        let mut out = Vec::new();
        for p in &packets {
            assert_eq!(dec.decode(p, &mut out).unwrap(), 8 * ms, "{ms} ms");
        }
        assert_eq!(out.len(), 4800);
        assert_is_the_beep(&out, 800, 0.10, &format!("48k stereo Opus {ms} ms"));

        // and re-framed to 20 ms G.711
        let g711 = transcode_all(CodecKind::Opus, CodecKind::Pcma, &packets);
        assert_eq!(g711.len(), 30, "{ms} ms");
    }
}

/// Silence for 10 frames, then the beep: the onset is what concealment cannot guess.
const LOST: usize = 11;

fn silence_then_beep() -> Vec<i16> {
    let mut pcm = vec![0i16; 10 * FRAME_SAMPLES];
    pcm.extend(beep());
    pcm
}

/// Decoded output of the Opus stream of [`silence_then_beep`] with packet 11 lost — the
/// first frame that is all beep after the codec's ~100-sample delay, while frame 10 is mostly
/// silence. Recovered by the transcoder (FEC from packet 12) or by plain concealment.
fn lose_packet_11(recover_with_fec: bool) -> Vec<i16> {
    let opus = encode_all(CodecKind::Opus, &silence_then_beep());
    let mut t = Transcoder::new(CodecKind::Opus, CodecKind::Pcmu).unwrap();
    let mut dec = Decoder::new(CodecKind::Opus).unwrap();
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for (seq, p) in opus.iter().enumerate() {
        if seq == LOST {
            if !recover_with_fec {
                dec.conceal(FRAME_SAMPLES, &mut out).unwrap();
            }
            continue;
        }
        if recover_with_fec {
            t.push_rtp(seq as u16, p).unwrap();
            while t.pop(&mut payload).unwrap().is_some() {
                Decoder::new(CodecKind::Pcmu)
                    .unwrap()
                    .decode(&payload, &mut out)
                    .unwrap();
            }
        } else {
            dec.decode(p, &mut out).unwrap();
        }
    }
    out
}

#[test]
fn a_lost_opus_packet_is_rebuilt_from_the_next_packets_fec() {
    let with_fec = lose_packet_11(true);
    let plc_only = lose_packet_11(false);
    assert_eq!(with_fec.len(), 35 * FRAME_SAMPLES, "timing kept");
    assert_eq!(plc_only.len(), 35 * FRAME_SAMPLES);
    let expect = f64::from(tone::amplitude_of_dbm0(BEEP.level_dbm0));
    let lost = LOST * FRAME_SAMPLES..(LOST + 1) * FRAME_SAMPLES;
    let fec = goertzel::amplitude(&with_fec[lost.clone()], 1000.0, 8000);
    let plc = goertzel::amplitude(&plc_only[lost], 1000.0, 8000);
    // concealment extrapolates the weak onset before; FEC carries the frame itself
    // (measured: FEC ≈ 1.0, PLC ≈ 0.5 of the level)
    assert!(fec > 0.8 * expect, "FEC rebuilt {fec:.0} of {expect:.0}");
    assert!(plc < 0.65 * expect, "PLC guessed {plc:.0}");
    assert!(
        goertzel::dominant(&with_fec[LOST * FRAME_SAMPLES..], &PROBES, 8000).map(|d| PROBES[d.0])
            == Some(1000.0)
    );
}

#[test]
fn beep_survives_8k_to_48k_to_8k() {
    let pcm = beep();
    let mut up = Resampler::new(8000, 48000).unwrap();
    let mut down = Resampler::new(48000, 8000).unwrap();
    let mut wide = Vec::new();
    let mut out = Vec::new();
    // frame by frame, as a session would
    for frame in pcm.chunks(FRAME_SAMPLES) {
        let start = wide.len();
        assert_eq!(up.process(frame, &mut wide), 960);
        assert_eq!(down.process(&wide[start..], &mut out), FRAME_SAMPLES);
    }
    assert_eq!(wide.len(), 24000);
    assert_eq!(out.len(), pcm.len());
    // 1 kHz in the 48 kHz signal
    let d = up.delay() + 960;
    let a48 = goertzel::amplitude(&wide[d..wide.len() - 960], 1000.0, 48000);
    let expect = f64::from(tone::amplitude_of_dbm0(BEEP.level_dbm0));
    assert!((a48 - expect).abs() < expect * 0.03, "{a48}");
    let delay = up.delay() / 6 + down.delay();
    assert_is_the_beep(&out[delay..], FRAME_SAMPLES, 0.01, "8k→48k→8k");
}

#[test]
fn sixteen_khz_prompts_resample_to_8k() {
    let pcm16: Vec<i16> = (0..16000)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 16000.0).sin()) as i16)
        .collect();
    let mut r = Resampler::new(16000, 8000).unwrap();
    let mut out = Vec::new();
    r.process(&pcm16, &mut out);
    assert_eq!(out.len(), 8000);
    let steady = &out[r.delay() + 160..];
    assert!((goertzel::amplitude(steady, 1000.0, 8000) - 8000.0).abs() < 240.0);
}

#[test]
fn garbage_opus_payloads_are_errors_not_panics() {
    let mut dec = Decoder::new(CodecKind::Opus).unwrap();
    let mut t = Transcoder::new(CodecKind::Opus, CodecKind::Pcma).unwrap();
    let mut pcm = Vec::new();
    // invalid per RFC 6716 §3.4: code 3 with M = 0; code 1 (two equal frames) with an odd remainder
    assert!(dec.decode(&[0x03, 0x00], &mut pcm).is_err());
    assert!(dec.decode(&[0x01, 0xAA], &mut pcm).is_err());
    assert!(t.push(&[0x03, 0x00]).is_err());
    assert!(dec.decode(&[], &mut pcm).is_err());
    assert!(pcm.is_empty());
    // and random bytes never panic, never over-produce
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut errors = 0;
    for _ in 0..3000 {
        let len = rng.random_range(1..300);
        let payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        pcm.clear();
        match dec.decode(&payload, &mut pcm) {
            Ok(n) => assert!(n == pcm.len() && n <= 960),
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0, "some random payloads must be refused");
}

// ---- tone cadences ----

/// Check a cadence sample by sample at every boundary over `cycles` cycles: the 40 samples
/// before an on→off boundary carry the tone, the 40 after are exactly zero (and the reverse).
fn assert_cadence(spec: &ToneSpec, cycles: usize) {
    let cycle: usize = spec.cadence_ms.iter().map(|&ms| ms as usize * 8).sum();
    let total = cycle * cycles;
    let pcm = render(&mut Tone::new(spec), total.div_ceil(FRAME_SAMPLES) + 1);
    assert!(pcm.len() >= total);
    let freqs: Vec<f32> = spec.frequencies.iter().map(|&f| f32::from(f)).collect();
    let mut at = 0;
    for c in 0..cycles {
        for (i, &ms) in spec.cadence_ms.iter().enumerate() {
            let len = ms as usize * 8;
            let seg = &pcm[at..at + len];
            let what = format!("{:?} cycle {c} segment {i} at sample {at}", spec.cadence_ms);
            if i % 2 == 0 {
                assert!(goertzel::rms(&seg[..40]) > 100.0, "{what}: on at start");
                assert!(goertzel::rms(&seg[len - 40..]) > 100.0, "{what}: on at end");
                assert!(
                    goertzel::purity(seg, &freqs, 8000) > 0.9,
                    "{what}: frequencies"
                );
            } else {
                assert!(seg.iter().all(|&s| s == 0), "{what}: off");
            }
            at += len;
        }
    }
}

#[test]
fn us_uk_eu_cadences_are_sample_exact() {
    for country in ["us", "uk", "eu"] {
        let set = ToneSet::for_country(country).unwrap();
        for spec in [set.ringback, set.busy, set.congestion] {
            assert_cadence(&spec, 2);
        }
    }
}

#[test]
fn dial_tones_are_continuous() {
    for country in ["us", "uk", "eu"] {
        let spec = ToneSet::for_country(country).unwrap().dial;
        let freqs: Vec<f32> = spec.frequencies.iter().map(|&f| f32::from(f)).collect();
        let mut t = Tone::new(&spec);
        let pcm = render(&mut t, 500);
        assert_eq!(pcm.len(), 500 * FRAME_SAMPLES, "{country}: never ends");
        for w in pcm.chunks(400) {
            assert!(goertzel::purity(w, &freqs, 8000) > 0.9, "{country}");
        }
    }
}

#[test]
fn us_ringback_turns_at_frame_100_and_300() {
    let set = ToneSet::for_country("us").unwrap();
    assert_eq!(set.ringback.frequencies, &[440, 480]);
    let mut t = Tone::new(&set.ringback);
    let mut f: Frame = [0; FRAME_SAMPLES];
    for n in 0..600 {
        assert!(t.next_frame(&mut f));
        let on = f.iter().any(|&s| s != 0);
        let expect = n % 300 < 100;
        assert_eq!(on, expect, "frame {n}");
        if expect {
            assert!(
                goertzel::purity(&f, &[440.0, 480.0], 8000) > 0.8,
                "frame {n}"
            );
        }
    }
}

#[test]
fn uk_congestion_turns_mid_frame() {
    // 400 ms on, 350 off, 225 on (ends at sample 7800 = frame 48 + 120), 525 off
    let set = ToneSet::for_country("uk").unwrap();
    let pcm = render(&mut Tone::new(&set.congestion), 100);
    assert!(pcm[3200..6000].iter().all(|&s| s == 0));
    assert!(goertzel::rms(&pcm[7760..7800]) > 100.0);
    assert!(pcm[7800..12000].iter().all(|&s| s == 0));
    assert!(goertzel::rms(&pcm[12000..12040]) > 100.0, "repeats");
}

#[test]
fn beep_is_half_a_second_once() {
    let mut t = Tone::new(&BEEP);
    let pcm = render(&mut t, 1000);
    assert_eq!(pcm.len(), 4000);
    let mut f: Frame = [0; FRAME_SAMPLES];
    assert!(!t.next_frame(&mut f));
    assert_is_the_beep(&pcm, 0, 0.01, "beep");
}

#[test]
fn dtmf_digits_are_detected_by_goertzel() {
    const LOW: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
    const HIGH: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let digits = "123A456B789C*0#D";
    let pcm = render(&mut Tone::dtmf(digits, 80, 40, -6.0).unwrap(), 1000);
    assert_eq!(pcm.len(), digits.len() * 960);
    for (i, d) in digits.chars().enumerate() {
        let on = &pcm[i * 960..i * 960 + 640];
        let off = &pcm[i * 960 + 640..(i + 1) * 960];
        let (lo, hi) = tone::dtmf_frequencies(d).unwrap();
        let l = goertzel::dominant(on, &LOW, 8000).unwrap().0;
        let h = goertzel::dominant(on, &HIGH, 8000).unwrap().0;
        assert_eq!(
            (LOW[l], HIGH[h]),
            (f32::from(lo), f32::from(hi)),
            "digit {d}"
        );
        assert!(off.iter().all(|&s| s == 0));
    }
}
