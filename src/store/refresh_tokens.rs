//! The `refresh_tokens` table.

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// A stored refresh token (only its hash).
#[derive(Clone, Debug, FromRow)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The chain it belongs to.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The scope originally granted.
    pub scope: String,
    /// The browser session it came from.
    pub session_id: Option<String>,
    /// When the user signed in.
    pub auth_time: UnixTime,
    /// Issue time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// When it was exchanged for its successor.
    pub rotated_at: Option<UnixTime>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<UnixTime>,
}

const COLUMNS: &str = "token_hash, family_id, client_id, user_id, scope, session_id, auth_time, created_at, \
                       expires_at, rotated_at, revoked_at";

/// Stores a new token; a token already stored (a retried rotation) is left as it is.
pub async fn insert_refresh_token(db: &Db, t: &RefreshToken) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL) \
         ON CONFLICT (token_hash) DO NOTHING"
    );
    on_pool!(db, pool => sqlx::query(&sql)
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(&t.scope)
        .bind(&t.session_id)
        .bind(t.auth_time)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The token with this hash, whatever its state.
pub async fn find_refresh_token(
    db: &Db,
    token_hash: &str,
) -> Result<Option<RefreshToken>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    Ok(
        on_pool!(db, pool => sqlx::query_as::<_, RefreshToken>(&sql).bind(token_hash).fetch_optional(pool).await)?,
    )
}

/// Marks a live token rotated, atomically: true for the one caller that rotated it, false when
/// it was rotated (or revoked) already, so two racing refreshes cannot both rotate it.
pub async fn rotate_refresh_token(
    db: &Db,
    token_hash: &str,
    now: UnixTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE refresh_tokens SET rotated_at = $1 \
                       WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(now).bind(token_hash).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Revokes every token of a family; returns how many were live.
pub async fn revoke_family(db: &Db, family_id: &str, now: UnixTime) -> Result<u64, StoreError> {
    const SQL: &str =
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL";
    Ok(
        on_pool!(db, pool => sqlx::query(SQL).bind(now).bind(family_id).execute(pool).await.map(|r| r.rows_affected()))?,
    )
}

/// Revokes every live refresh token of a user; returns how many.
pub async fn revoke_user_tokens(db: &Db, user_id: &str, now: UnixTime) -> Result<u64, StoreError> {
    const SQL: &str =
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
    Ok(
        on_pool!(db, pool => sqlx::query(SQL).bind(now).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?,
    )
}
