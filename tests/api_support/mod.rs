//! Shared by the `api_*` integration tests: start the real switch (`runtime::start`) on
//! loopback with ephemeral ports, a temporary SQLite store, a dialplan of its own and
//! three API tokens; two UDP "phones" (a carrier that calls in, a carrier that answers)
//! to make real SIP calls through it; and an HTTP client.
#![allow(dead_code)]

pub mod schema;

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::config::Config;
use switchboard::runtime::Running;
use tokio::net::UdpSocket;

pub const ADMIN: &str = "admin-token-0123456789";
pub const SUPERVISOR: &str = "super-token-0123456789";
pub const AGENT: &str = "agent-token-0123456789";

/// The offer and answer bodies of test calls.
pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// Guard against hangs only (never a timing assertion).
pub const WAIT: Duration = Duration::from_secs(5);

pub const PLAN: &str = r#"
[context.from-trunk]

[[context.from-trunk.extension]]
exten = "_X."
actions = [{ dial = { trunk = "callee", number = "${EXTEN}", timeout = 30 } }]
"#;

pub struct Harness {
    pub running: Running,
    pub http: SocketAddr,
    pub sip: SocketAddr,
    /// The carrier that calls in (its address is the inbound trunk source).
    pub caller: UdpSocket,
    /// The far end calls are dialled to.
    pub callee: UdpSocket,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

pub async fn start() -> Harness {
    start_with("mode = \"bypass\"").await
}

/// `media` is the body of the `[media]` section.
pub async fn start_with(media: &str) -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let plans = dir.path().join("dialplans");
    std::fs::create_dir(&plans).expect("mkdir");
    std::fs::write(plans.join("test.toml"), PLAN).expect("write plan");
    let caller = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let callee = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "api.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
{media}
[http]
listen = "127.0.0.1:0"
[[endpoint]]
user = "1001"
password = "alice-1001"
context = "from-trunk"
[[trunk]]
name = "carrier"
host = "{caller}"
inbound = ["{caller}"]
context = "from-trunk"
[[trunk]]
name = "callee"
host = "{callee}"
context = "from-trunk"
[[api_token]]
token = "{ADMIN}"
role = "admin"
name = "Ada Admin"
[[api_token]]
token = "{SUPERVISOR}"
role = "supervisor"
name = "Sam Supervisor"
[[api_token]]
token = "{AGENT}"
role = "agent"
agent = "1001"
name = "Alice Agent"
"#,
        db = dir.path().join("sb.db").display(),
        plans = plans.display(),
        caller = caller.local_addr().expect("addr"),
        callee = callee.local_addr().expect("addr"),
    );
    let cfg = Config::parse("api.toml", &text).expect("valid test config");
    let running = switchboard::runtime::start(cfg)
        .await
        .expect("switch starts");
    let http = running.http.expect("HTTP listens");
    let sip = running.bound.udp[0];
    Harness {
        running,
        http,
        sip,
        caller,
        callee,
        dir,
        client: reqwest::Client::new(),
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(token)
    }

    /// GET expecting 200; the body is checked against the OpenAPI document.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        let r = self.get(path, token).send().await.expect("HTTP");
        assert_eq!(r.status(), 200, "GET {path}");
        let body = r.json().await.expect("JSON body");
        schema::check("get", path, 200, &body);
        body
    }

    /// Any response's JSON body, checked against the OpenAPI document for its status.
    pub async fn checked(
        &self,
        method: &str,
        path: &str,
        r: reqwest::Response,
    ) -> (u16, serde_json::Value) {
        let status = r.status().as_u16();
        let body = r.json().await.expect("JSON body");
        schema::check(method, path, status, &body);
        (status, body)
    }

    pub async fn stop(self) {
        self.running.stop_now();
        tokio::time::timeout(WAIT, self.running.wait())
            .await
            .expect("the switch stops");
    }

    /// The carrier sends an INVITE to `number`; returns its Call-ID once the callee
    /// has the switch's INVITE (returned with its source) and has answered 180 Ringing.
    pub async fn ringing_call(&self, number: &str) -> (String, String, SocketAddr) {
        let call_id = format!("ring-{number}@api.test");
        let me = self.caller.local_addr().expect("addr");
        let invite = format!(
            "INVITE sip:{number}@api.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKring{number}\r\nMax-Forwards: 70\r\nFrom: <sip:carrier@{me}>;tag=c2\r\nTo: <sip:{number}@api.test>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@{me}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        );
        self.caller
            .send_to(invite.as_bytes(), self.sip)
            .await
            .expect("send INVITE");
        let (b_invite, from) = recv_request(&self.callee, "INVITE").await;
        let ringing = respond(&b_invite, 180, "Ringing", ";tag=b2");
        self.callee
            .send_to(ringing.as_bytes(), from)
            .await
            .expect("send 180");
        recv_response(&self.caller, 180).await;
        (call_id, b_invite, from)
    }

    /// A call from the carrier to `number`, answered by the callee: returns the Call-ID.
    pub async fn answered_call(&self, number: &str) -> String {
        self.answered_call_with(number, SDP, SDP).await.0
    }

    /// As [`Harness::answered_call`] with the caller's offer and the callee's answer;
    /// returns the Call-ID, the offer the callee got and the answer the caller got.
    pub async fn answered_call_with(
        &self,
        number: &str,
        offer: &str,
        answer: &str,
    ) -> (String, String, String) {
        let call_id = format!("call-{number}@api.test");
        let (sdp, answer_sdp) = (offer, answer);
        let me = self.caller.local_addr().expect("addr");
        let invite = format!(
            "INVITE sip:{number}@api.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKinv{number}\r\nMax-Forwards: 70\r\nFrom: <sip:carrier@{me}>;tag=c1\r\nTo: <sip:{number}@api.test>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@{me}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        self.caller
            .send_to(invite.as_bytes(), self.sip)
            .await
            .expect("send INVITE");
        // The callee gets the switch's INVITE and answers it.
        let (b_invite, from) = recv_request(&self.callee, "INVITE").await;
        let mut ok = respond(&b_invite, 200, "OK", ";tag=b1");
        let contact = format!(
            "Contact: <sip:{number}@{}>\r\n",
            self.callee.local_addr().expect("addr")
        );
        ok = ok.replacen(
            "Content-Length: 0\r\n\r\n",
            &format!(
                "{contact}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer_sdp}",
                answer_sdp.len()
            ),
            1,
        );
        self.callee
            .send_to(ok.as_bytes(), from)
            .await
            .expect("send 200");
        // The caller gets the 200 and ACKs it.
        let ok_a = recv_response(&self.caller, 200).await;
        let to = header(&ok_a, "To").expect("To");
        let ack = format!(
            "ACK sip:{number}@api.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKack{number}\r\nMax-Forwards: 70\r\nFrom: <sip:carrier@{me}>;tag=c1\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        );
        self.caller
            .send_to(ack.as_bytes(), self.sip)
            .await
            .expect("send ACK");
        (call_id, b_invite, ok_a)
    }
}

/// The value of the first header `name` (case-insensitive; no compact forms).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

/// A response to `req` copying Via/From/To/Call-ID/CSeq; `to_tag` is appended to To.
pub fn respond(req: &str, status: u16, reason: &str, to_tag: &str) -> String {
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for l in req.split("\r\n").skip(1).take_while(|l| !l.is_empty()) {
        let name = l
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out.push_str(&format!("{l}\r\n")),
            "to" if !l.contains("tag=") => out.push_str(&format!("{l}{to_tag}\r\n")),
            "to" => out.push_str(&format!("{l}\r\n")),
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

async fn recv(sock: &UdpSocket) -> (String, SocketAddr) {
    let mut buf = vec![0u8; 65535];
    let (n, from) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a SIP message arrives")
        .expect("recv");
    (String::from_utf8_lossy(&buf[..n]).into_owned(), from)
}

/// The next request with this method (other messages are skipped).
pub async fn recv_request(sock: &UdpSocket, method: &str) -> (String, SocketAddr) {
    loop {
        let (m, from) = recv(sock).await;
        if m.starts_with(&format!("{method} ")) {
            return (m, from);
        }
    }
}

/// The next response with this status (others are skipped).
pub async fn recv_response(sock: &UdpSocket, status: u16) -> String {
    loop {
        let (m, _) = recv(sock).await;
        if m.starts_with(&format!("SIP/2.0 {status} ")) {
            return m;
        }
    }
}

/// Answers the BYE the switch sends to `sock` with 200 OK.
pub async fn answer_bye(sock: &UdpSocket) {
    let (bye, from) = recv_request(sock, "BYE").await;
    sock.send_to(respond(&bye, 200, "OK", "").as_bytes(), from)
        .await
        .expect("send 200 to BYE");
}

/// The `c=` address and `m=audio` port of the SDP in a SIP message.
pub fn sdp_media(msg: &str) -> SocketAddr {
    let body = msg.split("\r\n\r\n").nth(1).expect("a body");
    let ip = body
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line");
    let port = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split(' ').next())
        .expect("m= line");
    format!("{}:{}", ip.trim(), port).parse().expect("address")
}

/// An SDP offer/answer with this RTP port on 127.0.0.1.
pub fn sdp_at(port: u16) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
}

impl Harness {
    /// The `/metrics` text once no call is left in the call table (the BYEs' answers
    /// have been processed); a bounded wait, not a timing assertion.
    pub async fn metrics_when_idle(&self) -> String {
        for _ in 0..500 {
            let text = self
                .client
                .get(self.url("/metrics"))
                .send()
                .await
                .expect("HTTP")
                .text()
                .await
                .expect("body");
            if text.contains("\nswitchboard_active_calls 0\n") {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("calls never ended");
    }
}
