//! What can go wrong in a request, and the plain page each gets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openidconnect::ClaimsVerificationError;

use crate::pages;

/// A request that could not be served.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The callback came without a sign-in in progress in this session (expired, replayed,
    /// or started in another browser).
    #[error("no sign-in is in progress in this browser session")]
    NoLoginInProgress,
    /// The callback's `state` is not the one sent (RFC 6749 §10.12: a forged callback).
    #[error("the sign-in response does not belong to the sign-in we started (state mismatch)")]
    StateMismatch,
    /// RFC 9207: the callback's `iss` is missing or not our provider (mix-up attack).
    #[error("the sign-in response did not come from our provider (iss)")]
    WrongResponseIssuer,
    /// The provider answered the authorization request with an error.
    #[error("the provider refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// Its RFC 6749 §4.1.2.1 code (`access_denied`, `login_required`, …).
        error: String,
        /// Its `error_description`.
        description: Option<String>,
    },
    /// The callback had neither a code nor an error.
    #[error("the sign-in response has no code")]
    NoCode,
    /// The code could not be exchanged.
    #[error("the code exchange failed: {0}")]
    TokenExchange(String),
    /// The token response had no ID token.
    #[error("the provider sent no ID token")]
    NoIdToken,
    /// The ID token did not verify.
    #[error("the ID token was refused: {0}")]
    IdToken(ClaimsVerificationError),
    /// `at_hash` did not match the access token.
    #[error("the access token does not match the ID token's at_hash: {0}")]
    AccessTokenHash(String),
    /// Discovery failed.
    #[error("provider discovery failed: {0}")]
    Discovery(String),
    /// The provider's metadata lacks something we need.
    #[error("the provider is misconfigured: {0}")]
    Provider(String),
    /// A form was posted without our CSRF token.
    #[error("the form has expired; go back, reload and try again")]
    Csrf,
    /// The session store failed.
    #[error("session error")]
    Session(#[from] tower_sessions::session::Error),
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Refused { error, .. } if error == "access_denied" => StatusCode::FORBIDDEN,
            Self::NoLoginInProgress
            | Self::StateMismatch
            | Self::WrongResponseIssuer
            | Self::Refused { .. }
            | Self::NoCode => StatusCode::BAD_REQUEST,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::TokenExchange(_)
            | Self::NoIdToken
            | Self::IdToken(_)
            | Self::AccessTokenHash(_)
            | Self::Discovery(_)
            | Self::Provider(_) => StatusCode::BAD_GATEWAY,
            Self::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        // A demo shows why; the texts name no secret (the provider's own texts included).
        let message = match &self {
            Self::Session(_) => "Something went wrong with your session.".to_owned(),
            other => other.to_string(),
        };
        (status, pages::error(&message)).into_response()
    }
}
