//! Media applications keep the relay's per-packet path allocation-free: with a prompt
//! playing, the call recording, a tap listening and the audio transcoded, a counting global
//! allocator sees no allocation once everything has warmed up (first packets, first frames).
//! Phones, relay task and recorder thread all run here; the phones' code is allocation-free.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use switchboard::media::audio::{AudioTap, Frame};
use switchboard::media::codec::CodecKind;
use switchboard::media::prompt::Prompt;
use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RemoteMedia};
use tokio::net::UdpSocket;

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

struct CountingTap(Arc<AtomicU64>);

impl AudioTap for CountingTap {
    fn on_frame(&mut self, _leg: Leg, _at: Duration, _frame: &Frame) {
        self.0.fetch_add(1, Relaxed);
    }
}

fn packet(buf: &mut [u8; 172], pt: u8, seq: u16) {
    buf[0] = 0x80;
    buf[1] = pt;
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    buf[8..12].copy_from_slice(&[0, 0, 0, 7]);
    for (i, b) in buf[12..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37);
    }
}

async fn recv(s: &UdpSocket, buf: &mut [u8]) -> usize {
    tokio::time::timeout(Duration::from_secs(2), s.recv(buf))
        .await
        .expect("relayed packet")
        .unwrap()
}

/// Empty a socket's queue without waiting; returns how many packets were in it.
fn drain(s: &UdpSocket, buf: &mut [u8]) -> u64 {
    let mut n = 0;
    while s.try_recv(buf).is_ok() {
        n += 1;
    }
    n
}

#[tokio::test]
async fn playing_recording_tapping_and_transcoding_do_not_allocate_per_packet() {
    let engine = MediaEngine::new(MediaConfig::new(
        "127.0.0.1".parse().unwrap(),
        22450..=22459,
    ))
    .unwrap();
    let id = MediaCallId::from("alloc-apps");
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let media = |s: &UdpSocket, pt: u8, kind| RemoteMedia {
        rtp: Some(s.local_addr().unwrap()),
        codec: Some(kind),
        payload_type: Some(pt),
        codecs: vec![(pt, kind)],
        ..Default::default()
    };
    // A speaks µ-law, B only A-law: A's audio is transcoded on its way to B
    let ep_a = engine
        .offer_media(&id, Leg::A, media(&a, 0, CodecKind::Pcmu))
        .unwrap();
    engine
        .offer_media(&id, Leg::B, media(&b, 8, CodecKind::Pcma))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    engine.record_start(&id, &dir.path().join("r.wav")).unwrap();
    let frames = Arc::new(AtomicU64::new(0));
    engine
        .tap(&id, Leg::A, Box::new(CountingTap(frames.clone())))
        .unwrap();
    let music: Vec<i16> = (0..1000).map(|i| ((i * 97) % 2000) as i16).collect();
    engine
        .play(&id, Leg::A, Prompt::from_samples(music).looping(), 1)
        .unwrap();

    let (mut out, mut inb) = ([0u8; 172], [0u8; 2048]);
    let mut round = |seq: u16| {
        packet(&mut out, 0, seq);
        out
    };
    let mut played = 0;
    for seq in 0..50u16 {
        a.send_to(&round(seq), ep_a.rtp).await.unwrap();
        recv(&b, &mut inb).await;
        played += drain(&a, &mut inb);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let before = ALLOCATIONS.load(Relaxed);
    for seq in 50..250u16 {
        a.send_to(&round(seq), ep_a.rtp).await.unwrap();
        recv(&b, &mut inb).await;
        played += drain(&a, &mut inb);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let during = ALLOCATIONS.load(Relaxed) - before;
    // Process-wide counter (harness and runtime may allocate a few times under load); one
    // allocation per packet would be 200 or more.
    assert!(during < 4, "{during} allocations in 200 packets");
    let s = engine.stats(&id).unwrap();
    assert_eq!(s.leg(Leg::A).transcoded, 250);
    assert_eq!(frames.load(Relaxed), 250, "the tap heard every frame");
    assert!(
        played > 10,
        "the prompt played meanwhile ({played} packets)"
    );
}
