//! What the dialer's real-socket tests share: a switch with a registered, logged-in
//! agent (1001) and a carrier trunk on a scripted UDP socket, a campaign with leads in
//! the store, and waits for what the switch stores. The test file declares
//! `mod phone_support;` before `mod dialer_support;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::config::Config;
use switchboard::dialer::campaign::{AbandonRegime, AgentSet, Campaign, DialMode};
use switchboard::dialer::live::DialerCommand;
use switchboard::store::{CallingWindow, CampaignState, NewLead, Store};
use tokio::net::UdpSocket;

use crate::phone_support::{register, response, sdp, Peer};

/// The RTP ports of `tests/dialer_runtime.rs`'s switches.
pub const RTP_PORTS: &str = "28600-28699";

pub fn config(dir: &std::path::Path, carrier: SocketAddr, rtp_ports: &str) -> Config {
    node_config(dir, carrier, "a", rtp_ports)
}

/// The switch `node` sharing the store in `dir` with any other node, taking RTP ports `rtp`.
pub fn node_config(dir: &std::path::Path, carrier: SocketAddr, node: &str, rtp: &str) -> Config {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "dialer.test"
[store]
url = "sqlite://{db}"
node = "{node}"
[dialplan]
dir = "{plans}"
[media]
rtp_ports = "{rtp}"
prompts_dir = "{root}/prompts"
recordings_dir = "{rec}"
[http]
listen = ""
[[endpoint]]
user = "1001"
password = "agentpw"
context = "internal"
[[trunk]]
name = "carrier"
host = "{carrier}"
context = "internal"
[[queue]]
name = "outbound"
strategy = "longest_idle"
ring_timeout_secs = 10
[[agent]]
id = "1001"
endpoint = "1001"
queues = [{{ queue = "outbound" }}]
"#,
        db = dir.join("sb.db").display(),
        plans = dir.display(),
        rec = dir.join("rec").display(),
        root = env!("CARGO_MANIFEST_DIR"),
    );
    Config::parse("dialer.toml", &text).expect("valid test config")
}

pub const PLAN: &str = r#"
[context.internal]
[[context.internal.extension]]
exten = "_X."
actions = [{ hangup = "unallocated_number" }]
"#;

pub async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 10 s");
}

pub async fn agent_state(running: &switchboard::runtime::Running) -> String {
    let view = running.control.acd().await.unwrap().unwrap();
    let a = view.agents.iter().find(|a| a.id.0 == "1001").unwrap();
    serde_json::to_value(&a.state).unwrap()["state"]
        .as_str()
        .unwrap()
        .to_string()
}

pub struct Floor {
    pub running: switchboard::runtime::Running,
    pub carrier: Peer,
    pub agent: Peer,
    pub campaign: switchboard::store::CampaignId,
    pub now: i64,
    pub _dir: tempfile::TempDir,
}

/// A switch with a registered, logged-in agent and a running campaign (open all day:
/// UK rules) with `leads` leads, woken up.
pub async fn floor(leads: u64) -> Floor {
    floor_with(leads, |_| {}).await
}

/// [`floor`] with the campaign's definition adjusted by `edit`.
pub async fn floor_with(leads: u64, edit: impl FnOnce(&mut Campaign)) -> Floor {
    floor_in(RTP_PORTS, leads, edit).await
}

/// [`floor_with`] with the switch's RTP ports in `rtp_ports` (each test file its own).
pub async fn floor_in(rtp_ports: &str, leads: u64, edit: impl FnOnce(&mut Campaign)) -> Floor {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let carrier_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let carrier_addr = carrier_sock.local_addr().unwrap();
    let running = switchboard::runtime::start(config(dir.path(), carrier_addr, rtp_ports))
        .await
        .expect("switch starts");
    let sw = running.bound.udp[0];
    let carrier = Peer {
        sock: carrier_sock,
        switch: sw,
    };
    let agent = Peer::new(sw).await;
    register(&agent, "1001", "agentpw", "dialer.test").await;
    assert!(running
        .control
        .agent_op("1001", switchboard::acd::AgentOp::Login)
        .await
        .unwrap());
    let store: &Store = &running.store;
    let now = switchboard::runtime::now_unix_ms();
    let mut def = Campaign::new(
        "spring",
        "carrier",
        "+442079460000",
        AgentSet::Queue("outbound".into()),
        DialMode::Progressive,
    );
    def.abandon.regime = AbandonRegime::UkOfcom;
    def.window = CallingWindow {
        open_min: 0,
        close_min: 24 * 60,
    };
    def.state = CampaignState::Running;
    // A short prompt keeps the test short (the default is `safe-harbor`).
    def.safe_harbor_prompt = "goodbye".into();
    edit(&mut def);
    let campaign = store
        .create_campaign(&def.to_new().expect("valid"), now)
        .await
        .unwrap();
    let list = store.create_list(&campaign, "seed", now).await.unwrap();
    let rows: Vec<NewLead> = (1..=leads)
        .map(|i| NewLead {
            seq: i,
            phone: format!("+44207946000{i}"),
            tz: "UTC".into(),
            fields: serde_json::json!({ "name": format!("customer {i}") }),
            priority: 0,
        })
        .collect();
    store
        .import_leads(&campaign, &list, &rows, now)
        .await
        .unwrap();
    running.dialer.send(DialerCommand::Wake);
    Floor {
        running,
        carrier,
        agent,
        campaign,
        now,
        _dir: dir,
    }
}

/// Lead 1 once its first attempt is stored (`what` names the wait).
pub async fn attempted_lead(
    store: &Store,
    campaign: &switchboard::store::CampaignId,
    what: &str,
) -> switchboard::store::Lead {
    until(what, async || {
        store
            .lead_by_phone(campaign, "+442079460001")
            .await
            .ok()?
            .filter(|l| l.last_outcome.is_some())
    })
    .await
}

/// Counts the RTP packets the customer gets until the switch's BYE; returns both.
pub async fn rtp_until_bye(rtp: &UdpSocket, carrier: &Peer, what: &str) -> (usize, String) {
    let mut buf = [0u8; 2048];
    let mut packets = 0;
    loop {
        let mut sip = vec![0u8; 65535];
        tokio::select! {
            r = rtp.recv_from(&mut buf) => { r.unwrap(); packets += 1; }
            r = carrier.sock.recv_from(&mut sip) => {
                let (n, _) = r.unwrap();
                let msg = String::from_utf8_lossy(&sip[..n]).into_owned();
                if msg.starts_with("BYE ") { return (packets, msg); }
            }
            _ = tokio::time::sleep(Duration::from_secs(15)) => panic!("no BYE after {what}"),
        }
    }
}

/// The customer answers the INVITE the carrier got; returns the INVITE.
pub async fn customer_answers(carrier: &Peer, rtp_port: u16) -> String {
    let invite = carrier.expect("INVITE ").await;
    carrier
        .send(&response(&invite, "180 Ringing", "cust", ""))
        .await;
    carrier
        .send(&response(&invite, "200 OK", "cust", &sdp(rtp_port)))
        .await;
    carrier.expect("ACK ").await;
    invite
}

/// RTP packets (PCMU, 20 ms) carrying the North American "not in service" tones.
pub fn sit_rtp() -> Vec<Vec<u8>> {
    let mut samples = Vec::new();
    let mut phase = 0.0f64;
    for (freq, ms) in [(913.8, 380), (1370.6, 380), (1776.7, 380), (0.0, 400)] {
        for _ in 0..ms * 8 {
            samples.push((6_000.0 * phase.sin()) as i16);
            phase += 2.0 * std::f64::consts::PI * freq / 8_000.0;
        }
    }
    rtp_of(&samples)
}

/// Where the switch's offer asks for RTP (`c=` address and `m=audio` port).
pub fn offer_rtp(invite: &str) -> SocketAddr {
    let ip = invite
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line");
    let port = invite
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .expect("m= line");
    format!("{}:{}", ip.trim(), port).parse().expect("address")
}

/// RTP packets (PCMU, 20 ms) carrying `samples`.
pub fn rtp_of(samples: &[i16]) -> Vec<Vec<u8>> {
    use switchboard::media::codec::g711::ulaw_encode;
    samples
        .chunks(160)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x4d, 0x41, 0x43, 0x48];
            p[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            p[4..8].copy_from_slice(&(i as u32 * 160).to_be_bytes());
            p.extend(chunk.iter().map(|&s| ulaw_encode(s)));
            p
        })
        .collect()
}

/// The network's side of a number not in service: 183 with early media carrying the
/// special information tones to where `invite` offered RTP, until the switch CANCELs; then
/// 200 to the CANCEL, 487 to the INVITE, and its ACK.
pub async fn tones_until_cancelled(carrier: &Peer, invite: &str) {
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let early = sdp(rtp.local_addr().unwrap().port());
    carrier
        .send(&response(invite, "183 Session Progress", "net", &early))
        .await;
    let relay = offer_rtp(invite);
    let sender = tokio::spawn(async move {
        for p in sit_rtp() {
            let _ = rtp.send_to(&p, relay).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let cancel = carrier.expect("CANCEL ").await;
    carrier.send(&response(&cancel, "200 OK", "net", "")).await;
    carrier
        .send(&response(invite, "487 Request Terminated", "net", ""))
        .await;
    carrier.expect("ACK ").await;
    sender.abort();
}
