//! High-entropy random values: client secrets, codes, generated passwords, ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::CryptoError;

/// `bytes` random bytes from the operating system's CSPRNG, base64url without padding.
///
/// 32 bytes (256 bits) gives a 43-character value: enough that a fast hash of it cannot be
/// brute-forced, which is why secrets and codes made here may be stored as SHA-256 digests.
pub fn random_token(bytes: usize) -> Result<String, CryptoError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| CryptoError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() -> Result<(), CryptoError> {
        let a = random_token(32)?;
        let b = random_token(32)?;
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        Ok(())
    }
}
