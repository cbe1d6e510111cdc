use super::*;

#[test]
fn embedded_default_is_valid() {
    let c = Config::embedded_default();
    assert_eq!(c.sip.domain, "switchboard.local");
    assert_eq!(c.sip.t1, Duration::from_millis(500));
    assert!(c.endpoint("1001").is_some());
    let carrier = c.trunk("carrier").expect("carrier trunk");
    assert_eq!(carrier.host, "127.0.0.1:5080".parse().unwrap());
    assert!(c
        .trunk_for_source("127.0.0.1:5080".parse().unwrap())
        .is_some());
    assert!(c
        .trunk_for_source("127.0.0.1:5081".parse().unwrap())
        .is_none());
}

fn errors(text: &str) -> Vec<String> {
    Config::parse("t.toml", text)
        .expect_err("config should be refused")
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn syntax_error_has_line() {
    let e = errors("[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("t.toml:3: "), "{e:?}");
}

#[test]
fn unknown_key_is_refused_with_line() {
    let e = errors("[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\nlisen = 1\n");
    assert!(
        e[0].starts_with("t.toml:4: ") && e[0].contains("lisen"),
        "{e:?}"
    );
}

#[test]
fn semantic_errors_are_all_reported_with_lines() {
    let text = r#"[sip]
listen = ["udp:127.0.0.1:5060", "sctp:1.2.3.4:5060"]
domain = "x"

[[endpoint]]
user = "1001"
password = "a"
context = "internal"

[[endpoint]]
user = "1001"
password = "b"
context = "internal"

[[trunk]]
name = "t"
host = "carrier.example"
context = "from-trunk"
inbound = ["10.0.0.300"]
"#;
    let e = errors(text);
    assert!(
        e.contains(
            &"t.toml:2: listen \"sctp:1.2.3.4:5060\": unknown transport \"sctp\" (udp or tcp)"
                .to_string()
        ),
        "{e:?}"
    );
    assert!(
        e.contains(&"t.toml:11: duplicate endpoint \"1001\"".to_string()),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.toml:17: trunk \"t\": host")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.toml:19: trunk \"t\": inbound")),
        "{e:?}"
    );
}

#[test]
fn ipv6_listen_and_timers() {
    let c = Config::parse(
        "t.toml",
        "[sip]\nlisten = [\"udp:[::1]:5060\", \"tcp:127.0.0.1:5060\"]\ndomain = \"x\"\n[sip.timers]\nt1_ms = 100\nt2_ms = 400\nt4_ms = 500\n",
    )
    .unwrap();
    assert_eq!(c.sip.listen[0].addr, "[::1]:5060".parse().unwrap());
    assert_eq!(c.sip.listen[1].transport, Transport::Tcp);
    assert_eq!(c.sip.t1, Duration::from_millis(100));
}

#[test]
fn register_without_credentials_is_refused() {
    let e = errors("[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n[[trunk]]\nname = \"t\"\nhost = \"127.0.0.1:5080\"\ncontext = \"c\"\nregister = true\n");
    assert_eq!(
        e,
        vec!["t.toml:8: trunk \"t\": register needs username and password".to_string()]
    );
}

#[test]
fn media_section_defaults_to_relay_and_checks_the_port_range() {
    let c = Config::embedded_default();
    assert_eq!(c.media.mode, MediaMode::Relay);
    assert_eq!(c.media.rtp_ports, 20000..=29999);
    let base = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n[media]\n";
    let c = Config::parse(
        "t.toml",
        &format!("{base}mode = \"bypass\"\nrtp_ports = \"30000-30009\"\n"),
    )
    .unwrap();
    assert_eq!(
        (c.media.mode, c.media.rtp_ports),
        (MediaMode::Bypass, 30000..=30009)
    );
    let e = errors(&format!("{base}rtp_ports = \"9000-8000\"\n"));
    assert!(
        e[0].starts_with("t.toml:5: [media] rtp_ports \"9000-8000\""),
        "{e:?}"
    );
    let e = errors(&format!("{base}mode = \"mirror\"\n"));
    assert!(e[0].starts_with("t.toml:5: "), "{e:?}");
}

#[test]
fn media_relay_threads_and_coalesce_are_read_and_range_checked() {
    let c = Config::embedded_default();
    assert_eq!(
        (c.media.relay_threads, c.media.relay_coalesce),
        (1, Duration::ZERO)
    );
    let base = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n[media]\n";
    let c = Config::parse(
        "t.toml",
        &format!("{base}relay_threads = 2\nrelay_coalesce_us = 200\n"),
    )
    .unwrap();
    assert_eq!(
        (c.media.relay_threads, c.media.relay_coalesce),
        (2, Duration::from_micros(200))
    );
    let c = Config::parse(
        "t.toml",
        &format!("{base}relay_threads = 64\nrelay_coalesce_us = 1000\n"),
    )
    .unwrap();
    assert_eq!(
        (c.media.relay_threads, c.media.relay_coalesce),
        (64, Duration::from_millis(1))
    );
    let e = errors(&format!(
        "{base}relay_threads = 0\nrelay_coalesce_us = 1001\n"
    ));
    assert_eq!(
        e,
        vec![
            "t.toml:5: [media] relay_threads 0: expected 1 to 64".to_string(),
            "t.toml:6: [media] relay_coalesce_us 1001: expected 0 to 1000 (µs)".to_string(),
        ]
    );
    let e = errors(&format!("{base}relay_threads = 65\n"));
    assert_eq!(
        e,
        vec!["t.toml:5: [media] relay_threads 65: expected 1 to 64".to_string()]
    );
    let e = errors(&format!("{base}relay_threads = -1\n"));
    assert!(e[0].starts_with("t.toml:5: "), "{e:?}");
}

#[test]
fn media_relay_io_is_epoll_or_io_uring() {
    assert_eq!(Config::embedded_default().media.relay_io, RelayIo::IoUring);
    let base = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n[media]\n";
    let c = Config::parse("t.toml", &format!("{base}relay_io = \"epoll\"\n")).unwrap();
    assert_eq!(c.media.relay_io, RelayIo::Epoll);
    let c = Config::parse("t.toml", base).unwrap();
    assert_eq!(c.media.relay_io, RelayIo::IoUring);
    assert_eq!(
        errors(&format!("{base}relay_io = \"uring\"\n")),
        vec![
            "t.toml:5: [media] relay_io \"uring\": expected \"epoll\" or \"io_uring\"".to_string()
        ]
    );
}

#[test]
fn media_kernel_forwarding_is_off_unless_asked() {
    assert!(!Config::embedded_default().media.kernel_forwarding);
    let base = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n[media]\n";
    let c = Config::parse("t.toml", &format!("{base}kernel_forwarding = true\n")).unwrap();
    assert!(c.media.kernel_forwarding);
    assert!(Config::parse("t.toml", &format!("{base}kernel_forwarding = \"yes\"\n")).is_err());
}

const SIP_MIN: &str = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n";

#[test]
fn http_defaults_off_and_embedded_default_listens_on_loopback() {
    let c = Config::parse("t.toml", SIP_MIN).expect("valid");
    assert_eq!(c.http.listen, None);
    assert!(c.api_tokens.is_empty());
    let d = Config::embedded_default();
    assert_eq!(d.http.listen, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(d.api_tokens.len(), 1);
    assert_eq!(d.api_tokens[0].role, ApiRole::Admin);
    let off = Config::parse("t.toml", &format!("{SIP_MIN}[http]\nlisten = \"\"\n")).expect("valid");
    assert_eq!(off.http.listen, None);
}

#[test]
fn http_listen_and_tokens_are_checked_with_lines() {
    let e = errors(&format!("{SIP_MIN}[http]\nlisten = \"localhost\"\n"));
    assert!(
        e.len() == 1 && e[0].starts_with("t.toml:5: ") && e[0].contains("[http] listen"),
        "{e:?}"
    );
    let e2 = errors(&format!(
        "{SIP_MIN}[[api_token]]\ntoken = \"short\"\nrole = \"admin\"\n\
         [[api_token]]\ntoken = \"agent-token-0123456789\"\nrole = \"agent\"\n\
         [[api_token]]\ntoken = \"super-token-0123456789\"\nrole = \"supervisor\"\nagent = \"7\"\n\
         [[api_token]]\ntoken = \"super-token-0123456789\"\nrole = \"admin\"\n"
    ));
    assert!(
        e2.iter()
            .any(|e| e.starts_with("t.toml:5: ") && e.contains("at least 16")),
        "{e2:?}"
    );
    assert!(
        e2.iter()
            .any(|e| e.starts_with("t.toml:7: ") && e.contains("needs `agent`")),
        "{e2:?}"
    );
    assert!(
        e2.iter()
            .any(|e| e.starts_with("t.toml:13: ") && e.contains("only for role")),
        "{e2:?}"
    );
    assert!(
        e2.iter()
            .any(|e| e.starts_with("t.toml:15: ") && e.contains("duplicate token")),
        "{e2:?}"
    );
    let e3 = errors(&format!(
        "{SIP_MIN}[[api_token]]\ntoken = \"root-token-0123456789\"\nrole = \"root\"\n"
    ));
    assert!(
        e3[0].starts_with("t.toml:6: ") && e3[0].contains("root"),
        "{e3:?}"
    );
}

#[test]
fn agent_tokens_keep_their_agent_and_tokens_are_redacted_in_debug() {
    let c = Config::parse(
        "t.toml",
        &format!("{SIP_MIN}[[api_token]]\ntoken = \"agent-token-0123456789\"\nrole = \"agent\"\nagent = \"1001\"\n"),
    )
    .expect("valid");
    assert_eq!(c.api_tokens[0].agent.as_deref(), Some("1001"));
    assert_eq!(c.api_tokens[0].name, "agent");
    assert!(!format!("{:?}", c.api_tokens[0]).contains("agent-token"));
}

#[test]
fn store_node_is_named_in_config_or_defaults_per_backend() {
    const SIP: &str = "[sip]\nlisten = [\"udp:127.0.0.1:5060\"]\ndomain = \"x\"\n";
    let named = Config::parse(
        "t.toml",
        &format!("{SIP}[store]\nurl = \"sqlite::memory:\"\nnode = \"pbx-2\"\n"),
    )
    .unwrap();
    assert_eq!(named.store_node, "pbx-2");
    let sqlite = Config::parse("t.toml", SIP).unwrap();
    assert_eq!(sqlite.store_node, "", "one SQLite file has one node");
    let pg = Config::parse(
        "t.toml",
        &format!("{SIP}[store]\nurl = \"postgres://u@h/db\"\n"),
    )
    .unwrap();
    assert!(
        !pg.store_node.is_empty(),
        "a shared PostgreSQL store names the node by its host"
    );
    let e = errors(&format!(
        "{SIP}[store]\nurl = \"sqlite::memory:\"\nnode = \"a b\"\n"
    ));
    assert!(
        e[0].starts_with("t.toml:6: ") && e[0].contains("[store] node"),
        "{e:?}"
    );
}
