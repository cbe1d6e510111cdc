//! `POST /api/v1/dialplan/reload` (admin): reload `dialplans/*.toml`, keeping the running
//! plan when the new one has errors (422, each as `file:line: reason`).
//! `POST /api/v1/dialplan/route` (supervisor): a dry run — how a call would be routed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::config::ApiRole;
use crate::dialplan::RouteContext;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadOk {
    pub ok: bool,
}

/// Reloads the dialplan directory.
#[utoipa::path(post, path = "/api/v1/dialplan/reload", tag = "dialplan",
    responses((status = 200, body = ReloadOk),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "The new plan has errors (one per line: file:line: reason); the running plan is kept", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reload(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<ReloadOk>, ApiError> {
    caller.require(ApiRole::Admin)?;
    let (plans, dir) = (state.plans.clone(), state.dialplan_dir.clone());
    let result = tokio::task::spawn_blocking(move || plans.reload_dir(&dir))
        .await
        .map_err(|e| ApiError::Unavailable(format!("reload task: {e}")))?;
    match result {
        Ok(()) => {
            tracing::info!(by = %caller.name, "dialplans reloaded through the API");
            Ok(Json(ReloadOk { ok: true }))
        }
        Err(errors) => Err(ApiError::Invalid(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
}

/// The body of a dry run (its schema; the body is checked field by field in
/// [`parse_route_request`] so each error names its field).
#[allow(dead_code)]
#[derive(Debug, ToSchema)]
pub struct RouteRequest {
    /// The context the call enters.
    pub context: String,
    pub caller: String,
    /// The dialed string.
    pub callee: String,
    /// When the call happens (RFC 3339; default now), for time conditions.
    pub at: Option<String>,
    /// Channel variables known before routing.
    pub vars: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteAnswer {
    /// The actions the call would execute, in order (as in the dialplan files).
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
    /// The evaluation, step by step.
    pub trace: Vec<String>,
    /// Extensions visited (the start, then one per goto).
    #[schema(value_type = Vec<Object>)]
    pub hops: Value,
    /// Why there is no route, when there is none.
    pub error: Option<String>,
}

fn string(
    obj: &Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<String>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) if required => Err(ApiError::unprocessable(name, "is required")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::unprocessable(name, "must be a string")),
    }
}

/// Validates the body by hand so every error names its field.
pub fn parse_route_request(body: &[u8], now: DateTime<Utc>) -> Result<RouteContext, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}"), None))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object",
            None,
        ));
    };
    for key in obj.keys() {
        if !["context", "caller", "callee", "at", "vars"].contains(&key.as_str()) {
            return Err(ApiError::unprocessable(key, "unknown field"));
        }
    }
    let context = string(&obj, "context", true)?.unwrap_or_default();
    if context.is_empty() {
        return Err(ApiError::unprocessable("context", "must not be empty"));
    }
    let caller = string(&obj, "caller", true)?.unwrap_or_default();
    let callee = string(&obj, "callee", true)?.unwrap_or_default();
    let now = match string(&obj, "at", false)? {
        Some(at) => DateTime::parse_from_rfc3339(&at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::unprocessable("at", format!("{at:?} is not an RFC 3339 time"))
            })?,
        None => now,
    };
    let mut vars = BTreeMap::new();
    match obj.get("vars") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let Value::String(v) = v else {
                    return Err(ApiError::unprocessable(
                        "vars",
                        format!("{k:?} must be a string"),
                    ));
                };
                vars.insert(k.clone(), v.clone());
            }
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "vars",
                "must be an object of strings",
            ))
        }
    }
    Ok(RouteContext {
        context,
        caller,
        callee,
        vars,
        now,
    })
}

/// How a call would be routed (nothing is dialled).
#[utoipa::path(post, path = "/api/v1/dialplan/route", tag = "dialplan",
    request_body = RouteRequest,
    responses((status = 200, body = RouteAnswer),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn route(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<RouteAnswer>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let ctx = parse_route_request(&body, Utc::now())?;
    let plan = state.plans.current();
    if plan.context(&ctx.context).is_none() {
        return Err(ApiError::unprocessable(
            "context",
            format!("no context {:?} in the dialplan", ctx.context),
        ));
    }
    let trace = plan.explain(&ctx).lines().map(str::to_string).collect();
    Ok(Json(match plan.route(&ctx) {
        Ok(r) => RouteAnswer {
            actions: serde_json::to_value(&r.actions).unwrap_or_default(),
            trace,
            hops: serde_json::to_value(&r.hops).unwrap_or_default(),
            error: None,
        },
        Err(e) => RouteAnswer {
            actions: Value::Array(Vec::new()),
            trace,
            hops: Value::Array(Vec::new()),
            error: Some(e.to_string()),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_requests_name_the_bad_field() {
        let now = DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default();
        let ok = parse_route_request(
            br#"{"context":"internal","caller":"1001","callee":"1002","at":"2026-01-05T10:00:00+01:00","vars":{"x":"1"}}"#,
            now,
        )
        .expect("valid");
        assert_eq!(ok.context, "internal");
        assert_eq!(ok.now.to_rfc3339(), "2026-01-05T09:00:00+00:00");
        assert_eq!(ok.vars.get("x").map(String::as_str), Some("1"));
        for (body, field) in [
            (&br#"{"caller":"1","callee":"2"}"#[..], Some("context")),
            (
                br#"{"context":"","caller":"1","callee":"2"}"#,
                Some("context"),
            ),
            (
                br#"{"context":"c","caller":1,"callee":"2"}"#,
                Some("caller"),
            ),
            (br#"{"context":"c","caller":"1"}"#, Some("callee")),
            (
                br#"{"context":"c","caller":"1","callee":"2","at":"noon"}"#,
                Some("at"),
            ),
            (
                br#"{"context":"c","caller":"1","callee":"2","vars":{"a":1}}"#,
                Some("vars"),
            ),
            (
                br#"{"context":"c","caller":"1","callee":"2","colour":"red"}"#,
                Some("colour"),
            ),
        ] {
            let e = parse_route_request(body, now).expect_err("invalid");
            assert_eq!((e.code(), e.field()), ("unprocessable", field));
        }
        for body in [&b"{"[..], b"[1]", b""] {
            let e = parse_route_request(body, now).expect_err("malformed");
            assert_eq!(e.code(), "bad_request");
        }
    }
}
