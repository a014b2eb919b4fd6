//! `GET|POST /logout`: RP-Initiated Logout 1.0 (the `end_session_endpoint`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::authorize::redirect_for;
use crate::http::error::ApiError;
use crate::http::pages::{self, Chrome, LogoutPage};
use crate::http::session::BrowserSession;
use crate::oidc::Params;
use crate::service::backchannel::session_ended;
use crate::service::logout::plan;
use crate::state::AppState;

/// The parameters a confirmation carries over to its POST.
const CARRIED: &[&str] = &[
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// Signs the browser out, then sends it to the client's registered post-logout URI or shows
/// that it is signed out. Without a valid `id_token_hint` for the signed-in user, it asks
/// first: a link on another site must not be able to sign anyone out (CSRF).
pub async fn handle(
    State(state): State<AppState>,
    session: BrowserSession,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let Ok(params) = Params::from_urlencoded(raw) else {
        return Ok(invalid(&state, "a parameter is repeated or too long"));
    };
    let plan = match plan(&state, &params).await? {
        Ok(plan) => plan,
        Err(e) => return Ok(invalid(&state, &e.description)),
    };
    let signed_in = session.signed_in().await.map_err(ApiError::session)?;
    let confirmed = method == Method::POST
        && params.get("confirm") == Some("yes")
        && session
            .csrf_matches(params.get("csrf_token"))
            .await
            .map_err(ApiError::session)?;
    let hint_is_for_this_user = match (&plan.hint, &signed_in) {
        (Some(hint), Some(user)) => hint.sub == user.user_id,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if signed_in.is_some() && !confirmed && !hint_is_for_this_user {
        let csrf_token = session.csrf_token().await.map_err(ApiError::session)?;
        let carried = CARRIED
            .iter()
            .filter_map(|name| params.get(name).map(|value| (*name, value)))
            .collect();
        let page = LogoutPage {
            page: Chrome::new(&state),
            action: state.config.issuer.endpoint("/logout"),
            csrf_token: &csrf_token,
            carried,
        };
        return Ok(pages::html(StatusCode::OK, &page, plan.redirect.as_deref()));
    }
    session.sign_out().await.map_err(ApiError::session)?;
    if let Some(user) = &signed_in {
        crate::audit!(info, "sign_out", user_id = %user.user_id, sid = %user.sid);
        session_ended(&state, &user.sid).await?;
    }
    Ok(match plan.redirect {
        Some(url) => redirect_for(&method, &url),
        None => pages::message(
            &state,
            StatusCode::OK,
            "You are signed out",
            "Your session has ended. Applications will ask you to sign in again.",
            None,
        ),
    })
}

fn invalid(state: &AppState, detail: &str) -> Response {
    pages::message(
        state,
        StatusCode::BAD_REQUEST,
        "This sign-out link is not valid",
        detail,
        Some("You are still signed in. Close this page, or sign out from the application again."),
    )
}
