//! The one seam that builds the app: `Application::build(config)` opens the store, binds the
//! listener (port 0 in tests) and assembles the router; `run_until_stopped` serves until the
//! shutdown signal, finishing the requests in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use otklik_app::{App, TriageModel};
use otklik_channels::Registry;
use otklik_core::Clock;
use otklik_store::Store;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::auth::TokenCache;
use crate::config::{Config, HookSecrets};
use crate::jobs::Runner;
use crate::limits::Limits;
use crate::metrics::Metrics;

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The operations every caller uses.
    pub app: App,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) tokens: Arc<TokenCache>,
    pub max_body_bytes: usize,
    /// Connection and request limits.
    pub limits: Limits,
    /// The secrets the channels' webhooks are signed with.
    pub hooks: Arc<HookSecrets>,
}

impl AppState {
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.app.store
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.app.clock
    }
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The channel drivers this node delivers the outbox through.
    channels: Registry,
    outbox_lease: std::time::Duration,
}

impl Application {
    /// Opens the configured database (migrating it) and binds the listen address.
    pub async fn build(config: &Config) -> anyhow::Result<Application> {
        config.validate()?;
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
        }
        let store = otklik_store::open(&config.database_url(), &config.open_options())
            .await
            .context("cannot open the database")?;
        Application::build_with(config, store, Arc::new(SystemClock)).await
    }

    /// Builds around a store and clock the caller made (tests inject a clock this way).
    pub async fn build_with(
        config: &Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let triage = Arc::new(TriageModel::open(config.model_file()));
        triage.watch();
        let mut app = App::new(
            store,
            clock,
            triage,
            Arc::new(config.workflow()?),
            Arc::new(config.house_rules()?),
            &config.public_url_for(address),
        );
        app.status_link_days = config.status_link_days;
        app.iceberg_factor = config.iceberg_factor;
        app.retention = config.retention();
        app.business_name = config.business_name.clone();
        app.refresh_locations().await.map_err(|error| anyhow::anyhow!("cannot read the locations: {error}"))?;
        let state = AppState {
            app,
            metrics: Arc::new(Metrics::default()),
            tokens: Arc::new(TokenCache::default()),
            max_body_bytes: config.max_body_bytes,
            limits: config.limits(),
            hooks: Arc::new(config.hook_secrets()),
        };
        let router = crate::api::router(state.clone());
        // A channel with no driver configured is logged, so its case shows the message as
        // `logged` rather than pending forever.
        let channels = config.channels()?;
        let outbox_lease = std::time::Duration::from_secs(config.outbox_lease_seconds);
        Ok(Application { listener, router, state, channels, outbox_lease })
    }

    /// The address actually bound (the port is chosen by the OS when the config says 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Receives and delivers through these channel drivers instead of the configured ones (tests
    /// give an empty registry, so that only the runners they drive by hand deliver).
    pub fn with_channels(mut self, channels: Registry) -> Application {
        self.channels = channels;
        self
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// This node's deadline watch and job worker (tests run its passes by hand).
    pub fn runner(&self) -> Runner {
        let worker = format!("node-{}-{}", std::process::id(), &otklik_app::mint_link_secret()[..8]);
        Runner::new(self.state.clone(), worker, self.channels.clone()).with_outbox_lease(self.outbox_lease)
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish. The node's worker
    /// and its channels' drivers stop with it, also when this future is dropped half-way.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let _worker = StopOnDrop(self.runner().spawn(crate::jobs::WORK_EVERY));
        let (stop_receiving, stop) = tokio::sync::watch::channel(false);
        crate::inbound::start(&self.state, &self.channels, &stop);
        let result = crate::limits::serve(self.listener, self.router, self.state.limits, shutdown).await;
        let _ = stop_receiving.send(true);
        result?;
        Ok(())
    }
}

/// Stops a spawned task when dropped: a node's worker lives exactly as long as its server.
struct StopOnDrop(tokio::task::JoinHandle<()>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The application layer alone, for a command that acts outside a running server (`otklik user
/// create --link`): the same operations, rights and rules as the server's.
pub fn app_for(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<App> {
    let mut app = App::new(
        store,
        Arc::new(SystemClock),
        Arc::new(TriageModel::open(config.model_file())),
        Arc::new(config.workflow()?),
        Arc::new(config.house_rules()?),
        &config.public_url_for(config.listen),
    );
    app.status_link_days = config.status_link_days;
    app.iceberg_factor = config.iceberg_factor;
    app.retention = config.retention();
    app.business_name = config.business_name.clone();
    Ok(app)
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
