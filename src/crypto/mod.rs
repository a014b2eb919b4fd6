//! Keys, JWT signing and verification, password hashing, hashes of secrets.

pub mod digest;
pub mod jwt;
pub mod keys;
pub mod keyset;
pub mod password;
pub mod random;
pub mod seal;
pub mod secret;
pub mod successor;

pub use keys::{KeyAlg, SigningKey};
pub use keyset::{KeyRing, KeySet};
pub use password::PasswordHasher;
pub use secret::SecretString;

/// What can go wrong inside the cryptography layer: none of it is the caller's input.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Key generation failed.
    #[error("key generation failed")]
    KeyGeneration,
    /// A stored key could not be parsed.
    #[error("stored signing key {kid} could not be parsed")]
    BadStoredKey {
        /// The key's id.
        kid: String,
    },
    /// Signing failed.
    #[error("signing failed")]
    Signing,
    /// Password hashing failed or a stored hash is malformed.
    #[error("password hashing failed")]
    Password,
    /// The blocking pool is gone (shutdown).
    #[error("the hashing pool is shut down")]
    Closed,
}
