//! The codec hot path allocates nothing per packet once warm: decode, encode, transcode
//! (every pair, 10/20/30 ms input), resample and tone frames, counted by a global allocator.
//! (libopus's own C-side memory is not counted; it is allocated at `opus_*_create` only.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use switchboard::media::audio::{Frame, FrameSource, FRAME_SAMPLES};
use switchboard::media::codec::{CodecKind, Decoder, Encoder, Resampler, Transcoder};
use switchboard::media::tone::{Tone, UK};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn frame(k: usize) -> Frame {
    std::array::from_fn(|i| (((k * FRAME_SAMPLES + i) as f32 * 0.37).sin() * 9000.0) as i16)
}

/// Run `step` for 60 warm-up rounds (every packet size once), then count allocations over
/// `rounds` more.
fn allocations(rounds: usize, mut step: impl FnMut(usize)) -> u64 {
    const WARM_UP: usize = 60;
    for k in 0..WARM_UP {
        step(k);
    }
    let before = ALLOCATIONS.load(Relaxed);
    for k in WARM_UP..WARM_UP + rounds {
        step(k);
    }
    ALLOCATIONS.load(Relaxed) - before
}

// One test function: the counter is global, so nothing else may run beside it.
#[test]
fn no_allocation_per_packet_after_warm_up() {
    for from in CodecKind::ALL {
        // payloads of 10, 20 and 30 ms for G.711 (Opus: 20 ms from our encoder)
        let mut enc = Encoder::new(from).unwrap();
        let mut packets: Vec<Vec<u8>> = Vec::new();
        for k in 0..60 {
            let mut p = Vec::new();
            enc.encode(&frame(k), &mut p).unwrap();
            packets.push(p);
        }
        if from != CodecKind::Opus {
            let joined: Vec<u8> = packets.concat();
            packets = joined
                .chunks(80)
                .take(20)
                .chain(joined.chunks(240).take(20))
                .chain(joined.chunks(160).take(20))
                .map(<[u8]>::to_vec)
                .collect();
        }

        let mut dec = Decoder::new(from).unwrap();
        let mut pcm = Vec::new();
        let n = allocations(200, |k| {
            pcm.clear();
            dec.decode(&packets[k % packets.len()], &mut pcm).unwrap();
        });
        assert_eq!(n, 0, "{from:?} decode");

        let mut out = Vec::new();
        let n = allocations(200, |k| {
            enc.encode(&frame(k), &mut out).unwrap();
        });
        assert_eq!(n, 0, "{from:?} encode");

        for to in CodecKind::ALL {
            let mut t = Transcoder::new(from, to).unwrap();
            let mut out = Vec::new();
            let n = allocations(120, |k| {
                t.push(&packets[k % packets.len()]).unwrap();
                while t.pop(&mut out).unwrap().is_some() {}
                if k % 40 == 0 {
                    t.push_loss(480).unwrap();
                }
            });
            assert_eq!(n, 0, "{from:?} → {to:?} transcode");
        }
    }

    for (from, to) in [
        (8000u32, 48000u32),
        (48000, 8000),
        (16000, 8000),
        (8000, 16000),
    ] {
        let mut r = Resampler::new(from, to).unwrap();
        let input: Vec<i16> = (0..from as usize / 50).map(|i| (i as i16) * 7).collect();
        let mut out = Vec::new();
        let n = allocations(60, |k| {
            out.clear();
            // odd block sizes too
            let len = if k % 3 == 0 {
                input.len() - 1
            } else {
                input.len()
            };
            r.process(&input[..len], &mut out);
        });
        assert_eq!(n, 0, "resample {from} → {to}");
    }

    let mut tone = Tone::new(&UK.congestion);
    let mut f: Frame = [0; FRAME_SAMPLES];
    let n = allocations(500, |_| {
        tone.next_frame(&mut f);
    });
    assert_eq!(n, 0, "tone");
}
