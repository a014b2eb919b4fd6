//! Checking tokens we issued: `/verify`, `/introspect` and `/revoke` share this.

use serde_json::{Map, Value};

use crate::crypto::digest::fingerprint;
use crate::crypto::jwt;
use crate::oidc::claims::{self, ClaimsError, Expectations};
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
    let claims = match signed_claims(state, token, audience) {
        Ok(claims) => claims,
        Err(failure) => return Ok(Err(failure)),
    };
    // Revocations are in the database for every instance, and in memory on each (kept in
    // step every second): no database round trip per verification.
    if let Some(jti) = claims.get("jti").and_then(Value::as_str)
        && state.revocations.is_revoked(jti)
    {
        tracing::debug!(token = %fingerprint(token), "token revoked");
        return Ok(Err(VerifyFailure::Invalid));
    }
    Ok(Ok(claims))
}

/// The signature and registered-claims checks, without a database round trip.
fn signed_claims(
    state: &AppState,
    token: &str,
    audience: Option<&str>,
) -> Result<Map<String, Value>, VerifyFailure> {
    let keys = state.keys.current();
    let verified = jwt::verify(token, &keys, state.shared_key.as_ref()).map_err(|e| {
        tracing::debug!(token = %fingerprint(token), reason = %e, "token signature refused");
        VerifyFailure::Invalid
    })?;
    let expect = Expectations {
        issuer: &state.config.issuer,
        audience,
        now: state.clock.now(),
        leeway: state.config.clock_skew_secs,
    };
    claims::validate(&verified.claims, &expect).map_err(|e| {
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
    if verified.is_shared_key() {
        let audience = verified.claims.get("aud").and_then(Value::as_str);
        if !audience.is_some_and(|a| state.config.hs256_audiences.iter().any(|h| h == a)) {
            tracing::debug!(token = %fingerprint(token), "shared-key token for another audience");
            return Err(VerifyFailure::Invalid);
        }
    }
    Ok(verified.claims)
}
