//! `switchboard.toml`: the switch's configuration, parsed and validated at load.
//!
//! Every error carries the file, the 1-based line and a reason (`switchboard.toml:12: …`),
//! whether it is a TOML syntax error, a wrong type, an unknown key or a semantic problem
//! (a duplicate endpoint, a trunk without a host, an unparseable listen address). The
//! loaded [`Config`] holds only checked values: addresses are `SocketAddr`s, timers are
//! `Duration`s, and nothing downstream re-validates.
//!
//! The embedded default (`default.toml` beside this file) is what `switchboard run` uses
//! without `--config`; it is also the complete, commented example the README shows.

pub mod directory;
mod http;
mod raw;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::media::RelayIo;
pub use directory::{EndpointSpec, FieldError, TrunkSpec};
pub use http::{ApiRole, ApiToken, HttpConfig};
pub use raw::{MediaMode, Transport};

/// The embedded default configuration text.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// One validation error: `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// A listen address with its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct SipConfig {
    pub listen: Vec<Listen>,
    pub domain: String,
    pub max_calls: usize,
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
    /// Digest algorithms offered in challenges, most preferred first (RFC 8760 §2.4).
    pub digest_algorithms: Vec<crate::sip::auth::DigestAlgorithm>,
}

#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
}

/// `[media]`: whether and where calls' RTP is relayed.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub mode: MediaMode,
    pub rtp_ports: std::ops::RangeInclusive<u16>,
    /// No RTP either way for this long (not on hold) hangs the call up (`media_timeout`).
    pub timeout: Duration,
    /// Where `playback = "name"` finds `name.wav`.
    pub prompts_dir: PathBuf,
    /// Where `record_start` and voicemail write (relative file names land here).
    pub recordings_dir: PathBuf,
    /// Call-progress tone set: "us", "uk" or "eu".
    pub tones: String,
    /// `relay_threads` (1–64, default 1): the media relay's threads
    /// (`MediaConfig::relay_threads`).
    pub relay_threads: usize,
    /// `relay_coalesce_us` (0–1000, default 0 = off): a busy relay thread's pause after a
    /// small round (`MediaConfig::relay_coalesce`).
    pub relay_coalesce: Duration,
    /// `relay_io` ("io_uring", the default, or "epoll"): how relay threads send
    /// (`MediaConfig::relay_io`).
    pub relay_io: RelayIo,
    /// `kernel_forwarding` (default false): plain pass-through RTP forwarded by the kernel
    /// (`MediaConfig::kernel_forwarding`; needs root and Linux 6.6+, else userspace).
    pub kernel_forwarding: bool,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub user: String,
    pub password: String,
    pub caller_id: Option<String>,
    pub context: String,
    /// Overrides `[media] mode` for calls from this endpoint.
    pub media: Option<MediaMode>,
}

/// Where a trunk accepts calls from: an IP (any port) or an exact address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundSource {
    Ip(IpAddr),
    Addr(SocketAddr),
}

impl InboundSource {
    pub fn matches(&self, src: SocketAddr) -> bool {
        match self {
            InboundSource::Ip(ip) => src.ip() == *ip,
            InboundSource::Addr(a) => src == *a,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Trunk {
    pub name: String,
    pub host: SocketAddr,
    pub transport: Transport,
    pub username: Option<String>,
    pub password: Option<String>,
    pub register: bool,
    pub inbound: Vec<InboundSource>,
    pub context: String,
    /// Overrides `[media] mode` for calls from this trunk.
    pub media: Option<MediaMode>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (`<embedded default>` for the built-in one).
    pub source: String,
    /// The file's text (for [`Config::section`]).
    pub text: String,
    pub sip: SipConfig,
    pub registrar: RegistrarConfig,
    pub store_url: String,
    /// `[store] node`: this node's name in a shared store (see [`crate::store::Store::with_node`]).
    pub store_node: String,
    pub dialplan_dir: PathBuf,
    pub media: MediaSettings,
    pub endpoints: Vec<Endpoint>,
    pub trunks: Vec<Trunk>,
    /// `[http]`: the API/console listener (none when absent or `listen = ""`).
    pub http: HttpConfig,
    /// `[[api_token]]`: who may use the API.
    pub api_tokens: Vec<ApiToken>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: name.clone(),
                line: 0,
                reason: format!("cannot read: {e}"),
            }]
        })?;
        Config::parse(&name, &text)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        Config::parse("<embedded default>", DEFAULT_TOML)
            .expect("the embedded default config is valid (tested)")
    }

    /// Parses and validates config text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
        raw::parse(file, text)
    }

    /// The sections a higher module owns (`[[queue]]`, `[[agent]]`, `[acd]`), read as
    /// `T` from the same text (keys `T` does not name are ignored), errors as `file:line`.
    pub fn section<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start).min(self.text.len());
            ConfigError {
                file: self.source.clone(),
                line: self.text[..at].bytes().filter(|b| *b == b'\n').count() + 1,
                reason: e.message().to_string(),
            }
        })
    }

    /// The endpoint with this user name.
    pub fn endpoint(&self, user: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.user == user)
    }

    /// The trunk with this name.
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The trunk whose inbound sources include `src`.
    pub fn trunk_for_source(&self, src: SocketAddr) -> Option<&Trunk> {
        self.trunks
            .iter()
            .find(|t| t.inbound.iter().any(|s| s.matches(src)))
    }
}

#[cfg(test)]
mod tests;
