//! SDP the switch writes as an endpoint of its own: the answer when it answers a caller
//! itself (IVR, queue, voicemail), and the offer when it calls an agent or a customer
//! for a call it already answered. RFC 3264 §6: the answer keeps one codec of the offer
//! that the switch can play and record (G.711, until transcoding offers more) and the
//! telephone-event format (RFC 4733) when offered, so DTMF arrives as events.

use std::net::IpAddr;

use bytes::Bytes;

use crate::media::RemoteMedia;
use crate::sip::sdp::{SdpError, SessionDescription};

/// Codecs the switch's own media (prompts, tones, recording) can code, by preference.
const CODECS: [(&str, u8); 2] = [("PCMU", 0), ("PCMA", 8)];
/// The telephone-event payload type the switch offers.
const OFFERED_TELEPHONE_EVENT: u8 = 101;

/// What one side of a call and the switch agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub pt: u8,
    pub encoding: &'static str,
    pub telephone_event: Option<u8>,
}

/// The first format of the offer's first stream that the switch can code.
pub fn choose(offer: &SessionDescription) -> Option<Negotiated> {
    let m = offer.media().first()?;
    if m.media_line().port == 0 {
        return None;
    }
    let pt = m.media_line().formats.iter().find_map(|f| {
        let pt: u8 = f.parse().ok()?;
        let name = match m.rtpmap(pt) {
            Some(map) if map.clock_rate == 8000 => map.encoding.to_ascii_uppercase(),
            Some(_) => return None,
            None => CODECS.iter().find(|(_, p)| *p == pt)?.0.to_string(),
        };
        CODECS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, _)| (pt, *n))
    })?;
    let te = m
        .rtpmaps()
        .find(|r| r.encoding.eq_ignore_ascii_case("telephone-event") && r.clock_rate == 8000)
        .map(|r| r.payload_type);
    Some(Negotiated {
        pt: pt.0,
        encoding: pt.1,
        telephone_event: te,
    })
}

/// What the relay must know about the phone that sent `sdp`, restricted to the agreed
/// codec (so the relay codes what is really used, not the offer's first format).
pub fn remote_of(sdp: &SessionDescription, n: &Negotiated) -> Result<RemoteMedia, SdpError> {
    let keep: Vec<u8> = std::iter::once(n.pt).chain(n.telephone_event).collect();
    remote_with(sdp, &keep)
}

/// What the relay must know about the phone that sent `sdp`, with the first stream's
/// formats cut to `keep` (the payload types really in use), in that order.
pub fn remote_with(sdp: &SessionDescription, keep: &[u8]) -> Result<RemoteMedia, SdpError> {
    let mut only = sdp.clone();
    only.media_mut(0)?.media_line_mut().formats = keep.iter().map(u8::to_string).collect();
    RemoteMedia::from_sdp(&only, 0)
}

/// Our SDP: `formats` as (payload type, encoding) on `ip:port`, sendrecv, 20 ms.
fn body(ip: IpAddr, port: u16, version: u32, formats: &[(u8, &str)], te: Option<u8>) -> Bytes {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut pts: Vec<String> = formats.iter().map(|(p, _)| p.to_string()).collect();
    pts.extend(te.map(|t| t.to_string()));
    let mut s = format!(
        "v=0\r\no=switchboard {port} {version} IN {family} {ip}\r\ns=switchboard\r\n\
         c=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {}\r\n",
        pts.join(" ")
    );
    for (pt, name) in formats {
        s.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    }
    if let Some(te) = te {
        s.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
    Bytes::from(s)
}

/// The answer to an offer we accepted with `n`.
pub fn answer(n: &Negotiated, ip: IpAddr, port: u16, version: u32) -> Bytes {
    body(ip, port, version, &[(n.pt, n.encoding)], n.telephone_event)
}

/// An offer: the agreed codec of the other side when there is one (no transcoding
/// needed), else every codec the switch codes.
pub fn offer(n: Option<&Negotiated>, ip: IpAddr, port: u16, version: u32) -> Bytes {
    match n {
        Some(n) => body(
            ip,
            port,
            version,
            &[(n.pt, n.encoding)],
            Some(n.telephone_event.unwrap_or(OFFERED_TELEPHONE_EVENT)),
        ),
        None => body(
            ip,
            port,
            version,
            &CODECS.map(|(n, p)| (p, n)),
            Some(OFFERED_TELEPHONE_EVENT),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(formats: &str, maps: &str) -> SessionDescription {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP {formats}\r\n{maps}"
        );
        SessionDescription::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn picks_the_first_codec_we_code_and_keeps_telephone_event() {
        let offer = sdp(
            "9 8 0 101",
            "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        );
        let n = choose(&offer).unwrap();
        assert_eq!(
            (n.pt, n.encoding, n.telephone_event),
            (8, "PCMA", Some(101))
        );
        let remote = remote_of(&offer, &n).unwrap();
        assert_eq!(remote.telephone_event, Some(101));
        assert_eq!(remote.rtp.unwrap().to_string(), "10.0.0.5:4000");
    }

    #[test]
    fn dynamic_g711_and_no_common_codec() {
        let offer = sdp("96", "a=rtpmap:96 pcmu/8000\r\n");
        assert_eq!(choose(&offer).unwrap().encoding, "PCMU");
        let opus_only = sdp("111", "a=rtpmap:111 opus/48000/2\r\n");
        assert_eq!(choose(&opus_only), None);
    }

    #[test]
    fn answer_and_offer_parse_back() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let n = Negotiated {
            pt: 0,
            encoding: "PCMU",
            telephone_event: Some(96),
        };
        let a = SessionDescription::parse(&answer(&n, ip, 20000, 1)).unwrap();
        assert_eq!(a.media()[0].media_line().formats, ["0", "96"]);
        assert_eq!(
            a.remote_rtp(0).unwrap().unwrap().to_string(),
            "192.0.2.1:20000"
        );
        let o = SessionDescription::parse(&offer(None, ip, 20002, 1)).unwrap();
        assert_eq!(o.media()[0].media_line().formats, ["0", "8", "101"]);
        assert_eq!(choose(&o).unwrap().encoding, "PCMU");
    }
}
