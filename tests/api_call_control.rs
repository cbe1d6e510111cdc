//! Call control over the API. Click to call: the switch rings the user's own phone (a real
//! UDP phone that registered with digest), and when it answers routes the number through
//! the phone's dialplan context: here out of the `callee` trunk. Blind transfer: the
//! callee of a live call gets a BYE and the caller is routed to a new number. Bad
//! requests are answered with the field at fault; an agent token may ring only its own
//! phone.

mod api_support;
mod phone_support;

use api_support::{recv_request, respond, sdp_at, start, AGENT, SUPERVISOR};

#[tokio::test]
async fn click_to_call_rings_my_phone_then_dials_the_number() {
    let h = start().await;
    let post = |token: &'static str, body: serde_json::Value| {
        h.client
            .post(h.url("/api/v1/calls"))
            .bearer_auth(token)
            .json(&body)
    };
    // Not registered yet: the field at fault is named.
    let r = post(
        SUPERVISOR,
        serde_json::json!({"from": "1001", "to": "5551234"}),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = h.checked("post", "/api/v1/calls", r).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("from"))
    );
    let r = post(
        SUPERVISOR,
        serde_json::json!({"from": "1001", "to": "55 12; drop"}),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = h.checked("post", "/api/v1/calls", r).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("to")));
    // This switch has no ACD: the agent token has no phone of its own to ring.
    let r = post(AGENT, serde_json::json!({"from": "1001", "to": "5551234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let me = phone_support::Peer::new(h.sip).await;
    phone_support::register(&me, "1001", "alice-1001", "api.test").await;
    let phone = &me.sock;
    let r = post(
        SUPERVISOR,
        serde_json::json!({"from": "1001", "to": "5551234"}),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = h.checked("post", "/api/v1/calls", r).await;
    assert_eq!(status, 202, "{body}");
    assert!(body["tag"].as_str().is_some_and(|t| t.starts_with("api-")));
    // My phone rings first and answers…
    let (invite, from) = recv_request(phone, "INVITE").await;
    let ok = respond(&invite, 200, "OK", ";tag=me").replacen(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Contact: <sip:1001@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
            phone.local_addr().unwrap(),
            len = sdp_at(40_100).len(),
            sdp = sdp_at(40_100),
        ),
        1,
    );
    phone.send_to(ok.as_bytes(), from).await.unwrap();
    // …then the number is dialled as 1001's context routes it (the `callee` trunk).
    let (out, _) = recv_request(&h.callee, "INVITE").await;
    assert!(out.starts_with("INVITE sip:5551234@"), "{out}");
    h.stop().await;
}

#[tokio::test]
async fn a_live_call_is_transferred_to_a_new_number() {
    let h = start().await;
    let post = |path: String, body: serde_json::Value| {
        h.client
            .post(h.url(&path))
            .bearer_auth(SUPERVISOR)
            .json(&body)
    };
    let path = "/api/v1/calls/{id}/transfer";
    let r = post(
        "/api/v1/calls/nope/transfer".into(),
        serde_json::json!({"to": "5550001"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(h.checked("post", path, r).await.0, 404);

    h.answered_call("5550000").await;
    let calls = h.get_json("/api/v1/calls", SUPERVISOR).await;
    let id = calls[0]["id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/calls/{id}/transfer");
    let r = post(
        url.clone(),
        serde_json::json!({"to": "5550001", "context": "nowhere"}),
    )
    .send()
    .await
    .unwrap();
    let (status, body) = h.checked("post", path, r).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("context"))
    );
    let r = post(url.clone(), serde_json::json!({"to": "5550001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // The old callee is hung up; the number is dialled anew through the call's context.
    let mut saw_bye = false;
    let mut saw_invite = false;
    while !(saw_bye && saw_invite) {
        let mut buf = vec![0u8; 65_535];
        let (n, from) = tokio::time::timeout(api_support::WAIT, h.callee.recv_from(&mut buf))
            .await
            .expect("the callee hears from the switch")
            .unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.starts_with("BYE ") {
            saw_bye = true;
            h.callee
                .send_to(respond(&msg, 200, "OK", "").as_bytes(), from)
                .await
                .unwrap();
        } else if msg.starts_with("INVITE sip:5550001@") {
            saw_invite = true;
        }
    }
    // A call that is not bridged cannot be moved.
    let r = post(url, serde_json::json!({"to": "5550002"}))
        .send()
        .await
        .unwrap();
    assert_eq!(h.checked("post", path, r).await.0, 409);
    h.stop().await;
}
