//! `RequireBearer`: a tower layer that lets a request through only with a valid bearer token
//! (RFC 6750), and hands its claims to the handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::{Layer, Service};

use crate::error::VerifyError;
use crate::verifier::JwksVerifier;

/// Requires `Authorization: Bearer <JWT>` verified by a [`JwksVerifier`] (and, optionally, a
/// scope), and puts the token's [`Claims`](crate::Claims) in the request's extensions. Other
/// requests get the RFC 6750 §3 answer and never reach the inner service.
#[derive(Clone, Debug)]
pub struct RequireBearer {
    verifier: JwksVerifier,
    scope: Option<Arc<str>>,
}

impl RequireBearer {
    /// Requires a token valid for `verifier`.
    pub fn new(verifier: JwksVerifier) -> Self {
        Self {
            verifier,
            scope: None,
        }
    }

    /// Also requires `scope` among the token's scopes (else 403 `insufficient_scope`).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into().into());
        self
    }
}

impl<S> Layer<S> for RequireBearer {
    type Service = RequireBearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireBearerService {
            inner,
            guard: self.clone(),
        }
    }
}

/// The service [`RequireBearer`] wraps around the inner one.
#[derive(Clone, Debug)]
pub struct RequireBearerService<S> {
    inner: S,
    guard: RequireBearer,
}

impl<S, B> Service<Request<B>> for RequireBearerService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that serves this request (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            match guard.check(request.headers()).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(error) => {
                    tracing::info!(reason = %error, "bearer token refused");
                    Ok(error.into_response())
                }
            }
        })
    }
}

impl RequireBearer {
    async fn check(&self, headers: &HeaderMap) -> Result<crate::Claims, BearerError> {
        let token = bearer_token(headers)?;
        let claims = self
            .verifier
            .verify(token)
            .await
            .map_err(|error| match error {
                VerifyError::KeysUnavailable(source) => {
                    tracing::warn!(error = %source, "cannot check bearer tokens: no keys");
                    BearerError::Unavailable
                }
                other => BearerError::InvalidToken(other),
            })?;
        if let Some(scope) = &self.scope
            && !claims.has_scope(scope)
        {
            return Err(BearerError::InsufficientScope(scope.clone()));
        }
        Ok(claims)
    }
}

/// The token of the one `Authorization: Bearer` header (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("a malformed Authorization header"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Other credentials (Basic, …) are no bearer credentials at all.
        return Err(BearerError::Missing);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(BearerError::InvalidRequest("a malformed bearer token"));
    }
    Ok(token)
}

/// Why a request was refused, as RFC 6750 §3 answers it.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No bearer token: 401 with a bare challenge (§3.1: no error code then).
    #[error("no bearer token")]
    Missing,
    /// A malformed `Authorization` header: 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The token was refused: 401 `invalid_token`.
    #[error(transparent)]
    InvalidToken(VerifyError),
    /// Valid, but without the scope the route requires: 403 `insufficient_scope`.
    #[error("the token lacks the scope {0}")]
    InsufficientScope(Arc<str>),
    /// The issuer's keys cannot be had: 503, the token is not at fault.
    #[error("the issuer's keys are unavailable")]
    Unavailable,
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let description = self.to_string();
        let (status, code, challenge) = match &self {
            Self::Missing => (StatusCode::UNAUTHORIZED, None, "Bearer".to_owned()),
            Self::InvalidRequest(_) => (
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                challenge("invalid_request", &description),
            ),
            Self::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                challenge("invalid_token", &description),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                format!(
                    "{}, scope=\"{}\"",
                    challenge("insufficient_scope", &description),
                    quotable(scope)
                ),
            ),
            Self::Unavailable => {
                let body =
                    json!({"error": "temporarily_unavailable", "error_description": description});
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "5")],
                    Json(body),
                )
                    .into_response();
            }
        };
        let body = match code {
            Some(code) => json!({"error": code, "error_description": description}),
            None => json!({"error": "unauthorized", "error_description": description}),
        };
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn challenge(code: &str, description: &str) -> String {
    format!(
        "Bearer error=\"{code}\", error_description=\"{}\"",
        quotable(description)
    )
}

/// RFC 6750 §3: the attribute values may not contain `"` or `\` (nor non-ASCII).
fn quotable(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        }
        headers
    }

    #[test]
    fn reads_the_token_of_a_bearer_header_whatever_the_case_of_the_scheme() {
        assert_eq!(bearer_token(&headers(&["Bearer abc"])).ok(), Some("abc"));
        assert_eq!(bearer_token(&headers(&["bearer abc"])).ok(), Some("abc"));
    }

    #[test]
    fn other_schemes_and_no_header_are_missing_credentials() {
        assert!(matches!(
            bearer_token(&headers(&[])),
            Err(BearerError::Missing)
        ));
        assert!(matches!(
            bearer_token(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(BearerError::Missing)
        ));
    }

    #[test]
    fn malformed_bearer_headers_are_invalid_requests() {
        for bad in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a", "Bearer b"],
        ] {
            assert!(
                matches!(
                    bearer_token(&headers(bad)),
                    Err(BearerError::InvalidRequest(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_challenge_never_carries_a_quote() {
        assert_eq!(
            challenge("invalid_token", "a \"quoted\" \\ thing"),
            "Bearer error=\"invalid_token\", error_description=\"a quoted  thing\""
        );
    }
}
