//! `POST /token`: client authentication, then the grant.

use serde::Serialize;

use crate::crypto::KeyAlg;
use crate::crypto::digest::token_hash;
use crate::crypto::jwt::TokenType;
use crate::crypto::random::random_token;
use crate::oidc::claims::{Actor, IdTokenClaims, TokenClaims, UserClaims, at_hash};
use crate::oidc::pkce::CodeChallenge;
use crate::oidc::token::{Grant, machine_grant, parse_grant, presented_client};
use crate::oidc::{ErrorCode, GrantType, OAuthError, Params, Registration, ScopeSet};
use crate::state::AppState;
use crate::store::codes::{self, Redemption};
use crate::store::users::{self, User};

use super::ServiceError;
use super::clients::authenticate;
use super::tokens::{TokenSigner, off_the_runtime, sign_for_audience};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The access token (an RFC 9068 JWT).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The ID token, for OpenID requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A refresh token, when offline access was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes.
    pub scope: String,
}

fn invalid_grant(description: &'static str) -> ServiceError {
    ServiceError::OAuth(OAuthError::new(ErrorCode::InvalidGrant, description))
}

/// Authenticates the client and redeems its grant.
pub async fn token(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<TokenResponse, ServiceError> {
    let credentials = presented_client(authorization, params)?;
    let grant = parse_grant(params)?;
    let client = authenticate(state, &credentials).await?;
    match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            redeem_code(
                state,
                &client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
        Grant::RefreshToken {
            refresh_token,
            scope,
        } => super::refresh::redeem(state, &client, &refresh_token, scope.as_deref()).await,
        Grant::ClientCredentials { scope, audience } => {
            let (scope, audience) = machine_grant(&client, scope.as_deref(), audience.as_deref())?;
            let access_token =
                mint_machine_token(state, &client, client.id.as_str(), &scope, &audience).await?;
            Ok(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in: state.config.token_ttl_secs,
                id_token: None,
                refresh_token: None,
                scope: scope.to_string(),
            })
        }
    }
}

/// The first version's service token response (DESIGN §2): `token` and `access_token` alike.
#[derive(Debug, Serialize)]
pub struct LegacyTokenResponse {
    /// The token, under the first version's name.
    pub token: String,
    /// The same token, under the OAuth name.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// The first version's `POST /token` with `{"sub", "aud"}`, now for an authenticated client
/// only (HTTP Basic): `sub` defaults to the client and may not name another, `aud` must be one
/// the client may request (or its default).
pub async fn legacy_service_token(
    state: &AppState,
    authorization: Option<&str>,
    sub: Option<&str>,
    aud: Option<&str>,
) -> Result<LegacyTokenResponse, ServiceError> {
    let credentials = presented_client(authorization, &Params::default())?;
    let client = authenticate(state, &credentials).await?;
    // Another service's name as `sub` only if the registration says this client may act for
    // it; the token then says who acted (RFC 8693 §4.1 `act`).
    let subject = match sub {
        Some(s)
            if s != client.id.as_str()
                && !client.may_act_for.iter().any(|allowed| allowed == s) =>
        {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not request tokens on behalf of that subject",
            )
            .into());
        }
        Some(s) => s.to_owned(),
        None => client.id.as_str().to_owned(),
    };
    let (scope, audience) = machine_grant(&client, None, aud)?;
    let token = mint_machine_token(state, &client, &subject, &scope, &audience).await?;
    Ok(LegacyTokenResponse {
        access_token: token.clone(),
        token,
        token_type: "Bearer",
        expires_in: state.config.token_ttl_secs,
    })
}

/// A service access token (RFC 9068), signed for its audience: HS256 for the
/// `HS256_AUDIENCES`, RS256 otherwise. `subject` is the client itself, or a service it may act
/// for, named then in `act`.
pub async fn mint_machine_token(
    state: &AppState,
    client: &Registration,
    subject: &str,
    scope: &ScopeSet,
    audience: &str,
) -> Result<String, ServiceError> {
    let now = state.clock.now();
    let claims = TokenClaims {
        iss: state.config.issuer.as_str().to_owned(),
        sub: subject.to_owned(),
        aud: audience.to_owned(),
        iat: now,
        exp: now + state.config.token_ttl_secs,
        jti: random_token(16)?,
        client_id: Some(client.id.as_str().to_owned()),
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        auth_time: None,
        sid: None,
        act: (subject != client.id.as_str()).then(|| Actor {
            sub: client.id.as_str().to_owned(),
        }),
    };
    let alg = client
        .access_token_alg
        .unwrap_or(state.config.access_token_alg);
    let token = sign_for_audience(state, audience, alg, TokenType::AccessToken, claims).await?;
    crate::audit!(info, "token.issued", client_id = %client.id, subject, audience, grant = "client_credentials");
    state.metrics.token_issued("client_credentials");
    Ok(token)
}

/// RFC 6749 §4.1.3 and OIDC Core §3.1.3.2.
async fn redeem_code(
    state: &AppState,
    client: &Registration,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, ServiceError> {
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        )
        .into());
    }
    let now = state.clock.now();
    let jti = random_token(16)?;
    let stored = match codes::consume_code(&state.db, &token_hash(code), &jti, now).await? {
        Redemption::Redeemed(stored) => stored,
        Redemption::Replayed(stored) => {
            // RFC 6749 §4.1.2: a code used twice means it leaked; revoke what it produced:
            // the access token, and the refresh token family named after it.
            if let Some(issued) = &stored.access_token_jti {
                let until = stored.consumed_at.unwrap_or(now)
                    + state.config.token_ttl_secs
                    + state.config.clock_skew_secs;
                super::revocations::revoke(state, issued, until).await?;
                crate::store::refresh_tokens::revoke_family(&state.db, issued, now).await?;
            }
            crate::audit!(warn, "code.replayed", client_id = %stored.client_id, user_id = %stored.user_id, "authorization code replayed; its tokens are revoked");
            return Err(invalid_grant("the authorization code was already used"));
        }
        Redemption::Invalid => {
            return Err(invalid_grant(
                "the authorization code is invalid or expired",
            ));
        }
    };
    if stored.client_id != client.id.as_str() {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if redirect_uri != Some(stored.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (stored.code_challenge.as_deref(), code_verifier) {
        (None, None) => {}
        (Some(challenge), Some(verifier))
            if CodeChallenge::from_stored(challenge.to_owned()).verify(verifier) => {}
        (Some(_), _) => {
            return Err(invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier sent for a request without code_challenge",
            ));
        }
    }
    let user = users::find_user_by_id(&state.db, &stored.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_grant("the user is no longer active"))?;

    let scope = ScopeSet::parse(&stored.scope).unwrap_or_default();
    let ttl = state.config.token_ttl_secs;
    let grant = UserGrant {
        user: &user,
        scope: &scope,
        auth_time: stored.auth_time,
        sid: stored.session_id.as_deref(),
    };
    let issued_jti = jti.clone();
    let (access, access_signer) = user_access_token(state, client, &grant, jti).await?;
    let id_token_alg = client.id_token_alg.unwrap_or(KeyAlg::Rs256);
    let mut id_token = IdTokenClaims {
        iss: state.config.issuer.as_str().to_owned(),
        sub: user.id.clone(),
        aud: client.id.as_str().to_owned(),
        exp: now + ttl,
        iat: now,
        auth_time: stored.auth_time,
        nonce: stored.nonce.clone(),
        at_hash: String::new(),
        sid: stored.session_id.clone(),
        profile: user_claims(&user, &scope),
    };
    // ID tokens are for the client, which verifies them with our JWKS: always our own key,
    // of the algorithm it registered (OIDC Registration's id_token_signed_response_alg).
    let id_signer = TokenSigner::key(state, id_token_alg).await?;
    // Both signatures in one trip to the blocking pool: the ID token's at_hash needs the
    // access token first.
    let slow = access_signer.is_slow() || id_signer.is_slow();
    let (access_token, id_token) = off_the_runtime(slow, move || {
        let access_token = access_signer.sign(TokenType::AccessToken, &access)?;
        id_token.at_hash = at_hash(&access_token, id_token_alg);
        let id_token = id_signer.sign(TokenType::Jwt, &id_token)?;
        Ok((access_token, id_token))
    })
    .await?;
    // RFC 6749 §6 / OIDC Core §11: offline access for clients allowed the refresh grant.
    let refresh_token =
        if scope.contains("offline_access") && client.allows(GrantType::RefreshToken) {
            let family = super::refresh::Family::Start(&issued_jti);
            Some(super::refresh::issue(state, client, &grant, family).await?)
        } else {
            None
        };
    crate::audit!(info, "token.issued", client_id = %client.id, user_id = %user.id, grant = "authorization_code");
    state.metrics.token_issued("authorization_code");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        id_token: Some(id_token),
        refresh_token,
        scope: scope.to_string(),
    })
}

/// What a user granted a client: whose, which scopes, and from which sign-in.
#[derive(Clone, Copy, Debug)]
pub struct UserGrant<'a> {
    /// The user.
    pub user: &'a User,
    /// The scopes for this token.
    pub scope: &'a ScopeSet,
    /// When the user signed in.
    pub auth_time: i64,
    /// The browser session.
    pub sid: Option<&'a str>,
}

/// A user's access token for `client` (RFC 9068), for the client's default audience (or the
/// client itself).
pub async fn mint_user_access_token(
    state: &AppState,
    client: &Registration,
    grant: &UserGrant<'_>,
    jti: String,
) -> Result<String, ServiceError> {
    let (claims, signer) = user_access_token(state, client, grant, jti).await?;
    signer
        .sign_off_runtime(TokenType::AccessToken, claims)
        .await
}

/// The claims of a user's access token for `client`, and the key to sign it with.
async fn user_access_token(
    state: &AppState,
    client: &Registration,
    grant: &UserGrant<'_>,
    jti: String,
) -> Result<(TokenClaims, TokenSigner), ServiceError> {
    let now = state.clock.now();
    let audience = client
        .default_audience
        .clone()
        .unwrap_or_else(|| client.id.as_str().to_owned());
    let alg = client
        .access_token_alg
        .unwrap_or(state.config.access_token_alg);
    let signer = TokenSigner::for_audience(state, &audience, alg).await?;
    let claims = TokenClaims {
        iss: state.config.issuer.as_str().to_owned(),
        sub: grant.user.id.clone(),
        aud: audience,
        iat: now,
        exp: now + state.config.token_ttl_secs,
        jti,
        client_id: Some(client.id.as_str().to_owned()),
        scope: Some(grant.scope.to_string()),
        auth_time: Some(grant.auth_time),
        sid: grant.sid.map(str::to_owned),
        act: None,
    };
    Ok((claims, signer))
}

/// The user's claims that `scope` releases (OIDC Core §5.4).
pub fn user_claims(user: &User, scope: &ScopeSet) -> UserClaims {
    let profile = scope.contains("profile");
    let email = scope.contains("email");
    UserClaims {
        preferred_username: Some(user.username.clone()),
        name: user.name.clone().filter(|_| profile),
        email: user.email.clone().filter(|_| email),
        email_verified: (email && user.email.is_some()).then_some(user.email_verified),
    }
}
