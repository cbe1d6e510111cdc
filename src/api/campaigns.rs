//! Campaigns over the API: create, list, read, edit and delete definitions, move them
//! between states (`start` / `pause` / `stop`), and their statistics. The definition is
//! `dialer::campaign::Campaign` (its serde shape is the request body); validation is its
//! [`Campaign::validate`], answered as 422 with every offending field
//! (`{"error":{…},"errors":[{"field","message"}]}`). State moves follow
//! [`check_transition`] and are a compare-and-set in the store, so a refused or lost race
//! is a 409 naming both states. After every change the dialer task is woken
//! ([`DialerCommand::Wake`]) and a `campaign` event is published.
//!
//! Lead uploads and the results export are in [`super::campaign_leads`]. Every route
//! needs the supervisor role: agents neither see nor run campaigns.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody, ErrorDetail};
use super::{rfc3339, ApiState};
use crate::config::ApiRole;
use crate::dialer::campaign::{check_transition, Campaign};
use crate::dialer::live::{CampaignLive, DialerCommand};
use crate::events::{Event, Topic};
use crate::store::{
    CampaignDeleted, CampaignId, CampaignRecord, CampaignState, LeadCounts, OutcomeTotals,
    StoreError,
};

/// The wall clock, in unix ms (the API reads it; the dialer's code never does).
pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A store failure as the API answers it: a unique-name clash is 409, the rest 503.
pub(super) fn store_error(e: StoreError) -> ApiError {
    if let StoreError::Database(sqlx::Error::Database(d)) = &e {
        if d.is_unique_violation() {
            return ApiError::Conflict("a campaign with this name exists already".into());
        }
    }
    ApiError::Unavailable(format!("store: {e}"))
}

/// The stored campaign and its definition, or 404.
pub(super) async fn load(
    state: &ApiState,
    id: &str,
) -> Result<(CampaignRecord, Campaign), ApiError> {
    let record = state
        .store
        .campaign(&CampaignId::from(id))
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("no campaign {id:?}")))?;
    let campaign = Campaign::from_record(&record).map_err(|e| {
        ApiError::Unavailable(format!(
            "campaign {id:?} holds an unreadable definition: {e}"
        ))
    })?;
    Ok((record, campaign))
}

// ---- request and response shapes ---------------------------------------------------------

/// A campaign's definition (`dialer::campaign::Campaign`), as POST and PUT take it and
/// every campaign answer carries it. Omitted fields take their defaults (3 % `us_ftc`
/// abandon target, 20 s ring timeout, 08:00–21:00 window, default retry rules and
/// dispositions, 6 attempts).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documentation only: the body is decoded as `Campaign`
pub struct CampaignDefinition {
    pub name: String,
    /// The trunk (carrier) outbound calls go through.
    pub trunk: String,
    /// Caller id presented, E.164.
    pub caller_id: String,
    /// `{"queue": "sales"}` or `{"agents": ["1001", "1002"]}`.
    #[schema(value_type = Object)]
    pub agents: serde_json::Value,
    /// preview | progressive | predictive
    pub dial_mode: String,
    /// `{"rate": 0.03, "regime": "us_ftc" | "uk_ofcom"}`; rate at most 0.03.
    #[schema(value_type = Option<Object>)]
    pub abandon: Option<serde_json::Value>,
    /// 15–120 s.
    pub ring_timeout_s: Option<u32>,
    /// Lead-local calling hours in minutes after midnight: `{"open_min": 480, "close_min": 1260}`.
    #[schema(value_type = Option<Object>)]
    pub window: Option<serde_json::Value>,
    /// Per outcome (busy, no_answer, machine, congestion) `{delay_s, max_attempts}`, and `dropped_delay_s`.
    #[schema(value_type = Option<Object>)]
    pub retry: Option<serde_json::Value>,
    pub max_attempts: Option<u32>,
    /// draft | running | paused | stopped (ignored on create and edit).
    pub state: Option<String>,
    /// `{"starts_at_ms": …, "stops_at_ms": …}`.
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<serde_json::Value>,
    /// `[{"code": "sale", "effect": "done" | "callback" | "do_not_call"}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub dispositions: Option<Vec<serde_json::Value>>,
    pub disposition_required: Option<bool>,
    pub safe_harbor_prompt: Option<String>,
    /// Shown on the agent desktop during the call.
    pub script: Option<String>,
}

/// How many of a campaign's leads are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct LeadCountsView {
    pub ready: u64,
    pub claimed: u64,
    pub dialing: u64,
    pub done: u64,
    pub dnc: u64,
    pub total: u64,
}

impl From<LeadCounts> for LeadCountsView {
    fn from(c: LeadCounts) -> Self {
        LeadCountsView {
            ready: c.ready,
            claimed: c.claimed,
            dialing: c.dialing,
            done: c.done,
            dnc: c.dnc,
            total: c.ready + c.claimed + c.dialing + c.done + c.dnc,
        }
    }
}

/// A campaign: its id, its whole definition (with `state`), lead counts and, while the
/// dialer runs it on this node, its live figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    #[serde(flatten)]
    #[schema(value_type = CampaignDefinition)]
    pub definition: Campaign,
    pub counts: LeadCountsView,
    pub live: Option<CampaignLive>,
    pub created_at: String,
    pub updated_at: String,
}

/// A campaign's state after a start, pause or stop.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateView {
    pub id: String,
    /// draft | running | paused | stopped
    pub state: String,
}

/// How many attempts ended in each outcome.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct OutcomesView {
    pub busy: u64,
    pub no_answer: u64,
    pub machine: u64,
    pub congestion: u64,
    pub answered: u64,
    pub dropped: u64,
    pub invalid: u64,
    pub interrupted: u64,
}

impl From<OutcomeTotals> for OutcomesView {
    fn from(o: OutcomeTotals) -> Self {
        OutcomesView {
            busy: o.busy,
            no_answer: o.no_answer,
            machine: o.machine,
            congestion: o.congestion,
            answered: o.answered,
            dropped: o.dropped,
            invalid: o.invalid,
            interrupted: o.interrupted,
        }
    }
}

/// A campaign's figures: leads by status, attempts by outcome, dispositions by code (all
/// from the store), and the live figures while it runs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignStats {
    pub counts: LeadCountsView,
    pub outcomes: OutcomesView,
    pub dispositions: BTreeMap<String, u64>,
    pub live: Option<CampaignLive>,
}

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path (`ring_timeout_s`, `abandon.rate`, `retry.busy`).
    pub field: String,
    pub message: String,
}

/// 422 for a definition: the usual error (naming the first field) and every field at fault.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub error: ErrorDetail,
    pub errors: Vec<FieldError>,
}

/// What a campaign handler may refuse with: any API error, or an invalid definition.
#[derive(Debug)]
pub enum Reject {
    Api(ApiError),
    Invalid(Vec<FieldError>),
}

impl From<ApiError> for Reject {
    fn from(e: ApiError) -> Self {
        Reject::Api(e)
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::Api(e) => e.into_response(),
            Reject::Invalid(errors) => {
                let first = errors.first().map(|e| e.field.clone());
                let message = errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                let body = ValidationErrorBody {
                    error: ErrorDetail {
                        code: "unprocessable".into(),
                        message: format!("invalid campaign: {message}"),
                        field: first,
                    },
                    errors,
                };
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
        }
    }
}

/// Decodes and validates a definition: malformed JSON is 400; a wrong type, an unknown
/// variant, a missing field or anything [`Campaign::validate`] refuses is 422 naming it.
pub fn parse_definition(body: &[u8]) -> Result<Campaign, Reject> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let campaign: Campaign = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Reject::Api(ApiError::bad_request(
                format!("malformed JSON body: {inner}"),
                None,
            ));
        }
        let text = inner.to_string();
        let message = text.split(" at line ").next().unwrap_or(&text).to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next());
        let field = match (missing, path.as_str()) {
            (Some(name), "." | "") => name.to_string(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, "." | "") => "body".to_string(),
            (None, p) => p.to_string(),
        };
        Reject::Invalid(vec![FieldError {
            message: format!("{field}: {message}"),
            field,
        }])
    })?;
    campaign.validate().map_err(|invalid| {
        Reject::Invalid(
            invalid
                .0
                .iter()
                .map(|e| FieldError {
                    field: e.field().to_string(),
                    message: e.to_string(),
                })
                .collect(),
        )
    })?;
    Ok(campaign)
}

async fn view(state: &ApiState, record: &CampaignRecord) -> Result<CampaignView, ApiError> {
    let definition = Campaign::from_record(record).map_err(|e| {
        ApiError::Unavailable(format!(
            "campaign {} holds an unreadable definition: {e}",
            record.id
        ))
    })?;
    let counts = state
        .store
        .lead_counts(&record.id)
        .await
        .map_err(store_error)?;
    Ok(CampaignView {
        id: record.id.to_string(),
        definition,
        counts: counts.into(),
        live: state.dialer.campaign(record.id.as_str()),
        created_at: rfc3339(record.created_at_ms),
        updated_at: rfc3339(record.updated_at_ms),
    })
}

/// Tells the dialer and the event stream that a campaign changed.
fn changed(state: &ApiState, kind: &str, id: &str, campaign_state: CampaignState) {
    state.dialer.send(DialerCommand::Wake);
    state.events.publish(Event {
        topic: Topic::Campaign,
        kind: kind.to_string(),
        at: Utc::now(),
        data: serde_json::json!({"id": id, "state": campaign_state.as_str()}),
    });
}

// ---- handlers ----------------------------------------------------------------------------

/// Every campaign, by name, with lead counts and live figures.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<CampaignView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let records = state.store.campaigns().await.map_err(store_error)?;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        out.push(view(&state, r).await?);
    }
    Ok(Json(out))
}

/// Creates a campaign (always as a draft, whatever `state` says).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CampaignDefinition,
    responses((status = 201, body = CampaignView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The name is taken"),
        (status = 422, body = ValidationErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CampaignView>), Reject> {
    caller.require(ApiRole::Supervisor)?;
    let mut campaign = parse_definition(&body)?;
    campaign.state = CampaignState::Draft;
    let new = campaign
        .to_new()
        .map_err(|e| ApiError::unprocessable("body", e.to_string()))?;
    let id = state
        .store
        .create_campaign(&new, now_ms())
        .await
        .map_err(store_error)?;
    let record = state
        .store
        .campaign(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::Unavailable("the new campaign vanished".into()))?;
    tracing::info!(campaign = %id, name = %campaign.name, by = %caller.name, "campaign created");
    changed(
        &state,
        "campaign.created",
        id.as_str(),
        CampaignState::Draft,
    );
    Ok((StatusCode::CREATED, Json(view(&state, &record).await?)))
}

/// One campaign.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (record, _) = load(&state, &id).await?;
    Ok(Json(view(&state, &record).await?))
}

/// Replaces a campaign's definition; its state stays as it is.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = CampaignDefinition,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ValidationErrorBody)),
    security(("bearer" = [])))]
pub async fn edit(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<CampaignView>, Reject> {
    caller.require(ApiRole::Supervisor)?;
    let (record, _) = load(&state, &id).await?;
    let mut campaign = parse_definition(&body)?;
    campaign.state = record.state;
    let new = campaign
        .to_new()
        .map_err(|e| ApiError::unprocessable("body", e.to_string()))?;
    if !state
        .store
        .update_campaign_definition(&record.id, &new, now_ms())
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::NotFound(format!("no campaign {id:?}")).into());
    }
    let (record, _) = load(&state, &id).await?;
    tracing::info!(campaign = %id, by = %caller.name, "campaign edited");
    changed(&state, "campaign.updated", &id, record.state);
    Ok(Json(view(&state, &record).await?))
}

/// Deletes a draft or stopped campaign with its lists, leads, attempts and dispositions.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Running or paused")),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    match state
        .store
        .delete_campaign(&CampaignId::from(id.as_str()))
        .await
        .map_err(store_error)?
    {
        CampaignDeleted::Deleted => {
            tracing::info!(campaign = %id, by = %caller.name, "campaign deleted");
            changed(&state, "campaign.deleted", &id, CampaignState::Stopped);
            Ok(StatusCode::NO_CONTENT)
        }
        CampaignDeleted::NotFound => Err(ApiError::NotFound(format!("no campaign {id:?}"))),
        CampaignDeleted::Refused(s) => Err(ApiError::Conflict(format!(
            "campaign is {}: only draft or stopped campaigns may be deleted (stop it first)",
            s.as_str()
        ))),
    }
}

async fn transition(
    state: &ApiState,
    caller: &Caller,
    id: &str,
    to: CampaignState,
) -> Result<Json<StateView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (record, _) = load(state, id).await?;
    let refuse = |from: CampaignState| {
        ApiError::Conflict(format!(
            "cannot go from {} to {}",
            from.as_str(),
            to.as_str()
        ))
    };
    check_transition(record.state, to).map_err(|_| refuse(record.state))?;
    let moved = state
        .store
        .set_campaign_state(&record.id, record.state, to, now_ms())
        .await
        .map_err(store_error)?;
    if !moved {
        // Someone else moved it first: name the state it is in now.
        let (now, _) = load(state, id).await?;
        return Err(refuse(now.state));
    }
    tracing::info!(campaign = %id, from = record.state.as_str(), to = to.as_str(), by = %caller.name, "campaign state");
    changed(state, "campaign.state", id, to);
    Ok(Json(StateView {
        id: id.to_string(),
        state: to.as_str().to_string(),
    }))
}

/// Starts (or resumes) dialling: draft or paused → running.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/start", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = StateView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not allowed from its state")),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StateView>, ApiError> {
    transition(&state, &caller, &id, CampaignState::Running).await
}

/// Pauses dialling: running → paused (calls in progress go on).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pause", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = StateView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not allowed from its state")),
    security(("bearer" = [])))]
pub async fn pause(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StateView>, ApiError> {
    transition(&state, &caller, &id, CampaignState::Paused).await
}

/// Stops the campaign for good (draft, running or paused → stopped).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/stop", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = StateView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Already stopped")),
    security(("bearer" = [])))]
pub async fn stop(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StateView>, ApiError> {
    transition(&state, &caller, &id, CampaignState::Stopped).await
}

/// Leads by status, attempts by outcome, dispositions by code, live figures.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/stats", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignStats), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (record, _) = load(&state, &id).await?;
    let store = &state.store;
    Ok(Json(CampaignStats {
        counts: store
            .lead_counts(&record.id)
            .await
            .map_err(store_error)?
            .into(),
        outcomes: store
            .campaign_outcomes(&record.id)
            .await
            .map_err(store_error)?
            .into(),
        dispositions: store
            .campaign_disposition_counts(&record.id)
            .await
            .map_err(store_error)?,
        live: state.dialer.campaign(record.id.as_str()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Reject) -> Vec<String> {
        match r {
            Reject::Invalid(e) => e.into_iter().map(|e| e.field).collect(),
            Reject::Api(e) => vec![format!("api:{}", e.code())],
        }
    }

    #[test]
    fn definitions_are_checked_field_by_field() {
        let good = br#"{"name":"spring","trunk":"carrier","caller_id":"+14155552671",
            "agents":{"queue":"sales"},"dial_mode":"predictive"}"#;
        let c = parse_definition(good).expect("valid");
        assert_eq!(c.ring_timeout_s, 20);
        let bad = br#"{"name":"","trunk":"carrier","caller_id":"+14155552671",
            "agents":{"queue":"sales"},"dial_mode":"predictive","ring_timeout_s":10,
            "abandon":{"rate":0.05,"regime":"us_ftc"}}"#;
        assert_eq!(
            fields(parse_definition(bad).expect_err("invalid")),
            ["name", "abandon.rate", "ring_timeout_s"]
        );
        let missing = br#"{"name":"x","caller_id":"+14155552671",
            "agents":{"queue":"sales"},"dial_mode":"predictive"}"#;
        assert_eq!(
            fields(parse_definition(missing).expect_err("missing")),
            ["trunk"]
        );
        let wrong = br#"{"name":"x","trunk":"t","caller_id":"+14155552671",
            "agents":{"queue":"sales"},"dial_mode":"fast"}"#;
        assert_eq!(
            fields(parse_definition(wrong).expect_err("variant")),
            ["dial_mode"]
        );
        let nested = br#"{"name":"x","trunk":"t","caller_id":"+14155552671",
            "agents":{"queue":"sales"},"dial_mode":"preview","window":{"open_min":480}}"#;
        assert_eq!(
            fields(parse_definition(nested).expect_err("nested")),
            ["window.close_min"]
        );
        assert_eq!(
            fields(parse_definition(b"{not json").expect_err("syntax")),
            ["api:bad_request"]
        );
    }
}
