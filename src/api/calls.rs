//! Live calls and registrations: `GET /api/v1/calls`, `DELETE /api/v1/calls/{id}`,
//! `GET /api/v1/registrations` (supervisor and above). Calls come from the core task
//! through [`crate::runtime::control::SwitchControl`]; registrations from the registrar.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{rfc3339, ApiState};
use crate::b2bua::{LiveCall, LiveState};
use crate::config::ApiRole;
use crate::runtime::control::ControlError;

/// One live call (also the `data` of `call.*` events).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    /// Call record id; the CDR of the call will carry the same id.
    pub id: String,
    pub caller: String,
    pub callee: String,
    /// ringing | answered
    pub state: String,
    /// RFC 3339
    pub started_at: String,
    pub answered_at: Option<String>,
}

impl From<&LiveCall> for CallView {
    fn from(c: &LiveCall) -> Self {
        CallView {
            id: c.id.clone(),
            caller: c.caller.clone(),
            callee: c.callee.clone(),
            state: match c.state {
                LiveState::Ringing => "ringing",
                LiveState::Answered => "answered",
            }
            .into(),
            started_at: rfc3339(c.started_at_ms),
            answered_at: c.answered_at_ms.map(rfc3339),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

/// Live calls, oldest first.
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls",
    responses((status = 200, body = Vec<CallView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<CallView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let mut calls = state.control.calls().await?;
    calls.sort_by(|a, b| (a.started_at_ms, &a.id).cmp(&(b.started_at_ms, &b.id)));
    Ok(Json(calls.iter().map(CallView::from).collect()))
}

/// Hangs up a live call (cause `admin_hangup` in its CDR).
#[utoipa::path(delete, path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call record id")),
    responses((status = 204, description = "Hung up"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hang_up(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    if state.control.hang_up(&id).await? {
        tracing::info!(call = %id, by = %caller.name, "call hung up through the API");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no live call {id:?}")))
    }
}

/// One registered contact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationView {
    /// The AOR's user part (the endpoint).
    pub aor: String,
    pub contact: String,
    pub expires_in: u32,
    /// udp | tcp | tls | ws | wss
    pub transport: String,
    /// Where the REGISTER came from (calls go there).
    pub source: String,
}

/// Registered contacts, by AOR.
#[utoipa::path(get, path = "/api/v1/registrations", tag = "calls",
    responses((status = 200, body = Vec<RegistrationView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn registrations(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<RegistrationView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let now = Instant::now();
    let mut out: Vec<RegistrationView> = state
        .registrar
        .snapshot(now)
        .into_iter()
        .map(|(aor, b)| RegistrationView {
            aor: aor.user().to_string(),
            contact: b.contact.clone(),
            expires_in: b.expires_in(now),
            transport: b.transport.as_str().to_ascii_lowercase(),
            source: b.source.to_string(),
        })
        .collect();
    out.sort_by(|a, b| (&a.aor, &a.contact).cmp(&(&b.aor, &b.contact)));
    Ok(Json(out))
}
