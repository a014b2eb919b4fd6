//! The pages' stylesheet, compiled into the binary (no CDN, nothing to deploy beside it).

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../../static/idp.css");

/// `GET /static/idp.css`.
pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
}
