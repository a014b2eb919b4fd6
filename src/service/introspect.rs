//! `/introspect` (RFC 7662) and `/revoke` (RFC 7009) for client-authenticated callers.

use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::crypto::digest::token_hash;
use crate::oidc::token::presented_client;
use crate::oidc::{ClientType, ErrorCode, OAuthError, Params};
use crate::state::AppState;
use crate::store::refresh_tokens;

use super::ServiceError;
use super::clients::authenticate;
use super::verify::verify_token;

/// RFC 7662 §2.2: `{"active": true, …claims}` or just `{"active": false}`, never why.
pub async fn introspect(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<Map<String, Value>, ServiceError> {
    let client = authenticate(state, &presented_client(authorization, params)?).await?;
    // A public client proves nothing by its id alone: it must not read other tokens' claims.
    if client.client_type != ClientType::Confidential {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "introspection needs a confidential client",
        )
        .into());
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let mut answer = Map::new();
    match verify_token(state, token, None).await? {
        Ok(claims) => {
            answer.insert("active".into(), Value::Bool(true));
            answer.extend(claims);
            if !answer.contains_key("token_type") {
                answer.insert("token_type".into(), Value::String("Bearer".into()));
            }
            tracing::debug!(client_id = %client.id, "token introspected: active");
        }
        Err(_) => {
            answer.insert("active".into(), Value::Bool(false));
        }
    }
    Ok(answer)
}

/// RFC 7009: revokes a token the authenticated client holds. The answer is the same whether
/// the token was valid, unknown or someone else's (§2.2), so it reveals nothing.
pub async fn revoke(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
) -> Result<(), ServiceError> {
    let client = authenticate(state, &presented_client(authorization, params)?).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    // A refresh token (opaque): revoking it ends its whole family (RFC 7009 §2.1).
    if let Some(refresh) = refresh_tokens::find_refresh_token(&state.db, &token_hash(token)).await?
    {
        if refresh.client_id == client.id.as_str() {
            refresh_tokens::revoke_family(&state.db, &refresh.family_id, state.clock.now()).await?;
            crate::audit!(info, "token.revoked", client_id = %client.id, kind = "refresh_token");
        }
        return Ok(());
    }
    let Ok(claims) = verify_token(state, token, None).await? else {
        return Ok(());
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    // §2.1: a client may revoke only tokens issued to it.
    if text("client_id") != Some(client.id.as_str()) {
        tracing::info!(client_id = %client.id, "revocation of another client's token ignored");
        return Ok(());
    }
    let (Some(jti), Some(exp)) = (text("jti"), claims.get("exp").and_then(Value::as_i64)) else {
        return Ok(());
    };
    let until: UnixTime = exp + state.config.clock_skew_secs;
    super::revocations::revoke(state, jti, until).await?;
    crate::audit!(info, "token.revoked", client_id = %client.id, kind = "access_token");
    Ok(())
}
