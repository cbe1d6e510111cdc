//! Reception report blocks read from the RTCP a phone sends (RFC 3550 §6.4): what the phone
//! says of the stream it receives from the relay (fraction lost, cumulative lost,
//! interarrival jitter). The relay forwards RTCP untouched; this only reads it, so the
//! call record holds the far end's view next to the relay's own observations
//! ([`super::stats::Reception`]).
//!
//! A compound packet is walked packet by packet (§6.1): each has version 2 and a length in
//! 32-bit words minus one. A sender report (PT 200) carries its report blocks after 20
//! bytes of sender info, a receiver report (PT 201) right after the sender's SSRC. Other
//! packets (SDES, BYE, APP, feedback) are skipped. A truncated packet ends the walk: what
//! was read before it stands.

/// RTCP packet types (RFC 3550 §12.1).
const SR: u8 = 200;
const RR: u8 = 201;
/// Bytes of a report block (§6.4.1).
const BLOCK_LEN: usize = 24;
/// Bytes of a sender report's sender info (NTP, RTP timestamp, counts).
const SENDER_INFO_LEN: usize = 20;

/// One reception report block: a receiver's view of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Packets lost since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost since reception began (expected minus received; negative with
    /// duplicates).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

impl ReportBlock {
    fn parse(b: &[u8]) -> ReportBlock {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // 24-bit two's complement (§6.4.1: "signed").
        let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: word(0),
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: word(8),
            jitter: word(12),
        }
    }
}

/// The first report block of the first SR or RR in a compound packet that has one, or
/// None (no report, not RTCP, or truncated before any block).
pub fn first_report(buf: &[u8]) -> Option<ReportBlock> {
    let mut rest = buf;
    while rest.len() >= 4 {
        let (first, pt) = (rest[0], rest[1]);
        if first >> 6 != 2 {
            return None;
        }
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        let packet = rest.get(..len)?;
        let count = usize::from(first & 0x1f);
        let blocks_at = match pt {
            SR => 8 + SENDER_INFO_LEN,
            RR => 8,
            _ => {
                rest = &rest[len..];
                continue;
            }
        };
        if count > 0 {
            return packet
                .get(blocks_at..blocks_at + BLOCK_LEN)
                .map(ReportBlock::parse);
        }
        rest = &rest[len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32, fraction: u8, lost: i32, seq: u32, jitter: u32) -> Vec<u8> {
        let mut b = ssrc.to_be_bytes().to_vec();
        b.push(fraction);
        b.extend_from_slice(&(lost as u32).to_be_bytes()[1..]);
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&jitter.to_be_bytes());
        b.extend_from_slice(&[0; 8]); // LSR, DLSR
        b
    }

    fn packet(pt: u8, count: u8, body: &[u8]) -> Vec<u8> {
        let words = (4 + body.len()) / 4 - 1;
        let mut p = vec![0x80 | count, pt];
        p.extend_from_slice(&(words as u16).to_be_bytes());
        p.extend_from_slice(body);
        p
    }

    fn rr(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut body = 0x1111_1111u32.to_be_bytes().to_vec();
        blocks.iter().for_each(|b| body.extend_from_slice(b));
        packet(RR, blocks.len() as u8, &body)
    }

    #[test]
    fn a_receiver_report_gives_its_first_block() {
        let p = rr(&[block(7, 64, 12, 70_000, 80), block(8, 0, 0, 1, 1)]);
        let r = first_report(&p).expect("a block");
        assert_eq!(
            r,
            ReportBlock {
                ssrc: 7,
                fraction_lost: 64,
                cumulative_lost: 12,
                highest_seq: 70_000,
                jitter: 80
            }
        );
    }

    #[test]
    fn a_sender_report_has_its_blocks_after_the_sender_info() {
        let mut body = 0x2222_2222u32.to_be_bytes().to_vec();
        body.extend_from_slice(&[0xEE; SENDER_INFO_LEN]);
        body.extend_from_slice(&block(9, 3, 5, 100, 40));
        let r = first_report(&packet(SR, 1, &body)).expect("a block");
        assert_eq!(
            (r.ssrc, r.fraction_lost, r.cumulative_lost, r.jitter),
            (9, 3, 5, 40)
        );
    }

    #[test]
    fn a_compound_packet_is_walked_past_reports_without_blocks_and_sdes() {
        let mut sr_no_blocks = 0x3333_3333u32.to_be_bytes().to_vec();
        sr_no_blocks.extend_from_slice(&[0; SENDER_INFO_LEN]);
        let mut p = packet(SR, 0, &sr_no_blocks);
        p.extend(packet(202, 1, &[0x33, 0x33, 0x33, 0x33, 1, 2, b'a', b'b']));
        p.extend(rr(&[block(4, 1, 2, 3, 4)]));
        assert_eq!(first_report(&p).map(|r| r.ssrc), Some(4));
        assert_eq!(first_report(&packet(SR, 0, &sr_no_blocks)), None);
    }

    #[test]
    fn negative_cumulative_loss_keeps_its_sign() {
        let r = first_report(&rr(&[block(1, 0, -3, 10, 0)])).unwrap();
        assert_eq!(r.cumulative_lost, -3);
    }

    #[test]
    fn truncated_or_foreign_packets_give_nothing() {
        let p = rr(&[block(1, 0, 1, 10, 0)]);
        for cut in 0..p.len() {
            assert_eq!(first_report(&p[..cut]), None, "cut at {cut}");
        }
        let mut v1 = p.clone();
        v1[0] = 0x41;
        assert_eq!(first_report(&v1), None);
        // A count larger than the packet holds.
        let mut lying = p.clone();
        lying[0] = 0x80 | 2;
        assert_eq!(first_report(&lying).map(|r| r.ssrc), Some(1));
        let mut short = packet(RR, 1, &0x1u32.to_be_bytes());
        short.extend(rr(&[block(5, 0, 0, 0, 0)]));
        assert_eq!(
            first_report(&short),
            None,
            "the first report's block is missing"
        );
    }
}
