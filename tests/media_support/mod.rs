//! What the relay's integration tests share: a bounded receive and a bounded wait.

#![allow(dead_code)] // each test binary uses its share

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

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
