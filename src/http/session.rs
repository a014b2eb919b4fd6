//! The typed browser session: who is signed in, the CSRF token, pending sign-in requests.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::clock::UnixTime;
use crate::crypto::random::random_token;
use crate::crypto::secret::constant_time_eq;
use crate::oidc::authorize::AuthorizationRequest;
use crate::service::authorize::SignedIn;

use super::error::ApiError;

/// Session key of the signed-in user.
pub const USER_KEY: &str = "user";
const CSRF_KEY: &str = "csrf";
const PENDING_KEY: &str = "pending";

/// A pending sign-in expires after this long on the login page.
const PENDING_TTL: i64 = 30 * 60;
/// At most this many sign-ins in flight per browser (tabs); the oldest is dropped.
const MAX_PENDING: usize = 10;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pending {
    request: AuthorizationRequest,
    created_at: UnixTime,
}

/// The browser session, with typed accessors instead of string keys at call sites.
#[derive(Clone, Debug)]
pub struct BrowserSession(Session);

impl<S: Send + Sync> FromRequestParts<S> for BrowserSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|_| ApiError::server_error("the session layer is missing"))
    }
}

type Result<T> = std::result::Result<T, tower_sessions::session::Error>;

impl BrowserSession {
    /// Who is signed in, if anyone.
    pub async fn signed_in(&self) -> Result<Option<SignedIn>> {
        self.0.get(USER_KEY).await
    }

    /// Records a sign-in under a NEW session id (session fixation: the id a browser had
    /// before signing in is never the one it has after).
    pub async fn sign_in(&self, user: &SignedIn) -> Result<()> {
        self.0.cycle_id().await?;
        self.0.insert(USER_KEY, user).await
    }

    /// Ends the session: deletes it from the store and expires the cookie.
    pub async fn sign_out(&self) -> Result<()> {
        self.0.flush().await
    }

    /// The session's CSRF token, created on first use.
    pub async fn csrf_token(&self) -> Result<String> {
        if let Some(token) = self.0.get::<String>(CSRF_KEY).await? {
            return Ok(token);
        }
        let token = random_token(32).map_err(|e| {
            tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(
                e.to_string(),
            ))
        })?;
        self.0.insert(CSRF_KEY, &token).await?;
        Ok(token)
    }

    /// Whether `presented` is this session's CSRF token (constant-time).
    pub async fn csrf_matches(&self, presented: Option<&str>) -> Result<bool> {
        let expected = self.0.get::<String>(CSRF_KEY).await?;
        Ok(match (expected, presented) {
            (Some(expected), Some(presented)) => {
                constant_time_eq(expected.as_bytes(), presented.as_bytes())
            }
            _ => false,
        })
    }

    /// Keeps a validated request while the user signs in; returns its handle for the form.
    pub async fn add_pending(
        &self,
        request: AuthorizationRequest,
        now: UnixTime,
    ) -> Result<String> {
        let mut pending = self.pending_map(now).await?;
        while pending.len() >= MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, p)| p.created_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => pending.remove(&key),
                None => break,
            };
        }
        let id = random_token(16).map_err(|e| {
            tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(
                e.to_string(),
            ))
        })?;
        pending.insert(
            id.clone(),
            Pending {
                request,
                created_at: now,
            },
        );
        self.0.insert(PENDING_KEY, &pending).await?;
        Ok(id)
    }

    /// The pending request with this handle, if it is still there.
    pub async fn pending(&self, id: &str, now: UnixTime) -> Result<Option<AuthorizationRequest>> {
        Ok(self.pending_map(now).await?.remove(id).map(|p| p.request))
    }

    /// Forgets a pending request (it was answered).
    pub async fn remove_pending(&self, id: &str, now: UnixTime) -> Result<()> {
        let mut pending = self.pending_map(now).await?;
        pending.remove(id);
        self.0.insert(PENDING_KEY, &pending).await
    }

    async fn pending_map(&self, now: UnixTime) -> Result<HashMap<String, Pending>> {
        let mut pending: HashMap<String, Pending> =
            self.0.get(PENDING_KEY).await?.unwrap_or_default();
        pending.retain(|_, p| now.saturating_sub(p.created_at) <= PENDING_TTL);
        Ok(pending)
    }
}
