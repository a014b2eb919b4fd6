//! Sealing the few secrets the server must be able to read back (a `client_secret_jwt`
//! client's secret, which RFC 7523 HS256 assertions are checked with), with AES-256-GCM under
//! a key derived from `KEY_ENCRYPTION_KEY`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{CryptoError, SecretString};

/// Marks the format, so a later scheme can be told apart.
const PREFIX: &str = "v1.";

/// Seals and opens secrets; cheap to clone.
#[derive(Clone)]
pub struct Sealer(std::sync::Arc<LessSafeKey>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// The sealer for `key_material` (the configured `KEY_ENCRYPTION_KEY`), via HKDF-SHA256.
    pub fn new(key_material: &SecretString) -> Result<Self, CryptoError> {
        let prk = Salt::new(HKDF_SHA256, b"identity-backend/seal")
            .extract(key_material.expose().as_bytes());
        let okm = prk
            .expand(&[b"aes-256-gcm v1"], &AES_256_GCM)
            .map_err(|_| CryptoError::Signing)?;
        let key = UnboundKey::from(okm);
        Ok(Self(std::sync::Arc::new(LessSafeKey::new(key))))
    }

    /// Seals `secret` for `context` (the owner's id, bound as associated data so a sealed
    /// value cannot be moved to another owner): `v1.` and base64url of nonce and ciphertext.
    pub fn seal(&self, secret: &SecretString, context: &str) -> Result<String, CryptoError> {
        let sealed = self.seal_bytes(secret.expose().as_bytes(), context)?;
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Opens what [`Sealer::seal`] made for `context`; `None` if it was not made with this key
    /// and context, or was altered.
    pub fn open(&self, sealed: &str, context: &str) -> Option<SecretString> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        let plain = self.open_bytes(&bytes, context)?;
        String::from_utf8(plain).ok().map(SecretString::new)
    }

    /// Seals bytes for `context`: a random nonce followed by the ciphertext and tag.
    pub fn seal_bytes(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut data = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| CryptoError::Signing)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Opens what [`Sealer::seal_bytes`] made for `context`.
    pub fn open_bytes(&self, sealed: &[u8], context: &str) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_its_context_and_key() -> Result<(), CryptoError> {
        let sealer = Sealer::new(&SecretString::new("k".repeat(40)))?;
        let sealed = sealer.seal(&SecretString::new("hunter2"), "worker")?;
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            sealer
                .open(&sealed, "worker")
                .map(|s| s.expose().to_owned()),
            Some("hunter2".into())
        );
        assert!(
            sealer.open(&sealed, "other").is_none(),
            "bound to its client"
        );
        let other = Sealer::new(&SecretString::new("j".repeat(40)))?;
        assert!(other.open(&sealed, "worker").is_none(), "bound to its key");
        assert!(sealer.open("v1.AAAA", "worker").is_none());
        assert_ne!(
            sealer.seal(&SecretString::new("hunter2"), "worker")?,
            sealed,
            "fresh nonce each time"
        );
        Ok(())
    }
}
