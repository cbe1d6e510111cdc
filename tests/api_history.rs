//! Every agent state change is kept in the store and read back over the API: an agent
//! logs in, pauses for lunch and comes back; its history lists the three transitions in
//! order with their reasons. An agent token reads only its own history.

mod api_support;

use api_support::{start_with, AGENT, SUPERVISOR, WAIT};
use serde_json::Value;

const QUEUES: &str = r#"mode = "bypass"
[[queue]]
name = "sales"
[[agent]]
id = "1001"
endpoint = "1001"
queues = [{ queue = "sales" }]
[[agent]]
id = "1002"
endpoint = "1002"
queues = [{ queue = "sales" }]
"#;

fn steps(history: &Value) -> Vec<(String, String, String)> {
    history
        .as_array()
        .expect("array")
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("from"), s("to"), s("reason"))
        })
        .collect()
}

#[tokio::test]
async fn an_agents_state_changes_are_kept_and_listed_in_order() {
    let h = start_with(QUEUES).await;
    for body in [
        r#"{"op":"login"}"#,
        r#"{"op":"pause","reason":"lunch"}"#,
        r#"{"op":"unpause"}"#,
    ] {
        let r = h
            .client
            .post(h.url("/api/v1/agents/1001/state"))
            .bearer_auth(SUPERVISOR)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(r.status(), 204, "{body}");
    }
    // The store writer commits behind the API's answer: wait for the rows (a guard
    // against hangs, not a timing assertion).
    let deadline = tokio::time::Instant::now() + WAIT;
    let history = loop {
        let history = h.get_json("/api/v1/agents/1001/history", AGENT).await;
        if history.as_array().map_or(0, Vec::len) >= 3 || tokio::time::Instant::now() > deadline {
            break history;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(
        steps(&history),
        [
            ("logged_out".into(), "available".into(), "login".into()),
            ("available".into(), "paused".into(), "pause".into()),
            ("paused".into(), "available".into(), "unpause".into()),
        ]
    );
    assert_eq!(history[1]["to_reason"], "lunch");
    assert_eq!(history[2]["from_reason"], "lunch");
    let at: Vec<i64> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["at_ms"].as_i64().expect("at_ms"))
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");

    // The window: from the pause on; and nothing in the future.
    let from = at[1];
    let since = h
        .get_json(
            &format!("/api/v1/agents/1001/history?from={from}"),
            SUPERVISOR,
        )
        .await;
    // Exactly the changes stamped at or after the pause (the login may share its
    // millisecond).
    let expected: Vec<_> = steps(&history)
        .into_iter()
        .zip(&at)
        .filter(|(_, &t)| t >= from)
        .map(|(step, _)| step)
        .collect();
    assert_eq!(steps(&since), expected, "{since}");
    assert!(expected.iter().any(|s| s.1 == "paused"), "{since}");
    let later = h
        .get_json(
            &format!("/api/v1/agents/1001/history?from={}", at[2] + 1),
            SUPERVISOR,
        )
        .await;
    assert_eq!(later, serde_json::json!([]));
    let limited = h
        .get_json("/api/v1/agents/1001/history?limit=1", SUPERVISOR)
        .await;
    assert_eq!(steps(&limited).len(), 1);

    // Own history only for an agent token; a supervisor reads anyone's.
    let r = h
        .get("/api/v1/agents/1002/history", AGENT)
        .send()
        .await
        .expect("HTTP");
    let (status, _) = h.checked("get", "/api/v1/agents/1002/history", r).await;
    assert_eq!(status, 403);
    assert_eq!(
        h.get_json("/api/v1/agents/1002/history", SUPERVISOR).await,
        serde_json::json!([])
    );
    for (query, field) in [
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
    ] {
        let path = format!("/api/v1/agents/1001/history?{query}");
        let r = h.get(&path, SUPERVISOR).send().await.expect("HTTP");
        let (status, body) = h.checked("get", &path, r).await;
        assert!(status == 400 || status == 422, "{query}: {status}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    h.stop().await;
}
