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
    /// When it starts signing (until then it is only published).
    pub activates_at: UnixTime,
    /// When it stops signing; `None` while no successor is scheduled.
    pub retired_at: Option<UnixTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "kid, alg, private_key, created_at, activates_at, retired_at";

/// The newest key first: by when it starts signing (creation times can tie within a second).
const NEWEST_FIRST: &str = "ORDER BY activates_at DESC, created_at DESC, kid";

/// Adds the first signing key for its algorithm; [`StoreError::Conflict`] when another
/// instance added one first (the partial unique index allows one active key per algorithm).
pub async fn insert_key(db: &Db, key: &StoredKey) -> Result<(), StoreError> {
    on_pool!(db, pool => sqlx::query(INSERT)
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_key)
        .bind(key.created_at)
        .bind(key.activates_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

const INSERT: &str = "INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at, retired_at) \
                      VALUES ($1, $2, $3, $4, $5, NULL)";

/// Which keys a new key takes over from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takeover {
    /// Every key of its algorithm that would still sign after its activation (the current
    /// one, and a next one scheduled later: an explicit rotation overrides a scheduled one).
    Overriding,
    /// Only the key signing at this time, and only while no other rotation has retired it
    /// (scheduled rotation: of instances doing it at once, one wins).
    IfUnscheduled(UnixTime),
}

/// Stores `key` to sign from `key.activates_at`, retiring the keys it takes over from at that
/// instant, atomically. False when `IfUnscheduled` finds nothing to take over (another
/// rotation came first); nothing is written then. A concurrent rotation may also get
/// [`StoreError::Conflict`] from the one-active-key index.
pub async fn rotate_key(db: &Db, key: &StoredKey, takeover: Takeover) -> Result<bool, StoreError> {
    const OVERRIDING: &str = "UPDATE signing_keys SET retired_at = $1 \
                              WHERE alg = $2 AND (retired_at IS NULL OR retired_at > $1)";
    const IF_UNSCHEDULED: &str = "UPDATE signing_keys SET retired_at = $1 \
                                  WHERE alg = $2 AND retired_at IS NULL AND activates_at <= $3";
    let done = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let retire = match takeover {
            Takeover::Overriding => sqlx::query(OVERRIDING).bind(key.activates_at).bind(&key.alg),
            Takeover::IfUnscheduled(now) => {
                sqlx::query(IF_UNSCHEDULED).bind(key.activates_at).bind(&key.alg).bind(now)
            }
        };
        let retired = retire.execute(&mut *tx).await?.rows_affected();
        if retired == 0 && matches!(takeover, Takeover::IfUnscheduled(_)) {
            tx.rollback().await?;
            false
        } else {
            sqlx::query(INSERT)
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.private_key)
                .bind(key.created_at)
                .bind(key.activates_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            tx.commit().await?;
            true
        }
    });
    Ok(done)
}

/// Deletes a key that no longer signs at `now` (withdrawal of a compromised key); false when
/// there is no such key or it still signs.
pub async fn delete_retired_key(db: &Db, kid: &str, now: UnixTime) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM signing_keys WHERE kid = $1 \
                       AND ((retired_at IS NOT NULL AND retired_at <= $2) OR activates_at > $2)";
    let n = on_pool!(db, pool => sqlx::query(SQL).bind(kid).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Replaces a key's stored private key if it is still `old` (sealing it in place).
pub async fn replace_private_key(
    db: &Db,
    kid: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, StoreError> {
    const SQL: &str =
        "UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3";
    let n = on_pool!(db, pool => sqlx::query(SQL).bind(new).bind(kid).bind(old).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Keys not retired, or retired after `retired_after` (their tokens may still be alive),
/// newest first: the next key (if one is scheduled), the signing key, then retired ones.
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

/// Every key ever stored, newest first.
pub async fn list_keys(db: &Db) -> Result<Vec<StoredKey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys {NEWEST_FIRST}");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, StoredKey>(&sql).fetch_all(pool).await)?)
}
