//! The gateway's browser session, typed: what a sign-in in progress keeps, who is signed in,
//! the form CSRF token, the state of a sign-out in progress. Kept server-side (the cookie holds
//! only the session id).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openidconnect::CsrfToken;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::GatewayError;
use crate::store::Ended;

const PENDING_LOGIN: &str = "pending_login";
const USER: &str = "user";
const CSRF: &str = "csrf";
const LOGOUT_STATE: &str = "logout_state";

/// A sign-in sent to the provider and not yet back.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent (CSRF protection of the callback).
    pub state: String,
    /// The `nonce` sent, to be found in the ID token.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
}

/// The signed-in user and their tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    /// `sub`: the provider's stable id for the user.
    pub subject: String,
    /// `preferred_username`: the login name.
    pub preferred_username: Option<String>,
    /// `name` (with the `profile` scope).
    pub name: Option<String>,
    /// `email` (with the `email` scope).
    pub email: Option<String>,
    /// The ID token, kept for `id_token_hint` at sign-out.
    pub id_token: String,
    /// The access token, sent to the resource server.
    pub access_token: String,
    /// The granted scopes, when the token response named them.
    pub scope: String,
    /// `sid`: the provider's session this sign-in came from, named again by its logout token.
    #[serde(default)]
    pub sid: Option<String>,
}

impl SignedIn {
    /// The name to show: the display name, else the login name, else the subject.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.preferred_username.as_deref())
            .unwrap_or(&self.subject)
    }
}

/// What a back-channel logout may name to end the session whose data is `data`: its provider
/// session and its user (none for a session nobody is signed in to).
pub fn signed_in_keys(data: &HashMap<String, serde_json::Value>) -> Vec<Ended> {
    /// The part of [`SignedIn`] the index needs.
    #[derive(Deserialize)]
    struct Named {
        subject: String,
        sid: Option<String>,
    }
    let Some(Ok(user)) = data.get(USER).map(Named::deserialize) else {
        return Vec::new();
    };
    let mut keys = vec![Ended::User(user.subject)];
    keys.extend(user.sid.map(Ended::Session));
    keys
}

/// The session of this request.
pub struct GatewaySession(Session);

impl<S: Send + Sync> FromRequestParts<S> for GatewaySession {
    type Rejection = <Session as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state).await.map(Self)
    }
}

impl GatewaySession {
    /// Who is signed in, if anyone.
    pub async fn user(&self) -> Result<Option<SignedIn>, GatewayError> {
        Ok(self.0.get(USER).await?)
    }

    /// Remembers a sign-in sent to the provider (one at a time: a newer one replaces it).
    pub async fn start_login(&self, pending: &PendingLogin) -> Result<(), GatewayError> {
        Ok(self.0.insert(PENDING_LOGIN, pending).await?)
    }

    /// The sign-in in progress, which can be finished only once.
    pub async fn take_pending_login(&self) -> Result<Option<PendingLogin>, GatewayError> {
        Ok(self.0.remove(PENDING_LOGIN).await?)
    }

    /// Signs `user` in, under a new session id (no session fixation).
    pub async fn sign_in(&self, user: &SignedIn) -> Result<(), GatewayError> {
        self.0.cycle_id().await?;
        self.0.remove_value(CSRF).await?;
        Ok(self.0.insert(USER, user).await?)
    }

    /// Ends the local session and returns who was signed in; a new session then holds only
    /// the `state` of the sign-out sent to the provider.
    pub async fn sign_out(
        &self,
        logout_state: &CsrfToken,
    ) -> Result<Option<SignedIn>, GatewayError> {
        let user = self.user().await?;
        self.0.flush().await?;
        self.0.insert(LOGOUT_STATE, logout_state.secret()).await?;
        Ok(user)
    }

    /// Whether `state` is the one our sign-out sent (once).
    pub async fn finish_logout(&self, state: &str) -> Result<bool, GatewayError> {
        let expected: Option<String> = self.0.get(LOGOUT_STATE).await?;
        let matches = expected.is_some_and(|expected| same(&expected, state));
        if matches {
            self.0.remove_value(LOGOUT_STATE).await?;
        }
        Ok(matches)
    }

    /// The token our forms carry, created on first use.
    pub async fn csrf_token(&self) -> Result<String, GatewayError> {
        if let Some(token) = self.0.get::<String>(CSRF).await? {
            return Ok(token);
        }
        let token = CsrfToken::new_random().secret().clone();
        self.0.insert(CSRF, &token).await?;
        Ok(token)
    }

    /// Whether a form posted the session's CSRF token.
    pub async fn check_csrf(&self, presented: &str) -> Result<bool, GatewayError> {
        let expected: Option<String> = self.0.get(CSRF).await?;
        Ok(expected.is_some_and(|expected| same(&expected, presented)))
    }
}

/// Equality whose time does not depend on where the strings differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn same_compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
