//! Deriving a refresh token's successor from the token itself.
//!
//! A client that retries a refresh (a lost response, two tabs racing) must get the SAME new
//! token back within the grace window rather than trip reuse detection. Deriving the
//! successor as an HMAC of the presented token under a server key gives the same answer
//! every time, on every instance, without storing any token in a readable form.

use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{CryptoError, SecretString};

/// The server key successors are derived with.
#[derive(Clone)]
pub struct SuccessorKey(std::sync::Arc<hmac::Key>);

impl std::fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorKey([redacted])")
    }
}

impl SuccessorKey {
    /// A key derived (HKDF-SHA256) from the session secret, so every instance derives the same.
    pub fn new(secret: &SecretString) -> Result<Self, CryptoError> {
        let prk =
            Salt::new(HKDF_SHA256, b"identity-backend/refresh").extract(secret.expose().as_bytes());
        let okm = prk
            .expand(&[b"successor v1"], hmac::HMAC_SHA256)
            .map_err(|_| CryptoError::Signing)?;
        Ok(Self(std::sync::Arc::new(hmac::Key::from(okm))))
    }

    /// The successor of `token`: 256 bits, base64url, like every token we issue.
    pub fn successor(&self, token: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, token.as_bytes()).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_same_successor_and_only_under_the_same_key() -> Result<(), CryptoError> {
        let key = SuccessorKey::new(&SecretString::new("s".repeat(40)))?;
        assert_eq!(key.successor("abc"), key.successor("abc"));
        assert_ne!(key.successor("abc"), key.successor("abd"));
        assert_eq!(key.successor("abc").len(), 43);
        let other = SuccessorKey::new(&SecretString::new("t".repeat(40)))?;
        assert_ne!(key.successor("abc"), other.successor("abc"));
        Ok(())
    }
}
