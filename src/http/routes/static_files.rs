//! The pages' stylesheet (compiled into the binary: no CDN, nothing to deploy beside it) and
//! the operator's logo (`BRAND_LOGO_FILE`, read at start).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET /static/idp.css`: its URL carries a version, so it may be cached for a day.
pub async fn css(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        state.pages.css.clone(),
    )
}

/// `GET /static/logo`: 404 without `BRAND_LOGO_FILE`.
pub async fn logo(State(state): State<AppState>) -> Response {
    match &state.config.brand.logo {
        Some((bytes, content_type)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                // An SVG opened on its own must not run anything.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                ),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
