//! `GET /metrics` and the middleware that counts every HTTP request by route template,
//! method and status.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;

/// Prometheus text format (no token: scrapers are configured by address).
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let mut text = state.metrics.render(state.gauges());
    // Queues and agents from the core task; a busy or stopped core leaves them out of this
    // scrape rather than failing it.
    match state.control.acd().await {
        Ok(Some(acd)) => {
            super::metrics_live::render_queues(&mut text, &acd.queues);
            super::metrics_live::render_agents(&mut text, &acd.agents);
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(%e, "queue and agent metrics left out of this scrape"),
    }
    super::metrics_live::render_campaigns(&mut text, &state.dialer.campaigns());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Counts the request once it is answered.
pub async fn track(State(state): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    state
        .metrics
        .http_request(&route, &method, resp.status().as_u16());
    resp
}
