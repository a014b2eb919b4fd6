//! Shipping audit events to the central log service (the first version's "Logger Utils"):
//! `POST {LOGGING_BACKEND_URL}/log` with `{"service", "level", "message", "context"}` and a
//! short-lived token we sign for ourselves (`sub` = `IDENTITY_SUB`, `aud` =
//! `LOGGING_BACKEND_AUD`).
//!
//! Asynchronous and bounded: the logging layer only puts events on a queue of
//! [`SHIP_QUEUE`](crate::telemetry::SHIP_QUEUE) (a full queue drops and counts, never blocks a
//! request); this task takes them in batches, sends each batch under one token over one
//! kept-alive connection, and retries with backoff while the service is down or slow. Its
//! own failures are logged once per outage, on a target the shipping layer ignores, so they
//! can never feed back into the queue.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::LoggingBackend;
use crate::crypto::jwt::TokenType;
use crate::crypto::random::random_token;
use crate::metrics::ShipperStats;
use crate::oidc::claims::TokenClaims;
use crate::state::AppState;
use crate::telemetry::ShippedEvent;

use super::ServiceError;
use super::tokens::sign_for_audience;

/// Events sent per batch at most.
const BATCH: usize = 100;
/// Lifetime of the tokens we sign for the log service.
const TOKEN_TTL_SECS: i64 = 5 * 60;
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A single event is given up after this many failed attempts (the service keeps refusing it,
/// or is down for longer than the backoff adds up to, about ten minutes).
const MAX_ATTEMPTS: u32 = 15;

/// Ships events from `events` until `stopped`; then sends what is queued for at most a few
/// seconds more.
pub async fn run(
    state: AppState,
    backend: LoggingBackend,
    mut events: mpsc::Receiver<ShippedEvent>,
    stats: Arc<ShipperStats>,
    stopped: impl Future<Output = ()>,
) {
    let url = format!("{}/log", backend.url.trim_end_matches('/'));
    // For the log line only: a URL may carry a password.
    let shown = crate::config::DatabaseUrl::new(url.clone()).redacted();
    let mut shipper = Shipper {
        state,
        backend,
        url,
        shown,
        stats,
        token: None,
        failing: false,
    };
    tokio::pin!(stopped);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            () = &mut stopped => break,
            received = events.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
            }
        }
        for event in batch.drain(..) {
            tokio::select! {
                () = &mut stopped => return,
                () = shipper.deliver(&event) => {}
            }
        }
    }
    // Stopping: one try for what is queued, bounded.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(event) = events.try_recv() {
            shipper.attempt(&event).await;
        }
    })
    .await;
}

struct Shipper {
    state: AppState,
    backend: LoggingBackend,
    url: String,
    /// `url` with any password hidden, for logs.
    shown: String,
    stats: Arc<ShipperStats>,
    token: Option<(String, i64)>,
    failing: bool,
}

/// What one POST came to.
enum Sent {
    Accepted,
    /// Refused for good (a 4xx other than 401/408/429): retrying will not help.
    Refused(u16),
    /// Try again later.
    Failed(String),
}

impl Shipper {
    /// Sends one event, retrying with backoff until it is accepted, refused, or
    /// [`MAX_ATTEMPTS`] is reached.
    async fn deliver(&mut self, event: &ShippedEvent) {
        let mut backoff = Duration::from_secs(1);
        for _ in 0..MAX_ATTEMPTS {
            match self.attempt(event).await {
                Sent::Accepted | Sent::Refused(_) => return,
                Sent::Failed(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
    }

    async fn attempt(&mut self, event: &ShippedEvent) -> Sent {
        let sent = self.post(event).await;
        match &sent {
            Sent::Accepted => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                if self.failing {
                    self.failing = false;
                    tracing::info!(target: "identity_backend::log_shipper", "the log service accepts events again");
                }
            }
            Sent::Refused(status) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "identity_backend::log_shipper", status, "the log service refused an event; dropped");
            }
            Sent::Failed(reason) => {
                if !self.failing {
                    self.failing = true;
                    tracing::warn!(target: "identity_backend::log_shipper", %reason, url = %self.shown, "cannot ship audit events; retrying with backoff (logged once per outage)");
                }
            }
        }
        sent
    }

    async fn post(&mut self, event: &ShippedEvent) -> Sent {
        let token = match self.token().await {
            Ok(token) => token,
            Err(e) => return Sent::Failed(format!("cannot sign a token: {e}")),
        };
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(e) => return Sent::Failed(format!("cannot serialise the event: {e}")),
        };
        let response = self
            .state
            .http
            .post(&self.url)
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Sent::Accepted,
            Ok(r) if r.status() == 401 => {
                // Perhaps our key rotated under a cached verifier: a fresh token next time.
                self.token = None;
                Sent::Failed("HTTP 401".into())
            }
            Ok(r) if r.status().is_client_error() && r.status() != 408 && r.status() != 429 => {
                Sent::Refused(r.status().as_u16())
            }
            Ok(r) => Sent::Failed(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Sent::Failed("timed out".into()),
            Err(e) if e.is_connect() => Sent::Failed("cannot connect".into()),
            Err(_) => Sent::Failed("the request failed".into()),
        }
    }

    /// The current token, signed anew when it has less than a minute left.
    async fn token(&mut self) -> Result<String, ServiceError> {
        let now = self.state.clock.now();
        if let Some((token, expires)) = &self.token
            && *expires - now > 60
        {
            return Ok(token.clone());
        }
        let claims = TokenClaims {
            iss: self.state.config.issuer.as_str().to_owned(),
            sub: self.backend.subject.clone(),
            aud: self.backend.audience.clone(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            jti: random_token(16)?,
            client_id: None,
            scope: None,
            auth_time: None,
            sid: None,
            act: None,
        };
        let audience = self.backend.audience.clone();
        let alg = self.state.config.access_token_alg;
        let token = sign_for_audience(&self.state, &audience, alg, TokenType::Jwt, claims).await?;
        self.token = Some((token.clone(), now + TOKEN_TTL_SECS));
        Ok(token)
    }
}
