//! `POST /introspect` (RFC 7662) and `POST /revoke` (RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::oidc::Params;
use crate::service::introspect::{introspect, revoke};
use crate::state::AppState;

/// The token's state and claims for an authenticated client.
pub async fn post_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = authorization(&headers);
    let result = match Params::from_urlencoded(&body) {
        Err(e) => Err(ApiError::invalid_request(e.to_string())),
        Ok(params) => introspect(&state, authorization, &params)
            .await
            .map_err(|e| ApiError::for_client(e, authorization)),
    };
    no_store(match result {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    })
}

/// Revokes a token; `200` with an empty body whatever the token was (RFC 7009 §2.2).
pub async fn post_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = authorization(&headers);
    let result = match Params::from_urlencoded(&body) {
        Err(e) => Err(ApiError::invalid_request(e.to_string())),
        Ok(params) => revoke(&state, authorization, &params)
            .await
            .map_err(|e| ApiError::for_client(e, authorization)),
    };
    no_store(match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    })
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
