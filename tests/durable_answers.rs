//! The real switch, SQLite store and sockets (127.0.0.1, port 0): a response that tells a
//! peer its call is recorded leaves only after the store has the record (issue 6). When
//! the caller's answer arrives the call's in-flight row is already committed; when the 200
//! to its BYE arrives the call's CDR is. (Before, both left as soon as they were decided and
//! the store caught up a commit later.)

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::config::Config;
use switchboard::store::CdrQuery;
use tokio::net::UdpSocket;

const PLAN: &str = r#"
[context.t]
[[context.t.extension]]
exten = "800"
actions = [{ dial = { trunk = "out", number = "800", timeout = 10 } }]
"#;

fn config(dir: &std::path::Path, callee: SocketAddr) -> Config {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "durable.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
mode = "bypass"
[[trunk]]
name = "in"
host = "127.0.0.1:9"
inbound = ["127.0.0.1"]
context = "t"
[[trunk]]
name = "out"
host = "{callee}"
context = "t"
"#,
        db = dir.join("sb.db").display(),
        plans = dir.display(),
    );
    Config::parse("durable.toml", &text).expect("valid test config")
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn invite(from: SocketAddr) -> String {
    format!(
        "INVITE sip:800@durable.test SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKinv1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@carrier>;tag=c1\r\nTo: <sip:800@durable.test>\r\n\
         Call-ID: durable-1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{from}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or("")
}

/// A UA's response to `req` (its Via, From, Call-ID and CSeq; our tag on To).
fn response(req: &str, status: &str, to_tag: &str, contact: SocketAddr, body: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    for line in req
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("via:"))
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    let to = header(req, "To");
    let to = match to.contains(";tag=") {
        true => to.to_string(),
        false => format!("{to};tag={to_tag}"),
    };
    out.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:ua@{contact}>\r\n",
        header(req, "From"),
        header(req, "Call-ID"),
        header(req, "CSeq"),
    ));
    if !body.is_empty() {
        out.push_str("Content-Type: application/sdp\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out
}

/// The caller's in-dialog request after the switch's 2xx `ok`.
fn in_dialog(method: &str, cseq: u32, ok: &str, from: SocketAddr, sw: SocketAddr) -> String {
    format!(
        "{method} sip:sw@{sw} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{method}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n",
        header(ok, "From"),
        header(ok, "To"),
        header(ok, "Call-ID"),
    )
}

/// The next message on `sock` whose first line passes `want` (others are skipped).
async fn recv(sock: &UdpSocket, want: impl Fn(&str) -> bool) -> String {
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
            .await
            .expect("a message within 5 s")
            .expect("recv");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if want(msg.lines().next().unwrap_or("")) {
            return msg;
        }
    }
}

#[tokio::test]
async fn answer_and_bye_200_arrive_only_after_the_store_has_the_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (a, b) = (caller.local_addr().unwrap(), callee.local_addr().unwrap());
    let running = switchboard::runtime::start(config(dir.path(), b))
        .await
        .expect("switch starts");
    let sw = running.bound.udp[0];
    let store = running.store.clone();

    caller.send_to(invite(a).as_bytes(), sw).await.unwrap();
    let b_invite = recv(&callee, |l| l.starts_with("INVITE")).await;
    // The callee answers at once: the switch may not have committed the call's start yet.
    let ok = response(&b_invite, "200 OK", "callee", b, SDP);
    callee.send_to(ok.as_bytes(), sw).await.unwrap();
    let a_ok = recv(&caller, |l| l.starts_with("SIP/2.0 200")).await;
    assert_eq!(
        store.in_flight_count().await.unwrap(),
        1,
        "the caller's answer left after the in-flight row was committed"
    );

    caller
        .send_to(in_dialog("ACK", 1, &a_ok, a, sw).as_bytes(), sw)
        .await
        .unwrap();
    caller
        .send_to(in_dialog("BYE", 2, &a_ok, a, sw).as_bytes(), sw)
        .await
        .unwrap();
    let b_bye = recv(&callee, |l| l.starts_with("BYE")).await;
    let bye_ok = recv(&caller, |l| l.starts_with("SIP/2.0 200")).await;
    assert!(header(&bye_ok, "CSeq").ends_with("BYE"), "{bye_ok}");
    let query = CdrQuery {
        call_id: Some("durable-1".into()),
        ..CdrQuery::default()
    };
    let cdrs = store.cdrs(&query).await.unwrap();
    assert_eq!(
        cdrs.len(),
        1,
        "the 200 to BYE left after the CDR was committed"
    );
    assert_eq!(cdrs[0].hangup_cause, "normal_clearing");
    assert_eq!(store.in_flight_count().await.unwrap(), 0);

    let b_bye_ok = response(&b_bye, "200 OK", "callee", b, "");
    callee.send_to(b_bye_ok.as_bytes(), sw).await.unwrap();
    running.drain();
    tokio::time::timeout(Duration::from_secs(5), running.wait())
        .await
        .expect("drain ends the switch");
}
