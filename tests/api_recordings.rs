//! The recordings index on the real switch: a call answered by the switch records itself
//! (`record_start`) while a prompt plays and hangs up; the finished file is indexed with
//! its call, size and duration, found by call and time, and downloaded as audio/wav by a
//! supervisor (not by an agent). A recording the dialplan wrote outside the recordings
//! directory is indexed but never served.

mod api_support;

use std::time::Duration;

use api_support::schema;
use api_support::{ADMIN, AGENT, SUPERVISOR, WAIT};
use serde_json::Value;
use switchboard::config::Config;
use tokio::net::UdpSocket;

const PLAN: &str = r#"
[context.t]
[[context.t.extension]]
exten = "700"
actions = ["answer", { record_start = { file = "calls/rec-700.wav" } }, { playback = "goodbye" }, { hangup = "normal_clearing" }]
[[context.t.extension]]
exten = "701"
actions = ["answer", { record_start = { file = "../outside.wav" } }, { playback = "goodbye" }, { hangup = "normal_clearing" }]
"#;

fn config(dir: &std::path::Path) -> Config {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "rec.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
rtp_ports = "33300-33399"
prompts_dir = "{root}/prompts"
recordings_dir = "{rec}"
[http]
listen = "127.0.0.1:0"
[[trunk]]
name = "t"
host = "127.0.0.1:9"
inbound = ["127.0.0.1"]
context = "t"
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
        db = dir.join("sb.db").display(),
        plans = dir.join("plans").display(),
        rec = dir.join("rec").display(),
        root = env!("CARGO_MANIFEST_DIR"),
    );
    Config::parse("rec.toml", &text).expect("valid test config")
}

fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or("")
}

/// Calls `exten`, acknowledges the answer and the switch's BYE; returns the Call-ID.
async fn call(sw: std::net::SocketAddr, exten: &str) -> String {
    let sip = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let me = sip.local_addr().expect("addr");
    let rtp = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = rtp.local_addr().expect("addr").port();
    let call_id = format!("rec-{exten}@rec.test");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    );
    let invite = format!(
        "INVITE sip:{exten}@rec.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKrec{exten}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@carrier>;tag=c1\r\nTo: <sip:{exten}@rec.test>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sip.send_to(invite.as_bytes(), sw).await.expect("send");
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, from) = tokio::time::timeout(WAIT, sip.recv_from(&mut buf))
            .await
            .expect("the switch answers and hangs up")
            .expect("recv");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.starts_with("SIP/2.0 200") && msg.contains("INVITE") {
            let ack = format!(
                "ACK sip:{exten}@rec.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKrec{exten}ack\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:caller@carrier>;tag=c1\r\nTo: {}\r\nCall-ID: {call_id}\r\n\
                 CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                header(&msg, "To")
            );
            sip.send_to(ack.as_bytes(), from).await.expect("send ACK");
        } else if msg.starts_with("BYE ") {
            let mut ok = String::from("SIP/2.0 200 OK\r\n");
            for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                ok.push_str(&format!("{name}: {}\r\n", header(&msg, name)));
            }
            ok.push_str("Content-Length: 0\r\n\r\n");
            sip.send_to(ok.as_bytes(), from).await.expect("send 200");
            return call_id;
        }
    }
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("HTTP")
}

#[tokio::test]
async fn a_finished_recording_is_indexed_and_downloaded_from_inside_its_directory_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("plans")).expect("mkdir");
    std::fs::write(dir.path().join("plans/plan.toml"), PLAN).expect("write plan");
    let running = switchboard::runtime::start(config(dir.path()))
        .await
        .expect("switch starts");
    let (sw, http) = (running.bound.udp[0], running.http.expect("HTTP"));
    let client = reqwest::Client::new();
    let url = |p: &str| format!("http://{http}{p}");

    let call_id = call(sw, "700").await;
    let outside_call = call(sw, "701").await;
    // The index row is written as the recording starts and completed when the relay has
    // closed the file, after the BYE: wait for that (a guard against hangs, not a timing
    // assertion).
    let deadline = tokio::time::Instant::now() + WAIT;
    let list: Value = loop {
        let list: Value = get(&client, &url("/api/v1/recordings"), SUPERVISOR)
            .await
            .json()
            .await
            .expect("JSON");
        let ended = list.as_array().map_or(0, |rows| {
            rows.iter().filter(|r| r["ended_at"].is_string()).count()
        });
        if ended >= 2 || tokio::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    schema::check("get", "/api/v1/recordings", 200, &list);
    let rows = list.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{list}");
    let row = rows
        .iter()
        .find(|r| r["call_id"] == call_id.as_str())
        .expect("the call's recording");
    assert_eq!(row["path"], "calls/rec-700.wav");
    assert_eq!(row["failed"], false);
    let bytes = row["bytes"].as_u64().expect("bytes");
    let on_disk = std::fs::metadata(dir.path().join("rec/calls/rec-700.wav"))
        .expect("the file")
        .len();
    assert_eq!(bytes, on_disk);
    let duration = row["duration_s"].as_f64().expect("duration");
    assert!(
        duration > 0.5 && duration < 5.0,
        "goodbye.wav lasts ~1 s: {duration}"
    );

    // Found by CDR id and by Call-ID; not by another call; not outside the time window.
    let cdr = row["call"].as_str().expect("call").to_string();
    for q in [cdr.as_str(), call_id.as_str()] {
        let found: Value = get(
            &client,
            &url(&format!("/api/v1/recordings?call={q}")),
            SUPERVISOR,
        )
        .await
        .json()
        .await
        .expect("JSON");
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{q}: {found}");
    }
    let started = row["started_at"].as_str().expect("started_at");
    let before: Value = get(
        &client,
        &url(&format!(
            "/api/v1/recordings?to={}",
            started.replace('+', "%2B")
        )),
        SUPERVISOR,
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert!(
        before
            .as_array()
            .expect("array")
            .iter()
            .all(|r| r["id"] != row["id"]),
        "{before}"
    );

    // The download: the WAV, byte for byte; a supervisor may, an agent may not.
    let id = row["id"].as_str().expect("id");
    let r = get(
        &client,
        &url(&format!("/api/v1/recordings/{id}")),
        SUPERVISOR,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    let body = r.bytes().await.expect("body");
    assert_eq!(body.len() as u64, on_disk);
    assert_eq!(&body[..4], b"RIFF");
    assert_eq!(
        body.as_ref(),
        std::fs::read(dir.path().join("rec/calls/rec-700.wav")).expect("read")
    );
    let r = get(&client, &url(&format!("/api/v1/recordings/{id}")), AGENT).await;
    assert_eq!(r.status(), 403);
    let r = client
        .get(url(&format!("/api/v1/recordings/{id}?token={SUPERVISOR}")))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 200, "?token= for <audio> elements");
    let r = get(&client, &url("/api/v1/recordings"), AGENT).await;
    assert_eq!(r.status(), 403);

    // The file written outside the directory is indexed, never served.
    let outside = rows
        .iter()
        .find(|r| r["call_id"] == outside_call.as_str())
        .expect("indexed");
    assert!(dir.path().join("outside.wav").exists());
    let r = get(
        &client,
        &url(&format!(
            "/api/v1/recordings/{}",
            outside["id"].as_str().expect("id")
        )),
        ADMIN,
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = get(&client, &url("/api/v1/recordings/nope"), ADMIN).await;
    assert_eq!(r.status(), 404);

    running.stop_now();
    tokio::time::timeout(WAIT, running.wait())
        .await
        .expect("the switch stops");
}
