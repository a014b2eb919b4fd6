//! Signing keys: generated here, stored as PKCS#8, parsed once, identified by their thumbprint.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};

use super::CryptoError;
use super::digest::sha256;

/// A private signing key, parsed once (at start or rotation), never per token.
///
/// DESIGN §8: re-parsing an RSA key per signature halves throughput.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    public_jwk: Value,
    verifying: DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA-2048 key for RS256 and its PKCS#8 DER encoding (what the database keeps).
    pub fn generate_rs256() -> Result<(Self, Vec<u8>), CryptoError> {
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| CryptoError::KeyGeneration)?;
        let der = pair
            .as_der()
            .map_err(|_| CryptoError::KeyGeneration)?
            .as_ref()
            .to_vec();
        Ok((Self::from_pair(pair), der))
    }

    /// Parses a stored RS256 key; `kid` only names it in the error.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, CryptoError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::BadStoredKey {
            kid: kid.to_owned(),
        })?;
        let key = Self::from_pair(pair);
        if key.kid != kid {
            return Err(CryptoError::BadStoredKey {
                kid: kid.to_owned(),
            });
        }
        Ok(key)
    }

    fn from_pair(pair: RsaKeyPair) -> Self {
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let n = URL_SAFE_NO_PAD.encode(&components.n);
        let e = URL_SAFE_NO_PAD.encode(&components.e);
        let kid = rsa_thumbprint(&n, &e);
        let public_jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": n,
            "e": e,
        });
        let verifying = DecodingKey::from_rsa_raw_components(&components.n, &components.e);
        Self {
            kid,
            pair,
            public_jwk,
            verifying,
        }
    }

    /// The key id: its RFC 7638 JWK thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }

    /// The public half as a JWK, as published in the JWKS.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The public half, for verifying tokens this key signed.
    pub fn verifying_key(&self) -> &DecodingKey {
        &self.verifying
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .map_err(|_| CryptoError::Signing)?;
        Ok(signature)
    }
}

/// RFC 7638 §3.2: the SHA-256 of the required members in lexicographic order, no whitespace.
fn rsa_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1 example key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn stored_key_round_trips_with_its_kid() -> Result<(), CryptoError> {
        let (key, der) = SigningKey::generate_rs256()?;
        let again = SigningKey::from_pkcs8(key.kid(), &der)?;
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert!(SigningKey::from_pkcs8("another-kid", &der).is_err());
        assert!(SigningKey::from_pkcs8(key.kid(), b"garbage").is_err());
        Ok(())
    }
}
