//! No lead is lost or dialled twice across a crash: the switch binary runs a campaign
//! against a scripted carrier (every number busy after a short ring), is killed with
//! SIGKILL while calls are out, and is started again on the same store. In the end every
//! lead has exactly one completed attempt (busy, retried later by the campaign's rule);
//! the calls cut by the kill are `interrupted` attempts, and a number was sent a second
//! INVITE only when its first attempt was interrupted.

mod phone_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phone_support::{register, response, Peer};
use switchboard::dialer::campaign::{AbandonRegime, AgentSet, Campaign, DialMode};
use switchboard::store::{AttemptOutcome, CallingWindow, CampaignState, NewLead, Store};
use tokio::net::UdpSocket;

const LEADS: u64 = 30;
const AGENTS: [&str; 3] = ["2001", "2002", "2003"];
const TOKEN: &str = "durability-admin-token";

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    db: String,
    sip: SocketAddr,
    http: SocketAddr,
}

fn write_config(carrier: SocketAddr) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("dialplans");
    std::fs::create_dir(&plans).unwrap();
    std::fs::write(
        plans.join("plan.toml"),
        "[context.internal]\n[[context.internal.extension]]\nexten = \"_X.\"\nactions = [{ hangup = \"unallocated_number\" }]\n",
    )
    .unwrap();
    let sip: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let mut text = format!(
        r#"
[sip]
listen = ["udp:{sip}"]
domain = "dur.test"
[store]
url = "{db}"
[dialplan]
dir = "{plans}"
[media]
mode = "bypass"
[http]
listen = "{http}"
[[api_token]]
token = "{TOKEN}"
role = "admin"
name = "test"
[[trunk]]
name = "carrier"
host = "{carrier}"
context = "internal"
[[queue]]
name = "outbound"
"#,
        plans = plans.display(),
    );
    for a in AGENTS {
        text.push_str(&format!(
            "[[endpoint]]\nuser = \"{a}\"\npassword = \"pw-{a}\"\ncontext = \"internal\"\n\
             [[agent]]\nid = \"{a}\"\nendpoint = \"{a}\"\nqueues = [{{ queue = \"outbound\" }}]\n"
        ));
    }
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, text).unwrap();
    Setup {
        dir,
        config,
        db,
        sip,
        http,
    }
}

fn spawn_switch(s: &Setup, run: u32) -> Child {
    let log = std::fs::File::create(s.dir.path().join(format!("run{run}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["run", "--config"])
        .arg(&s.config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the switch binary starts")
}

/// Registers the agents' phones and logs the agents in (the switch keeps neither across
/// a restart). Waits for the switch to answer first.
async fn agents_ready(s: &Setup, phones: &[Peer]) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let up = client
            .get(format!("http://{}/api/v1/health", s.http))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (phone, a) in phones.iter().zip(AGENTS) {
        register(phone, a, &format!("pw-{a}"), "dur.test").await;
        let r = client
            .post(format!("http://{}/api/v1/agents/{a}/state", s.http))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"op": "login"}))
            .send()
            .await
            .expect("HTTP");
        assert!(r.status().is_success(), "login {a}: {}", r.status());
    }
}

/// Numbers the carrier got an INVITE for, in order; every call is busy after 300 ms.
fn carrier(sock: UdpSocket) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let sock = Arc::new(sock);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !msg.starts_with("INVITE ") {
                continue;
            }
            let number = msg
                .split_whitespace()
                .nth(1)
                .and_then(|uri| uri.strip_prefix("sip:"))
                .and_then(|u| u.split('@').next())
                .unwrap_or_default()
                .to_string();
            log.lock().unwrap().push(number);
            let sock = sock.clone();
            tokio::spawn(async move {
                let _ = sock
                    .send_to(response(&msg, "180 Ringing", "c", "").as_bytes(), from)
                    .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = sock
                    .send_to(response(&msg, "486 Busy Here", "c", "").as_bytes(), from)
                    .await;
            });
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_dialer_neither_loses_nor_double_dials_a_lead() {
    let carrier_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let s = write_config(carrier_sock.local_addr().unwrap());
    let seen = carrier(carrier_sock);

    // The campaign and its leads are in the store before the switch starts.
    let store = Store::open(&s.db).await.unwrap();
    let now = switchboard::runtime::now_unix_ms();
    let mut def = Campaign::new(
        "durable",
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
    let campaign = store
        .create_campaign(&def.to_new().unwrap(), now)
        .await
        .unwrap();
    let list = store.create_list(&campaign, "seed", now).await.unwrap();
    let rows: Vec<NewLead> = (0..LEADS)
        .map(|i| NewLead {
            seq: i,
            phone: format!("+4420794{i:05}"),
            tz: "UTC".into(),
            fields: serde_json::json!({}),
            priority: 0,
        })
        .collect();
    store
        .import_leads(&campaign, &list, &rows, now)
        .await
        .unwrap();

    let mut phones = Vec::new();
    for _ in AGENTS {
        phones.push(Peer::new(s.sip).await);
    }
    let mut child = spawn_switch(&s, 1);
    agents_ready(&s, &phones).await;
    // Kill it while calls are out.
    for _ in 0..400 {
        if seen.lock().unwrap().len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen.lock().unwrap().len() >= 10, "the campaign dialled");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let at_kill = seen.lock().unwrap().len();

    let mut child = spawn_switch(&s, 2);
    agents_ready(&s, &phones).await;
    let mut done = false;
    for _ in 0..600 {
        let counts = store.lead_counts(&campaign).await.unwrap();
        if counts.claimed + counts.dialing == 0 {
            let mut finished = 0;
            for i in 0..LEADS {
                let lead = store
                    .lead_by_phone(&campaign, &format!("+4420794{i:05}"))
                    .await
                    .unwrap()
                    .unwrap();
                finished += u64::from(lead.last_outcome == Some(AttemptOutcome::Busy));
            }
            if finished == LEADS {
                done = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log2 = std::fs::read_to_string(s.dir.path().join("run2.log")).unwrap_or_default();
    assert!(done, "every lead was called after the restart\n{log2}");

    let seen = seen.lock().unwrap().clone();
    let mut invites: HashMap<String, usize> = HashMap::new();
    for n in &seen {
        *invites.entry(n.clone()).or_default() += 1;
    }
    let mut interrupted_total = 0;
    for i in 0..LEADS {
        let phone = format!("+4420794{i:05}");
        let lead = store
            .lead_by_phone(&campaign, &phone)
            .await
            .unwrap()
            .unwrap();
        let attempts = store.lead_attempts(&lead.id).await.unwrap();
        let busy = attempts
            .iter()
            .filter(|a| a.attempt.outcome == AttemptOutcome::Busy)
            .count();
        let interrupted = attempts
            .iter()
            .filter(|a| a.attempt.outcome == AttemptOutcome::Interrupted)
            .count();
        interrupted_total += interrupted;
        assert_eq!(busy, 1, "{phone}: one completed attempt: {attempts:?}");
        assert_eq!(
            busy + interrupted,
            attempts.len(),
            "{phone}: nothing else: {attempts:?}"
        );
        let sent = invites.get(&phone).copied().unwrap_or(0);
        assert!(
            (1..=1 + interrupted).contains(&sent),
            "{phone}: {sent} INVITEs for {interrupted} interrupted attempts"
        );
        assert_eq!(lead.attempts as usize, attempts.len());
    }
    assert!(
        interrupted_total > 0,
        "the kill ({at_kill} INVITEs out of {LEADS}) cut calls in flight"
    );
    store.close().await;
}
