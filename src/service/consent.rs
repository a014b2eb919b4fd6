//! Consent: whether to ask, and remembering the answer.

use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::consent::{self, Consent};
use crate::oidc::{Registration, ScopeSet};
use crate::state::AppState;
use crate::store::{StoreError, consents};

use super::ServiceError;

/// Whether `user_id` must be asked before `client` gets `request`.
pub async fn decide(
    state: &AppState,
    client: &Registration,
    user_id: &str,
    request: &AuthorizationRequest,
) -> Result<Consent, ServiceError> {
    let requested = parse(&request.scope)?;
    if client.first_party && !request.prompt.consent {
        return Ok(Consent::NotNeeded);
    }
    let granted = consents::find_consent(&state.db, user_id, &request.client_id).await?;
    let granted = (!granted.is_empty())
        .then(|| parse(&granted.join(" ")))
        .transpose()?;
    Ok(consent::decide(
        client.first_party,
        request.prompt,
        &requested,
        granted.as_ref(),
    ))
}

/// Remembers that `user_id` allows `client_id` the request's scopes, on top of earlier ones.
pub async fn remember(
    state: &AppState,
    user_id: &str,
    request: &AuthorizationRequest,
) -> Result<(), ServiceError> {
    let scope = parse(&request.scope)?;
    let scopes: Vec<&str> = scope.iter().collect();
    consents::save_consent(
        &state.db,
        user_id,
        &request.client_id,
        &scopes,
        state.clock.now(),
    )
    .await?;
    crate::audit!(info, "consent.granted", user_id, client_id = %request.client_id, scope = %scope);
    Ok(())
}

fn parse(scope: &str) -> Result<ScopeSet, ServiceError> {
    ScopeSet::parse(scope)
        .map_err(|_| ServiceError::Store(StoreError::Corrupt(format!("scope {scope:?}"))))
}
