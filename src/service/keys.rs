//! Signing key lifecycle: first key, rotation, and keeping every instance's key set current.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, Mode};
use crate::crypto::seal::Sealer;
use crate::crypto::{KeyAlg, KeySet, SigningKey};
use crate::state::AppState;
use crate::store::clients as client_store;
use crate::store::keys::{self as key_store, StoredKey, Takeover};
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

/// The algorithms that need a signing key: RS256 (ID and logout tokens), `ACCESS_TOKEN_ALG`,
/// and whatever registered clients asked for.
pub async fn algorithms_in_use(db: &Db, config: &Config) -> Result<Vec<KeyAlg>, ServiceError> {
    let requested = client_store::requested_signing_algs(db).await?;
    Ok(KeyAlg::ALL
        .into_iter()
        .filter(|alg| {
            *alg == KeyAlg::Rs256
                || *alg == config.access_token_alg
                || requested.iter().any(|r| r == alg.as_str())
        })
        .collect())
}

/// Generates and stores the first key of each of `algs` that has none that signs yet. Safe
/// to race: when two instances start at once, the database's one-active-key-per-algorithm
/// index keeps the first. A first key signs at once: no token of its algorithm exists yet,
/// and verifiers fetch the JWKS again for a `kid` they do not know.
pub async fn ensure_signing_keys(
    db: &Db,
    clock: &Clock,
    sealer: Option<&Sealer>,
    algs: &[KeyAlg],
) -> Result<(), ServiceError> {
    let now = clock.now();
    let live = key_store::list_live_keys(db, now).await?;
    for &alg in algs {
        if live
            .iter()
            .any(|k| k.alg == alg.as_str() && k.retired_at.is_none())
        {
            continue;
        }
        let stored = generate(alg, now, now, sealer).await?;
        match key_store::insert_key(db, &stored).await {
            Ok(()) => tracing::info!(kid = %stored.kid, %alg, "generated the first signing key"),
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// [`ensure_signing_keys`] with the sealer `config` names (for the CLI).
pub async fn ensure_signing_keys_for(
    db: &Db,
    clock: &Clock,
    config: &Config,
    algs: &[KeyAlg],
) -> Result<(), ServiceError> {
    if algs.is_empty() {
        return Ok(());
    }
    let sealer = config_sealer(config)?;
    ensure_signing_keys(db, clock, sealer.as_ref(), algs).await
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
    /// Its algorithm.
    pub alg: KeyAlg,
    /// When it signs; the previous key retires then and stays published for
    /// [`publication_window`] after.
    pub activates_at: UnixTime,
}

/// Rotates the key of every algorithm that has one (RS256 at least): see [`rotate_alg`].
pub async fn rotate(
    db: &Db,
    clock: &Clock,
    config: &Config,
    activation: Activation,
) -> Result<Vec<Rotation>, ServiceError> {
    let live = key_store::list_live_keys(db, clock.now()).await?;
    let mut rotations = Vec::new();
    for alg in KeyAlg::ALL {
        if alg == KeyAlg::Rs256 || live.iter().any(|k| k.alg == alg.as_str()) {
            rotations.push(rotate_alg(db, clock, config, alg, activation).await?);
        }
    }
    Ok(rotations)
}

/// Adds a new signing key for `alg`, published at once, signing from its activation; the
/// previous key retires at that moment and stays published for [`publication_window`] more.
pub async fn rotate_alg(
    db: &Db,
    clock: &Clock,
    config: &Config,
    alg: KeyAlg,
    activation: Activation,
) -> Result<Rotation, ServiceError> {
    let now = clock.now();
    let has_key = key_store::list_live_keys(db, now)
        .await?
        .iter()
        .any(|k| k.alg == alg.as_str() && k.retired_at.is_none());
    let activates_at = match activation {
        Activation::Scheduled if has_key => now + prepublication(config),
        _ => now,
    };
    let sealer = config_sealer(config)?;
    let stored = generate(alg, now, activates_at, sealer.as_ref()).await?;
    match key_store::rotate_key(db, &stored, Takeover::Overriding).await {
        Err(StoreError::Conflict) => {
            return Err(ServiceError::Invalid(
                "another rotation happened at the same moment; list the keys and try again".into(),
            ));
        }
        // Overriding always stores the key.
        other => _ = other?,
    }
    crate::audit!(info, "key.rotated", kid = %stored.kid, %alg, activates_at);
    Ok(Rotation {
        kid: stored.kid,
        alg,
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
    sealer: Option<&Sealer>,
) -> Result<KeySet, ServiceError> {
    let rows = key_store::list_live_keys(db, now - window).await?;
    let mut signing: Vec<Arc<SigningKey>> = Vec::new();
    let mut others = Vec::new();
    // Newest first: per algorithm, the key whose activation has come and whose retirement
    // has not signs; newer ones are published ahead of their time, older ones until their
    // tokens expire.
    for row in rows {
        let alg = KeyAlg::parse(&row.alg).ok_or_else(|| {
            StoreError::Corrupt(format!("signing key {}: algorithm {}", row.kid, row.alg))
        })?;
        let key = match previous.and_then(|p| p.find(&row.kid)) {
            Some(parsed) => parsed.clone(),
            None => {
                let der = unseal(&row, sealer)?;
                Arc::new(SigningKey::from_pkcs8(&row.kid, alg, &der)?)
            }
        };
        let signs_now = row.activates_at <= now && row.retired_at.is_none_or(|r| r > now);
        if signs_now && !signing.iter().any(|k| k.alg() == alg) {
            signing.push(key);
        } else {
            others.push(key);
        }
    }
    if !signing.iter().any(|k| k.alg() == KeyAlg::Rs256) {
        return Err(ServiceError::Invalid(
            "no active RS256 signing key in the database".into(),
        ));
    }
    KeySet::signing_with(signing, others)
        .ok_or_else(|| ServiceError::Invalid("no active signing key in the database".into()))
}

/// Reloads the key set every `KEYS_RELOAD_SECONDS` until `shutdown` resolves, so a rotation
/// made by another instance or the CLI is picked up within that bound, and expired keys leave
/// the JWKS. With `KEY_ROTATION_DAYS`, it also schedules the next key when the signing key is
/// that old (minus the pre-publication time); of instances doing so at once, one wins.
pub async fn reload_periodically(state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    let period = Duration::from_secs(state.config.keys_reload_secs);
    let window = publication_window(&state.config);
    let state = &state;
    super::every(period, shutdown, || async move {
        if let Err(e) = rotate_if_due(state).await {
            tracing::warn!(error = %e, "could not schedule the next signing key; will try again");
        }
        // A client registered from the CLI may have asked for an algorithm with no key yet.
        let ensured = match algorithms_in_use(&state.db, &state.config).await {
            Ok(algs) => {
                ensure_signing_keys(&state.db, &state.clock, state.sealer.as_ref(), &algs).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = ensured {
            tracing::warn!(error = %e, "could not create a signing key; will try again");
        }
        if let Err(e) = reload(state, window).await {
            tracing::warn!(error = %e, "could not reload signing keys; keeping the current ones")
        }
    })
    .await;
}

/// Reads the key set from the database into the ring now.
async fn reload(state: &AppState, window: i64) -> Result<(), ServiceError> {
    let current = state.keys.current();
    let keys = load_key_set(
        &state.db,
        state.clock.now(),
        window,
        Some(&current),
        state.sealer.as_ref(),
    )
    .await?;
    for key in keys.signing_keys() {
        if current
            .signing(key.alg())
            .is_none_or(|k| k.kid() != key.kid())
        {
            tracing::info!(kid = %key.kid(), alg = %key.alg(), "now signing with a new key");
        }
    }
    state.keys.replace(keys);
    Ok(())
}

/// The key that signs `alg` tokens now. An algorithm a client was just given (from the CLI)
/// may have no key in this instance's set yet: then its key is created if needed and the set
/// reloaded, once, before giving up.
pub async fn signing_key(state: &AppState, alg: KeyAlg) -> Result<Arc<SigningKey>, ServiceError> {
    if let Some(key) = state.keys.current().signing(alg) {
        return Ok(key.clone());
    }
    ensure_signing_keys(&state.db, &state.clock, state.sealer.as_ref(), &[alg]).await?;
    reload(state, publication_window(&state.config)).await?;
    state
        .keys
        .current()
        .signing(alg)
        .cloned()
        .ok_or_else(|| ServiceError::Invalid(format!("no {alg} signing key is active yet")))
}

/// Withdraws a key at once: it leaves every instance's JWKS within `KEYS_RELOAD_SECONDS`,
/// and tokens it signed stop verifying. For a compromised key, after `keys rotate --now`
/// (the signing key itself cannot be withdrawn).
pub async fn withdraw(db: &Db, clock: &Clock, kid: &str) -> Result<(), ServiceError> {
    if !key_store::delete_retired_key(db, kid, clock.now()).await? {
        return Err(ServiceError::Invalid(format!(
            "no key {kid} that has stopped signing; to replace the signing key, run `keys rotate --now` first"
        )));
    }
    crate::audit!(warn, "key.withdrawn", kid);
    Ok(())
}

/// Schedules the next signing key when the current one has signed for `KEY_ROTATION_DAYS`
/// minus the pre-publication time and none is scheduled yet; returns its id if it did.
pub async fn rotate_if_due(state: &AppState) -> Result<Vec<String>, ServiceError> {
    let Some(max_age) = state.config.key_rotation_secs else {
        return Ok(Vec::new());
    };
    let now = state.clock.now();
    let prepublication = prepublication(&state.config);
    let keys = key_store::list_live_keys(&state.db, now).await?;
    let mut rotated = Vec::new();
    for alg in KeyAlg::ALL {
        let mine = || keys.iter().filter(|k| k.alg == alg.as_str());
        let scheduled = mine().any(|k| k.activates_at > now);
        let due = mine()
            .find(|k| k.activates_at <= now && k.retired_at.is_none())
            .is_some_and(|active| active.activates_at + max_age - prepublication <= now);
        if scheduled || !due {
            continue;
        }
        let stored = generate(alg, now, now + prepublication, state.sealer.as_ref()).await?;
        if !key_store::rotate_key(&state.db, &stored, Takeover::IfUnscheduled(now)).await? {
            continue;
        }
        crate::audit!(info, "key.rotated", kid = %stored.kid, %alg, activates_at = stored.activates_at, automatic = true);
        rotated.push(stored.kid);
    }
    Ok(rotated)
}

/// Seals, under `KEY_ENCRYPTION_KEY`, every stored private key still in clear (at start, once
/// the setting is added). Each row is replaced only if unchanged meanwhile.
pub async fn seal_stored_keys(db: &Db, sealer: &Sealer) -> Result<usize, ServiceError> {
    let mut sealed = 0;
    for key in key_store::list_keys(db).await? {
        if key.private_key.starts_with(SEALED) {
            continue;
        }
        let new = seal(&key.kid, &key.private_key, sealer)?;
        if key_store::replace_private_key(db, &key.kid, &key.private_key, &new).await? {
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(sealed, "signing keys sealed under KEY_ENCRYPTION_KEY");
    }
    Ok(sealed)
}

/// Sealed private keys start with this (a PKCS#8 DER document starts with 0x30).
const SEALED: &[u8] = b"sealed-v1:";

fn seal(kid: &str, der: &[u8], sealer: &Sealer) -> Result<Vec<u8>, ServiceError> {
    let mut out = SEALED.to_vec();
    out.extend(sealer.seal_bytes(der, &format!("signing-key:{kid}"))?);
    Ok(out)
}

fn unseal(row: &StoredKey, sealer: Option<&Sealer>) -> Result<Vec<u8>, ServiceError> {
    let Some(sealed) = row.private_key.strip_prefix(SEALED) else {
        return Ok(row.private_key.clone());
    };
    let sealer = sealer.ok_or_else(|| {
        ServiceError::Invalid(format!(
            "signing key {} is sealed: KEY_ENCRYPTION_KEY is needed to use it",
            row.kid
        ))
    })?;
    sealer
        .open_bytes(sealed, &format!("signing-key:{}", row.kid))
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "signing key {} does not open with this KEY_ENCRYPTION_KEY (was it changed?)",
                row.kid
            ))
        })
}

fn config_sealer(config: &Config) -> Result<Option<Sealer>, ServiceError> {
    Ok(config
        .key_encryption_key
        .as_ref()
        .map(Sealer::new)
        .transpose()?)
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

async fn generate(
    alg: KeyAlg,
    now: UnixTime,
    activates_at: UnixTime,
    sealer: Option<&Sealer>,
) -> Result<StoredKey, ServiceError> {
    // RSA key generation takes tens of milliseconds: keep it off the async workers.
    let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|_| crate::crypto::CryptoError::KeyGeneration)??;
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        alg: alg.as_str().into(),
        private_key: match sealer {
            Some(sealer) => seal(key.kid(), &der, sealer)?,
            None => der,
        },
        created_at: now,
        activates_at,
        retired_at: None,
    })
}
