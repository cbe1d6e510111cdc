//! Campaigns, lead lists, do-not-call lists and agent dispositions over the real HTTP API
//! of a running switch (`runtime::start` on loopback, temporary SQLite store): every JSON
//! answer is also held to the OpenAPI document (`api_support::schema`).

mod api_support;

use std::sync::OnceLock;

use api_support::{schema, start, Harness, ADMIN, AGENT, SUPERVISOR};
use serde_json::{json, Value};
use switchboard::dialer::live::AgentLead;
use switchboard::store::{CampaignId, LeadStatus};

fn definition(name: &str) -> Value {
    json!({
        "name": name, "trunk": "callee", "caller_id": "+14155550100",
        "agents": {"queue": "sales"}, "dial_mode": "predictive",
        "script": "Hello {name}, this is Spring calling.",
        "state": "running"
    })
}

/// The OpenAPI document, built once (building it per response is slow in debug builds).
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(schema::document)
}

impl Harness {
    /// The response's status and JSON body, the body held to the OpenAPI document.
    async fn checked_json(&self, method: &str, path: &str, r: reqwest::Response) -> (u16, Value) {
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("JSON body");
        let doc = document();
        let schema = schema::response_schema(doc, method, path, status);
        if let Err(e) = schema::validate(doc, schema, &body, "$") {
            panic!("{method} {path} {status}: not as documented: {e}\n{body}");
        }
        (status, body)
    }

    async fn json_200(&self, path: &str, token: &str) -> Value {
        let r = self.get(path, token).send().await.expect("HTTP");
        let (status, body) = self.checked_json("get", path, r).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.clone(), self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("HTTP");
        self.checked_json(&method.as_str().to_ascii_lowercase(), path, r)
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    async fn upload(&self, id: &str, query: &str, csv: String) -> (u16, Value) {
        let path = format!("/api/v1/campaigns/{id}/leads{query}");
        let r = self
            .client
            .post(self.url(&path))
            .bearer_auth(SUPERVISOR)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("HTTP");
        self.checked_json("post", &path, r).await
    }

    async fn create(&self, name: &str) -> String {
        let (status, body) = self
            .post("/api/v1/campaigns", SUPERVISOR, Some(definition(name)))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    async fn csv_text(&self, path: &str, token: &str) -> (u16, String) {
        let r = self.get(path, token).send().await.expect("HTTP");
        (r.status().as_u16(), r.text().await.expect("body"))
    }
}

#[tokio::test]
async fn campaigns_are_created_edited_moved_and_deleted() {
    let h = start().await;
    // Created as a draft whatever the body says, with every default filled in.
    let (status, made) = h
        .post("/api/v1/campaigns", SUPERVISOR, Some(definition("spring")))
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().expect("id").to_string();
    assert_eq!(made["state"], "draft");
    assert_eq!(made["ring_timeout_s"], 20);
    assert_eq!(made["agents"], json!({"queue": "sales"}));
    assert_eq!(made["counts"]["total"], 0);
    assert!(made["live"].is_null());

    // The same name again: 409.
    let (status, _) = h
        .post("/api/v1/campaigns", SUPERVISOR, Some(definition("spring")))
        .await;
    assert_eq!(status, 409);

    // Every invalid field is named.
    let mut bad = definition("autumn");
    bad["ring_timeout_s"] = json!(10);
    bad["abandon"] = json!({"rate": 0.05, "regime": "us_ftc"});
    bad["caller_id"] = json!("not a number");
    let (status, body) = h.post("/api/v1/campaigns", SUPERVISOR, Some(bad)).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["caller_id", "abandon.rate", "ring_timeout_s"]);
    assert_eq!(body["error"]["code"], "unprocessable");
    assert_eq!(body["error"]["field"], "caller_id");
    let mut missing = definition("autumn");
    missing.as_object_mut().map(|o| o.remove("trunk"));
    let (status, body) = h.post("/api/v1/campaigns", SUPERVISOR, Some(missing)).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("trunk"))
    );

    // Listed and read back.
    let list = h.json_200("/api/v1/campaigns", SUPERVISOR).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "spring");
    assert_eq!(list[0]["trunk"], "callee");
    assert_eq!(list[0]["dial_mode"], "predictive");
    let one = h.json_200(&format!("/api/v1/campaigns/{id}"), ADMIN).await;
    assert_eq!(one["script"], "Hello {name}, this is Spring calling.");

    // Start (the event stream hears it); edit while running (state stays); bad moves are
    // 409 naming both states.
    let mut events = h.running.events.subscribe();
    let (status, body) = h
        .post(&format!("/api/v1/campaigns/{id}/start"), SUPERVISOR, None)
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("running")));
    let event = events.try_recv().expect("a campaign event");
    assert_eq!(event.kind, "campaign.state");
    assert_eq!(event.data, json!({"id": id, "state": "running"}));
    let mut edited = definition("spring");
    edited["ring_timeout_s"] = json!(25);
    edited["state"] = json!("draft");
    let (status, body) = h
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/campaigns/{id}"),
            SUPERVISOR,
            Some(edited),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ring_timeout_s"], 25);
    assert_eq!(body["state"], "running");
    let (status, body) = h
        .post(&format!("/api/v1/campaigns/{id}/start"), SUPERVISOR, None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "cannot go from running to running"
    );
    // Edits are validated like creations, keep names unique, and need the campaign. AMD
    // under Ofcom is refused: its false positives are abandons, over the limit alone.
    let window = json!({"window": {"open_min": 600, "close_min": 540}});
    let amd_ofcom = json!({"abandon": {"rate": 0.03, "regime": "uk_ofcom"}, "amd": {}});
    for (change, field) in [(window, "window"), (amd_ofcom, "amd")] {
        let mut bad_edit = definition("spring");
        for (k, v) in change.as_object().expect("an object") {
            bad_edit[k] = v.clone();
        }
        let (status, body) = h
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/campaigns/{id}"),
                SUPERVISOR,
                Some(bad_edit),
            )
            .await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    h.create("summer").await;
    let (status, _) = h
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/campaigns/{id}"),
            SUPERVISOR,
            Some(definition("summer")),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = h
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/campaigns/no-such-campaign",
            SUPERVISOR,
            Some(definition("autumn")),
        )
        .await;
    assert_eq!(status, 404);
    // Only draft or stopped campaigns are deleted.
    let (status, _) = h
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/campaigns/{id}"),
            SUPERVISOR,
            None,
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = h
        .post(&format!("/api/v1/campaigns/{id}/pause"), SUPERVISOR, None)
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("paused")));
    let (status, body) = h
        .post(&format!("/api/v1/campaigns/{id}/stop"), SUPERVISOR, None)
        .await;
    assert_eq!((status, body["state"].as_str()), (200, Some("stopped")));
    let (status, body) = h
        .post(&format!("/api/v1/campaigns/{id}/start"), SUPERVISOR, None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "cannot go from stopped to running"
    );
    let r = h
        .client
        .delete(h.url(&format!("/api/v1/campaigns/{id}")))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 204);
    let r = h
        .get(&format!("/api/v1/campaigns/{id}"), SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 404);
    h.stop().await;
}

#[tokio::test]
async fn agents_may_not_run_campaigns_and_strangers_are_401() {
    let h = start().await;
    let id = h.create("spring").await;
    let (status, _) = h
        .post("/api/v1/campaigns", AGENT, Some(definition("x")))
        .await;
    assert_eq!(status, 403);
    let (status, _) = h
        .post(&format!("/api/v1/campaigns/{id}/start"), AGENT, None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = h
        .send_json(reqwest::Method::GET, "/api/v1/campaigns", AGENT, None)
        .await;
    assert_eq!(status, 403);
    let r = h
        .client
        .get(h.url("/api/v1/campaigns"))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 401);
    h.stop().await;
}

#[tokio::test]
async fn a_list_upload_reports_bad_rows_by_line_and_loads_the_good_ones() {
    let h = start().await;
    let id = h.create("spring").await;
    let csv = "phone,name,tz\n\
               (212) 555-0100,Ada,America/New_York\n\
               not-a-number,Bob,\n\
               +1 415 555 0101,Cy,\n\
               212-555-0100,Ada again,\n"
        .to_string();
    let (status, r) = h.upload(&id, "?name=first&default_country=US", csv).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["rows"], 4);
    assert_eq!(r["loaded"], 2);
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["errors"][0]["line"], 3);
    assert_eq!(r["duplicates"][0]["line"], 5);
    assert_eq!(r["duplicates"][0]["phone"], "+12125550100");
    assert_eq!(r["duplicates"][0]["first_line"], 2);
    // A second list: the number already in the campaign is flagged as such.
    let (_, r) = h
        .upload(&id, "", "number\n+14155550101\n+14155550102\n".into())
        .await;
    assert_eq!(r["loaded"], 1);
    assert_eq!(r["duplicates"][0]["in_campaign"], true);
    // File-level problems name the field.
    let (status, r) = h.upload(&id, "", "name,email\nAda,a@x\n".into()).await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("phone_column"))
    );
    let (status, r) = h
        .upload(&id, "?default_country=XX", "phone\n1\n".into())
        .await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("default_country"))
    );

    let stats = h
        .json_200(&format!("/api/v1/campaigns/{id}/stats"), SUPERVISOR)
        .await;
    assert_eq!(stats["counts"]["ready"], 3);
    assert_eq!(stats["outcomes"]["answered"], 0);
    assert!(stats["live"].is_null());
    let list = h.json_200("/api/v1/campaigns", SUPERVISOR).await;
    assert_eq!(list[0]["counts"]["total"], 3);

    // The export: one row per lead, the lists' columns after the fixed ones.
    let (status, text) = h
        .csv_text(&format!("/api/v1/campaigns/{id}/results.csv"), SUPERVISOR)
        .await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "lead_id,phone,status,attempts,last_outcome,disposition,disposition_agent,disposition_at,disposition_note,name"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].contains(",+12125550100,ready,0,,,,,,Ada"),
        "{text}"
    );
    // A plain link may carry the token.
    let r = h
        .client
        .get(h.url(&format!(
            "/api/v1/campaigns/{id}/results.csv?token={SUPERVISOR}"
        )))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 200);

    // Unknown campaigns: 404 for uploads and exports.
    let (status, _) = h.upload("nope", "", "phone\n+14155550199\n".into()).await;
    assert_eq!(status, 404);
    let (status, _) = h
        .csv_text("/api/v1/campaigns/nope/results.csv", SUPERVISOR)
        .await;
    assert_eq!(status, 404);
    // A stopped campaign takes no more leads.
    h.post(&format!("/api/v1/campaigns/{id}/stop"), SUPERVISOR, None)
        .await;
    let (status, _) = h.upload(&id, "", "phone\n+14155550199\n".into()).await;
    assert_eq!(status, 409);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_larger_than_the_usual_body_limit_streams_in() {
    let h = start().await;
    let id = h.create("big").await;
    let rows = 5_000u64;
    let mut csv = String::from("phone,name,notes\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "+1212555{i:04},Lead number {i},{}\n",
            "x".repeat(220)
        ));
    }
    assert!(
        csv.len() > switchboard::api::MAX_BODY,
        "{} bytes",
        csv.len()
    );
    let (status, r) = h.upload(&id, "", csv).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["loaded"], rows);
    assert_eq!(r["error_count"], 0);
    // Other routes keep the small limit.
    let r = h
        .client
        .post(h.url("/api/v1/campaigns"))
        .bearer_auth(SUPERVISOR)
        .header("content-type", "application/json")
        .body(vec![b' '; switchboard::api::MAX_BODY + 1])
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 413);
    h.stop().await;
}

fn lead_for(campaign: &str, lead_id: &str, phone: &str) -> AgentLead {
    AgentLead {
        campaign_id: campaign.into(),
        lead_id: lead_id.into(),
        state: Default::default(),
        call_id: "K1".into(),
        phone: phone.into(),
        fields: json!({"name": "Ada", "city": "Boston"}),
        bridged_at_ms: 1,
        ended: false,
        disposition_required: true,
    }
}

#[tokio::test]
async fn an_agent_sees_its_lead_and_dispositions_it() {
    let h = start().await;
    let id = h.create("spring").await;
    h.upload(
        &id,
        "",
        "phone,name\n+12125550100,Ada\n+12125550101,Bob\n".into(),
    )
    .await;
    let store = &h.running.store;
    let campaign = CampaignId::from(id.as_str());
    let ada = store
        .lead_by_phone(&campaign, "+12125550100")
        .await
        .expect("store")
        .expect("lead");
    let bob = store
        .lead_by_phone(&campaign, "+12125550101")
        .await
        .expect("store")
        .expect("lead");

    // No lead yet: 404; another agent's desk: 403.
    let (status, _) = h
        .send_json(
            reqwest::Method::GET,
            "/api/v1/agents/1001/call",
            AGENT,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = h
        .send_json(
            reqwest::Method::GET,
            "/api/v1/agents/1002/call",
            AGENT,
            None,
        )
        .await;
    assert_eq!(status, 403);

    // The dialer connects 1001 to Ada: screen pop with the script and codes.
    h.running
        .dialer
        .assign("1001", lead_for(&id, ada.id.as_str(), &ada.phone));
    let pop = h.json_200("/api/v1/agents/1001/call", AGENT).await;
    assert_eq!(pop["lead_id"], ada.id.as_str());
    assert_eq!(pop["fields"]["city"], "Boston");
    assert_eq!(pop["script"], "Hello {name}, this is Spring calling.");
    assert_eq!(pop["campaign_name"], "spring");
    assert!(pop["dispositions"]
        .as_array()
        .expect("codes")
        .contains(&json!("callback")));
    assert_eq!(pop["disposition_effects"]["callback"], "callback");

    // Unknown codes and callbacks without a future time are 422 naming the field.
    let path = "/api/v1/agents/1001/disposition";
    let (status, r) = h.post(path, AGENT, Some(json!({"code": "maybe"}))).await;
    assert_eq!((status, r["error"]["field"].as_str()), (422, Some("code")));
    let (status, r) = h.post(path, AGENT, Some(json!({"code": "callback"}))).await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("callback_at"))
    );
    let (status, r) = h
        .post(
            path,
            AGENT,
            Some(json!({"code": "callback", "callback_at": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("callback_at"))
    );
    let (status, r) = h
        .post(
            path,
            AGENT,
            Some(json!({"code": "callback", "callback_at": "tomorrow"})),
        )
        .await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("callback_at"))
    );
    // An agent token disposes only for itself.
    let (status, _) = h
        .post(
            "/api/v1/agents/1002/disposition",
            AGENT,
            Some(json!({"code": "sale"})),
        )
        .await;
    assert_eq!(status, 403);

    // A callback tomorrow: stored before the answer, the lead due again then.
    let at = chrono::Utc::now() + chrono::Duration::days(1);
    let (status, r) = h
        .post(
            path,
            AGENT,
            Some(
                json!({"code": "callback", "note": "after lunch", "callback_at": at.to_rfc3339()}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["next"], "callback");
    let lead = store.lead(&ada.id).await.expect("store").expect("lead");
    assert_eq!(lead.status, LeadStatus::Ready);
    assert!(lead.callback);
    assert_eq!(lead.next_at_ms, at.timestamp_millis());
    let saved = store.lead_dispositions(&ada.id).await.expect("store");
    assert_eq!(saved.len(), 1);
    assert_eq!(
        (saved[0].agent.as_str(), saved[0].note.as_str()),
        ("1001", "after lunch")
    );

    // A supervisor closes Bob's lead for agent 1002 with a global do-not-call.
    h.running
        .dialer
        .assign("1002", lead_for(&id, bob.id.as_str(), &bob.phone));
    let (status, r) = h
        .post(
            "/api/v1/agents/1002/disposition",
            SUPERVISOR,
            Some(json!({"code": "not_interested", "dnc_global": true})),
        )
        .await;
    assert_eq!((status, r["next"].as_str()), (200, Some("dnc_global")));
    let check = h
        .json_200("/api/v1/dnc?number=%2B12125550101", SUPERVISOR)
        .await;
    assert_eq!(check["listed"], true);
    assert_eq!(check["scopes"], json!(["global"]));

    let stats = h
        .json_200(&format!("/api/v1/campaigns/{id}/stats"), SUPERVISOR)
        .await;
    assert_eq!(
        stats["dispositions"],
        json!({"callback": 1, "not_interested": 1})
    );
    assert_eq!(stats["counts"]["dnc"], 1);
    let (_, text) = h
        .csv_text(&format!("/api/v1/campaigns/{id}/results.csv"), SUPERVISOR)
        .await;
    let ada_row = text
        .lines()
        .find(|l| l.contains("+12125550100"))
        .expect("Ada's row");
    assert!(ada_row.contains(",ready,0,,callback,1001,"), "{ada_row}");
    assert!(ada_row.ends_with(",after lunch,Ada"), "{ada_row}");
    h.stop().await;
}

#[tokio::test]
async fn do_not_call_lists_are_checked_added_to_and_removed_from() {
    let h = start().await;
    let id = h.create("spring").await;
    // Global: add one (national number with a default country), check, remove.
    let (status, r) = h
        .post(
            "/api/v1/dnc?default_country=US",
            SUPERVISOR,
            Some(json!({"number": "(212) 555-0100"})),
        )
        .await;
    assert_eq!((status, r["added"].as_u64()), (200, Some(1)));
    let (_, r) = h
        .post(
            "/api/v1/dnc",
            SUPERVISOR,
            Some(json!({"number": "+12125550100"})),
        )
        .await;
    assert_eq!(
        (r["added"].as_u64(), r["already"].as_u64()),
        (Some(0), Some(1))
    );
    let check = h
        .json_200("/api/v1/dnc?number=%2B12125550100", SUPERVISOR)
        .await;
    assert_eq!(
        (check["number"].as_str(), check["listed"].as_bool()),
        (Some("+12125550100"), Some(true))
    );
    let (status, r) = h
        .post(
            "/api/v1/dnc",
            SUPERVISOR,
            Some(json!({"number": "call me"})),
        )
        .await;
    assert_eq!(
        (status, r["error"]["field"].as_str()),
        (422, Some("number"))
    );

    // The campaign's own list, from a CSV with a bad row.
    let path = format!("/api/v1/campaigns/{id}/dnc");
    let r = h
        .client
        .post(h.url(&path))
        .bearer_auth(SUPERVISOR)
        .header("content-type", "text/csv")
        .body("phone\n+14155550100\nnope\n+14155550101\n")
        .send()
        .await
        .expect("HTTP");
    let (status, r) = h.checked_json("post", &path, r).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["added"].as_u64(), r["error_count"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r["errors"][0]["line"], 3);
    let check = h
        .json_200(&format!("{path}?number=%2B14155550100"), SUPERVISOR)
        .await;
    assert_eq!(check["scopes"], json!([id]));
    // The global list does not hold it, but says which list does.
    let check = h
        .json_200("/api/v1/dnc?number=%2B14155550100", SUPERVISOR)
        .await;
    assert_eq!(check["listed"], false);
    assert_eq!(check["scopes"], json!([id]));
    // A campaign's check sees the global list too.
    let check = h
        .json_200(&format!("{path}?number=%2B12125550100"), SUPERVISOR)
        .await;
    assert_eq!(
        (check["listed"].as_bool(), &check["scopes"]),
        (Some(true), &json!(["global"]))
    );

    // Removal: 204, then 404.
    for (expected, url) in [
        (204, format!("{path}/+14155550100")),
        (404, format!("{path}/+14155550100")),
        (204, "/api/v1/dnc/+12125550100".to_string()),
        (404, "/api/v1/dnc/+12125550100".to_string()),
    ] {
        let r = h
            .client
            .delete(h.url(&url))
            .bearer_auth(SUPERVISOR)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(r.status().as_u16(), expected, "DELETE {url}");
    }
    // Agents do not manage lists; unknown campaigns are 404.
    let (status, _) = h
        .post(
            "/api/v1/dnc",
            AGENT,
            Some(json!({"number": "+12125550100"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = h
        .send_json(
            reqwest::Method::GET,
            "/api/v1/campaigns/nope/dnc?number=%2B12125550100",
            SUPERVISOR,
            None,
        )
        .await;
    assert_eq!(status, 404);
    h.stop().await;
}
