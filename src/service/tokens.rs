//! Signing the tokens we issue: which key signs for which audience, and the dev test token.

use std::sync::Arc;

use serde::Serialize;

use crate::crypto::jwt::{self, SharedKey, Signer, TokenType};
use crate::crypto::random::random_token;
use crate::crypto::{CryptoError, KeyAlg, SigningKey};
use crate::oidc::claims::TokenClaims;
use crate::oidc::{OAuthError, ScopeSet};
use crate::state::AppState;

use super::ServiceError;

/// `/test-token` lifetime when the request names none (DESIGN §2: 30 minutes).
pub const TEST_TOKEN_DEFAULT_TTL_SECS: i64 = 30 * 60;
/// The longest `/test-token` lifetime a developer may ask for.
pub const TEST_TOKEN_MAX_TTL_SECS: i64 = 24 * 60 * 60;

/// The key a token will be signed with, owned, so that the signing can move to the blocking
/// pool.
#[derive(Clone)]
pub enum TokenSigner {
    /// One of our signing keys; the token carries its `kid`.
    Key(Arc<SigningKey>),
    /// `JWT_SECRET_KEY`, for the audiences in `HS256_AUDIENCES`.
    Shared(SharedKey),
}

impl TokenSigner {
    /// HS256 with `JWT_SECRET_KEY` when `audience` is listed in `HS256_AUDIENCES` (services
    /// that verify with a shared secret), else the signing key of `alg`.
    pub async fn for_audience(
        state: &AppState,
        audience: &str,
        alg: KeyAlg,
    ) -> Result<Self, ServiceError> {
        if let Some(shared) = &state.shared_key
            && state.config.hs256_audiences.iter().any(|a| a == audience)
        {
            return Ok(Self::Shared(shared.clone()));
        }
        Self::key(state, alg).await
    }

    /// The signing key of `alg`.
    pub async fn key(state: &AppState, alg: KeyAlg) -> Result<Self, ServiceError> {
        Ok(Self::Key(super::keys::signing_key(state, alg).await?))
    }

    /// Whether signing costs enough (RSA: ~0.35 ms of CPU) to belong on the blocking pool.
    pub fn is_slow(&self) -> bool {
        matches!(self, Self::Key(key) if key.is_slow())
    }

    /// Signs `claims`, on the blocking pool when the key is slow (see [`off_the_runtime`]).
    pub async fn sign_off_runtime<C: Serialize + Send + 'static>(
        self,
        typ: TokenType,
        claims: C,
    ) -> Result<String, ServiceError> {
        off_the_runtime(self.is_slow(), move || self.sign(typ, &claims)).await
    }

    /// Signs `claims` as a compact JWS, here and now.
    pub fn sign(&self, typ: TokenType, claims: &impl Serialize) -> Result<String, CryptoError> {
        match self {
            Self::Key(key) => jwt::sign(Signer::Key(key), typ, claims),
            Self::Shared(key) => jwt::sign(Signer::Shared(key), typ, claims),
        }
    }
}

/// Runs `signing` on the blocking pool when `slow` (RSA), where it cannot hold up other
/// requests; else here, which is cheaper than the hand-over. One hand-over for all the
/// tokens of a response.
pub async fn off_the_runtime<T: Send + 'static>(
    slow: bool,
    signing: impl FnOnce() -> Result<T, CryptoError> + Send + 'static,
) -> Result<T, ServiceError> {
    if !slow {
        return Ok(signing()?);
    }
    Ok(tokio::task::spawn_blocking(signing)
        .await
        .map_err(|_| CryptoError::Signing)??)
}

/// Signs `claims` for `audience` (see [`TokenSigner::for_audience`]).
pub async fn sign_for_audience<C: Serialize + Send + 'static>(
    state: &AppState,
    audience: &str,
    alg: KeyAlg,
    typ: TokenType,
    claims: C,
) -> Result<String, ServiceError> {
    TokenSigner::for_audience(state, audience, alg)
        .await?
        .sign_off_runtime(typ, claims)
        .await
}

/// Signs `claims` with the signing key of `alg` (with its `kid`).
pub async fn sign_with_key<C: Serialize + Send + 'static>(
    state: &AppState,
    alg: KeyAlg,
    typ: TokenType,
    claims: C,
) -> Result<String, ServiceError> {
    TokenSigner::key(state, alg)
        .await?
        .sign_off_runtime(typ, claims)
        .await
}

/// What a developer may override on `/test-token`.
#[derive(Debug, Default)]
pub struct TestTokenRequest {
    /// Subject (default `testuser`).
    pub sub: Option<String>,
    /// Audience (default `logging-service`).
    pub aud: Option<String>,
    /// Scope (default `openid`).
    pub scope: Option<String>,
    /// Lifetime in minutes (default 30, at most 1440).
    pub ttl_minutes: Option<String>,
}

/// Mints the dev-mode test token (DESIGN §2). The caller makes sure dev mode is on.
pub async fn mint_test_token(
    state: &AppState,
    request: TestTokenRequest,
) -> Result<String, ServiceError> {
    let sub = claim_value("sub", request.sub, "testuser")?;
    let aud = claim_value("aud", request.aud, "logging-service")?;
    let scope = ScopeSet::parse(request.scope.as_deref().unwrap_or("openid"))
        .map_err(|e| OAuthError::invalid_request(format!("scope: {e}")))?;
    let ttl = match request.ttl_minutes.as_deref() {
        None | Some("") => TEST_TOKEN_DEFAULT_TTL_SECS,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .map(|m| m * 60)
            .filter(|s| (60..=TEST_TOKEN_MAX_TTL_SECS).contains(s))
            .ok_or_else(|| OAuthError::invalid_request("ttl: expected minutes from 1 to 1440"))?,
    };
    let now = state.clock.now();
    let claims = TokenClaims {
        iss: state.config.issuer.as_str().to_owned(),
        sub,
        aud: aud.clone(),
        iat: now,
        exp: now + ttl,
        jti: random_token(16)?,
        client_id: None,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        auth_time: None,
        sid: None,
        act: None,
    };
    sign_for_audience(state, &aud, KeyAlg::Rs256, TokenType::Jwt, claims).await
}

fn claim_value(name: &str, value: Option<String>, default: &str) -> Result<String, OAuthError> {
    let value = value.unwrap_or_else(|| default.to_owned());
    if value.is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
        return Err(OAuthError::invalid_request(format!(
            "{name}: expected 1 to 255 printable characters"
        )));
    }
    Ok(value)
}
