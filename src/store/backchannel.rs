//! The `session_clients` and `logout_deliveries` tables (Back-Channel Logout 1.0).

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// Records that session `sid` of `user_id` signed in to `client_id` (once per pair).
pub async fn record_session_client(
    db: &Db,
    sid: &str,
    client_id: &str,
    user_id: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO session_clients (sid, client_id, user_id, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sid, client_id) DO NOTHING";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(sid)
        .bind(client_id)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets session `sid`'s clients and returns them with the session's user, in one
/// statement: when two instances end the same session at once, only one gets the list.
pub async fn take_session_clients(db: &Db, sid: &str) -> Result<Vec<(String, String)>, StoreError> {
    const SQL: &str = "DELETE FROM session_clients WHERE sid = $1 RETURNING client_id, user_id";
    Ok(on_pool!(db, pool => sqlx::query_as(SQL).bind(sid).fetch_all(pool).await)?)
}

/// A logout token still to deliver.
#[derive(Clone, Debug, FromRow)]
pub struct Delivery {
    /// Its id, also the logout token's `jti`.
    pub id: String,
    /// The client to tell.
    pub client_id: String,
    /// The user (`sub`).
    pub user_id: String,
    /// The session that ended (`sid`).
    pub sid: String,
    /// Attempts so far, counting the one being made after a claim.
    pub attempts: i32,
    /// When it may be tried (again).
    pub next_attempt_at: UnixTime,
    /// When the session ended.
    pub created_at: UnixTime,
}

/// Queues a delivery.
pub async fn insert_delivery(db: &Db, d: &Delivery) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO logout_deliveries (id, client_id, user_id, sid, attempts, next_attempt_at, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(&d.id)
        .bind(&d.client_id)
        .bind(&d.user_id)
        .bind(&d.sid)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(d.created_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Claims up to `limit` deliveries that are due at `now`: counts the attempt and hides them
/// until `lease_until`, in one statement, so instances polling together never send one twice
/// (a claim whose sender dies is retried when its lease runs out).
pub async fn claim_due(
    db: &Db,
    now: UnixTime,
    lease_until: UnixTime,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    const SQL: &str = "UPDATE logout_deliveries SET attempts = attempts + 1, next_attempt_at = $1 \
                       WHERE next_attempt_at <= $2 AND id IN \
                       (SELECT id FROM logout_deliveries WHERE next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
                       RETURNING id, client_id, user_id, sid, attempts, next_attempt_at, created_at";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Delivery>(SQL)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// Schedules the next attempt of a delivery.
pub async fn reschedule(db: &Db, id: &str, at: UnixTime) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE logout_deliveries SET next_attempt_at = $1 WHERE id = $2";
    on_pool!(db, pool => sqlx::query(SQL).bind(at).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes a delivery (delivered, or given up).
pub async fn delete_delivery(db: &Db, id: &str) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM logout_deliveries WHERE id = $1";
    on_pool!(db, pool => sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every queued delivery, oldest first (the CLI and the tests look).
pub async fn list_deliveries(db: &Db) -> Result<Vec<Delivery>, StoreError> {
    const SQL: &str = "SELECT id, client_id, user_id, sid, attempts, next_attempt_at, created_at \
                       FROM logout_deliveries ORDER BY created_at, id";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Delivery>(SQL).fetch_all(pool).await)?)
}
