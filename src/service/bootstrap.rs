//! What the environment asks to exist at start: the demo user and the Flask-style clients
//! (`ALLOWED_CLIENTS` + `CLIENT_SECRETS` + `ALLOWED_REDIRECT_URIS`), created or updated.

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::digest::token_hash;
use crate::crypto::{PasswordHasher, SecretString};
use crate::oidc::{AuthMethod, ClientType, GrantType};
use crate::store::Db;
use crate::store::clients::{self as client_store, Client, OnConflict};

use super::ServiceError;
use super::admin::{self, UserSpec};

/// What happened to the demo user's password at start.
#[derive(Debug)]
pub enum DemoPassword {
    /// The user was created with this generated password, shown once.
    Generated(SecretString),
    /// Set from `DEMO_PASSWORD`.
    FromEnvironment,
    /// The user existed and no password was configured: left as it was.
    Unchanged,
}

/// What start-up created or updated, for the start banner.
#[derive(Debug, Default)]
pub struct Seeded {
    /// The demo user's name and password state.
    pub demo_user: Option<(String, DemoPassword)>,
    /// Clients registered from the environment.
    pub clients: Vec<String>,
}

/// Creates or updates the configured demo user and clients.
pub async fn seed(
    db: &Db,
    hasher: &PasswordHasher,
    clock: &Clock,
    config: &Config,
) -> Result<Seeded, ServiceError> {
    let mut seeded = Seeded::default();
    if let Some(demo) = &config.demo_user {
        let name = demo.username.as_str();
        let state = match admin::find_user(db, name).await {
            Err(ServiceError::UnknownUser(_)) => {
                let spec = UserSpec {
                    username: name.to_owned(),
                    password: demo.password.clone(),
                    email: None,
                    name: Some("Demo User".into()),
                };
                match admin::add_user(db, hasher, clock, spec).await? {
                    (_, Some(generated)) => DemoPassword::Generated(generated),
                    (_, None) => DemoPassword::FromEnvironment,
                }
            }
            Err(e) => return Err(e),
            Ok(_) => match &demo.password {
                Some(password) => {
                    admin::set_password(db, hasher, clock, name, Some(password.clone())).await?;
                    DemoPassword::FromEnvironment
                }
                None => DemoPassword::Unchanged,
            },
        };
        seeded.demo_user = Some((name.to_owned(), state));
    }
    for seed in &config.clients {
        let client = Client {
            client_id: seed.id.as_str().to_owned(),
            name: seed.id.as_str().to_owned(),
            client_type: ClientType::Confidential.as_str().to_owned(),
            secret_hash: Some(token_hash(seed.secret.expose())),
            // The platform's gateway posts its secret in the form body (DESIGN §2).
            token_endpoint_auth_method: AuthMethod::ClientSecretPost.as_str().to_owned(),
            grant_types: [GrantType::AuthorizationCode, GrantType::RefreshToken]
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: crate::oidc::scope::KNOWN_SCOPES.join(" "),
            audiences: Vec::new(),
            default_audience: None,
            jwks: None,
            may_act_for: Vec::new(),
            sealed_secret: None,
            // The Flask version's gateways sent users home after signing out; the root of
            // each redirect URI's origin is where they may return (exact match still applies).
            post_logout_redirect_uris: home_pages(&seed.redirect_uris),
            backchannel_logout_uri: None,
            first_party: true,
            id_token_alg: None,
            access_token_alg: None,
            redirect_uris: seed
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            created_at: clock.now(),
            updated_at: clock.now(),
        };
        client_store::insert_client(
            db,
            &client,
            OnConflict::UpdateSecretAndRedirects,
            clock.now(),
        )
        .await?;
        seeded.clients.push(client.client_id);
    }
    Ok(seeded)
}

/// `scheme://host[:port]/` of each of `uris`, once each.
fn home_pages(uris: &[crate::oidc::RedirectUri]) -> Vec<String> {
    let mut homes: Vec<String> = Vec::new();
    for uri in uris {
        if let Ok(url) = url::Url::parse(uri.as_str()) {
            let home = format!("{}/", url.origin().ascii_serialization());
            if home != "null/" && !homes.contains(&home) {
                homes.push(home);
            }
        }
    }
    homes
}
