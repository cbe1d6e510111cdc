//! `GET /api/v1/queues/{name}/report`: a queue over any period, from the stored queue
//! events (offered, answered, abandoned, sent away, service level, waits, talk).
//! Supervisors and admins. Query: `from`/`to` (RFC 3339 or unix ms; default the last 24
//! hours up to now) and `sl_s`, the service-level threshold in seconds (default 20).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::history::parse_window;
use super::{rfc3339, ApiState};
use crate::config::ApiRole;

const DAY_MS: i64 = 86_400_000;

/// A queue over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueReportView {
    pub queue: String,
    pub from: String,
    pub to: String,
    pub offered: u64,
    pub answered: u64,
    /// Hung up while waiting.
    pub abandoned: u64,
    /// Sent away by the queue (wait over, full, empty, overflow).
    pub sent_away: u64,
    /// Answered within `sl_s` ÷ offered; null without callers.
    pub service_level: Option<f64>,
    pub sl_s: u32,
    pub mean_wait_s: Option<f64>,
    pub max_wait_s: Option<f64>,
    pub mean_talk_s: Option<f64>,
}

/// A queue's figures over a period.
#[utoipa::path(get, path = "/api/v1/queues/{name}/report", tag = "acd",
    params(("name" = String, Path, description = "Queue name"),
        ("from" = Option<String>, Query, description = "At or after (RFC 3339 or unix ms; default 24 h ago)"),
        ("to" = Option<String>, Query, description = "Before (RFC 3339 or unix ms; default now)"),
        ("sl_s" = Option<u32>, Query, description = "Service-level threshold, seconds (default 20)")),
    responses((status = 200, body = QueueReportView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<QueueReportView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (w, extra) = parse_window(raw.as_deref(), 1, 1, &["sl_s"])?;
    let mut sl_s = 20u32;
    for (_, v) in extra {
        sl_s = v
            .parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(|| ApiError::unprocessable("sl_s", "must be 1–3600 seconds"))?;
    }
    let to = w
        .to_ms
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let from = w.from_ms.unwrap_or(to - DAY_MS);
    let r = state
        .store
        .queue_report(&name, from, to, i64::from(sl_s) * 1000)
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?;
    let secs = |ms: f64| ms / 1000.0;
    Ok(Json(QueueReportView {
        queue: name,
        from: rfc3339(from),
        to: rfc3339(to),
        offered: r.offered,
        answered: r.answered,
        abandoned: r.abandoned,
        sent_away: r.sent_away,
        service_level: r.service_level,
        sl_s,
        mean_wait_s: r.mean_wait_ms.map(secs),
        max_wait_s: r.max_wait_ms.map(|ms| secs(ms as f64)),
        mean_talk_s: r.mean_talk_ms.map(secs),
    }))
}
