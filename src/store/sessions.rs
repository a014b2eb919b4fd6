//! The `sessions` table: browser sessions, keyed by a hash of the cookie's session id.

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// A stored browser session.
#[derive(Clone, Debug, FromRow)]
pub struct StoredSession {
    /// SHA-256 of the session id in the cookie.
    pub id_hash: String,
    /// Public session id, once signed in.
    pub sid: Option<String>,
    /// The signed-in user.
    pub user_id: Option<String>,
    /// The session's data (JSON).
    pub data: String,
    /// When the user signed in.
    pub auth_time: Option<UnixTime>,
    /// Creation time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

const COLUMNS: &str = "id_hash, sid, user_id, data, auth_time, created_at, expires_at";

/// Inserts a new session; [`StoreError::Conflict`] if the id is taken.
pub async fn insert_session(db: &Db, s: &StoredSession) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    on_pool!(db, pool => sqlx::query(&sql)
        .bind(&s.id_hash)
        .bind(&s.sid)
        .bind(&s.user_id)
        .bind(&s.data)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// Inserts or replaces a session's data.
pub async fn upsert_session(db: &Db, s: &StoredSession) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id_hash) DO UPDATE SET \
         sid = excluded.sid, user_id = excluded.user_id, data = excluded.data, auth_time = excluded.auth_time, \
         expires_at = excluded.expires_at"
    );
    on_pool!(db, pool => sqlx::query(&sql)
        .bind(&s.id_hash)
        .bind(&s.sid)
        .bind(&s.user_id)
        .bind(&s.data)
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// The session with this id hash, unless expired.
pub async fn find_session(
    db: &Db,
    id_hash: &str,
    now: UnixTime,
) -> Result<Option<StoredSession>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = $1 AND expires_at > $2");
    Ok(
        on_pool!(db, pool => sqlx::query_as::<_, StoredSession>(&sql).bind(id_hash).bind(now).fetch_optional(pool).await)?,
    )
}

/// Deletes a session.
pub async fn delete_session(db: &Db, id_hash: &str) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE id_hash = $1";
    on_pool!(db, pool => sqlx::query(SQL).bind(id_hash).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A user's live sessions, newest sign-in first.
pub async fn list_user_sessions(
    db: &Db,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<StoredSession>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY auth_time DESC, sid"
    );
    Ok(
        on_pool!(db, pool => sqlx::query_as::<_, StoredSession>(&sql).bind(user_id).bind(now).fetch_all(pool).await)?,
    )
}

/// Deletes every session of a user; returns how many there were.
pub async fn delete_user_sessions(db: &Db, user_id: &str) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
    Ok(
        on_pool!(db, pool => sqlx::query(SQL).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?,
    )
}
