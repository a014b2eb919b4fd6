//! The `consents` table: what each user allowed each third-party client.

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// The scopes `user_id` has allowed `client_id` (space-separated), if any.
pub async fn find_consent(
    db: &Db,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    const SQL: &str = "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2";
    let found: Option<(String,)> = on_pool!(db, pool => sqlx::query_as(SQL)
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(pool)
        .await)?;
    Ok(found.map(|(scope,)| scope))
}

/// Records that `user_id` allows `client_id` the scopes in `scope` (the whole set so far).
pub async fn save_consent(
    db: &Db,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Withdraws every consent `user_id` gave; returns how many.
pub async fn delete_user_consents(db: &Db, user_id: &str) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM consents WHERE user_id = $1";
    Ok(
        on_pool!(db, pool => sqlx::query(SQL).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?,
    )
}
