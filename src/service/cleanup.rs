//! The periodic removal of expired rows, on every instance (the deletes are idempotent).

use std::future::Future;
use std::time::Duration;

use crate::state::AppState;
use crate::store::cleanup::{Removed, delete_expired};

use super::ServiceError;

/// Removes what expired, with the clock skew we tolerate as a margin (a token checked with
/// leeway may still need its revocation for that long).
pub async fn clean(state: &AppState) -> Result<Removed, ServiceError> {
    let before = state.clock.now() - state.config.clock_skew_secs;
    let removed = delete_expired(&state.db, before).await?;
    if removed.total() > 0 {
        let counts: Vec<String> = removed
            .0
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(table, n)| format!("{table}={n}"))
            .collect();
        tracing::info!(removed = %counts.join(" "), "expired rows removed");
    }
    Ok(removed)
}

/// Runs [`clean`] every `CLEANUP_INTERVAL_SECONDS` until `stopped`.
pub async fn run(state: AppState, stopped: impl Future<Output = ()>) {
    let period = Duration::from_secs(state.config.cleanup_interval_secs);
    let state = &state;
    super::every(period, stopped, || async move {
        if let Err(e) = clean(state).await {
            tracing::warn!(error = %e, "could not remove expired rows; will try again");
        }
    })
    .await;
}
