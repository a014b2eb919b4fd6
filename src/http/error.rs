//! The one place that turns errors into HTTP statuses, headers and bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oidc::{ErrorCode, OAuthError};
use crate::service::ServiceError;

/// An error response in the RFC 6749 §5.2 shape: `{"error", "error_description"}`.
#[derive(Debug)]
pub struct ApiError(OAuthError, Option<(header::HeaderName, &'static str)>);

impl ApiError {
    /// `server_error`, logged here; the detail is not sent.
    pub fn server_error(detail: &str) -> Self {
        tracing::error!(detail, "request failed");
        Self(
            OAuthError::new(
                ErrorCode::ServerError,
                "the server could not complete the request",
            ),
            None,
        )
    }

    /// A session that could not be read or written (its store is the database).
    pub fn session(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store failed");
        Self(
            OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable",
            ),
            None,
        )
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The error for a client-authenticated endpoint: RFC 6749 §5.2, a client that tried HTTP
    /// Basic and failed gets a Basic challenge.
    pub fn for_client(e: ServiceError, authorization: Option<&str>) -> Self {
        let basic =
            authorization.is_some_and(|a| a.len() > 6 && a[..6].eq_ignore_ascii_case("basic "));
        let error = Self::from(e);
        if basic && error.code() == ErrorCode::InvalidClient {
            error.with_header(header::WWW_AUTHENTICATE, "Basic realm=\"identity-backend\"")
        } else {
            error
        }
    }

    /// Adds a header to the response (e.g. `WWW-Authenticate`).
    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.1 = Some((name, value));
        self
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self(OAuthError::invalid_request(description), None)
    }

    fn status(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        Self(e, None)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::OAuth(e) => Self(e, None),
            ServiceError::Store(ref store) if store.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                Self(
                    OAuthError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the service is temporarily unavailable",
                    ),
                    None,
                )
            }
            other => {
                // Logged once here, never sent: internals stay inside.
                tracing::error!(error = %other, "request failed");
                Self(
                    OAuthError::new(
                        ErrorCode::ServerError,
                        "the server could not complete the request",
                    ),
                    None,
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body =
            json!({ "error": self.0.code.as_str(), "error_description": self.0.description });
        let mut response = (status, Json(body)).into_response();
        // RFC 6749 §5.1: responses that may concern credentials are not cached.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some((name, value)) = self.1 {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// The response for a path we do not serve.
pub async fn not_found() -> Response {
    let body = json!({ "error": "not_found", "error_description": "no such endpoint" });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
