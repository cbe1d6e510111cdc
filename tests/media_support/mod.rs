//! What the relay's integration tests share: calls between test phones, a bounded receive
//! and a bounded wait.

#![allow(dead_code)] // each test binary uses its share

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard::media::kernel::{machine_refuses, KernelForwarder};
use switchboard::media::{Leg, LocalEndpoint, MediaCallId, MediaEngine};
use tokio::net::UdpSocket;

/// One call between two test phones: its id, phone A and B, and where each must send.
pub type TestCall = (
    MediaCallId,
    UdpSocket,
    UdpSocket,
    LocalEndpoint,
    LocalEndpoint,
);

/// One call between two test phones, by name: the engine, the call, phone A and B, and
/// where each must send.
pub struct Call {
    pub engine: MediaEngine,
    pub id: MediaCallId,
    pub a: UdpSocket,
    pub b: UdpSocket,
    pub ep_a: LocalEndpoint,
    pub ep_b: LocalEndpoint,
}

/// `n` calls named `{prefix}{k}`, each A calling B with their real sockets in the SDP.
pub async fn calls(engine: &MediaEngine, prefix: &str, n: usize) -> Vec<TestCall> {
    let mut calls = Vec::with_capacity(n);
    for k in 0..n {
        let id = MediaCallId(format!("{prefix}{k}"));
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let ep_a = engine
            .offer(&id, Leg::A, Some(a.local_addr().unwrap()))
            .unwrap();
        let ep_b = engine
            .answer(&id, Leg::B, Some(b.local_addr().unwrap()))
            .unwrap();
        calls.push((id, a, b, ep_a, ep_b));
    }
    calls
}

/// How long a test waits for a packet or a condition before it fails.
pub const WAIT: Duration = Duration::from_secs(2);

/// The next datagram on `s` and its source; fails the test after [`WAIT`].
pub async fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = tokio::time::timeout(WAIT, s.recv_from(&mut buf))
        .await
        .expect("timed out waiting for a relayed packet")
        .unwrap();
    (buf[..n].to_vec(), from)
}

/// Polls `cond` every 2 ms; fails the test naming `what` after [`WAIT`].
pub async fn until(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Whether this machine can be expected to load the kernel fast path (see
/// `kernel::machine_refuses`).
pub fn kernel_forwarding_expected() -> bool {
    KernelForwarder::start(1).map_or_else(|e| !machine_refuses(&e), |_| true)
}
