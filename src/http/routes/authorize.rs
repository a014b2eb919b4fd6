//! `GET|POST /authorize`: the start of browser sign-in (OIDC Core §3.1.2.1: both methods).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::extract::is_form;
use crate::http::pages::{self, Chrome, LoginPage};
use crate::http::session::BrowserSession;
use crate::oidc::Params;
use crate::oidc::authorize::{AuthorizationRequest, UNKNOWN_CLIENT, UNREGISTERED_REDIRECT_URI};
use crate::service::authorize::{AuthorizeOutcome, authorize};
use crate::state::AppState;

/// Validates the request, then answers from the session (SSO), with the sign-in page, or with
/// an error that is shown (bad client or redirect URI) or sent back to the client.
pub async fn handle(
    State(state): State<AppState>,
    session: BrowserSession,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let raw: &[u8] = if method == Method::POST {
        if !is_form(&headers) {
            return Ok(invalid_link(&state, "the request must be a form post"));
        }
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let params = match Params::from_urlencoded(raw) {
        Ok(params) => params,
        // Which parameter repeats is unknown to be safe to act on: show, never redirect.
        Err(e) => return Ok(invalid_link(&state, &e.to_string())),
    };
    let signed_in = session.signed_in().await.map_err(ApiError::session)?;
    Ok(
        match authorize(&state, &params, signed_in.as_ref()).await? {
            AuthorizeOutcome::ShowError(e) => invalid_link(&state, &e.description),
            AuthorizeOutcome::Redirect(url) => redirect_for(&method, &url),
            AuthorizeOutcome::ShowLogin {
                request,
                client_name,
            } => {
                let now = state.clock.now();
                let username = request.login_hint.clone().unwrap_or_default();
                let request_id = session
                    .add_pending(request.clone(), now)
                    .await
                    .map_err(ApiError::session)?;
                let csrf_token = session.csrf_token().await.map_err(ApiError::session)?;
                login_page(
                    &state,
                    &request,
                    &client_name,
                    &request_id,
                    &csrf_token,
                    &username,
                    None,
                )
            }
            AuthorizeOutcome::ShowConsent {
                request,
                client_name,
            } => {
                let user_id = signed_in.map(|s| s.user_id).unwrap_or_default();
                let request_id = session
                    .add_pending(request.clone(), state.clock.now())
                    .await
                    .map_err(ApiError::session)?;
                super::consent::page(
                    &state,
                    &session,
                    &request,
                    &client_name,
                    &request_id,
                    &user_id,
                )
                .await?
            }
        },
    )
}

/// The sign-in page for a pending request.
pub fn login_page(
    state: &AppState,
    request: &AuthorizationRequest,
    client_name: &str,
    request_id: &str,
    csrf_token: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let page = LoginPage {
        page: Chrome::new(state),
        client_name,
        error,
        action: state.config.issuer.endpoint("/login"),
        csrf_token,
        request_id,
        username,
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    pages::html(status, &page, Some(&request.redirect_uri))
}

/// A `302 Found` to `url`, not to be cached.
pub fn redirect(url: &str) -> Response {
    redirect_with(StatusCode::FOUND, url)
}

/// The redirect that answers a form post: `303 See Other`, so the browser follows with a GET
/// and never re-posts the form (its password) to the client (RFC 9700 §4.12).
pub fn redirect_after_post(url: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, url)
}

/// [`redirect_after_post`] for a POST, [`redirect`] otherwise.
pub fn redirect_for(method: &Method, url: &str) -> Response {
    if method == Method::POST {
        redirect_after_post(url)
    } else {
        redirect(url)
    }
}

fn redirect_with(status: StatusCode, url: &str) -> Response {
    (
        status,
        [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store")],
    )
        .into_response()
}

/// The page for a request that cannot be answered to the client: what went wrong in plain
/// words, the protocol's reason below it for whoever looks after the application.
pub fn invalid_link(state: &AppState, detail: &str) -> Response {
    let message = match detail {
        UNKNOWN_CLIENT => {
            "The application that sent you here is not registered with this sign-in service."
        }
        UNREGISTERED_REDIRECT_URI => {
            "The application asked to have you sent back to an address it has not registered, so you are not sent anywhere."
        }
        _ => "The application that sent you here made a sign-in request that cannot be answered.",
    };
    pages::message_with_detail(
        state,
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        message,
        Some(
            "Go back to the application you came from and start again. If this keeps happening, tell its administrator.",
        ),
        Some(detail),
    )
}
