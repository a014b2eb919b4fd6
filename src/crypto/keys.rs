//! Signing keys: generated here, stored as PKCS#8, parsed once, identified by their thumbprint.
//!
//! Three algorithms: RS256 (the default, what every client library verifies), ES256 (ECDSA
//! P-256, ten times faster to sign) and EdDSA (Ed25519, faster still).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::CryptoError;
use super::digest::sha256;

/// The JWS algorithms our keys sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA-2048: the default; every OIDC library takes it.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl KeyAlg {
    /// Every algorithm, the default first.
    pub const ALL: [KeyAlg; 3] = [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa];

    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name` (exactly as JWS spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The same algorithm for `jsonwebtoken`.
    pub fn jws(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed private key.
enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key, parsed once (at start or rotation), never per token.
///
/// DESIGN §8: re-parsing an RSA key per signature halves throughput.
pub struct SigningKey {
    kid: String,
    alg: KeyAlg,
    pair: Pair,
    public_jwk: Value,
    /// The public key parsed once for our own verifications: parsing an RSA key per token
    /// (what `jsonwebtoken` does) recomputes its Montgomery constants every time.
    parsed: ParsedPublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key for `alg` and its PKCS#8 DER encoding (what the database keeps).
    pub fn generate(alg: KeyAlg) -> Result<(Self, Vec<u8>), CryptoError> {
        let failed = |_| CryptoError::KeyGeneration;
        let (pair, der) = match alg {
            KeyAlg::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der = pair.as_der().map_err(failed)?.as_ref().to_vec();
                (Pair::Rsa(pair), der)
            }
            KeyAlg::Es256 => {
                let pair =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
                let der = pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec();
                (Pair::Ec(pair), der)
            }
            KeyAlg::EdDsa => {
                let pair = Ed25519KeyPair::generate().map_err(failed)?;
                let der = pair.to_pkcs8().map_err(failed)?.as_ref().to_vec();
                (Pair::Ed(pair), der)
            }
        };
        let key = Self::from_pair(alg, pair).ok_or(CryptoError::KeyGeneration)?;
        Ok((key, der))
    }

    /// A new RSA-2048 key for RS256 and its PKCS#8 DER encoding.
    pub fn generate_rs256() -> Result<(Self, Vec<u8>), CryptoError> {
        Self::generate(KeyAlg::Rs256)
    }

    /// Parses a stored key of `alg`; it must be the key named `kid`.
    pub fn from_pkcs8(kid: &str, alg: KeyAlg, der: &[u8]) -> Result<Self, CryptoError> {
        let bad = || CryptoError::BadStoredKey {
            kid: kid.to_owned(),
        };
        let pair = match alg {
            KeyAlg::Rs256 => Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| bad())?),
            KeyAlg::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| bad())?,
            ),
            KeyAlg::EdDsa => Pair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| bad())?),
        };
        let key = Self::from_pair(alg, pair).ok_or_else(bad)?;
        if key.kid != kid {
            return Err(bad());
        }
        Ok(key)
    }

    /// The key with its JWK, thumbprint and verifying half; `None` if the public half does
    /// not have the expected shape (it always has, for keys aws-lc-rs parsed).
    fn from_pair(alg: KeyAlg, pair: Pair) -> Option<Self> {
        let parsed = match &pair {
            Pair::Rsa(pair) => {
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
            }
            Pair::Ec(pair) => {
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            }
            Pair::Ed(pair) => ParsedPublicKey::new(&ED25519, pair.public_key().as_ref()),
        }
        .ok()?;
        let (thumbprint_input, public_jwk) = match &pair {
            Pair::Rsa(pair) => {
                let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let n = URL_SAFE_NO_PAD.encode(&components.n);
                let e = URL_SAFE_NO_PAD.encode(&components.e);
                (
                    format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
                    json!({ "kty": "RSA", "n": n, "e": e }),
                )
            }
            Pair::Ec(pair) => {
                // The uncompressed point: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref().get(1..65)?;
                let (x, y) = point.split_at(32);
                let x = URL_SAFE_NO_PAD.encode(x);
                let y = URL_SAFE_NO_PAD.encode(y);
                (
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
                )
            }
            Pair::Ed(pair) => {
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                (
                    format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
                    json!({ "kty": "OKP", "crv": "Ed25519", "x": x }),
                )
            }
        };
        let kid = URL_SAFE_NO_PAD.encode(sha256(thumbprint_input.as_bytes()));
        let mut public_jwk = public_jwk;
        if let Some(members) = public_jwk.as_object_mut() {
            members.insert("use".into(), "sig".into());
            members.insert("alg".into(), alg.as_str().into());
            members.insert("kid".into(), kid.clone().into());
        }
        Some(Self {
            kid,
            alg,
            pair,
            public_jwk,
            parsed,
        })
    }

    /// The key id: its RFC 7638 JWK thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> KeyAlg {
        self.alg
    }

    /// The JWS algorithm this key signs with, for `jsonwebtoken`.
    pub fn algorithm(&self) -> Algorithm {
        self.alg.jws()
    }

    /// The public half as a JWK, as published in the JWKS.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// Whether `signature` is this key's JWS signature of `message` (the signing input).
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }

    /// Whether signing costs enough (RSA: ~0.35 ms) to belong on the blocking pool; ECDSA
    /// and Ed25519 take tens of microseconds, less than the hand-over would.
    pub fn is_slow(&self) -> bool {
        matches!(self.pair, Pair::Rsa(_))
    }

    /// Signs `message` (the JWS signing input): the JWS signature bytes.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(signature)
            }
            // The fixed encoding is JWS's: r and s, 32 bytes each (RFC 7518 §3.4).
            Pair::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| CryptoError::Signing)?
                .as_ref()
                .to_vec()),
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// RFC 7638 §3.2: the SHA-256 of the required members in lexicographic order, no whitespace.
#[cfg(test)]
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
    fn stored_keys_round_trip_with_their_kid() -> Result<(), CryptoError> {
        for alg in KeyAlg::ALL {
            let (key, der) = SigningKey::generate(alg)?;
            let again = SigningKey::from_pkcs8(key.kid(), alg, &der)?;
            assert_eq!(again.kid(), key.kid());
            assert_eq!(again.public_jwk(), key.public_jwk());
            assert_eq!(key.public_jwk()["alg"], alg.as_str());
            assert!(SigningKey::from_pkcs8("another-kid", alg, &der).is_err());
            assert!(SigningKey::from_pkcs8(key.kid(), alg, b"garbage").is_err());
        }
        Ok(())
    }

    #[test]
    fn a_stored_key_parses_only_as_its_own_algorithm() -> Result<(), CryptoError> {
        let (rsa, der) = SigningKey::generate(KeyAlg::Rs256)?;
        assert!(SigningKey::from_pkcs8(rsa.kid(), KeyAlg::Es256, &der).is_err());
        assert!(SigningKey::from_pkcs8(rsa.kid(), KeyAlg::EdDsa, &der).is_err());
        Ok(())
    }

    #[test]
    fn rfc8037_okp_thumbprint() {
        // RFC 8037 Appendix A.3: the thumbprint of the example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes())),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
