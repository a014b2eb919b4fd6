//! The verifier: the issuer's keys, cached and refreshed, and the checks on a token.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::claims::Claims;
use crate::error::{BuildError, FetchError, VerifyError};
use crate::fetch::{discover_jwks_uri, fetch_keys};
use crate::keys::{KeySet, VerifyingKey};

/// Clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// At most one refetch of the JWKS per this interval, however many unknown `kid`s arrive.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long keys are cached when the JWKS response says nothing (identity-backend says 300 s).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Bounds on the cache lifetime a JWKS response may ask for.
const MAX_AGE_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(30), Duration::from_secs(24 * 3600));

/// While no key has ever been fetched, a failed fetch is retried this often at most (so a
/// service started before the provider recovers within a second of it coming up).
const EMPTY_CACHE_RETRY: Duration = Duration::from_secs(1);

/// Longer tokens are refused before any parsing.
const TOKEN_LIMIT: usize = 16 * 1024;

/// Verifies bearer JWTs from one issuer for one audience against the issuer's JWKS, cached.
/// Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    leeway: Duration,
    min_refetch_interval: Duration,
    http: reqwest::Client,
    cache: RwLock<Snapshot>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each making
    /// their own.
    refresh: tokio::sync::Mutex<RefreshState>,
}

/// What the cache holds now.
#[derive(Clone, Default)]
struct Snapshot {
    keys: Arc<KeySet>,
    /// When the keys were fetched; `None` until the first success.
    fetched_at: Option<Instant>,
    /// How long they may be used without a refetch.
    max_age: Duration,
    /// Counts fetch attempts, so a request that waited on another's fetch does not repeat it.
    attempts: u64,
}

/// What only the fetching task touches.
struct RefreshState {
    /// Configured, or found through discovery on the first fetch.
    jwks_uri: Option<String>,
    last_attempt: Option<Instant>,
}

/// Builds a [`JwksVerifier`] with settings other than the defaults.
pub struct JwksVerifierBuilder {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    leeway: Duration,
    min_refetch_interval: Duration,
    http: Option<reqwest::Client>,
}

impl JwksVerifierBuilder {
    /// Uses this JWKS URL instead of the `jwks_uri` from the issuer's discovery document.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default [`DEFAULT_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The least time between two fetches of the JWKS caused by unknown `kid`s (default
    /// [`DEFAULT_MIN_REFETCH_INTERVAL`]).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Fetches with this client instead of one with a 5 s timeout that follows no redirects.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The verifier; nothing is fetched until the first token (or [`JwksVerifier::warm_up`]).
    pub fn build(self) -> Result<JwksVerifier, BuildError> {
        let http = match self.http {
            Some(http) => http,
            None => default_http_client()?,
        };
        Ok(JwksVerifier {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                audience: self.audience,
                leeway: self.leeway,
                min_refetch_interval: self.min_refetch_interval,
                http,
                cache: RwLock::new(Snapshot::default()),
                refresh: tokio::sync::Mutex::new(RefreshState {
                    jwks_uri: self.jwks_uri,
                    last_attempt: None,
                }),
            }),
        })
    }
}

/// reqwest with rustls on aws-lc-rs (installed as the process default when none is yet),
/// bounded in time, and not following redirects: the JWKS is where discovery says it is.
fn default_http_client() -> Result<reqwest::Client, BuildError> {
    // Err means a provider is installed already, which is as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

impl JwksVerifier {
    /// A verifier for tokens whose `iss` is exactly `issuer` and whose `aud` contains
    /// `audience`, with the keys from the issuer's discovery document.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, BuildError> {
        Self::builder(issuer, audience).build()
    }

    /// A builder for the same, to change the defaults.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> JwksVerifierBuilder {
        JwksVerifierBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_uri: None,
            leeway: DEFAULT_LEEWAY,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            http: None,
        }
    }

    /// The issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience tokens must be for.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// Fetches the keys now (at start, to fail early or log a warning), and says how many
    /// usable keys there are.
    pub async fn warm_up(&self) -> Result<usize, FetchError> {
        let mut state = self.inner.refresh.lock().await;
        self.fetch(&mut state).await?;
        Ok(self.snapshot().keys.len())
    }

    /// The claims of `token` if it is a valid JWT from the issuer for the audience.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        if token.len() > TOKEN_LIMIT {
            return Err(VerifyError::Malformed);
        }
        // Unverified, and used only to pick the key: nothing in it is trusted.
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(VerifyError::ForbiddenHeader);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKid)?;
        let key = self.key(&kid).await?;
        // The key decides the algorithm (RFC 8725 §3.1); jsonwebtoken checks it again.
        if header.alg != key.algorithm {
            return Err(VerifyError::WrongAlgorithm);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            token,
            &key.decoding,
            &self.validation(key.algorithm),
        )
        .map_err(|error| VerifyError::from_jwt(&error))?;
        Ok(Claims::new(data.claims))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.inner.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.inner.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation
    }

    /// The key named `kid`: from the cache while it is fresh, otherwise after a refetch.
    async fn key(&self, kid: &str) -> Result<VerifyingKey, VerifyError> {
        let seen = self.snapshot();
        let fresh = seen
            .fetched_at
            .is_some_and(|at| at.elapsed() < seen.max_age);
        if fresh && let Some(key) = seen.keys.get(kid) {
            return Ok(key.clone());
        }
        // Stale, empty, or an unknown kid (a rotated key, or a forgery): one refetch, rate-limited.
        self.refresh(seen.attempts).await?;
        self.snapshot()
            .keys
            .get(kid)
            .cloned()
            .ok_or(VerifyError::UnknownKey)
    }

    /// Refetches the JWKS unless another request just did, or the last attempt was too recent.
    /// Fails only when there is no key at all to go on with.
    async fn refresh(&self, seen_attempts: u64) -> Result<(), VerifyError> {
        let mut state = self.inner.refresh.lock().await;
        let current = self.snapshot();
        if current.attempts != seen_attempts {
            return Ok(());
        }
        let interval = if current.keys.is_empty() {
            self.inner.min_refetch_interval.min(EMPTY_CACHE_RETRY)
        } else {
            self.inner.min_refetch_interval
        };
        let too_soon = state.last_attempt.is_some_and(|at| at.elapsed() < interval);
        if too_soon {
            tracing::debug!("JWKS refetch skipped: the last one was too recent");
            return Ok(());
        }
        match self.fetch(&mut state).await {
            Ok(()) => Ok(()),
            Err(error) if current.keys.is_empty() => Err(VerifyError::KeysUnavailable(error)),
            Err(error) => {
                // Keep verifying with the keys we have: the provider being down for a moment
                // must not take every service down with it.
                tracing::warn!(error = %error, "JWKS refetch failed; keeping the cached keys");
                Ok(())
            }
        }
    }

    /// One fetch (discovering the JWKS URL first if need be); the cache is replaced on success.
    async fn fetch(&self, state: &mut RefreshState) -> Result<(), FetchError> {
        state.last_attempt = Some(Instant::now());
        let outcome = self.fetch_keys(state).await;
        let mut cache = self
            .inner
            .cache
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        cache.attempts += 1;
        let fetched = outcome?;
        tracing::info!(keys = fetched.keys.len(), "JWKS fetched");
        cache.keys = Arc::new(fetched.keys);
        cache.fetched_at = Some(Instant::now());
        cache.max_age = fetched
            .max_age
            .unwrap_or(DEFAULT_MAX_AGE)
            .clamp(MAX_AGE_BOUNDS.0, MAX_AGE_BOUNDS.1);
        Ok(())
    }

    async fn fetch_keys(
        &self,
        state: &mut RefreshState,
    ) -> Result<crate::fetch::FetchedKeys, FetchError> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let uri = discover_jwks_uri(&self.inner.http, &self.inner.issuer).await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        fetch_keys(&self.inner.http, &jwks_uri).await
    }

    fn snapshot(&self) -> Snapshot {
        self.inner
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}
