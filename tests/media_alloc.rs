//! The relay's per-packet path does not allocate: a counting global allocator watches
//! a steady stream relayed both ways (phones and relay share one current-thread runtime,
//! and the phones' own code here is allocation-free too).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

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

fn packet(buf: &mut [u8; 172], pt: u8, seq: u16) {
    buf[0] = 0x80;
    buf[1] = pt;
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    buf[8..12].copy_from_slice(&[0, 0, 0, 7]);
}

async fn recv(s: &UdpSocket, buf: &mut [u8]) -> usize {
    tokio::time::timeout(Duration::from_secs(2), s.recv(buf))
        .await
        .expect("relayed packet")
        .unwrap()
}

#[tokio::test]
async fn relaying_rtp_and_telephone_events_does_not_allocate() {
    let engine = MediaEngine::new(MediaConfig::new(
        "127.0.0.1".parse().unwrap(),
        22200..=22209,
    ))
    .unwrap();
    let id = MediaCallId::from("alloc");
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let media = |s: &UdpSocket, pt| RemoteMedia {
        rtp: Some(s.local_addr().unwrap()),
        telephone_event: Some(pt),
        ..Default::default()
    };
    let ep_a = engine.offer_media(&id, Leg::A, media(&a, 101)).unwrap();
    let ep_b = engine.offer_media(&id, Leg::B, media(&b, 96)).unwrap();
    let (mut out, mut inb) = ([0u8; 172], [0u8; 2048]);
    let mut round = |seq: u16, pt: u8| {
        packet(&mut out, pt, seq);
        out
    };
    // warm up: first packets latch, grow nothing afterwards
    for seq in 0..50u16 {
        a.send_to(&round(seq, 0), ep_a.rtp).await.unwrap();
        recv(&b, &mut inb).await;
        b.send_to(&round(seq, 8), ep_b.rtp).await.unwrap();
        recv(&a, &mut inb).await;
    }
    let before = ALLOCATIONS.load(Relaxed);
    for seq in 50..550u16 {
        // every 50th packet a telephone-event (PT remapped 101 → 96 in place)
        let pt = if seq % 50 == 0 { 101 } else { 0 };
        a.send_to(&round(seq, pt), ep_a.rtp).await.unwrap();
        recv(&b, &mut inb).await;
        b.send_to(&round(seq, 8), ep_b.rtp).await.unwrap();
        recv(&a, &mut inb).await;
    }
    let during = ALLOCATIONS.load(Relaxed) - before;
    // The counter is process-wide: the test harness's threads and the runtime's own
    // queues (growing under a loaded machine) may allocate a few times meanwhile. One
    // allocation per packet would be 1000 or more; allow at most one per hundred.
    assert!(
        during < 10,
        "{during} allocations while relaying 1000 packets"
    );
    assert_eq!(engine.stats(&id).unwrap().leg(Leg::A).packets_in, 550);
}
