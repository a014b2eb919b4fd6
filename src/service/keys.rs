//! Signing key lifecycle: first key, rotation, and keeping every instance's key set current.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, Mode};
use crate::crypto::{KeyRing, KeySet, SigningKey};
use crate::store::keys::{self as key_store, StoredKey};
use crate::store::{Db, StoreError};

use super::ServiceError;
use super::tokens::TEST_TOKEN_MAX_TTL_SECS;

/// How long a retired key stays published: the longest lifetime a token it signed can have,
/// plus the clock skew we tolerate. After that no token it signed can still verify.
pub fn publication_window(config: &Config) -> i64 {
    let longest = match config.mode {
        Mode::Development => config.token_ttl_secs.max(TEST_TOKEN_MAX_TTL_SECS),
        Mode::Production => config.token_ttl_secs,
    };
    longest + config.clock_skew_secs
}

/// Generates and stores the first RS256 key unless one is active. Safe to race: when two
/// instances start at once, the database's one-active-key index keeps the first.
pub async fn ensure_signing_key(db: &Db, clock: &Clock) -> Result<(), ServiceError> {
    let now = clock.now();
    if key_store::list_live_keys(db, now)
        .await?
        .iter()
        .any(|k| k.retired_at.is_none())
    {
        return Ok(());
    }
    let stored = generate(now).await?;
    match key_store::insert_key(db, &stored).await {
        Ok(()) => {
            tracing::info!(kid = %stored.kid, "generated the first signing key");
            Ok(())
        }
        Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Makes a new key the signing key; the old one stays published for [`publication_window`].
pub async fn rotate(db: &Db, clock: &Clock) -> Result<String, ServiceError> {
    let now = clock.now();
    let stored = generate(now).await?;
    key_store::rotate_key(db, &stored, now).await?;
    crate::audit!(info, "key.rotated", kid = %stored.kid);
    Ok(stored.kid)
}

/// Reads the live keys from the database into a [`KeySet`], reusing keys already parsed in
/// `previous` so a reload costs no RSA parsing when nothing changed.
pub async fn load_key_set(
    db: &Db,
    now: UnixTime,
    window: i64,
    previous: Option<&KeySet>,
) -> Result<KeySet, ServiceError> {
    let rows = key_store::list_live_keys(db, now - window).await?;
    let mut active = None;
    let mut retired = Vec::new();
    for row in rows {
        let key = match previous.and_then(|p| p.find(&row.kid)) {
            Some(parsed) => parsed.clone(),
            None => Arc::new(SigningKey::from_pkcs8(&row.kid, &row.private_key)?),
        };
        match (row.retired_at, &active) {
            (None, None) => active = Some(key),
            _ => retired.push(key),
        }
    }
    let active = active
        .ok_or_else(|| ServiceError::Invalid("no active signing key in the database".into()))?;
    Ok(KeySet::new(active, retired))
}

/// Reloads the key set every `every` until `shutdown` resolves, so a rotation made by another
/// instance or the CLI is picked up within that bound, and expired keys leave the JWKS.
pub async fn reload_periodically(
    db: Db,
    clock: Clock,
    ring: KeyRing,
    window: i64,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        let current = ring.current();
        match load_key_set(&db, clock.now(), window, Some(&current)).await {
            Ok(keys) => {
                if keys.active().kid() != current.active().kid() {
                    tracing::info!(kid = %keys.active().kid(), "now signing with a new key");
                }
                ring.replace(keys);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not reload signing keys; keeping the current ones")
            }
        }
    }
}

/// A key's state, for `keys list`.
#[derive(Debug)]
pub struct KeyReport {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// Creation time.
    pub created_at: UnixTime,
    /// When it stopped signing.
    pub retired_at: Option<UnixTime>,
    /// Until when it stays in the JWKS (retired keys only).
    pub published_until: Option<UnixTime>,
}

/// Every stored key with its state.
pub async fn list(db: &Db, window: i64) -> Result<Vec<KeyReport>, ServiceError> {
    Ok(key_store::list_keys(db)
        .await?
        .into_iter()
        .map(|k| KeyReport {
            published_until: k.retired_at.map(|r| r + window),
            kid: k.kid,
            alg: k.alg,
            created_at: k.created_at,
            retired_at: k.retired_at,
        })
        .collect())
}

async fn generate(now: UnixTime) -> Result<StoredKey, ServiceError> {
    // RSA key generation takes tens of milliseconds: keep it off the async workers.
    let (key, der) = tokio::task::spawn_blocking(SigningKey::generate_rs256)
        .await
        .map_err(|_| crate::crypto::CryptoError::KeyGeneration)??;
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        alg: "RS256".into(),
        private_key: der,
        created_at: now,
        retired_at: None,
    })
}
