//! `GET /jwks.json`: the public keys of every token that may still be alive.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// Verifiers may cache the JWKS this long; a token with an unknown `kid` makes well-behaved
/// ones fetch it again.
const MAX_AGE: &str = "public, max-age=300";

/// The JWKS, serialised when the key set last changed.
pub async fn get(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, MAX_AGE),
        ],
        state.keys.current().jwks(),
    )
}
