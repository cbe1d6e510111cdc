//! The real switch on real sockets (127.0.0.1 and ::1, port 0): OPTIONS over UDP on
//! both address families and over TCP (with Content-Length framing across writes), a
//! 400 naming the problem for an invalid request, silence for garbage, and a prompt
//! end on drain when no call is up.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn config(db: &str) -> Config {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0", "udp:[::1]:0", "tcp:127.0.0.1:0"]
domain = "rt.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{}/dialplans"
"#,
        env!("CARGO_MANIFEST_DIR")
    );
    Config::parse("runtime.toml", &text).expect("valid test config")
}

fn options(via: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:rt.test SIP/2.0\r\nVia: SIP/2.0/{via};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@rt.test>;tag=p\r\nTo: <sip:rt.test>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

async fn udp_exchange(to: SocketAddr, text: &str) -> Option<String> {
    udp_exchange_within(to, text, Duration::from_secs(2)).await
}

async fn udp_exchange_within(to: SocketAddr, text: &str, wait: Duration) -> Option<String> {
    let bind = if to.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let sock = UdpSocket::bind(bind).await.unwrap();
    sock.send_to(text.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 65535];
    match tokio::time::timeout(wait, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn switch_answers_on_udp_v4_v6_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    let running = switchboard::runtime::start(config(db.to_str().unwrap()))
        .await
        .expect("switch starts");
    let v4 = running.bound.udp[0];
    let v6 = running.bound.udp[1];
    let tcp = running.bound.tcp[0];

    // A phone behind NAT: its Via names a private address; the answer comes back to the
    // source address with received/rport filled in (RFC 3581).
    let r = udp_exchange(v4, &options("UDP 192.0.2.1:5060;rport", "v4"))
        .await
        .expect("answer over UDP/IPv4");
    assert!(r.starts_with("SIP/2.0 200"), "{r}");
    assert!(
        r.contains("received=127.0.0.1") && r.contains("rport="),
        "RFC 3581 received/rport: {r}"
    );

    let r = udp_exchange(v6, &options("UDP [::1]:1", "v6"))
        .await
        .expect("answer over UDP/IPv6");
    assert!(r.starts_with("SIP/2.0 200"), "{r}");

    // TCP: one message split across two writes, then a second one in the same write as a keepalive.
    let mut stream = TcpStream::connect(tcp).await.unwrap();
    let msg = options("TCP 127.0.0.1:1", "tcp1");
    let (a, b) = msg.split_at(40);
    stream.write_all(a.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(b.as_bytes()).await.unwrap();
    stream
        .write_all(format!("\r\n\r\n{}", options("TCP 127.0.0.1:1", "tcp2")).as_bytes())
        .await
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches("SIP/2.0 200").count() < 2 {
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .expect("TCP answers")
            .unwrap();
        assert!(n > 0, "connection closed early");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        got.contains("Call-ID: tcp1") && got.contains("Call-ID: tcp2"),
        "{got}"
    );

    // Invalid: CSeq method differs from the request line → 400 naming it.
    let bad = options("UDP 127.0.0.1:1", "bad").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    let r = udp_exchange(v4, &bad).await.expect("a 400");
    assert!(r.starts_with("SIP/2.0 400"), "{r}");
    assert!(
        r.lines().next().unwrap().to_lowercase().contains("cseq"),
        "{r}"
    );

    // Garbage: no answer, and the switch still works after it.
    assert!(
        udp_exchange_within(v4, "\u{0}\u{1}garbage", Duration::from_millis(200))
            .await
            .is_none()
    );
    assert!(udp_exchange(v4, &options("UDP 127.0.0.1:1", "after"))
        .await
        .is_some());

    // Draining with no call in progress ends the switch promptly (and flushes the store).
    running.drain();
    tokio::time::timeout(Duration::from_secs(5), running.wait())
        .await
        .expect("drain ends the switch");
}
