//! User passwords: argon2id at OWASP's recommended cost, on a few threads of their own.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::CryptoError;
use super::secret::SecretString;

/// Hashes and checks user passwords without stalling the async runtime.
///
/// Each hash costs ~17 ms of CPU and 19 MiB of memory (DESIGN §8), so hashing runs on
/// `max_concurrent` threads of its own behind a semaphore: a burst of sign-ins queues here
/// instead of starving `/verify` and `/token`. Own threads, not tokio's blocking pool: that
/// pool grows to hundreds of threads, and the allocator keeps a freed 19 MiB block in each
/// thread's arena, so memory grew with the burst (900 MiB under 32 concurrent sign-ins);
/// with two threads it stays at two blocks.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: SyncSender<Job>,
    /// Checked against when the user does not exist, so both cases take the same time.
    dummy_hash: Arc<str>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordHasher {
    /// A hasher allowing `max_concurrent` hashes at once (at least one), on as many threads;
    /// the threads end when the last clone is dropped.
    pub fn new(max_concurrent: usize) -> Result<Self, CryptoError> {
        let workers = max_concurrent.max(1);
        let (jobs, queue) = sync_channel::<Job>(workers);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&queue))
                .map_err(|_| CryptoError::Closed)?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            dummy_hash: dummy_hash()?.into(),
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
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(span.in_scope(work));
        });
        // With a permit held, at most `workers` jobs are queued or running: never full.
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                return Err(CryptoError::Closed);
            }
        }
        result.await.map_err(|_| CryptoError::Closed)
    }
}

/// A hashing thread: runs jobs until every sender is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            // A job that panics answers nothing (its caller gets `Closed`); the thread stays.
            Ok(job) => _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)),
            Err(_) => return,
        }
    }
}

/// A hash no password matches, with the current parameters: random salt and random output,
/// so checking it costs a real argon2 run. Made without hashing (start-up stays fast).
fn dummy_hash() -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    let mut output = [0u8; 32];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| CryptoError::Random)?;
    aws_lc_rs::rand::fill(&mut output).map_err(|_| CryptoError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| CryptoError::Password)?;
    let output = Output::new(&output).map_err(|_| CryptoError::Password)?;
    let params = argon2()?.params().clone();
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
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

thread_local! {
    /// Each hashing thread's argon2 memory, kept between sign-ins: allocating 19 MiB per
    /// hash returned it to the system each time and faulted it back in (a third of the cost).
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn verify_blocking(password: &SecretString, phc: &str) -> Result<bool, CryptoError> {
    fn bad<E>(_: E) -> CryptoError {
        CryptoError::Password
    }
    let parsed = PasswordHash::new(phc).map_err(bad)?;
    // Parameters come from the stored hash, so raising the cost later keeps old hashes valid.
    let algorithm = parsed
        .algorithm
        .as_str()
        .parse::<Algorithm>()
        .map_err(bad)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(bad)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(bad)?;
    let expected = parsed.hash.ok_or(CryptoError::Password)?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or(CryptoError::Password)?
        .decode_b64(&mut salt)
        .map_err(bad)?;
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    MEMORY
        .with_borrow_mut(|memory| {
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            hasher.hash_password_into_with_memory(
                password.expose().as_bytes(),
                salt,
                &mut out,
                &mut memory[..blocks],
            )
        })
        .map_err(bad)?;
    // Output's equality is constant-time.
    Ok(Output::new(&out).map_err(bad)? == expected)
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

    #[test]
    fn the_dummy_hash_has_the_current_parameters_and_parses() -> Result<(), CryptoError> {
        let dummy = dummy_hash()?;
        assert!(
            dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{dummy}"
        );
        assert!(PasswordHash::new(&dummy).is_ok());
        assert!(!verify_blocking(&SecretString::new(""), &dummy)?);
        assert_ne!(dummy, dummy_hash()?, "random every time");
        Ok(())
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() -> Result<(), CryptoError> {
        // A hash from an older cost setting (and a smaller one after a larger one, on the same
        // thread's reused memory): the parameters are the stored hash's.
        let hasher = PasswordHasher::new(1)?;
        let small = Params::new(8 * 1024, 1, 1, None).map_err(|_| CryptoError::Password)?;
        let salt =
            SaltString::encode_b64(b"0123456789abcdef").map_err(|_| CryptoError::Password)?;
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, small)
            .hash_password(b"old password", &salt)
            .map_err(|_| CryptoError::Password)?
            .to_string();
        let current = hasher.hash(SecretString::new("new password")).await?;
        assert!(
            hasher
                .verify(SecretString::new("new password"), Some(current))
                .await?
        );
        assert!(
            hasher
                .verify(SecretString::new("old password"), Some(phc.clone()))
                .await?
        );
        assert!(
            !hasher
                .verify(SecretString::new("old passwore"), Some(phc))
                .await?
        );
        assert!(
            hasher
                .verify(SecretString::new("x"), Some("$argon2id$garbage".into()))
                .await
                .is_err()
        );
        Ok(())
    }
}
