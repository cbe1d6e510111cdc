//! Per-packet cost of the codec building blocks: G.711 and Opus encode/decode of one 20 ms
//! frame, the transcoder per packet (G.711 ↔ Opus, µ ↔ A), the resampler per frame and a
//! tone frame. Run with `cargo bench --bench codec`; divide 20 ms by a figure for how many
//! streams one core could carry.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::media::audio::{Frame, FrameSource, FRAME_SAMPLES};
use switchboard::media::codec::{CodecKind, Decoder, Encoder, Resampler, Transcoder};
use switchboard::media::tone::{Tone, US};

/// A frame of speech-like signal (two tones plus a little noise-ish modulation).
fn frame(k: usize) -> Frame {
    std::array::from_fn(|i| {
        let n = (k * FRAME_SAMPLES + i) as f32 / 8000.0;
        let v = 6000.0 * (2.0 * std::f32::consts::PI * 310.0 * n).sin()
            + 3000.0 * (2.0 * std::f32::consts::PI * 1270.0 * n).sin() * (7.0 * n).cos();
        v as i16
    })
}

fn payloads(kind: CodecKind, count: usize) -> Vec<Vec<u8>> {
    let mut enc = Encoder::new(kind).unwrap();
    (0..count)
        .map(|k| {
            let mut p = Vec::new();
            enc.encode(&frame(k), &mut p).unwrap();
            p
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec_20ms");
    for kind in CodecKind::ALL {
        let name = kind.encoding_name();
        let mut enc = Encoder::new(kind).unwrap();
        let f = frame(3);
        let mut out = Vec::with_capacity(1500);
        g.bench_function(format!("{name}_encode"), |b| {
            b.iter(|| enc.encode(black_box(&f), &mut out).unwrap())
        });
        let ps = payloads(kind, 50);
        let mut dec = Decoder::new(kind).unwrap();
        let mut pcm = Vec::with_capacity(960);
        let mut i = 0;
        g.bench_function(format!("{name}_decode"), |b| {
            b.iter(|| {
                pcm.clear();
                i = (i + 1) % ps.len();
                dec.decode(black_box(&ps[i]), &mut pcm).unwrap()
            })
        });
    }
    g.finish();
}

fn transcode(c: &mut Criterion) {
    let mut g = c.benchmark_group("transcode_packet");
    let pairs = [
        (CodecKind::Pcmu, CodecKind::Pcma),
        (CodecKind::Pcmu, CodecKind::Opus),
        (CodecKind::Opus, CodecKind::Pcmu),
    ];
    for (from, to) in pairs {
        let ps = payloads(from, 50);
        let mut t = Transcoder::new(from, to).unwrap();
        let mut out = Vec::with_capacity(1500);
        let mut i = 0;
        g.bench_function(
            format!("{}_to_{}", from.encoding_name(), to.encoding_name()),
            |b| {
                b.iter(|| {
                    i = (i + 1) % ps.len();
                    t.push(black_box(&ps[i])).unwrap();
                    t.pop(&mut out).unwrap()
                })
            },
        );
    }
    g.finish();
}

fn resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample_20ms");
    for (from, to) in [
        (8000u32, 48000u32),
        (48000, 8000),
        (16000, 8000),
        (8000, 16000),
    ] {
        let mut r = Resampler::new(from, to).unwrap();
        let n = from as usize / 50;
        let input: Vec<i16> = (0..n).map(|i| frame(0)[i % FRAME_SAMPLES]).collect();
        let mut out = Vec::with_capacity(1000);
        g.bench_function(format!("{from}_to_{to}"), |b| {
            b.iter(|| {
                out.clear();
                r.process(black_box(&input), &mut out)
            })
        });
    }
    g.finish();
}

fn tones(c: &mut Criterion) {
    let mut t = Tone::new(&US.ringback);
    let mut f: Frame = [0; FRAME_SAMPLES];
    c.bench_function("tone_frame_us_ringback", |b| {
        b.iter(|| t.next_frame(black_box(&mut f)))
    });
}

criterion_group!(benches, codecs, transcode, resample, tones);
criterion_main!(benches);
