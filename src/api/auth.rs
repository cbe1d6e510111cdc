//! Bearer tokens and roles. A request carries `Authorization: Bearer <token>` (the
//! WebSocket and the CSV download, which browsers open without headers, may pass
//! `?token=` instead). Tokens are compared in constant time: each configured token is
//! kept as its SHA-256 digest and the presented token's digest is compared against every
//! one of them with `subtle`, without stopping at a match, so neither the position of a
//! match nor the length of a token shows in the timing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error::ApiError;
use super::ApiState;
use crate::config::{ApiRole, ApiToken};

/// Who is calling: the holder of one configured token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: ApiRole,
    /// For agent tokens: the one agent this token acts for.
    pub agent: Option<String>,
    pub name: String,
}

impl Caller {
    /// Refuses (403) callers whose role is below `min`.
    pub fn require(&self, min: ApiRole) -> Result<(), ApiError> {
        if self.role >= min {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "role {} may not do this (needs {} or above)",
                self.role.as_str(),
                min.as_str()
            )))
        }
    }

    /// Refuses (403) an agent token acting for another agent; supervisors and admins
    /// act for anyone.
    pub fn may_act_for(&self, agent: &str) -> Result<(), ApiError> {
        match (&self.role, &self.agent) {
            (ApiRole::Agent, Some(own)) if own == agent => Ok(()),
            (ApiRole::Agent, _) => Err(ApiError::Forbidden(format!(
                "an agent token acts only for its own agent, not {agent:?}"
            ))),
            _ => Ok(()),
        }
    }
}

/// `GET /api/v1/whoami`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WhoAmI {
    /// admin | supervisor | agent
    pub role: String,
    pub agent: Option<String>,
    pub name: String,
}

impl From<&Caller> for WhoAmI {
    fn from(c: &Caller) -> Self {
        WhoAmI {
            role: c.role.as_str().to_string(),
            agent: c.agent.clone(),
            name: c.name.clone(),
        }
    }
}

/// The configured tokens, as digests.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<([u8; 32], Caller)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.entries.len())
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    pub fn new(tokens: &[ApiToken]) -> Tokens {
        Tokens {
            entries: tokens
                .iter()
                .map(|t| {
                    (
                        digest(&t.token),
                        Caller {
                            role: t.role,
                            agent: t.agent.clone(),
                            name: t.name.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller holding `presented`, checked against every token in constant time.
    pub fn check(&self, presented: &str) -> Result<Caller, ApiError> {
        let d = digest(presented);
        let mut found: Option<&Caller> = None;
        for (stored, caller) in &self.entries {
            if bool::from(stored.ct_eq(&d)) {
                found = Some(caller);
            }
        }
        found.cloned().ok_or(ApiError::Unauthorized)
    }
}

/// The token in `Authorization: Bearer …`, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The token in the query string (`?token=`), for the WebSocket and CSV download.
pub fn query_token(parts: &Parts) -> Option<String> {
    let q = parts.uri.query()?;
    form_pairs(q)
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded.
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' => bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Header token first, then (for the routes that allow it) the query token.
pub fn authenticate(
    state: &ApiState,
    parts: &Parts,
    allow_query: bool,
) -> Result<Caller, ApiError> {
    if let Some(t) = bearer(parts) {
        return state.tokens.check(t);
    }
    if allow_query {
        if let Some(t) = query_token(parts) {
            return state.tokens.check(&t);
        }
    }
    Err(ApiError::Unauthorized)
}

impl FromRequestParts<std::sync::Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<ApiState>,
    ) -> Result<Caller, ApiError> {
        authenticate(state, parts, false)
    }
}

/// A caller authenticated by header or `?token=` (WebSocket, CSV download).
#[derive(Debug, Clone)]
pub struct LinkCaller(pub Caller);

impl FromRequestParts<std::sync::Arc<ApiState>> for LinkCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<ApiState>,
    ) -> Result<LinkCaller, ApiError> {
        authenticate(state, parts, true).map(LinkCaller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let t = |token: &str, role, agent: Option<&str>| ApiToken {
            token: token.into(),
            role,
            agent: agent.map(Into::into),
            name: format!("{role:?}"),
        };
        Tokens::new(&[
            t("admin-token-0123456789", ApiRole::Admin, None),
            t("super-token-0123456789", ApiRole::Supervisor, None),
            t("agent-token-0123456789", ApiRole::Agent, Some("1001")),
        ])
    }

    #[test]
    fn known_tokens_map_to_their_holder_and_others_are_401() {
        let t = tokens();
        assert_eq!(
            t.check("super-token-0123456789").map(|c| c.role),
            Ok(ApiRole::Supervisor)
        );
        assert_eq!(
            t.check("agent-token-0123456789").map(|c| c.agent),
            Ok(Some("1001".into()))
        );
        assert_eq!(
            t.check("super-token-012345678"),
            Err(ApiError::Unauthorized)
        );
        assert_eq!(t.check(""), Err(ApiError::Unauthorized));
        assert_eq!(
            Tokens::new(&[]).check("anything"),
            Err(ApiError::Unauthorized)
        );
    }

    #[test]
    fn roles_are_ordered_and_agents_act_only_for_themselves() {
        let t = tokens();
        let agent = t.check("agent-token-0123456789").expect("agent");
        let sup = t.check("super-token-0123456789").expect("sup");
        let admin = t.check("admin-token-0123456789").expect("admin");
        assert!(agent.require(ApiRole::Supervisor).is_err());
        assert!(agent.require(ApiRole::Agent).is_ok());
        assert!(sup.require(ApiRole::Supervisor).is_ok());
        assert!(sup.require(ApiRole::Admin).is_err());
        assert!(admin.require(ApiRole::Admin).is_ok());
        assert!(agent.may_act_for("1001").is_ok());
        assert!(matches!(
            agent.may_act_for("1002"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(sup.may_act_for("1002").is_ok());
    }

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            form_pairs("a=1&token=x%2By+z&bad=%zz&end=%4"),
            vec![
                ("a".into(), "1".into()),
                ("token".into(), "x+y z".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }
}
