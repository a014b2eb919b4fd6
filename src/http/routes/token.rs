//! `POST /token` (RFC 6749 §3.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::oidc::{ErrorCode, Params};
use crate::service::ServiceError;
use crate::service::token::token;
use crate::state::AppState;

/// Form parameters in, tokens out; `Cache-Control: no-store` and `Pragma: no-cache` either way.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = match is_form(&headers) {
        false => Err(ApiError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )),
        true => match Params::from_urlencoded(&body) {
            Err(e) => Err(ApiError::invalid_request(e.to_string())),
            Ok(params) => token(&state, authorization, &params)
                .await
                .map_err(|e| client_error(e, authorization)),
        },
    };
    let mut response = match result {
        Ok(tokens) => Json(tokens).into_response(),
        Err(e) => e.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// RFC 6749 §5.2: a client that tried HTTP Basic and failed gets a Basic challenge.
fn client_error(e: ServiceError, authorization: Option<&str>) -> ApiError {
    let basic = authorization.is_some_and(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "));
    let error = ApiError::from(e);
    if basic && error.code() == ErrorCode::InvalidClient {
        error.with_header(header::WWW_AUTHENTICATE, "Basic realm=\"identity-backend\"")
    } else {
        error
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}
