//! Operations: `GET /ready` (the database answers) and `GET /metrics` (Prometheus).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::metrics::Snapshot;
use crate::state::AppState;
use crate::store::keys::list_live_keys;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `200 {"status": "ready"}` when the database answers within 2 s, else `503`; unlike
/// `/ping`, a load balancer should stop sending traffic here while it fails.
pub async fn ready(State(state): State<AppState>) -> Response {
    let ok = matches!(
        tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await,
        Ok(Ok(()))
    );
    let (status, body) = if ok {
        (StatusCode::OK, json!({ "status": "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable", "reason": "the database does not answer" }),
        )
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// The Prometheus (OpenMetrics) text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (idle, in_use) = state.db.pool_stats();
    let now = state.clock.now();
    // The signing key's age from the database; without it (down), the age is left at 0.
    let key_age_secs = match list_live_keys(&state.db, now).await {
        Ok(keys) => keys
            .iter()
            .find(|k| k.activates_at <= now && k.retired_at.is_none_or(|r| r > now))
            .map_or(0, |k| now - k.activates_at),
        Err(_) => 0,
    };
    let snapshot = Snapshot {
        pool_idle: i64::from(idle),
        pool_in_use: i64::from(in_use),
        key_age_secs,
        keys_published: i64::try_from(state.keys.current().published().len()).unwrap_or(0),
    };
    let body = state
        .metrics
        .render(&snapshot, state.shipper_stats.as_deref());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
