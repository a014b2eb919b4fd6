//! RP-Initiated Logout 1.0 §2-3: which client is asking, and where the browser may go after.

use super::authorize::response_url;
use super::{OAuthError, Params, Registration};

/// What a verified `id_token_hint` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The client the ID token was issued to (`aud`).
    pub client_id: String,
    /// The user (`sub`).
    pub sub: String,
    /// The session (`sid`).
    pub sid: Option<String>,
}

/// The client a logout request names: `client_id`, or the hint's audience. They must agree.
pub fn client_id<'a>(
    params: &'a Params,
    hint: Option<&'a Hint>,
) -> Result<Option<&'a str>, OAuthError> {
    match (params.get("client_id"), hint) {
        (Some(id), Some(h)) if id != h.client_id => Err(OAuthError::invalid_request(
            "client_id does not match the id_token_hint",
        )),
        (Some(id), _) => Ok(Some(id)),
        (None, Some(h)) => Ok(Some(&h.client_id)),
        (None, None) => Ok(None),
    }
}

/// Where to send the browser after sign-out: the `post_logout_redirect_uri`, if it is one the
/// client registered (exact match, §3), with `state` appended. An unregistered URI is an error
/// shown to the user, never followed.
pub fn redirect_after(
    params: &Params,
    client: Option<&Registration>,
) -> Result<Option<String>, OAuthError> {
    let Some(uri) = params.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let client = client.ok_or_else(|| {
        OAuthError::invalid_request("post_logout_redirect_uri needs client_id or id_token_hint")
    })?;
    if !client
        .post_logout_redirect_uris
        .iter()
        .any(|r| r.matches(uri))
    {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri is not registered for this client",
        ));
    }
    Ok(Some(match params.get("state") {
        Some(state) => response_url(uri, &[("state", state)]),
        None => uri.to_owned(),
    }))
}
