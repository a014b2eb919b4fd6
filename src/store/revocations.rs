//! The `revoked_tokens` table: token ids revoked before their expiry.

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// Records `jti` as revoked until `expires_at` (when the token would have expired anyway).
pub async fn insert_revocation(
    db: &Db,
    jti: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO revoked_tokens (jti, revoked_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(jti)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revocations made at or after `revoked_since` of tokens that expire after `now`: each
/// token id with its expiry.
pub async fn list_revocations(
    db: &Db,
    revoked_since: UnixTime,
    now: UnixTime,
) -> Result<Vec<(String, UnixTime)>, StoreError> {
    const SQL: &str = "SELECT jti, expires_at FROM revoked_tokens \
                       WHERE revoked_at >= $1 AND expires_at > $2";
    Ok(
        on_pool!(db, pool => sqlx::query_as(SQL).bind(revoked_since).bind(now).fetch_all(pool).await)?,
    )
}
