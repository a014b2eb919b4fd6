//! JWS compact serialisation: signing with keys parsed once, verifying against an allow-list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{CryptoError, KeySet, SecretString, SigningKey};

/// Tokens longer than this are refused before any parsing (ours are well under 2 KiB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The `typ` header of a token we sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// A generic JWT (ID tokens, the dev test token, HS256 service tokens).
    Jwt,
    /// RFC 9068 §2.1: JWT access tokens carry `typ: at+jwt`.
    AccessToken,
    /// Back-Channel Logout 1.0 §2.4: logout tokens carry `typ: logout+jwt`.
    LogoutToken,
}

impl TokenType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "JWT",
            Self::AccessToken => "at+jwt",
            Self::LogoutToken => "logout+jwt",
        }
    }
}

/// The shared HS256 key (`JWT_SECRET_KEY`), used only for the audiences in `HS256_AUDIENCES`.
#[derive(Clone)]
pub struct SharedKey {
    /// Shared, not copied: cloning an HMAC key copies its contexts, and the key travels in
    /// the application state every request clones.
    signing: std::sync::Arc<aws_lc_rs::hmac::Key>,
}

impl std::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKey([redacted])")
    }
}

impl SharedKey {
    /// The key for `secret`.
    pub fn new(secret: &SecretString) -> Result<Self, CryptoError> {
        let bytes = secret.expose().as_bytes();
        Ok(Self {
            signing: std::sync::Arc::new(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                bytes,
            )),
        })
    }
}

/// What signs a token: one of our asymmetric keys, or the shared HS256 key.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// An asymmetric key from the key set; the token carries its `kid`.
    Key(&'a SigningKey),
    /// The shared secret; the token carries no `kid`, as the Flask version's did not.
    Shared(&'a SharedKey),
}

/// Signs `claims` as a compact JWS.
pub fn sign(
    signer: Signer<'_>,
    typ: TokenType,
    claims: &impl Serialize,
) -> Result<String, CryptoError> {
    let header = match signer {
        Signer::Key(key) => {
            json!({ "alg": key.alg().as_str(), "typ": typ.as_str(), "kid": key.kid() })
        }
        Signer::Shared(_) => json!({ "alg": "HS256", "typ": typ.as_str() }),
    };
    let header = serde_json::to_vec(&header).map_err(|_| CryptoError::Signing)?;
    let claims = serde_json::to_vec(claims).map_err(|_| CryptoError::Signing)?;
    let mut token = String::with_capacity(1024);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = match signer {
        Signer::Key(key) => key.sign(token.as_bytes())?,
        Signer::Shared(key) => aws_lc_rs::hmac::sign(&key.signing, token.as_bytes())
            .as_ref()
            .to_vec(),
    };
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// A token whose signature checked out; its claims are not validated yet.
#[derive(Debug)]
pub struct Verified {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The `typ` header, if any.
    pub typ: Option<String>,
    /// The payload.
    pub claims: Map<String, Value>,
}

impl Verified {
    /// Whether it was signed with a shared secret (HMAC) rather than one of our keys.
    pub fn is_shared_key(&self) -> bool {
        is_hmac(self.alg)
    }
}

/// A token whose signature verified, its payload not read yet: callers that only pass the
/// claims on need not build a map of them.
#[derive(Debug)]
pub struct SignedPayload {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The `typ` header, if any.
    pub typ: Option<String>,
    /// The payload's bytes (JSON, as signed).
    pub payload: Vec<u8>,
}

impl SignedPayload {
    /// Whether it was signed with a shared secret (HMAC) rather than one of our keys.
    pub fn is_shared_key(&self) -> bool {
        is_hmac(self.alg)
    }

    /// Reads the payload: it must be a JSON object.
    pub fn into_claims(self) -> Result<Verified, JwtError> {
        let claims = serde_json::from_slice(&self.payload).map_err(|_| JwtError::Malformed)?;
        Ok(Verified {
            alg: self.alg,
            typ: self.typ,
            claims,
        })
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Why a token's signature was not accepted. Callers report all of these as one "invalid token".
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("token too large")]
    TooLarge,
    /// Not a JWS compact serialisation, or its header or payload is not valid JSON.
    #[error("malformed token")]
    Malformed,
    /// A header we refuse to honour: `jku`, `jwk`, `x5u`, `x5c` (keys are never taken from the
    /// token) or `crit`.
    #[error("forbidden header")]
    ForbiddenHeader,
    /// No published key has this `kid`, or an asymmetric token has none.
    #[error("unknown key")]
    UnknownKey,
    /// The algorithm is not the one of the key named (algorithm confusion, `none`).
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

/// Verifies `token`'s signature against our published keys, or the shared HS256 key.
///
/// The allowed algorithm is taken from the key, never from the token: an RSA key verifies
/// only RS256, so `none` and "HS256 signed with the public key" cannot pass.
pub fn verify(
    token: &str,
    keys: &KeySet,
    shared: Option<&SharedKey>,
) -> Result<Verified, JwtError> {
    verify_payload(token, keys, shared)?.into_claims()
}

/// As [`verify`], leaving the payload unread.
pub fn verify_payload(
    token: &str,
    keys: &KeySet,
    shared: Option<&SharedKey>,
) -> Result<SignedPayload, JwtError> {
    let header = checked_header(token)?;
    // The signing input (header.payload) and the signature, each checked for shape first.
    let (message, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let (_, payload) = message.split_once('.').ok_or(JwtError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let valid = match (header.alg, header.kid.as_deref()) {
        (Algorithm::HS256, None) => {
            let shared = shared.ok_or(JwtError::UnknownKey)?;
            // Constant time.
            aws_lc_rs::hmac::verify(&shared.signing, message.as_bytes(), &signature).is_ok()
        }
        (_, None) => return Err(JwtError::UnknownKey),
        (alg, Some(kid)) => {
            let key = keys.find(kid).ok_or(JwtError::UnknownKey)?;
            if alg != key.algorithm() {
                return Err(JwtError::AlgorithmNotAllowed);
            }
            key.verify_signature(message.as_bytes(), &signature)
        }
    };
    if !valid {
        return Err(JwtError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    Ok(SignedPayload {
        alg: header.alg,
        typ: header.typ,
        payload,
    })
}

/// The header of a token we are willing to verify at all: within [`MAX_TOKEN_LEN`], well
/// formed, and without `jku`, `jwk`, `x5u`, `x5c` (keys are never taken from the token) or
/// `crit`.
fn checked_header(token: &str) -> Result<jsonwebtoken::Header, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLarge);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
    if header.jku.is_some()
        || header.jwk.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
        || header.crit.is_some()
    {
        return Err(JwtError::ForbiddenHeader);
    }
    Ok(header)
}

/// Checks the signature with `key` and `alg` (chosen by the caller from the key) and returns
/// the payload. Claims (exp, nbf, iss, aud) are the caller's to check, against our own clock.
fn decode_verified(token: &str, key: &DecodingKey, alg: Algorithm) -> Result<Verified, JwtError> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::InvalidSignature => JwtError::BadSignature,
            ErrorKind::InvalidAlgorithm => JwtError::AlgorithmNotAllowed,
            _ => JwtError::Malformed,
        })?;
    Ok(Verified {
        alg,
        typ: data.header.typ,
        claims: data.claims,
    })
}

/// Validates a client's public keys for `private_key_jwt` (a JWKS, or one JWK) and returns
/// them as a JWKS document. Every key must be a public RSA, EC or OKP key.
pub fn client_jwks(text: &str) -> Result<String, &'static str> {
    let value: Value = serde_json::from_str(text).map_err(|_| "not JSON")?;
    let keys = match value.get("keys") {
        Some(Value::Array(keys)) => keys.clone(),
        Some(_) => return Err("\"keys\" must be an array"),
        None => vec![value],
    };
    if keys.is_empty() {
        return Err("no keys");
    }
    for key in &keys {
        if key.get("d").is_some() || key.get("k").is_some() {
            return Err("a key holds private or symmetric material; register only public keys");
        }
        let jwk: Jwk =
            serde_json::from_value(key.clone()).map_err(|_| "a key is not a valid JWK")?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "a key cannot be used")?;
        if decoding.family() == AlgorithmFamily::Hmac {
            return Err("symmetric keys are not allowed");
        }
    }
    Ok(json!({ "keys": keys }).to_string())
}

/// Verifies a client assertion signed with the client's own secret (`client_secret_jwt`,
/// RFC 7523 §2.2 with HMAC): HS256, HS384 or HS512 only.
pub fn verify_with_secret(token: &str, secret: &SecretString) -> Result<Verified, JwtError> {
    let header = checked_header(token)?;
    if header.alg.family() != AlgorithmFamily::Hmac {
        return Err(JwtError::AlgorithmNotAllowed);
    }
    let key =
        DecodingKey::from_secret(secret.expose().as_bytes()).map_err(|_| JwtError::UnknownKey)?;
    decode_verified(token, &key, header.alg)
}

/// Verifies a token signed with one of a client's registered keys (`private_key_jwt`).
///
/// The key is chosen by `kid` (or is the only one); the algorithm must belong to the key's
/// family and match the key's `alg` when it names one, never HMAC or `none`.
pub fn verify_with_client_keys(token: &str, jwks: &str) -> Result<Verified, JwtError> {
    let header = checked_header(token)?;
    let set: JwkSet = serde_json::from_str(jwks).map_err(|_| JwtError::UnknownKey)?;
    let jwk = match (&header.kid, set.keys.as_slice()) {
        (Some(kid), _) => set.find(kid).ok_or(JwtError::UnknownKey)?,
        (None, [only]) => only,
        (None, _) => return Err(JwtError::UnknownKey),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| JwtError::UnknownKey)?;
    let named = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok());
    if key.family() == AlgorithmFamily::Hmac
        || header.alg.family() != key.family()
        || named.is_some_and(|a| a != header.alg)
    {
        return Err(JwtError::AlgorithmNotAllowed);
    }
    decode_verified(token, &key, header.alg)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn keys() -> Result<(KeySet, Arc<SigningKey>), CryptoError> {
        let (key, _) = SigningKey::generate_rs256()?;
        let key = Arc::new(key);
        Ok((KeySet::new(key.clone(), vec![]), key))
    }

    fn forge(header: Value, claims: Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn signs_and_verifies_with_kid_and_typ() -> Result<(), CryptoError> {
        let (set, key) = keys()?;
        let token = sign(
            Signer::Key(&key),
            TokenType::AccessToken,
            &json!({"sub": "a"}),
        )?;
        let verified = verify(&token, &set, None).map_err(|_| CryptoError::Signing)?;
        assert_eq!(verified.alg, Algorithm::RS256);
        assert_eq!(verified.typ.as_deref(), Some("at+jwt"));
        assert_eq!(verified.claims["sub"], "a");
        Ok(())
    }

    #[test]
    fn refuses_none_and_algorithm_confusion() -> Result<(), CryptoError> {
        let (set, key) = keys()?;
        let claims = json!({"sub": "a"});
        let none = forge(
            json!({"alg": "none", "kid": key.kid()}),
            claims.clone(),
            b"",
        );
        assert_eq!(verify(&none, &set, None).err(), Some(JwtError::Malformed));

        // HS256 "signed" with the public key's bytes, naming our RSA kid.
        let header = json!({"alg": "HS256", "kid": key.kid()});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let public = key.public_jwk().to_string();
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public.as_bytes()),
            input.as_bytes(),
        );
        let confused = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(
            verify(&confused, &set, None).err(),
            Some(JwtError::AlgorithmNotAllowed)
        );
        Ok(())
    }

    #[test]
    fn refuses_embedded_keys_unknown_kids_and_other_keys() -> Result<(), CryptoError> {
        let (set, key) = keys()?;
        // Keys offered by the token itself, and extensions we would have to understand.
        let kid = key.kid();
        for header in [
            json!({"alg": "RS256", "kid": kid, "jku": "https://evil/jwks"}),
            json!({"alg": "RS256", "kid": kid, "x5u": "https://evil/cert"}),
            json!({"alg": "RS256", "kid": kid, "jwk": key.public_jwk()}),
            json!({"alg": "RS256", "kid": kid, "x5c": ["MIIB"]}),
            json!({"alg": "RS256", "kid": kid, "crit": ["exp"], "exp": 1}),
        ] {
            let token = forge(header.clone(), json!({}), b"x");
            assert_eq!(
                verify(&token, &set, None).err(),
                Some(JwtError::ForbiddenHeader),
                "{header}"
            );
        }

        let (other, _) = SigningKey::generate_rs256()?;
        let foreign = sign(Signer::Key(&other), TokenType::Jwt, &json!({"sub": "a"}))?;
        assert_eq!(
            verify(&foreign, &set, None).err(),
            Some(JwtError::UnknownKey)
        );

        // Same kid as ours, signature from another key.
        let mut parts: Vec<&str> = foreign.split('.').collect();
        let ours = sign(Signer::Key(&key), TokenType::Jwt, &json!({"sub": "a"}))?;
        let our_parts: Vec<&str> = ours.split('.').collect();
        parts[0] = our_parts[0];
        parts[1] = our_parts[1];
        assert_eq!(
            verify(&parts.join("."), &set, None).err(),
            Some(JwtError::BadSignature)
        );

        assert_eq!(
            verify(&"a".repeat(MAX_TOKEN_LEN + 1), &set, None).err(),
            Some(JwtError::TooLarge)
        );
        assert_eq!(
            verify("not.a.jwt", &set, None).err(),
            Some(JwtError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn shared_key_tokens_verify_only_with_that_key() -> Result<(), CryptoError> {
        let (set, _) = keys()?;
        let shared = SharedKey::new(&SecretString::new("k".repeat(32)))?;
        let token = sign(
            Signer::Shared(&shared),
            TokenType::Jwt,
            &json!({"sub": "a"}),
        )?;
        assert!(verify(&token, &set, Some(&shared)).is_ok());
        assert_eq!(verify(&token, &set, None).err(), Some(JwtError::UnknownKey));
        let other = SharedKey::new(&SecretString::new("j".repeat(32)))?;
        assert_eq!(
            verify(&token, &set, Some(&other)).err(),
            Some(JwtError::BadSignature)
        );
        Ok(())
    }
}
