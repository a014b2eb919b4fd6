//! `POST /login`: the sign-in form's submission.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::authorize::{login_page, redirect};
use crate::crypto::SecretString;
use crate::crypto::random::random_token;
use crate::http::error::ApiError;
use crate::http::pages;
use crate::http::session::BrowserSession;
use crate::oidc::{ErrorCode, OAuthError, Params};
use crate::service::ServiceError;
use crate::service::authorize::{
    AfterSignIn, SignedIn, after_sign_in, check_credentials, error_redirect,
};
use crate::service::clients::find_registration;
use crate::state::AppState;

/// The one message for every failed sign-in: it must not tell which part was wrong.
const FAILED: &str = "The username or password is not correct.";

/// Checks the CSRF token and the pending request, then the credentials: success renews the
/// session id and redirects to the client with a code; failure shows the form again.
pub async fn post(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Ok(form) = Params::from_urlencoded(&body) else {
        return Ok(expired(&state));
    };
    if !session
        .csrf_matches(form.get("csrf_token"))
        .await
        .map_err(ApiError::session)?
    {
        tracing::info!("sign-in form refused: CSRF token missing or wrong");
        return Ok(expired(&state));
    }
    let now = state.clock.now();
    let request_id = form.get("request_id").unwrap_or_default();
    let Some(request) = session
        .pending(request_id, now)
        .await
        .map_err(ApiError::session)?
    else {
        return Ok(expired(&state));
    };
    if form.get("action") == Some("cancel") {
        session
            .remove_pending(request_id, now)
            .await
            .map_err(ApiError::session)?;
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user cancelled the sign-in");
        return Ok(redirect(&error_redirect(&state, &request, &denied)));
    }
    let username = form.get("username").unwrap_or_default();
    let password = SecretString::new(form.get("password").unwrap_or_default());
    let Some(client) = find_registration(&state.db, &request.client_id).await? else {
        return Ok(expired(&state));
    };
    let Some(user) = check_credentials(&state, username, password).await? else {
        crate::audit!(info, "sign_in.failed", client_id = %request.client_id);
        let client_name = client.name;
        let csrf_token = session.csrf_token().await.map_err(ApiError::session)?;
        return Ok(login_page(
            &state,
            &request,
            &client_name,
            request_id,
            &csrf_token,
            username,
            Some(FAILED),
        ));
    };
    let signed_in = SignedIn {
        user_id: user.id.clone(),
        sid: random_token(16).map_err(ServiceError::from)?,
        auth_time: now,
        login_at: now,
    };
    session
        .sign_in(&signed_in)
        .await
        .map_err(ApiError::session)?;
    crate::audit!(info, "sign_in.succeeded", user_id = %user.id, client_id = %request.client_id, sid = %signed_in.sid);
    // The session id changed: the pending request moves with the data, under the same handle.
    match after_sign_in(&state, &client, &request, &signed_in).await? {
        AfterSignIn::Redirect(url) => {
            session
                .remove_pending(request_id, now)
                .await
                .map_err(ApiError::session)?;
            Ok(redirect(&url))
        }
        AfterSignIn::AskConsent => {
            super::consent::page(
                &state,
                &session,
                &request,
                &client.name,
                request_id,
                &user.id,
            )
            .await
        }
    }
}

/// The page for a form that cannot be used any more.
pub fn expired(state: &AppState) -> Response {
    pages::message(
        state,
        StatusCode::BAD_REQUEST,
        "This sign-in page has expired",
        "The form was open too long, or it was sent from somewhere else.",
        Some("Go back to the application you came from and sign in again."),
    )
}
