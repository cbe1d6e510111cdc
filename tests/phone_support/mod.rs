//! A scripted SIP phone for integration tests: a UDP socket that registers with digest,
//! waits for the message it expects and answers requests with hand-made responses.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::sip::auth::{authorization, Challenge};
use tokio::net::UdpSocket;

pub fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or("")
}

pub fn sdp(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
}

/// A response to `req` (Via, From, To with our tag, Call-ID, CSeq copied).
pub fn response(req: &str, status: &str, tag: &str, body: &str) -> String {
    let mut to = header(req, "To").to_string();
    if !to.contains(";tag=") {
        to.push_str(&format!(";tag={tag}"));
    }
    let vias: String = req
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("via:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let ctype = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".into()
    };
    format!(
        "SIP/2.0 {status}\r\n{vias}From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n\
         Contact: <sip:peer@127.0.0.1>\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
        header(req, "From"),
        header(req, "Call-ID"),
        header(req, "CSeq"),
        body.len()
    )
}

pub struct Peer {
    pub sock: UdpSocket,
    pub switch: SocketAddr,
}

impl Peer {
    pub async fn new(switch: SocketAddr) -> Peer {
        Peer {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            switch,
        }
    }

    pub fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    pub async fn send(&self, msg: &str) {
        self.sock
            .send_to(msg.as_bytes(), self.switch)
            .await
            .unwrap();
    }

    /// Hangs up the call this peer answered (`invite`, answered with To tag `tag`): sends
    /// the BYE and waits for its 200.
    pub async fn hang_up(&self, invite: &str, tag: &str) {
        let me = self.sock.local_addr().unwrap();
        let cid = header(invite, "Call-ID");
        let branch: String = cid.chars().filter(char::is_ascii_alphanumeric).collect();
        let bye = format!(
            "BYE sip:switch@{sw} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKbye{branch}\r\n\
             Max-Forwards: 70\r\nFrom: {to};tag={tag}\r\nTo: {from}\r\nCall-ID: {cid}\r\n\
             CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
            sw = self.switch,
            to = header(invite, "To"),
            from = header(invite, "From"),
        );
        self.send(&bye).await;
        self.expect("SIP/2.0 200").await;
    }

    /// Waits for the switch's BYE and answers it; returns the BYE.
    pub async fn answer_bye(&self) -> String {
        let bye = self.expect("BYE ").await;
        self.send(&response(&bye, "200 OK", "peer", "")).await;
        bye
    }

    /// The next message starting with `start` (others are skipped).
    pub async fn expect(&self, start: &str) -> String {
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, _) =
                tokio::time::timeout(Duration::from_secs(10), self.sock.recv_from(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("no {start} within 10 s"))
                    .unwrap();
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.starts_with(start) {
                return msg;
            }
        }
    }
}

/// Registers `user` at the switch with digest (the 401 answered once).
pub async fn register(phone: &Peer, user: &str, password: &str, domain: &str) {
    let req = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};rport;branch=z9hG4bKreg{user}{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag=r1\r\nTo: <sip:{user}@{domain}>\r\n\
             Call-ID: reg-{user}-{p}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{p}>\r\n\
             Expires: 600\r\n{auth}Content-Length: 0\r\n\r\n",
            p = phone.port()
        )
    };
    phone.send(&req(1, "")).await;
    let challenge = phone.expect("SIP/2.0 401").await;
    let ch = Challenge::parse(header(&challenge, "WWW-Authenticate")).expect("challenge");
    let uri = format!("sip:{domain}");
    let auth = authorization(&ch, user, password, "REGISTER", &uri, 1, "c0ffee");
    phone
        .send(&req(2, &format!("Authorization: {auth}\r\n")))
        .await;
    phone.expect("SIP/2.0 200").await;
}
