//! One leg inside a call's relay session: its sockets and latches, what its phone's SDP says,
//! receiver statistics and DTMF detection, and the media applications attached to it (its
//! own outbound RTP stream, a player, taps and their decoder, the transcoding of its audio
//! towards the other leg). Owned by the session (so by one relay thread); nothing here is shared.
//!
//! Codec choice, per packet and per phone ([`route`]): a phone receives what its SDP lists
//! (RFC 3264 §5.1, §6.1), so audio in a listed codec passes untouched (a renumbered dynamic
//! payload type is rewritten), and audio in one it does not list is transcoded into the
//! codec that phone itself sends (phones are symmetric in practice), else its SDP's first.
//! Nothing known about a phone's codecs (no SDP given): pass-through, as a plain relay.
//!
//! Our own stream (prompts, tones, transcoded audio) gets RTCP sender reports (RFC 3550
//! §6.4.1) to the phone's RTCP address while it sends; relayed packets keep the far
//! phone's stream, whose reports that phone sends itself.

/// The CNAME in our sender reports' SDES (RFC 3550 §6.5.1).
const REPORT_CNAME: &str = "switchboard";

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::audio::AudioTap;
use super::codec::CodecKind;
use super::dtmf::DtmfDetector;
use super::latch::{Latch, RelatchPolicy};
use super::listen::Listener;
use super::outbound::RtpOut;
use super::play::Player;
use super::session::Patch;
use super::stats::{bump, LegCounters, Reception};
use super::transcoding::Transcoding;
use super::RemoteMedia;

pub(super) struct LegRuntime {
    pub(super) port: u16,
    pub(super) rtp: UdpSocket,
    pub(super) rtcp: UdpSocket,
    pub(super) rtp_latch: Latch,
    pub(super) rtcp_latch: Latch,
    pub(super) media: RemoteMedia,
    pub(super) reception: Reception,
    pub(super) dtmf: DtmfDetector,
    /// The codec and payload type this phone last sent audio in: what it receives too
    /// (phones are symmetric), whatever the SDP bookkeeping says.
    pub(super) last_rx: Option<(u8, CodecKind)>,
    /// Our own stream to this phone.
    pub(super) out: RtpOut,
    /// Our sender reports for that stream are built here (reused: no allocation).
    pub(super) report: Vec<u8>,
    pub(super) player: Option<Player>,
    pub(super) taps: Vec<Box<dyn AudioTap>>,
    /// Decoding of this phone's audio, while a tap or the recorder listens.
    pub(super) listener: Option<Listener>,
    /// This phone's audio re-encoded for the other phone, while their codecs differ.
    pub(super) transcoding: Option<Transcoding>,
}

impl LegRuntime {
    pub(super) fn new(port: u16, rtp: UdpSocket, rtcp: UdpSocket, relatch: RelatchPolicy) -> Self {
        LegRuntime {
            port,
            rtp,
            rtcp,
            rtp_latch: Latch::new(relatch),
            rtcp_latch: Latch::new(relatch),
            media: RemoteMedia::default(),
            reception: Reception::default(),
            dtmf: DtmfDetector::new(8000),
            last_rx: None,
            out: RtpOut::new(),
            report: Vec::with_capacity(128),
            player: None,
            taps: Vec::new(),
            listener: None,
            transcoding: None,
        }
    }

    /// Where this phone takes RTCP: its RTP port under rtcp-mux (RFC 5761), else its RTCP
    /// port; None before it has an address.
    pub(super) fn rtcp_route(&self) -> (&UdpSocket, Option<SocketAddr>) {
        match self.media.rtcp_mux {
            true => (&self.rtp, self.rtp_latch.active()),
            false => (&self.rtcp, self.rtcp_latch.active()),
        }
    }

    /// Sends a sender report for our own stream to this phone when one is due.
    pub(super) fn report_if_due(&mut self, now: Instant, ntp: u64, counters: &LegCounters) {
        if !self
            .out
            .sender_report(now, ntp, REPORT_CNAME, &mut self.report)
        {
            return;
        }
        if let (sock, Some(dst)) = self.rtcp_route() {
            if sock.send_to(&self.report, dst).is_err() {
                bump(&counters.dropped_send);
            }
        }
    }

    /// The payload type this phone's SDP gives `kind`, if it lists it (so receives it).
    pub(super) fn pt_for(&self, kind: CodecKind) -> Option<u8> {
        self.media
            .codecs
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|&(pt, _)| pt)
    }

    /// What to transcode into for this phone: the codec it sends, if its SDP lists it,
    /// else its SDP's first codec we can code.
    pub(super) fn transcode_target(&self) -> Option<(u8, CodecKind)> {
        self.last_rx
            .filter(|&(_, k)| self.pt_for(k).is_some())
            .or(self.media.payload_type.zip(self.media.codec))
            .or(self.media.codecs.first().copied())
    }

    /// The codec to send this phone, with its payload type: the one it sends us, else the
    /// first of its SDP we can code.
    pub(super) fn send_codec(&self) -> Option<(u8, CodecKind)> {
        self.last_rx
            .or(self.media.payload_type.zip(self.media.codec))
            .or(self.media.codecs.first().copied())
    }

    pub(super) fn listen(&mut self, on: bool) {
        match (on, self.listener.is_some()) {
            (true, false) => self.listener = Some(Listener::new()),
            (false, true) => self.listener = None,
            _ => {}
        }
    }

    pub(super) fn set_rtp(&mut self, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) {
        self.rtp_latch.set_advertised(rtp);
        let rtcp_dst = match self.media.rtcp_mux {
            true => None,
            false => rtcp.or(rtp.map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))),
        };
        self.rtcp_latch.set_advertised(rtcp_dst);
        if rtp.is_some() {
            self.media.rtp = rtp;
            self.media.rtcp = rtcp;
        }
    }

    pub(super) fn apply(&mut self, patch: Patch, counters: &LegCounters) {
        if let Some(m) = patch.media {
            let (rtp, rtcp) = (m.rtp, m.rtcp);
            if m.codec != self.media.codec || m.payload_type != self.media.payload_type {
                // renegotiated: what the phone sent before says nothing any more
                self.last_rx = None;
            }
            self.dtmf.set_clock_rate(m.telephone_event_rate);
            counters.clock_rate.store(m.clock_rate, Relaxed);
            self.media = RemoteMedia {
                rtp: self.media.rtp,
                rtcp: self.media.rtcp,
                ..m
            };
            self.set_rtp(rtp, rtcp);
        } else {
            if patch.rtp.is_some() {
                self.set_rtp(patch.rtp, None);
            }
            if let Some(d) = patch.direction {
                self.media.direction = d;
            }
        }
    }
}

/// Where a phone's audio packet goes.
pub(super) enum Route {
    /// Untouched: the other phone receives this codec with this payload type (or we know
    /// nothing of what it receives, or cannot code either side).
    Pass,
    /// The other phone receives this codec under another (dynamic) payload type.
    Remap(u8),
    /// The other phone's SDP does not list this codec: decode and re-encode into (payload
    /// type, codec).
    Transcode(CodecKind, (u8, CodecKind)),
    /// A payload type we cannot decode in the middle of a transcoded stream (comfort noise,
    /// a third codec): it cannot join our stream.
    Drop,
}

pub(super) fn route(
    kind: Option<CodecKind>,
    pt: u8,
    transcoding: bool,
    peer: &LegRuntime,
) -> Route {
    if peer.media.codecs.is_empty() {
        return Route::Pass;
    }
    let Some(kind) = kind else {
        return match transcoding {
            true => Route::Drop,
            false => Route::Pass,
        };
    };
    match peer.pt_for(kind) {
        Some(theirs) if theirs == pt => Route::Pass,
        Some(theirs) => Route::Remap(theirs),
        None => match peer.transcode_target() {
            Some(target) => Route::Transcode(kind, target),
            None => Route::Pass,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::stats::LegCounters;

    async fn leg(codecs: &[(u8, CodecKind)]) -> LegRuntime {
        let sock = || UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut l = LegRuntime::new(0, sock(), sock(), RelatchPolicy::default());
        let media = RemoteMedia {
            codec: codecs.first().map(|c| c.1),
            payload_type: codecs.first().map(|c| c.0),
            codecs: codecs.to_vec(),
            ..Default::default()
        };
        l.apply(
            Patch {
                media: Some(media),
                ..Default::default()
            },
            &LegCounters::default(),
        );
        l
    }

    const PCMU: (u8, CodecKind) = (0, CodecKind::Pcmu);
    const PCMA: (u8, CodecKind) = (8, CodecKind::Pcma);

    fn show(r: Route) -> String {
        match r {
            Route::Pass => "pass".to_string(),
            Route::Remap(pt) => format!("remap {pt}"),
            Route::Transcode(from, (pt, to)) => format!("{from:?} -> {to:?}/{pt}"),
            Route::Drop => "drop".to_string(),
        }
    }

    #[tokio::test]
    async fn a_listed_codec_passes_an_unlisted_one_is_transcoded_to_what_the_phone_uses() {
        let unknown = leg(&[]).await;
        assert_eq!(
            show(route(Some(CodecKind::Pcmu), 0, false, &unknown)),
            "pass"
        );

        let b = leg(&[PCMA, PCMU, (111, CodecKind::Opus)]).await;
        assert_eq!(show(route(Some(CodecKind::Pcmu), 0, false, &b)), "pass");
        assert_eq!(
            show(route(Some(CodecKind::Opus), 96, false, &b)),
            "remap 111"
        );

        let g711_only = leg(&[PCMA]).await;
        let want = "Opus -> Pcma/8";
        assert_eq!(
            show(route(Some(CodecKind::Opus), 96, false, &g711_only)),
            want
        );

        // B sends µ-law (listed): what A sends in Opus is transcoded to µ-law, not A-law
        let b_only_g711 = {
            let mut l = leg(&[PCMA, PCMU]).await;
            l.last_rx = Some(PCMU);
            l
        };
        let want = "Opus -> Pcmu/0";
        assert_eq!(
            show(route(Some(CodecKind::Opus), 96, false, &b_only_g711)),
            want
        );

        // comfort noise or G.722: passes a plain relay, cannot join a transcoded stream
        assert_eq!(show(route(None, 13, false, &g711_only)), "pass");
        assert_eq!(show(route(None, 13, true, &g711_only)), "drop");
    }

    #[tokio::test]
    async fn renegotiation_forgets_what_the_phone_sent_and_the_send_codec_follows_sdp() {
        let mut l = leg(&[PCMU, PCMA]).await;
        assert_eq!(l.send_codec(), Some(PCMU));
        l.last_rx = Some(PCMA);
        assert_eq!(l.send_codec(), Some(PCMA), "what it sends, it receives");
        // re-INVITE: now Opus first
        let media = RemoteMedia {
            codec: Some(CodecKind::Opus),
            payload_type: Some(96),
            codecs: vec![(96, CodecKind::Opus), PCMA],
            ..Default::default()
        };
        let patch = Patch {
            media: Some(media),
            ..Default::default()
        };
        l.apply(patch, &LegCounters::default());
        assert_eq!(l.send_codec(), Some((96, CodecKind::Opus)));
        // a first codec we cannot code: the first one we can
        let g722 = RemoteMedia {
            codec: None,
            payload_type: Some(9),
            codecs: vec![PCMA],
            ..Default::default()
        };
        let patch = Patch {
            media: Some(g722),
            ..Default::default()
        };
        l.apply(patch, &LegCounters::default());
        assert_eq!(l.send_codec(), Some(PCMA));
    }
}
