//! The preview routes over the real HTTP API: `POST /api/v1/agents/{id}/preview/dial`
//! and `…/preview/skip` act only on a lead offered for preview, only for the agent's own
//! desk, and a disposition is refused until the offered lead was called.

mod api_support;

use api_support::{start, Harness, AGENT, SUPERVISOR};
use serde_json::Value;
use switchboard::dialer::live::{AgentLead, AgentLeadState};

fn offered(state: AgentLeadState) -> AgentLead {
    AgentLead {
        campaign_id: "C1".into(),
        lead_id: "L1".into(),
        state,
        call_id: String::new(),
        phone: "+14155550101".into(),
        fields: serde_json::json!({"name": "Ada"}),
        bridged_at_ms: 1,
        ended: false,
        disposition_required: true,
    }
}

async fn post(h: &Harness, path: &str, token: &str) -> (u16, Value) {
    let r = h
        .client
        .post(h.url(path))
        .bearer_auth(token)
        .json(&serde_json::json!({"code": "sale"}))
        .send()
        .await
        .expect("HTTP");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn dial_and_skip_need_a_lead_offered_to_the_callers_own_agent() {
    let h = start().await;
    let (dial, skip) = (
        "/api/v1/agents/1001/preview/dial",
        "/api/v1/agents/1001/preview/skip",
    );
    assert_eq!(post(&h, dial, AGENT).await.0, 404, "nothing offered");
    assert_eq!(post(&h, skip, AGENT).await.0, 404, "nothing offered");
    assert_eq!(
        post(&h, "/api/v1/agents/1002/preview/dial", AGENT).await.0,
        403,
        "another agent's desk"
    );

    h.running
        .dialer
        .assign("1001", offered(AgentLeadState::Preview));
    // What the screen pop (`GET …/call`) carries of it.
    let pop = serde_json::to_value(offered(AgentLeadState::Preview)).expect("json");
    assert_eq!(pop["state"], "preview");
    let (status, body) = post(&h, "/api/v1/agents/1001/disposition", AGENT).await;
    assert_eq!(status, 409, "not called yet: {body}");
    assert_eq!(post(&h, skip, SUPERVISOR).await.0, 204);
    let (status, body) = post(&h, dial, AGENT).await;
    assert_eq!((status, body["lead_id"].as_str()), (202, Some("L1")));

    h.running
        .dialer
        .assign("1001", offered(AgentLeadState::Dialing));
    assert_eq!(post(&h, dial, AGENT).await.0, 409, "already being dialled");
    assert_eq!(post(&h, skip, AGENT).await.0, 409, "too late to skip");
    // A preview call (during or after it) takes its disposition like any call: the
    // campaign is looked up (none here: 404), no 409.
    let (status, body) = post(&h, "/api/v1/agents/1001/disposition", AGENT).await;
    assert_eq!(status, 404, "{body}");
    h.running
        .dialer
        .assign("1001", offered(AgentLeadState::Connected));
    assert_eq!(post(&h, dial, AGENT).await.0, 409, "on a call");
    h.stop().await;
}
