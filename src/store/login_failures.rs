//! The `login_failures` table: counters of failed sign-ins, per account and per client IP.
//! Every change is one statement, so concurrent failures at several instances all count.

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// When the latest of `subjects`' locks ends, if any is locked at `now`.
pub async fn locked_until(
    db: &Db,
    subjects: [&str; 2],
    now: UnixTime,
) -> Result<Option<UnixTime>, StoreError> {
    const SQL: &str = "SELECT MAX(locked_until) FROM login_failures \
                       WHERE subject IN ($1, $2) AND locked_until > $3";
    let until: Option<i64> = on_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(subjects[0])
        .bind(subjects[1])
        .bind(now)
        .fetch_one(pool)
        .await)?;
    Ok(until)
}

/// Counts a failure for `subject` and returns the count: 1 if its row had expired at `now`,
/// else one more. The row then lives until at least `forget_at`.
pub async fn record_failure(
    db: &Db,
    subject: &str,
    now: UnixTime,
    forget_at: UnixTime,
) -> Result<i64, StoreError> {
    const SQL: &str = "INSERT INTO login_failures (subject, failures, locked_until, expires_at) VALUES ($1, 1, 0, $3) \
        ON CONFLICT (subject) DO UPDATE SET \
        failures = CASE WHEN login_failures.expires_at <= $2 THEN 1 ELSE login_failures.failures + 1 END, \
        locked_until = CASE WHEN login_failures.expires_at <= $2 THEN 0 ELSE login_failures.locked_until END, \
        expires_at = CASE WHEN login_failures.expires_at > $3 THEN login_failures.expires_at ELSE $3 END \
        RETURNING CAST(failures AS BIGINT)";
    // INTEGER is 32 bits in PostgreSQL and 64 in SQLite: the cast makes both a BIGINT.
    let failures: i64 = on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL)
        .bind(subject)
        .bind(now)
        .bind(forget_at)
        .fetch_one(pool)
        .await)?;
    Ok(failures)
}

/// Locks `subject` until `until` (never shortening a lock); its row lives until `forget_at`.
pub async fn lock(
    db: &Db,
    subject: &str,
    until: UnixTime,
    forget_at: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE login_failures SET \
        locked_until = CASE WHEN locked_until > $2 THEN locked_until ELSE $2 END, \
        expires_at = CASE WHEN expires_at > $3 THEN expires_at ELSE $3 END \
        WHERE subject = $1";
    on_pool!(db, pool => sqlx::query(SQL).bind(subject).bind(until).bind(forget_at).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets `subject`'s failures and lock; whether there were any.
pub async fn clear(db: &Db, subject: &str) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM login_failures WHERE subject = $1";
    let n = on_pool!(db, pool => sqlx::query(SQL).bind(subject).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}
