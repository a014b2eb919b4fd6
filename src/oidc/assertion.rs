//! JWT client assertions (RFC 7523 §2.2 and §3): what a verified assertion must say.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::clock::UnixTime;

/// `client_assertion_type` for JWT assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: it proves a client for one request, so a long-lived
/// one is a stolen credential waiting to happen.
pub const MAX_LIFETIME: i64 = 10 * 60;

/// Why an assertion's claims are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// `iss` and `sub` must both be the client id.
    #[error("iss and sub must be the client id")]
    Subject,
    /// `aud` must name our token endpoint or our issuer.
    #[error("aud must be the token endpoint or the issuer")]
    Audience,
    /// `exp` missing, past, or too far ahead.
    #[error("exp must be present, in the future, and at most 10 minutes ahead")]
    Expiry,
    /// `nbf` or `iat` in the future.
    #[error("not valid yet")]
    NotYetValid,
    /// `jti` missing.
    #[error("jti is required")]
    Jti,
}

/// The client id an assertion claims (its `sub`), read WITHOUT verification: only to find
/// which client's keys to verify it with.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// RFC 7523 §3 checks on a verified assertion; returns its `jti` and `exp` for replay tracking.
pub fn check(
    claims: &Map<String, Value>,
    client_id: &str,
    accepted_audiences: &[&str],
    now: UnixTime,
    leeway: i64,
) -> Result<(String, UnixTime), AssertionError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(AssertionError::Subject);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => accepted_audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| accepted_audiences.contains(&a))),
        _ => false,
    };
    if !audience_ok {
        return Err(AssertionError::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(AssertionError::Expiry)?;
    if exp < now.saturating_sub(leeway)
        || exp > now.saturating_add(MAX_LIFETIME).saturating_add(leeway)
    {
        return Err(AssertionError::Expiry);
    }
    for name in ["nbf", "iat"] {
        if claims
            .get(name)
            .and_then(Value::as_i64)
            .is_some_and(|t| t > now.saturating_add(leeway))
        {
            return Err(AssertionError::NotYetValid);
        }
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AssertionError::Jti)?;
    Ok((jti.to_owned(), exp))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rfc7523_claims() {
        let aud = ["https://id.example.com/token", "https://id.example.com"];
        let good = json!({"iss": "w", "sub": "w", "aud": "https://id.example.com/token", "exp": 1_100, "jti": "1"});
        assert_eq!(
            check(&claims(good), "w", &aud, 1_000, 30),
            Ok(("1".into(), 1_100))
        );
        let cases = [
            (
                json!({"iss": "x", "sub": "w", "aud": aud[0], "exp": 1_100, "jti": "1"}),
                AssertionError::Subject,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": "https://evil", "exp": 1_100, "jti": "1"}),
                AssertionError::Audience,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": aud[1], "exp": 900, "jti": "1"}),
                AssertionError::Expiry,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": aud[1], "exp": 9_000, "jti": "1"}),
                AssertionError::Expiry,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": aud[1], "jti": "1"}),
                AssertionError::Expiry,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": [aud[1]], "exp": 1_100}),
                AssertionError::Jti,
            ),
            (
                json!({"iss": "w", "sub": "w", "aud": aud[1], "exp": 1_100, "nbf": 1_200, "jti": "1"}),
                AssertionError::NotYetValid,
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(
                check(&claims(c.clone()), "w", &aud, 1_000, 30).err(),
                Some(expected),
                "{c}"
            );
        }
    }
}
