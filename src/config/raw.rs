//! The TOML shape of `switchboard.toml` (serde, with spans) and its validation into
//! [`super::Config`]. Unknown keys are errors, so a typo never passes silently.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::sip::auth::DigestAlgorithm;
use toml::Spanned;

use super::{
    Config, ConfigError, Endpoint, Listen, MediaSettings, RegistrarConfig, RelayIo, SipConfig,
    Trunk,
};

/// SIP transports we listen on and send over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_via(&self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    pub fn is_reliable(&self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    sip: RawSip,
    #[serde(default)]
    registrar: RawRegistrar,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    dialplan: RawDialplan,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    endpoint: Vec<Spanned<RawEndpoint>>,
    #[serde(default)]
    trunk: Vec<Spanned<RawTrunk>>,
    // [http] and [[api_token]]: see super::http.
    http: Option<super::http::RawHttp>,
    #[serde(default)]
    api_token: Vec<Spanned<super::http::RawApiToken>>,
    // Sections whose owners read them typed through `Config::section` (the ACD): only
    // accepted here.
    #[serde(default, rename = "queue")]
    _queue: Vec<toml::Value>,
    #[serde(default, rename = "agent")]
    _agent: Vec<toml::Value>,
    #[serde(default, rename = "acd")]
    _acd: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSip {
    listen: Vec<Spanned<String>>,
    domain: String,
    #[serde(default = "default_max_calls")]
    max_calls: usize,
    #[serde(default)]
    timers: RawTimers,
    #[serde(default = "default_digest")]
    digest_algorithms: Vec<Spanned<String>>,
}

fn default_digest() -> Vec<Spanned<String>> {
    ["SHA-256", "MD5"]
        .iter()
        .map(|a| Spanned::new(0..0, a.to_string()))
        .collect()
}

fn default_max_calls() -> usize {
    20_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimers {
    t1_ms: Spanned<u64>,
    t2_ms: Spanned<u64>,
    t4_ms: Spanned<u64>,
}

impl Default for RawTimers {
    fn default() -> Self {
        RawTimers {
            t1_ms: Spanned::new(0..0, 500),
            t2_ms: Spanned::new(0..0, 4000),
            t4_ms: Spanned::new(0..0, 5000),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistrar {
    min_expires: u32,
    max_expires: u32,
    default_expires: u32,
}

impl Default for RawRegistrar {
    fn default() -> Self {
        RawRegistrar {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: String,
    /// This node's name in a store shared by several nodes.
    node: Option<Spanned<String>>,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: "sqlite://data/switchboard.db".into(),
            node: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialplan {
    dir: PathBuf,
}

impl Default for RawDialplan {
    fn default() -> Self {
        RawDialplan {
            dir: PathBuf::from("dialplans"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    #[serde(default = "default_media_mode")]
    mode: MediaMode,
    #[serde(default = "default_rtp_ports")]
    rtp_ports: Spanned<String>,
    #[serde(default = "default_media_timeout")]
    timeout_s: u64,
    #[serde(default = "default_prompts_dir")]
    prompts_dir: PathBuf,
    #[serde(default = "default_recordings_dir")]
    recordings_dir: PathBuf,
    #[serde(default = "default_tones")]
    tones: Spanned<String>,
    #[serde(default = "default_relay_threads")]
    relay_threads: Spanned<u64>,
    #[serde(default = "default_relay_coalesce_us")]
    relay_coalesce_us: Spanned<u64>,
    #[serde(default = "default_relay_io")]
    relay_io: Spanned<String>,
    #[serde(default)]
    kernel_forwarding: bool,
}

/// `[media] relay_threads`: 1 ..= this.
pub(super) const MAX_RELAY_THREADS: u64 = 64;
/// `[media] relay_coalesce_us`: 0 ..= this (the added-latency budget is 1 ms).
pub(super) const MAX_RELAY_COALESCE_US: u64 = 1000;

fn default_relay_threads() -> Spanned<u64> {
    Spanned::new(0..0, 1)
}

fn default_relay_coalesce_us() -> Spanned<u64> {
    Spanned::new(0..0, 0)
}

fn default_relay_io() -> Spanned<String> {
    Spanned::new(0..0, "io_uring".to_string())
}

fn default_prompts_dir() -> PathBuf {
    PathBuf::from("prompts")
}

fn default_recordings_dir() -> PathBuf {
    PathBuf::from("data/recordings")
}

fn default_tones() -> Spanned<String> {
    Spanned::new(0..0, "us".to_string())
}

fn default_media_timeout() -> u64 {
    60
}

fn default_media_mode() -> MediaMode {
    MediaMode::Relay
}

fn default_rtp_ports() -> Spanned<String> {
    Spanned::new(0..0, "20000-29999".to_string())
}

impl Default for RawMedia {
    fn default() -> Self {
        RawMedia {
            mode: default_media_mode(),
            rtp_ports: default_rtp_ports(),
            timeout_s: default_media_timeout(),
            prompts_dir: default_prompts_dir(),
            recordings_dir: default_recordings_dir(),
            tones: default_tones(),
            relay_threads: default_relay_threads(),
            relay_coalesce_us: default_relay_coalesce_us(),
            relay_io: default_relay_io(),
            kernel_forwarding: false,
        }
    }
}

/// Whether calls' media flows through the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// Every call's RTP is anchored at the switch (NAT-safe; needed for prompts, recording, DTMF).
    Relay,
    /// SDP passes through untouched; RTP flows phone to phone.
    Bypass,
}

/// `"20000-29999"` → an even-aligned range of at least two RTP/RTCP pairs.
fn parse_port_range(s: &str) -> Option<RangeInclusive<u16>> {
    let (lo, hi) = s.split_once('-')?;
    let (lo, hi): (u16, u16) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
    (lo >= 1024 && hi >= lo.checked_add(3)?).then_some(lo..=hi)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    user: Spanned<String>,
    password: String,
    caller_id: Option<String>,
    context: String,
    media: Option<MediaMode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrunk {
    name: Spanned<String>,
    host: Spanned<String>,
    #[serde(default = "default_transport")]
    transport: Transport,
    username: Option<String>,
    password: Option<Spanned<String>>,
    register: Option<Spanned<bool>>,
    #[serde(default)]
    inbound: Vec<Spanned<String>>,
    context: String,
    media: Option<MediaMode>,
}

fn default_transport() -> Transport {
    Transport::Udp
}

/// Collects errors with line numbers computed from byte spans.
struct Errors<'a> {
    file: &'a str,
    text: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn at(&mut self, span: Range<usize>, reason: impl Into<String>) {
        let line = self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1;
        self.list.push(ConfigError {
            file: self.file.to_string(),
            line,
            reason: reason.into(),
        });
    }
}

pub(super) fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors {
        file,
        text,
        list: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let reason = e.message().to_string();
            errors.at(e.span().unwrap_or(0..0), reason);
            return Err(errors.list);
        }
    };

    let listen = raw
        .sip
        .listen
        .iter()
        .filter_map(|l| match parse_listen(l.get_ref()) {
            Ok(listen) => Some(listen),
            Err(reason) => {
                errors.at(l.span(), reason);
                None
            }
        })
        .collect::<Vec<_>>();
    if raw.sip.listen.is_empty() {
        errors.at(0..0, "[sip] listen: at least one address is required");
    }
    for t in [&raw.sip.timers.t1_ms, &raw.sip.timers.t2_ms] {
        if *t.get_ref() == 0 {
            errors.at(t.span(), "timer must be greater than 0 ms");
        }
    }
    if raw.sip.timers.t2_ms.get_ref() < raw.sip.timers.t1_ms.get_ref() {
        errors.at(raw.sip.timers.t2_ms.span(), "t2_ms must be at least t1_ms");
    }

    let digest_algorithms: Vec<DigestAlgorithm> = raw
        .sip
        .digest_algorithms
        .iter()
        .filter_map(|a| match a.get_ref().parse::<DigestAlgorithm>() {
            Ok(alg) => Some(alg),
            Err(_) => {
                errors.at(
                    a.span(),
                    format!(
                        "unknown digest algorithm {:?} (SHA-256, MD5, SHA-256-sess, MD5-sess)",
                        a.get_ref()
                    ),
                );
                None
            }
        })
        .collect();
    if raw.sip.digest_algorithms.is_empty() {
        errors.at(
            0..0,
            "[sip] digest_algorithms: at least one algorithm is required",
        );
    }

    let mut users = HashSet::new();
    let endpoints = raw
        .endpoint
        .iter()
        .map(|e| {
            let e = e.get_ref();
            let user = e.user.get_ref();
            if !super::directory::is_sip_user(user) {
                errors.at(
                    e.user.span(),
                    format!("endpoint user {user:?} is not a valid SIP user"),
                );
            }
            if !users.insert(user.clone()) {
                errors.at(e.user.span(), format!("duplicate endpoint {user:?}"));
            }
            Endpoint {
                user: user.clone(),
                password: e.password.clone(),
                caller_id: e.caller_id.clone(),
                context: e.context.clone(),
                media: e.media,
            }
        })
        .collect();

    let mut names = HashSet::new();
    let trunks = raw
        .trunk
        .iter()
        .filter_map(|t| {
            let t = t.get_ref();
            let name = t.name.get_ref();
            if !names.insert(name.clone()) {
                errors.at(t.name.span(), format!("duplicate trunk {name:?}"));
            }
            let register = t.register.as_ref().is_some_and(|r| *r.get_ref());
            if let Some(r) = t.register.as_ref().filter(|_| register) {
                if t.username.is_none() || t.password.is_none() {
                    errors.at(
                        r.span(),
                        format!("trunk {name:?}: register needs username and password"),
                    );
                }
            }
            if let Some(pw) = &t.password {
                if t.username.is_none() {
                    errors.at(
                        pw.span(),
                        format!("trunk {name:?}: password without username"),
                    );
                }
            }
            let inbound = t
                .inbound
                .iter()
                .filter_map(|s| match super::directory::parse_inbound(s.get_ref()) {
                    Some(src) => Some(src),
                    None => {
                        errors.at(
                            s.span(),
                            format!(
                                "trunk {name:?}: inbound {:?} is not an IP or IP:port",
                                s.get_ref()
                            ),
                        );
                        None
                    }
                })
                .collect();
            let host = match t.host.get_ref().parse::<SocketAddr>() {
                Ok(h) => h,
                Err(_) => {
                    errors.at(
                        t.host.span(),
                        format!("trunk {name:?}: host {:?} is not IP:port", t.host.get_ref()),
                    );
                    return None;
                }
            };
            Some(Trunk {
                name: name.clone(),
                host,
                transport: t.transport,
                username: t.username.clone(),
                password: t.password.as_ref().map(|p| p.get_ref().clone()),
                register,
                inbound,
                context: t.context.clone(),
                media: t.media,
            })
        })
        .collect();

    let rtp_ports = parse_port_range(raw.media.rtp_ports.get_ref());
    if rtp_ports.is_none() {
        errors.at(
            raw.media.rtp_ports.span(),
            format!("[media] rtp_ports {:?}: expected \"LOW-HIGH\" with 1024 <= LOW and room for two RTP/RTCP pairs", raw.media.rtp_ports.get_ref()),
        );
    }

    let http = super::http::http(raw.http.as_ref(), &mut |span, r| errors.at(span, r));
    let api_tokens = super::http::tokens(&raw.api_token, &mut |span, r| errors.at(span, r));
    let tones = raw.media.tones.get_ref().to_ascii_lowercase();
    if !["us", "uk", "eu"].contains(&tones.as_str()) {
        errors.at(
            raw.media.tones.span(),
            format!("[media] tones {tones:?}: expected \"us\", \"uk\" or \"eu\""),
        );
    }

    let store_node = match &raw.store.node {
        Some(node) => {
            let name = node.get_ref();
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                errors.at(
                    node.span(),
                    format!(
                        "[store] node {name:?}: expected 1 to 64 letters, digits, '.', '_' or '-'"
                    ),
                );
            }
            name.clone()
        }
        None => default_node(&raw.store.url),
    };
    let relay_threads = *raw.media.relay_threads.get_ref();
    if !(1..=MAX_RELAY_THREADS).contains(&relay_threads) {
        errors.at(
            raw.media.relay_threads.span(),
            format!("[media] relay_threads {relay_threads}: expected 1 to {MAX_RELAY_THREADS}"),
        );
    }
    let relay_coalesce_us = *raw.media.relay_coalesce_us.get_ref();
    if relay_coalesce_us > MAX_RELAY_COALESCE_US {
        errors.at(
            raw.media.relay_coalesce_us.span(),
            format!("[media] relay_coalesce_us {relay_coalesce_us}: expected 0 to {MAX_RELAY_COALESCE_US} (µs)"),
        );
    }
    let relay_io = match raw.media.relay_io.get_ref().as_str() {
        "epoll" => RelayIo::Epoll,
        "io_uring" => RelayIo::IoUring,
        other => {
            errors.at(
                raw.media.relay_io.span(),
                format!("[media] relay_io {other:?}: expected \"epoll\" or \"io_uring\""),
            );
            RelayIo::Epoll
        }
    };

    if !errors.list.is_empty() {
        return Err(errors.list);
    }
    Ok(Config {
        http,
        api_tokens,
        source: file.to_string(),
        text: text.to_string(),
        sip: SipConfig {
            listen,
            domain: raw.sip.domain,
            max_calls: raw.sip.max_calls,
            t1: Duration::from_millis(*raw.sip.timers.t1_ms.get_ref()),
            t2: Duration::from_millis(*raw.sip.timers.t2_ms.get_ref()),
            t4: Duration::from_millis(*raw.sip.timers.t4_ms.get_ref()),
            digest_algorithms,
        },
        registrar: RegistrarConfig {
            min_expires: raw.registrar.min_expires,
            max_expires: raw.registrar.max_expires,
            default_expires: raw.registrar.default_expires,
        },
        store_url: raw.store.url,
        store_node,
        dialplan_dir: raw.dialplan.dir,
        media: MediaSettings {
            mode: raw.media.mode,
            rtp_ports: rtp_ports.unwrap_or(20000..=29999),
            timeout: Duration::from_secs(raw.media.timeout_s.max(1)),
            prompts_dir: raw.media.prompts_dir,
            recordings_dir: raw.media.recordings_dir,
            tones,
            relay_threads: relay_threads as usize,
            relay_coalesce: Duration::from_micros(relay_coalesce_us),
            relay_io,
            kernel_forwarding: raw.media.kernel_forwarding,
        },
        endpoints,
        trunks,
    })
}

/// The node name when `[store] node` is absent: none for SQLite (one node per file), the
/// host name for PostgreSQL, where several nodes may share the database and each must
/// recover only its own calls and leads after a restart.
fn default_node(url: &str) -> String {
    if !url.starts_with("postgres") {
        return String::new();
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

fn parse_listen(s: &str) -> Result<Listen, String> {
    let (proto, addr) = s
        .split_once(':')
        .ok_or_else(|| format!("listen {s:?}: expected \"udp:IP:PORT\" or \"tcp:IP:PORT\""))?;
    let transport = match proto {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => {
            return Err(format!(
                "listen {s:?}: unknown transport {other:?} (udp or tcp)"
            ))
        }
    };
    let addr = addr
        .parse()
        .map_err(|_| format!("listen {s:?}: {addr:?} is not IP:PORT"))?;
    Ok(Listen { transport, addr })
}
