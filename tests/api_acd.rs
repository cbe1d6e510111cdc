//! Queues and agents through the API on the real switch: statistics, agent states, state
//! changes by supervisors and by the agent itself only, errors naming the field.

mod api_support;

use api_support::{start, start_with, AGENT, SUPERVISOR};

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

fn state_of(agents: &serde_json::Value, id: &str) -> String {
    agents
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["id"] == id)
        .map(|a| a["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn queues_and_agents_are_listed_and_agents_change_state() {
    let h = start_with(QUEUES).await;
    let queues = h.get_json("/api/v1/queues", SUPERVISOR).await;
    assert_eq!(queues[0]["name"], "sales");
    assert_eq!(queues[0]["waiting"], 0);
    assert_eq!(queues[0]["agents_logged_in"], 0);

    let post = |id: &str, token: &str, body: &str| {
        h.client
            .post(h.url(&format!("/api/v1/agents/{id}/state")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    // the agent logs itself in, and may not touch another agent
    let r = post("1001", AGENT, r#"{"op":"login"}"#).await.unwrap();
    assert_eq!(r.status(), 204);
    let r = post("1002", AGENT, r#"{"op":"login"}"#).await.unwrap();
    assert_eq!(r.status(), 403);
    // a supervisor pauses 1001 with a reason
    let r = post("1001", SUPERVISOR, r#"{"op":"pause","reason":"lunch"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let agents = h.get_json("/api/v1/agents", SUPERVISOR).await;
    assert_eq!(state_of(&agents, "1001"), "paused");
    assert_eq!(state_of(&agents, "1002"), "logged_out");
    let paused = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "1001")
        .unwrap();
    assert_eq!(paused["reason"], "lunch");
    // an agent token sees itself only
    let own = h.get_json("/api/v1/agents", AGENT).await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["id"], "1001");
    assert_eq!(
        h.get_json("/api/v1/queues", SUPERVISOR).await[0]["agents_logged_in"],
        1
    );

    // the console's form: the state wanted; available from paused unpauses
    let r = post("1001", AGENT, r#"{"state":"available"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let agents = h.get_json("/api/v1/agents", SUPERVISOR).await;
    assert_eq!(state_of(&agents, "1001"), "available");

    let r = post("1001", SUPERVISOR, r#"{"op":"dance"}"#).await.unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "op");
    let r = post("nobody", SUPERVISOR, r#"{"op":"login"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = h
        .client
        .get(h.url("/api/v1/queues"))
        .bearer_auth(AGENT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "queue statistics are for supervisors");
    h.stop().await;
}

#[tokio::test]
async fn without_queues_the_acd_routes_answer_404() {
    let h = start().await;
    let r = h
        .client
        .get(h.url("/api/v1/queues"))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.stop().await;
}
