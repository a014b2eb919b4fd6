//! User passwords: argon2id at OWASP's recommended cost, on a bounded blocking pool.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::CryptoError;
use super::random::random_token;
use super::secret::SecretString;

/// Hashes and checks user passwords without stalling the async runtime.
///
/// Each hash costs ~17 ms of CPU and 19 MiB of memory (DESIGN §8), so hashing runs on
/// `spawn_blocking` behind a semaphore: a burst of sign-ins queues here instead of starving
/// `/verify` and `/token` or exhausting memory.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Checked against when the user does not exist, so both cases take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// A hasher allowing `max_concurrent` hashes at once (at least one).
    pub fn new(max_concurrent: usize) -> Result<Self, CryptoError> {
        let dummy = SecretString::new(random_token(16)?);
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: hash_blocking(&dummy)?.into(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
    pub async fn hash(&self, password: SecretString) -> Result<String, CryptoError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user), checks a dummy
    /// hash and answers `false`, so the answer takes as long either way.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, CryptoError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = self.run(move || verify_blocking(&password, &phc)).await??;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CryptoError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CryptoError::Closed)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .map_err(|_| CryptoError::Closed)
    }
}

fn argon2() -> Result<Argon2<'static>, CryptoError> {
    // OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|_| CryptoError::Password)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &SecretString) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| CryptoError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| CryptoError::Password)?;
    argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::Password)
}

fn verify_blocking(password: &SecretString, phc: &str) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(phc).map_err(|_| CryptoError::Password)?;
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    Ok(argon2()?
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_fail() -> Result<(), CryptoError> {
        let hasher = PasswordHasher::new(2)?;
        let phc = hasher.hash(SecretString::new("correct horse")).await?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify(SecretString::new("correct horse"), Some(phc.clone()))
                .await?
        );
        assert!(!hasher.verify(SecretString::new("wrong"), Some(phc)).await?);
        assert!(!hasher.verify(SecretString::new("anything"), None).await?);
        Ok(())
    }
}
