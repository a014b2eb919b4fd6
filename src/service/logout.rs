//! RP-Initiated Logout: read the hint, check the client and where to go afterwards.

use serde_json::Value;

use crate::crypto::jwt;
use crate::oidc::logout::{self, Hint};
use crate::oidc::{OAuthError, Params};
use crate::state::AppState;

use super::ServiceError;
use super::clients::find_registration;

/// A checked logout request.
#[derive(Debug)]
pub struct LogoutPlan {
    /// The verified `id_token_hint`, if one was sent and is ours.
    pub hint: Option<Hint>,
    /// Where to send the browser afterwards.
    pub redirect: Option<String>,
}

/// Checks a logout request. The outer error is ours; the inner one is the request's, to show
/// on a page (never as a redirect).
pub async fn plan(
    state: &AppState,
    params: &Params,
) -> Result<Result<LogoutPlan, OAuthError>, ServiceError> {
    let hint = params
        .get("id_token_hint")
        .and_then(|token| read_hint(state, token));
    if params.has("id_token_hint") && hint.is_none() {
        return Ok(Err(OAuthError::invalid_request(
            "id_token_hint is not an ID token of ours",
        )));
    }
    let client_id = match logout::client_id(params, hint.as_ref()) {
        Ok(id) => id.map(str::to_owned),
        Err(e) => return Ok(Err(e)),
    };
    let client = match &client_id {
        Some(id) => find_registration(&state.db, id).await?,
        None => None,
    };
    if client_id.is_some() && client.is_none() {
        return Ok(Err(OAuthError::invalid_request("unknown client_id")));
    }
    Ok(logout::redirect_after(params, client.as_ref())
        .map(|redirect| LogoutPlan { hint, redirect }))
}

/// An ID token we issued: signature by our keys and our issuer. Expiry does not matter
/// (RP-Initiated Logout §2: the hint may have expired).
fn read_hint(state: &AppState, token: &str) -> Option<Hint> {
    let keys = state.keys.current();
    let verified = jwt::verify(token, &keys, None).ok()?;
    let text = |name: &str| {
        verified
            .claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if text("iss").as_deref() != Some(state.config.issuer.as_str()) {
        return None;
    }
    Some(Hint {
        client_id: text("aud")?,
        sub: text("sub")?,
        sid: text("sid"),
    })
}
