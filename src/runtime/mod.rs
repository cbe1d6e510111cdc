//! Wiring: binds the transports, opens the store, loads the dialplans, and runs the
//! tokio tasks that drive the sans-IO [`Switch`]: the core task (the only reader of the
//! clock for signalling), the transport tasks, and the store writer.
//!
//! Shutdown: the first SIGINT/SIGTERM stops new calls (503) and waits up to
//! `DRAIN_LIMIT` for calls in progress; a second one stops at once. SIGHUP reloads the
//! dialplans and the configuration file's queues and agents (`[[queue]]`, `[[agent]]`,
//! `[acd]`), keeping what runs when the new text is invalid.

pub mod call_events;
pub mod control;
mod core;
pub mod dialer;
mod directory;
mod locals;
mod media_relay;
mod store_writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::{Metrics, Tokens};
use crate::config::{Config, MediaMode};
use crate::dialplan::{PlanError, PlanHandle};
use crate::events::EventBus;
use crate::media::{MediaConfig, MediaEngine};
use crate::sip::registrar::Registrar;
use crate::sip::transport::{Bound, Transports};
use crate::store::{Store, StoreError};
use crate::switch::router::PlanRouter;
use crate::switch::Switch;

/// How long a graceful shutdown waits for calls to end.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind SIP listeners: {0}")]
    Bind(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("media relay: {0}")]
    Media(#[from] crate::media::MediaError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("dialplan errors:\n{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Dialplan(Vec<PlanError>),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
}

/// A running switch.
pub struct Running {
    pub bound: Bound,
    pub store: Store,
    pub plans: Arc<PlanHandle>,
    pub registrar: Arc<Registrar>,
    /// api: where the HTTP API listens (`[http] listen`), the event bus, the metrics and
    /// the core task's control handle.
    pub http: Option<std::net::SocketAddr>,
    pub events: EventBus,
    pub metrics: Arc<Metrics>,
    pub control: control::SwitchControl,
    pub dialer: crate::dialer::live::DialerLive,
    http_server: Option<crate::api::Server>,
    stop: watch::Sender<Stop>,
    core: JoinHandle<()>,
    writer: JoinHandle<()>,
    dialer_task: JoinHandle<()>,
}

/// What the core task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Run,
    Drain,
    Now,
}

impl Running {
    /// Stop taking calls and end when the last call ends (or after [`DRAIN_LIMIT`]).
    pub fn drain(&self) {
        let _ = self.stop.send(Stop::Drain);
    }

    /// Stop at once.
    pub fn stop_now(&self) {
        let _ = self.stop.send(Stop::Now);
    }

    /// Waits for the core task to end (after `drain` or `stop_now`).
    pub async fn wait(self) {
        let _ = self.core.await;
        let _ = self.writer.await;
        // The feed closed with the core task; stores the dialer started are awaited by
        // their own tasks.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.dialer_task).await;
        if let Some(server) = self.http_server {
            server.stop().await;
        }
        self.store.close().await;
    }
}

/// Starts the switch on `cfg`. Listen ports may be 0 (tests): see [`Running::bound`].
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    let cfg = Arc::new(cfg);
    let plans = Arc::new(PlanHandle::load_dir(&cfg.dialplan_dir).map_err(StartError::Dialplan)?);
    let acd = crate::switch::acd_config(&cfg)?;
    let store = Store::open(&cfg.store_url)
        .await?
        .with_node(&cfg.store_node);
    let cfg = Arc::new(directory::with_stored_directory(&cfg, &store).await?);
    let closed = store.close_in_flight("restart", now_unix_ms()).await?;
    if closed > 0 {
        tracing::warn!(
            closed,
            "calls in flight at the last stop were closed with cause restart"
        );
    }
    let (in_tx, in_rx) = mpsc::channel(65_536);
    let (transports, bound) = Transports::bind(&cfg.sip.listen, in_tx).await?;
    let locals = locals::locals(&cfg, &bound);
    let registrar = Arc::new(Registrar::new());
    let router = Arc::new(PlanRouter {
        plans: plans.clone(),
    });
    let media_ip = locals::media_ip(&locals);
    let mut switch = Switch::new(cfg.clone(), locals, registrar.clone(), router);
    if let Some(acd) = acd {
        switch = switch.with_acd(acd);
    }
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let metrics = Arc::new(Metrics::new()); // api
    let relays = |m: Option<MediaMode>| m == Some(MediaMode::Relay);
    if cfg.media.mode == MediaMode::Relay
        || cfg.endpoints.iter().any(|e| relays(e.media))
        || cfg.trunks.iter().any(|t| relays(t.media))
    {
        let mut media = MediaConfig::new(media_ip, cfg.media.rtp_ports.clone());
        media.media_timeout = cfg.media.timeout;
        media.relay_threads = cfg.media.relay_threads;
        media.relay_coalesce = cfg.media.relay_coalesce;
        media.relay_io = cfg.media.relay_io;
        media.kernel_forwarding = cfg.media.kernel_forwarding;
        let engine = MediaEngine::new(media)?;
        let tones = crate::media::tone::ToneSet::for_country(&cfg.media.tones)
            .unwrap_or_else(|| crate::media::tone::ToneSet::for_country("us").expect("us tones"));
        let prompts = crate::media::PromptLibrary::new(&cfg.media.prompts_dir, tones);
        let (loaded, bad) = prompts.preload();
        for e in &bad {
            tracing::warn!(%e, "prompt not loaded");
        }
        tracing::info!(loaded, dir = %cfg.media.prompts_dir.display(), "prompts");
        match crate::media::repair_recordings(&cfg.media.recordings_dir) {
            Ok(fixed) if !fixed.is_empty() => {
                tracing::warn!(files = fixed.len(), "recordings cut by a crash repaired")
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(%e, "recordings not checked"),
        }
        let relay = media_relay::EngineRelay {
            engine,
            events: media_tx,
            prompts,
            recordings: cfg.media.recordings_dir.clone(),
        };
        switch = switch.with_media(Arc::new(relay), media_ip);
    }
    store_writer::finish_cut_recordings(&store, &cfg.media.recordings_dir, now_unix_ms()).await;
    // api: the event bus, control channel and HTTP server (metrics are created above).
    let events = EventBus::default();
    let (control, control_rx) = control::SwitchControl::channel();
    let (dialer, dialer_commands) = crate::dialer::live::DialerLive::new();
    let (dialer_feed, dialer_feed_rx) = mpsc::unbounded_channel();
    let http_server = match cfg.http.listen {
        Some(addr) => Some(
            start_http(
                addr, &cfg, &store, &plans, &registrar, &events, &metrics, &control, &dialer,
            )
            .await?,
        ),
        None => None,
    };
    let (records, writer) = store_writer::spawn(
        store.clone(),
        metrics.clone(),
        cfg.media.recordings_dir.clone(),
    );
    let (stop, stop_rx) = watch::channel(Stop::Run);
    let core = tokio::spawn(core::run(
        switch,
        in_rx,
        media_rx,
        transports,
        records,
        stop_rx,
        control_rx,
        call_events::CallEvents::new(events.clone(), metrics.clone()).feeding(dialer_feed),
    ));
    let dialer_task = dialer::spawn(
        store.clone(),
        control.clone(),
        dialer.clone(),
        events.clone(),
        dialer_feed_rx,
        dialer_commands,
    );
    Ok(Running {
        bound,
        store,
        plans,
        registrar,
        http: http_server.as_ref().map(|s| s.addr),
        events,
        metrics,
        control,
        dialer,
        http_server,
        stop,
        core,
        writer,
        dialer_task,
    })
}

/// api: binds and starts the HTTP server; logs the development token of the embedded
/// default configuration (never a token from the operator's own file).
#[allow(clippy::too_many_arguments)]
async fn start_http(
    addr: std::net::SocketAddr,
    cfg: &Config,
    store: &Store,
    plans: &Arc<PlanHandle>,
    registrar: &Arc<Registrar>,
    events: &EventBus,
    metrics: &Arc<Metrics>,
    control: &control::SwitchControl,
    dialer: &crate::dialer::live::DialerLive,
) -> Result<crate::api::Server, StartError> {
    let server = crate::api::Server::start(addr, |shutdown| crate::api::ApiState {
        tokens: Tokens::new(&cfg.api_tokens),
        control: control.clone(),
        store: store.clone(),
        plans: plans.clone(),
        dialplan_dir: cfg.dialplan_dir.clone(),
        recordings_dir: cfg.media.recordings_dir.clone(),
        registrar: registrar.clone(),
        events: events.clone(),
        metrics: metrics.clone(),
        started: std::time::Instant::now(),
        dialer: dialer.clone(),
        shutdown,
        directory_edits: Default::default(),
    })
    .await
    .map_err(|source| StartError::Http { addr, source })?;
    if cfg.source == "<embedded default>" {
        for t in cfg
            .api_tokens
            .iter()
            .filter(|t| t.role == crate::config::ApiRole::Admin)
        {
            tracing::info!(
                "web console http://{}/ — development admin token (embedded default config): {}",
                server.addr,
                t.token
            );
        }
    }
    Ok(server)
}

/// Runs until SIGINT/SIGTERM (graceful, then immediate on a second signal); SIGHUP
/// reloads (see [`reload`]). `config_file`: the file the switch started from, if any.
pub async fn run_until_signalled(
    running: Running,
    dialplan_dir: std::path::PathBuf,
    config_file: Option<std::path::PathBuf>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("signal handler");
    let mut hup = signal(SignalKind::hangup()).expect("signal handler");
    let mut signals = 0;
    let stop = running.stop.clone();
    let plans = running.plans.clone();
    let control = running.control.clone();
    let waiter = tokio::spawn(running.wait());
    tokio::pin!(waiter);
    loop {
        tokio::select! {
            _ = &mut waiter => return,
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {
                reload(&plans, &dialplan_dir, &control, config_file.as_deref()).await;
                continue;
            }
        }
        signals += 1;
        let _ = stop.send(if signals == 1 { Stop::Drain } else { Stop::Now });
        if signals == 1 {
            tracing::info!("draining: new calls get 503; signal again to stop at once");
        }
    }
}

/// Reloads the dialplans, and the ACD from `config_file` (queues and agents change without
/// a restart: see [`crate::switch::Switch::reload_acd`]). An invalid dialplan or file is
/// refused with file, line and reason, and what runs stays. Other sections of the file
/// need a restart (endpoints and trunks change over the API without one).
pub async fn reload(
    plans: &PlanHandle,
    dialplan_dir: &std::path::Path,
    control: &control::SwitchControl,
    config_file: Option<&std::path::Path>,
) {
    match plans.reload_dir(dialplan_dir) {
        Ok(()) => tracing::info!("dialplans reloaded"),
        Err(errors) => {
            for e in errors {
                tracing::error!("dialplan reload refused: {e}")
            }
        }
    }
    let Some(file) = config_file else { return };
    let acd = Config::load(file)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        .and_then(|cfg| crate::switch::acd_config(&cfg).map_err(|e| vec![e.to_string()]));
    match acd {
        Ok(Some(acd)) => match control.reload_acd(acd).await {
            Ok(()) => tracing::info!("queues and agents reloaded"),
            Err(e) => tracing::error!(%e, "queues and agents not reloaded"),
        },
        Ok(None) => tracing::warn!(
            "the configuration has no queues or agents now: the running ones stay until a restart"
        ),
        Err(errors) => {
            for e in errors {
                tracing::error!("configuration reload refused: {e}")
            }
        }
    }
}

/// Milliseconds since the Unix epoch (the runtime is the place that reads the clock).
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
