//! `/authorize` and the sign-in that completes it: validate, decide, issue the code.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::SecretString;
use crate::crypto::digest::token_hash;
use crate::crypto::random::random_token;
use crate::oidc::authorize::{self, Authentication, AuthorizationRequest};
use crate::oidc::consent::Consent;
use crate::oidc::{ErrorCode, OAuthError, Params, Registration, Username};
use crate::state::AppState;
use crate::store::codes::{self, AuthorizationCode};
use crate::store::users::{self, User};

use super::ServiceError;
use super::clients::cached_registration;

/// Who is signed in to a browser session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The user's id.
    pub user_id: String,
    /// The session's public id, the ID token's `sid`.
    pub sid: String,
    /// When the user last entered their password.
    pub auth_time: UnixTime,
    /// When this session's sign-in began (for the absolute lifetime).
    pub login_at: UnixTime,
}

/// What `/authorize` answers.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Shown to the user; nothing is sent to the redirect URI (unknown client, bad redirect URI).
    ShowError(OAuthError),
    /// Back to the client: a code, or an error with `state` and `iss`.
    Redirect(String),
    /// The sign-in page for this request.
    ShowLogin {
        /// The validated request, to keep server-side.
        request: AuthorizationRequest,
        /// The client's display name.
        client_name: String,
    },
    /// The consent page (a third-party client, or `prompt=consent`).
    ShowConsent {
        /// The validated request, to keep server-side.
        request: AuthorizationRequest,
        /// The client's display name.
        client_name: String,
    },
}

/// What follows a good enough sign-in.
#[derive(Debug)]
pub enum AfterSignIn {
    /// Back to the client with a code (or `consent_required`).
    Redirect(String),
    /// Ask the user first.
    AskConsent,
}

/// Once the user is known: asks for consent when needed, else issues the code.
pub async fn after_sign_in(
    state: &AppState,
    client: &Registration,
    request: &AuthorizationRequest,
    signed_in: &SignedIn,
) -> Result<AfterSignIn, ServiceError> {
    match super::consent::decide(state, client, &signed_in.user_id, request).await? {
        Consent::NotNeeded => Ok(AfterSignIn::Redirect(
            issue_code(state, request, signed_in).await?,
        )),
        Consent::Ask => Ok(AfterSignIn::AskConsent),
        Consent::Required => {
            let e = OAuthError::new(ErrorCode::ConsentRequired, "the user must give consent");
            Ok(AfterSignIn::Redirect(error_redirect(state, request, &e)))
        }
    }
}

/// Handles an authorization request for a browser whose session holds `session` (if signed in).
pub async fn authorize(
    state: &AppState,
    params: &Params,
    session: Option<&SignedIn>,
) -> Result<AuthorizeOutcome, ServiceError> {
    let Some(client_id) = params.get("client_id") else {
        return Ok(AuthorizeOutcome::ShowError(OAuthError::invalid_request(
            "client_id is required",
        )));
    };
    let client = cached_registration(state, client_id).await?;
    let (client, redirect_uri) = match authorize::check_client_and_redirect(params, client) {
        Ok(checked) => checked,
        Err(e) => return Ok(AuthorizeOutcome::ShowError(e)),
    };
    let issuer = &state.config.issuer;
    let request = match authorize::validate(params, &client, redirect_uri.clone()) {
        Ok(request) => request,
        Err(e) => {
            return Ok(AuthorizeOutcome::Redirect(authorize::error_url(
                &redirect_uri,
                &e,
                params.get("state"),
                issuer,
            )));
        }
    };
    let now = state.clock.now();
    let session = match session {
        Some(s) if session_is_current(state, s, now).await? => Some(s),
        _ => None,
    };
    match authorize::authentication(&request, session.map(|s| s.auth_time), now) {
        Authentication::UseSession => {
            let signed_in =
                session.ok_or_else(|| ServiceError::Invalid("session vanished".into()))?;
            Ok(
                match after_sign_in(state, &client, &request, signed_in).await? {
                    AfterSignIn::Redirect(url) => AuthorizeOutcome::Redirect(url),
                    AfterSignIn::AskConsent => AuthorizeOutcome::ShowConsent {
                        request,
                        client_name: client.name.clone(),
                    },
                },
            )
        }
        Authentication::LoginRequired => {
            let e = OAuthError::new(ErrorCode::LoginRequired, "the user must sign in");
            Ok(AuthorizeOutcome::Redirect(authorize::error_url(
                &request.redirect_uri,
                &e,
                request.state.as_deref(),
                issuer,
            )))
        }
        Authentication::AskUser => Ok(AuthorizeOutcome::ShowLogin {
            request,
            client_name: client.name.clone(),
        }),
    }
}

/// Whether a session's sign-in still counts: within its absolute lifetime, and its user
/// still exists and is enabled.
pub async fn session_is_current(
    state: &AppState,
    session: &SignedIn,
    now: UnixTime,
) -> Result<bool, ServiceError> {
    if now.saturating_sub(session.login_at) > state.config.session_max_secs {
        return Ok(false);
    }
    Ok(users::find_user_by_id(&state.db, &session.user_id)
        .await?
        .is_some_and(|u| !u.disabled))
}

/// Checks a username and password. Unknown users, wrong passwords and disabled accounts all
/// answer `None` after the same argon2 work, so neither the answer nor its timing tells
/// which it was.
pub async fn check_credentials(
    state: &AppState,
    username: &str,
    password: SecretString,
) -> Result<Option<User>, ServiceError> {
    let user = match Username::parse(username) {
        Ok(name) => users::find_user_by_username(&state.db, &name.canonical()).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = state.hasher.verify(password, stored).await?;
    Ok(user.filter(|u| matches && !u.disabled))
}

/// Issues an authorization code for `request` to the signed-in user and returns the redirect.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    signed_in: &SignedIn,
) -> Result<String, ServiceError> {
    let now = state.clock.now();
    let code = random_token(32)?;
    codes::insert_code(
        &state.db,
        &AuthorizationCode {
            code_hash: token_hash(&code),
            client_id: request.client_id.clone(),
            user_id: signed_in.user_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            session_id: Some(signed_in.sid.clone()),
            auth_time: signed_in.auth_time,
            created_at: now,
            // RFC 6749 §4.1.2: short-lived (60 s by default) and single use.
            expires_at: now + state.config.code_ttl_secs,
            consumed_at: None,
            access_token_jti: None,
        },
    )
    .await?;
    super::backchannel::record_sign_in(state, &request.client_id, signed_in).await?;
    crate::audit!(info, "code.issued", client_id = %request.client_id, user_id = %signed_in.user_id, sid = %signed_in.sid);
    Ok(authorize::success_url(request, &code, &state.config.issuer))
}

/// The redirect for a request the user abandoned or that failed after sign-in.
pub fn error_redirect(
    state: &AppState,
    request: &AuthorizationRequest,
    error: &OAuthError,
) -> String {
    authorize::error_url(
        &request.redirect_uri,
        error,
        request.state.as_deref(),
        &state.config.issuer,
    )
}
