//! Fast hashes of high-entropy values: what we store instead of codes, client secrets and
//! refresh tokens, and what we log instead of a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::secret::constant_time_eq;

/// SHA-256 of `value`, base64url without padding: the stored form of a code or secret.
///
/// A fast hash is right here (DESIGN §8): the values are 256-bit random, so there is nothing to
/// brute-force, and a password hash per API request would cost ~17 ms of CPU.
pub fn token_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(value.as_bytes()))
}

/// Whether `presented` hashes to `stored` (a [`token_hash`]), compared in constant time.
pub fn token_hash_matches(stored: &str, presented: &str) -> bool {
    constant_time_eq(stored.as_bytes(), token_hash(presented).as_bytes())
}

/// A short, non-reversible tag for a token, safe to put in a log line to correlate requests.
pub fn fingerprint(token: &str) -> String {
    let digest = sha256(token.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Raw SHA-512.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, data);
    let mut out = [0; 64];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Raw SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_only_its_value() {
        let stored = token_hash("abc");
        assert!(token_hash_matches(&stored, "abc"));
        assert!(!token_hash_matches(&stored, "abd"));
        // RFC 4648 test vector of SHA-256("abc"), base64url
        assert_eq!(stored, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        assert_eq!(fingerprint("abc"), "ba7816bf8f01");
        assert_eq!(fingerprint("abc").len(), 12);
    }
}
