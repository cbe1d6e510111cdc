//! SDP (RFC 4566 / RFC 3264) as real phones send it: parse, round-trip, relay rewrite, hold.

use std::net::{IpAddr, SocketAddr};

use switchboard::sip::sdp::{Direction, SdpError, SdpSyntax, SessionDescription};

fn crlf(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn linphone() -> Vec<u8> {
    crlf(&[
        "v=0",
        "o=alice 2281 1543 IN IP4 192.168.1.20",
        "s=Talk",
        "c=IN IP4 192.168.1.20",
        "t=0 0",
        "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
        "m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
        "a=rtpmap:96 opus/48000/2",
        "a=fmtp:96 useinbandfec=1",
        "a=rtpmap:97 speex/16000",
        "a=fmtp:97 vbr=on",
        "a=rtpmap:98 speex/8000",
        "a=fmtp:98 vbr=on",
        "a=fmtp:18 annexb=yes",
        "a=rtpmap:101 telephone-event/48000",
        "a=rtpmap:99 telephone-event/16000",
        "a=rtpmap:100 telephone-event/8000",
        "a=rtcp-fb:* trr-int 1000",
        "a=rtcp-fb:* ccm tmmbr",
    ])
}

fn baresip() -> Vec<u8> {
    crlf(&[
        "v=0",
        "o=- 1712434355 1712434355 IN IP4 10.0.0.5",
        "s=-",
        "c=IN IP4 10.0.0.5",
        "t=0 0",
        "m=audio 10470 RTP/AVP 0 8 101",
        "b=AS:64",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=rtcp:10471 IN IP4 10.0.0.5",
        "a=sendrecv",
        "a=label:1",
        "a=ssrc:3520111046 cname:sip:bob@example.com",
        "a=rtcp-mux",
        "a=ptime:20",
    ])
}

fn polycom() -> Vec<u8> {
    crlf(&[
        "v=0",
        "o=- 1700000000 1700000000 IN IP4 172.16.4.31",
        "s=Polycom IP Phone",
        "c=IN IP4 172.16.4.31",
        "t=0 0",
        "a=sendrecv",
        "m=audio 2222 RTP/AVP 9 102 0 8 18 127",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:102 G7221/16000",
        "a=fmtp:102 bitrate=32000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:18 G729/8000",
        "a=fmtp:18 annexb=no",
        "a=rtpmap:127 telephone-event/8000",
    ])
}

/// SIPp's built-in uac (bare LF, as its scenario XML writes it).
fn sipp() -> Vec<u8> {
    b"v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n".to_vec()
}

fn chrome() -> Vec<u8> {
    crlf(&[
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Gx8n",
        "a=ice-pwd:lJ0nQkw3Kjr7Yf0VtI9V2l1i",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=sendrecv",
        "a=msid:- 1b0a6ed4-3b3c-4b4f-8d3e-1f7c6a1a2b3c",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:126 telephone-event/8000",
    ])
}

fn ipv6() -> Vec<u8> {
    crlf(&[
        "v=0",
        "o=- 20518 0 IN IP6 2001:db8::10",
        "s=-",
        "c=IN IP6 2001:db8::10",
        "t=0 0",
        "m=audio 40000 RTP/AVP 8 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
    ])
}

#[test]
fn real_phone_bodies_round_trip_byte_exact() {
    for (name, body) in [
        ("linphone", linphone()),
        ("baresip", baresip()),
        ("polycom", polycom()),
        ("sipp", sipp()),
        ("chrome", chrome()),
        ("ipv6", ipv6()),
    ] {
        let sdp = SessionDescription::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sdp.to_bytes(), body, "{name} did not round-trip");
    }
}

#[test]
fn trailing_blank_line_and_missing_final_newline_round_trip() {
    let mut body = baresip();
    body.extend_from_slice(b"\r\n");
    let sdp = SessionDescription::parse(&body).unwrap();
    assert_eq!(sdp.to_bytes(), body);
    let body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0".to_vec();
    assert_eq!(SessionDescription::parse(&body).unwrap().to_bytes(), body);
}

#[test]
fn odd_spacing_survives_when_untouched() {
    let body = crlf(&[
        "v=0",
        "o=- 1  2 IN IP4 10.0.0.1 ",
        "s=-",
        "c=IN IP4  10.0.0.1",
        "t=0 0",
        "m=audio  4000 RTP/AVP 0",
    ]);
    let sdp = SessionDescription::parse(&body).unwrap();
    assert_eq!(sdp.origin().session_version, 2);
    assert_eq!(sdp.to_bytes(), body);
}

#[test]
fn typed_helpers_read_attributes() {
    let sdp = SessionDescription::parse(&baresip()).unwrap();
    let m = &sdp.media()[0];
    assert_eq!(m.media_line().media, "audio");
    assert_eq!(m.media_line().proto, "RTP/AVP");
    assert_eq!(m.media_line().formats, ["0", "8", "101"]);
    assert_eq!(m.rtpmap(8).unwrap().encoding, "PCMA");
    let te = m.telephone_event().unwrap();
    assert_eq!((te.payload_type, te.clock_rate), (101, 8000));
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    let rtcp = m.rtcp().unwrap();
    assert_eq!(
        (rtcp.port, rtcp.address),
        (10471, Some("10.0.0.5".parse().unwrap()))
    );
    assert!(m.rtcp_mux());
    assert_eq!(m.attribute("label"), Some(Some("1")));
    assert_eq!(m.attribute("nope"), None);
    assert_eq!(sdp.direction(0).unwrap(), Direction::SendRecv);
    assert_eq!(
        sdp.remote_rtp(0).unwrap(),
        Some("10.0.0.5:10470".parse().unwrap())
    );
    // rtcp-mux wins over a=rtcp
    assert_eq!(
        sdp.remote_rtcp(0).unwrap(),
        Some("10.0.0.5:10470".parse().unwrap())
    );

    let poly = SessionDescription::parse(&polycom()).unwrap();
    assert_eq!(poly.media()[0].telephone_event().unwrap().payload_type, 127);
    assert_eq!(poly.media()[0].fmtp(18), Some("annexb=no"));
    assert_eq!(
        poly.remote_rtcp(0).unwrap(),
        Some("172.16.4.31:2223".parse().unwrap())
    );
    // session-level direction applies to media without its own
    assert_eq!(poly.direction(0).unwrap(), Direction::SendRecv);

    let chrome = SessionDescription::parse(&chrome()).unwrap();
    assert_eq!(chrome.media()[0].media_line().proto, "UDP/TLS/RTP/SAVPF");
    assert_eq!(chrome.remote_rtp(0).unwrap(), None, "0.0.0.0 is no address");
}

#[test]
fn rewrite_for_relay_changes_only_what_it_must() {
    let mut sdp = SessionDescription::parse(&baresip()).unwrap();
    let relay: IpAddr = "203.0.113.7".parse().unwrap();
    sdp.rewrite_for_relay(0, relay, 30000, Some(30001)).unwrap();
    sdp.bump_version();
    let out = String::from_utf8(sdp.to_bytes()).unwrap();
    let expected = String::from_utf8(crlf(&[
        "v=0",
        "o=- 1712434355 1712434356 IN IP4 10.0.0.5",
        "s=-",
        "c=IN IP4 203.0.113.7",
        "t=0 0",
        "m=audio 30000 RTP/AVP 0 8 101",
        "b=AS:64",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=rtcp:30001 IN IP4 203.0.113.7",
        "a=sendrecv",
        "a=label:1",
        "a=ssrc:3520111046 cname:sip:bob@example.com",
        "a=rtcp-mux",
        "a=ptime:20",
    ]))
    .unwrap();
    assert_eq!(out, expected);
    // the result parses back to what we asked for
    let again = SessionDescription::parse(out.as_bytes()).unwrap();
    assert_eq!(
        again.remote_rtp(0).unwrap(),
        Some(SocketAddr::new(relay, 30000))
    );
    assert_eq!(again.origin().session_version, 1712434356);
}

#[test]
fn rewrite_adds_rtcp_and_can_remove_it() {
    let mut sdp = SessionDescription::parse(&sipp()).unwrap();
    sdp.rewrite_for_relay(0, "127.0.0.1".parse().unwrap(), 40000, Some(40001))
        .unwrap();
    assert_eq!(sdp.media()[0].rtcp().unwrap().port, 40001);
    assert!(sdp
        .to_string()
        .ends_with("a=rtpmap:0 PCMU/8000\na=rtcp:40001\n"));
    sdp.rewrite_for_relay(0, "127.0.0.1".parse().unwrap(), 40000, None)
        .unwrap();
    assert!(sdp.media()[0].rtcp().is_none());
}

#[test]
fn rewrite_pins_other_media_to_the_old_session_address() {
    let body = crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 10.0.0.1",
        "s=-",
        "c=IN IP4 10.0.0.1",
        "t=0 0",
        "m=audio 4000 RTP/AVP 0",
        "m=video 4002 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
    ]);
    let mut sdp = SessionDescription::parse(&body).unwrap();
    sdp.rewrite_for_relay(0, "192.0.2.1".parse().unwrap(), 5000, Some(5001))
        .unwrap();
    assert_eq!(
        sdp.remote_rtp(0).unwrap(),
        Some("192.0.2.1:5000".parse().unwrap())
    );
    assert_eq!(
        sdp.remote_rtp(1).unwrap(),
        Some("10.0.0.1:4002".parse().unwrap())
    );
    assert!(sdp
        .to_string()
        .contains("m=video 4002 RTP/AVP 96\r\nc=IN IP4 10.0.0.1\r\n"));
    assert_eq!(
        sdp.rewrite_for_relay(2, "192.0.2.1".parse().unwrap(), 1, None),
        Err(SdpError::NoSuchMedia(2))
    );
}

#[test]
fn rewrite_media_level_connection_ipv6() {
    let mut sdp = SessionDescription::parse(&chrome()).unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    sdp.rewrite_for_relay(0, v6, 30010, Some(30011)).unwrap();
    let m = &sdp.media()[0];
    // 0.0.0.0 in Chrome's offer means "ICE will tell"; it is a null address, kept null
    assert!(m.connection().unwrap().is_null());
    assert_eq!(m.connection().unwrap().addrtype, "IP6");
    assert_eq!(m.media_line().port, 30010);
    assert_eq!(
        m.rtcp().unwrap().address,
        Some("2001:db8::1".parse().unwrap())
    );

    let mut v6sdp = SessionDescription::parse(&ipv6()).unwrap();
    assert_eq!(
        v6sdp.remote_rtp(0).unwrap(),
        Some("[2001:db8::10]:40000".parse().unwrap())
    );
    v6sdp.rewrite_for_relay(0, v6, 30020, Some(30021)).unwrap();
    assert!(v6sdp.to_string().contains("c=IN IP6 2001:db8::1\r\n"));
    assert_eq!(
        v6sdp.remote_rtp(0).unwrap(),
        Some("[2001:db8::1]:30020".parse().unwrap())
    );
}

#[test]
fn hold_offers_both_styles() {
    // RFC 3264 §8.4 sendonly
    let body = crlf(&[
        "v=0",
        "o=- 1 2 IN IP4 10.0.0.1",
        "s=-",
        "c=IN IP4 10.0.0.1",
        "t=0 0",
        "m=audio 4000 RTP/AVP 0",
        "a=sendonly",
    ]);
    let sdp = SessionDescription::parse(&body).unwrap();
    assert_eq!(sdp.direction(0).unwrap(), Direction::SendOnly);
    assert!(sdp.is_held(0).unwrap());
    assert_eq!(
        Direction::answer_to(sdp.direction(0).unwrap()),
        Direction::RecvOnly
    );
    // RFC 2543 style 0.0.0.0
    let body = crlf(&[
        "v=0",
        "o=- 1 3 IN IP4 10.0.0.1",
        "s=-",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "m=audio 4000 RTP/AVP 0",
    ]);
    let mut sdp = SessionDescription::parse(&body).unwrap();
    assert!(sdp.is_held(0).unwrap());
    assert_eq!(sdp.remote_rtp(0).unwrap(), None);
    sdp.rewrite_for_relay(0, "192.0.2.1".parse().unwrap(), 5000, Some(5001))
        .unwrap();
    assert!(
        sdp.to_string().contains("c=IN IP4 0.0.0.0\r\n"),
        "hold stays hold"
    );
    // not held
    let sdp = SessionDescription::parse(&baresip()).unwrap();
    assert!(!sdp.is_held(0).unwrap());
}

#[test]
fn set_direction_replaces_in_place() {
    let mut sdp = SessionDescription::parse(&baresip()).unwrap();
    sdp.set_direction(0, Direction::Inactive).unwrap();
    assert_eq!(sdp.direction(0).unwrap(), Direction::Inactive);
    let text = sdp.to_string();
    assert!(text.contains("a=rtcp:10471 IN IP4 10.0.0.5\r\na=inactive\r\na=label:1\r\n"));
    assert!(!text.contains("sendrecv"));
    let mut sdp = SessionDescription::parse(&sipp()).unwrap();
    sdp.set_direction(0, Direction::SendOnly).unwrap();
    assert!(sdp.to_string().ends_with("a=sendonly\n"));
    // media-level overrides session-level
    let mut poly = SessionDescription::parse(&polycom()).unwrap();
    poly.set_direction(0, Direction::RecvOnly).unwrap();
    assert_eq!(poly.direction(0).unwrap(), Direction::RecvOnly);
}

fn err(body: &[u8]) -> (usize, SdpSyntax) {
    match SessionDescription::parse(body) {
        Err(SdpError::Syntax { line, reason }) => (line, reason),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn bad_sdp_names_line_and_reason() {
    assert_eq!(err(b""), (1, SdpSyntax::Empty));
    assert_eq!(
        err(b"o=- 1 1 IN IP4 1.2.3.4\r\n"),
        (1, SdpSyntax::VersionFirst)
    );
    assert_eq!(
        err(b"v=1\r\n"),
        (1, SdpSyntax::UnsupportedVersion("1".into()))
    );
    assert_eq!(err(b"v=0\r\ns=-\r\n"), (2, SdpSyntax::MissingOrigin));
    assert_eq!(err(b"v=0\r\n"), (2, SdpSyntax::MissingOrigin));
    assert_eq!(
        err(b"v=0\r\no=- 1 x IN IP4 1.2.3.4\r\n"),
        (2, SdpSyntax::BadOrigin)
    );
    assert_eq!(
        err(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 999.1.1.1\r\n"),
        (4, SdpSyntax::BadConnection)
    );
    assert_eq!(
        err(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio x RTP/AVP 0\r\n"),
        (5, SdpSyntax::BadMedia)
    );
    assert_eq!(
        err(
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio 4000 RTP/AVP\r\n"
        ),
        (5, SdpSyntax::BadMedia)
    );
    assert_eq!(
        err(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nbogus\r\n"),
        (4, SdpSyntax::NotTypeValue)
    );
    assert_eq!(
        err(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n"),
        (4, SdpSyntax::NoConnection(0))
    );
    assert_eq!(
        err(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=\xff\r\n"),
        (3, SdpSyntax::NotUtf8)
    );
    let e = SessionDescription::parse(b"v=0\r\nx").unwrap_err();
    assert_eq!(e.status_code(), 488);
    assert!(e.to_string().starts_with("SDP line 2:"));
}

#[test]
fn bump_version_increases_each_time() {
    let mut sdp = SessionDescription::parse(&sipp()).unwrap();
    sdp.bump_version();
    sdp.bump_version();
    assert_eq!(sdp.origin().session_version, 2353687639);
    assert!(sdp
        .to_string()
        .starts_with("v=0\no=user1 53655765 2353687639 IN IP4 127.0.0.1\n"));
}
