//! `[http]` (where the REST API, WebSocket events, `/metrics` and the web console
//! listen) and `[[api_token]]` (who may use the API, with which role): their TOML shape
//! and validation, each error at its `file:line`.

use std::collections::HashSet;
use std::net::SocketAddr;

use serde::Deserialize;
use toml::Spanned;

/// Tokens shorter than this are refused (they could be guessed).
pub const MIN_TOKEN_LEN: usize = 16;

/// `[http]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// `None` when the section is absent or `listen = ""`: no HTTP server.
    pub listen: Option<SocketAddr>,
}

/// What a token may do: admin > supervisor > agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiRole {
    Agent,
    Supervisor,
    Admin,
}

impl ApiRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::Agent => "agent",
            ApiRole::Supervisor => "supervisor",
            ApiRole::Admin => "admin",
        }
    }
}

/// One `[[api_token]]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub token: String,
    pub role: ApiRole,
    /// The agent an agent token acts for (required for, and only for, role agent).
    pub agent: Option<String>,
    /// Who holds the token (shown by whoami and in logs; never the token itself).
    pub name: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .field("agent", &self.agent)
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    listen: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiToken {
    token: Spanned<String>,
    role: ApiRole,
    agent: Option<Spanned<String>>,
    name: Option<String>,
}

/// Validates `[http]`; `at(span, reason)` records an error at a span.
pub(super) fn http(
    raw: Option<&RawHttp>,
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> HttpConfig {
    let Some(raw) = raw else {
        return HttpConfig::default();
    };
    let text = raw.listen.get_ref().trim();
    if text.is_empty() {
        return HttpConfig::default();
    }
    match text.parse::<SocketAddr>() {
        Ok(addr) => HttpConfig { listen: Some(addr) },
        Err(_) => {
            at(
                raw.listen.span(),
                format!("[http] listen {text:?} is not IP:PORT (\"\" disables the API)"),
            );
            HttpConfig::default()
        }
    }
}

/// Validates every `[[api_token]]`.
pub(super) fn tokens(
    raw: &[Spanned<RawApiToken>],
    at: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Vec<ApiToken> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for entry in raw {
        let t = entry.get_ref();
        let token = t.token.get_ref();
        if token.len() < MIN_TOKEN_LEN || !token.chars().all(|c| c.is_ascii_graphic()) {
            at(
                t.token.span(),
                format!(
                    "api_token: a token must be at least {MIN_TOKEN_LEN} printable ASCII characters"
                ),
            );
            continue;
        }
        if !seen.insert(token.clone()) {
            at(t.token.span(), "api_token: duplicate token".to_string());
            continue;
        }
        let agent = t.agent.as_ref().map(|a| a.get_ref().clone());
        match (t.role, &t.agent) {
            (ApiRole::Agent, None) => {
                at(
                    entry.span(),
                    "api_token: role \"agent\" needs `agent` (the agent it acts for)".to_string(),
                );
                continue;
            }
            (ApiRole::Agent, Some(a)) if a.get_ref().is_empty() => {
                at(a.span(), "api_token: agent must not be empty".to_string());
                continue;
            }
            (ApiRole::Admin | ApiRole::Supervisor, Some(a)) => {
                at(
                    a.span(),
                    format!(
                        "api_token: `agent` is only for role \"agent\" (this one is {})",
                        t.role.as_str()
                    ),
                );
                continue;
            }
            _ => {}
        }
        out.push(ApiToken {
            token: token.clone(),
            role: t.role,
            agent,
            name: t
                .name
                .clone()
                .unwrap_or_else(|| t.role.as_str().to_string()),
        });
    }
    out
}
