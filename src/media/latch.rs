//! Symmetric RTP / latching (rtpengine's "learned address"): each stream knows the address
//! its SDP advertised, the address its packets actually come from (behind NAT the two
//! differ), and uses the learned one once it has it. After latching, packets from any other
//! source are strangers, unless the [`RelatchPolicy`] lets a persistent new source take over
//! (a phone whose NAT binding changed). Pure; the relay owns one per stream.

use std::net::SocketAddr;

/// When a latched stream may move to a new source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelatchPolicy {
    /// Never: strangers are dropped for the life of the stream (strictest, stops RTP bleed).
    Never,
    /// After this many consecutive packets from one new source (none from the latched one in between).
    AfterConsecutive(u32),
}

impl Default for RelatchPolicy {
    fn default() -> Self {
        RelatchPolicy::AfterConsecutive(10)
    }
}

/// What to do with a packet, given its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the active source.
    Accept,
    /// Accepted, and the stream now latched (first packet, or a relatch).
    Latched,
    /// From somewhere else: drop and count.
    Stranger,
}

#[derive(Debug, Clone)]
pub struct Latch {
    policy: RelatchPolicy,
    advertised: Option<SocketAddr>,
    learned: Option<SocketAddr>,
    candidate: Option<(SocketAddr, u32)>,
}

impl Latch {
    pub fn new(policy: RelatchPolicy) -> Self {
        Latch {
            policy,
            advertised: None,
            learned: None,
            candidate: None,
        }
    }

    /// A new SDP address. A different address (re-INVITE to another place) forgets what was
    /// learned; `None` (hold with 0.0.0.0, or no SDP yet) keeps everything.
    pub fn set_advertised(&mut self, addr: Option<SocketAddr>) {
        if addr.is_some() && addr != self.advertised {
            self.advertised = addr;
            self.learned = None;
            self.candidate = None;
        }
    }

    pub fn advertised(&self) -> Option<SocketAddr> {
        self.advertised
    }
    pub fn learned(&self) -> Option<SocketAddr> {
        self.learned
    }
    /// Where to send to this party: learned, else advertised.
    pub fn active(&self) -> Option<SocketAddr> {
        self.learned.or(self.advertised)
    }

    /// The latched source spoke where this latch could not see it (the kernel forwarded
    /// it): a new source starts counting again.
    pub fn forget_candidate(&mut self) {
        self.candidate = None;
    }

    pub fn on_packet(&mut self, src: SocketAddr) -> Verdict {
        match self.learned {
            None => {
                self.learned = Some(src);
                Verdict::Latched
            }
            Some(l) if l == src => {
                self.candidate = None;
                Verdict::Accept
            }
            Some(_) => match self.policy {
                RelatchPolicy::Never => Verdict::Stranger,
                RelatchPolicy::AfterConsecutive(n) => {
                    let count = match self.candidate {
                        Some((c, k)) if c == src => k + 1,
                        _ => 1,
                    };
                    if count >= n.max(1) {
                        self.learned = Some(src);
                        self.candidate = None;
                        Verdict::Latched
                    } else {
                        self.candidate = Some((src, count));
                        Verdict::Stranger
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn first_source_is_learned_even_if_sdp_said_otherwise() {
        let mut l = Latch::new(RelatchPolicy::Never);
        l.set_advertised(Some(a("10.0.0.1:4000")));
        assert_eq!(l.active(), Some(a("10.0.0.1:4000")));
        assert_eq!(l.on_packet(a("198.51.100.9:61000")), Verdict::Latched);
        assert_eq!(l.active(), Some(a("198.51.100.9:61000")));
        assert_eq!(l.on_packet(a("198.51.100.9:61000")), Verdict::Accept);
        assert_eq!(l.on_packet(a("203.0.113.66:1")), Verdict::Stranger);
    }

    #[test]
    fn relatch_needs_consecutive_packets() {
        let mut l = Latch::new(RelatchPolicy::AfterConsecutive(3));
        l.on_packet(a("1.1.1.1:1"));
        assert_eq!(l.on_packet(a("2.2.2.2:2")), Verdict::Stranger);
        assert_eq!(l.on_packet(a("2.2.2.2:2")), Verdict::Stranger);
        assert_eq!(l.on_packet(a("1.1.1.1:1")), Verdict::Accept); // resets the run
        assert_eq!(l.on_packet(a("2.2.2.2:2")), Verdict::Stranger);
        assert_eq!(l.on_packet(a("2.2.2.2:2")), Verdict::Stranger);
        assert_eq!(l.on_packet(a("2.2.2.2:2")), Verdict::Latched);
        assert_eq!(l.active(), Some(a("2.2.2.2:2")));
    }

    #[test]
    fn new_sdp_address_forgets_learned_but_hold_does_not() {
        let mut l = Latch::new(RelatchPolicy::Never);
        l.set_advertised(Some(a("10.0.0.1:4000")));
        l.on_packet(a("9.9.9.9:9"));
        l.set_advertised(None);
        assert_eq!(l.active(), Some(a("9.9.9.9:9")));
        l.set_advertised(Some(a("10.0.0.1:4000")));
        assert_eq!(l.active(), Some(a("9.9.9.9:9")));
        l.set_advertised(Some(a("10.0.0.2:4000")));
        assert_eq!(l.active(), Some(a("10.0.0.2:4000")));
    }
}
