//! The codecs of an SDP media description, as a transcoding B2BUA negotiates them.
//!
//! Owns [`CodecKind`] (the audio codecs the switch can decode and encode, with their RTP
//! profile facts: encoding name, clock rate, static payload type — RFC 3551 §6, RFC 7587
//! §4.1 and §7) and the offer/answer edits of RFC 3264 §5–§6 that transcoding needs:
//!
//! * [`SessionDescription::formats`]: the payload types of an `m=` line in preference order,
//!   each a codec we know, RFC 4733 `telephone-event`, or something else;
//! * [`SessionDescription::add_codecs`]: append to an offer the codecs we can transcode that
//!   it lacks (static payload types for G.711, a free dynamic one for Opus with
//!   `minptime=10;useinbandfec=1`, RFC 7587 §6.1), so the far side may pick one;
//! * [`SessionDescription::answer_with`]: rewrite an answer so it names exactly one codec
//!   (plus `telephone-event`), RFC 3264 §6.1 — what the B2BUA sends back to a leg once it
//!   knows which codec that leg will get.
//!
//! Edits touch only the `m=` line and the `a=rtpmap`/`a=fmtp`/`a=rtcp-fb` lines of the
//! payload types added or removed; every other line prints back byte for byte.
//! It lives here, below `media`, because SDP needs it and imports point down; `media::codec`
//! re-exports [`CodecKind`].
//!
//! Pure: no IO, no clock.

use super::{Attribute, Kept, Line, MediaDescription, SdpError, SessionDescription};

/// An audio codec the switch can transcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law (RFC 3551 §4.5.14), static payload type 0.
    Pcmu,
    /// G.711 A-law (RFC 3551 §4.5.14), static payload type 8.
    Pcma,
    /// Opus (RFC 6716, RTP payload format RFC 7587), dynamic payload type, 48 kHz clock.
    Opus,
}

impl CodecKind {
    /// All codecs, in the switch's order of preference for narrowband telephony.
    pub const ALL: [CodecKind; 3] = [CodecKind::Pcmu, CodecKind::Pcma, CodecKind::Opus];

    /// The codec named by an `a=rtpmap` encoding name and clock rate (case-insensitive,
    /// RFC 4855 §3): `PCMU/8000`, `PCMA/8000`, `opus/48000`.
    pub fn from_encoding(name: &str, clock_rate: u32) -> Option<Self> {
        CodecKind::ALL
            .into_iter()
            .find(|k| k.clock_rate() == clock_rate && name.eq_ignore_ascii_case(k.encoding_name()))
    }

    /// The codec of a static payload type (RFC 3551 table 4).
    pub fn from_static_pt(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(CodecKind::Pcmu),
            8 => Some(CodecKind::Pcma),
            _ => None,
        }
    }

    /// RTP clock rate; Opus always uses 48000 whatever the audio bandwidth (RFC 7587 §4.1).
    pub fn clock_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma => 8000,
            CodecKind::Opus => 48000,
        }
    }

    /// The encoding name for `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::Opus => "opus",
        }
    }

    /// The static payload type, if the codec has one.
    pub fn static_pt(self) -> Option<u8> {
        match self {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::Opus => None,
        }
    }

    /// RTP timestamp increment of one 20 ms frame.
    pub fn rtp_ticks_per_frame(self) -> u32 {
        self.clock_rate() / 50
    }

    /// The `a=rtpmap` value after the payload type: `PCMU/8000`, `opus/48000/2`
    /// (RFC 7587 §7: Opus is always announced with two channels).
    pub fn rtpmap_encoding(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU/8000",
            CodecKind::Pcma => "PCMA/8000",
            CodecKind::Opus => "opus/48000/2",
        }
    }
}

/// What one payload type of an `m=` line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// An audio codec the switch can transcode.
    Codec(CodecKind),
    /// RFC 4733 named telephone events (DTMF) at this clock rate.
    TelephoneEvent { clock_rate: u32 },
    /// Anything else (G.722, G.729, speex, comfort noise, an unmapped dynamic type).
    Other,
}

/// One payload type of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpFormat {
    pub payload_type: u8,
    pub kind: FormatKind,
}

impl RtpFormat {
    /// The codec, if it is one we transcode.
    pub fn codec(&self) -> Option<CodecKind> {
        match self.kind {
            FormatKind::Codec(c) => Some(c),
            _ => None,
        }
    }
}

/// The `fmtp` we put on Opus payload types we offer or answer with (RFC 7587 §6.1).
pub const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// The dynamic payload type we prefer for Opus (the WebRTC convention) when it is free.
const OPUS_PREFERRED_PT: u8 = 111;

fn format_of(m: &MediaDescription, pt: u8) -> RtpFormat {
    let kind = match m.rtpmap(pt) {
        Some(map) if map.encoding.eq_ignore_ascii_case("telephone-event") => {
            FormatKind::TelephoneEvent {
                clock_rate: map.clock_rate,
            }
        }
        Some(map) => CodecKind::from_encoding(map.encoding, map.clock_rate)
            .map_or(FormatKind::Other, FormatKind::Codec),
        None => CodecKind::from_static_pt(pt).map_or(FormatKind::Other, FormatKind::Codec),
    };
    RtpFormat {
        payload_type: pt,
        kind,
    }
}

fn formats_of(m: &MediaDescription) -> impl Iterator<Item = RtpFormat> + '_ {
    m.media_line()
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .map(|pt| format_of(m, pt))
}

/// The payload type an `a=rtpmap`, `a=fmtp` or `a=rtcp-fb` line is about (`None` for other
/// attributes and for `rtcp-fb:*`).
fn attribute_pt(a: &Attribute) -> Option<u8> {
    if !matches!(a.name.as_str(), "rtpmap" | "fmtp" | "rtcp-fb") {
        return None;
    }
    let v = a.value.as_deref()?;
    v.split_ascii_whitespace().next()?.parse().ok()
}

/// Is this a payload-type attribute line (where new ones are inserted after)?
fn is_format_line(l: &Line) -> bool {
    l.attribute().is_some_and(|a| attribute_pt(a).is_some())
}

impl MediaDescription {
    /// Is `pt` named on the `m=` line or in any payload-type attribute?
    fn pt_in_use(&self, pt: u8) -> bool {
        self.media_line()
            .formats
            .iter()
            .any(|f| f.parse::<u8>().ok() == Some(pt))
            || self.attributes().any(|a| attribute_pt(a) == Some(pt))
    }

    /// A dynamic payload type (RFC 3551 §3: 96–127) used nowhere in this description.
    fn free_dynamic_pt(&self) -> Option<u8> {
        std::iter::once(OPUS_PREFERRED_PT)
            .chain(96..=127)
            .find(|&pt| !self.pt_in_use(pt))
    }

    /// Insert `a=` lines after the last payload-type attribute (or at the end).
    fn insert_format_lines(&mut self, attrs: Vec<Attribute>) {
        let at = self
            .lines
            .iter()
            .rposition(is_format_line)
            .map_or(self.lines.len(), |i| i + 1);
        let new = attrs.into_iter().map(|a| Line::Attribute(Kept::edited(a)));
        self.lines.splice(at..at, new);
    }

    /// Keep only the payload types for which `keep` holds, on the `m=` line and in the
    /// attributes. Non-numeric formats (not RTP) are left alone.
    fn retain_formats(&mut self, keep: impl Fn(u8) -> bool) {
        let drop = |f: &String| f.parse::<u8>().is_ok_and(|pt| !keep(pt));
        if self.media_line().formats.iter().any(drop) {
            self.media_line_mut().formats.retain(|f| !drop(f));
        }
        self.lines
            .retain(|l| l.attribute().and_then(attribute_pt).is_none_or(&keep));
    }
}

fn rtpmap_line(pt: u8, codec: CodecKind) -> Vec<Attribute> {
    let mut v = vec![Attribute::new(
        "rtpmap",
        Some(format!("{pt} {}", codec.rtpmap_encoding())),
    )];
    if codec == CodecKind::Opus {
        v.push(Attribute::new("fmtp", Some(format!("{pt} {OPUS_FMTP}"))));
    }
    v
}

impl SessionDescription {
    /// The RTP payload types of media description `index`, in `m=` order (the sender's
    /// preference, RFC 3264 §5.1).
    pub fn formats(&self, index: usize) -> Result<Vec<RtpFormat>, SdpError> {
        Ok(formats_of(self.media_at(index)?).collect())
    }

    /// The first payload type of media description `index` that we can transcode.
    pub fn first_codec(&self, index: usize) -> Result<Option<(u8, CodecKind)>, SdpError> {
        Ok(formats_of(self.media_at(index)?).find_map(|f| f.codec().map(|c| (f.payload_type, c))))
    }

    /// Add to an offer's media description `index` each codec of `codecs` it does not
    /// already name, after the sender's own codecs (so theirs stay preferred) and before its
    /// `telephone-event`. G.711 takes its static payload type (skipped if that number is
    /// taken by something else); Opus a free dynamic one with `a=fmtp` [`OPUS_FMTP`].
    /// Only RTP audio descriptions with a port are touched. Returns what was added.
    ///
    /// Does not bump `o=`; the caller does, once per new offer.
    pub fn add_codecs(
        &mut self,
        index: usize,
        codecs: &[CodecKind],
    ) -> Result<Vec<(u8, CodecKind)>, SdpError> {
        let m = self.media_mut(index)?;
        let line = m.media_line();
        if line.media != "audio" || line.port == 0 || !line.proto.contains("RTP/") {
            return Ok(Vec::new());
        }
        let mut added = Vec::new();
        for &codec in codecs {
            if formats_of(m).any(|f| f.codec() == Some(codec)) {
                continue;
            }
            let pt = match codec.static_pt() {
                Some(pt) if !m.pt_in_use(pt) => pt,
                Some(_) => continue,
                None => match m.free_dynamic_pt() {
                    Some(pt) => pt,
                    None => continue,
                },
            };
            let first_event =
                formats_of(m).position(|f| matches!(f.kind, FormatKind::TelephoneEvent { .. }));
            let formats = &mut m.media_line_mut().formats;
            // `position` counted numeric formats only; map it back to the token index
            let at = first_event
                .and_then(|n| {
                    formats
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.parse::<u8>().is_ok())
                        .nth(n)
                        .map(|(i, _)| i)
                })
                .unwrap_or(formats.len());
            formats.insert(at, pt.to_string());
            m.insert_format_lines(rtpmap_line(pt, codec));
            added.push((pt, codec));
        }
        Ok(added)
    }

    /// Rewrite media description `index` of an answer so it names exactly `codec` on payload
    /// type `pt` (RFC 3264 §6.1: the answer lists the offer's payload type numbers), plus
    /// `telephone-event` if the description has it — the one at the codec's clock rate if
    /// several, else the first. Other payload types and their `rtpmap`/`fmtp`/`rtcp-fb`
    /// lines are removed; an `rtpmap` for `pt` is added (or corrected) when needed, with
    /// [`OPUS_FMTP`] for Opus.
    pub fn answer_with(&mut self, index: usize, codec: CodecKind, pt: u8) -> Result<(), SdpError> {
        let m = self.media_mut(index)?;
        let events: Vec<(u8, u32)> = formats_of(m)
            .filter_map(|f| match f.kind {
                FormatKind::TelephoneEvent { clock_rate } => Some((f.payload_type, clock_rate)),
                _ => None,
            })
            .collect();
        let event = events
            .iter()
            .find(|(_, rate)| *rate == codec.clock_rate())
            .or(events.first())
            .map(|(pt, _)| *pt);
        let keep_mapping = format_of(m, pt).codec() == Some(codec)
            && m.media_line().formats.iter().any(|f| f.parse() == Ok(pt));
        // drop every other payload type (and `pt` itself if it meant something else here)
        m.retain_formats(|p| Some(p) == event || (p == pt && keep_mapping));
        let want: Vec<String> = std::iter::once(pt)
            .chain(event)
            .map(|p| p.to_string())
            .chain(
                m.media_line()
                    .formats
                    .iter()
                    .filter(|f| f.parse::<u8>().is_err())
                    .cloned(),
            )
            .collect();
        if m.media_line().formats != want {
            m.media_line_mut().formats = want;
        }
        if !keep_mapping {
            m.insert_format_lines(rtpmap_line(pt, codec));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP: &str = "v=0\r\n\
o=- 1425276364 3489744547 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 13370 RTP/AVP 96 9 0 8 101\r\n\
b=AS:64\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ssrc:1234 cname:baresip\r\n";

    const LINPHONE: &str = "v=0\r\n\
o=alice 1772 1593 IN IP4 192.168.0.12\r\n\
s=Talk\r\n\
c=IN IP4 192.168.0.12\r\n\
t=0 0\r\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=fmtp:97 vbr=on\r\n\
a=rtpmap:98 speex/8000\r\n\
a=fmtp:98 vbr=on\r\n\
a=fmtp:18 annexb=yes\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:99 telephone-event/16000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n";

    const ZOIPER: &str = "v=0\r\n\
o=Z 1608292844058 1 IN IP4 192.168.1.5\r\n\
s=Z\r\n\
c=IN IP4 192.168.1.5\r\n\
t=0 0\r\n\
m=audio 52158 RTP/AVP 106 9 98 101 0 8 3\r\n\
a=rtpmap:106 opus/48000/2\r\n\
a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1\r\n\
a=rtpmap:98 telephone-event/48000\r\n\
a=fmtp:98 0-16\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n";

    /// A carrier offer: G.729 first, static types without rtpmap, bare LF line ends.
    const CARRIER: &str = "v=0\n\
o=Sonus_UAC 20741 4470 IN IP4 203.0.113.10\n\
s=SIP Media Capabilities\n\
c=IN IP4 203.0.113.10\n\
t=0 0\n\
m=audio 20000 RTP/AVP 18 0 101\n\
a=rtpmap:101 telephone-event/8000\n\
a=fmtp:101 0-15\n\
a=fmtp:18 annexb=no\n\
a=sendrecv\n\
a=ptime:20\n";

    /// A browser (Chrome) offer: WebRTC profile, RED, comfort noise, two telephone-events.
    const CHROME: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Jx4q\r\n\
a=ice-pwd:q8bXbDKXpLwYq1c1sIbJmH7n\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 3C:4A:AA:D6:2E:F4:51:3B:8E:49:5F:EB:0D:0C:73:9F:4E:2B:6F:19:4B:8A:21:B3:FF:22:D5:6C:3E:5A:8E:0A\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\n\
a=fmtp:63 111/111\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:13 CN/8000\r\n\
a=rtpmap:110 telephone-event/48000\r\n\
a=rtpmap:126 telephone-event/8000\r\n\
a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6\r\n";

    fn parse(s: &str) -> SessionDescription {
        SessionDescription::parse(s.as_bytes()).unwrap()
    }

    fn reparse(sdp: &SessionDescription) -> SessionDescription {
        SessionDescription::parse(&sdp.to_bytes()).unwrap()
    }

    fn pts(sdp: &SessionDescription) -> Vec<u8> {
        sdp.formats(0)
            .unwrap()
            .iter()
            .map(|f| f.payload_type)
            .collect()
    }

    /// Every line of `original` for which `keep` holds appears, byte for byte and in order,
    /// in `edited`.
    fn lines_kept(original: &str, edited: &str, keep: impl Fn(&str) -> bool) {
        let mut rest = edited.lines();
        for line in original.lines().filter(|l| keep(l)) {
            assert!(
                rest.by_ref().any(|e| e == line),
                "line {line:?} lost or reordered in\n{edited}"
            );
        }
    }

    use FormatKind::{Codec, Other, TelephoneEvent};

    #[test]
    fn formats_of_real_phones_in_order() {
        let kinds = |s: &str| -> Vec<FormatKind> {
            parse(s)
                .formats(0)
                .unwrap()
                .iter()
                .map(|f| f.kind)
                .collect()
        };
        assert_eq!(
            kinds(BARESIP),
            [
                Codec(CodecKind::Opus),
                Other,
                Codec(CodecKind::Pcmu),
                Codec(CodecKind::Pcma),
                TelephoneEvent { clock_rate: 8000 }
            ]
        );
        assert_eq!(
            kinds(LINPHONE),
            [
                Codec(CodecKind::Opus),
                Other,
                Other,
                Codec(CodecKind::Pcmu),
                Codec(CodecKind::Pcma),
                Other,
                TelephoneEvent { clock_rate: 48000 },
                TelephoneEvent { clock_rate: 16000 },
                TelephoneEvent { clock_rate: 8000 },
            ]
        );
        assert_eq!(pts(&parse(ZOIPER)), [106, 9, 98, 101, 0, 8, 3]);
        assert_eq!(
            parse(ZOIPER).first_codec(0).unwrap(),
            Some((106, CodecKind::Opus))
        );
        assert_eq!(
            kinds(CARRIER),
            [
                Other,
                Codec(CodecKind::Pcmu),
                TelephoneEvent { clock_rate: 8000 }
            ]
        );
        assert_eq!(
            parse(CARRIER).first_codec(0).unwrap(),
            Some((0, CodecKind::Pcmu))
        );
        assert!(parse(CARRIER).formats(1).is_err());
    }

    #[test]
    fn offers_that_have_everything_come_back_unchanged() {
        for text in [BARESIP, LINPHONE, ZOIPER] {
            let mut sdp = parse(text);
            assert_eq!(sdp.add_codecs(0, &CodecKind::ALL).unwrap(), []);
            assert_eq!(sdp.to_string(), text);
        }
    }

    #[test]
    fn carrier_offer_gains_pcma_and_opus_before_telephone_event() {
        let mut sdp = parse(CARRIER);
        let added = sdp.add_codecs(0, &CodecKind::ALL).unwrap();
        assert_eq!(added, [(8, CodecKind::Pcma), (111, CodecKind::Opus)]);
        let text = sdp.to_string();
        assert!(
            text.contains("m=audio 20000 RTP/AVP 18 0 8 111 101\n"),
            "{text}"
        );
        assert!(text.contains(
            "a=fmtp:18 annexb=no\na=rtpmap:8 PCMA/8000\na=rtpmap:111 opus/48000/2\n\
             a=fmtp:111 minptime=10;useinbandfec=1\na=sendrecv\n"
        ));
        assert!(!text.contains('\r'), "line ends kept");
        lines_kept(CARRIER, &text, |l| !l.starts_with("m="));
        let back = reparse(&sdp);
        assert_eq!(back, reparse(&back));
        assert_eq!(pts(&back), [18, 0, 8, 111, 101]);
        assert_eq!(back.media()[0].fmtp(111), Some(OPUS_FMTP));
        // idempotent: a second pass adds nothing
        let mut again = back.clone();
        assert_eq!(again.add_codecs(0, &CodecKind::ALL).unwrap(), []);
        assert_eq!(again, back);
    }

    #[test]
    fn opus_takes_a_free_dynamic_type_and_static_collisions_are_skipped() {
        let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=audio 4000 RTP/AVP 111 96 3\r\na=rtpmap:111 telephone-event/8000\r\n\
                    a=rtpmap:96 iLBC/8000\r\na=rtcp-fb:97 nack\r\n";
        let mut sdp = parse(text);
        let added = sdp.add_codecs(0, &[CodecKind::Opus]).unwrap();
        assert_eq!(added, [(98, CodecKind::Opus)], "111, 96 and 97 are taken");
        assert_eq!(pts(&reparse(&sdp)), [98, 111, 96, 3]);
        // a static type remapped to something else is not reused
        let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 G726-32/8000\r\n";
        let mut sdp = parse(text);
        assert_eq!(
            sdp.add_codecs(0, &[CodecKind::Pcma, CodecKind::Pcmu])
                .unwrap(),
            [(0, CodecKind::Pcmu)]
        );
    }

    #[test]
    fn video_and_refused_streams_are_not_touched() {
        let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=audio 0 RTP/AVP 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
        let mut sdp = parse(text);
        assert_eq!(sdp.add_codecs(0, &CodecKind::ALL).unwrap(), []);
        assert_eq!(sdp.add_codecs(1, &CodecKind::ALL).unwrap(), []);
        assert_eq!(sdp.to_string(), text);
        assert!(sdp.add_codecs(2, &CodecKind::ALL).is_err());
    }

    #[test]
    fn answer_names_one_codec_and_the_matching_telephone_event() {
        let mut sdp = parse(LINPHONE);
        sdp.answer_with(0, CodecKind::Pcmu, 0).unwrap();
        let text = sdp.to_string();
        assert!(text.contains("m=audio 7078 RTP/AVP 0 100\r\n"), "{text}");
        for gone in [
            "rtpmap:96",
            "fmtp:96",
            "speex",
            "fmtp:18",
            "rtpmap:101",
            "rtpmap:99",
        ] {
            assert!(!text.contains(gone), "{gone} in\n{text}");
        }
        assert!(
            !text.contains("a=rtpmap:0"),
            "a static type stays unmapped, as the phone wrote it"
        );
        assert!(text.contains("a=rtpmap:100 telephone-event/8000\r\n"));
        assert!(
            text.contains("a=rtcp-fb:* trr-int 1000\r\n"),
            "wildcard feedback kept"
        );
        lines_kept(LINPHONE, &text, |l| {
            !(l.starts_with("m=") || l.starts_with("a=rtpmap") || l.starts_with("a=fmtp"))
        });
        let back = reparse(&sdp);
        assert_eq!(pts(&back), [0, 100]);
        // Opus answer keeps the 48 kHz event
        let mut sdp = parse(LINPHONE);
        sdp.answer_with(0, CodecKind::Opus, 96).unwrap();
        let text = sdp.to_string();
        assert!(text.contains("m=audio 7078 RTP/AVP 96 101\r\n"), "{text}");
        assert!(
            text.contains("a=fmtp:96 useinbandfec=1\r\n"),
            "the phone's own fmtp stays"
        );
    }

    #[test]
    fn answer_with_a_codec_the_description_lacks_maps_it() {
        // the callee answered PCMU; the caller offered Opus on 106 and gets Opus in its answer
        let answer = "v=0\r\no=- 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n\
                      t=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
                      a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n";
        let mut sdp = parse(answer);
        sdp.answer_with(0, CodecKind::Opus, 106).unwrap();
        let text = sdp.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 106 101\r\n"), "{text}");
        assert!(
            text.contains(
                "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
             a=rtpmap:106 opus/48000/2\r\na=fmtp:106 minptime=10;useinbandfec=1\r\na=ptime:20\r\n"
            ),
            "{text}"
        );
        assert!(!text.contains("PCMU"));
        assert_eq!(
            reparse(&sdp).first_codec(0).unwrap(),
            Some((106, CodecKind::Opus))
        );
        // a payload type that means something else is remapped, not kept
        let mut sdp = parse(ZOIPER);
        sdp.answer_with(0, CodecKind::Pcma, 9).unwrap();
        let back = reparse(&sdp);
        assert_eq!(back.first_codec(0).unwrap(), Some((9, CodecKind::Pcma)));
        assert_eq!(pts(&back), [9, 101]);
        assert!(!back.to_string().contains("G722"));
    }

    #[test]
    fn browser_offer_keeps_its_webrtc_lines_through_both_edits() {
        let mut sdp = parse(CHROME);
        assert_eq!(sdp.first_codec(0).unwrap(), Some((111, CodecKind::Opus)));
        assert_eq!(sdp.add_codecs(0, &CodecKind::ALL).unwrap(), []);
        assert_eq!(sdp.to_string(), CHROME);

        sdp.answer_with(0, CodecKind::Opus, 111).unwrap();
        let text = sdp.to_string();
        assert!(
            text.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 110\r\n"),
            "{text}"
        );
        for kept in [
            "a=rtcp-fb:111 transport-cc\r\n",
            "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
            "a=rtpmap:110 telephone-event/48000\r\n",
        ] {
            assert!(text.contains(kept), "{kept} missing from\n{text}");
        }
        for gone in [
            "red/",
            "fmtp:63",
            "G722",
            "PCMU",
            "PCMA",
            "CN/",
            "rtpmap:126",
        ] {
            assert!(!text.contains(gone), "{gone} left in\n{text}");
        }
        lines_kept(CHROME, &text, |l| {
            !(l.starts_with("m=") || l.starts_with("a=rtpmap") || l.starts_with("a=fmtp"))
        });
        assert_eq!(pts(&reparse(&sdp)), [111, 110]);
    }

    #[test]
    fn answer_with_on_a_one_codec_answer_changes_nothing() {
        let answer = "v=0\r\no=- 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n\
                      t=0 0\r\nm=audio 30000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let mut sdp = parse(answer);
        sdp.answer_with(0, CodecKind::Pcma, 8).unwrap();
        assert_eq!(sdp.to_string(), answer);
    }

    #[test]
    fn codec_kind_profile_facts() {
        assert_eq!(
            CodecKind::from_encoding("pcmu", 8000),
            Some(CodecKind::Pcmu)
        );
        assert_eq!(
            CodecKind::from_encoding("PCMA", 8000),
            Some(CodecKind::Pcma)
        );
        assert_eq!(
            CodecKind::from_encoding("OPUS", 48000),
            Some(CodecKind::Opus)
        );
        assert_eq!(CodecKind::from_encoding("opus", 16000), None);
        assert_eq!(CodecKind::from_encoding("PCMU", 16000), None);
        assert_eq!(CodecKind::from_encoding("G722", 8000), None);
        assert_eq!(CodecKind::from_static_pt(0), Some(CodecKind::Pcmu));
        assert_eq!(CodecKind::from_static_pt(8), Some(CodecKind::Pcma));
        assert_eq!(CodecKind::from_static_pt(9), None);
        let ticks: Vec<u32> = CodecKind::ALL.map(CodecKind::rtp_ticks_per_frame).into();
        assert_eq!(ticks, [160, 160, 960]);
        for k in CodecKind::ALL {
            if let Some(pt) = k.static_pt() {
                assert_eq!(CodecKind::from_static_pt(pt), Some(k));
            }
            assert_eq!(
                CodecKind::from_encoding(k.encoding_name(), k.clock_rate()),
                Some(k)
            );
        }
    }
}
