//! Loading client registrations and authenticating clients at the token endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::crypto::KeyAlg;
use crate::crypto::digest::{token_hash, token_hash_matches};
use crate::crypto::jwt::{verify_with_client_keys, verify_with_secret};
use crate::oidc::assertion;
use crate::oidc::token::PresentedClient;
use crate::oidc::{
    AuthMethod, ClientId, ClientType, ErrorCode, OAuthError, RedirectUri, RedirectUriPolicy,
    Registration, ScopeSet,
};
use crate::state::AppState;
use crate::store::Db;
use crate::store::StoreError;
use crate::store::clients::{self as client_store, Client};

use super::ServiceError;

/// The client with this id, as a protocol registration.
pub async fn find_registration(
    db: &Db,
    client_id: &str,
) -> Result<Option<Registration>, ServiceError> {
    match client_store::find_client(db, client_id).await? {
        Some(client) => Ok(Some(registration(client)?)),
        None => Ok(None),
    }
}

/// Client registrations read recently, for client authentication on `/token`, `/introspect`
/// and `/revoke` without a database round trip per request.
///
/// An entry is stamped with the writes this process made to `clients` and the number of
/// changes to the database's `clients` generation seen so far; a changed stamp makes every
/// entry stale. This process's own changes (the CLI runs in another) count at once, other
/// instances' and the CLI's within [`CLIENT_SYNC_INTERVAL`]: a rotated secret or a removed
/// client stops working everywhere within a second.
#[derive(Debug, Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Stamp, Arc<Registration>)>>,
    /// The database generation last read.
    remote: Mutex<Option<i64>>,
    /// How many times it was found changed (the first read counts: entries read before it
    /// may predate a change it would show).
    remote_changes: AtomicU64,
}

/// What an entry was read under: (this process's writes, remote changes seen).
type Stamp = (u64, u64);

/// How often each instance reads the database's `clients` generation.
pub const CLIENT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Entries kept at most; past that the cache starts over (ids come from requests).
const CLIENT_CACHE_MAX: usize = 10_000;

impl ClientCache {
    fn stamp(&self) -> Stamp {
        (
            client_store::local_writes(),
            self.remote_changes.load(Ordering::SeqCst),
        )
    }

    fn get(&self, client_id: &str) -> Option<Arc<Registration>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (stamp, registration) = entries.get(client_id)?;
        (*stamp == self.stamp()).then(|| Arc::clone(registration))
    }

    fn put(&self, stamp: Stamp, registration: &Arc<Registration>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CLIENT_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            registration.id.as_str().to_owned(),
            (stamp, Arc::clone(registration)),
        );
    }

    /// Reads the database's `clients` generation; a change makes every entry stale.
    pub async fn sync(&self, db: &Db) -> Result<(), ServiceError> {
        let generation = client_store::clients_generation(db).await?;
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        if *remote != Some(generation) {
            self.remote_changes.fetch_add(1, Ordering::SeqCst);
            *remote = Some(generation);
        }
        Ok(())
    }
}

/// The registration of `client_id`, from the cache when it is current (hot paths: client
/// authentication, `/authorize`), shared with the cache.
pub async fn cached_registration(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Arc<Registration>>, ServiceError> {
    if let Some(found) = state.clients.get(client_id) {
        return Ok(Some(found));
    }
    // Stamped before reading: a change made meanwhile leaves the entry stale, not wrong.
    let stamp = state.clients.stamp();
    let found = find_registration(&state.db, client_id).await?.map(Arc::new);
    if let Some(registration) = &found {
        state.clients.put(stamp, registration);
    }
    Ok(found)
}

/// Keeps the client cache in step with the database until `stopped`.
pub async fn sync_cache(state: AppState, stopped: impl std::future::Future<Output = ()>) {
    let state = &state;
    super::every(CLIENT_SYNC_INTERVAL, stopped, || async move {
        // While the database is away nothing is cached anew either; entries stay.
        let _ = state.clients.sync(&state.db).await;
    })
    .await;
}

/// Parses a stored client; a value that does not parse is a corrupt row.
fn registration(c: Client) -> Result<Registration, ServiceError> {
    let corrupt = |what: &str| {
        ServiceError::Store(StoreError::Corrupt(format!(
            "client {}: {what}",
            c.client_id
        )))
    };
    Ok(Registration {
        id: ClientId::parse(&c.client_id).map_err(|_| corrupt("client_id"))?,
        client_type: c
            .client_type
            .parse::<ClientType>()
            .map_err(|_| corrupt("client_type"))?,
        auth_method: c
            .token_endpoint_auth_method
            .parse::<AuthMethod>()
            .map_err(|_| corrupt("auth method"))?,
        // Stored URIs were validated when registered; they are compared verbatim.
        redirect_uris: c
            .redirect_uris
            .iter()
            .map(|u| {
                RedirectUri::parse(u, RedirectUriPolicy::AllowHttpLoopback)
                    .map_err(|_| corrupt("redirect_uri"))
            })
            .collect::<Result<_, _>>()?,
        grant_types: c
            .grant_types
            .iter()
            .map(|g| g.parse().map_err(|_| corrupt("grant_types")))
            .collect::<Result<_, _>>()?,
        scopes: ScopeSet::parse(&c.scopes).map_err(|_| corrupt("scopes"))?,
        name: c.name,
        secret_hash: c.secret_hash,
        audiences: c.audiences,
        default_audience: c.default_audience,
        jwks: c.jwks,
        may_act_for: c.may_act_for,
        sealed_secret: c.sealed_secret,
        post_logout_redirect_uris: c
            .post_logout_redirect_uris
            .iter()
            .map(|u| {
                RedirectUri::parse(u, RedirectUriPolicy::AllowHttpLoopback)
                    .map_err(|_| corrupt("post_logout_redirect_uri"))
            })
            .collect::<Result<_, _>>()?,
        backchannel_logout_uri: c.backchannel_logout_uri,
        first_party: c.first_party,
        id_token_alg: c
            .id_token_alg
            .as_deref()
            .map(|a| KeyAlg::parse(a).ok_or_else(|| corrupt("id_token_signed_response_alg")))
            .transpose()?,
        access_token_alg: c
            .access_token_alg
            .as_deref()
            .map(|a| KeyAlg::parse(a).ok_or_else(|| corrupt("access_token_signed_response_alg")))
            .transpose()?,
    })
}

/// Logs the failure (the presented id Debug-quoted: it is the caller's input) and answers
/// `invalid_client` without saying which part was wrong.
fn invalid_client(credentials: &PresentedClient) -> ServiceError {
    crate::audit!(info, "client_auth.failed", client_id = ?credentials.id());
    ServiceError::OAuth(OAuthError::new(
        ErrorCode::InvalidClient,
        "client authentication failed",
    ))
}

/// Authenticates the client presenting `credentials` (RFC 6749 §2.3).
///
/// Confidential clients registered for `client_secret_basic` or `client_secret_post` may use
/// either (what most providers accept); the secret is checked against a SHA-256 in constant
/// time (DESIGN §8: never a password hash per request). Public clients present only their id.
pub async fn authenticate(
    state: &AppState,
    credentials: &PresentedClient,
) -> Result<Arc<Registration>, ServiceError> {
    let client = cached_registration(state, credentials.id()).await?;
    match (credentials, client) {
        (PresentedClient::Assertion { assertion, .. }, Some(client))
            if client.client_type == ClientType::Confidential
                && matches!(
                    client.auth_method,
                    AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt
                ) =>
        {
            match check_assertion(state, &client, assertion).await? {
                true => Ok(client),
                false => Err(invalid_client(credentials)),
            }
        }
        (
            PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. },
            Some(client),
        ) if client.client_type == ClientType::Confidential
            && matches!(
                client.auth_method,
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
            )
            && client
                .secret_hash
                .as_deref()
                .is_some_and(|h| token_hash_matches(h, secret)) =>
        {
            Ok(client)
        }
        (PresentedClient::Public { .. }, Some(client))
            if client.client_type == ClientType::Public =>
        {
            Ok(client)
        }
        (PresentedClient::Basic { secret, .. } | PresentedClient::Post { secret, .. }, None) => {
            // Same work as a known client, so timing does not tell which ids exist.
            let _ = token_hash(secret);
            Err(invalid_client(credentials))
        }
        _ => Err(invalid_client(credentials)),
    }
}

/// RFC 7523 §3: signed by one of the client's registered keys, `iss` = `sub` = the client,
/// `aud` = our token endpoint or issuer, a short `exp`, and a `jti` never seen before.
async fn check_assertion(
    state: &AppState,
    client: &Registration,
    assertion: &str,
) -> Result<bool, ServiceError> {
    let verified = match (
        client.auth_method,
        &client.jwks,
        &client.sealed_secret,
        &state.sealer,
    ) {
        (AuthMethod::PrivateKeyJwt, Some(jwks), _, _) => verify_with_client_keys(assertion, jwks),
        (AuthMethod::ClientSecretJwt, _, Some(sealed), Some(sealer)) => {
            match sealer.open(sealed, client.id.as_str()) {
                Some(secret) => verify_with_secret(assertion, &secret),
                None => {
                    tracing::error!(client_id = %client.id, "the client's sealed secret does not open: was KEY_ENCRYPTION_KEY changed?");
                    return Ok(false);
                }
            }
        }
        _ => return Ok(false),
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(client_id = %client.id, reason = %e, "client assertion signature refused");
            return Ok(false);
        }
    };
    let issuer = &state.config.issuer;
    let token_endpoint = issuer.endpoint("/token");
    let audiences = [token_endpoint.as_str(), issuer.as_str()];
    let now = state.clock.now();
    let (jti, exp) = match assertion::check(
        &verified.claims,
        client.id.as_str(),
        &audiences,
        now,
        state.config.clock_skew_secs,
    ) {
        Ok(found) => found,
        Err(e) => {
            tracing::info!(client_id = %client.id, reason = %e, "client assertion refused");
            return Ok(false);
        }
    };
    match client_store::insert_used_assertion(
        &state.db,
        client.id.as_str(),
        &jti,
        exp + state.config.clock_skew_secs,
    )
    .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => {
            crate::audit!(warn, "client_auth.assertion_replayed", client_id = %client.id);
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
