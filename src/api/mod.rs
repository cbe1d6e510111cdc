//! The operations surface over HTTP: the REST API under `/api/v1` (contract:
//! `GET /api/v1/openapi.json`), the WebSocket event stream, Prometheus `/metrics`, and
//! (mounted beside them) the web console.
//!
//! The API owns no switch state: it asks the core task through
//! [`SwitchControl`], reads the store, the
//! registrar and the dialplan handle, and listens to the [`EventBus`]. Every handler
//! returns `Result<_, ApiError>`, mapped to HTTP once in [`error`]. Authentication and
//! roles are in [`auth`]. Routes are declared once, in [`Routes::api`], which records
//! each (method, path) so a test can hold the OpenAPI document to the router.

mod agent_desk;
mod agents;
pub mod auth;
mod calls;
mod campaign_leads;
mod campaigns;
mod cdrs;
pub mod console;
mod dialplan;
mod directory;
mod dnc;
pub mod error;
pub mod events_ws;
mod history;
pub mod metrics;
mod metrics_live;
mod metrics_route;
pub mod openapi;
mod queue_report;
mod recordings;
mod status;
mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::{Caller, Tokens};
pub use error::ApiError;
pub use metrics::Metrics;

use crate::dialplan::PlanHandle;
use crate::events::EventBus;
use crate::runtime::control::SwitchControl;
use crate::sip::registrar::Registrar;
use crate::store::Store;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;
/// Largest body of the upload routes (lead lists and do-not-call lists as CSV).
pub const MAX_UPLOAD: usize = 200 << 20;

/// What the handlers share.
pub struct ApiState {
    pub tokens: Tokens,
    pub control: SwitchControl,
    pub store: Store,
    pub plans: Arc<PlanHandle>,
    pub dialplan_dir: PathBuf,
    /// opsapi: where recordings are (the recordings index's paths are relative to it).
    pub recordings_dir: PathBuf,
    pub registrar: Arc<Registrar>,
    pub events: EventBus,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    /// The running dialer's live figures and agent leads, and its command channel.
    pub dialer: crate::dialer::live::DialerLive,
    /// Turns true when the server stops (WebSockets close with 1001).
    pub shutdown: watch::Receiver<bool>,
    /// Held by a directory edit from its existence check to its commit.
    pub directory_edits: tokio::sync::Mutex<()>,
}

impl ApiState {
    /// The numbers read at request time (the API reads the wall clock; protocol code never does).
    pub fn gauges(&self) -> metrics::Gauges {
        metrics::Gauges {
            registrations: self.registrar.count() as u64,
            uptime_s: self.started.elapsed().as_secs(),
            now_unix_s: Utc::now().timestamp(),
        }
    }
}

/// RFC 3339 with milliseconds, UTC (`2026-11-24T08:00:00.000Z`).
pub fn rfc3339(unix_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// The router being built, and the (method, path) of every route in it.
pub struct Routes {
    router: Router<Arc<ApiState>>,
    table: Vec<(Verb, &'static str)>,
}

impl Routes {
    fn add<H, T>(self, verb: Verb, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, Arc<ApiState>>,
        T: 'static,
    {
        self.add_limited(verb, path, handler, MAX_BODY)
    }

    /// A route whose request body may be up to `limit` bytes (each route carries its own
    /// limit, so the upload routes can take large CSV files while the others stay small).
    fn add_limited<H, T>(
        mut self,
        verb: Verb,
        path: &'static str,
        handler: H,
        limit: usize,
    ) -> Routes
    where
        H: Handler<T, Arc<ApiState>>,
        T: 'static,
    {
        self.table.push((verb, path));
        self.router = self.router.route(
            path,
            on(verb.filter(), handler).layer(tower_http::limit::RequestBodyLimitLayer::new(limit)),
        );
        self
    }

    /// Every API route: the one place routes are declared.
    pub fn api() -> Routes {
        use Verb::*;
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
        .add(Get, "/api/v1/health", status::health)
        .add(Get, "/api/v1/whoami", status::whoami)
        .add(Get, "/api/v1/stats", status::stats)
        .add(Get, "/api/v1/calls", calls::list)
        .add(Post, "/api/v1/calls", calls::click_to_call)
        .add(Delete, "/api/v1/calls/{id}", calls::hang_up)
        .add(Post, "/api/v1/calls/{id}/transfer", calls::transfer)
        .add(Get, "/api/v1/registrations", calls::registrations)
        .add(Get, "/api/v1/queues", agents::queues)
        .add(Get, "/api/v1/agents", agents::agents)
        .add(Post, "/api/v1/agents/{id}/state", agents::set_state)
        .add(Get, "/api/v1/agents/{id}/call", agent_desk::call)
        .add(
            Post,
            "/api/v1/agents/{id}/disposition",
            agent_desk::disposition,
        )
        .add(
            Post,
            "/api/v1/agents/{id}/preview/dial",
            agent_desk::preview_dial,
        )
        .add(
            Post,
            "/api/v1/agents/{id}/preview/skip",
            agent_desk::preview_skip,
        )
        .add(Get, "/api/v1/campaigns", campaigns::list)
        .add(Post, "/api/v1/campaigns", campaigns::create)
        .add(Get, "/api/v1/campaigns/{id}", campaigns::get)
        .add(Put, "/api/v1/campaigns/{id}", campaigns::edit)
        .add(Delete, "/api/v1/campaigns/{id}", campaigns::delete)
        .add_limited(
            Post,
            "/api/v1/campaigns/{id}/leads",
            campaign_leads::upload,
            MAX_UPLOAD,
        )
        .add(Post, "/api/v1/campaigns/{id}/start", campaigns::start)
        .add(Post, "/api/v1/campaigns/{id}/pause", campaigns::pause)
        .add(Post, "/api/v1/campaigns/{id}/stop", campaigns::stop)
        .add(Get, "/api/v1/campaigns/{id}/stats", campaigns::stats)
        .add(
            Get,
            "/api/v1/campaigns/{id}/results.csv",
            campaign_leads::results_csv,
        )
        .add(Get, "/api/v1/campaigns/{id}/dnc", dnc::check_campaign)
        .add_limited(
            Post,
            "/api/v1/campaigns/{id}/dnc",
            dnc::add_campaign,
            MAX_UPLOAD,
        )
        .add(
            Delete,
            "/api/v1/campaigns/{id}/dnc/{number}",
            dnc::remove_campaign,
        )
        .add(Get, "/api/v1/dnc", dnc::check_global)
        .add_limited(Post, "/api/v1/dnc", dnc::add_global, MAX_UPLOAD)
        .add(Delete, "/api/v1/dnc/{number}", dnc::remove_global)
        .add(Get, "/api/v1/cdrs", cdrs::list)
        .add(Get, "/api/v1/cdrs.csv", cdrs::csv)
        .add(Post, "/api/v1/dialplan/reload", dialplan::reload)
        .add(Post, "/api/v1/dialplan/route", dialplan::route)
        .add(Get, "/api/v1/events", events_ws::events)
        .add(Get, "/api/v1/openapi.json", openapi::openapi_json)
        .add(Get, "/metrics", metrics_route::metrics)
        // opsapi: the directory, agent state history, recordings.
        .add(Get, "/api/v1/endpoints", directory::endpoints)
        .add(Post, "/api/v1/endpoints", directory::create_endpoint)
        .add(Get, "/api/v1/endpoints/{name}", directory::endpoint)
        .add(Put, "/api/v1/endpoints/{name}", directory::replace_endpoint)
        .add(
            Delete,
            "/api/v1/endpoints/{name}",
            directory::delete_endpoint,
        )
        .add(Get, "/api/v1/trunks", directory::trunks)
        .add(Post, "/api/v1/trunks", directory::create_trunk)
        .add(Get, "/api/v1/trunks/{name}", directory::trunk)
        .add(Put, "/api/v1/trunks/{name}", directory::replace_trunk)
        .add(Delete, "/api/v1/trunks/{name}", directory::delete_trunk)
        .add(Get, "/api/v1/agents/{id}/history", history::history)
        .add(Get, "/api/v1/queues/{name}/report", queue_report::report)
        .add(Get, "/api/v1/recordings", recordings::list)
        .add(Get, "/api/v1/recordings/{id}", recordings::download)
    }

    /// The (method, path) of every route.
    pub fn table(&self) -> &[(Verb, &'static str)] {
        &self.table
    }
}

/// JSON 404 for paths no route serves.
async fn not_found() -> ApiError {
    ApiError::NotFound("no such API route".into())
}

/// JSON 405 for a known path with another method.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The whole HTTP application.
pub fn app(state: Arc<ApiState>) -> Router {
    Routes::api()
        .router
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics_route::track,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A running HTTP server.
pub struct Server {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How long a stopping server waits for requests in progress.
const STOP_GRACE: Duration = Duration::from_secs(2);

impl Server {
    /// Binds `addr` (port 0 picks one: see [`Server::addr`]) and serves `app` on it.
    /// `state_for` builds the handlers' state given the shutdown signal.
    pub async fn start(
        addr: SocketAddr,
        state_for: impl FnOnce(watch::Receiver<bool>) -> ApiState,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(state_for(stopped.clone()));
        if state.tokens.is_empty() {
            tracing::warn!("HTTP API without [[api_token]]: every authenticated route answers 401");
        }
        let app = app(state);
        let mut stopped_signal = stopped;
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped_signal.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(%e, "HTTP server failed");
            }
        });
        tracing::info!("HTTP API, events and metrics on http://{addr}");
        Ok(Server { addr, stop, task })
    }

    /// Stops accepting, closes WebSockets (1001) and waits a little for requests in flight.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
        }
    }
}
