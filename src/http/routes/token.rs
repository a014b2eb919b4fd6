//! `POST /token` (RFC 6749 §3.2), and the first version's JSON service-token request.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::is_form;
use crate::oidc::Params;
use crate::service::token::{legacy_service_token, token};
use crate::state::AppState;

/// The first version's request body (DESIGN §2).
#[derive(Debug, Deserialize)]
struct LegacyRequest {
    sub: Option<String>,
    aud: Option<String>,
}

/// Form parameters in, tokens out; `Cache-Control: no-store` and `Pragma: no-cache` either way.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut response = match content_type(&headers) {
        Body::Form => match Params::from_urlencoded(&body) {
            Err(e) => ApiError::invalid_request(e.to_string()).into_response(),
            Ok(params) => match token(&state, authorization, &params).await {
                Ok(tokens) => Json(tokens).into_response(),
                Err(e) => ApiError::for_client(e, authorization).into_response(),
            },
        },
        Body::Json => match serde_json::from_slice::<LegacyRequest>(&body) {
            Err(_) => ApiError::invalid_request("expected a JSON object {\"sub\", \"aud\"}")
                .into_response(),
            Ok(request) => {
                match legacy_service_token(
                    &state,
                    authorization,
                    request.sub.as_deref(),
                    request.aud.as_deref(),
                )
                .await
                {
                    Ok(tokens) => Json(tokens).into_response(),
                    Err(e) => ApiError::for_client(e, authorization).into_response(),
                }
            }
        },
        Body::Other => {
            ApiError::invalid_request("the body must be application/x-www-form-urlencoded")
                .into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

enum Body {
    Form,
    Json,
    Other,
}

fn content_type(headers: &HeaderMap) -> Body {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    match (is_form(headers), json) {
        (true, _) => Body::Form,
        (false, true) => Body::Json,
        (false, false) => Body::Other,
    }
}
