//! The recordings index over HTTP (supervisor and above): `GET /api/v1/recordings`
//! (search: `call` = a CDR id or SIP Call-ID, `from`/`to` on the start time, `limit`
//! 1–1000) and `GET /api/v1/recordings/{id}` (the WAV file, streamed as `audio/wav`; the
//! token may be passed as `?token=` so an `<audio>` element can play it).
//!
//! A file is served only from inside the configured recordings directory: the indexed
//! path is resolved (symbolic links included) and refused unless it stays under the
//! directory's resolved path, whatever the index says.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tokio::io::AsyncReadExt;
use utoipa::ToSchema;

use super::auth::{Caller, LinkCaller};
use super::error::{ApiError, ErrorBody};
use super::history::parse_window;
use super::{rfc3339, ApiState};
use crate::config::ApiRole;
use crate::store::{RecordingQuery, RecordingRow};

const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;
/// Bytes read from disk per chunk of the response.
const CHUNK: usize = 64 * 1024;

/// One finished recording.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingView {
    pub id: String,
    /// The call's CDR id.
    pub call: String,
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Relative to the recordings directory.
    pub path: String,
    pub started_at: String,
    /// Null while recording.
    pub ended_at: Option<String>,
    pub bytes: u64,
    pub duration_s: f64,
    /// The recording did not end normally (the file could not be written, or a crash cut
    /// it short; what was written before is served).
    pub failed: bool,
    /// Where to download it.
    pub url: String,
}

impl From<RecordingRow> for RecordingView {
    fn from(r: RecordingRow) -> Self {
        RecordingView {
            url: format!("/api/v1/recordings/{}", r.id),
            started_at: rfc3339(r.started_at_ms),
            ended_at: r.ended_at_ms.map(rfc3339),
            duration_s: r.duration_ms as f64 / 1000.0,
            id: r.id,
            call: r.call_record,
            call_id: r.call_id,
            path: r.path,
            bytes: r.bytes,
            failed: r.failed,
        }
    }
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    ApiError::Unavailable(format!("store: {e}"))
}

/// Recordings, newest first.
#[utoipa::path(get, path = "/api/v1/recordings", tag = "recordings",
    params(("call" = Option<String>, Query, description = "CDR id or SIP Call-ID"),
        ("from" = Option<String>, Query, description = "Started at or after (RFC 3339 or unix ms)"),
        ("to" = Option<String>, Query, description = "Started before (RFC 3339 or unix ms)"),
        ("limit" = Option<u32>, Query, description = "1-1000, default 100")),
    responses((status = 200, body = Vec<RecordingView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<RecordingView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (w, rest) = parse_window(raw.as_deref(), MAX_LIMIT, DEFAULT_LIMIT, &["call"])?;
    let q = RecordingQuery {
        call: rest.into_iter().map(|(_, v)| v).next_back(),
        from_ms: w.from_ms,
        to_ms: w.to_ms,
        limit: w.limit,
    };
    let rows = state.store.recordings(&q).await.map_err(store_error)?;
    Ok(Json(rows.into_iter().map(RecordingView::from).collect()))
}

/// `path` (from the index) resolved under `root`, or `None` when it leaves the directory
/// or does not exist.
pub async fn resolve_inside(root: &FsPath, path: &str) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let full = tokio::fs::canonicalize(root.join(path)).await.ok()?;
    full.starts_with(&root).then_some(full)
}

/// The recording's WAV file.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "recordings",
    params(("id" = String, Path, description = "Recording id")),
    responses((status = 200, description = "The WAV file", content_type = "audio/wav"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<Arc<ApiState>>,
    LinkCaller(caller): LinkCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let row = state
        .store
        .recording(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("no recording {id:?}")))?;
    let Some(full) = resolve_inside(&state.recordings_dir, &row.path).await else {
        tracing::warn!(recording = %id, path = %row.path, "recording file missing or outside the recordings directory");
        return Err(ApiError::NotFound(format!(
            "the file of recording {id:?} is not available"
        )));
    };
    let file = tokio::fs::File::open(&full).await.map_err(|_| {
        ApiError::NotFound(format!("the file of recording {id:?} is not available"))
    })?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut resp = (
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.wav\"", id.replace(['"', '\\'], "")),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    if let Some(len) = len {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    }
    tracing::info!(recording = %id, by = %caller.name, "recording downloaded");
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_files_inside_the_directory_resolve() {
        let base = tempfile::tempdir().expect("temp dir");
        let root = base.path().join("recordings");
        std::fs::create_dir_all(root.join("q")).expect("mkdir");
        std::fs::write(root.join("q/a.wav"), b"RIFF").expect("write");
        std::fs::write(base.path().join("secret.txt"), b"no").expect("write");
        std::os::unix::fs::symlink(base.path().join("secret.txt"), root.join("link.wav"))
            .expect("symlink");
        assert!(resolve_inside(&root, "q/a.wav").await.is_some());
        assert!(resolve_inside(&root, "q/../q/a.wav").await.is_some());
        assert!(resolve_inside(&root, "../secret.txt").await.is_none());
        assert!(resolve_inside(&root, "link.wav").await.is_none());
        let abs = base.path().join("secret.txt").display().to_string();
        assert!(resolve_inside(&root, &abs).await.is_none());
        assert!(resolve_inside(&root, "missing.wav").await.is_none());
    }
}
