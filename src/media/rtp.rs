//! RTP fixed header (RFC 3550 §5.1) as a borrowed view, and the RFC 4733 §2.3
//! telephone-event payload. Parsing never allocates and never panics on short input.

/// Why a datagram is not RTP we can relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("shorter than its RTP header")]
    TooShort,
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("padding longer than the payload")]
    BadPadding,
}

/// A parsed RTP header over the datagram it came in.
#[derive(Debug, Clone, Copy)]
pub struct RtpHeader<'a> {
    buf: &'a [u8],
    header_len: usize,
    payload_end: usize,
}

pub const FIXED_HEADER_LEN: usize = 12;

impl<'a> RtpHeader<'a> {
    /// Check version, CSRC count, extension length and padding against the datagram length.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort);
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let csrc_count = usize::from(buf[0] & 0x0f);
        let mut header_len = FIXED_HEADER_LEN + 4 * csrc_count;
        if buf[0] & 0x10 != 0 {
            // extension: 16-bit profile id, 16-bit length in 32-bit words (RFC 3550 §5.3.1)
            let ext = buf
                .get(header_len..header_len + 4)
                .ok_or(RtpError::TooShort)?;
            header_len += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        }
        if header_len > buf.len() {
            return Err(RtpError::TooShort);
        }
        let mut payload_end = buf.len();
        if buf[0] & 0x20 != 0 {
            let pad = usize::from(buf[buf.len() - 1]);
            if pad == 0 || header_len + pad > buf.len() {
                return Err(RtpError::BadPadding);
            }
            payload_end -= pad;
        }
        Ok(RtpHeader {
            buf,
            header_len,
            payload_end,
        })
    }
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7f
    }
    pub fn sequence(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let n = usize::from(self.buf[0] & 0x0f);
        self.buf[FIXED_HEADER_LEN..FIXED_HEADER_LEN + 4 * n]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    /// The payload without header, extension and padding.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len..self.payload_end]
    }
}

/// RFC 5761 §4: with RTCP multiplexed on the RTP port, RTCP packet types 192–223 occupy
/// the octet where RTP has marker + payload type.
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 2 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

/// Rewrite the payload type in place, keeping the marker bit.
pub fn set_payload_type(buf: &mut [u8], pt: u8) {
    if let Some(b) = buf.get_mut(1) {
        *b = (*b & 0x80) | (pt & 0x7f);
    }
}

/// One RFC 4733 §2.3 named-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0–63).
    pub volume: u8,
    /// In timestamp units since the event's RTP timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let p = payload.get(..4)?;
        Some(TelephoneEvent {
            event: p[0],
            end: p[1] & 0x80 != 0,
            volume: p[1] & 0x3f,
            duration: u16::from_be_bytes([p[2], p[3]]),
        })
    }
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
    /// DTMF events 0–15 (RFC 4733 §3.2): `0-9 * # A-D`.
    pub fn digit(self) -> Option<char> {
        Some(match self.event {
            0..=9 => char::from(b'0' + self.event),
            10 => '*',
            11 => '#',
            12..=15 => char::from(b'A' + self.event - 12),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(first: u8, extra: &[u8]) -> Vec<u8> {
        let mut p = vec![
            first,
            0x80 | 101,
            0x12,
            0x34,
            0,
            0,
            0x01,
            0x00,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        p.extend_from_slice(extra);
        p
    }

    #[test]
    fn fixed_header_fields() {
        let p = packet(0x80, &[1, 2, 3]);
        let h = RtpHeader::parse(&p).unwrap();
        assert!(h.marker());
        assert_eq!(
            (h.payload_type(), h.sequence(), h.timestamp(), h.ssrc()),
            (101, 0x1234, 256, 0xdeadbeef)
        );
        assert_eq!(h.payload(), &[1, 2, 3]);
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        // CC=1, X=1, P=1: csrc, ext header (len 1 word), ext word, payload [9], padding 2
        let p = packet(
            0x80 | 0x20 | 0x10 | 1,
            &[0, 0, 0, 7, 0xbe, 0xde, 0, 1, 1, 1, 1, 1, 9, 0, 2],
        );
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.csrcs().collect::<Vec<_>>(), [7]);
        assert_eq!(h.header_len(), 12 + 4 + 8);
        assert_eq!(h.payload(), &[9]);
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        assert_eq!(
            RtpHeader::parse(&[0x80; 11]).unwrap_err(),
            RtpError::TooShort
        );
        assert_eq!(
            RtpHeader::parse(&packet(0x40, &[])).unwrap_err(),
            RtpError::BadVersion(1)
        );
        assert_eq!(
            RtpHeader::parse(&packet(0x80 | 3, &[0; 8])).unwrap_err(),
            RtpError::TooShort
        );
        assert_eq!(
            RtpHeader::parse(&packet(0x80 | 0x10, &[0, 0, 0, 9])).unwrap_err(),
            RtpError::TooShort
        );
        assert_eq!(
            RtpHeader::parse(&packet(0x80 | 0x20, &[0])).unwrap_err(),
            RtpError::BadPadding
        );
        assert_eq!(
            RtpHeader::parse(&packet(0x80 | 0x20, &[9])).unwrap_err(),
            RtpError::BadPadding
        );
    }

    #[test]
    fn rtcp_is_told_apart_and_pt_rewrite_keeps_marker() {
        assert!(is_rtcp(&[0x81, 200, 0, 6]));
        assert!(!is_rtcp(&packet(0x80, &[])));
        let mut p = packet(0x80, &[]);
        set_payload_type(&mut p, 96);
        assert_eq!(p[1], 0x80 | 96);
    }

    #[test]
    fn telephone_event_round_trip() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Some(e));
        assert_eq!(e.digit(), Some('#'));
        assert_eq!(TelephoneEvent { event: 13, ..e }.digit(), Some('B'));
        assert_eq!(TelephoneEvent { event: 16, ..e }.digit(), None);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
    }
}
