//! The issuer's verification keys, each with the one algorithm it may verify.

use std::collections::HashMap;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// A key from the JWKS and the algorithm it is for.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    /// The public key.
    pub(crate) decoding: DecodingKey,
    /// The only algorithm a token verified with this key may name.
    pub(crate) algorithm: Algorithm,
}

/// The usable keys of one JWKS document, by `kid`.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    /// The usable keys of a JWKS document (RFC 7517 §5). A key that cannot be used is skipped
    /// (and logged), not fatal: a provider may publish keys for other purposes beside ours.
    pub(crate) fn from_document(document: &Value) -> Result<Self, String> {
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no \"keys\" array")?;
        let mut keys = HashMap::new();
        for entry in entries {
            let jwk: Jwk = match serde_json::from_value(entry.clone()) {
                Ok(jwk) => jwk,
                Err(error) => {
                    tracing::debug!(%error, "JWKS entry skipped: not a JWK we understand");
                    continue;
                }
            };
            let kid = jwk.common.key_id.clone();
            match usable(&jwk) {
                Ok(key) => match kid {
                    Some(kid) if !keys.contains_key(&kid) => {
                        keys.insert(kid, key);
                    }
                    Some(kid) => tracing::warn!(kid, "JWKS entry skipped: duplicate kid"),
                    None => tracing::debug!("JWKS entry skipped: no kid"),
                },
                Err(reason) => tracing::debug!(?kid, reason, "JWKS entry skipped"),
            }
        }
        Ok(Self { keys })
    }

    /// The key named `kid`.
    pub(crate) fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// How many keys there are.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A JWK as a verification key, or why it cannot be one.
fn usable(jwk: &Jwk) -> Result<VerifyingKey, &'static str> {
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("\"use\" is not \"sig\""),
    }
    if let Some(operations) = &jwk.common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return Err("\"key_ops\" lacks \"verify\"");
    }
    let algorithm = algorithm_for(jwk)?;
    let decoding = DecodingKey::from_jwk(jwk).map_err(|_| "malformed key material")?;
    Ok(VerifyingKey {
        decoding,
        algorithm,
    })
}

/// The kind of public key, as far as the algorithm depends on it.
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// The algorithm a key verifies: its `alg` when it has one (and it fits the key), otherwise
/// the usual one for its type (RFC 7518 §3.1). Symmetric (`oct`) keys are never usable: a
/// secret in a public document is no secret, and accepting one is how HS256 forgeries work.
fn algorithm_for(jwk: &Jwk) -> Result<Algorithm, &'static str> {
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return Err("unsupported curve"),
        },
        AlgorithmParameters::OctetKeyPair(params) => match params.curve {
            EllipticCurve::Ed25519 => KeyKind::Ed25519,
            _ => return Err("unsupported curve"),
        },
        AlgorithmParameters::OctetKey(_) => return Err("a symmetric key"),
        _ => return Err("unsupported key type"),
    };
    let Some(named) = jwk.common.key_algorithm else {
        return Ok(match kind {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::P256 => Algorithm::ES256,
            KeyKind::P384 => Algorithm::ES384,
            KeyKind::Ed25519 => Algorithm::EdDSA,
        });
    };
    let fits = match kind {
        KeyKind::Rsa => matches!(
            named,
            KeyAlgorithm::RS256
                | KeyAlgorithm::RS384
                | KeyAlgorithm::RS512
                | KeyAlgorithm::PS256
                | KeyAlgorithm::PS384
                | KeyAlgorithm::PS512
        ),
        KeyKind::P256 => named == KeyAlgorithm::ES256,
        KeyKind::P384 => named == KeyAlgorithm::ES384,
        KeyKind::Ed25519 => named == KeyAlgorithm::EdDSA,
    };
    if !fits {
        return Err("its \"alg\" does not fit its key type");
    }
    Algorithm::try_from(named).map_err(|_| "unsupported \"alg\"")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const RSA_N: &str = "17UbDvWWBzdxNpD-Ne-PKjfl-4keJbqo2D1JxVYHItsNRBuY8r1jHGQme4dbDIRMhwveOwHpJx_nI1hiFMSXCnLfojve3dLnq7roCJEp9CppnkJmxO929vQRkQYMWsE-IE2znMMRHO79dLvvtyPpyCJnuD0Gfh2zY95bqO90akvfY4HlFVdbgMjdTSlW8nHDxm3jwv6_ZRnZX3Ck8z3ckrCUd3AEy5N8s6SgsbtMcyIUWGo7IDVGibiAnjyI7ud1LrtX1r8CvZxqoDhaIbQitkzxdES-wJ3lHDpr4XBG7ZHuWIMaJBskNrxWyrfQ4V3MbXeScMlb70AdSxMHcO7QDw";

    fn rsa(extra: Value) -> Value {
        let mut key = json!({"kty": "RSA", "kid": "r", "n": RSA_N, "e": "AQAB"});
        if let (Some(key), Some(extra)) = (key.as_object_mut(), extra.as_object()) {
            key.extend(extra.clone());
        }
        key
    }

    fn algorithm_of(key: Value) -> Option<Algorithm> {
        let set = KeySet::from_document(&json!({ "keys": [key] })).expect("a JWKS");
        set.get("r").map(|k| k.algorithm)
    }

    #[test]
    fn an_rsa_key_without_alg_verifies_rs256() {
        assert_eq!(algorithm_of(rsa(json!({}))), Some(Algorithm::RS256));
    }

    #[test]
    fn the_keys_alg_wins_when_it_fits() {
        assert_eq!(
            algorithm_of(rsa(json!({"alg": "PS256"}))),
            Some(Algorithm::PS256)
        );
    }

    #[test]
    fn an_alg_that_does_not_fit_the_key_makes_it_unusable() {
        assert_eq!(algorithm_of(rsa(json!({"alg": "HS256"}))), None);
        assert_eq!(algorithm_of(rsa(json!({"alg": "ES256"}))), None);
    }

    #[test]
    fn encryption_keys_are_skipped() {
        assert_eq!(algorithm_of(rsa(json!({"use": "enc"}))), None);
        assert_eq!(algorithm_of(rsa(json!({"key_ops": ["encrypt"]}))), None);
    }

    #[test]
    fn symmetric_keys_are_never_usable() {
        let key =
            json!({"kty": "oct", "kid": "r", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256"});
        assert_eq!(algorithm_of(key), None);
    }

    #[test]
    fn one_bad_entry_does_not_spoil_the_others() {
        let document = json!({"keys": [{"kty": "nonsense"}, {"kty": "RSA"}, rsa(json!({}))]});
        let set = KeySet::from_document(&document).expect("a JWKS");
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(KeySet::from_document(&json!({"issuer": "x"})).is_err());
    }
}
