//! Start-up: bind, connect, migrate, load keys, seed, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::jwt::SharedKey;
use crate::crypto::{KeyRing, PasswordHasher};
use crate::oidc::discovery::ProviderMetadata;
use crate::service::bootstrap::{self, Seeded};
use crate::service::keys;
use crate::state::{AppState, Shared};
use crate::store::Db;

/// Opens the configured database and brings its schema up to date (server and CLI alike).
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let url = &config.database_url;
    let db = Db::connect(url, &config.database)
        .await
        .with_context(|| format!("cannot open the database {}", url.redacted()))?;
    db.migrate()
        .await
        .with_context(|| format!("cannot apply migrations to {}", url.redacted()))?;
    Ok(db)
}

/// A built application: listening, migrated, keyed, seeded, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    seeded: Seeded,
    shipping: Option<tokio::sync::mpsc::Receiver<crate::telemetry::ShippedEvent>>,
}

impl Application {
    /// Builds the application. The listener is bound first, so port 0 works and the port is
    /// known before anything else can fail.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {} (BIND_ADDR)", config.bind_addr))?;
        Self::build_on(listener, config, clock).await
    }

    /// Builds the application on a listener bound by the caller (tests that need the issuer
    /// to name the real port bind first, then configure).
    pub async fn build_on(
        listener: TcpListener,
        config: Config,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let db = open_database(&config).await?;

        let sealer = config
            .key_encryption_key
            .as_ref()
            .map(crate::crypto::seal::Sealer::new)
            .transpose()
            .context("KEY_ENCRYPTION_KEY cannot be used")?;
        if let Some(sealer) = &sealer {
            keys::seal_stored_keys(&db, sealer)
                .await
                .context("cannot seal the signing keys under KEY_ENCRYPTION_KEY")?;
        }
        let algs = keys::algorithms_in_use(&db, &config)
            .await
            .context("cannot read the clients' signing algorithms")?;
        keys::ensure_signing_keys(&db, &clock, sealer.as_ref(), &algs)
            .await
            .context("cannot create a signing key")?;
        let window = keys::publication_window(&config);
        let key_set = keys::load_key_set(&db, clock.now(), window, None, sealer.as_ref())
            .await
            .context("cannot load the signing keys")?;

        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hasher = PasswordHasher::new(workers).context("cannot set up password hashing")?;
        let shared_key = config
            .shared_key
            .as_ref()
            .map(SharedKey::new)
            .transpose()
            .context("JWT_SECRET_KEY cannot be used as an HMAC key")?;
        let discovery = Bytes::from(
            serde_json::to_vec(&ProviderMetadata::new(&config.issuer))
                .context("cannot serialise discovery")?,
        );

        let successor_key = crate::crypto::successor::SuccessorKey::new(&config.session_secret)
            .context("SESSION_SECRET cannot key refresh tokens")?;
        let revocations = crate::service::revocations::RevocationList::load(&db, clock.now())
            .await
            .context("cannot read the revoked tokens")?;
        let seeded = bootstrap::seed(&db, &hasher, &clock, &config)
            .await
            .context("cannot create the configured demo user and clients")?;

        let pages = Arc::new(crate::http::pages::PageAssets::new(&config.brand));
        let state = AppState::new(Shared {
            config: Arc::new(config),
            db,
            clock,
            keys: KeyRing::new(key_set),
            shared_key,
            hasher,
            discovery,
            sealer,
            successor_key,
            http: crate::outbound::client().context("cannot set up outbound HTTP")?,
            logout_wakeup: Arc::new(tokio::sync::Notify::new()),
            metrics: crate::metrics::Metrics::new(),
            revocations: Arc::new(revocations),
            clients: Arc::new(crate::service::clients::ClientCache::default()),
            pages,
            recorded_sign_ins: Default::default(),
            shipper_stats: None,
        });
        Ok(Self {
            listener,
            state,
            seeded,
            shipping: None,
        })
    }

    /// Ships the audit events the logging layer queues on `events` to `LOGGING_BACKEND_URL`
    /// once serving (no-op without that setting).
    pub fn ship_logs(
        &mut self,
        events: tokio::sync::mpsc::Receiver<crate::telemetry::ShippedEvent>,
        stats: Arc<crate::metrics::ShipperStats>,
    ) {
        if self.state.config.logging_backend.is_some() {
            self.state.set_shipper_stats(stats);
            self.shipping = Some(events);
        }
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (tests reach the database and clock through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What start-up created, for the banner.
    pub fn seeded(&self) -> &Seeded {
        &self.seeded
    }

    /// The router, for callers that serve it themselves.
    pub fn router(&self) -> Router {
        crate::http::router(self.state.clone())
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish,
    /// stops background tasks and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let state = self.state.clone();
        let reloader = tokio::spawn(keys::reload_periodically(
            state.clone(),
            stopped(stop_rx.clone()),
        ));

        let logouts = tokio::spawn(crate::service::backchannel::run(
            state.clone(),
            stopped(stop_rx.clone()),
        ));
        let cleaner = tokio::spawn(crate::service::cleanup::run(
            state.clone(),
            stopped(stop_rx.clone()),
        ));
        let revocations = tokio::spawn(crate::service::revocations::run(
            state.clone(),
            stopped(stop_rx.clone()),
        ));
        let client_sync = tokio::spawn(crate::service::clients::sync_cache(
            state.clone(),
            stopped(stop_rx.clone()),
        ));
        let shipper = match (
            self.shipping,
            &state.config.logging_backend,
            &state.shipper_stats,
        ) {
            (Some(events), Some(backend), Some(stats)) => {
                Some(tokio::spawn(crate::service::log_shipper::run(
                    state.clone(),
                    backend.clone(),
                    events,
                    stats.clone(),
                    stopped(stop_rx.clone()),
                )))
            }
            _ => None,
        };

        let metrics_server = match state.config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (METRICS_ADDR)"))?;
                Some(tokio::spawn(crate::http::serve::serve(
                    listener,
                    crate::http::metrics_router(state.clone()),
                    state.config.header_read_timeout,
                    stopped(stop_rx.clone()),
                )))
            }
            None => None,
        };
        crate::http::serve::serve(
            self.listener,
            crate::http::router(state.clone()),
            state.config.header_read_timeout,
            stopped(stop_rx),
        )
        .await;
        let _ = reloader.await;
        let _ = logouts.await;
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        let _ = cleaner.await;
        let _ = revocations.await;
        let _ = client_sync.await;
        if let Some(shipper) = shipper {
            let _ = shipper.await;
        }
        state.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
