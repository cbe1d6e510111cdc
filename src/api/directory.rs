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
use crate::runtime::control::{Directory, DirectoryEdit};
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

/// What the handlers need of a directory entry kind (endpoint or trunk): one set of
/// handlers below serves both.
trait Entry: Clone + Sized {
    type Body: DeserializeOwned;
    type View: Serialize + for<'a> From<&'a Self>;
    const KIND: DirectoryKind;
    /// "endpoint" or "trunk", for messages.
    const WHAT: &'static str;
    /// The body field that names the entry.
    const NAME_FIELD: &'static str;
    fn name(&self) -> &str;
    fn in_force(d: &Directory) -> &[Self];
    fn body_name(b: &Self::Body) -> Option<&String>;
    /// Validates a body into the entry and its stored spec (JSON); `existing` is the one in
    /// force (for PUT: a missing password keeps its password).
    fn build(
        name: String,
        b: Self::Body,
        existing: Option<&Self>,
    ) -> Result<(Self, String), ApiError>;
    fn put(self) -> DirectoryEdit;
    fn remove(name: String) -> DirectoryEdit;
}

impl Entry for Endpoint {
    type Body = EndpointBody;
    type View = EndpointView;
    const KIND: DirectoryKind = DirectoryKind::Endpoint;
    const WHAT: &'static str = "endpoint";
    const NAME_FIELD: &'static str = "user";
    fn name(&self) -> &str {
        &self.user
    }
    fn in_force(d: &Directory) -> &[Self] {
        &d.endpoints
    }
    fn body_name(b: &EndpointBody) -> Option<&String> {
        b.user.as_ref()
    }
    fn build(
        user: String,
        b: EndpointBody,
        existing: Option<&Endpoint>,
    ) -> Result<(Endpoint, String), ApiError> {
        let password = match (b.password, existing) {
            (Some(p), _) => p,
            (None, Some(e)) => e.password.clone(),
            (None, None) => return Err(ApiError::unprocessable("password", "is required")),
        };
        let spec = EndpointSpec {
            user,
            password,
            caller_id: b.caller_id,
            context: b.context,
            media: b.media,
        };
        Ok((spec.validate().map_err(field)?, json(&spec)?))
    }
    fn put(self) -> DirectoryEdit {
        DirectoryEdit::PutEndpoint(self)
    }
    fn remove(name: String) -> DirectoryEdit {
        DirectoryEdit::RemoveEndpoint(name)
    }
}

impl Entry for Trunk {
    type Body = TrunkBody;
    type View = TrunkView;
    const KIND: DirectoryKind = DirectoryKind::Trunk;
    const WHAT: &'static str = "trunk";
    const NAME_FIELD: &'static str = "name";
    fn name(&self) -> &str {
        &self.name
    }
    fn in_force(d: &Directory) -> &[Self] {
        &d.trunks
    }
    fn body_name(b: &TrunkBody) -> Option<&String> {
        b.name.as_ref()
    }
    fn build(
        name: String,
        b: TrunkBody,
        existing: Option<&Trunk>,
    ) -> Result<(Trunk, String), ApiError> {
        let password = b
            .password
            .or_else(|| existing.and_then(|t| t.password.clone()));
        let spec = TrunkSpec {
            name,
            host: b.host,
            transport: b.transport,
            username: b.username,
            password,
            register: b.register,
            inbound: b.inbound,
            context: b.context,
            media: b.media,
        };
        Ok((spec.validate().map_err(field)?, json(&spec)?))
    }
    fn put(self) -> DirectoryEdit {
        DirectoryEdit::PutTrunk(self)
    }
    fn remove(name: String) -> DirectoryEdit {
        DirectoryEdit::RemoveTrunk(name)
    }
}

fn missing<E: Entry>(name: &str) -> ApiError {
    ApiError::NotFound(format!("no {} {name:?}", E::WHAT))
}

async fn list<E: Entry>(state: &ApiState, caller: &Caller) -> Result<Json<Vec<E::View>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    Ok(Json(E::in_force(&d).iter().map(E::View::from).collect()))
}

async fn one<E: Entry>(
    state: &ApiState,
    caller: &Caller,
    name: &str,
) -> Result<Json<E::View>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let d = state.control.directory().await?;
    E::in_force(&d)
        .iter()
        .find(|e| e.name() == name)
        .map(|e| Json(E::View::from(e)))
        .ok_or_else(|| missing::<E>(name))
}

/// Creates (`path` None, POST) or replaces (`path` the name, PUT) an entry: validated,
/// stored, then applied. Edits run one at a time, so two POSTs of one name cannot both
/// create it.
async fn save<E: Entry>(
    state: &ApiState,
    caller: &Caller,
    path: Option<&str>,
    bytes: &[u8],
) -> Result<E, ApiError> {
    caller.require(ApiRole::Admin)?;
    let b: E::Body = body(bytes)?;
    let name = name_of(path, E::body_name(&b), E::NAME_FIELD)?;
    let _one_at_a_time = state.directory_edits.lock().await;
    let d = state.control.directory().await?;
    let existing = E::in_force(&d).iter().find(|e| e.name() == name);
    match (path, existing) {
        (None, Some(_)) => return Err(ApiError::Conflict(format!("{} {name:?} exists", E::WHAT))),
        (Some(_), None) => return Err(missing::<E>(&name)),
        _ => {}
    }
    let (entry, spec) = E::build(name.clone(), b, existing)?;
    persist(state, E::KIND, &name, Some(spec)).await?;
    state.control.edit_directory(entry.clone().put()).await?;
    let verb = if path.is_some() {
        "replaced"
    } else {
        "created"
    };
    tracing::info!(what = E::WHAT, %name, by = %caller.name, "{verb} through the API");
    Ok(entry)
}

async fn delete<E: Entry>(
    state: &ApiState,
    caller: &Caller,
    name: String,
) -> Result<StatusCode, ApiError> {
    caller.require(ApiRole::Admin)?;
    let _one_at_a_time = state.directory_edits.lock().await;
    let d = state.control.directory().await?;
    if !E::in_force(&d).iter().any(|e| e.name() == name) {
        return Err(missing::<E>(&name));
    }
    persist(state, E::KIND, &name, None).await?;
    state
        .control
        .edit_directory(E::remove(name.clone()))
        .await?;
    tracing::info!(what = E::WHAT, %name, by = %caller.name, "removed through the API");
    Ok(StatusCode::NO_CONTENT)
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
    list::<Endpoint>(&state, &caller).await
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
    one::<Endpoint>(&state, &caller, &name).await
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
    let e = save::<Endpoint>(&state, &caller, None, &bytes).await?;
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
    let e = save::<Endpoint>(&state, &caller, Some(&name), &bytes).await?;
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
    delete::<Endpoint>(&state, &caller, name).await
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
    list::<Trunk>(&state, &caller).await
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
    one::<Trunk>(&state, &caller, &name).await
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
    let t = save::<Trunk>(&state, &caller, None, &bytes).await?;
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
    let t = save::<Trunk>(&state, &caller, Some(&name), &bytes).await?;
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
    delete::<Trunk>(&state, &caller, name).await
}
