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
