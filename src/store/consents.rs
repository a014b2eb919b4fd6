//! The `consents` table: what each user allowed each third-party client, a row per scope.

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// The scopes `user_id` has allowed `client_id`.
pub async fn find_consent(
    db: &Db,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>, StoreError> {
    const SQL: &str =
        "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2 ORDER BY scope";
    let rows: Vec<(String,)> = on_pool!(db, pool => sqlx::query_as(SQL)
        .bind(user_id)
        .bind(client_id)
        .fetch_all(pool)
        .await)?;
    Ok(rows.into_iter().map(|(scope,)| scope).collect())
}

/// Records that `user_id` allows `client_id` each of `scopes` (those already allowed stay).
pub async fn save_consent(
    db: &Db,
    user_id: &str,
    client_id: &str,
    scopes: &[&str],
    now: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (user_id, client_id, scope) DO NOTHING";
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for scope in scopes {
            sqlx::query(SQL)
                .bind(user_id)
                .bind(client_id)
                .bind(scope)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}
