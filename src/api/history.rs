//! `GET /api/v1/agents/{id}/history`: an agent's state transitions, oldest first, from the
//! store (every `agent.state` the ACD reported, written by the store writer). An agent
//! token reads only its own agent's history; supervisors and admins any agent's.
//!
//! Query: `from` (inclusive) and `to` (exclusive), RFC 3339 or unix milliseconds;
//! `limit` 1–5000 (default 1000). Unknown parameter: 400 naming it; bad value: 422.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use chrono::DateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{form_pairs, Caller};
use super::error::{ApiError, ErrorBody};
use super::{rfc3339, ApiState};
use crate::store::AgentStateRow;

/// Most transitions in one answer.
pub const MAX_LIMIT: u32 = 5000;
const DEFAULT_LIMIT: u32 = 1000;

/// One state change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentTransition {
    pub agent: String,
    /// logged_out | available | reserved | ringing | on_call | wrap_up | paused
    pub from: String,
    /// The pause reason left, when `from` is paused.
    pub from_reason: Option<String>,
    pub to: String,
    /// The pause reason, when `to` is paused.
    pub to_reason: Option<String>,
    /// Why: login, logout, pause, unpause, offered, answered, missed, wrap_up_over, ...
    pub reason: String,
    /// The call the change concerns.
    pub call: Option<String>,
    pub at: String,
    pub at_ms: i64,
}

impl From<AgentStateRow> for AgentTransition {
    fn from(r: AgentStateRow) -> Self {
        AgentTransition {
            at: rfc3339(r.at_ms),
            agent: r.agent,
            from: r.from_state,
            from_reason: r.from_reason,
            to: r.to_state,
            to_reason: r.to_reason,
            reason: r.reason,
            call: r.call,
            at_ms: r.at_ms,
        }
    }
}

/// RFC 3339 or unix milliseconds (422 naming `field` otherwise).
pub(super) fn time_param(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::unprocessable(field, format!("{v:?} is not RFC 3339 or unix milliseconds"))
        })
}

/// `limit`: 1 to `max`.
pub(super) fn limit_param(v: &str, max: u32) -> Result<u32, ApiError> {
    v.parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::unprocessable("limit", format!("must be a whole number from 1 to {max}"))
        })
}

/// A time window and a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// `from`, `to`, `limit`, plus the names in `extra` (returned by name); anything else
/// is a 400 naming it.
pub(super) fn parse_window(
    raw: Option<&str>,
    max: u32,
    default: u32,
    extra: &[&str],
) -> Result<(Window, Vec<(String, String)>), ApiError> {
    let mut w = Window {
        from_ms: None,
        to_ms: None,
        limit: default,
    };
    let mut rest = Vec::new();
    for (k, v) in form_pairs(raw.unwrap_or("")) {
        match k.as_str() {
            _ if v.is_empty() => {}
            "from" => w.from_ms = Some(time_param("from", &v)?),
            "to" => w.to_ms = Some(time_param("to", &v)?),
            "limit" => w.limit = limit_param(&v, max)?,
            "token" => {}
            other if extra.contains(&other) => rest.push((k, v)),
            other => {
                return Err(ApiError::bad_request(
                    format!("unknown query parameter {other:?}"),
                    Some(other),
                ))
            }
        }
    }
    if let (Some(a), Some(b)) = (w.from_ms, w.to_ms) {
        if b < a {
            return Err(ApiError::unprocessable("to", "is before from"));
        }
    }
    Ok((w, rest))
}

/// An agent's state changes, oldest first.
#[utoipa::path(get, path = "/api/v1/agents/{id}/history", tag = "acd",
    params(("id" = String, Path, description = "Agent id"),
        ("from" = Option<String>, Query, description = "At or after (RFC 3339 or unix ms)"),
        ("to" = Option<String>, Query, description = "Before (RFC 3339 or unix ms)"),
        ("limit" = Option<u32>, Query, description = "1-5000, default 1000")),
    responses((status = 200, body = Vec<AgentTransition>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<AgentTransition>>, ApiError> {
    caller.may_act_for(&id)?;
    let (w, _) = parse_window(raw.as_deref(), MAX_LIMIT, DEFAULT_LIMIT, &[])?;
    let rows = state
        .store
        .agent_history(&id, w.from_ms, w.to_ms, w.limit)
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?;
    Ok(Json(rows.into_iter().map(AgentTransition::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_name_what_is_wrong() {
        let (w, rest) = parse_window(
            Some("from=1000&to=2026-11-24T08:00:00Z&limit=5&call=X"),
            100,
            10,
            &["call"],
        )
        .expect("valid");
        assert_eq!(w.from_ms, Some(1000));
        assert_eq!(w.to_ms, Some(1_795_507_200_000));
        assert_eq!(w.limit, 5);
        assert_eq!(rest, [("call".to_string(), "X".to_string())]);
        let field = |q: &str| {
            parse_window(Some(q), 100, 10, &[])
                .unwrap_err()
                .field()
                .map(str::to_string)
        };
        assert_eq!(field("from=yesterday"), Some("from".into()));
        assert_eq!(field("limit=0"), Some("limit".into()));
        assert_eq!(field("limit=101"), Some("limit".into()));
        assert_eq!(field("from=10&to=5"), Some("to".into()));
        assert_eq!(field("colour=red"), Some("colour".into()));
        assert_eq!(parse_window(None, 100, 10, &[]).expect("empty").0.limit, 10);
    }
}
