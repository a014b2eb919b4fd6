//! OpenID Connect Back-Channel Logout 1.0 at the relying party: the provider POSTs a logout
//! token when a user's session there ends; we verify it and end our sessions of it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_auth::{JwksVerifier, VerifyError};
use serde_json::{Map, Value};

use crate::store::Ended;

/// §2.4: the member of `events` that makes a JWT a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Clock skew tolerated on `iat` (and, in the verifier, on `exp`).
const LEEWAY: Duration = Duration::from_secs(30);

/// Why a logout token was refused; the text is sent back as `error_description` (§2.8).
#[derive(Debug, thiserror::Error)]
pub enum LogoutTokenError {
    /// The request has no `logout_token`.
    #[error("logout_token is missing")]
    Missing,
    /// The signature, `iss`, `aud` or `exp` did not verify.
    #[error("{0}")]
    Jwt(#[from] VerifyError),
    /// The `typ` header is there and is not `logout+jwt`.
    #[error("the token's typ is not logout+jwt")]
    WrongType,
    /// `iat` is missing, not a number, or in the future.
    #[error("the token's iat is missing or in the future")]
    BadIssuedAt,
    /// `events` lacks the back-channel logout event (an object).
    #[error("the token is not a logout token (events)")]
    NotALogoutEvent,
    /// Neither `sid` nor `sub`.
    #[error("the token names neither sid nor sub")]
    NoSubject,
    /// §2.4: a `nonce` is forbidden, so that an ID token cannot pass for a logout token.
    #[error("the token has a nonce")]
    Nonce,
}

impl LogoutTokenError {
    /// Whether the failure is ours (the keys could not be fetched) rather than the token's.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Jwt(VerifyError::KeysUnavailable(_)))
    }
}

/// Verifies logout tokens: signed with the provider's keys, from its issuer, for our client id.
#[derive(Clone, Debug)]
pub struct LogoutTokenVerifier {
    jwks: JwksVerifier,
}

impl LogoutTokenVerifier {
    /// Checks tokens against `jwks` (issuer = the provider, audience = our client id).
    pub fn new(jwks: JwksVerifier) -> Self {
        Self { jwks }
    }

    /// §2.6: what a valid logout token ends.
    pub async fn verify(&self, token: &str) -> Result<Ended, LogoutTokenError> {
        // Unverified, but only ever used to refuse.
        let typ = jsonwebtoken::decode_header(token)
            .map_err(|_| VerifyError::Malformed)?
            .typ;
        check_type(typ.as_deref())?;
        let claims = self.jwks.verify(token).await?;
        check_claims(claims.as_map(), now())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Logout Token §2.4 (and RFC 8725 §3.11): `typ`, when present, is `logout+jwt` (with or
/// without the `application/` prefix, compared without case, RFC 7515 §4.1.9).
fn check_type(typ: Option<&str>) -> Result<(), LogoutTokenError> {
    match typ {
        None => Ok(()),
        Some(typ) => {
            let typ = typ.to_ascii_lowercase();
            let typ = typ.strip_prefix("application/").unwrap_or(&typ);
            if typ == "logout+jwt" {
                Ok(())
            } else {
                Err(LogoutTokenError::WrongType)
            }
        }
    }
}

/// §2.6 steps 3–6 on claims whose signature, `iss`, `aud` and `exp` are verified.
fn check_claims(claims: &Map<String, Value>, now: u64) -> Result<Ended, LogoutTokenError> {
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(LogoutTokenError::BadIssuedAt)?;
    if iat > now + LEEWAY.as_secs() {
        return Err(LogoutTokenError::BadIssuedAt);
    }
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(LogoutTokenError::NotALogoutEvent);
    }
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    // With a sid, only that session ends (the user may be signed in elsewhere too).
    match (text("sid"), text("sub")) {
        (Some(sid), _) => Ok(Ended::Session(sid)),
        (None, Some(sub)) => Ok(Ended::User(sub)),
        (None, None) => Err(LogoutTokenError::NoSubject),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{BACKCHANNEL_LOGOUT_EVENT, LogoutTokenError, check_claims, check_type};
    use crate::store::Ended;

    const NOW: u64 = 1_800_000_000;

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims = json!({
            "iss": "http://127.0.0.1:5002", "aud": "gateway", "iat": NOW, "exp": NOW + 120,
            "jti": "j", "sub": "u1", "sid": "s1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        for (name, value) in extra.as_object().into_iter().flatten() {
            if value.is_null() {
                claims.as_object_mut().map(|c| c.remove(name));
            } else {
                claims[name] = value.clone();
            }
        }
        claims.as_object().cloned().unwrap_or_default()
    }

    fn check(extra: Value) -> Result<Ended, LogoutTokenError> {
        check_claims(&claims(extra), NOW)
    }

    #[test]
    fn a_sid_ends_that_session_and_a_sub_alone_every_session() {
        assert_eq!(check(json!({})).ok(), Some(Ended::Session("s1".into())));
        assert_eq!(
            check(json!({ "sid": null })).ok(),
            Some(Ended::User("u1".into()))
        );
        assert!(matches!(
            check(json!({ "sid": null, "sub": null })),
            Err(LogoutTokenError::NoSubject)
        ));
    }

    #[test]
    fn refuses_what_is_not_a_logout_token() {
        assert!(matches!(
            check(json!({ "nonce": "n" })),
            Err(LogoutTokenError::Nonce)
        ));
        assert!(matches!(
            check(json!({ "events": null })),
            Err(LogoutTokenError::NotALogoutEvent)
        ));
        assert!(matches!(
            check(json!({ "events": { "http://example.com/other": {} } })),
            Err(LogoutTokenError::NotALogoutEvent)
        ));
        assert!(matches!(
            check(json!({ "events": { BACKCHANNEL_LOGOUT_EVENT: "yes" } })),
            Err(LogoutTokenError::NotALogoutEvent)
        ));
    }

    #[test]
    fn iat_is_required_and_not_in_the_future() {
        assert!(matches!(
            check(json!({ "iat": null })),
            Err(LogoutTokenError::BadIssuedAt)
        ));
        assert!(matches!(
            check(json!({ "iat": "now" })),
            Err(LogoutTokenError::BadIssuedAt)
        ));
        assert!(check(json!({ "iat": NOW + 30 })).is_ok());
        assert!(matches!(
            check(json!({ "iat": NOW + 31 })),
            Err(LogoutTokenError::BadIssuedAt)
        ));
    }

    #[test]
    fn typ_when_present_is_logout_jwt() {
        assert!(check_type(None).is_ok());
        assert!(check_type(Some("logout+jwt")).is_ok());
        assert!(check_type(Some("application/Logout+JWT")).is_ok());
        assert!(matches!(
            check_type(Some("JWT")),
            Err(LogoutTokenError::WrongType)
        ));
        assert!(matches!(
            check_type(Some("at+jwt")),
            Err(LogoutTokenError::WrongType)
        ));
    }
}
