//! Do-not-call lists over the API: the global list under `/api/v1/dnc` and each
//! campaign's own under `/api/v1/campaigns/{id}/dnc`. Check a number (`GET ?number=`),
//! add one (`POST` JSON `{"number"}`) or a CSV file of them (`POST` text/csv, the lead
//! list's phone rules: bad rows reported by line), remove one (`DELETE …/{number}`).
//! Numbers are normalised to E.164 first (`default_country` for national numbers).
//! Supervisors and admins only; agents add numbers through their disposition.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{form_pairs, Caller};
use super::campaign_leads::RowErrorView;
use super::campaigns::{load, now_ms, store_error};
use super::error::{ApiError, ErrorBody};
use super::upload::BodyReader;
use super::ApiState;
use crate::config::ApiRole;
use crate::dialer::dnc;
use crate::dialer::list::{normalise, CsvOptions, ListError, Region, E164};
use crate::store::DncScope;

/// Largest CSV accepted (held in memory while it is read).
pub const MAX_DNC_CSV: usize = 200 << 20;

/// Whether a number may be called.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DncCheck {
    /// The number as normalised (E.164).
    pub number: String,
    /// On the list asked about (for a campaign: its own or the global list).
    pub listed: bool,
    /// The lists holding it that apply: "global" and/or the campaign's id (for the global
    /// list: every list holding it).
    pub scopes: Vec<String>,
}

/// `POST` JSON body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncAdd {
    pub number: String,
}

/// What an add did (one number or a CSV file).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DncAdded {
    /// Data rows read (1 for a JSON add).
    pub rows: u64,
    /// Numbers newly on the list.
    pub added: u64,
    /// Numbers that were on it already (or repeated in the file).
    pub already: u64,
    /// Rows refused, and the first 10,000 of them by line.
    pub error_count: u64,
    pub errors: Vec<RowErrorView>,
}

fn scope_name(scope: &DncScope) -> String {
    match scope {
        DncScope::Global => "global".into(),
        DncScope::Campaign(id) => id.to_string(),
    }
}

/// `number` and `default_country` from the query string.
fn query(raw: Option<&str>) -> Result<(Option<String>, Option<Region>), ApiError> {
    let mut number = None;
    let mut region = None;
    for (k, v) in form_pairs(raw.unwrap_or("")) {
        match k.as_str() {
            "number" => number = Some(v),
            "default_country" if !v.trim().is_empty() => {
                region = Some(
                    v.trim()
                        .to_ascii_uppercase()
                        .parse::<Region>()
                        .map_err(|_| {
                            ApiError::unprocessable(
                                "default_country",
                                format!("{v:?} is not an ISO 3166 country code"),
                            )
                        })?,
                )
            }
            _ => {}
        }
    }
    Ok((number, region))
}

fn number(raw: &str, region: Option<Region>) -> Result<E164, ApiError> {
    normalise(raw.trim(), region)
        .map(|n| n.e164)
        .map_err(|e| ApiError::unprocessable("number", format!("{raw:?}: {e}")))
}

async fn scope_of(state: &ApiState, campaign: Option<&str>) -> Result<DncScope, ApiError> {
    match campaign {
        None => Ok(DncScope::Global),
        Some(id) => {
            let (record, _) = load(state, id).await?;
            Ok(DncScope::Campaign(record.id))
        }
    }
}

async fn check(
    state: &ApiState,
    caller: &Caller,
    campaign: Option<&str>,
    raw: Option<&str>,
) -> Result<Json<DncCheck>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let scope = scope_of(state, campaign).await?;
    let (raw_number, region) = query(raw)?;
    let raw_number =
        raw_number.ok_or_else(|| ApiError::bad_request("give ?number=", Some("number")))?;
    let e164 = number(&raw_number, region)?;
    let all = state
        .store
        .dnc_scopes(e164.as_str())
        .await
        .map_err(store_error)?;
    let applying: Vec<&DncScope> = all
        .iter()
        .filter(|s| match &scope {
            DncScope::Global => true,
            DncScope::Campaign(_) => **s == DncScope::Global || **s == scope,
        })
        .collect();
    let listed = match &scope {
        DncScope::Global => all.contains(&DncScope::Global),
        DncScope::Campaign(_) => !applying.is_empty(),
    };
    Ok(Json(DncCheck {
        number: e164.into_string(),
        listed,
        scopes: applying.into_iter().map(scope_name).collect(),
    }))
}

async fn add(
    state: &ApiState,
    caller: &Caller,
    campaign: Option<&str>,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Json<DncAdded>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let scope = scope_of(state, campaign).await?;
    let (_, region) = query(raw)?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    let bytes: Bytes = axum::body::to_bytes(body, MAX_DNC_CSV)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body failed: {e}"), None))?;
    let source = format!("api:{}", caller.name);
    if json {
        let req: DncAdd = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("malformed body: {e}"), None))?;
        let e164 = number(&req.number, region)?;
        let added = dnc::add(&state.store, &scope, &e164, &source, now_ms())
            .await
            .map_err(store_error)?;
        tracing::info!(scope = %scope_name(&scope), by = %caller.name, "do-not-call number added");
        return Ok(Json(DncAdded {
            rows: 1,
            added: u64::from(added),
            already: u64::from(!added),
            error_count: 0,
            errors: Vec::new(),
        }));
    }
    let options = CsvOptions {
        default_region: region,
        ..CsvOptions::default()
    };
    let report = dnc::import_csv(
        &state.store,
        &scope,
        BodyReader::from_bytes(bytes),
        &options,
        &source,
        now_ms(),
    )
    .await
    .map_err(|e| match e {
        ListError::Store(e) => store_error(e),
        other => ApiError::unprocessable("body", other.to_string()),
    })?;
    tracing::info!(scope = %scope_name(&scope), added = report.added, rejected = report.rejected_count,
        by = %caller.name, "do-not-call list uploaded");
    Ok(Json(DncAdded {
        rows: report.rows,
        added: report.added,
        already: report.already,
        error_count: report.rejected_count,
        errors: report
            .rejected
            .into_iter()
            .map(|e| RowErrorView {
                line: e.line,
                reason: e.reason,
            })
            .collect(),
    }))
}

async fn remove(
    state: &ApiState,
    caller: &Caller,
    campaign: Option<&str>,
    raw_number: &str,
    raw: Option<&str>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let scope = scope_of(state, campaign).await?;
    let (_, region) = query(raw)?;
    let e164 = number(raw_number, region)?;
    if dnc::remove(&state.store, &scope, &e164)
        .await
        .map_err(store_error)?
    {
        tracing::info!(scope = %scope_name(&scope), by = %caller.name, "do-not-call number removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "{e164} is not on the {} do-not-call list",
            scope_name(&scope)
        )))
    }
}

/// Whether a number is on the global do-not-call list (and which lists hold it).
#[utoipa::path(get, path = "/api/v1/dnc", tag = "dnc",
    params(("number" = String, Query, description = "The number (E.164, or national with default_country)"),
        ("default_country" = Option<String>, Query)),
    responses((status = 200, body = DncCheck), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_global(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<DncCheck>, ApiError> {
    check(&state, &caller, None, raw.as_deref()).await
}

/// Adds to the global do-not-call list: JSON `{"number"}` or a CSV file (text/csv).
#[utoipa::path(post, path = "/api/v1/dnc", tag = "dnc",
    params(("default_country" = Option<String>, Query)),
    request_body(content = DncAdd, description = "JSON {number}, or text/csv with a phone/number/phone_number column"),
    responses((status = 200, body = DncAdded), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_global(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DncAdded>, ApiError> {
    add(&state, &caller, None, raw.as_deref(), &headers, body).await
}

/// Removes a number from the global do-not-call list.
#[utoipa::path(delete, path = "/api/v1/dnc/{number}", tag = "dnc",
    params(("number" = String, Path), ("default_country" = Option<String>, Query)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_global(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(number): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller, None, &number, raw.as_deref()).await
}

/// Whether a number may not be called in this campaign (its own list or the global one).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/dnc", tag = "dnc",
    params(("id" = String, Path, description = "Campaign id"),
        ("number" = String, Query), ("default_country" = Option<String>, Query)),
    responses((status = 200, body = DncCheck), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_campaign(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DncCheck>, ApiError> {
    check(&state, &caller, Some(&id), raw.as_deref()).await
}

/// Adds to the campaign's do-not-call list: JSON `{"number"}` or a CSV file (text/csv).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/dnc", tag = "dnc",
    params(("id" = String, Path, description = "Campaign id"), ("default_country" = Option<String>, Query)),
    request_body(content = DncAdd, description = "JSON {number}, or text/csv with a phone/number/phone_number column"),
    responses((status = 200, body = DncAdded), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_campaign(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DncAdded>, ApiError> {
    add(&state, &caller, Some(&id), raw.as_deref(), &headers, body).await
}

/// Removes a number from the campaign's do-not-call list.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}/dnc/{number}", tag = "dnc",
    params(("id" = String, Path, description = "Campaign id"), ("number" = String, Path),
        ("default_country" = Option<String>, Query)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_campaign(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path((id, number)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, ApiError> {
    remove(&state, &caller, Some(&id), &number, raw.as_deref()).await
}
