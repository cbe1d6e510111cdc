//! rsip 0.4 as a cross-check oracle: on ordinary messages (the kind it parses right, see
//! research/rig.md §5), our parser and rsip agree on method, Request-URI, From, To,
//! Call-ID and CSeq.

use bytes::Bytes;
use rsip::prelude::*;
use switchboard::sip::message::{self as ours, HasHeaders};

const MESSAGES: &[&str] = &[
    "REGISTER sip:registrar.example.com SIP/2.0\r\n\
     Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
     Max-Forwards: 70\r\n\
     To: \"Bob\" <sip:bob@example.com>\r\n\
     From: \"Bob\" <sip:bob@example.com>;tag=456248\r\n\
     Call-ID: 843817637684230@998sdasdh09\r\n\
     CSeq: 1826 REGISTER\r\n\
     Contact: <sip:bob@192.0.2.10:5060>;expires=3600\r\n\
     Expires: 7200\r\n\
     Content-Length: 0\r\n\r\n",
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
     Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8\r\n\
     Max-Forwards: 70\r\n\
     To: Bob <sip:bob@biloxi.example.com>\r\n\
     From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
     Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
     CSeq: 314159 INVITE\r\n\
     Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
     Content-Type: application/sdp\r\n\
     Content-Length: 136\r\n\r\n\
     v=0\r\n\
     o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n\
     s=-\r\n\
     c=IN IP4 192.0.2.101\r\n\
     t=0 0\r\n\
     m=audio 49172 RTP/AVP 0\r\n\
     a=rtpmap:0 PCMU/8000\r\n",
    "SIP/2.0 200 OK\r\n\
     Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;received=192.0.2.101\r\n\
     To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
     From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
     Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
     CSeq: 314159 INVITE\r\n\
     Contact: <sip:bob@192.0.2.4>\r\n\
     Content-Length: 0\r\n\r\n",
    "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n\
     Via: SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKnashds10\r\n\
     Max-Forwards: 70\r\n\
     From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
     To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
     Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
     CSeq: 231 BYE\r\n\
     Content-Length: 0\r\n\r\n",
    "CANCEL sip:bob@biloxi.example.com SIP/2.0\r\n\
     Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8\r\n\
     Max-Forwards: 70\r\n\
     To: Bob <sip:bob@biloxi.example.com>\r\n\
     From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
     Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
     CSeq: 314159 CANCEL\r\n\
     Content-Length: 0\r\n\r\n",
    "OPTIONS sip:carol@chicago.example.com:5070;transport=tcp SIP/2.0\r\n\
     Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\r\n\
     Max-Forwards: 70\r\n\
     To: <sip:carol@chicago.example.com>\r\n\
     From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
     Call-ID: a84b4c76e66710\r\n\
     CSeq: 63104 OPTIONS\r\n\
     Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
     Accept: application/sdp\r\n\
     Content-Length: 0\r\n\r\n",
];

fn rsip_addr(uri: &rsip::Uri, tag: Option<String>) -> (Option<String>, String, Option<String>) {
    (
        uri.user().map(str::to_owned),
        uri.host_with_port.to_string(),
        tag,
    )
}

fn our_addr(n: &ours::NameAddr) -> (Option<String>, String, Option<String>) {
    (
        n.uri.user.clone(),
        n.uri.host_port(),
        n.tag().map(str::to_owned),
    )
}

#[test]
fn ours_and_rsip_agree_on_ordinary_messages() {
    for text in MESSAGES {
        let theirs = rsip::SipMessage::try_from(*text).expect("rsip parses");
        let mine = ours::parse(Bytes::from_static(text.as_bytes())).expect("we parse");
        assert_eq!(ours::validate(&mine), Ok(()));
        let first_line = text.lines().next().unwrap_or_default();

        match (&theirs, &mine) {
            (rsip::SipMessage::Request(t), ours::SipMessage::Request(m)) => {
                assert_eq!(t.method().to_string(), m.method.as_str(), "{first_line}");
                assert_eq!(t.uri().user(), m.uri.user.as_deref(), "{first_line}");
                assert_eq!(
                    t.uri().host_with_port.to_string(),
                    m.uri.host_port(),
                    "{first_line}"
                );
                // rsip upper-cases `transport=` values; URI parameters compare case-insensitively.
                assert_eq!(
                    t.uri().to_string().to_ascii_lowercase(),
                    m.uri.to_string().to_ascii_lowercase(),
                    "{first_line}"
                );
            }
            (rsip::SipMessage::Response(t), ours::SipMessage::Response(m)) => {
                assert_eq!(u16::from(t.status_code.clone()), m.status, "{first_line}");
            }
            _ => panic!("kind differs: {first_line}"),
        }

        let from = theirs.from_header().unwrap().typed().unwrap();
        assert_eq!(
            rsip_addr(&from.uri, from.tag().map(|t| t.to_string())),
            our_addr(&mine.from().unwrap()),
            "{first_line} From"
        );
        let to = theirs.to_header().unwrap().typed().unwrap();
        assert_eq!(
            rsip_addr(&to.uri, to.tag().map(|t| t.to_string())),
            our_addr(&mine.to().unwrap()),
            "{first_line} To"
        );
        // rsip keeps the quotes (rig.md §5 defect 13); these names have no escapes.
        let their_display = to.display_name.as_deref().map(|d| d.trim_matches('"'));
        assert_eq!(
            their_display,
            mine.to().unwrap().display.as_deref(),
            "{first_line} To display"
        );
        assert_eq!(
            theirs.call_id_header().unwrap().value(),
            mine.call_id().unwrap(),
            "{first_line}"
        );
        let cseq = theirs.cseq_header().unwrap().typed().unwrap();
        let our_cseq = mine.cseq().unwrap();
        assert_eq!(
            (cseq.seq, cseq.method.to_string()),
            (our_cseq.seq, our_cseq.method.to_string()),
            "{first_line}"
        );
        assert_eq!(theirs.body(), &mine.body()[..], "{first_line} body");
    }
}
