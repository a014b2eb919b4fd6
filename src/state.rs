//! The application state every request and background task shares. No globals: tests run
//! many applications side by side, each with its own.

use std::sync::Arc;

use bytes::Bytes;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::jwt::SharedKey;
use crate::crypto::{KeyRing, PasswordHasher};
use crate::store::Db;

/// Everything a handler or service function may need, behind one `Arc`: every request
/// clones the state (axum's `State`, the middleware), and one reference count is cheaper
/// than the dozen the parts hold. Fields are reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Shares `parts`.
    pub fn new(parts: Shared) -> Self {
        Self(Arc::new(parts))
    }

    /// Sets the log shipper's counters (before serving; a state already shared is copied).
    pub fn set_shipper_stats(&mut self, stats: Arc<crate::metrics::ShipperStats>) {
        Arc::make_mut(&mut self.0).shipper_stats = Some(stats);
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub db: Db,
    /// The time source.
    pub clock: Clock,
    /// The current signing and verification keys.
    pub keys: KeyRing,
    /// The shared HS256 key, when `JWT_SECRET_KEY` is set.
    pub shared_key: Option<SharedKey>,
    /// Password hashing on a bounded blocking pool.
    pub hasher: PasswordHasher,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
    /// Derives refresh tokens' successors.
    pub successor_key: crate::crypto::successor::SuccessorKey,
    /// Opens sealed client secrets, when `KEY_ENCRYPTION_KEY` is set.
    pub sealer: Option<crate::crypto::seal::Sealer>,
    /// Outbound HTTP (back-channel logout).
    pub http: reqwest::Client,
    /// Wakes the back-channel logout sender when a session ends.
    pub logout_wakeup: Arc<tokio::sync::Notify>,
    /// This application's Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// The pages' stylesheet, with the operator's accent colour.
    pub pages: Arc<crate::http::pages::PageAssets>,
    /// Client registrations for client authentication, kept in step with the database.
    pub clients: Arc<crate::service::clients::ClientCache>,
    /// Revoked access tokens, synchronised from the database (no lookup per verification).
    pub revocations: Arc<crate::service::revocations::RevocationList>,
    /// Sessions' sign-ins at clients already written to the database by this instance.
    pub recorded_sign_ins: Arc<crate::service::backchannel::RecordedSignIns>,
    /// The log shipper's counters, when `LOGGING_BACKEND_URL` is set.
    pub shipper_stats: Option<Arc<crate::metrics::ShipperStats>>,
}
