//! `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// The discovery document, built once at start from the configured issuer.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.discovery.clone(),
    )
}
