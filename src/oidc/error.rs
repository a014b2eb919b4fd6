//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
//! RFC 8707 §2, OIDC Core §3.1.2.6).

use std::borrow::Cow;

/// A registered error code; its string form is what goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// The scope is invalid, unknown or exceeds what the client may request.
    InvalidScope,
    /// RFC 8707: the requested resource or audience is not allowed.
    InvalidTarget,
    /// The resource owner or server denied the request.
    AccessDenied,
    /// RFC 6750: the access token is expired, revoked or malformed.
    InvalidToken,
    /// OIDC: `prompt=none` but the user must sign in.
    LoginRequired,
    /// OIDC: `prompt=none` but the user must give consent.
    ConsentRequired,
    /// OIDC: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 6750 §3.1: the token lacks a scope the resource needs.
    InsufficientScope,
    /// The server met an unexpected condition.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as registered.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::InvalidToken => "invalid_token",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// A protocol error as the client will see it: a code and a human-readable description.
///
/// RFC 6749 §5.2: `error_description` is ASCII without `"` or `\`; descriptions are written
/// here, never copied from input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The registered code.
    pub code: ErrorCode,
    /// What went wrong, for the developer reading the response.
    pub description: Cow<'static, str>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
}
