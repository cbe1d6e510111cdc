//! Queues and agents: `GET /api/v1/queues` (live statistics), `GET /api/v1/agents`
//! (states and times), `POST /api/v1/agents/{id}/state` (log in/out, pause with a
//! reason, unpause, end wrap-up). Supervisors see and change everything; an agent token
//! sees and changes only its own agent. The ACD lives in the core task and is reached
//! through [`crate::runtime::control::SwitchControl`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::acd::{AgentOp, AgentSnapshot, AgentState, QueueStats};
use crate::config::ApiRole;

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// A queue now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    pub name: String,
    pub waiting: usize,
    pub longest_wait_s: f64,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Answered within the queue's service-level threshold / offered (null before any caller).
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds.
    pub asa_s: Option<f64>,
    pub callbacks_waiting: usize,
    pub agents_logged_in: usize,
    pub agents_available: usize,
}

impl From<&QueueStats> for QueueView {
    fn from(q: &QueueStats) -> Self {
        QueueView {
            name: q.queue.clone(),
            waiting: q.waiting,
            longest_wait_s: secs(q.longest_wait),
            offered: q.offered,
            answered: q.answered,
            abandoned: q.abandoned,
            service_level: q.service_level,
            asa_s: q.asa.map(secs),
            callbacks_waiting: q.callbacks,
            agents_logged_in: q.agents_logged_in,
            agents_available: q.agents_available,
        }
    }
}

/// An agent now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub endpoint: String,
    /// logged_out | available | reserved | ringing | on_call | wrap_up | paused
    pub state: String,
    /// The pause reason, when paused.
    pub reason: Option<String>,
    /// Seconds in the current state.
    pub time_in_state_s: f64,
    /// Whether the agent's phone is registered.
    pub reachable: bool,
    pub calls: u64,
    pub missed: u64,
    pub talk_s: f64,
    pub wrap_s: f64,
    pub pause_s: f64,
}

impl From<&AgentSnapshot> for AgentView {
    fn from(a: &AgentSnapshot) -> Self {
        let (state, reason) = match &a.state {
            AgentState::LoggedOut => ("logged_out", None),
            AgentState::Available => ("available", None),
            AgentState::Reserved => ("reserved", None),
            AgentState::Ringing => ("ringing", None),
            AgentState::OnCall => ("on_call", None),
            AgentState::WrapUp => ("wrap_up", None),
            AgentState::Paused(r) => ("paused", Some(r.clone())),
        };
        AgentView {
            id: a.id.0.clone(),
            endpoint: a.endpoint.clone(),
            state: state.into(),
            reason,
            time_in_state_s: a.since.map_or(0.0, |t| {
                secs(std::time::Instant::now().saturating_duration_since(t))
            }),
            reachable: a.reachable,
            calls: a.calls,
            missed: a.missed,
            talk_s: secs(a.times.talk),
            wrap_s: secs(a.times.wrap),
            pause_s: secs(a.times.pause),
        }
    }
}

/// A state change: an `op`, or the `state` wanted (the console's form).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    /// login | logout | pause | unpause | end_wrap_up
    pub op: Option<String>,
    /// available (login, or unpause when paused) | paused | logged_out
    pub state: Option<String>,
    /// Pause reason (default "break").
    pub reason: Option<String>,
}

/// Live queue statistics.
#[utoipa::path(get, path = "/api/v1/queues", tag = "acd",
    responses((status = 200, body = Vec<QueueView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn queues(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<QueueView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let view = state.control.acd().await?.ok_or_else(no_queues)?;
    Ok(Json(view.queues.iter().map(QueueView::from).collect()))
}

/// Agents and their states (an agent token sees itself only).
#[utoipa::path(get, path = "/api/v1/agents", tag = "acd",
    responses((status = 200, body = Vec<AgentView>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn agents(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    let view = state.control.acd().await?.ok_or_else(no_queues)?;
    let own = caller.agent.clone();
    Ok(Json(
        view.agents
            .iter()
            .filter(|a| caller.role != ApiRole::Agent || own.as_deref() == Some(a.id.0.as_str()))
            .map(AgentView::from)
            .collect(),
    ))
}

/// Changes an agent's state.
#[utoipa::path(post, path = "/api/v1/agents/{id}/state", tag = "acd",
    params(("id" = String, Path, description = "Agent id")),
    request_body = StateChange,
    responses((status = 204, description = "Done"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_state(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let change: StateChange = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed body: {e}"), None))?;
    if caller.role == ApiRole::Agent && caller.agent.as_deref() != Some(id.as_str()) {
        return Err(ApiError::Forbidden(
            "an agent token acts only on its own agent".into(),
        ));
    }
    let wanted = match (&change.op, &change.state) {
        (Some(op), None) => op.clone(),
        (None, Some(s)) => state_op(&state, &id, s).await?,
        _ => {
            return Err(ApiError::unprocessable(
                "op",
                "give either op or state".to_string(),
            ))
        }
    };
    let op = match wanted.as_str() {
        "login" => AgentOp::Login,
        "logout" => AgentOp::Logout,
        "pause" => AgentOp::Pause {
            reason: change.reason.unwrap_or_else(|| "break".into()),
        },
        "unpause" => AgentOp::Unpause,
        "end_wrap_up" => AgentOp::EndWrapUp,
        other => {
            return Err(ApiError::unprocessable(
                "op",
                format!("unknown op {other:?}: login, logout, pause, unpause or end_wrap_up"),
            ))
        }
    };
    if state.control.agent_op(&id, op).await? {
        tracing::info!(agent = %id, op = %wanted, by = %caller.name, "agent state through the API");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no agent {id:?}")))
    }
}

/// The op that brings agent `id` to state `wanted`.
async fn state_op(state: &ApiState, id: &str, wanted: &str) -> Result<String, ApiError> {
    let op = match wanted {
        "paused" => "pause",
        "logged_out" => "logout",
        "available" => {
            let view = state.control.acd().await?.ok_or_else(no_queues)?;
            let paused = view
                .agents
                .iter()
                .any(|a| a.id.0 == id && matches!(a.state, AgentState::Paused(_)));
            if paused {
                "unpause"
            } else {
                "login"
            }
        }
        other => {
            return Err(ApiError::unprocessable(
                "state",
                format!("unknown state {other:?}: available, paused or logged_out"),
            ))
        }
    };
    Ok(op.to_string())
}

fn no_queues() -> ApiError {
    ApiError::NotFound("no queues configured".into())
}
