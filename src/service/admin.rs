//! Operators' changes to users and clients (the CLI's `user` and `client` commands).

use crate::audit;
use crate::clock::Clock;
use crate::config::{Config, Mode};
use crate::crypto::digest::token_hash;
use crate::crypto::jwt::client_jwks;
use crate::crypto::random::random_token;
use crate::crypto::seal::Sealer;
use crate::crypto::secret::weakness;
use crate::crypto::{KeyAlg, PasswordHasher, SecretString};
use crate::oidc::{AuthMethod, ClientId, ClientType, GrantType, RedirectUri, ScopeSet, Username};
use crate::store::clients::{self as client_store, Client, OnConflict};
use crate::store::users::{self as user_store, NewUser, User};
use crate::store::{Db, StoreError};

use super::ServiceError;
use super::backchannel::queue_session_logout;

/// Bytes of randomness in generated passwords and client secrets (256 bits).
const GENERATED_SECRET_BYTES: usize = 32;

/// A user to create.
#[derive(Debug)]
pub struct UserSpec {
    /// Login name.
    pub username: String,
    /// Password; generated (and returned once) when absent.
    pub password: Option<SecretString>,
    /// Email address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// Creates a user. Returns the user and the generated password, if one was generated.
pub async fn add_user(
    db: &Db,
    hasher: &PasswordHasher,
    clock: &Clock,
    spec: UserSpec,
) -> Result<(User, Option<SecretString>), ServiceError> {
    let username =
        Username::parse(&spec.username).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let (password, generated) = password_or_generated(spec.password)?;
    let hash = hasher.hash(password).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let new = NewUser {
        id: &id,
        username: username.as_str(),
        username_canonical: &username.canonical(),
        password_hash: &hash,
        email: spec.email.as_deref(),
        name: spec.name.as_deref(),
    };
    match user_store::insert_user(db, &new, clock.now()).await {
        Err(StoreError::Conflict) => return Err(ServiceError::DuplicateUser(username.to_string())),
        other => other?,
    }
    let user = find_user(db, username.as_str()).await?;
    audit!(info, "admin.user_added", user_id = %user.id);
    Ok((user, generated))
}

/// The user with this login name (case-insensitive).
pub async fn find_user(db: &Db, username: &str) -> Result<User, ServiceError> {
    let canonical = canonical(username)?;
    user_store::find_user_by_username(db, &canonical)
        .await?
        .ok_or_else(|| ServiceError::UnknownUser(username.to_owned()))
}

/// Every user.
pub async fn list_users(db: &Db) -> Result<Vec<User>, ServiceError> {
    Ok(user_store::list_users(db).await?)
}

/// Sets a user's password; returns the generated one when none was given.
pub async fn set_password(
    db: &Db,
    hasher: &PasswordHasher,
    clock: &Clock,
    username: &str,
    password: Option<SecretString>,
) -> Result<Option<SecretString>, ServiceError> {
    let canonical = canonical(username)?;
    let (password, generated) = password_or_generated(password)?;
    let hash = hasher.hash(password).await?;
    if !user_store::update_user_password(db, &canonical, &hash, clock.now()).await? {
        return Err(ServiceError::UnknownUser(username.to_owned()));
    }
    audit!(info, "admin.user_password_changed", username = %canonical);
    Ok(generated)
}

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// May sign in.
    Enabled,
    /// May not sign in or refresh.
    Disabled,
}

/// Enables or disables a user.
pub async fn set_account_state(
    db: &Db,
    clock: &Clock,
    username: &str,
    state: AccountState,
) -> Result<(), ServiceError> {
    let canonical = canonical(username)?;
    let disabled = state == AccountState::Disabled;
    if !user_store::update_user_disabled(db, &canonical, disabled, clock.now()).await? {
        return Err(ServiceError::UnknownUser(username.to_owned()));
    }
    let user = find_user(db, username).await?;
    // A disabled account is signed out at once, and its applications are told.
    if disabled {
        end_user_sessions(db, clock, &user.id).await?;
    }
    audit!(info, "admin.user_state_changed", user_id = %user.id, ?state);
    Ok(())
}

/// Deletes a user for good; their id is never reused. Their applications are told that
/// their sessions ended.
pub async fn delete_user(db: &Db, clock: &Clock, username: &str) -> Result<(), ServiceError> {
    let user = find_user(db, username).await?;
    end_user_sessions(db, clock, &user.id).await?;
    if !user_store::delete_user(db, &canonical(username)?).await? {
        return Err(ServiceError::UnknownUser(username.to_owned()));
    }
    audit!(info, "admin.user_deleted", user_id = %user.id);
    Ok(())
}

/// One of a user's browser sessions, for `user sessions`.
#[derive(Debug)]
pub struct SessionReport {
    /// The session's public id (the ID token's `sid`).
    pub sid: Option<String>,
    /// When the user signed in.
    pub auth_time: Option<i64>,
    /// When it ends unless used.
    pub expires_at: i64,
}

/// A user's live browser sessions.
pub async fn user_sessions(
    db: &Db,
    clock: &Clock,
    username: &str,
) -> Result<Vec<SessionReport>, ServiceError> {
    let user = find_user(db, username).await?;
    Ok(
        crate::store::sessions::list_user_sessions(db, &user.id, clock.now())
            .await?
            .into_iter()
            .map(|s| SessionReport {
                sid: s.sid,
                auth_time: s.auth_time,
                expires_at: s.expires_at,
            })
            .collect(),
    )
}

/// Signs a user out everywhere: ends every browser session and revokes every refresh token.
/// Returns how many of each.
pub async fn logout_user(
    db: &Db,
    clock: &Clock,
    username: &str,
) -> Result<(u64, u64), ServiceError> {
    let user = find_user(db, username).await?;
    let sessions = end_user_sessions(db, clock, &user.id).await?;
    let tokens =
        crate::store::refresh_tokens::revoke_user_tokens(db, &user.id, clock.now()).await?;
    audit!(info, "admin.user_logged_out", user_id = %user.id, sessions, tokens);
    Ok((sessions, tokens))
}

/// Ends a user's browser sessions and queues back-channel logout for the clients they
/// signed in to (the running server sends them); returns how many sessions there were.
async fn end_user_sessions(db: &Db, clock: &Clock, user_id: &str) -> Result<u64, ServiceError> {
    let live = crate::store::sessions::list_user_sessions(db, user_id, clock.now()).await?;
    let ended = crate::store::sessions::delete_user_sessions(db, user_id).await?;
    for sid in live.iter().filter_map(|s| s.sid.as_deref()) {
        queue_session_logout(db, clock, sid).await?;
    }
    Ok(ended)
}

/// Copies users, clients, signing keys and consents into `target`, a database that must be
/// migrated and empty (copy before the first start on it).
pub async fn copy_to(source: &Db, target: &Db) -> Result<crate::store::copy::Copied, ServiceError> {
    if !crate::store::copy::is_empty(target).await? {
        return Err(ServiceError::Invalid(
            "the target database already has users, clients or keys; copy into a new, empty database".into(),
        ));
    }
    let copied = crate::store::copy::copy_all(source, target).await?;
    audit!(
        info,
        "admin.database_copied",
        users = copied.users,
        clients = copied.clients,
        keys = copied.keys
    );
    Ok(copied)
}

/// A client to register.
#[derive(Debug)]
pub struct ClientSpec {
    /// Client id.
    pub client_id: String,
    /// Display name (defaults to the id).
    pub name: Option<String>,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Redirect URIs, as given.
    pub redirect_uris: Vec<String>,
    /// Grant types; defaults to `authorization_code` + `refresh_token` with redirect URIs,
    /// else `client_credentials`.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may request; defaults to every OIDC scope for sign-in clients.
    pub scopes: Option<String>,
    /// Audiences it may request tokens for.
    pub audiences: Vec<String>,
    /// Audience when a request names none.
    pub default_audience: Option<String>,
    /// Token endpoint authentication; defaults to `client_secret_basic` (or `none` if public).
    pub auth_method: Option<AuthMethod>,
    /// Secret; generated (and returned once) when absent for a confidential client.
    pub secret: Option<SecretString>,
    /// Public keys (a JWKS, or one JWK) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Services it may request tokens on behalf of.
    pub may_act_for: Vec<String>,
    /// Where the browser may be sent after signing out (RP-Initiated Logout).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where it is told that a session ended (Back-Channel Logout).
    pub backchannel_logout_uri: Option<String>,
    /// False for a third-party client: users are asked for consent.
    pub first_party: bool,
    /// How its ID tokens are signed; `None`: RS256.
    pub id_token_alg: Option<KeyAlg>,
    /// How its JWT access tokens are signed; `None`: `ACCESS_TOKEN_ALG`.
    pub access_token_alg: Option<KeyAlg>,
}

/// Registers a client. Returns it and its generated secret, if one was generated.
pub async fn add_client(
    db: &Db,
    clock: &Clock,
    config: &Config,
    spec: ClientSpec,
) -> Result<(Client, Option<SecretString>), ServiceError> {
    let id = ClientId::parse(&spec.client_id).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let redirect_uris = spec
        .redirect_uris
        .iter()
        .map(|u| {
            RedirectUri::parse(u, config.redirect_uri_policy())
                .map(|r| r.as_str().to_owned())
                .map_err(|e| ServiceError::Invalid(format!("redirect URI {u}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let post_logout_redirect_uris = spec
        .post_logout_redirect_uris
        .iter()
        .map(|u| {
            RedirectUri::parse(u, config.redirect_uri_policy())
                .map(|r| r.as_str().to_owned())
                .map_err(|e| ServiceError::Invalid(format!("post-logout redirect URI {u}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backchannel_logout_uri = spec
        .backchannel_logout_uri
        .as_deref()
        .map(|u| {
            crate::oidc::logout::backchannel_logout_uri(u, spec.client_type)
                .map_err(|e| ServiceError::Invalid(format!("back-channel logout URI {u}: {e}")))
        })
        .transpose()?;
    let grant_types = if spec.grant_types.is_empty() {
        if redirect_uris.is_empty() {
            vec![GrantType::ClientCredentials]
        } else {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        }
    } else {
        spec.grant_types
    };
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(ServiceError::Invalid(
            "the authorization_code grant needs at least one --redirect-uri".into(),
        ));
    }
    let auth_method = match (spec.client_type, spec.auth_method) {
        (ClientType::Public, None | Some(AuthMethod::None)) => AuthMethod::None,
        (ClientType::Public, Some(_)) => {
            return Err(ServiceError::Invalid(
                "public clients authenticate with `none`".into(),
            ));
        }
        (ClientType::Confidential, Some(AuthMethod::None)) => {
            return Err(ServiceError::Invalid(
                "confidential clients must authenticate; use --public for `none`".into(),
            ));
        }
        (ClientType::Confidential, method) => method.unwrap_or(AuthMethod::ClientSecretBasic),
    };
    if spec.client_type == ClientType::Public && grant_types.contains(&GrantType::ClientCredentials)
    {
        return Err(ServiceError::Invalid(
            "public clients cannot use client_credentials".into(),
        ));
    }
    let default_scopes = if grant_types.contains(&GrantType::AuthorizationCode) {
        crate::oidc::scope::KNOWN_SCOPES.join(" ")
    } else {
        String::new()
    };
    let scopes = ScopeSet::parse(spec.scopes.as_deref().unwrap_or(&default_scopes))
        .map_err(|e| ServiceError::Invalid(format!("scopes: {e}")))?;
    if let Some(aud) = &spec.default_audience
        && !spec.audiences.contains(aud)
    {
        return Err(ServiceError::Invalid(
            "the default audience must be one of --audience".into(),
        ));
    }
    // RFC 7523 HS256 assertions are checked with the secret itself, so a client_secret_jwt
    // client's secret is also kept sealed under KEY_ENCRYPTION_KEY.
    let sealer = match auth_method {
        AuthMethod::ClientSecretJwt => Some(sealer(config)?),
        _ => None,
    };
    let jwks = match (auth_method, spec.jwks) {
        (AuthMethod::PrivateKeyJwt, Some(text)) => Some(
            client_jwks(&text).map_err(|e| ServiceError::Invalid(format!("--jwks-file: {e}")))?,
        ),
        (AuthMethod::PrivateKeyJwt, None) => {
            return Err(ServiceError::Invalid(
                "private_key_jwt needs the client's public keys (--jwks-file)".into(),
            ));
        }
        (_, Some(_)) => {
            return Err(ServiceError::Invalid(
                "--jwks-file is only for private_key_jwt".into(),
            ));
        }
        (_, None) => None,
    };
    let (secret_hash, sealed_secret, generated) = match (spec.client_type, auth_method) {
        (ClientType::Public, _) | (ClientType::Confidential, AuthMethod::PrivateKeyJwt) => {
            if spec.secret.is_some() {
                return Err(ServiceError::Invalid(
                    "this client authenticates without a secret".into(),
                ));
            }
            (None, None, None)
        }
        (ClientType::Confidential, _) => {
            let (secret, generated) = client_secret_or_generated(spec.secret, config.mode)?;
            let sealed = sealer
                .as_ref()
                .map(|s| s.seal(&secret, id.as_str()))
                .transpose()?;
            (Some(token_hash(secret.expose())), sealed, generated)
        }
    };
    let client = Client {
        client_id: id.as_str().to_owned(),
        name: spec.name.unwrap_or_else(|| id.as_str().to_owned()),
        client_type: spec.client_type.as_str().to_owned(),
        secret_hash,
        token_endpoint_auth_method: auth_method.as_str().to_owned(),
        grant_types: grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
        scopes: scopes.to_string(),
        audiences: spec.audiences,
        default_audience: spec.default_audience,
        jwks,
        may_act_for: spec.may_act_for,
        sealed_secret,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        first_party: spec.first_party,
        id_token_alg: spec.id_token_alg.map(|a| a.as_str().to_owned()),
        access_token_alg: spec.access_token_alg.map(|a| a.as_str().to_owned()),
        redirect_uris,
        created_at: clock.now(),
        updated_at: clock.now(),
    };
    match client_store::insert_client(db, &client, OnConflict::Refuse, clock.now()).await {
        Err(StoreError::Conflict) => return Err(ServiceError::DuplicateClient(id.to_string())),
        other => other?,
    }
    // Its algorithms get a key now, so its first token does not wait for one.
    let algs: Vec<KeyAlg> = [spec.id_token_alg, spec.access_token_alg]
        .into_iter()
        .flatten()
        .collect();
    super::keys::ensure_signing_keys_for(db, clock, config, &algs).await?;
    audit!(info, "admin.client_added", client_id = %id);
    Ok((client, generated))
}

/// Every client.
pub async fn list_clients(db: &Db) -> Result<Vec<Client>, ServiceError> {
    Ok(client_store::list_clients(db).await?)
}

/// One client.
pub async fn show_client(db: &Db, client_id: &str) -> Result<Client, ServiceError> {
    client_store::find_client(db, client_id)
        .await?
        .ok_or_else(|| ServiceError::UnknownClient(client_id.to_owned()))
}

/// Removes a client and everything pending for it.
pub async fn remove_client(db: &Db, client_id: &str) -> Result<(), ServiceError> {
    if !client_store::delete_client(db, client_id).await? {
        return Err(ServiceError::UnknownClient(client_id.to_owned()));
    }
    audit!(info, "admin.client_removed", client_id);
    Ok(())
}

/// Gives a confidential client a new generated secret, returned once; the old one stops working.
pub async fn rotate_client_secret(
    db: &Db,
    clock: &Clock,
    config: &Config,
    client_id: &str,
) -> Result<SecretString, ServiceError> {
    let client = show_client(db, client_id).await?;
    if client.secret_hash.is_none() {
        return Err(ServiceError::Invalid(format!(
            "client {client_id} has no secret to rotate"
        )));
    }
    let secret = SecretString::new(random_token(GENERATED_SECRET_BYTES)?);
    let sealed = match client.sealed_secret {
        Some(_) => Some(sealer(config)?.seal(&secret, client_id)?),
        None => None,
    };
    client_store::update_client_secret(
        db,
        client_id,
        &token_hash(secret.expose()),
        sealed.as_deref(),
        clock.now(),
    )
    .await?;
    audit!(info, "admin.client_secret_rotated", client_id);
    Ok(secret)
}

/// The sealer for secrets the server must read back; needs `KEY_ENCRYPTION_KEY`.
fn sealer(config: &Config) -> Result<Sealer, ServiceError> {
    let key = config.key_encryption_key.as_ref().ok_or_else(|| {
        ServiceError::Invalid(
            "client_secret_jwt needs KEY_ENCRYPTION_KEY to keep the secret sealed".into(),
        )
    })?;
    Ok(Sealer::new(key)?)
}

fn canonical(username: &str) -> Result<String, ServiceError> {
    Username::parse(username)
        .map(|u| u.canonical())
        .map_err(|_| ServiceError::UnknownUser(username.to_owned()))
}

fn password_or_generated(
    given: Option<SecretString>,
) -> Result<(SecretString, Option<SecretString>), ServiceError> {
    match given {
        Some(p) if p.expose().is_empty() => {
            Err(ServiceError::Invalid("the password is empty".into()))
        }
        Some(p) if p.expose().len() > 1024 => Err(ServiceError::Invalid(
            "the password is longer than 1024 bytes".into(),
        )),
        Some(p) => Ok((p, None)),
        None => {
            let generated = SecretString::new(random_token(18)?);
            Ok((generated.clone(), Some(generated)))
        }
    }
}

/// Client secrets are checked with a fast hash (DESIGN §8), so they must be high-entropy:
/// outside dev mode a given secret must look random.
fn client_secret_or_generated(
    given: Option<SecretString>,
    mode: Mode,
) -> Result<(SecretString, Option<SecretString>), ServiceError> {
    match given {
        Some(secret) => {
            if let (Some(why), Mode::Production) = (weakness(secret.expose(), 32), mode) {
                return Err(ServiceError::Invalid(format!(
                    "the client secret {why}; omit it to have a strong one generated"
                )));
            }
            Ok((secret, None))
        }
        None => {
            let generated = SecretString::new(random_token(GENERATED_SECRET_BYTES)?);
            Ok((generated.clone(), Some(generated)))
        }
    }
}
