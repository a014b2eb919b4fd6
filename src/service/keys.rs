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

/// How long a rotated-in key is published before it signs: long enough for every instance to
/// reload its keys (twice over) and for every verifier's cached JWKS to expire, so no one
/// meets a token signed by a key they have not seen.
pub fn prepublication(config: &Config) -> i64 {
    JWKS_MAX_AGE_SECS + 2 * i64::try_from(config.keys_reload_secs).unwrap_or(i64::MAX / 4)
}

/// How long verifiers may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;

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
    let stored = generate(now, now).await?;
    match key_store::insert_key(db, &stored).await {
        Ok(()) => {
            tracing::info!(kid = %stored.kid, "generated the first signing key");
            Ok(())
        }
        Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// When a rotation's new key starts signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// After [`prepublication`]: the normal rotation.
    Scheduled,
    /// At once (a compromised key): instances sign with it within `KEYS_RELOAD_SECONDS`, and
    /// until they reload, their verifiers may not know it yet.
    Immediate,
}

/// A rotation: the new key's id and when it starts signing.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// The new key.
    pub kid: String,
    /// When it signs; the previous key retires then and stays published for
    /// [`publication_window`] after.
    pub activates_at: UnixTime,
}

/// Adds a new signing key, published at once, signing from its activation; the previous key
/// retires at that moment and stays published for [`publication_window`] more.
pub async fn rotate(
    db: &Db,
    clock: &Clock,
    config: &Config,
    activation: Activation,
) -> Result<Rotation, ServiceError> {
    let now = clock.now();
    let has_key = key_store::list_live_keys(db, now)
        .await?
        .iter()
        .any(|k| k.retired_at.is_none());
    let activates_at = match activation {
        Activation::Scheduled if has_key => now + prepublication(config),
        _ => now,
    };
    let stored = generate(now, activates_at).await?;
    match key_store::rotate_key(db, &stored).await {
        Err(StoreError::Conflict) => {
            return Err(ServiceError::Invalid(
                "another rotation happened at the same moment; list the keys and try again".into(),
            ));
        }
        other => other?,
    }
    crate::audit!(info, "key.rotated", kid = %stored.kid, activates_at);
    Ok(Rotation {
        kid: stored.kid,
        activates_at,
    })
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
    let mut others = Vec::new();
    // Newest first: the key whose activation has come and whose retirement has not signs;
    // newer ones are published ahead of their time, older ones until their tokens expire.
    for row in rows {
        let key = match previous.and_then(|p| p.find(&row.kid)) {
            Some(parsed) => parsed.clone(),
            None => Arc::new(SigningKey::from_pkcs8(&row.kid, &row.private_key)?),
        };
        let signs_now = row.activates_at <= now && row.retired_at.is_none_or(|r| r > now);
        if active.is_none() && signs_now {
            active = Some(key);
        } else {
            others.push(key);
        }
    }
    let retired = others;
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
    /// When it starts signing.
    pub activates_at: UnixTime,
    /// When it stops signing.
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
            activates_at: k.activates_at,
            retired_at: k.retired_at,
        })
        .collect())
}

async fn generate(now: UnixTime, activates_at: UnixTime) -> Result<StoredKey, ServiceError> {
    // RSA key generation takes tens of milliseconds: keep it off the async workers.
    let (key, der) = tokio::task::spawn_blocking(SigningKey::generate_rs256)
        .await
        .map_err(|_| crate::crypto::CryptoError::KeyGeneration)??;
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        alg: "RS256".into(),
        private_key: der,
        created_at: now,
        activates_at,
        retired_at: None,
    })
}
