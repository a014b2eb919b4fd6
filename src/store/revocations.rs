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

/// Whether `jti` is revoked.
pub async fn is_revoked(db: &Db, jti: &str) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT jti FROM revoked_tokens WHERE jti = $1";
    let found: Option<(String,)> =
        on_pool!(db, pool => sqlx::query_as(SQL).bind(jti).fetch_optional(pool).await)?;
    Ok(found.is_some())
}
