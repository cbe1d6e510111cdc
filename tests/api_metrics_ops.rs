//! `/metrics` on the real switch carries what an operator's dashboards need beyond calls:
//! queues (waiting, longest wait, service level, answered/abandoned), agents by state,
//! each running campaign's dial level, lines in flight, abandon rate and talk utilisation,
//! the store's commit latency and calls per second. Names, labels and types follow the
//! Prometheus conventions and values match what the switch is doing.

mod api_support;

use std::collections::{HashMap, HashSet};

use api_support::{start_with, SUPERVISOR, WAIT};
use switchboard::dialer::live::CampaignLive;

const QUEUES: &str = r#"mode = "bypass"
[[queue]]
name = "sales"
[[queue]]
name = "support"
[[agent]]
id = "1001"
endpoint = "1001"
queues = [{ queue = "sales" }]
[[agent]]
id = "1002"
endpoint = "1002"
queues = [{ queue = "sales" }, { queue = "support" }]
[[agent]]
id = "1003"
endpoint = "1003"
queues = [{ queue = "support" }]
"#;

/// Samples by `name{labels}`; panics on a sample whose family has no HELP and TYPE, or a
/// line that is not the text format.
fn parse(text: &str) -> (HashMap<String, f64>, HashMap<String, String>) {
    let mut samples = HashMap::new();
    let mut types = HashMap::new();
    let mut helped = HashSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap_or("").to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name value");
        let name = series.split('{').next().unwrap_or(series);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family) && helped.contains(family),
            "{family} has no TYPE/HELP"
        );
        samples.insert(series.to_string(), value.parse::<f64>().expect("a number"));
    }
    (samples, types)
}

#[tokio::test]
async fn queues_agents_campaigns_and_the_store_are_exported() {
    let h = start_with(QUEUES).await;
    for (agent, body) in [
        ("1001", r#"{"op":"login"}"#),
        ("1002", r#"{"op":"login"}"#),
        ("1002", r#"{"op":"pause","reason":"training"}"#),
    ] {
        let r = h
            .client
            .post(h.url(&format!("/api/v1/agents/{agent}/state")))
            .bearer_auth(SUPERVISOR)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(r.status(), 204);
    }
    h.running.dialer.set_campaign(CampaignLive {
        campaign_id: "spring".into(),
        dial_level: 2.25,
        lines_in_flight: 9,
        abandon_rate: 0.02,
        abandon_target: 0.03,
        talk_utilisation: 0.75,
        dials: 40,
        ..CampaignLive::default()
    });
    // A call through the switch: a start record, committed by the store writer.
    h.answered_call("5550100").await;

    let deadline = tokio::time::Instant::now() + WAIT;
    let (samples, types) = loop {
        let text = h
            .client
            .get(h.url("/metrics"))
            .send()
            .await
            .expect("HTTP")
            .text()
            .await
            .expect("body");
        let parsed = parse(&text);
        let committed = parsed
            .0
            .get("switchboard_store_write_seconds_count")
            .copied();
        if committed.unwrap_or(0.0) >= 1.0 || tokio::time::Instant::now() > deadline {
            break parsed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let get = |k: &str| {
        *samples
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from /metrics"))
    };

    for q in ["sales", "support"] {
        assert_eq!(
            get(&format!("switchboard_queue_waiting{{queue=\"{q}\"}}")),
            0.0
        );
        assert_eq!(
            get(&format!(
                "switchboard_queue_longest_wait_seconds{{queue=\"{q}\"}}"
            )),
            0.0
        );
        assert_eq!(
            get(&format!(
                "switchboard_queue_calls_offered_total{{queue=\"{q}\"}}"
            )),
            0.0
        );
        assert_eq!(
            get(&format!(
                "switchboard_queue_calls_answered_total{{queue=\"{q}\"}}"
            )),
            0.0
        );
        assert_eq!(
            get(&format!(
                "switchboard_queue_calls_abandoned_total{{queue=\"{q}\"}}"
            )),
            0.0
        );
    }
    // No caller yet: no service level to report.
    assert!(!samples.contains_key("switchboard_queue_service_level_ratio{queue=\"sales\"}"));
    assert_eq!(
        get("switchboard_queue_agents_available{queue=\"sales\"}"),
        1.0
    );
    assert_eq!(
        get("switchboard_queue_agents_available{queue=\"support\"}"),
        0.0
    );

    assert_eq!(get("switchboard_agents{state=\"available\"}"), 1.0);
    assert_eq!(get("switchboard_agents{state=\"paused\"}"), 1.0);
    assert_eq!(get("switchboard_agents{state=\"logged_out\"}"), 1.0);
    assert_eq!(get("switchboard_agents{state=\"on_call\"}"), 0.0);

    assert_eq!(
        get("switchboard_dialer_dial_level{campaign=\"spring\"}"),
        2.25
    );
    assert_eq!(
        get("switchboard_dialer_lines_in_flight{campaign=\"spring\"}"),
        9.0
    );
    assert_eq!(
        get("switchboard_dialer_abandon_ratio{campaign=\"spring\"}"),
        0.02
    );
    assert_eq!(
        get("switchboard_dialer_abandon_target_ratio{campaign=\"spring\"}"),
        0.03
    );
    assert_eq!(
        get("switchboard_dialer_talk_utilisation_ratio{campaign=\"spring\"}"),
        0.75
    );
    assert_eq!(
        get("switchboard_dialer_dials_total{campaign=\"spring\"}"),
        40.0
    );

    assert!(get("switchboard_store_write_seconds_count") >= 1.0);
    assert!(get("switchboard_store_write_seconds_bucket{le=\"+Inf\"}") >= 1.0);
    assert!(get("switchboard_calls_per_second_1m") > 0.0);

    for (name, kind) in [
        ("switchboard_queue_waiting", "gauge"),
        ("switchboard_queue_calls_answered_total", "counter"),
        ("switchboard_queue_calls_abandoned_total", "counter"),
        ("switchboard_agents", "gauge"),
        ("switchboard_dialer_abandon_ratio", "gauge"),
        ("switchboard_dialer_dials_total", "counter"),
        ("switchboard_store_write_seconds", "histogram"),
    ] {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    h.stop().await;
}

/// The switch with a queue callers reach by dialling 800 (relay mode: the queue answers
/// and plays music on hold).
async fn start_queue(dir: &std::path::Path) -> switchboard::runtime::Running {
    std::fs::create_dir_all(dir.join("plans")).expect("mkdir");
    std::fs::write(
        dir.join("plans/plan.toml"),
        "[context.t]\n[[context.t.extension]]\nexten = \"800\"\nactions = [{ queue = { name = \"sales\" } }]\n",
    )
    .expect("write plan");
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "q.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
rtp_ports = "33400-33499"
prompts_dir = "{root}/prompts"
[http]
listen = "127.0.0.1:0"
[[trunk]]
name = "t"
host = "127.0.0.1:9"
inbound = ["127.0.0.1"]
context = "t"
[[queue]]
name = "sales"
[[agent]]
id = "1001"
endpoint = "1001"
queues = [{{ queue = "sales" }}]
"#,
        db = dir.join("sb.db").display(),
        plans = dir.join("plans").display(),
        root = env!("CARGO_MANIFEST_DIR"),
    );
    let cfg = switchboard::config::Config::parse("q.toml", &text).expect("valid test config");
    switchboard::runtime::start(cfg)
        .await
        .expect("switch starts")
}

fn sip_header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or("")
}

/// Scrapes until `done` holds for the samples (a guard against hangs, not a timing
/// assertion); returns the last scrape.
async fn scrape_until(
    client: &reqwest::Client,
    http: std::net::SocketAddr,
    done: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = client
            .get(format!("http://{http}/metrics"))
            .send()
            .await
            .expect("HTTP")
            .text()
            .await
            .expect("body");
        let (samples, _) = parse(&text);
        if done(&samples) || tokio::time::Instant::now() > deadline {
            return samples;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_caller_waiting_then_abandoning_shows_in_the_queue_series() {
    let dir = tempfile::tempdir().expect("temp dir");
    let running = start_queue(dir.path()).await;
    let (sw, http) = (running.bound.udp[0], running.http.expect("HTTP"));
    let client = reqwest::Client::new();
    let sip = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let me = sip.local_addr().expect("addr");
    let port = rtp.local_addr().expect("addr").port();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    );
    let invite = format!(
        "INVITE sip:800@q.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKq1\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@carrier>;tag=c1\r\nTo: <sip:800@q.test>\r\nCall-ID: q-1@q.test\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{me}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sip.send_to(invite.as_bytes(), sw).await.expect("send");
    let mut buf = vec![0u8; 65535];
    let ok = loop {
        let (n, _) = tokio::time::timeout(WAIT, sip.recv_from(&mut buf))
            .await
            .expect("the queue answers")
            .expect("recv");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.starts_with("SIP/2.0 200") {
            break msg;
        }
    };
    let to = sip_header(&ok, "To").to_string();
    let ack = format!(
        "ACK sip:800@q.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKq1ack\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@carrier>;tag=c1\r\nTo: {to}\r\nCall-ID: q-1@q.test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    );
    sip.send_to(ack.as_bytes(), sw).await.expect("send ACK");

    let waiting = scrape_until(&client, http, |s| {
        s.get("switchboard_queue_longest_wait_seconds{queue=\"sales\"}")
            .is_some_and(|w| *w > 0.0)
    })
    .await;
    assert_eq!(
        waiting.get("switchboard_queue_waiting{queue=\"sales\"}"),
        Some(&1.0)
    );
    assert_eq!(
        waiting.get("switchboard_queue_calls_offered_total{queue=\"sales\"}"),
        Some(&1.0)
    );
    let longest = waiting["switchboard_queue_longest_wait_seconds{queue=\"sales\"}"];
    assert!(longest > 0.0 && longest < 60.0, "{longest}");
    assert_eq!(
        waiting.get("switchboard_agents{state=\"logged_out\"}"),
        Some(&1.0)
    );

    // The caller gives up.
    let bye = format!(
        "BYE sip:800@q.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKq1bye\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@carrier>;tag=c1\r\nTo: {to}\r\nCall-ID: q-1@q.test\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    sip.send_to(bye.as_bytes(), sw).await.expect("send BYE");
    let after = scrape_until(&client, http, |s| {
        s.get("switchboard_queue_calls_abandoned_total{queue=\"sales\"}") == Some(&1.0)
    })
    .await;
    assert_eq!(
        after.get("switchboard_queue_waiting{queue=\"sales\"}"),
        Some(&0.0)
    );
    assert_eq!(
        after.get("switchboard_queue_calls_abandoned_total{queue=\"sales\"}"),
        Some(&1.0)
    );
    assert_eq!(
        after.get("switchboard_queue_calls_answered_total{queue=\"sales\"}"),
        Some(&0.0)
    );
    assert_eq!(
        after.get("switchboard_queue_service_level_ratio{queue=\"sales\"}"),
        Some(&0.0),
        "one caller offered, none answered in time"
    );
    running.stop_now();
    tokio::time::timeout(WAIT, running.wait())
        .await
        .expect("the switch stops");
}
