//! The authorization request (OIDC Core §3.1.2, RFC 6749 §4.1.1) and its response.

use serde::{Deserialize, Serialize};

use super::client::{ClientType, GrantType, Registration};
use super::params::Params;
use super::pkce::CodeChallenge;
use super::{ErrorCode, Issuer, OAuthError, ScopeSet};
use crate::clock::UnixTime;

/// A validated authorization request, kept server-side while the user signs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI, exactly as registered and sent.
    pub redirect_uri: String,
    /// Granted scopes (a subset of what the client may request, always with `openid`).
    pub scope: String,
    /// Opaque client state, returned verbatim.
    pub state: Option<String>,
    /// Returned in the ID token.
    pub nonce: Option<String>,
    /// S256 PKCE challenge.
    pub code_challenge: Option<String>,
    /// `prompt` values.
    pub prompt: Prompt,
    /// Maximum authentication age in seconds.
    pub max_age: Option<i64>,
    /// Pre-fills the username field.
    pub login_hint: Option<String>,
}

/// OIDC Core §3.1.2.1 `prompt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: never show a page; fail with `login_required` instead.
    pub none: bool,
    /// `login`: sign in again even with a session.
    pub login: bool,
    /// `consent`: ask for consent even if given before.
    pub consent: bool,
}

/// The description of the error for an unknown `client_id` (the page explains it in plain words).
pub const UNKNOWN_CLIENT: &str = "unknown client_id";
/// The description of the error for a `redirect_uri` the client has not registered.
pub const UNREGISTERED_REDIRECT_URI: &str = "redirect_uri is not registered for this client";

/// The client and redirect URI, checked FIRST: until both are known good, nothing may be sent
/// to the redirect URI, so these errors are shown to the user instead (RFC 6749 §4.1.2.1).
/// Returns the client, now known to exist, and the redirect URI.
pub fn check_client_and_redirect<C: std::ops::Deref<Target = Registration>>(
    params: &Params,
    client: Option<C>,
) -> Result<(C, String), OAuthError> {
    let client =
        client.ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, UNKNOWN_CLIENT))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    if !client.redirect_uris.iter().any(|r| r.matches(redirect_uri)) {
        return Err(OAuthError::invalid_request(UNREGISTERED_REDIRECT_URI));
    }
    let redirect_uri = redirect_uri.to_owned();
    Ok((client, redirect_uri))
}

/// Validates the rest of the request; errors here go back to the client's redirect URI.
pub fn validate(
    params: &Params,
    client: &Registration,
    redirect_uri: String,
) -> Result<AuthorizationRequest, OAuthError> {
    if params.has("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.has("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !matches!(params.get("response_mode"), None | Some("query")) {
        return Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    let scope = ScopeSet::parse(params.get("scope").unwrap_or(""))
        .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the openid scope is required",
        ));
    }
    if !scope.is_subset(&client.scopes) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    let code_challenge = CodeChallenge::parse(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    if client.client_type == ClientType::Public && code_challenge.is_none() {
        return Err(OAuthError::invalid_request(
            "public clients must use PKCE (code_challenge with S256)",
        ));
    }
    let prompt = parse_prompt(params.get("prompt"))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OAuthError::invalid_request("max_age must be a non-negative integer")
        })?),
    };
    Ok(AuthorizationRequest {
        client_id: client.id.as_str().to_owned(),
        redirect_uri,
        scope: scope.to_string(),
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.map(|c| c.as_str().to_owned()),
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
    })
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for token in value.unwrap_or("").split(' ').filter(|t| !t.is_empty()) {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per session: choosing an account is signing in again.
            "select_account" => prompt.login = true,
            _ => {
                return Err(OAuthError::invalid_request(
                    "prompt has an unsupported value",
                ));
            }
        }
    }
    // OIDC Core §3.1.2.1: `none` with any other value is an error.
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// What to do about authentication for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// The session's sign-in is good enough: answer at once (SSO).
    UseSession,
    /// Show the sign-in page.
    AskUser,
    /// `prompt=none` but a sign-in is needed.
    LoginRequired,
}

/// Whether the session's sign-in (its `auth_time`, if any) satisfies the request.
pub fn authentication(
    request: &AuthorizationRequest,
    auth_time: Option<UnixTime>,
    now: UnixTime,
) -> Authentication {
    let fresh_enough = match (auth_time, request.max_age) {
        (None, _) => false,
        (Some(_), None) => true,
        // OIDC Core §3.1.2.1: max_age is the allowable elapsed time since the last active sign-in.
        (Some(t), Some(max)) => now.saturating_sub(t) <= max,
    };
    match (fresh_enough && !request.prompt.login, request.prompt.none) {
        (true, _) => Authentication::UseSession,
        (false, true) => Authentication::LoginRequired,
        (false, false) => Authentication::AskUser,
    }
}

/// `redirect_uri` with `params` appended to its query, keeping the registered URI's own query
/// (RFC 6749 §3.1.2) and leaving every other character of it untouched.
pub fn response_url(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{separator}{}", query.finish())
}

/// The successful response: `code`, `state` and `iss` (RFC 9207).
pub fn success_url(request: &AuthorizationRequest, code: &str, issuer: &Issuer) -> String {
    let mut params = vec![("code", code)];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", issuer.as_str()));
    response_url(&request.redirect_uri, &params)
}

/// An error response: `error`, `error_description`, `state` and `iss`.
pub fn error_url(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &Issuer,
) -> String {
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", error.description.as_ref()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer.as_str()));
    response_url(redirect_uri, &params)
}

#[cfg(test)]
mod tests;
