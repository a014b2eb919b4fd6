//! `/verify`: is this token ours, intact, current, and for this audience?

use serde_json::{Map, Value};

use crate::crypto::digest::fingerprint;
use crate::crypto::jwt;
use crate::oidc::claims::{self, ClaimsError, Expectations};
use crate::state::AppState;

/// Why a token did not verify, in the Flask version's four categories (DESIGN §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyFailure {
    /// Correctly signed but past `exp`.
    Expired,
    /// Correctly signed but not for the audience asked about.
    WrongAudience,
    /// Correctly signed but `iss` is not ours.
    WrongIssuer,
    /// Anything else: malformed, unknown key, bad signature, refused algorithm or header.
    Invalid,
}

/// Verifies `token` (signature by `kid`, `exp`, `nbf`, `iss`, and `aud` when given) and returns
/// its claims. Runs without a database round trip.
pub fn verify_token(
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
    Ok(verified.claims)
}
