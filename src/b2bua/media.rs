//! Media anchoring for a call: the B2BUA asks the relay for one endpoint per leg and
//! rewrites every SDP body that crosses the bridge, so each phone sends its RTP to the
//! switch (RFC 3264 offer/answer through a relay, as rtpengine's offer/answer commands).
//!
//! The relay is reached through [`MediaControl`], a narrow synchronous interface: the
//! switch core stays sans-IO and tests drive it with a fake; production uses the
//! runtime's adapter over [`crate::media::MediaEngine`]. Which endpoint goes where: the endpoint allocated for a
//! leg is where *that leg's phone* must send, so it goes into the SDP sent to that phone.
//!
//! The first audio stream (`m=` index 0) is relayed; further streams (video) are left as
//! the phones wrote them.
//!
//! Transcoding (RFC 3264 through a B2BUA): an offer crossing the bridge gains the codecs
//! the relay can transcode that it lacks (after the sender's own, so theirs stay
//! preferred). When the answerer picks a codec the offerer did not offer, the answer going
//! back names the offerer's first codec instead, and the relay converts between the two;
//! when it picks one the offerer offered, nothing is converted. Either way the relay learns
//! each phone's codec from the offer/answer pair, not from the offer's first format.

use std::net::IpAddr;

use bytes::Bytes;

use std::cell::RefCell;

use super::Side;
use crate::media::{Leg, LocalEndpoint, MediaCallId, MediaError, RemoteMedia};
use crate::sip::sdp::{CodecKind, FormatKind, SdpError, SessionDescription};

/// Whether an SDP body is an offer or the answer to the last offer (the call knows it from
/// the SIP exchange that carries the body, RFC 3264 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdp {
    Offer,
    Answer,
}

/// The offer waiting for its answer: who sent it, as they wrote it.
struct PendingOffer {
    from: Side,
    sdp: SessionDescription,
}

/// What the B2BUA needs from a media relay.
pub trait MediaControl: Send + Sync {
    /// Allocates both legs' endpoints for a new call: `[A, B]`.
    fn allocate(&self, call: &MediaCallId) -> Result<[LocalEndpoint; 2], MediaError>;
    /// A phone described its media (offer or answer, re-INVITE, UPDATE, ACK).
    fn update(&self, call: &MediaCallId, leg: Leg, media: RemoteMedia) -> Result<(), MediaError>;
    /// The call ended: free its ports (idempotent, never blocks).
    fn release(&self, call: &MediaCallId);
    /// Play `prompt` to `leg`'s phone (a prompt name, or `tone:<name>`), once or in a
    /// loop; [`crate::media::MediaEvent::PlayDone`] with `id` when it ends.
    fn play(
        &self,
        call: &MediaCallId,
        leg: Leg,
        prompt: &str,
        looping: bool,
        id: u64,
    ) -> Result<(), MediaError>;
    /// Stop what plays to `leg` (nothing if nothing plays).
    fn stop_play(&self, call: &MediaCallId, leg: Leg);
    /// Start recording both directions to `file` (`None`: stop).
    fn record(&self, call: &MediaCallId, file: Option<&str>) -> Result<(), MediaError>;
    /// The call's RTP counters so far.
    fn stats(&self, call: &MediaCallId) -> Option<crate::media::CallMediaStats>;
    /// Listen to `leg`'s audio for `what`; [`crate::media::MediaEvent::Detected`] when
    /// found.
    fn listen(
        &self,
        _call: &MediaCallId,
        _leg: Leg,
        _what: crate::dialer::progress::Listen,
    ) -> Result<(), MediaError> {
        Err(MediaError::NotSupported("listen for call progress"))
    }
}

pub(super) fn leg(side: Side) -> Leg {
    match side {
        Side::A => Leg::A,
        Side::B => Leg::B,
    }
}

/// A call's anchored media: its relay session and the address put in rewritten SDP.
pub struct CallMedia {
    id: MediaCallId,
    ip: IpAddr,
    endpoints: [LocalEndpoint; 2],
    /// Offers across the bridge gain the codecs the relay transcodes.
    transcode: bool,
    /// The last offer relayed (kept for its answer, provisional and final).
    offer: RefCell<Option<PendingOffer>>,
}

impl CallMedia {
    pub fn new(
        ctl: &dyn MediaControl,
        id: MediaCallId,
        ip: IpAddr,
    ) -> Result<CallMedia, MediaError> {
        let endpoints = ctl.allocate(&id)?;
        Ok(CallMedia {
            id,
            ip,
            endpoints,
            transcode: true,
            offer: RefCell::new(None),
        })
    }

    /// An SDP body from `from`'s phone on its way to the other phone: tell the relay where
    /// `from` receives (and how), then point the body at the other phone's endpoint. A
    /// body that is not valid SDP is passed on untouched (and logged): the call still sets
    /// up, only its media is not anchored.
    pub fn relay_body(&self, ctl: &dyn MediaControl, from: Side, role: Sdp, body: &Bytes) -> Bytes {
        if body.is_empty() {
            return body.clone();
        }
        match self.rewrite(ctl, from, role, body) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%e, call = %self.id.0, "SDP not anchored");
                body.clone()
            }
        }
    }

    fn rewrite(
        &self,
        ctl: &dyn MediaControl,
        from: Side,
        role: Sdp,
        body: &Bytes,
    ) -> Result<Bytes, RewriteError> {
        let mut sdp = SessionDescription::parse(body)?;
        if sdp.media().is_empty() {
            return Ok(body.clone());
        }
        ctl.update(&self.id, leg(from), RemoteMedia::from_sdp(&sdp, 0)?)?;
        let pending = self.offer.borrow_mut().take();
        match (role, pending) {
            (Sdp::Answer, Some(offer)) if offer.from == from.other() => {
                self.negotiate(ctl, &mut sdp, &offer)?;
                // 18x and 2xx may both carry the answer: keep the offer for the next one.
                *self.offer.borrow_mut() = Some(offer);
            }
            (Sdp::Answer, other) => *self.offer.borrow_mut() = other,
            (Sdp::Offer, _) => {
                let original = sdp.clone();
                if self.transcode {
                    sdp.add_codecs(0, &CodecKind::ALL)?;
                }
                *self.offer.borrow_mut() = Some(PendingOffer {
                    from,
                    sdp: original,
                });
            }
        }
        let to = self.endpoints[from.other().index()];
        sdp.rewrite_for_relay(0, self.ip, to.rtp.port(), Some(to.rtcp.port()))?;
        Ok(Bytes::from(sdp.to_bytes()))
    }

    /// The relay's counters for the call record, A then B.
    pub fn cdr_media(&self, ctl: &dyn MediaControl) -> Vec<crate::store::CdrMedia> {
        let Some(stats) = ctl.stats(&self.id) else {
            return Vec::new();
        };
        [crate::store::LegRole::A, crate::store::LegRole::B]
            .into_iter()
            .zip(stats.legs)
            .map(|(role, s)| crate::store::CdrMedia {
                role,
                packets_in: s.packets_in,
                bytes_in: s.bytes_in,
                packets_out: s.packets_out,
                bytes_out: s.bytes_out,
                rtcp_in: s.rtcp_in,
                lost: s.lost,
                jitter_us: (s.jitter_ms * 1000.0) as u64,
                reported_lost: s.reported.map(|r| r.lost),
                reported_jitter_us: s.reported.map(|r| (r.jitter_ms * 1000.0) as u64),
            })
            .collect()
    }

    /// `answer` answers `offer`: settle each phone's codec, and if the answerer chose one
    /// the offerer does not have, answer the offerer with its own first codec (the relay
    /// transcodes between the two).
    fn negotiate(
        &self,
        ctl: &dyn MediaControl,
        answer: &mut SessionDescription,
        offer: &PendingOffer,
    ) -> Result<(), RewriteError> {
        let Some((_, chosen)) = answer.first_codec(0)? else {
            return Ok(()); // a codec we do not code: it came from the offer, pass it on
        };
        let offered = offer.sdp.formats(0)?;
        let same = offered
            .iter()
            .find(|f| f.codec() == Some(chosen))
            .map(|f| (f.payload_type, chosen));
        let Some((pt, kind)) = same.or(offer.sdp.first_codec(0)?) else {
            return Ok(());
        };
        if kind != chosen {
            answer.answer_with(0, kind, pt)?;
        }
        let keep: Vec<u8> = offered
            .iter()
            .filter(|f| f.payload_type == pt || matches!(f.kind, FormatKind::TelephoneEvent { .. }))
            .map(|f| f.payload_type)
            .collect();
        let used = super::local_sdp::remote_with(&offer.sdp, &keep)?;
        ctl.update(&self.id, leg(offer.from), used)?;
        Ok(())
    }

    pub fn release(&self, ctl: &dyn MediaControl) {
        ctl.release(&self.id);
    }

    pub fn id(&self) -> &MediaCallId {
        &self.id
    }

    /// Where `side`'s phone must send (goes in the SDP sent to that phone).
    pub fn endpoint(&self, side: Side) -> LocalEndpoint {
        self.endpoints[side.index()]
    }

    /// The address put in SDP.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

#[derive(Debug, thiserror::Error)]
enum RewriteError {
    #[error("bad SDP: {0}")]
    Sdp(#[from] SdpError),
    #[error("relay: {0}")]
    Media(#[from] MediaError),
}
