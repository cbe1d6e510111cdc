//! The kernel fast path out of a real interface: the phones live in a network namespace of
//! their own behind a veth pair, the relay in this one, so offloaded packets leave by the
//! program's FIB lookup and `bpf_redirect` (not by local delivery, as on loopback) with
//! their Ethernet addresses rewritten. The phones' side of the veth computes checksums in
//! software where `ethtool` can say so, so the phone's kernel verifies the UDP and IP
//! checksums the program rewrote, and a wrong one would drop the packet.
//!
//! Needs what `media_kernel.rs` needs, and `ip` (iproute2) to make the namespace.

mod media_support;

use std::net::{SocketAddr, UdpSocket as StdSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use media_support::{kernel_forwarding_expected, recv};
use switchboard::media::{Leg, MediaCallId, MediaConfig, MediaEngine, RelatchPolicy};
use tokio::net::UdpSocket;

const RELAY_IP: &str = "10.213.7.1";
const PHONE_A: &str = "10.213.7.2";
const PHONE_B: &str = "10.213.7.3";

/// Runs `command` (words split at spaces); whether it succeeded.
fn sh(command: &str) -> bool {
    let mut words = command.split_whitespace();
    Command::new(words.next().unwrap_or_default())
        .args(words)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The phones' namespace and its veth pair; removed on drop.
struct Namespace {
    name: String,
    outside: String,
}

impl Namespace {
    fn create() -> Option<Self> {
        let pid = std::process::id();
        let (name, outside, inside) = (
            format!("sbk{pid}"),
            format!("sbr{pid}"),
            format!("sbp{pid}"),
        );
        let ns = Namespace {
            name: name.clone(),
            outside: outside.clone(),
        };
        let ok = [
            format!("ip netns add {name}"),
            format!("ip link add {outside} type veth peer name {inside}"),
            format!("ip link set {inside} netns {name}"),
            format!("ip addr add {RELAY_IP}/24 dev {outside}"),
            format!("ip link set {outside} up"),
            format!("ip -n {name} addr add {PHONE_A}/24 dev {inside}"),
            format!("ip -n {name} addr add {PHONE_B}/24 dev {inside}"),
            format!("ip -n {name} link set {inside} up"),
            format!("ip -n {name} link set lo up"),
        ]
        .iter()
        .all(|c| sh(c));
        if !ok {
            return None;
        }
        // checksums in software on the phones' side: their kernel verifies what it gets
        let verified = sh(&format!(
            "ip netns exec {name} ethtool -K {inside} tx off rx off"
        ));
        eprintln!("phones' checksums verified in software: {verified}");
        Some(ns)
    }

    /// A UDP socket bound to `ip` inside the namespace (a socket stays in the namespace
    /// it was made in, whichever thread uses it later).
    fn socket(&self, ip: &str) -> StdSocket {
        let path = format!("/var/run/netns/{}", self.name);
        let ip = ip.to_string();
        std::thread::spawn(move || {
            let ns = std::fs::File::open(path).unwrap();
            // SAFETY: a valid namespace fd; only this short-lived thread moves.
            assert_eq!(
                unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            let s = StdSocket::bind((ip.as_str(), 0)).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .join()
        .unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        sh(&format!("ip link del {}", self.outside));
        sh(&format!("ip netns del {}", self.name));
    }
}

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[seq as u8; 160]);
    p
}

#[tokio::test]
async fn offloaded_audio_leaves_by_the_interface_with_right_checksums() {
    if !kernel_forwarding_expected() {
        eprintln!("SKIPPED: kernel forwarding unavailable here");
        return;
    }
    let Some(ns) = Namespace::create() else {
        eprintln!("SKIPPED: no network namespace here (iproute2 missing?)");
        return;
    };
    // the program attaches to the interfaces there are when the engine starts
    let mut config = MediaConfig::new(RELAY_IP.parse().unwrap(), 23600..=23609);
    config.relatch = RelatchPolicy::Never;
    config.kernel_forwarding = true;
    let engine = MediaEngine::new(config).unwrap();
    let kernel = engine.kernel_forwarding().expect("kernel forwarding");
    assert!(kernel.interfaces().contains(&ns.outside));

    let a = UdpSocket::from_std(ns.socket(PHONE_A)).unwrap();
    let b = UdpSocket::from_std(ns.socket(PHONE_B)).unwrap();
    let id = MediaCallId::from("netns");
    let addr = |s: &UdpSocket| -> SocketAddr { s.local_addr().unwrap() };
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let ep_b = engine.answer(&id, Leg::B, Some(addr(&b))).unwrap();
    for seq in 1..=20 {
        a.send_to(&rtp(seq, 1), ep_a.rtp).await.unwrap();
        assert_eq!(recv(&b).await, (rtp(seq, 1), ep_b.rtp), "A to B {seq}");
        b.send_to(&rtp(seq, 2), ep_b.rtp).await.unwrap();
        assert_eq!(recv(&a).await, (rtp(seq, 2), ep_a.rtp), "B to A {seq}");
    }
    let s = engine.stats(&id).unwrap();
    let (sa, sb) = (s.leg(Leg::A), s.leg(Leg::B));
    assert_eq!((sa.packets_in, sb.packets_in), (20, 20));
    // the first packet each way through the relay thread (it also resolves the phone's
    // Ethernet address, which the program's FIB lookup needs), the rest by the kernel
    assert!(
        sa.packets_offloaded >= 18 && sb.packets_offloaded >= 18,
        "{} {}",
        sa.packets_offloaded,
        sb.packets_offloaded
    );
}
