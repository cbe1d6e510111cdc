//! Endpoints and trunks changed over the API take effect in the running switch and
//! outlive a restart: an endpoint created over HTTP registers with digest auth on a real
//! UDP socket, a deleted one gets 404, a carrier trunk added with `register = true` starts
//! registering at once (and unregisters when deleted), and after a restart on the same
//! store the changes (additions and the deletion of a file entry) are still in force.
//! Roles and validation as the API's.

mod api_support;

use std::net::SocketAddr;
use std::path::Path;

use api_support::schema;
use api_support::{header, recv_request, respond, ADMIN, AGENT, SUPERVISOR, WAIT};
use serde_json::{json, Value};
use switchboard::config::Config;
use switchboard::runtime::Running;
use switchboard::sip::auth::{authorization, Challenge};
use tokio::net::UdpSocket;

struct Switch {
    running: Running,
    http: SocketAddr,
    sip: SocketAddr,
    client: reqwest::Client,
}

async fn start(dir: &Path) -> Switch {
    let plans = dir.join("dialplans");
    std::fs::create_dir_all(&plans).expect("mkdir");
    std::fs::write(plans.join("test.toml"), api_support::PLAN).expect("write plan");
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "dir.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
mode = "bypass"
[http]
listen = "127.0.0.1:0"
[[endpoint]]
user = "1001"
password = "alice-1001"
context = "from-trunk"
[[api_token]]
token = "{ADMIN}"
role = "admin"
name = "Ada Admin"
[[api_token]]
token = "{SUPERVISOR}"
role = "supervisor"
name = "Sam Supervisor"
[[api_token]]
token = "{AGENT}"
role = "agent"
agent = "1001"
name = "Alice Agent"
"#,
        db = dir.join("sb.db").display(),
        plans = plans.display(),
    );
    let cfg = Config::parse("dir.toml", &text).expect("valid test config");
    let running = switchboard::runtime::start(cfg)
        .await
        .expect("switch starts");
    Switch {
        http: running.http.expect("HTTP listens"),
        sip: running.bound.udp[0],
        running,
        client: reqwest::Client::new(),
    }
}

impl Switch {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Sends a request; returns the status and the JSON body (null when empty), the body
    /// checked against the OpenAPI document.
    async fn call(
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
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        if text.is_empty() {
            return (status, Value::Null);
        }
        let v: Value = serde_json::from_str(&text).expect("JSON body");
        schema::check(&method.as_str().to_ascii_lowercase(), path, status, &v);
        (status, v)
    }

    async fn stop(self) {
        self.running.stop_now();
        tokio::time::timeout(WAIT, self.running.wait())
            .await
            .expect("the switch stops");
    }
}

fn register(user: &str, me: SocketAddr, cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:dir.test SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKreg{user}{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@dir.test>;tag=r{cseq}\r\nTo: <sip:{user}@dir.test>\r\nCall-ID: reg-{user}-{me}@dir.test\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{me}>\r\nExpires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

/// The next final response on `sock`.
async fn final_response(sock: &UdpSocket) -> String {
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf))
            .await
            .expect("a response arrives")
            .expect("recv");
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        if m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1") {
            return m;
        }
    }
}

fn status_of(resp: &str) -> u16 {
    resp.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A phone registers `user` with `password` (answering the digest challenge); returns
/// the final status.
async fn register_phone(sw: &Switch, user: &str, password: &str) -> u16 {
    let phone = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let me = phone.local_addr().expect("addr");
    phone
        .send_to(register(user, me, 1, None).as_bytes(), sw.sip)
        .await
        .expect("send");
    let first = final_response(&phone).await;
    if status_of(&first) != 401 {
        return status_of(&first);
    }
    let challenge = Challenge::parse(header(&first, "WWW-Authenticate").expect("challenge"))
        .expect("parse challenge");
    let auth = authorization(
        &challenge,
        user,
        password,
        "REGISTER",
        "sip:dir.test",
        1,
        "c0ffee",
    );
    phone
        .send_to(register(user, me, 2, Some(&auth)).as_bytes(), sw.sip)
        .await
        .expect("send");
    status_of(&final_response(&phone).await)
}

fn users(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|e| e["user"].as_str().expect("user").to_string())
        .collect()
}

#[tokio::test]
async fn an_endpoint_created_over_the_api_registers_and_a_deleted_one_is_refused() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("temp dir");
    let sw = start(dir.path()).await;
    assert_eq!(register_phone(&sw, "2001", "pw-2001").await, 404);

    let (status, made) = sw
        .call(
            Method::POST,
            "/api/v1/endpoints",
            ADMIN,
            Some(json!({"user": "2001", "password": "pw-2001", "context": "from-trunk"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["user"], "2001");
    assert!(made.get("password").is_none(), "passwords are write-only");
    assert_eq!(register_phone(&sw, "2001", "pw-2001").await, 200);
    assert_eq!(register_phone(&sw, "2001", "wrong").await, 403);

    // A PUT without a password keeps the one in force.
    let (status, _) = sw
        .call(
            Method::PUT,
            "/api/v1/endpoints/2001",
            ADMIN,
            Some(json!({"context": "from-trunk", "caller_id": "Desk 2001"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, one) = sw
        .call(Method::GET, "/api/v1/endpoints/2001", SUPERVISOR, None)
        .await;
    assert_eq!(one["caller_id"], "Desk 2001");
    assert_eq!(register_phone(&sw, "2001", "pw-2001").await, 200);

    let (status, _) = sw
        .call(Method::DELETE, "/api/v1/endpoints/2001", ADMIN, None)
        .await;
    assert_eq!(status, 204);
    let (_, regs) = sw
        .call(Method::GET, "/api/v1/registrations", SUPERVISOR, None)
        .await;
    assert!(
        regs.as_array().expect("array").is_empty(),
        "a deleted endpoint's bindings are dropped: {regs}"
    );
    assert_eq!(register_phone(&sw, "2001", "pw-2001").await, 404);
    let (status, _) = sw
        .call(Method::DELETE, "/api/v1/endpoints/2001", ADMIN, None)
        .await;
    assert_eq!(status, 404);
    sw.stop().await;
}

#[tokio::test]
async fn directory_changes_outlive_a_restart() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("temp dir");
    let sw = start(dir.path()).await;
    let (status, _) = sw
        .call(
            Method::POST,
            "/api/v1/endpoints",
            ADMIN,
            Some(json!({"user": "2002", "password": "pw-2002", "context": "from-trunk"})),
        )
        .await;
    assert_eq!(status, 201);
    // The file's endpoint, deleted through the API.
    let (status, _) = sw
        .call(Method::DELETE, "/api/v1/endpoints/1001", ADMIN, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = sw
        .call(
            Method::POST,
            "/api/v1/trunks",
            ADMIN,
            Some(json!({"name": "backup", "host": "192.0.2.7:5060", "inbound": ["192.0.2.7"], "context": "from-trunk"})),
        )
        .await;
    assert_eq!(status, 201);
    sw.stop().await;

    let sw = start(dir.path()).await;
    let (_, list) = sw
        .call(Method::GET, "/api/v1/endpoints", SUPERVISOR, None)
        .await;
    assert_eq!(users(&list), ["2002"]);
    assert_eq!(register_phone(&sw, "2002", "pw-2002").await, 200);
    assert_eq!(register_phone(&sw, "1001", "alice-1001").await, 404);
    let (_, trunk) = sw
        .call(Method::GET, "/api/v1/trunks/backup", SUPERVISOR, None)
        .await;
    assert_eq!(trunk["host"], "192.0.2.7:5060");
    assert_eq!(trunk["inbound"], json!(["192.0.2.7"]));
    sw.stop().await;
}

#[tokio::test]
async fn a_registering_trunk_added_over_the_api_registers_at_once() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("temp dir");
    let sw = start(dir.path()).await;
    let carrier = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let host = carrier.local_addr().expect("addr").to_string();
    let (status, made) = sw
        .call(
            Method::POST,
            "/api/v1/trunks",
            ADMIN,
            Some(
                json!({"name": "carrier", "host": host, "username": "acct", "password": "s3cret",
                "register": true, "context": "from-trunk"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["register"], true);
    assert!(made.get("password").is_none());
    let (reg, from) = recv_request(&carrier, "REGISTER").await;
    assert!(reg.contains("sip:acct@"), "{reg}");
    carrier
        .send_to(respond(&reg, 200, "OK", ";tag=c").as_bytes(), from)
        .await
        .expect("send 200");
    let (status, _) = sw
        .call(Method::DELETE, "/api/v1/trunks/carrier", ADMIN, None)
        .await;
    assert_eq!(status, 204);
    // The carrier's binding is removed (RFC 3261 §10.2.2).
    let (unreg, _) = recv_request(&carrier, "REGISTER").await;
    assert_eq!(header(&unreg, "Expires"), Some("0"), "{unreg}");
    assert_eq!(header(&unreg, "Call-ID"), header(&reg, "Call-ID"));
    let (_, list) = sw
        .call(Method::GET, "/api/v1/trunks", SUPERVISOR, None)
        .await;
    assert_eq!(list, json!([]));
    sw.stop().await;
}

#[tokio::test]
async fn only_admins_change_the_directory_and_bad_fields_are_named() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("temp dir");
    let sw = start(dir.path()).await;
    let ok = json!({"user": "3001", "password": "pw", "context": "from-trunk"});
    let (status, _) = sw
        .call(
            Method::POST,
            "/api/v1/endpoints",
            SUPERVISOR,
            Some(ok.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = sw.call(Method::GET, "/api/v1/endpoints", AGENT, None).await;
    assert_eq!(status, 403);
    let (status, _) = sw
        .call(Method::GET, "/api/v1/trunks", SUPERVISOR, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = sw
        .call(Method::DELETE, "/api/v1/endpoints/1001", SUPERVISOR, None)
        .await;
    assert_eq!(status, 403);

    let cases = [
        (
            json!({"user": "bad user", "password": "pw", "context": "c"}),
            422,
            Some("user"),
        ),
        (json!({"password": "pw", "context": "c"}), 422, Some("user")),
        (
            json!({"user": "3002", "context": "c"}),
            422,
            Some("password"),
        ),
        (
            json!({"user": "3002", "password": "pw", "context": "c", "media": "x"}),
            422,
            Some("media"),
        ),
        (
            json!({"user": "3002", "password": "pw", "context": "c", "colour": "red"}),
            400,
            None,
        ),
        (
            json!({"user": "1001", "password": "pw", "context": "c"}),
            409,
            None,
        ),
    ];
    for (body, want, field) in cases {
        let (status, err) = sw
            .call(Method::POST, "/api/v1/endpoints", ADMIN, Some(body.clone()))
            .await;
        assert_eq!(status, want, "{body} → {err}");
        if let Some(field) = field {
            assert_eq!(err["error"]["field"], field, "{body} → {err}");
        }
    }
    let trunk_cases = [
        (
            json!({"name": "t", "host": "carrier.example", "context": "c"}),
            "host",
        ),
        (
            json!({"name": "t", "host": "192.0.2.1:5060", "context": "c", "register": true}),
            "register",
        ),
        (
            json!({"name": "t", "host": "192.0.2.1:5060", "context": "c", "inbound": ["x"]}),
            "inbound",
        ),
        (
            json!({"name": "t", "host": "192.0.2.1:5060", "context": "c", "transport": "sctp"}),
            "transport",
        ),
    ];
    for (body, field) in trunk_cases {
        let (status, err) = sw
            .call(Method::POST, "/api/v1/trunks", ADMIN, Some(body.clone()))
            .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let (status, err) = sw
        .call(
            Method::PUT,
            "/api/v1/endpoints/1001",
            ADMIN,
            Some(json!({"user": "1002", "context": "c"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("user"))
    );
    let (status, _) = sw
        .call(
            Method::PUT,
            "/api/v1/endpoints/9999",
            ADMIN,
            Some(json!({"password": "pw", "context": "c"})),
        )
        .await;
    assert_eq!(status, 404);
    // Nothing refused reached the running directory.
    let (_, list) = sw
        .call(Method::GET, "/api/v1/endpoints", SUPERVISOR, None)
        .await;
    assert_eq!(users(&list), ["1001"]);
    sw.stop().await;
}

#[tokio::test]
async fn concurrent_creations_of_one_name_make_one_entry() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("temp dir");
    let sw = start(dir.path()).await;
    for round in 0..5 {
        let user = format!("40{round:02}");
        let body = json!({"user": user, "password": "pw", "context": "from-trunk"});
        let posts =
            (0..8).map(|_| sw.call(Method::POST, "/api/v1/endpoints", ADMIN, Some(body.clone())));
        let mut statuses: Vec<u16> = futures_util::future::join_all(posts)
            .await
            .into_iter()
            .map(|(status, _)| status)
            .collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [201, 409, 409, 409, 409, 409, 409, 409],
            "round {round}"
        );
    }
    sw.stop().await;
}
