//! Brute-force protection for password sign-in: failures are counted per account and per
//! client IP in the database (so every instance sees them); past a threshold the account or
//! IP is locked, for `LOGIN_LOCK_MINUTES`, doubling with each further failure (at most a day).
//!
//! The account counter is keyed by the name typed, whether or not such an account exists, and
//! a lock shows the same page either way: a lock tells nothing about which accounts exist.

use std::net::IpAddr;

use crate::audit;
use crate::clock::UnixTime;
use crate::oidc::Username;
use crate::state::AppState;
use crate::store::Db;
use crate::store::login_failures as store;

use super::ServiceError;

/// A counter row is forgotten this long after its last failure or the end of its lock.
pub const FORGET_AFTER_SECS: i64 = 15 * 60;
/// The longest lock.
pub const MAX_LOCK_SECS: i64 = 24 * 60 * 60;

fn account(username: &str) -> String {
    // Names that are not valid usernames cannot sign in anyway; they share one counter
    // rather than filling the table with arbitrary strings.
    match Username::parse(username) {
        Ok(name) => format!("user:{}", name.canonical()),
        Err(_) => "user:<invalid>".to_owned(),
    }
}

fn address(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// When the lock on this account name or this IP ends, if either is locked now.
pub async fn locked_until(
    state: &AppState,
    username: &str,
    ip: IpAddr,
) -> Result<Option<UnixTime>, ServiceError> {
    let (account, address) = (account(username), address(ip));
    Ok(store::locked_until(&state.db, [&account, &address], state.clock.now()).await?)
}

/// Counts a failed sign-in; locks the account name or the IP when it reaches its threshold.
pub async fn failed(state: &AppState, username: &str, ip: IpAddr) -> Result<(), ServiceError> {
    let now = state.clock.now();
    let forget_at = now + FORGET_AFTER_SECS;
    let config = &state.config;
    for (subject, threshold) in [
        (account(username), config.login_max_failures),
        (address(ip), config.login_max_failures_per_ip),
    ] {
        let failures = store::record_failure(&state.db, &subject, now, forget_at).await?;
        if let Some(seconds) = lock_length(failures, threshold, config.login_lock_secs) {
            store::lock(
                &state.db,
                &subject,
                now + seconds,
                now + seconds + FORGET_AFTER_SECS,
            )
            .await?;
            audit!(warn, "sign_in.locked", subject = %subject, failures, lock_seconds = seconds);
        }
    }
    Ok(())
}

/// A successful sign-in clears the account's failures (not the IP's: one good password must
/// not wipe an attacker's record).
pub async fn succeeded(state: &AppState, username: &str) -> Result<(), ServiceError> {
    store::clear(&state.db, &account(username)).await?;
    Ok(())
}

/// Ends an account's lock (`user unlock`); whether there was anything to clear.
pub async fn unlock(db: &Db, username: &str) -> Result<bool, ServiceError> {
    let cleared = store::clear(db, &account(username)).await?;
    audit!(info, "admin.user_unlocked", username = %account(username), cleared);
    Ok(cleared)
}

/// The lock after `failures` failures with `threshold` allowed: none below it, then `base`,
/// doubling with each further failure, at most [`MAX_LOCK_SECS`].
fn lock_length(failures: i64, threshold: u32, base: i64) -> Option<i64> {
    let over = failures.checked_sub(i64::from(threshold))?;
    if over < 0 {
        return None;
    }
    // 2^30 times any base is past the cap already; the shift cannot overflow.
    let factor = 1_i64 << over.min(30);
    Some(base.saturating_mul(factor).min(MAX_LOCK_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_threshold_and_double() {
        assert_eq!(lock_length(4, 5, 300), None);
        assert_eq!(lock_length(5, 5, 300), Some(300));
        assert_eq!(lock_length(6, 5, 300), Some(600));
        assert_eq!(lock_length(7, 5, 300), Some(1200));
        assert_eq!(lock_length(60, 5, 300), Some(MAX_LOCK_SECS));
        assert_eq!(lock_length(10_000, 5, 300), Some(MAX_LOCK_SECS));
    }

    #[test]
    fn account_subjects_are_canonical() {
        assert_eq!(account("Alice"), account("alice"));
        assert_eq!(account(&"x".repeat(10_000)), "user:<invalid>");
    }
}
