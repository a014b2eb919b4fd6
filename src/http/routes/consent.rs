//! `POST /consent`: the answer to the consent page.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::authorize::redirect_after_post;
use super::login::{PendingForm, expired};
use crate::http::error::ApiError;
use crate::http::pages::{self, Chrome, ConsentPage};
use crate::http::session::BrowserSession;
use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::consent::describe;
use crate::oidc::{ErrorCode, OAuthError};
use crate::service::authorize::{error_redirect, issue_code, session_is_current};
use crate::service::consent::remember;
use crate::state::AppState;
use crate::store::users;

/// Shows the consent page for a pending request (already in the session as `request_id`).
pub async fn page(
    state: &AppState,
    session: &BrowserSession,
    request: &AuthorizationRequest,
    client_name: &str,
    request_id: &str,
    user_id: &str,
) -> Result<Response, ApiError> {
    let username = users::find_user_by_id(&state.db, user_id)
        .await
        .map_err(crate::service::ServiceError::from)?
        .map(|u| u.username)
        .unwrap_or_default();
    let csrf_token = session.csrf_token().await.map_err(ApiError::session)?;
    let page = ConsentPage {
        page: Chrome::new(state),
        client_name,
        username: &username,
        scopes: request
            .scope
            .split(' ')
            .map(|name| (name, describe(name)))
            .collect(),
        action: state.config.issuer.endpoint("/consent"),
        csrf_token: &csrf_token,
        request_id,
    };
    Ok(pages::html(
        StatusCode::OK,
        &page,
        Some(&request.redirect_uri),
    ))
}

/// Allow: remember the consent and issue the code. Deny: `access_denied` to the client.
/// Either way the pending request is used up.
pub async fn post(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(PendingForm {
        form,
        request_id,
        request,
        now,
    }) = PendingForm::read(&state, &session, &body, "consent").await?
    else {
        return Ok(expired(&state));
    };
    let signed_in = match session.signed_in().await.map_err(ApiError::session)? {
        Some(s) if session_is_current(&state, &s, now).await? => s,
        _ => return Ok(expired(&state)),
    };
    session
        .remove_pending(&request_id, now)
        .await
        .map_err(ApiError::session)?;
    match form.get("action") {
        Some("allow") => {
            remember(&state, &signed_in.user_id, &request).await?;
            Ok(redirect_after_post(
                &issue_code(&state, &request, &signed_in).await?,
            ))
        }
        _ => {
            crate::audit!(info, "consent.denied", user_id = %signed_in.user_id, client_id = %request.client_id);
            let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied access");
            Ok(redirect_after_post(&error_redirect(
                &state, &request, &denied,
            )))
        }
    }
}
