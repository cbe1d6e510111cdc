//! The codecs of an SDP media description, as a transcoding B2BUA negotiates them.
//!
//! Owns [`CodecKind`] (the audio codecs the switch can decode and encode, with their RTP
//! profile facts: encoding name, clock rate, static payload type — RFC 3551 §6, RFC 7587
//! §4.1 and §7) and the offer/answer edits of RFC 3264 §6–§7 that transcoding needs.
//! It lives here, below `media`, because SDP needs it and imports point down; `media::codec`
//! re-exports it.
//!
//! Pure: no IO, no clock.

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

#[cfg(test)]
mod tests {
    use super::*;

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
