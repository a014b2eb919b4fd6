//! The `clients` and `client_redirect_uris` tables.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::FromRow;

use super::{Db, StoreError, from_json_list, on_pool, to_json_list};
use crate::clock::UnixTime;

/// A stored client registration.
#[derive(Clone, Debug)]
pub struct Client {
    /// The client id.
    pub client_id: String,
    /// Display name, shown on the sign-in page.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// RFC 7591 `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: String,
    /// Allowed grant types.
    pub grant_types: Vec<String>,
    /// Space-separated scopes the client may request.
    pub scopes: String,
    /// Audiences the client may request tokens for.
    pub audiences: Vec<String>,
    /// Audience used when a token request names none.
    pub default_audience: Option<String>,
    /// Public keys for `private_key_jwt` (a JWKS document).
    pub jwks: Option<String>,
    /// Services it may request tokens on behalf of (the first version's `sub`).
    pub may_act_for: Vec<String>,
    /// The secret sealed under `KEY_ENCRYPTION_KEY` (`client_secret_jwt` clients only).
    pub sealed_secret: Option<String>,
    /// Where the browser may go after RP-initiated logout, verbatim.
    pub post_logout_redirect_uris: Vec<String>,
    /// Where it is told that a session ended (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// First-party clients never show a consent page.
    pub first_party: bool,
    /// Algorithm of its ID tokens (`id_token_signed_response_alg`); `None`: RS256.
    pub id_token_alg: Option<String>,
    /// Algorithm of its JWT access tokens; `None`: `ACCESS_TOKEN_ALG`.
    pub access_token_alg: Option<String>,
    /// Registered redirect URIs, verbatim.
    pub redirect_uris: Vec<String>,
    /// Creation time.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

#[derive(FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    token_endpoint_auth_method: String,
    grant_types: String,
    scopes: String,
    audiences: String,
    default_audience: Option<String>,
    jwks: Option<String>,
    may_act_for: String,
    sealed_secret: Option<String>,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    first_party: bool,
    id_token_signed_response_alg: Option<String>,
    access_token_signed_response_alg: Option<String>,
    created_at: UnixTime,
    updated_at: UnixTime,
}

impl ClientRow {
    fn into_client(self, redirect_uris: Vec<String>) -> Result<Client, StoreError> {
        Ok(Client {
            grant_types: from_json_list("clients.grant_types", &self.grant_types)?,
            audiences: from_json_list("clients.audiences", &self.audiences)?,
            client_id: self.client_id,
            name: self.name,
            client_type: self.client_type,
            secret_hash: self.secret_hash,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            scopes: self.scopes,
            default_audience: self.default_audience,
            jwks: self.jwks,
            may_act_for: from_json_list("clients.may_act_for", &self.may_act_for)?,
            sealed_secret: self.sealed_secret,
            post_logout_redirect_uris: from_json_list(
                "clients.post_logout_redirect_uris",
                &self.post_logout_redirect_uris,
            )?,
            backchannel_logout_uri: self.backchannel_logout_uri,
            first_party: self.first_party,
            id_token_alg: self.id_token_signed_response_alg,
            access_token_alg: self.access_token_signed_response_alg,
            redirect_uris,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "client_id, name, client_type, secret_hash, token_endpoint_auth_method, grant_types, scopes, \
                       audiences, default_audience, jwks, may_act_for, sealed_secret, post_logout_redirect_uris, \
                       backchannel_logout_uri, first_party, id_token_signed_response_alg, \
                       access_token_signed_response_alg, created_at, updated_at";

const INSERT: &str = "INSERT INTO clients (client_id, name, client_type, secret_hash, token_endpoint_auth_method, \
                      grant_types, scopes, audiences, default_audience, jwks, may_act_for, sealed_secret, \
                      post_logout_redirect_uris, backchannel_logout_uri, first_party, id_token_signed_response_alg, \
                      access_token_signed_response_alg, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $12, $13, $14, $15, $16, $17, $18, $10, $10)";

/// What to do when the client id is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse with [`StoreError::Conflict`] (`client add`).
    Refuse,
    /// Replace the secret and redirect URIs, keep the rest (clients from the environment).
    UpdateSecretAndRedirects,
}

/// Inserts a client and its redirect URIs in one transaction.
pub async fn insert_client(
    db: &Db,
    client: &Client,
    on_conflict: OnConflict,
    now: UnixTime,
) -> Result<(), StoreError> {
    let insert = match on_conflict {
        OnConflict::Refuse => INSERT.to_owned(),
        OnConflict::UpdateSecretAndRedirects => format!(
            "{INSERT} ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, \
             post_logout_redirect_uris = excluded.post_logout_redirect_uris, updated_at = excluded.updated_at"
        ),
    };
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(&insert)
            .bind(&client.client_id)
            .bind(&client.name)
            .bind(&client.client_type)
            .bind(&client.secret_hash)
            .bind(&client.token_endpoint_auth_method)
            .bind(to_json_list(&client.grant_types))
            .bind(&client.scopes)
            .bind(to_json_list(&client.audiences))
            .bind(&client.default_audience)
            .bind(now)
            .bind(&client.jwks)
            .bind(to_json_list(&client.may_act_for))
            .bind(&client.sealed_secret)
            .bind(to_json_list(&client.post_logout_redirect_uris))
            .bind(&client.backchannel_logout_uri)
            .bind(client.first_party)
            .bind(&client.id_token_alg)
            .bind(&client.access_token_alg)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = $1")
            .bind(&client.client_id)
            .execute(&mut *tx)
            .await?;
        for uri in &client.redirect_uris {
            sqlx::query("INSERT INTO client_redirect_uris (client_id, uri) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&client.client_id)
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
    });
    note_write();
    Ok(())
}

/// Every write to `clients` bumps its generation in the same transaction (migration 0010).
const BUMP: &str = "UPDATE generations SET value = value + 1 WHERE name = 'clients'";

/// Writes to `clients` made by this process, counted: a cache of registrations stamps each
/// entry with it and [`clients_generation`]'s changes, and drops entries whose stamp is old.
/// Process-wide on purpose: applications sharing a process (tests) only invalidate each
/// other's caches more often, never less.
static LOCAL_WRITES: AtomicU64 = AtomicU64::new(0);

fn note_write() {
    LOCAL_WRITES.fetch_add(1, Ordering::SeqCst);
}

/// How many writes to `clients` this process has made.
pub fn local_writes() -> u64 {
    LOCAL_WRITES.load(Ordering::SeqCst)
}

/// The database's count of writes to `clients`, by every instance and the CLI.
pub async fn clients_generation(db: &Db) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT value FROM generations WHERE name = 'clients'";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await)?)
}

/// The client with this id, with its redirect URIs.
pub async fn find_client(db: &Db, client_id: &str) -> Result<Option<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1");
    let row = on_pool!(db, pool => sqlx::query_as::<_, ClientRow>(&sql).bind(client_id).fetch_optional(pool).await)?;
    let Some(row) = row else { return Ok(None) };
    const URIS: &str = "SELECT uri FROM client_redirect_uris WHERE client_id = $1 ORDER BY uri";
    let uris: Vec<(String,)> =
        on_pool!(db, pool => sqlx::query_as(URIS).bind(client_id).fetch_all(pool).await)?;
    row.into_client(uris.into_iter().map(|(u,)| u).collect())
        .map(Some)
}

/// Every client with its redirect URIs, by id.
pub async fn list_clients(db: &Db) -> Result<Vec<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY client_id");
    let rows = on_pool!(db, pool => sqlx::query_as::<_, ClientRow>(&sql).fetch_all(pool).await)?;
    const URIS: &str = "SELECT client_id, uri FROM client_redirect_uris ORDER BY client_id, uri";
    let uris: Vec<(String, String)> =
        on_pool!(db, pool => sqlx::query_as(URIS).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|row| {
            let mine = uris
                .iter()
                .filter(|(c, _)| *c == row.client_id)
                .map(|(_, u)| u.clone())
                .collect();
            row.into_client(mine)
        })
        .collect()
}

/// Replaces a client's secret (its hash, and its sealed copy for `client_secret_jwt`
/// clients); false when there is no such client.
pub async fn update_client_secret(
    db: &Db,
    client_id: &str,
    secret_hash: &str,
    sealed_secret: Option<&str>,
    now: UnixTime,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE clients SET secret_hash = $1, sealed_secret = $2, updated_at = $3 WHERE client_id = $4";
    let done = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(SQL)
            .bind(secret_hash)
            .bind(sealed_secret)
            .bind(now)
            .bind(client_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        done
    });
    note_write();
    Ok(done == 1)
}

/// Deletes a client, its redirect URIs and its pending codes; false when there is no such client.
pub async fn delete_client(db: &Db, client_id: &str) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM clients WHERE client_id = $1";
    let done = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(SQL).bind(client_id).execute(&mut *tx).await?.rows_affected();
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        done
    });
    note_write();
    Ok(done == 1)
}

/// Records a client assertion's `jti` until `expires_at`; [`StoreError::Conflict`] when it
/// was used before (RFC 7523 §3: a `jti` is accepted once).
pub async fn insert_used_assertion(
    db: &Db,
    client_id: &str,
    jti: &str,
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO used_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(StoreError::from_write)?;
    Ok(())
}

/// The signing algorithms clients have asked for (ID tokens or access tokens), distinct.
pub async fn requested_signing_algs(db: &Db) -> Result<Vec<String>, StoreError> {
    const SQL: &str = "SELECT id_token_signed_response_alg FROM clients \
                       WHERE id_token_signed_response_alg IS NOT NULL \
                       UNION SELECT access_token_signed_response_alg FROM clients \
                       WHERE access_token_signed_response_alg IS NOT NULL";
    let rows: Vec<(String,)> = on_pool!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|(a,)| a).collect())
}
