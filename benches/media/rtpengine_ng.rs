//! rtpengine as the reference relay of `benches/media_load.rs`: starts the Debian
//! `rtpengine` daemon in userspace mode (`--table=-1`) on loopback, talks to it over its
//! "ng" control protocol and stops it again.
//!
//! The ng protocol (rtpengine docs, "ng Control Protocol"): one UDP datagram per message,
//! `<cookie> <bencoded dictionary>`; the reply carries the same cookie. A call is set up with
//! `offer` (the caller's SDP in, the SDP for the callee out) and `answer` (the callee's SDP
//! in, the SDP for the caller out), and torn down with `delete`. Bencode (BEP 3): byte
//! strings `len:bytes`, integers `i42e`, lists `l…e`, dictionaries `d…e` with sorted keys.
//! Only what the bench needs is here: no TCP/WebSocket transport, no flags.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A decoded bencode value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bencode {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Bencode>),
    Dict(BTreeMap<Vec<u8>, Bencode>),
}

impl Bencode {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Bencode::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
            Bencode::Bytes(b) => {
                out.extend_from_slice(format!("{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            Bencode::List(l) => {
                out.push(b'l');
                l.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Bencode::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    Bencode::Bytes(k.clone()).encode(out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Decodes one value from the front of `input`; returns it and the rest.
    pub fn decode(input: &[u8]) -> Result<(Bencode, &[u8]), NgError> {
        let bad = |what: &'static str| NgError::Bencode(what);
        match input.first() {
            Some(b'i') => {
                let end = input
                    .iter()
                    .position(|&c| c == b'e')
                    .ok_or(bad("integer"))?;
                let n = std::str::from_utf8(&input[1..end])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(bad("integer"))?;
                Ok((Bencode::Int(n), &input[end + 1..]))
            }
            Some(b'l') => {
                let mut rest = &input[1..];
                let mut items = Vec::new();
                while rest.first() != Some(&b'e') {
                    let (v, r) = Bencode::decode(rest)?;
                    items.push(v);
                    rest = r;
                }
                Ok((Bencode::List(items), &rest[1..]))
            }
            Some(b'd') => {
                let mut rest = &input[1..];
                let mut map = BTreeMap::new();
                while rest.first() != Some(&b'e') {
                    let (k, r) = Bencode::decode(rest)?;
                    let Bencode::Bytes(k) = k else {
                        return Err(bad("dictionary key"));
                    };
                    let (v, r) = Bencode::decode(r)?;
                    map.insert(k, v);
                    rest = r;
                }
                Ok((Bencode::Dict(map), &rest[1..]))
            }
            Some(c) if c.is_ascii_digit() => {
                let colon = input.iter().position(|&c| c == b':').ok_or(bad("string"))?;
                let len: usize = std::str::from_utf8(&input[..colon])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(bad("string length"))?;
                let body = input.get(colon + 1..colon + 1 + len).ok_or(bad("string"))?;
                Ok((Bencode::Bytes(body.to_vec()), &input[colon + 1 + len..]))
            }
            _ => Err(bad("value")),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Bencode> {
        match self {
            Bencode::Dict(d) => d.get(key.as_bytes()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Bencode::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
}

/// A dictionary of string values, the shape of every ng request.
pub fn dict(pairs: &[(&str, &str)]) -> Bencode {
    Bencode::Dict(
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), Bencode::Bytes(v.as_bytes().to_vec())))
            .collect(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum NgError {
    #[error("ng socket: {0}")]
    Io(#[from] io::Error),
    #[error("bad bencode: {0}")]
    Bencode(&'static str),
    #[error("no ng reply after {0} tries")]
    NoReply(u32),
    #[error("rtpengine says {result}: {reason}")]
    Refused { result: String, reason: String },
    #[error("no usable SDP in the reply: {0}")]
    NoSdp(String),
    #[error("rtpengine did not come up: {0}")]
    Startup(String),
}

/// A blocking ng client on one UDP socket.
pub struct NgClient {
    sock: UdpSocket,
    server: SocketAddr,
    next_cookie: u64,
}

impl NgClient {
    pub fn new(server: SocketAddr) -> Result<Self, NgError> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(500)))?;
        Ok(NgClient {
            sock,
            server,
            next_cookie: 0,
        })
    }

    /// Sends `req`, waits for the reply with the same cookie (3 tries), checks `result`.
    pub fn request(&mut self, req: &Bencode) -> Result<Bencode, NgError> {
        // rtpengine caches replies by cookie (to answer retransmissions): cookies must be
        // unique across clients, so they carry our socket's port
        self.next_cookie += 1;
        let port = self.sock.local_addr().map(|a| a.port()).unwrap_or(0);
        let cookie = format!("{}_{port}_{}", std::process::id(), self.next_cookie);
        let mut msg = format!("{cookie} ").into_bytes();
        req.encode(&mut msg);
        let mut buf = vec![0u8; 65536];
        for _ in 0..3 {
            self.sock.send_to(&msg, self.server)?;
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline {
                let n = match self.sock.recv(&mut buf) {
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break
                    }
                    Err(e) => return Err(e.into()),
                };
                let Some(body) = buf[..n]
                    .strip_prefix(cookie.as_bytes())
                    .and_then(|b| b.strip_prefix(b" "))
                else {
                    continue; // a late reply to an earlier try
                };
                let (reply, _) = Bencode::decode(body)?;
                let result = reply.get("result").and_then(Bencode::as_str).unwrap_or("");
                if result == "ok" || result == "pong" {
                    return Ok(reply);
                }
                return Err(NgError::Refused {
                    result: result.to_string(),
                    reason: reply
                        .get("error-reason")
                        .and_then(Bencode::as_str)
                        .unwrap_or("")
                        .to_string(),
                });
            }
        }
        Err(NgError::NoReply(3))
    }

    pub fn ping(&mut self) -> Result<(), NgError> {
        self.request(&dict(&[("command", "ping")])).map(|_| ())
    }

    /// `offer` with the caller's SDP; returns where the callee must send (rtpengine's port).
    pub fn offer(
        &mut self,
        call_id: &str,
        from_tag: &str,
        sdp: &str,
    ) -> Result<SocketAddr, NgError> {
        let req = dict(&[
            ("command", "offer"),
            ("call-id", call_id),
            ("from-tag", from_tag),
            ("sdp", sdp),
        ]);
        sdp_rtp_addr(&self.request(&req)?)
    }

    /// `answer` with the callee's SDP; returns where the caller must send.
    pub fn answer(
        &mut self,
        call_id: &str,
        from_tag: &str,
        to_tag: &str,
        sdp: &str,
    ) -> Result<SocketAddr, NgError> {
        let req = dict(&[
            ("command", "answer"),
            ("call-id", call_id),
            ("from-tag", from_tag),
            ("to-tag", to_tag),
            ("sdp", sdp),
        ]);
        sdp_rtp_addr(&self.request(&req)?)
    }

    pub fn delete(&mut self, call_id: &str, from_tag: &str) -> Result<(), NgError> {
        let req = dict(&[
            ("command", "delete"),
            ("call-id", call_id),
            ("from-tag", from_tag),
        ]);
        self.request(&req).map(|_| ())
    }
}

/// A minimal G.711 audio offer for a phone at `addr`.
pub fn phone_sdp(addr: SocketAddr) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
}

/// The `c=` address and `m=audio` port of the SDP in an ng reply.
fn sdp_rtp_addr(reply: &Bencode) -> Result<SocketAddr, NgError> {
    let no_sdp = || NgError::NoSdp(format!("{reply:?}").chars().take(300).collect());
    let sdp = reply
        .get("sdp")
        .and_then(Bencode::as_str)
        .ok_or_else(no_sdp)?;
    let mut ip = None;
    let mut port = None;
    for line in sdp.lines() {
        if let Some(c) = line.strip_prefix("c=IN IP4 ") {
            ip = c.trim().parse().ok();
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            port = m.split(' ').next().and_then(|p| p.parse().ok());
        }
    }
    match (ip, port) {
        (Some(ip), Some(port)) => Ok(SocketAddr::new(ip, port)),
        _ => Err(no_sdp()),
    }
}

/// The rtpengine daemon, started in the foreground by the bench; stopped (SIGTERM, then
/// SIGKILL) on drop.
pub struct Rtpengine {
    child: Child,
    pub ng: SocketAddr,
}

impl Rtpengine {
    /// `rtpengine` userspace-only on 127.0.0.1 with `threads` worker threads and media ports
    /// `ports`; waits up to 5 s for it to answer an ng `ping`.
    pub fn start(
        bin: &str,
        ng_port: u16,
        ports: (u16, u16),
        threads: usize,
        log: &str,
    ) -> Result<Self, NgError> {
        use std::os::unix::process::CommandExt;
        let log_file = std::fs::File::create(log)?;
        let mut cmd = Command::new(bin);
        // SAFETY: prctl is async-signal-safe; it makes the kernel stop rtpengine if the bench
        // dies without running Drop (killed by `timeout`, SIGKILL), so no daemon is left behind.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .args([
                "--config-file=none".to_string(),
                "--foreground".into(),
                "--log-stderr".into(),
                "--log-level=5".into(),
                "--table=-1".into(),
                "--interface=127.0.0.1".into(),
                format!("--listen-ng=127.0.0.1:{ng_port}"),
                format!("--port-min={}", ports.0),
                format!("--port-max={}", ports.1),
                format!("--num-threads={threads}"),
                "--delete-delay=0".into(),
                "--timeout=120".into(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| NgError::Startup(format!("{bin}: {e}")))?;
        let mut me = Rtpengine {
            child,
            ng: SocketAddr::from(([127, 0, 0, 1], ng_port)),
        };
        let mut client = NgClient::new(me.ng)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(NgError::Startup(format!("exited with {status}; see {log}")));
            }
            if client.ping().is_ok() {
                return Ok(me);
            }
            if Instant::now() > deadline {
                return Err(NgError::Startup(format!("no pong on {}; see {log}", me.ng)));
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Rtpengine {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Self-check run by the smoke run (`cargo test --all-targets`): bencode round trip and the
/// SDP address extraction, without rtpengine.
pub fn self_check() {
    let req = dict(&[("command", "offer"), ("call-id", "c1"), ("sdp", "v=0\r\n")]);
    let mut wire = Vec::new();
    req.encode(&mut wire);
    assert_eq!(
        wire,
        b"d7:call-id2:c17:command5:offer3:sdp5:v=0\r\ne".to_vec()
    );
    let (back, rest) = Bencode::decode(&wire).expect("decode");
    assert!(rest.is_empty());
    assert_eq!(back, req);
    let (nested, _) = Bencode::decode(b"d1:ali1ei-2e3:xyze1:di0eee").expect("nested");
    assert_eq!(
        nested.get("a"),
        Some(&Bencode::List(vec![
            Bencode::Int(1),
            Bencode::Int(-2),
            Bencode::Bytes(b"xyz".to_vec())
        ]))
    );
    assert!(Bencode::decode(b"5:abc").is_err());
    assert!(Bencode::decode(b"d1:a").is_err());
    let reply = dict(&[
        ("result", "ok"),
        ("sdp", &phone_sdp("127.0.0.1:10012".parse().unwrap())),
    ]);
    assert_eq!(
        sdp_rtp_addr(&reply).expect("sdp"),
        "127.0.0.1:10012".parse().unwrap()
    );
}
