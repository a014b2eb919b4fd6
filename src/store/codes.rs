//! The `authorization_codes` table.

use sqlx::FromRow;

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// A stored authorization code (the code itself is never stored, only its hash).
#[derive(Clone, Debug, FromRow)]
pub struct AuthorizationCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who signed in.
    pub user_id: String,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// Granted scopes.
    pub scope: String,
    /// The request's nonce.
    pub nonce: Option<String>,
    /// S256 PKCE challenge.
    pub code_challenge: Option<String>,
    /// The session's `sid`.
    pub session_id: Option<String>,
    /// When the user signed in.
    pub auth_time: UnixTime,
    /// Issue time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// When it was redeemed.
    pub consumed_at: Option<UnixTime>,
    /// The access token issued for it.
    pub access_token_jti: Option<String>,
}

const COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, session_id, \
                       auth_time, created_at, expires_at, consumed_at, access_token_jti";

/// Stores a new code.
pub async fn insert_code(db: &Db, code: &AuthorizationCode) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
                       code_challenge, code_challenge_method, session_id, auth_time, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 IS NULL THEN NULL ELSE 'S256' END, $8, $9, $10, $11)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(&code.code_hash)
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.redirect_uri)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(&code.session_id)
        .bind(code.auth_time)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redemption {
    /// First use: the code, now marked consumed with `access_token_jti`.
    Redeemed(AuthorizationCode),
    /// Already redeemed before: a replay. The row as it was consumed.
    Replayed(AuthorizationCode),
    /// Unknown or expired.
    Invalid,
}

/// Marks the code consumed and records the access token issued for it, in one atomic
/// statement, so a code redeemed twice at once succeeds once (RFC 6749 §4.1.2).
pub async fn consume_code(
    db: &Db,
    code_hash: &str,
    jti: &str,
    now: UnixTime,
) -> Result<Redemption, StoreError> {
    let consume = format!(
        "UPDATE authorization_codes SET consumed_at = $1, access_token_jti = $2 \
         WHERE code_hash = $3 AND consumed_at IS NULL AND expires_at > $1 RETURNING {COLUMNS}"
    );
    let redeemed = on_pool!(db, pool => sqlx::query_as::<_, AuthorizationCode>(&consume)
        .bind(now)
        .bind(jti)
        .bind(code_hash)
        .fetch_optional(pool)
        .await)?;
    if let Some(code) = redeemed {
        return Ok(Redemption::Redeemed(code));
    }
    let find = format!(
        "SELECT {COLUMNS} FROM authorization_codes WHERE code_hash = $1 AND consumed_at IS NOT NULL"
    );
    let replayed = on_pool!(db, pool => sqlx::query_as::<_, AuthorizationCode>(&find)
        .bind(code_hash)
        .fetch_optional(pool)
        .await)?;
    Ok(replayed.map_or(Redemption::Invalid, Redemption::Replayed))
}
