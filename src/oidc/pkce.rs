//! PKCE (RFC 7636) with `S256` only (RFC 9700 §2.1.1: `plain` protects nothing once the
//! authorization request leaks).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::digest::sha256;
use crate::crypto::secret::constant_time_eq;

/// A `code_challenge` sent with `code_challenge_method=S256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// Why PKCE parameters are refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// `plain`, a missing method (which means `plain`), or an unknown method.
    #[error("code_challenge_method must be S256")]
    Method,
    /// A method without a challenge.
    #[error("code_challenge_method was sent without code_challenge")]
    MissingChallenge,
    /// Not 43 base64url characters (the encoding of a SHA-256 digest).
    #[error("code_challenge must be the 43-character base64url SHA-256 of the verifier")]
    Challenge,
}

impl CodeChallenge {
    /// Parses the challenge and its method from an authorization request.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Self>, PkceError> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(PkceError::MissingChallenge),
            (Some(_), None | Some("plain")) => Err(PkceError::Method),
            (Some(_), Some(m)) if m != "S256" => Err(PkceError::Method),
            (Some(c), Some(_)) => {
                let valid = c.len() == 43
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if valid {
                    Ok(Some(Self(c.to_owned())))
                } else {
                    Err(PkceError::Challenge)
                }
            }
        }
    }

    /// Wraps a challenge that was parsed before (read back from storage).
    pub fn from_stored(challenge: String) -> Self {
        Self(challenge)
    }

    /// The challenge string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 7636 §4.6: whether `BASE64URL(SHA256(verifier)) == challenge`, for a verifier of
    /// 43 to 128 unreserved characters (§4.1).
    pub fn verify(&self, verifier: &str) -> bool {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let computed = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
        well_formed && constant_time_eq(computed.as_bytes(), self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() -> Result<(), PkceError> {
        let challenge = CodeChallenge::parse(
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            Some("S256"),
        )?
        .ok_or(PkceError::Challenge)?;
        assert!(challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"));
        assert!(!challenge.verify("short"));
        Ok(())
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(CodeChallenge::parse(None, None), Ok(None));
        assert_eq!(
            CodeChallenge::parse(Some(c), Some("plain")),
            Err(PkceError::Method)
        );
        assert_eq!(CodeChallenge::parse(Some(c), None), Err(PkceError::Method));
        assert_eq!(
            CodeChallenge::parse(Some(c), Some("s256")),
            Err(PkceError::Method)
        );
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some("abc"), Some("S256")),
            Err(PkceError::Challenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some(&format!("{}+", &c[..42])), Some("S256")),
            Err(PkceError::Challenge)
        );
    }
}
