//! Seeded random mutations of real SDP bodies and random datagrams: the parsers never
//! panic, and whatever SDP they accept prints back to something that parses to the same.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchboard::media::rtp::{RtpHeader, TelephoneEvent};
use switchboard::sip::sdp::SessionDescription;

const SEEDS: &[&[u8]] = &[
    b"v=0\r\no=- 1712434355 1712434355 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 10470 RTP/AVP 0 8 101\r\nb=AS:64\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp:10471 IN IP4 10.0.0.5\r\na=sendrecv\r\na=rtcp-mux\r\na=ptime:20\r\n",
    b"v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
    b"v=0\r\no=- 20518 0 IN IP6 2001:db8::10\r\ns=-\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8 101\r\nc=IN IP6 2001:db8::10\r\na=rtpmap:8 PCMA/8000\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\n",
];

const ALPHABET: &[u8] = b"\r\n =:/.0123456789aocmvtsIPN46-\xff";

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=v.len());
        match rng.random_range(0..3) {
            0 if at < v.len() => {
                v.remove(at);
            }
            1 if at < v.len() => v[at] = ALPHABET[rng.random_range(0..ALPHABET.len())],
            _ => v.insert(at, ALPHABET[rng.random_range(0..ALPHABET.len())]),
        }
    }
    v
}

#[test]
fn mutated_sdp_never_panics_and_accepted_sdp_reprints_stably() {
    let mut rng = StdRng::seed_from_u64(0x5d9);
    let mut accepted = 0;
    for i in 0..3_000 {
        let body = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        let Ok(sdp) = SessionDescription::parse(&body) else {
            continue;
        };
        accepted += 1;
        let printed = sdp.to_bytes();
        let again = SessionDescription::parse(&printed).expect("our own output parses");
        assert_eq!(
            again.to_bytes(),
            printed,
            "printing is stable for {:?}",
            String::from_utf8_lossy(&body)
        );
        for m in 0..sdp.media().len() {
            let _ = (
                sdp.direction(m),
                sdp.remote_rtp(m),
                sdp.remote_rtcp(m),
                sdp.is_held(m),
            );
            let mut edited = sdp.clone();
            edited
                .rewrite_for_relay(m, "192.0.2.1".parse().unwrap(), 30000, Some(30001))
                .unwrap();
            edited.bump_version();
            SessionDescription::parse(&edited.to_bytes()).expect("an edited body parses");
        }
    }
    assert!(
        accepted > 150,
        "the mutations should keep many bodies valid ({accepted})"
    );
}

#[test]
fn random_datagrams_never_panic_the_rtp_view() {
    let mut rng = StdRng::seed_from_u64(0x4733);
    for _ in 0..10_000 {
        let len = rng.random_range(0..64);
        let mut buf: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if len > 0 && rng.random_bool(0.7) {
            buf[0] = (buf[0] & 0x3f) | 0x80; // mostly version 2, to reach the deeper checks
        }
        if let Ok(h) = RtpHeader::parse(&buf) {
            assert!(h.header_len() + h.payload().len() <= buf.len());
            let _ = (
                h.marker(),
                h.payload_type(),
                h.sequence(),
                h.timestamp(),
                h.ssrc(),
                h.csrcs().count(),
            );
            let _ = TelephoneEvent::parse(h.payload()).map(|e| e.digit());
        }
    }
}
