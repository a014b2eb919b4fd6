//! Why a token was refused, and why the issuer's keys could not be had.

/// Why a bearer token was refused. The `Display` text is safe to send to the caller (it is
/// the `error_description` of the 401): it never echoes the token or a key.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS with a JSON header we understand (this includes `alg: none`).
    #[error("the token is malformed")]
    Malformed,
    /// The header names no key.
    #[error("the token names no key (kid)")]
    MissingKid,
    /// The header carries or points at a key of its own, or an extension we do not know.
    #[error("the token header is not acceptable")]
    ForbiddenHeader,
    /// The issuer's JWKS has no usable key with this `kid`, even after a refetch.
    #[error("the token's key is unknown")]
    UnknownKey,
    /// The header's `alg` is not the algorithm of the key its `kid` names.
    #[error("the token's algorithm does not match its key")]
    WrongAlgorithm,
    /// The signature does not verify with the key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is past, beyond the leeway.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the issuer.
    #[error("the token is from another issuer")]
    WrongIssuer,
    /// `aud` does not contain the audience.
    #[error("the token is for another audience")]
    WrongAudience,
    /// `exp`, `iss` or `aud` is missing, or a claim has the wrong type.
    #[error("the token's claims are incomplete or malformed")]
    BadClaims,
    /// The issuer's keys could not be fetched and none are cached: the token may be fine.
    #[error("the issuer's keys are unavailable")]
    KeysUnavailable(#[source] FetchError),
}

impl VerifyError {
    /// Maps what jsonwebtoken found after the key was chosen.
    pub(crate) fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Self::WrongAlgorithm,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                Self::BadClaims
            }
            _ => Self::Malformed,
        }
    }
}

/// Why discovery or the JWKS could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed (connection, timeout, TLS).
    #[error("request to {url} failed: {source}")]
    Http {
        /// What was asked for.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-2xx status.
    #[error("{url} answered {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status it answered.
        status: u16,
    },
    /// The body was larger than we accept for a metadata document.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body was not the JSON document expected.
    #[error("{url} sent an unexpected document: {reason}")]
    Document {
        /// What was asked for.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// OIDC Discovery 1.0 §4.3: the `issuer` in the metadata must equal the issuer asked for.
    #[error("discovery names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The one the metadata names.
        found: String,
    },
}

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The HTTP client could not be built (TLS initialisation).
    #[error("cannot build the HTTP client")]
    HttpClient(#[from] reqwest::Error),
}
