//! The real switch answers a call itself and plays a prompt (IVR): over real sockets the
//! caller gets our SDP answer, then the prompt as RTP paced at 20 ms in its codec, then
//! the BYE of the dialplan's hangup.

use std::time::Duration;

use switchboard::config::Config;
use tokio::net::UdpSocket;

const PLAN: &str = r#"
[context.t]
[[context.t.extension]]
exten = "600"
actions = ["answer", { playback = "goodbye" }, { hangup = "normal_clearing" }]
"#;

fn config(dir: &std::path::Path) -> Config {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "ivr.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
rtp_ports = "28500-28599"
prompts_dir = "{root}/prompts"
recordings_dir = "{rec}"
[[trunk]]
name = "t"
host = "127.0.0.1:9"
inbound = ["127.0.0.1"]
context = "t"
"#,
        db = dir.join("sb.db").display(),
        plans = dir.display(),
        rec = dir.join("rec").display(),
        root = env!("CARGO_MANIFEST_DIR"),
    );
    Config::parse("ivr.toml", &text).expect("valid test config")
}

fn invite(rtp_port: u16) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    format!(
        "INVITE sip:600@ivr.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;rport;branch=z9hG4bKivr1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@carrier>;tag=c1\r\nTo: <sip:600@ivr.test>\r\n\
         Call-ID: ivr-runtime-1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or("")
}

#[tokio::test]
async fn the_switch_answers_and_plays_a_prompt_as_paced_rtp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let running = switchboard::runtime::start(config(dir.path()))
        .await
        .expect("switch starts");
    let sw = running.bound.udp[0];
    let sip = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sip.send_to(invite(rtp.local_addr().unwrap().port()).as_bytes(), sw)
        .await
        .unwrap();
    let mut buf = vec![0u8; 65535];
    let ok = loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), sip.recv_from(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.starts_with("SIP/2.0 200") {
            break msg;
        }
    };
    assert!(ok.contains("m=audio ") && ok.contains("RTP/AVP 0"), "{ok}");
    let ack = format!(
        "ACK sip:600@ivr.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKivr1ack\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@carrier>;tag=c1\r\nTo: {}\r\nCall-ID: ivr-runtime-1\r\n\
         CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        header(&ok, "To")
    );
    sip.send_to(ack.as_bytes(), sw).await.unwrap();

    // RTP until the BYE
    let mut packets: Vec<(u16, u32, u8)> = Vec::new();
    let mut rtp_buf = [0u8; 2048];
    let bye = loop {
        tokio::select! {
            r = rtp.recv_from(&mut rtp_buf) => {
                let (n, _) = r.unwrap();
                assert!(n >= 12 + 160, "a 20 ms G.711 frame");
                let seq = u16::from_be_bytes([rtp_buf[2], rtp_buf[3]]);
                let ts = u32::from_be_bytes([rtp_buf[4], rtp_buf[5], rtp_buf[6], rtp_buf[7]]);
                packets.push((seq, ts, rtp_buf[1] & 0x7f));
            }
            r = sip.recv_from(&mut buf) => {
                let (n, _) = r.unwrap();
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.starts_with("BYE ") { break msg; }
            }
            _ = tokio::time::sleep(Duration::from_secs(5)) => panic!("no BYE after the prompt"),
        }
    };
    // goodbye.wav is 0.98 s: 49 frames of 20 ms
    assert!(
        (45..=55).contains(&packets.len()),
        "{} packets",
        packets.len()
    );
    assert!(packets.iter().all(|p| p.2 == 0), "PCMU, the caller's codec");
    for w in packets.windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "sequence numbers in order");
        assert_eq!(w[1].1, w[0].1.wrapping_add(160), "timestamps 20 ms apart");
    }
    assert!(bye.contains("Call-ID: ivr-runtime-1"));
}
