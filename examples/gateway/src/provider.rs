//! The OpenID provider as the `openidconnect` crate sees it: discovery, the authorization
//! URL, the code exchange, ID token verification, the end-session URL.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreIdToken, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClaimsVerificationError, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, LogoutProviderMetadata, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, Scope, SignatureVerificationError,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::config::{ClientAuth, Config};
use crate::error::GatewayError;
use crate::provider_http::ProviderHttp;
use crate::session::{PendingLogin, SignedIn};

/// Discovery metadata with what the core types leave out: RP-Initiated Logout's
/// `end_session_endpoint`, and RFC 9207's flag.
type Metadata = ProviderMetadata<
    LogoutProviderMetadata<Rfc9207Metadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// RFC 9207 §3: whether the provider sends `iss` with its authorization responses.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct Rfc9207Metadata {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for Rfc9207Metadata {}

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// as discovery gave them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A discovery once it has been made: the client (which holds the JWKS it was given) and
/// what the client does not keep.
struct Discovered {
    client: Client,
    end_session: Option<EndSessionUrl>,
    iss_parameter: bool,
    jwks_uri: String,
    at: Instant,
}

/// Discovery is repeated (for a rotated key) at most this often.
const MIN_REDISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// The scopes we ask for: `openid` (added by the library), and the user's name and email.
const SCOPES: [&str; 2] = ["profile", "email"];

/// The provider, discovered, with the HTTP client used to talk to it.
pub struct Provider {
    config: Arc<Config>,
    http: ProviderHttp,
    current: RwLock<Arc<Discovered>>,
    rediscovery: tokio::sync::Mutex<()>,
}

impl Provider {
    /// Discovers the provider, retrying for a while: in a compose file the gateway may start
    /// before the provider is up.
    pub async fn discover(config: Arc<Config>, http: ProviderHttp) -> anyhow::Result<Self> {
        let mut attempt = 1;
        let discovered = loop {
            match discover(&config, &http).await {
                Ok(discovered) => break discovered,
                Err(error) if attempt < 15 => {
                    tracing::warn!(%error, attempt, "discovery failed; retrying in 2 s");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(error) => return Err(error.into()),
            }
        };
        Ok(Self {
            config,
            http,
            current: RwLock::new(Arc::new(discovered)),
            rediscovery: tokio::sync::Mutex::new(()),
        })
    }

    /// Where the provider's keys are fetched from (routed like every server-to-server call).
    pub fn jwks_uri(&self) -> String {
        self.http.route(&self.current().jwks_uri)
    }

    fn current(&self) -> Arc<Discovered> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Where to send the browser to sign in, and what to keep to finish it: a fresh `state`
    /// (CSRF), `nonce` (ID token replay) and PKCE S256 verifier (code injection).
    pub fn start_login(&self) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let discovered = self.current();
        let mut request = discovered.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.into()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        (url, pending)
    }

    /// RFC 9207 §2.4: the `iss` of an authorization response must be the issuer; when the
    /// provider says it always sends one, a response without one is refused.
    pub fn check_response_issuer(&self, iss: Option<&str>) -> Result<(), GatewayError> {
        match iss {
            Some(iss) if iss == self.config.issuer.as_str() => Ok(()),
            Some(_) => Err(GatewayError::WrongResponseIssuer),
            None if self.current().iss_parameter => Err(GatewayError::WrongResponseIssuer),
            None => Ok(()),
        }
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature with
    /// the provider's JWKS, `iss`, `aud`, `exp`, `nonce`, and `at_hash`.
    pub async fn finish_login(
        &self,
        code: String,
        pending: PendingLogin,
    ) -> Result<SignedIn, GatewayError> {
        let tokens: CoreTokenResponse = self
            .current()
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| GatewayError::Provider(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| GatewayError::TokenExchange(describe_token_error(&e)))?;
        let id_token = tokens.id_token().ok_or(GatewayError::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce);

        let seen = self.current();
        match signed_in(&seen.client, id_token, &tokens, &nonce) {
            Err(GatewayError::IdToken(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ))) => {
                // A key we do not know: the provider may have rotated since we discovered it.
                let fresh = self.rediscover(&seen).await?;
                signed_in(&fresh.client, id_token, &tokens, &nonce)
            }
            outcome => outcome,
        }
    }

    /// Discovers again (new JWKS), unless someone else just did or it is too soon.
    async fn rediscover(&self, seen: &Arc<Discovered>) -> Result<Arc<Discovered>, GatewayError> {
        let _one_at_a_time = self.rediscovery.lock().await;
        let current = self.current();
        if !Arc::ptr_eq(&current, seen) || current.at.elapsed() < MIN_REDISCOVERY_INTERVAL {
            return Ok(current);
        }
        tracing::info!("unknown ID token key: discovering the provider again");
        let fresh = Arc::new(discover(&self.config, &self.http).await?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// RP-Initiated Logout 1.0 §2: the provider's end-session URL with `id_token_hint`, our
    /// registered `post_logout_redirect_uri` and a `state`; `None` when the provider has no
    /// end-session endpoint.
    pub fn logout_url(&self, id_token: &str, state: &CsrfToken) -> Option<Url> {
        let end_session = self.current().end_session.clone()?;
        let mut request = LogoutRequest::from(end_session)
            .set_post_logout_redirect_uri(self.config.post_logout_redirect_url.clone())
            .set_state(state.clone());
        match id_token.parse::<CoreIdToken>() {
            Ok(hint) => request = request.set_id_token_hint(&hint),
            // Without a hint the provider asks the user to confirm instead.
            Err(error) => tracing::warn!(%error, "stored ID token unreadable; no id_token_hint"),
        }
        Some(request.http_get_url())
    }
}

/// One discovery: metadata (its `issuer` checked by the library), then the JWKS it names.
async fn discover(config: &Config, http: &ProviderHttp) -> Result<Discovered, GatewayError> {
    let metadata = Metadata::discover_async(config.issuer.clone(), http)
        .await
        .map_err(|e| GatewayError::Discovery(error_chain(&e)))?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let jwks_uri = metadata.jwks_uri().url().to_string();
    let iss_parameter = metadata
        .additional_metadata()
        .additional_metadata
        .authorization_response_iss_parameter_supported;
    let client = CoreClient::from_provider_metadata(
        metadata,
        config.client_id.clone(),
        config.client_secret.clone(),
    )
    .set_redirect_uri(config.redirect_url.clone())
    .set_auth_type(match config.client_auth {
        ClientAuth::SecretBasic => AuthType::BasicAuth,
        ClientAuth::SecretPost => AuthType::RequestBody,
    });
    Ok(Discovered {
        client,
        end_session,
        iss_parameter,
        jwks_uri,
        at: Instant::now(),
    })
}

/// The signed-in user from a verified ID token.
fn signed_in(
    client: &Client,
    id_token: &CoreIdToken,
    tokens: &CoreTokenResponse,
    nonce: &Nonce,
) -> Result<SignedIn, GatewayError> {
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .map_err(GatewayError::IdToken)?;
    // OIDC Core §3.1.3.8: at_hash binds the access token to this ID token.
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| GatewayError::AccessTokenHash(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| GatewayError::AccessTokenHash(e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| GatewayError::AccessTokenHash(e.to_string()))?;
        if actual != *expected {
            return Err(GatewayError::AccessTokenHash("mismatch".into()));
        }
    }
    Ok(SignedIn {
        subject: claims.subject().as_str().to_owned(),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned()),
        email: claims.email().map(|email| email.as_str().to_owned()),
        sid: verified_sid(&id_token.to_string()),
        id_token: id_token.to_string(),
        access_token: tokens.access_token().secret().clone(),
        scope: tokens
            .scopes()
            .map(|scopes| {
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    })
}

/// `sid` (OIDC Back-Channel Logout 1.0 §2.1) from an ID token whose signature and claims are
/// verified already: the library's core claims leave it out.
fn verified_sid(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("sid")?.as_str().map(str::to_owned)
}

/// The token endpoint's answer, in words: its RFC 6749 §5.2 error when it sent one.
fn describe_token_error<RE, T>(error: &openidconnect::RequestTokenError<RE, T>) -> String
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match error {
        openidconnect::RequestTokenError::ServerResponse(response) => response.to_string(),
        other => error_chain(other),
    }
}

/// An error with its sources, for the log and the error page.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
