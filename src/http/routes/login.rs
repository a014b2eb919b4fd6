//! `POST /login`: the sign-in form's submission.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorize::{login_page, redirect_after_post};
use crate::clock::UnixTime;
use crate::crypto::SecretString;
use crate::crypto::random::random_token;
use crate::http::client_ip::ClientIp;
use crate::http::error::ApiError;
use crate::http::pages;
use crate::http::session::BrowserSession;
use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::{ErrorCode, OAuthError, Params};
use crate::service::ServiceError;
use crate::service::authorize::{
    AfterSignIn, SignedIn, after_sign_in, check_credentials, error_redirect,
};
use crate::service::clients::find_registration;
use crate::service::throttle;
use crate::state::AppState;

/// The one message for every failed sign-in: it must not tell which part was wrong.
const FAILED: &str = "The username or password is not correct.";

/// The message while an account name or the browser's address is locked: the same whether
/// or not the account exists.
const LOCKED: &str =
    "Too many failed sign-ins. Wait a few minutes, then try again, or ask an administrator.";

/// Checks the CSRF token and the pending request, then the credentials: success renews the
/// session id and redirects to the client with a code; failure shows the form again.
pub async fn post(
    State(state): State<AppState>,
    session: BrowserSession,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(PendingForm {
        form,
        request_id,
        request,
        now,
    }) = PendingForm::read(&state, &session, &body, "sign-in").await?
    else {
        return Ok(expired(&state));
    };
    let request_id = request_id.as_str();
    if form.get("action") == Some("cancel") {
        session
            .remove_pending(request_id, now)
            .await
            .map_err(ApiError::session)?;
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user cancelled the sign-in");
        return Ok(redirect_after_post(&error_redirect(
            &state, &request, &denied,
        )));
    }
    let username = form.get("username").unwrap_or_default();
    let password = SecretString::new(form.get("password").unwrap_or_default());
    let Some(client) = find_registration(&state.db, &request.client_id).await? else {
        return Ok(expired(&state));
    };
    let csrf_token = session.csrf_token().await.map_err(ApiError::session)?;
    let show_form = |message: &str| {
        login_page(
            &state,
            &request,
            &client.name,
            request_id,
            &csrf_token,
            username,
            Some(message),
        )
    };
    // Locked: no password is checked at all, so guessing during a lock gains nothing.
    if let Some(until) = throttle::locked_until(&state, username, ip).await? {
        crate::audit!(info, "sign_in.refused_locked", client_id = %request.client_id);
        state.metrics.sign_in("locked");
        let mut page = show_form(LOCKED);
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        let wait = (until - now).max(1);
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(page);
    }
    let Some(user) = check_credentials(&state, username, password).await? else {
        crate::audit!(info, "sign_in.failed", client_id = %request.client_id);
        state.metrics.sign_in("failed");
        throttle::failed(&state, username, ip).await?;
        return Ok(show_form(FAILED));
    };
    throttle::succeeded(&state, username).await?;
    state.metrics.sign_in("succeeded");
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
            Ok(redirect_after_post(&url))
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

/// A posted form that belongs to a pending authorization request of this session.
pub struct PendingForm {
    /// The form's fields.
    pub form: Params,
    /// The pending request's handle.
    pub request_id: String,
    /// The pending request.
    pub request: AuthorizationRequest,
    /// The time it was read at.
    pub now: UnixTime,
}

impl PendingForm {
    /// Reads a form (`which` names it in the log) whose CSRF token is this session's and whose
    /// `request_id` names one of its pending requests; `None` when it is not such a form.
    pub async fn read(
        state: &AppState,
        session: &BrowserSession,
        body: &[u8],
        which: &str,
    ) -> Result<Option<Self>, ApiError> {
        let Ok(form) = Params::from_urlencoded(body) else {
            return Ok(None);
        };
        if !session
            .csrf_matches(form.get("csrf_token"))
            .await
            .map_err(ApiError::session)?
        {
            tracing::info!(form = which, "form refused: CSRF token missing or wrong");
            return Ok(None);
        }
        let now = state.clock.now();
        let request_id = form.get("request_id").unwrap_or_default().to_owned();
        let request = session
            .pending(&request_id, now)
            .await
            .map_err(ApiError::session)?;
        Ok(request.map(|request| Self {
            form,
            request_id,
            request,
            now,
        }))
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
