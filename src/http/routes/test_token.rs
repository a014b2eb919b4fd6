//! `GET /test-token`: a token for developers, routed only in dev mode (404 otherwise).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::extract::reject_query;
use crate::service::tokens::{TestTokenRequest, mint_test_token};
use crate::state::AppState;

/// Overrides a developer may pass.
#[derive(Debug, Deserialize)]
pub struct Params {
    sub: Option<String>,
    aud: Option<String>,
    scope: Option<String>,
    ttl: Option<String>,
}

/// `{"id_token": <jwt>}` for `sub=testuser`, `aud=logging-service`, 30 minutes, `scope=openid`.
pub async fn get(
    State(state): State<AppState>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(params) = params.map_err(reject_query)?;
    let request = TestTokenRequest {
        sub: params.sub,
        aud: params.aud,
        scope: params.scope,
        ttl_minutes: params.ttl,
    };
    let token = mint_test_token(&state, request).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "id_token": token })),
    ))
}
