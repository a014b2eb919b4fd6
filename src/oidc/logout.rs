//! RP-Initiated Logout 1.0 §2-3: which client is asking, and where the browser may go after.

use serde::Serialize;
use serde_json::{Map, Value};

use super::authorize::response_url;
use super::client::ClientType;
use super::{OAuthError, Params, Registration};
use crate::clock::UnixTime;

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

/// Back-Channel Logout 1.0 §2.4: the event a logout token carries.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid (§2.4 recommends at most two minutes).
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

/// The claims of a logout token (Back-Channel Logout 1.0 §2.4): `sub` AND `sid`, an `events`
/// member, a `jti`, and never a `nonce`, so it cannot pass for an ID token.
#[derive(Clone, Debug, Serialize)]
pub struct LogoutTokenClaims {
    /// Our issuer.
    pub iss: String,
    /// The client being told.
    pub aud: String,
    /// Issued at.
    pub iat: UnixTime,
    /// Expiry.
    pub exp: UnixTime,
    /// Unique per logout event and client; the same on a retried delivery, so the client can
    /// tell a retry from a new event.
    pub jti: String,
    /// The user, as in the ID token.
    pub sub: String,
    /// The session that ended, as in the ID token.
    pub sid: String,
    /// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
    pub events: Map<String, Value>,
}

impl LogoutTokenClaims {
    /// The logout token for `client_id` about `sub`'s session `sid`, issued at `now`.
    pub fn new(
        issuer: &str,
        client_id: &str,
        sub: &str,
        sid: &str,
        jti: &str,
        now: UnixTime,
    ) -> Self {
        let mut events = Map::new();
        events.insert(
            BACKCHANNEL_LOGOUT_EVENT.to_owned(),
            Value::Object(Map::new()),
        );
        Self {
            iss: issuer.to_owned(),
            aud: client_id.to_owned(),
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL_SECS,
            jti: jti.to_owned(),
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            events,
        }
    }
}

/// Why a `backchannel_logout_uri` cannot be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBackchannelUri {
    /// Not an absolute URL.
    #[error("must be an absolute URL")]
    NotAbsolute,
    /// Neither https, nor http for a confidential client.
    #[error("must use https (http only for confidential clients)")]
    Scheme,
    /// §2.2: it must not include a fragment.
    #[error("must not have a fragment")]
    Fragment,
}

/// Checks a `backchannel_logout_uri` (§2.2): absolute, no fragment, https, or http for a
/// confidential client (the platform's services talk plain HTTP on their private network).
pub fn backchannel_logout_uri(
    text: &str,
    client_type: ClientType,
) -> Result<String, InvalidBackchannelUri> {
    let url = url::Url::parse(text).map_err(|_| InvalidBackchannelUri::NotAbsolute)?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InvalidBackchannelUri::NotAbsolute);
    }
    match (url.scheme(), client_type) {
        ("https", _) | ("http", ClientType::Confidential) => {}
        _ => return Err(InvalidBackchannelUri::Scheme),
    }
    if url.fragment().is_some() {
        return Err(InvalidBackchannelUri::Fragment);
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_tokens_carry_the_event_and_no_nonce() {
        let claims = LogoutTokenClaims::new("https://id.example", "gw", "u1", "s1", "j1", 100);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json["events"][BACKCHANNEL_LOGOUT_EVENT],
            serde_json::json!({})
        );
        assert_eq!(json["exp"], 100 + LOGOUT_TOKEN_TTL_SECS);
        assert_eq!(
            (json["sub"].as_str(), json["sid"].as_str()),
            (Some("u1"), Some("s1"))
        );
        assert!(json.get("nonce").is_none());
    }

    #[test]
    fn backchannel_uris() {
        let ok = |u: &str, t| backchannel_logout_uri(u, t).is_ok();
        assert!(ok("https://app.example/bc", ClientType::Public));
        assert!(ok(
            "http://gateway:8000/backchannel-logout",
            ClientType::Confidential
        ));
        assert!(!ok("http://gateway:8000/bc", ClientType::Public));
        assert_eq!(
            backchannel_logout_uri("https://app.example/bc#x", ClientType::Confidential),
            Err(InvalidBackchannelUri::Fragment)
        );
        for bad in ["/bc", "bc", "ftp://x/bc", "javascript:alert(1)"] {
            assert!(!ok(bad, ClientType::Confidential), "{bad}");
        }
    }
}
