//! RTP counters reach `/metrics`: a real call through the real switch with its media
//! relayed; both phones send RTP (one with a gap in its sequence numbers), each packet is
//! seen arriving at the other phone, the call is hung up through the API, and the
//! relay's per-call counters are in the totals.

mod api_support;

use std::collections::HashMap;
use std::net::SocketAddr;

use api_support::{answer_bye, sdp_at, sdp_media, start_with, SUPERVISOR, WAIT};
use tokio::net::UdpSocket;

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xff; 160]);
    p
}

/// Sends the packets with these sequence numbers to `to` and waits until each one has
/// come out of the relay at `far`.
async fn stream(from: &UdpSocket, to: SocketAddr, far: &UdpSocket, seqs: &[u16], ssrc: u32) {
    let mut buf = [0u8; 2048];
    for &seq in seqs {
        from.send_to(&rtp(seq, ssrc), to).await.expect("send RTP");
        let (n, _) = tokio::time::timeout(WAIT, far.recv_from(&mut buf))
            .await
            .expect("the relay forwards RTP")
            .expect("recv");
        assert_eq!(
            &buf[2..4],
            &seq.to_be_bytes()[..],
            "in order, unchanged seq"
        );
        assert_eq!(n, 172);
    }
}

fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

#[tokio::test]
async fn relayed_rtp_is_counted_in_metrics() {
    let h = start_with("mode = \"relay\"\nrtp_ports = \"24600-24699\"").await;
    let a_rtp = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let b_rtp = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let (offer, answer) = (
        sdp_at(a_rtp.local_addr().expect("addr").port()),
        sdp_at(b_rtp.local_addr().expect("addr").port()),
    );
    let (_, b_invite, a_ok) = h.answered_call_with("5557777", &offer, &answer).await;
    // Each phone sends to the relay address it was given.
    let relay_for_a = sdp_media(&a_ok);
    let relay_for_b = sdp_media(&b_invite);
    assert_ne!(
        relay_for_a,
        a_rtp.local_addr().expect("addr"),
        "media is anchored"
    );

    // A: 10 packets, seq 100..=111 without 104 and 105 (2 lost). B: 5 packets.
    let a_seqs: Vec<u16> = (100..=111).filter(|s| *s != 104 && *s != 105).collect();
    stream(&a_rtp, relay_for_a, &b_rtp, &a_seqs, 0xa).await;
    stream(&b_rtp, relay_for_b, &a_rtp, &[7, 8, 9, 10, 11], 0xb).await;

    let calls = h.get_json("/api/v1/calls", SUPERVISOR).await;
    let id = calls[0]["id"].as_str().expect("id").to_string();
    let del = h
        .client
        .delete(h.url(&format!("/api/v1/calls/{id}")))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(del.status(), 204);
    tokio::join!(answer_bye(&h.caller), answer_bye(&h.callee));

    let text = h.metrics_when_idle().await;
    let m = samples(&text);
    assert_eq!(
        m.get("switchboard_rtp_packets_received_total"),
        Some(&15.0),
        "{text}"
    );
    assert_eq!(
        m.get("switchboard_rtp_packets_sent_total"),
        Some(&15.0),
        "{text}"
    );
    assert_eq!(
        m.get("switchboard_rtp_packets_lost_total"),
        Some(&2.0),
        "{text}"
    );
    assert_eq!(
        m.get("switchboard_rtp_jitter_seconds_count"),
        Some(&2.0),
        "{text}"
    );
    h.stop().await;
}
