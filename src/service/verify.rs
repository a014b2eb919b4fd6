//! Checking tokens we issued: `/verify`, `/introspect` and `/revoke` share this.

use serde_json::{Map, Value};

use crate::crypto::digest::fingerprint;
use crate::crypto::jwt;
use crate::oidc::claims::{self, ClaimsError, Expectations, Registered};
use crate::state::AppState;

use super::ServiceError;

/// Why a token did not verify, in the Flask version's four categories (DESIGN §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyFailure {
    /// Correctly signed but past `exp`.
    Expired,
    /// Correctly signed but not for the audience asked about.
    WrongAudience,
    /// Correctly signed but `iss` is not ours.
    WrongIssuer,
    /// Anything else: malformed, unknown key, bad signature, refused algorithm or header,
    /// revoked.
    Invalid,
}

/// Verifies `token` (signature by `kid`, `exp`, `nbf`, `iss`, and `aud` when given), then that
/// it was not revoked, and returns its claims.
pub async fn verify_token(
    state: &AppState,
    token: &str,
    audience: Option<&str>,
) -> Result<Result<Map<String, Value>, VerifyFailure>, ServiceError> {
    let checked = signed(state, token).and_then(|signed| {
        let claims = signed
            .into_claims()
            .map_err(|e| refused(token, "token payload refused", &e))?;
        let registered = Registered::from_map(&claims.claims);
        accept(state, token, &registered, claims.is_shared_key(), audience)?;
        Ok(claims.claims)
    });
    Ok(checked)
}

/// As [`verify_token`], answering the claims as the JSON object the token carries, without
/// reading every claim into a map (`/verify` passes them on as they are).
pub async fn verify_token_json(
    state: &AppState,
    token: &str,
    audience: Option<&str>,
) -> Result<Result<Vec<u8>, VerifyFailure>, ServiceError> {
    let checked = signed(state, token).and_then(|signed| {
        let registered = Registered::from_payload(&signed.payload)
            .map_err(|e| refused(token, "token claims refused", &e))?;
        accept(state, token, &registered, signed.is_shared_key(), audience)?;
        Ok(signed.payload)
    });
    Ok(checked)
}

/// The signature check, against our keys or the shared HS256 key.
fn signed(state: &AppState, token: &str) -> Result<jwt::SignedPayload, VerifyFailure> {
    let keys = state.keys.current();
    jwt::verify_payload(token, &keys, state.shared_key.as_ref())
        .map_err(|e| refused(token, "token signature refused", &e))
}

fn refused(token: &str, what: &'static str, reason: &dyn std::fmt::Display) -> VerifyFailure {
    tracing::debug!(token = %fingerprint(token), reason = %reason, "{what}");
    VerifyFailure::Invalid
}

/// The registered claims, the shared key's audiences, and revocation: no database round trip.
fn accept(
    state: &AppState,
    token: &str,
    claims: &Registered,
    shared_key: bool,
    audience: Option<&str>,
) -> Result<(), VerifyFailure> {
    let expect = Expectations {
        issuer: &state.config.issuer,
        audience,
        now: state.clock.now(),
        leeway: state.config.clock_skew_secs,
    };
    claims::validate(claims, &expect).map_err(|e| {
        tracing::debug!(token = %fingerprint(token), reason = %e, "token claims refused");
        match e {
            ClaimsError::Expired => VerifyFailure::Expired,
            ClaimsError::WrongAudience => VerifyFailure::WrongAudience,
            ClaimsError::WrongIssuer => VerifyFailure::WrongIssuer,
            ClaimsError::NotYetValid | ClaimsError::Malformed => VerifyFailure::Invalid,
        }
    })?;
    // Every holder of JWT_SECRET_KEY can make an HS256 token: it only counts for the audiences
    // that share that key (HS256_AUDIENCES), never as a token for anyone else.
    if shared_key
        && !claims
            .single_audience()
            .is_some_and(|a| state.config.hs256_audiences.iter().any(|h| h == a))
    {
        tracing::debug!(token = %fingerprint(token), "shared-key token for another audience");
        return Err(VerifyFailure::Invalid);
    }
    // Revocations are in the database for every instance, and in memory on each (kept in
    // step every second): no database round trip per verification.
    if let Some(jti) = claims.jti()
        && state.revocations.is_revoked(jti)
    {
        tracing::debug!(token = %fingerprint(token), "token revoked");
        return Err(VerifyFailure::Invalid);
    }
    Ok(())
}
