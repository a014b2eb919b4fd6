//! `GET /logout`: ends the browser session (the Flask version's behaviour).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::http::error::ApiError;
use crate::http::pages;
use crate::http::session::BrowserSession;
use crate::state::AppState;

/// Deletes the session and confirms; the next `/authorize` asks for the password again.
pub async fn get(
    State(state): State<AppState>,
    session: BrowserSession,
) -> Result<Response, ApiError> {
    if let Some(user) = session.signed_in().await.map_err(ApiError::session)? {
        tracing::info!(user_id = %user.user_id, "signed out");
    }
    session.sign_out().await.map_err(ApiError::session)?;
    Ok(pages::message(
        &state,
        StatusCode::OK,
        "You are signed out",
        "Your session has ended. Applications will ask you to sign in again.",
        None,
    ))
}
