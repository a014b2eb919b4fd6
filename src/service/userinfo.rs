//! `/userinfo` (OIDC Core §5.3): the signed-in user's claims, for a valid access token.

use serde_json::{Map, Value};

use crate::crypto::digest::fingerprint;
use crate::crypto::jwt;
use crate::oidc::claims::{self, Expectations, Registered};
use crate::oidc::{ErrorCode, OAuthError, ScopeSet};
use crate::state::AppState;
use crate::store::users;

use super::ServiceError;
use super::token::user_claims;

fn invalid_token(description: &'static str) -> ServiceError {
    ServiceError::OAuth(OAuthError::new(ErrorCode::InvalidToken, description))
}

/// The claims of the user `access_token` was issued for, by its scopes.
pub async fn userinfo(
    state: &AppState,
    access_token: &str,
) -> Result<Map<String, Value>, ServiceError> {
    let keys = state.keys.current();
    // Only our own keys: a shared-key (HS256) token can be made by every service holding
    // JWT_SECRET_KEY, so it never opens a user's claims.
    let verified = jwt::verify(access_token, &keys, None).map_err(|e| {
        tracing::debug!(token = %fingerprint(access_token), reason = %e, "userinfo token refused");
        invalid_token("the access token is invalid")
    })?;
    let expect = Expectations {
        issuer: &state.config.issuer,
        audience: None,
        now: state.clock.now(),
        leeway: state.config.clock_skew_secs,
    };
    claims::validate(&Registered::from_map(&verified.claims), &expect)
        .map_err(|_| invalid_token("the access token is invalid or expired"))?;
    // RFC 9068 §4: an ID token (typ JWT) is not an access token.
    if verified.typ.as_deref() != Some("at+jwt") || !verified.claims.contains_key("client_id") {
        return Err(invalid_token("not an access token"));
    }
    let text = |name: &str| verified.claims.get(name).and_then(Value::as_str);
    if let Some(jti) = text("jti")
        && state.revocations.is_revoked(jti)
    {
        return Err(invalid_token("the access token was revoked"));
    }
    let scope = ScopeSet::parse(text("scope").unwrap_or("")).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(
            OAuthError::new(ErrorCode::InsufficientScope, "the openid scope is required").into(),
        );
    }
    let user = users::find_user_by_id(&state.db, text("sub").unwrap_or(""))
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_token("the user is no longer active"))?;
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.id.clone()));
    if let Value::Object(claims) =
        serde_json::to_value(user_claims(&user, &scope)).unwrap_or_default()
    {
        out.extend(claims);
    }
    Ok(out)
}
