//! `GET /api/v1/health`, `/whoami`, `/stats`: is the switch up, who am I, the headline
//! numbers.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Caller, WhoAmI};
use super::error::ErrorBody;
use super::ApiState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always "ok" when the HTTP server answers.
    pub status: String,
    pub version: String,
}

/// Liveness; needs no token.
#[utoipa::path(get, path = "/api/v1/health", tag = "status",
    responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The token's holder.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "status",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&caller))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub active_calls: u64,
    /// Calls started since start-up.
    pub calls_total: u64,
    /// Registered contact bindings.
    pub registrations: u64,
    pub uptime_s: u64,
    /// Calls started per second, mean over the last minute.
    pub cps_1m: f64,
}

/// Headline numbers (any role).
#[utoipa::path(get, path = "/api/v1/stats", tag = "status",
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(State(state): State<Arc<ApiState>>, _caller: Caller) -> Json<Stats> {
    let g = state.gauges();
    Json(Stats {
        active_calls: state.metrics.active_calls(),
        calls_total: state.metrics.calls_total(),
        registrations: g.registrations,
        uptime_s: g.uptime_s,
        cps_1m: state.metrics.cps_1m(g.now_unix_s),
    })
}
