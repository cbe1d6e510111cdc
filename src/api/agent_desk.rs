//! The agent desktop's two dialer routes: the screen pop (`GET /api/v1/agents/{id}/call`:
//! the lead the dialer connected the agent to, from [`DialerLive`](crate::dialer::live::DialerLive),
//! with the campaign's script and disposition codes) and the disposition
//! (`POST /api/v1/agents/{id}/disposition`): the code is checked against the campaign,
//! a callback needs a future time, and the disposition with the lead's next state
//! ([`Campaign::after_disposition`]) is committed to the store before the answer; then the
//! dialer is told ([`DialerCommand::Dispositioned`]) so it releases the agent. An agent
//! token acts only for its own agent; supervisors and admins for anyone.
//!
//! Preview mode adds two: `POST /api/v1/agents/{id}/preview/dial` (call the lead offered
//! to the agent: its phone rings first, then the lead's) and `POST …/preview/skip` (the
//! lead goes back unattempted and the next is offered). The screen pop shows an offered
//! lead with `"state": "preview"`, then `"dialing"` while the phones ring, and from the
//! customer's answer `"connected"` with `bridged_at_ms`, as for a predictive call.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::campaigns::{load, now_ms, store_error};
use super::error::{ApiError, ErrorBody};
use super::{rfc3339, ApiState};
use crate::dialer::campaign::{CampaignError, DispositionEffect};
use crate::dialer::live::{AgentLead, AgentLeadState, DialerCommand};
use crate::store::{Disposition, LeadId, LeadNext};

/// The agent's current lead (screen pop), with what the desktop needs to close it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentCall {
    #[serde(flatten)]
    pub lead: AgentLead,
    pub campaign_name: String,
    /// The campaign's script text.
    pub script: String,
    /// The campaign's disposition codes, in its order.
    pub dispositions: Vec<String>,
    /// What each code does: done | callback | do_not_call.
    pub disposition_effects: BTreeMap<String, String>,
}

/// An agent's disposition for its current lead.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionRequest {
    /// One of the campaign's codes.
    pub code: String,
    pub note: Option<String>,
    /// RFC 3339; required (and in the future) for a callback code.
    pub callback_at: Option<String>,
    /// Also put the number on the global do-not-call list.
    #[serde(default)]
    pub dnc_global: bool,
}

/// What was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DispositionSaved {
    pub lead_id: String,
    pub campaign_id: String,
    pub code: String,
    /// done | callback | dnc | dnc_global
    pub next: String,
    pub callback_at: Option<String>,
}

fn effect_name(effect: DispositionEffect) -> &'static str {
    match effect {
        DispositionEffect::Done => "done",
        DispositionEffect::Callback => "callback",
        DispositionEffect::DoNotCall => "do_not_call",
    }
}

fn current_lead(state: &ApiState, id: &str) -> Result<AgentLead, ApiError> {
    state
        .dialer
        .agent_lead(id)
        .ok_or_else(|| ApiError::NotFound(format!("agent {id:?} has no current lead")))
}

/// The lead the agent is on (or owes a disposition for): screen pop, script, codes.
#[utoipa::path(get, path = "/api/v1/agents/{id}/call", tag = "acd",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 200, body = AgentCall), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No current lead")),
    security(("bearer" = [])))]
pub async fn call(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AgentCall>, ApiError> {
    caller.may_act_for(&id)?;
    let lead = current_lead(&state, &id)?;
    let (_, campaign) = load(&state, &lead.campaign_id).await?;
    Ok(Json(AgentCall {
        campaign_name: campaign.name.clone(),
        script: campaign.script.clone(),
        dispositions: campaign
            .dispositions
            .iter()
            .map(|d| d.code.clone())
            .collect(),
        disposition_effects: campaign
            .dispositions
            .iter()
            .map(|d| (d.code.clone(), effect_name(d.effect).to_string()))
            .collect(),
        lead,
    }))
}

/// Stores the agent's disposition for its current lead and releases the agent.
#[utoipa::path(post, path = "/api/v1/agents/{id}/disposition", tag = "acd",
    params(("id" = String, Path, description = "Agent id")),
    request_body = DispositionRequest,
    responses((status = 200, body = DispositionSaved), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No current lead"),
        (status = 409, body = ErrorBody, description = "The lead is offered for preview, not called yet"),
        (status = 422, body = ErrorBody, description = "Unknown code, or a callback without a future time")),
    security(("bearer" = [])))]
pub async fn disposition(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<DispositionSaved>, ApiError> {
    caller.may_act_for(&id)?;
    let req: DispositionRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed body: {e}"), None))?;
    let lead = current_lead(&state, &id)?;
    if lead.state == AgentLeadState::Preview {
        return Err(ApiError::Conflict(
            "the lead is offered for preview: dial or skip it first".into(),
        ));
    }
    let (_, campaign) = load(&state, &lead.campaign_id).await?;
    let now = now_ms();
    let callback_at_ms = match req.callback_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    ApiError::unprocessable("callback_at", format!("{t:?} is not RFC 3339: {e}"))
                })?
                .timestamp_millis(),
        ),
    };
    let mut next = campaign
        .after_disposition(&req.code, callback_at_ms, now)
        .map_err(|e| match e {
            CampaignError::UnknownDisposition(_) => ApiError::unprocessable(
                "code",
                format!(
                    "{:?} is not a disposition of this campaign ({})",
                    req.code,
                    campaign
                        .dispositions
                        .iter()
                        .map(|d| d.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            CampaignError::CallbackTime => {
                ApiError::unprocessable("callback_at", "a callback needs a time in the future")
            }
            other => ApiError::unprocessable(other.field(), other.to_string()),
        })?;
    if req.dnc_global {
        if matches!(next, LeadNext::Callback { .. }) {
            return Err(ApiError::unprocessable(
                "dnc_global",
                "a callback cannot also put the number on the do-not-call list",
            ));
        }
        next = LeadNext::DoNotCall { global: true };
    }
    let saved_callback = match next {
        LeadNext::Callback { at_ms } => Some(at_ms),
        _ => None,
    };
    let stored = state
        .store
        .record_disposition(
            &LeadId::from(lead.lead_id.as_str()),
            &Disposition {
                agent: id.clone(),
                code: req.code.clone(),
                note: req.note.clone().unwrap_or_default(),
                callback_at_ms: saved_callback,
                at_ms: now,
            },
            next,
        )
        .await
        .map_err(store_error)?;
    if !stored {
        return Err(ApiError::NotFound(format!(
            "lead {} is no longer in the store",
            lead.lead_id
        )));
    }
    tracing::info!(agent = %id, lead = %lead.lead_id, code = %req.code, by = %caller.name, "disposition");
    state.dialer.send(DialerCommand::Dispositioned {
        agent: id.clone(),
        // The pacer's Ofcom estimate takes machines agents marked out of the drops.
        human: req.code != "machine",
    });
    Ok(Json(DispositionSaved {
        lead_id: lead.lead_id,
        campaign_id: lead.campaign_id,
        code: req.code,
        next: match next {
            LeadNext::Retry { .. } | LeadNext::Callback { .. } => "callback",
            LeadNext::Done => "done",
            LeadNext::DoNotCall { global: false } => "dnc",
            LeadNext::DoNotCall { global: true } => "dnc_global",
            LeadNext::Unchanged => "unchanged",
        }
        .to_string(),
        callback_at: saved_callback.map(rfc3339),
    }))
}

/// The lead offered to the agent for preview, or 404/409.
fn offered_lead(state: &ApiState, id: &str) -> Result<AgentLead, ApiError> {
    let lead = state
        .dialer
        .agent_lead(id)
        .ok_or_else(|| ApiError::NotFound(format!("agent {id:?} has no lead offered")))?;
    match lead.state {
        AgentLeadState::Preview => Ok(lead),
        AgentLeadState::Dialing => Err(ApiError::Conflict(format!(
            "lead {} is already being dialled",
            lead.lead_id
        ))),
        AgentLeadState::Connected => Err(ApiError::Conflict(format!(
            "agent {id:?} is on a call, not previewing a lead"
        ))),
    }
}

/// Preview mode: call the lead offered to the agent. The agent's phone rings first;
/// when it answers the lead is dialled over the campaign's trunk and bridged. Progress
/// shows in `GET /api/v1/agents/{id}/call` (`state`: dialing) and `agent.*` events.
#[utoipa::path(post, path = "/api/v1/agents/{id}/preview/dial", tag = "acd",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 202, body = AgentLead, description = "The call is being placed"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No lead offered to the agent"),
        (status = 409, body = ErrorBody, description = "Already dialled, or not a preview")),
    security(("bearer" = [])))]
pub async fn preview_dial(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<AgentLead>), ApiError> {
    caller.may_act_for(&id)?;
    let lead = offered_lead(&state, &id)?;
    tracing::info!(agent = %id, lead = %lead.lead_id, by = %caller.name, "preview dial");
    state
        .dialer
        .send(DialerCommand::PreviewDial { agent: id.clone() });
    Ok((StatusCode::ACCEPTED, Json(lead)))
}

/// Preview mode: pass on the lead offered to the agent. It goes back to the campaign
/// unchanged (no attempt counted) and the next lead is offered.
#[utoipa::path(post, path = "/api/v1/agents/{id}/preview/skip", tag = "acd",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 204, description = "Skipped"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No lead offered to the agent"),
        (status = 409, body = ErrorBody, description = "Already dialled, or not a preview")),
    security(("bearer" = [])))]
pub async fn preview_skip(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.may_act_for(&id)?;
    let lead = offered_lead(&state, &id)?;
    tracing::info!(agent = %id, lead = %lead.lead_id, by = %caller.name, "preview skip");
    state
        .dialer
        .send(DialerCommand::PreviewSkip { agent: id.clone() });
    Ok(StatusCode::NO_CONTENT)
}
