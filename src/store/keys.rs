//! The `signing_keys` table.

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// A stored signing key.
#[derive(Clone, FromRow)]
pub struct StoredKey {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// PKCS#8 DER.
    pub private_key: Vec<u8>,
    /// Creation time.
    pub created_at: UnixTime,
    /// When it stopped signing; `None` while it signs.
    pub retired_at: Option<UnixTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "kid, alg, private_key, created_at, retired_at";

/// The signing key first, then retired keys by how recently they stopped signing (creation
/// times can tie within a second).
const NEWEST_FIRST: &str = "ORDER BY CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, retired_at DESC, created_at DESC, kid";

/// Adds the first signing key for its algorithm; [`StoreError::Conflict`] when another
/// instance added one first (the partial unique index allows one active key per algorithm).
pub async fn insert_key(db: &Db, key: &StoredKey) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO signing_keys (kid, alg, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_key)
        .bind(key.created_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// Retires the active key of `key.alg` and makes `key` the active one, atomically.
pub async fn rotate_key(db: &Db, key: &StoredKey, now: UnixTime) -> Result<(), StoreError> {
    const RETIRE: &str =
        "UPDATE signing_keys SET retired_at = $1 WHERE alg = $2 AND retired_at IS NULL";
    const INSERT: &str = "INSERT INTO signing_keys (kid, alg, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)";
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(RETIRE).bind(now).bind(&key.alg).execute(&mut *tx).await?;
        sqlx::query(INSERT)
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.private_key)
            .bind(key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        tx.commit().await?;
    });
    Ok(())
}

/// Keys that sign now or retired after `retired_after` (their tokens may still be alive),
/// the signing key first.
pub async fn list_live_keys(
    db: &Db,
    retired_after: UnixTime,
) -> Result<Vec<StoredKey>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 {NEWEST_FIRST}"
    );
    Ok(
        on_pool!(db, pool => sqlx::query_as::<_, StoredKey>(&sql).bind(retired_after).fetch_all(pool).await)?,
    )
}

/// Every key ever stored, the signing key first.
pub async fn list_keys(db: &Db) -> Result<Vec<StoredKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys {NEWEST_FIRST}");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, StoredKey>(&sql).fetch_all(pool).await)?)
}
