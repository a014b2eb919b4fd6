//! `POST /verify`: the Flask version's token check, same shapes and error strings (DESIGN §2).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::http::error::ApiError;
use crate::http::extract::json_or_form;
use crate::service::verify::{VerifyFailure, verify_token_json};
use crate::state::AppState;

/// `{"token", "aud"?}` → `200 {"valid": true, "claims"}`, `401 {"valid": false, "error"}`, or
/// `400 {"error": "Missing token"}`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = json_or_form(&headers, &body)?;
    let token = match fields.get("token") {
        Some(Value::String(t)) if !t.is_empty() => t.as_str(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                json!({ "error": "Missing token" }),
            ));
        }
        Some(_) => return Err(ApiError::invalid_request("token must be a string")),
    };
    let audience = match fields.get("aud") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) if a.is_empty() => None,
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => return Err(ApiError::invalid_request("aud must be a string")),
    };
    Ok(match verify_token_json(&state, token, audience).await? {
        Ok(claims) => {
            state.metrics.verification("valid");
            // The claims object as the token carries it (checked to be one JSON object).
            let mut body = Vec::with_capacity(claims.len() + 32);
            body.extend_from_slice(br#"{"valid":true,"claims":"#);
            body.extend_from_slice(&claims);
            body.push(b'}');
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        }
        Err(failure) => {
            let (error, result) = match failure {
                VerifyFailure::Expired => ("Token expired", "expired"),
                VerifyFailure::WrongAudience => ("Invalid audience", "wrong_audience"),
                VerifyFailure::WrongIssuer => ("Invalid issuer", "wrong_issuer"),
                VerifyFailure::Invalid => ("Invalid token", "invalid"),
            };
            state.metrics.verification(result);
            reply(
                StatusCode::UNAUTHORIZED,
                json!({ "valid": false, "error": error }),
            )
        }
    })
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
