//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotation on every use, reuse revokes the
//! family, a retry within the grace window gets the same new token back.

use crate::crypto::digest::token_hash;
use crate::crypto::random::random_token;
use crate::oidc::{ErrorCode, GrantType, OAuthError, Registration, ScopeSet};
use crate::state::AppState;
use crate::store::refresh_tokens::{self as store, RefreshToken};
use crate::store::users;

use super::ServiceError;
use super::token::{TokenResponse, UserGrant, mint_user_access_token};

fn invalid_grant(description: &'static str) -> ServiceError {
    ServiceError::OAuth(OAuthError::new(ErrorCode::InvalidGrant, description))
}

/// Which family a refresh token belongs to.
#[derive(Debug)]
pub enum Family<'a> {
    /// A new family with this id: a code's redemption names it after the access token issued
    /// with it (the `jti` kept on the code), so a replay of the code can revoke it.
    Start(&'a str),
    /// The successor (this token) of a rotated one.
    Continue(&'a RefreshToken, String),
}

/// Issues a refresh token for `grant`: a random one starting a family, or the given derived
/// successor continuing one.
pub async fn issue(
    state: &AppState,
    client: &Registration,
    grant: &UserGrant<'_>,
    family: Family<'_>,
) -> Result<String, ServiceError> {
    let now = state.clock.now();
    let (token, family_id, scope) = match family {
        Family::Continue(previous, successor) => (
            successor,
            previous.family_id.clone(),
            previous.scope.clone(),
        ),
        Family::Start(id) => (random_token(32)?, id.to_owned(), grant.scope.to_string()),
    };
    store::insert_refresh_token(
        &state.db,
        &RefreshToken {
            token_hash: token_hash(&token),
            family_id,
            client_id: client.id.as_str().to_owned(),
            user_id: grant.user.id.clone(),
            scope,
            session_id: grant.sid.map(str::to_owned),
            auth_time: grant.auth_time,
            created_at: now,
            expires_at: now + state.config.refresh_token_ttl_secs,
            rotated_at: None,
            revoked_at: None,
        },
    )
    .await?;
    Ok(token)
}

/// Exchanges a refresh token for a new access token and the token's successor.
pub async fn redeem(
    state: &AppState,
    client: &Registration,
    presented: &str,
    requested_scope: Option<&str>,
) -> Result<TokenResponse, ServiceError> {
    if !client.allows(GrantType::RefreshToken) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use refresh tokens",
        )
        .into());
    }
    let now = state.clock.now();
    let hash = token_hash(presented);
    let stored = store::find_refresh_token(&state.db, &hash)
        .await?
        .filter(|t| t.client_id == client.id.as_str())
        .ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
    if stored.revoked_at.is_some() || stored.expires_at <= now {
        return Err(invalid_grant("the refresh token is invalid or expired"));
    }
    // Every check that can fail comes before the rotation, so a refused request (a disabled
    // user, a wider scope) does not use the token up.
    let user = users::find_user_by_id(&state.db, &stored.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_grant("the user is no longer active"))?;
    let granted = ScopeSet::parse(&stored.scope).unwrap_or_default();
    // RFC 6749 §6: a refresh may narrow the scope, never widen it.
    let scope = match requested_scope {
        None => granted.clone(),
        Some(text) => {
            let asked = ScopeSet::parse(text)
                .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
            if !asked.is_subset(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "a refresh cannot add scopes",
                )
                .into());
            }
            asked
        }
    };
    let grant = UserGrant {
        user: &user,
        scope: &scope,
        auth_time: stored.auth_time,
        sid: stored.session_id.as_deref(),
    };
    // The successor is stored before the rotation, so a racing retry finds it at once.
    let successor = state.successor_key.successor(presented);
    let refresh_token = issue(state, client, &grant, Family::Continue(&stored, successor)).await?;
    if !store::rotate_refresh_token(&state.db, &hash, now).await? {
        // Rotated before. A retry soon after gets the same successor; anything later is reuse
        // of a stolen or leaked token.
        let rotated_at = store::find_refresh_token(&state.db, &hash)
            .await?
            .and_then(|t| t.rotated_at);
        let within_grace =
            rotated_at.is_some_and(|t| now - t <= state.config.refresh_reuse_grace_secs);
        let successor_live = store::find_refresh_token(&state.db, &token_hash(&refresh_token))
            .await?
            .is_some_and(|t| t.revoked_at.is_none());
        if !(within_grace && successor_live) {
            let revoked = store::revoke_family(&state.db, &stored.family_id, now).await?;
            crate::audit!(
                warn,
                "refresh_token.reused",
                client_id = %client.id,
                user_id = %stored.user_id,
                family = %stored.family_id,
                revoked,
                "refresh token reused after rotation: its whole family is revoked"
            );
            return Err(invalid_grant("the refresh token was already used"));
        }
    }
    let access_token = mint_user_access_token(state, client, &grant, random_token(16)?).await?;
    crate::audit!(info, "token.issued", client_id = %client.id, user_id = %user.id, grant = "refresh_token");
    state.metrics.token_issued("refresh_token");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.config.token_ttl_secs,
        id_token: None,
        refresh_token: Some(refresh_token),
        scope: scope.to_string(),
    })
}
