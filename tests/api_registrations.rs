//! A phone registers over UDP with digest auth; the API lists its binding (AOR, contact,
//! expiry, transport, source address) and counts it in /stats and /metrics.

mod api_support;

use api_support::{header, recv_response, start, AGENT, SUPERVISOR};
use switchboard::sip::auth::{authorization, Challenge};
use tokio::net::UdpSocket;

fn register(me: std::net::SocketAddr, cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:api.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKreg{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:1001@api.test>;tag=r1\r\nTo: <sip:1001@api.test>\r\nCall-ID: reg-1001@api.test\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@{me}>\r\nExpires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn a_registered_phone_is_listed() {
    let h = start().await;
    let phone = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let me = phone.local_addr().expect("addr");
    phone
        .send_to(register(me, 1, None).as_bytes(), h.sip)
        .await
        .expect("send");
    let challenge = recv_response(&phone, 401).await;
    let challenge = Challenge::parse(header(&challenge, "WWW-Authenticate").expect("challenge"))
        .expect("parse");
    let auth = authorization(
        &challenge,
        "1001",
        "alice-1001",
        "REGISTER",
        "sip:api.test",
        1,
        "c0ffee",
    );
    phone
        .send_to(register(me, 2, Some(&auth)).as_bytes(), h.sip)
        .await
        .expect("send");
    recv_response(&phone, 200).await;

    let regs = h.get_json("/api/v1/registrations", SUPERVISOR).await;
    let regs = regs.as_array().expect("array");
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0]["aor"], "1001");
    assert_eq!(regs[0]["contact"], format!("sip:1001@{me}"));
    assert_eq!(regs[0]["transport"], "udp");
    assert_eq!(regs[0]["source"], me.to_string());
    let expires = regs[0]["expires_in"].as_u64().expect("expires_in");
    assert!(expires > 500 && expires <= 600, "{expires}");

    assert_eq!(h.get_json("/api/v1/stats", AGENT).await["registrations"], 1);
    let metrics = h
        .client
        .get(h.url("/metrics"))
        .send()
        .await
        .expect("HTTP")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("\nswitchboard_registrations 1\n"),
        "{metrics}"
    );
    h.stop().await;
}
