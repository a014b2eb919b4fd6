//! `GET /jwks.json`: the public keys of every token that may still be alive.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::service::keys::JWKS_MAX_AGE_SECS;
use crate::state::AppState;

/// Verifiers may cache the JWKS this long ([`JWKS_MAX_AGE_SECS`]); a token with an unknown
/// `kid` makes well-behaved ones fetch it again, and a rotated-in key is published at least
/// this long before it signs.
const MAX_AGE: &str = "public, max-age=300";
const _: () = assert!(
    JWKS_MAX_AGE_SECS == 300,
    "MAX_AGE and JWKS_MAX_AGE_SECS agree"
);

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
