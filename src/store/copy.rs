//! Copying a deployment's lasting data to another database (SQLite to PostgreSQL when a
//! platform outgrows one machine): users, clients, signing keys and consents. Sessions, codes
//! and tokens are not copied: they are short-lived, and users simply sign in again.

use sqlx::FromRow;

use super::clients::list_clients;
use super::keys::list_keys;
use super::{Db, StoreError, on_pool, to_json_list};
use crate::clock::UnixTime;

/// How many rows of each kind were copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Users.
    pub users: usize,
    /// Clients (with their redirect URIs).
    pub clients: usize,
    /// Signing keys, retired ones included (their tokens may still be alive).
    pub keys: usize,
    /// Consents given to third-party clients.
    pub consents: usize,
}

#[derive(FromRow)]
struct UserRow {
    id: String,
    username: String,
    username_canonical: String,
    password_hash: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    disabled: bool,
    created_at: UnixTime,
    updated_at: UnixTime,
}

#[derive(FromRow)]
struct ConsentRow {
    user_id: String,
    client_id: String,
    scope: String,
    granted_at: UnixTime,
}

/// Whether `db` holds no users, clients or keys (a fresh, migrated database).
pub async fn is_empty(db: &Db) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM clients) \
                       + (SELECT COUNT(*) FROM signing_keys)";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
    Ok(n == 0)
}

/// Copies users, clients, keys and consents from `from` into `to`, in one transaction on
/// `to`: all or nothing. The caller checks that `to` is empty.
pub async fn copy_all(from: &Db, to: &Db) -> Result<Copied, StoreError> {
    const USERS: &str = "SELECT id, username, username_canonical, password_hash, email, email_verified, name, \
                         disabled, created_at, updated_at FROM users ORDER BY created_at, id";
    const CONSENTS: &str =
        "SELECT user_id, client_id, scope, granted_at FROM consents ORDER BY user_id, client_id";
    let users: Vec<UserRow> = on_pool!(from, pool => sqlx::query_as(USERS).fetch_all(pool).await)?;
    let clients = list_clients(from).await?;
    let keys = list_keys(from).await?;
    let consents: Vec<ConsentRow> =
        on_pool!(from, pool => sqlx::query_as(CONSENTS).fetch_all(pool).await)?;

    const INSERT_USER: &str = "INSERT INTO users (id, username, username_canonical, password_hash, email, \
                               email_verified, name, disabled, created_at, updated_at) \
                               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, name, client_type, secret_hash, \
                                 token_endpoint_auth_method, grant_types, scopes, audiences, default_audience, jwks, \
                                 may_act_for, sealed_secret, post_logout_redirect_uris, backchannel_logout_uri, \
                                 first_party, created_at, updated_at, id_token_signed_response_alg, \
                                 access_token_signed_response_alg) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
    const INSERT_URI: &str = "INSERT INTO client_redirect_uris (client_id, uri) VALUES ($1, $2)";
    const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at, retired_at) \
                              VALUES ($1, $2, $3, $4, $5, $6)";
    const INSERT_CONSENT: &str =
        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)";
    on_pool!(to, pool => {
        let mut tx = pool.begin().await?;
        for u in &users {
            sqlx::query(INSERT_USER)
                .bind(&u.id)
                .bind(&u.username)
                .bind(&u.username_canonical)
                .bind(&u.password_hash)
                .bind(&u.email)
                .bind(u.email_verified)
                .bind(&u.name)
                .bind(u.disabled)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
        }
        for c in &clients {
            sqlx::query(INSERT_CLIENT)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&c.client_type)
                .bind(&c.secret_hash)
                .bind(&c.token_endpoint_auth_method)
                .bind(to_json_list(&c.grant_types))
                .bind(&c.scopes)
                .bind(to_json_list(&c.audiences))
                .bind(&c.default_audience)
                .bind(&c.jwks)
                .bind(to_json_list(&c.may_act_for))
                .bind(&c.sealed_secret)
                .bind(to_json_list(&c.post_logout_redirect_uris))
                .bind(&c.backchannel_logout_uri)
                .bind(c.first_party)
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(&c.id_token_alg)
                .bind(&c.access_token_alg)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            for uri in &c.redirect_uris {
                sqlx::query(INSERT_URI).bind(&c.client_id).bind(uri).execute(&mut *tx).await?;
            }
        }
        for k in &keys {
            sqlx::query(INSERT_KEY)
                .bind(&k.kid)
                .bind(&k.alg)
                .bind(&k.private_key)
                .bind(k.created_at)
                .bind(k.activates_at)
                .bind(k.retired_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
        }
        for c in &consents {
            sqlx::query(INSERT_CONSENT)
                .bind(&c.user_id)
                .bind(&c.client_id)
                .bind(&c.scope)
                .bind(c.granted_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    });
    Ok(Copied {
        users: users.len(),
        clients: clients.len(),
        keys: keys.len(),
        consents: consents.len(),
    })
}
