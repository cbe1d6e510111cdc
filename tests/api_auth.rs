//! The REST API's front door on the real switch: tokens (401), roles (403), errors as
//! JSON naming the field at fault (400/422), unknown routes (404), and the dialplan
//! routes (reload keeps the running plan on a bad edit; dry-run routing).

mod api_support;

use api_support::{start, ADMIN, AGENT, SUPERVISOR};
use serde_json::{json, Value};

/// The status and `error` object of a response, the body checked against the document
/// when the route is documented.
async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let path = r.url().path().to_string();
    let body: Value = r.json().await.expect("JSON error body");
    let doc = api_support::schema::document();
    if api_support::schema::template(&doc, &path).is_some() {
        let schema = &doc["components"]["schemas"]["ErrorBody"];
        assert_eq!(
            api_support::schema::validate(&doc, schema, &body, "$"),
            Ok(()),
            "{body}"
        );
    }
    (status, body["error"].clone())
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let h = start().await;
    // Health needs no token.
    let health = h
        .client
        .get(h.url("/api/v1/health"))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.expect("json"),
        json!({"status":"ok","version":"0.1.0"})
    );

    // No token, a wrong one, a malformed header: 401 with a JSON error and WWW-Authenticate.
    let none = h
        .client
        .get(h.url("/api/v1/whoami"))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(
        none.headers().get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let (status, err) = error_of(none).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("unauthorized")));
    for auth in [
        "Bearer wrong-token-0123456789",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        ADMIN,
    ] {
        let r = h
            .client
            .get(h.url("/api/v1/stats"))
            .header("authorization", auth)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(r.status(), 401, "{auth}");
    }
    // A token in the query string is only for the WebSocket and the CSV download.
    let r = h
        .client
        .get(h.url(&format!("/api/v1/whoami?token={ADMIN}")))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 401);

    // Each token is its holder.
    let me = h.get_json("/api/v1/whoami", AGENT).await;
    assert_eq!(
        me,
        json!({"role":"agent","agent":"1001","name":"Alice Agent"})
    );
    let me = h.get_json("/api/v1/whoami", ADMIN).await;
    assert_eq!(me, json!({"role":"admin","agent":null,"name":"Ada Admin"}));
    let stats = h.get_json("/api/v1/stats", AGENT).await;
    for k in [
        "active_calls",
        "calls_total",
        "registrations",
        "uptime_s",
        "cps_1m",
    ] {
        assert!(stats[k].is_number(), "{k} in {stats}");
    }
    h.stop().await;
}

#[tokio::test]
async fn roles_limit_what_a_token_may_do() {
    let h = start().await;
    for path in [
        "/api/v1/calls",
        "/api/v1/registrations",
        "/api/v1/cdrs",
        "/api/v1/cdrs.csv",
    ] {
        let (status, err) = error_of(h.get(path, AGENT).send().await.expect("HTTP")).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
        assert_eq!(
            h.get(path, SUPERVISOR).send().await.expect("HTTP").status(),
            200,
            "{path}"
        );
    }
    let del = h
        .client
        .delete(h.url("/api/v1/calls/X"))
        .bearer_auth(AGENT)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(del.status(), 403);
    // Reload is for admins only.
    let r = h
        .client
        .post(h.url("/api/v1/dialplan/reload"))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 403);
    let r = h
        .client
        .post(h.url("/api/v1/dialplan/reload"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json"), json!({"ok": true}));
    // Hanging up a call that is not there.
    let r = h
        .client
        .delete(h.url("/api/v1/calls/NOPE"))
        .bearer_auth(SUPERVISOR)
        .send()
        .await
        .expect("HTTP");
    let (status, err) = error_of(r).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    // A known path with another method: JSON 405.
    let r = h
        .client
        .put(h.url("/api/v1/calls"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("HTTP");
    let (status, err) = error_of(r).await;
    assert_eq!((status, err["code"].as_str()), (405, Some("bad_request")));
    // Unknown routes are JSON 404s too.
    let (status, err) = error_of(h.get("/api/v1/nothing", ADMIN).send().await.expect("HTTP")).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    h.stop().await;
}

#[tokio::test]
async fn bad_input_is_400_or_422_naming_the_field() {
    let h = start().await;
    for (query, status, field) in [
        ("limit=0", 422, "limit"),
        ("since=yesterday", 422, "since"),
        ("status=busy", 422, "status"),
        ("colour=red", 400, "colour"),
    ] {
        let r = h
            .get(&format!("/api/v1/cdrs?{query}"), SUPERVISOR)
            .send()
            .await
            .expect("HTTP");
        let (got, err) = error_of(r).await;
        assert_eq!(
            (got, err["field"].as_str()),
            (status, Some(field)),
            "{query}"
        );
    }
    let route = |body: &'static str| {
        h.client
            .post(h.url("/api/v1/dialplan/route"))
            .bearer_auth(SUPERVISOR)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, err) = error_of(route("{not json").await.expect("HTTP")).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("bad_request")));
    let (status, err) = error_of(
        route(r#"{"context":"from-trunk","caller":"1"}"#)
            .await
            .expect("HTTP"),
    )
    .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("callee")));
    let (status, err) = error_of(
        route(r#"{"context":"nowhere","caller":"1","callee":"2"}"#)
            .await
            .expect("HTTP"),
    )
    .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("context")));
    h.stop().await;
}

#[tokio::test]
async fn dialplan_dry_run_and_reload() {
    let h = start().await;
    let r = h
        .client
        .post(h.url("/api/v1/dialplan/route"))
        .bearer_auth(SUPERVISOR)
        .json(&json!({"context": "from-trunk", "caller": "carrier", "callee": "5551234"}))
        .send()
        .await
        .expect("HTTP");
    let (status, body) = h.checked("post", "/api/v1/dialplan/route", r).await;
    assert_eq!(status, 200);
    let actions = body["actions"].to_string();
    assert!(
        actions.contains("callee") && actions.contains("5551234"),
        "{body}"
    );
    assert!(
        body["trace"].as_array().is_some_and(|t| !t.is_empty()),
        "{body}"
    );

    // A bad edit: 422 with file:line, and the running plan stays.
    let file = h.dir.path().join("dialplans").join("test.toml");
    std::fs::write(&file, "[context.from-trunk]\n\n[[context.from-trunk.extension]]\nexten = \"_X.\"\nactions = [{ dail = 1 }]\n").expect("write");
    let r = h
        .client
        .post(h.url("/api/v1/dialplan/reload"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("HTTP");
    let (status, err) = error_of(r).await;
    assert_eq!((status, err["code"].as_str()), (422, Some("unprocessable")));
    let message = err["message"].as_str().unwrap_or("");
    assert!(message.starts_with("test.toml:5: "), "{message}");
    let still = h
        .client
        .post(h.url("/api/v1/dialplan/route"))
        .bearer_auth(SUPERVISOR)
        .json(&json!({"context": "from-trunk", "caller": "c", "callee": "42"}))
        .send()
        .await
        .expect("HTTP")
        .json::<Value>()
        .await
        .expect("json");
    assert!(still["actions"].to_string().contains("callee"), "{still}");
    h.stop().await;
}

#[tokio::test]
async fn a_busy_http_port_is_a_clear_start_error() {
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = squatter.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\ndomain = \"t\"\n[store]\nurl = \"sqlite://{}\"\n[dialplan]\ndir = \"{}/dialplans\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n",
        dir.path().join("s.db").display(),
        env!("CARGO_MANIFEST_DIR")
    );
    let cfg = switchboard::config::Config::parse("t.toml", &text).expect("valid");
    match switchboard::runtime::start(cfg).await {
        Err(e) => assert!(
            e.to_string()
                .starts_with(&format!("cannot listen for HTTP on 127.0.0.1:{port}")),
            "{e}"
        ),
        Ok(_) => panic!("started on a busy port"),
    }
}
