//! `GET|POST /userinfo` (OIDC Core §5.3) with RFC 6750 bearer tokens and errors.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::oidc::{ErrorCode, Params};
use crate::service::ServiceError;
use crate::service::userinfo::userinfo;
use crate::state::AppState;

/// The token from `Authorization: Bearer`, or (POST, RFC 6750 §2.2) the `access_token` form field.
pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, token)| token.trim().to_owned());
    let from_body = Params::from_urlencoded(&body)
        .ok()
        .and_then(|p| p.get("access_token").map(str::to_owned));
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return challenge(
                StatusCode::BAD_REQUEST,
                Some(("invalid_request", "send the token once")),
            );
        }
        (Some(t), None) | (None, Some(t)) => t,
        // RFC 6750 §3.1: no credentials, no error code.
        (None, None) => return challenge(StatusCode::UNAUTHORIZED, None),
    };
    match userinfo(&state, &token).await {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(ServiceError::OAuth(e)) if e.code == ErrorCode::InsufficientScope => challenge(
            StatusCode::FORBIDDEN,
            Some((e.code.as_str(), &e.description)),
        ),
        Err(ServiceError::OAuth(e)) => challenge(
            StatusCode::UNAUTHORIZED,
            Some((e.code.as_str(), &e.description)),
        ),
        Err(other) => crate::http::error::ApiError::from(other).into_response(),
    }
}

/// An RFC 6750 §3 response: `WWW-Authenticate: Bearer` with the error, if any.
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let value = match error {
        Some((code, description)) => {
            format!(
                "Bearer realm=\"identity-backend\", error=\"{code}\", error_description=\"{description}\""
            )
        }
        None => "Bearer realm=\"identity-backend\"".to_owned(),
    };
    let body = match error {
        Some((code, description)) => {
            serde_json::json!({ "error": code, "error_description": description })
        }
        None => {
            serde_json::json!({ "error": "invalid_token", "error_description": "a bearer token is required" })
        }
    };
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
