//! The `users` table.

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// A stored user.
#[derive(Clone, Debug, FromRow)]
pub struct User {
    /// Stable opaque id: the `sub` of this user's tokens.
    pub id: String,
    /// Login name as entered.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Disabled users cannot sign in or refresh.
    pub disabled: bool,
    /// Creation time.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

/// A new user to insert.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Stable id.
    pub id: &'a str,
    /// Login name as entered.
    pub username: &'a str,
    /// Lowercased login name.
    pub username_canonical: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Email address.
    pub email: Option<&'a str>,
    /// Display name.
    pub name: Option<&'a str>,
}

const COLUMNS: &str =
    "id, username, password_hash, email, email_verified, name, disabled, created_at, updated_at";

/// Inserts a user; [`StoreError::Conflict`] when the name is taken.
pub async fn insert_user(db: &Db, user: &NewUser<'_>, now: UnixTime) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO users (id, username, username_canonical, password_hash, email, name, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(user.id)
        .bind(user.username)
        .bind(user.username_canonical)
        .bind(user.password_hash)
        .bind(user.email)
        .bind(user.name)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// The user with this (lowercased) login name.
pub async fn find_user_by_username(db: &Db, canonical: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username_canonical = $1");
    Ok(
        on_pool!(db, pool => sqlx::query_as::<_, User>(&sql).bind(canonical).fetch_optional(pool).await)?,
    )
}

/// The user with this id.
pub async fn find_user_by_id(db: &Db, id: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(pool).await)?)
}

/// Every user, by login name.
pub async fn list_users(db: &Db) -> Result<Vec<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username_canonical");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, User>(&sql).fetch_all(pool).await)?)
}

/// Sets a user's password hash; false when there is no such user.
pub async fn update_user_password(
    db: &Db,
    canonical: &str,
    hash: &str,
    now: UnixTime,
) -> Result<bool, StoreError> {
    const SQL: &str =
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE username_canonical = $3";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(hash).bind(now).bind(canonical).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Disables or enables a user; false when there is no such user.
pub async fn update_user_disabled(
    db: &Db,
    canonical: &str,
    disabled: bool,
    now: UnixTime,
) -> Result<bool, StoreError> {
    const SQL: &str =
        "UPDATE users SET disabled = $1, updated_at = $2 WHERE username_canonical = $3";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(disabled).bind(now).bind(canonical).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes a user (their codes and sessions go with them); false when there is no such user.
pub async fn delete_user(db: &Db, canonical: &str) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM users WHERE username_canonical = $1";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(canonical).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
