//! The directory over HTTP, applied without a restart: `GET/POST /api/v1/endpoints`,
//! `GET/PUT/DELETE /api/v1/endpoints/{name}`, and the same under `/api/v1/trunks`.
//! Supervisors read; only admins change. Passwords are write-only (never in a response;
//! a PUT without one keeps the one in force).
//!
//! A change is validated by the config file's rules (422 naming the field, see
//! [`crate::config::directory`]), committed to the store (so it outlives a restart: stored
//! entries are laid over the file's at start-up), then applied to the running switch
//! through [`SwitchControl::edit_directory`](crate::runtime::control::SwitchControl).
//! Calls in progress are unaffected.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::config::{ApiRole, Endpoint, EndpointSpec, FieldError, Trunk, TrunkSpec};
use crate::runtime::control::DirectoryEdit;
use crate::store::DirectoryKind;

/// An endpoint (extension) in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointView {
    pub user: String,
    pub caller_id: Option<String>,
    pub context: String,
    /// relay | bypass; null: the `[media] mode` default.
    pub media: Option<String>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        let spec = EndpointSpec::from(e);
        EndpointView {
            user: spec.user,
            caller_id: spec.caller_id,
            context: spec.context,
            media: spec.media,
        }
    }
}

/// An endpoint to create (`POST`, `user` required) or replace (`PUT`, `user` optional and
/// equal to the path's; `password` optional: the one in force is kept).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    pub user: Option<String>,
    pub password: Option<String>,
    pub caller_id: Option<String>,
    pub context: String,
    /// relay | bypass
    pub media: Option<String>,
}

/// A trunk in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrunkView {
    pub name: String,
    /// IP:port
    pub host: String,
    /// udp | tcp
    pub transport: String,
    pub username: Option<String>,
    pub register: bool,
    /// Sources calls are accepted from (IP or IP:port).
    pub inbound: Vec<String>,
    pub context: String,
    pub media: Option<String>,
}

impl From<&Trunk> for TrunkView {
    fn from(t: &Trunk) -> Self {
        let spec = TrunkSpec::from(t);
        TrunkView {
            name: spec.name,
            host: spec.host,
            transport: spec.transport.unwrap_or_else(|| "udp".into()),
            username: spec.username,
            register: spec.register,
            inbound: spec.inbound,
            context: spec.context,
            media: spec.media,
        }
    }
}

/// A trunk to create (`POST`, `name` required) or replace (`PUT`; `password` optional: the
/// one in force is kept).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkBody {
    pub name: Option<String>,
    /// IP:port
    pub host: String,
    /// udp (default) | tcp
    pub transport: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub register: bool,
    #[serde(default)]
    pub inbound: Vec<String>,
    pub context: String,
    pub media: Option<String>,
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed body: {e}"), None))
}

fn field(e: FieldError) -> ApiError {
    ApiError::unprocessable(e.field, e.reason)
}

/// The name a `POST` (from the body) or `PUT` (from the path, which the body may repeat)
/// is about.
fn name_of(
    path: Option<&str>,
    in_body: Option<&String>,
    field_name: &'static str,
) -> Result<String, ApiError> {
    match (path, in_body) {
        (Some(p), Some(b)) if p != b => Err(ApiError::unprocessable(
            field_name,
            format!("{b:?} differs from the path's {p:?}"),
        )),
        (Some(p), _) => Ok(p.to_string()),
        (None, Some(b)) => Ok(b.clone()),
        (None, None) => Err(ApiError::unprocessable(field_name, "is required")),
    }
}

async fn persist(
    state: &ApiState,
    kind: DirectoryKind,
    name: &str,
    spec: Option<String>,
) -> Result<(), ApiError> {
    state
        .store
        .directory_put(kind, name, spec.as_deref(), crate::runtime::now_unix_ms())
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))
}

fn json<T: Serialize>(spec: &T) -> Result<String, ApiError> {
    serde_json::to_string(spec).map_err(|e| ApiError::Unavailable(format!("encode: {e}")))
}

/// Validates, stores and applies an endpoint; `existing` is the one in force (for PUT).
async fn save_endpoint(
    state: &ApiState,
    user: String,
    b: EndpointBody,
    existing: Option<&Endpoint>,
) -> Result<Endpoint, ApiError> {
    let password = match (b.password, existing) {
        (Some(p), _) => p,
        (None, Some(e)) => e.password.clone(),
        (None, None) => return Err(ApiError::unprocessable("password", "is required")),
    };
    let spec = EndpointSpec {
        user: user.clone(),
        password,
        caller_id: b.caller_id,
        context: b.context,
        media: b.media,
    };
    let endpoint = spec.validate().map_err(field)?;
    persist(state, DirectoryKind::Endpoint, &user, Some(json(&spec)?)).await?;
    state
        .control
        .edit_directory(DirectoryEdit::PutEndpoint(endpoint.clone()))
        .await?;
    Ok(endpoint)
}

/// Validates, stores and applies a trunk; `existing` is the one in force (for PUT).
async fn save_trunk(
    state: &ApiState,
    name: String,
    b: TrunkBody,
    existing: Option<&Trunk>,
) -> Result<Trunk, ApiError> {
    let password = b
        .password
        .or_else(|| existing.and_then(|t| t.password.clone()));
    let spec = TrunkSpec {
        name: name.clone(),
        host: b.host,
        transport: b.transport,
        username: b.username,
        password,
        register: b.register,
        inbound: b.inbound,
        context: b.context,
        media: b.media,
    };
    let trunk = spec.validate().map_err(field)?;
    persist(state, DirectoryKind::Trunk, &name, Some(json(&spec)?)).await?;
    state
        .control
        .edit_directory(DirectoryEdit::PutTrunk(trunk.clone()))
        .await?;
    Ok(trunk)
}

/// Endpoints in force.
#[utoipa::path(get, path = "/api/v1/endpoints", tag = "directory",
    responses((status = 200, body = Vec<EndpointView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn endpoints(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    Ok(Json(d.endpoints.iter().map(EndpointView::from).collect()))
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/endpoints/{name}", tag = "directory",
    params(("name" = String, Path, description = "The endpoint's user")),
    responses((status = 200, body = EndpointView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    d.endpoints
        .iter()
        .find(|e| e.user == name)
        .map(|e| Json(EndpointView::from(e)))
        .ok_or_else(|| no_endpoint(&name))
}

fn no_endpoint(name: &str) -> ApiError {
    ApiError::NotFound(format!("no endpoint {name:?}"))
}

fn no_trunk(name: &str) -> ApiError {
    ApiError::NotFound(format!("no trunk {name:?}"))
}

/// Creates an endpoint (in force at once, kept across restarts).
#[utoipa::path(post, path = "/api/v1/endpoints", tag = "directory",
    request_body = EndpointBody,
    responses((status = 201, body = EndpointView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    caller.require(ApiRole::Admin)?;
    let b: EndpointBody = body(&bytes)?;
    let user = name_of(None, b.user.as_ref(), "user")?;
    let d = state.control.directory().await?;
    if d.endpoints.iter().any(|e| e.user == user) {
        return Err(ApiError::Conflict(format!("endpoint {user:?} exists")));
    }
    let e = save_endpoint(&state, user, b, None).await?;
    tracing::info!(user = %e.user, by = %caller.name, "endpoint created through the API");
    Ok((StatusCode::CREATED, Json(EndpointView::from(&e))))
}

/// Replaces an endpoint.
#[utoipa::path(put, path = "/api/v1/endpoints/{name}", tag = "directory",
    params(("name" = String, Path, description = "The endpoint's user")),
    request_body = EndpointBody,
    responses((status = 200, body = EndpointView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(ApiRole::Admin)?;
    let b: EndpointBody = body(&bytes)?;
    let user = name_of(Some(&name), b.user.as_ref(), "user")?;
    let d = state.control.directory().await?;
    let existing = d.endpoints.iter().find(|e| e.user == user);
    let Some(existing) = existing else {
        return Err(no_endpoint(&user));
    };
    let e = save_endpoint(&state, user, b, Some(existing)).await?;
    tracing::info!(user = %e.user, by = %caller.name, "endpoint replaced through the API");
    Ok(Json(EndpointView::from(&e)))
}

/// Removes an endpoint (its registrations are dropped).
#[utoipa::path(delete, path = "/api/v1/endpoints/{name}", tag = "directory",
    params(("name" = String, Path, description = "The endpoint's user")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_endpoint(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Admin)?;
    let d = state.control.directory().await?;
    if !d.endpoints.iter().any(|e| e.user == name) {
        return Err(no_endpoint(&name));
    }
    persist(&state, DirectoryKind::Endpoint, &name, None).await?;
    state
        .control
        .edit_directory(DirectoryEdit::RemoveEndpoint(name.clone()))
        .await?;
    tracing::info!(user = %name, by = %caller.name, "endpoint removed through the API");
    Ok(StatusCode::NO_CONTENT)
}

/// Trunks in force.
#[utoipa::path(get, path = "/api/v1/trunks", tag = "directory",
    responses((status = 200, body = Vec<TrunkView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn trunks(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<TrunkView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    Ok(Json(d.trunks.iter().map(TrunkView::from).collect()))
}

/// One trunk.
#[utoipa::path(get, path = "/api/v1/trunks/{name}", tag = "directory",
    params(("name" = String, Path, description = "The trunk's name")),
    responses((status = 200, body = TrunkView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn trunk(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TrunkView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    d.trunks
        .iter()
        .find(|t| t.name == name)
        .map(|t| Json(TrunkView::from(t)))
        .ok_or_else(|| no_trunk(&name))
}

/// Creates a trunk (a `register = true` trunk starts registering at once).
#[utoipa::path(post, path = "/api/v1/trunks", tag = "directory",
    request_body = TrunkBody,
    responses((status = 201, body = TrunkView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_trunk(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<TrunkView>), ApiError> {
    caller.require(ApiRole::Admin)?;
    let b: TrunkBody = body(&bytes)?;
    let name = name_of(None, b.name.as_ref(), "name")?;
    let d = state.control.directory().await?;
    if d.trunks.iter().any(|t| t.name == name) {
        return Err(ApiError::Conflict(format!("trunk {name:?} exists")));
    }
    let t = save_trunk(&state, name, b, None).await?;
    tracing::info!(trunk = %t.name, by = %caller.name, "trunk created through the API");
    Ok((StatusCode::CREATED, Json(TrunkView::from(&t))))
}

/// Replaces a trunk.
#[utoipa::path(put, path = "/api/v1/trunks/{name}", tag = "directory",
    params(("name" = String, Path, description = "The trunk's name")),
    request_body = TrunkBody,
    responses((status = 200, body = TrunkView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_trunk(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Json<TrunkView>, ApiError> {
    caller.require(ApiRole::Admin)?;
    let b: TrunkBody = body(&bytes)?;
    let name = name_of(Some(&name), b.name.as_ref(), "name")?;
    let d = state.control.directory().await?;
    let Some(existing) = d.trunks.iter().find(|t| t.name == name) else {
        return Err(no_trunk(&name));
    };
    let t = save_trunk(&state, name, b, Some(existing)).await?;
    tracing::info!(trunk = %t.name, by = %caller.name, "trunk replaced through the API");
    Ok(Json(TrunkView::from(&t)))
}

/// Removes a trunk (its carrier registration stops refreshing).
#[utoipa::path(delete, path = "/api/v1/trunks/{name}", tag = "directory",
    params(("name" = String, Path, description = "The trunk's name")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_trunk(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Admin)?;
    let d = state.control.directory().await?;
    if !d.trunks.iter().any(|t| t.name == name) {
        return Err(no_trunk(&name));
    }
    persist(&state, DirectoryKind::Trunk, &name, None).await?;
    state
        .control
        .edit_directory(DirectoryEdit::RemoveTrunk(name.clone()))
        .await?;
    tracing::info!(trunk = %name, by = %caller.name, "trunk removed through the API");
    Ok(StatusCode::NO_CONTENT)
}
