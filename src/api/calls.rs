//! Live calls and registrations: `GET /api/v1/calls`, `POST /api/v1/calls` (click to
//! call), `DELETE /api/v1/calls/{id}`, `POST /api/v1/calls/{id}/transfer` (blind),
//! `GET /api/v1/registrations` (supervisor and above;
//! an agent may click to call from its own phone). Calls come from the core task
//! through [`crate::runtime::control::SwitchControl`]; registrations from the registrar.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{rfc3339, ApiState};
use crate::b2bua::{LiveCall, LiveState, SitWatch};
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

/// A click-to-call request: ring `from` (an endpoint: the user's own phone) and, when it
/// answers, route `to` through the dialplan of `from`'s context, as if dialled from it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickToCall {
    pub from: String,
    pub to: String,
    /// Seconds `from` may ring (default 30, 5–120).
    pub ring_timeout_s: Option<u64>,
}

/// What was placed: the outcome comes as `originate.answered` / `originate.failed` events
/// with this tag, then `originate.bridged` when `to` answers and is bridged to `from`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Placed {
    pub tag: String,
}

/// Click to call: rings `from`, then dials `to` from it.
#[utoipa::path(post, path = "/api/v1/calls", tag = "calls", request_body = ClickToCall,
    responses((status = 202, body = Placed), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn click_to_call(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Json(req): Json<ClickToCall>,
) -> Result<(StatusCode, Json<Placed>), ApiError> {
    if caller.role < ApiRole::Supervisor {
        // An agent rings only its own phone.
        let own = match (&caller.agent, state.control.acd().await?) {
            (Some(agent), Some(view)) => view
                .agents
                .iter()
                .find(|a| &a.id.0 == agent)
                .map(|a| a.endpoint.clone()),
            _ => None,
        };
        if own.as_deref() != Some(req.from.as_str()) {
            return Err(ApiError::Forbidden(
                "an agent token may only ring its own agent's phone".into(),
            ));
        }
    }
    let bad = |field: &str, message: &str| ApiError::Unprocessable {
        field: field.into(),
        message: message.into(),
    };
    if req.from.trim().is_empty() {
        return Err(bad("from", "must name an endpoint"));
    }
    check_extension("to", &req.to)?;
    let ring = req.ring_timeout_s.unwrap_or(30);
    if !(5..=120).contains(&ring) {
        return Err(bad("ring_timeout_s", "must be 5–120"));
    }
    let tag = format!(
        "api-{}",
        crate::store::CallRecordId::generate(chrono::Utc::now().timestamp_millis()).as_str()
    );
    let placed = state
        .control
        .originate(crate::switch::OriginateRequest {
            first: crate::dialplan::DialTarget::Endpoint(req.from.clone()),
            caller_id: req.to.clone(),
            caller_name: Some("Click to call".into()),
            context: String::new(),
            exten: req.to.clone(),
            actions: vec![crate::dialplan::Action::Transfer {
                context: String::new(),
                exten: req.to.clone(),
            }],
            vars: Default::default(),
            ring_timeout: std::time::Duration::from_secs(ring),
            tag: tag.clone(),
            detect_sit: SitWatch::Off,
            amd: None,
        })
        .await?;
    match placed {
        Ok(_) => {
            tracing::info!(from = %req.from, to = %req.to, by = %caller.name, tag, "click to call");
            Ok((StatusCode::ACCEPTED, Json(Placed { tag })))
        }
        Err(crate::switch::OriginateError::Unreachable(_)) => Err(bad(
            "from",
            "no such endpoint, or it has no registered phone",
        )),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// An extension or number as a dialplan matches it.
fn check_extension(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+*#-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unprocessable {
            field: field.into(),
            message: "1–64 of digits, letters and + * # - _ .".into(),
        })
    }
}

/// Where to send the caller of a live call.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferTo {
    /// Extension or number, routed as if the caller had dialled it.
    pub to: String,
    /// Dialplan context (default: the call's own).
    pub context: Option<String>,
}

/// Blind transfer: the other party of the call is hung up and the caller is routed to
/// `to` (ringback until it answers).
#[utoipa::path(post, path = "/api/v1/calls/{id}/transfer", tag = "calls",
    params(("id" = String, Path, description = "Call record id")),
    request_body = TransferTo,
    responses((status = 204, description = "Transferred"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn transfer(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<TransferTo>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    check_extension("to", &req.to)?;
    let context = req.context.unwrap_or_default();
    if !context.is_empty() && state.plans.current().context(&context).is_none() {
        return Err(ApiError::Unprocessable {
            field: "context".into(),
            message: format!("no dialplan context {context:?}"),
        });
    }
    match state.control.transfer(&id, &context, &req.to).await? {
        Ok(()) => {
            tracing::info!(call = %id, to = %req.to, by = %caller.name, "call transferred");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(crate::b2bua::TransferError::NoSuchCall) => {
            Err(ApiError::NotFound(format!("no live call {id:?}")))
        }
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
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
