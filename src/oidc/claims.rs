//! Token claims: what we put in the tokens we sign, and the checks on the ones we receive.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Issuer;
use crate::clock::UnixTime;

/// The claims of a bearer token we issue (RFC 7519 §4.1; RFC 9068 §2.2 for access tokens).
#[derive(Clone, Debug, Serialize)]
pub struct TokenClaims {
    /// Our issuer.
    pub iss: String,
    /// The subject: a user's stable id, or a client's id for its own tokens.
    pub sub: String,
    /// The one audience the token is for (a plain string: existing services compare with `==`).
    pub aud: String,
    /// Issued at.
    pub iat: UnixTime,
    /// Expiry.
    pub exp: UnixTime,
    /// A unique id, for revocation and replay detection.
    pub jti: String,
    /// RFC 9068: the client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated granted scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the user signed in (user tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    /// The browser session (user tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// RFC 8693 §4.1: the client acting on behalf of `sub`, when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// The `act` claim: who is acting.
#[derive(Clone, Debug, Serialize)]
pub struct Actor {
    /// The acting client.
    pub sub: String,
}

/// The ID token (OIDC Core §2, §3.1.3.6).
#[derive(Clone, Debug, Serialize)]
pub struct IdTokenClaims {
    /// Our issuer.
    pub iss: String,
    /// The user's stable id.
    pub sub: String,
    /// The client id, as a plain string (existing gateways compare it with `==`).
    pub aud: String,
    /// Expiry.
    pub exp: UnixTime,
    /// Issued at.
    pub iat: UnixTime,
    /// When the user signed in.
    pub auth_time: UnixTime,
    /// The client's nonce, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Binds the access token issued with it (§3.1.3.6).
    pub at_hash: String,
    /// The browser session, for logout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The user's claims for the granted scopes.
    #[serde(flatten)]
    pub profile: UserClaims,
}

/// Claims about the user, released by scope (OIDC Core §5.4).
#[derive(Clone, Debug, Default, Serialize)]
pub struct UserClaims {
    /// The login name. Always released: the platform's services display it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Display name (`profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address (`email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether it is verified (`email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// OIDC Core §3.1.3.6: the base64url of the left half of the hash of the access token, the
/// hash being the ID token's algorithm's: SHA-256 for RS256 and ES256, and for EdDSA with
/// Ed25519 the SHA-512 that Ed25519 uses (as the certified providers do).
pub fn at_hash(access_token: &str, id_token_alg: crate::crypto::KeyAlg) -> String {
    use crate::crypto::digest::{sha256, sha512};
    use base64::Engine;
    let encode = |half: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(half);
    match id_token_alg {
        crate::crypto::KeyAlg::EdDsa => {
            let digest = sha512(access_token.as_bytes());
            encode(digest.get(..32).unwrap_or_default())
        }
        _ => {
            let digest = sha256(access_token.as_bytes());
            encode(digest.get(..16).unwrap_or_default())
        }
    }
}

/// What a presented token must satisfy, besides its signature.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    /// Our issuer: `iss` must equal it.
    pub issuer: &'a Issuer,
    /// When set, `aud` must be or contain it.
    pub audience: Option<&'a str>,
    /// The current time.
    pub now: UnixTime,
    /// Allowed clock skew in seconds, applied to `exp` and `nbf`.
    pub leeway: i64,
}

/// Why a correctly signed token is not acceptable now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `aud` does not contain the expected audience.
    #[error("invalid audience")]
    WrongAudience,
    /// `iss` is not ours.
    #[error("invalid issuer")]
    WrongIssuer,
    /// A registered claim is missing (`exp`) or has the wrong type.
    #[error("malformed claims")]
    Malformed,
}

/// The registered claims a check reads (RFC 7519 §4.1), each as found: read straight from a
/// payload's bytes, without building a map of every claim, or taken from such a map.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Registered {
    #[serde(default, deserialize_with = "present")]
    exp: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    iat: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    nbf: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    aud: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    iss: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    jti: Option<Value>,
}

/// A member that is there counts, even as `null` (which is then malformed, as in a map).
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(value).map(Some)
}

impl Registered {
    /// Reads them from a payload, which must be one JSON object in UTF-8 (a claim named twice
    /// among these is malformed). The parser checks the syntax of the claims it skips, but not
    /// their UTF-8, hence the check first: a payload that passes can be sent on as it is.
    pub fn from_payload(payload: &[u8]) -> Result<Self, ClaimsError> {
        let text = std::str::from_utf8(payload).map_err(|_| ClaimsError::Malformed)?;
        if !text.trim_start().starts_with('{') {
            return Err(ClaimsError::Malformed);
        }
        serde_json::from_str(text).map_err(|_| ClaimsError::Malformed)
    }

    /// Takes them from a payload already read into a map.
    pub fn from_map(claims: &Map<String, Value>) -> Self {
        let get = |name: &str| claims.get(name).cloned();
        Self {
            exp: get("exp"),
            iat: get("iat"),
            nbf: get("nbf"),
            aud: get("aud"),
            iss: get("iss"),
            jti: get("jti"),
        }
    }

    /// `jti`, when it is a string.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_ref().and_then(Value::as_str)
    }

    /// `aud`, when it is one string (not a list).
    pub fn single_audience(&self) -> Option<&str> {
        self.aud.as_ref().and_then(Value::as_str)
    }
}

/// Checks the registered claims of a verified token, in the order PyJWT (which the Flask
/// version used) does: `exp`, `iat`, `nbf`, `aud`, `iss`, so errors read the same as before.
pub fn validate(claims: &Registered, expect: &Expectations<'_>) -> Result<(), ClaimsError> {
    let exp = numeric_date(claims.exp.as_ref())?.ok_or(ClaimsError::Malformed)?;
    if expect.now > exp.saturating_add(expect.leeway) {
        return Err(ClaimsError::Expired);
    }
    for date in [&claims.iat, &claims.nbf] {
        if let Some(t) = numeric_date(date.as_ref())?
            && t > expect.now.saturating_add(expect.leeway)
        {
            return Err(ClaimsError::NotYetValid);
        }
    }
    if let Some(wanted) = expect.audience {
        let ok = match &claims.aud {
            Some(Value::String(aud)) => aud == wanted,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(wanted)),
            _ => false,
        };
        if !ok {
            return Err(ClaimsError::WrongAudience);
        }
    }
    match &claims.iss {
        Some(Value::String(iss)) if iss == expect.issuer.as_str() => Ok(()),
        _ => Err(ClaimsError::WrongIssuer),
    }
}

/// RFC 7519 §2 NumericDate: a JSON number of seconds, possibly fractional.
fn numeric_date(value: Option<&Value>) -> Result<Option<UnixTime>, ClaimsError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(ClaimsError::Malformed),
        Some(_) => Err(ClaimsError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Checks `v` read both ways (from the payload's bytes and from a map), which must agree.
    fn check(v: &Value, expect: &Expectations<'_>) -> Result<(), ClaimsError> {
        let map = match v {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let from_map = validate(&Registered::from_map(&map), expect);
        let bytes = serde_json::to_vec(v).unwrap_or_default();
        let from_payload = Registered::from_payload(&bytes).and_then(|r| validate(&r, expect));
        assert_eq!(from_map, from_payload, "{v}");
        from_payload
    }

    #[test]
    fn checks_in_order_with_leeway() -> Result<(), super::super::issuer::IssuerError> {
        let issuer = Issuer::parse("https://id.example.com")?;
        let expect = Expectations {
            issuer: &issuer,
            audience: Some("svc"),
            now: 1_000,
            leeway: 30,
        };
        let ok = json!({"iss": "https://id.example.com", "aud": "svc", "exp": 1_500, "iat": 900});
        assert_eq!(check(&ok, &expect), Ok(()));

        let within_leeway = json!({"iss": "https://id.example.com", "exp": 980});
        assert_eq!(
            check(
                &within_leeway,
                &Expectations {
                    audience: None,
                    ..expect
                }
            ),
            Ok(())
        );

        let cases = [
            (
                json!({"iss": "https://id.example.com", "aud": "svc", "exp": 969}),
                ClaimsError::Expired,
            ),
            (
                json!({"iss": "x", "aud": "x", "exp": 969}),
                ClaimsError::Expired,
            ),
            (
                json!({"iss": "https://id.example.com", "aud": "svc", "exp": 2_000, "nbf": 1_031}),
                ClaimsError::NotYetValid,
            ),
            (
                json!({"iss": "https://id.example.com", "aud": "other", "exp": 2_000}),
                ClaimsError::WrongAudience,
            ),
            (
                json!({"iss": "https://id.example.com", "exp": 2_000}),
                ClaimsError::WrongAudience,
            ),
            (
                json!({"iss": "https://evil.example.com", "aud": ["a", "svc"], "exp": 2_000}),
                ClaimsError::WrongIssuer,
            ),
            (
                json!({"iss": "https://id.example.com", "aud": "svc"}),
                ClaimsError::Malformed,
            ),
            (
                json!({"iss": "https://id.example.com", "aud": "svc", "exp": "2000"}),
                ClaimsError::Malformed,
            ),
            // Present as null is not absent.
            (
                json!({"iss": "https://id.example.com", "aud": "svc", "exp": 2_000, "nbf": null}),
                ClaimsError::Malformed,
            ),
            (
                json!({"iss": null, "aud": "svc", "exp": 2_000}),
                ClaimsError::WrongIssuer,
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(check(&c, &expect), Err(expected), "{c}");
        }
        Ok(())
    }

    #[test]
    fn a_payload_must_be_one_object_without_repeated_registered_claims() {
        for payload in [
            &br#"[1500, 900]"#[..],
            br#""exp""#,
            br#"{"exp": 1500, "exp": 99999999999}"#,
            br#"{"exp": 1500} {}"#,
            br#"{"exp": 1500"#,
            b"{\"exp\": 1500, \"x\": \"\xff\"}",
            br#"{"exp": 1500, "x": "\q"}"#,
            b"",
        ] {
            assert!(
                Registered::from_payload(payload).is_err(),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert!(Registered::from_payload(br#" {"exp": 1500, "x": [1, {"y": null}]}"#).is_ok());
    }
}
