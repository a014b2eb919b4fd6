//! Per-IP request rate limits (GCRA via `governor`): `429 Too Many Requests` with
//! `Retry-After` beyond them.
//!
//! The counters are in memory, per instance: with N instances behind a load balancer a
//! client gets up to N times the rate, which is the usual trade for not touching the database
//! on every request. Brute force on passwords is stopped by the sign-in lockout, whose
//! counters are in the database and shared.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use super::client_ip::ClientIp;

/// One limit: `per_minute` requests per client IP, in bursts of up to that many.
#[derive(Clone)]
pub struct Limiter(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    /// A limiter allowing `per_minute` requests per minute per IP; `None` for no limit.
    pub fn per_minute(per_minute: Option<u32>) -> Option<Self> {
        let n = NonZeroU32::new(per_minute?)?;
        Some(Self(Arc::new(RateLimiter::keyed(Quota::per_minute(n)))))
    }

    /// `Ok` when `ip` may go on, else how long until it may.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.0
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Whether nothing but the caller holds this limiter (its router is gone).
    pub fn is_only_holder(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }

    /// Forgets IPs whose allowance is full again (bounded memory; run periodically).
    pub fn forget_idle(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

/// Middleware: refuses a request over its client IP's limit.
pub async fn enforce(
    State(limiter): State<Limiter>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    match limiter.check(ip) {
        Ok(()) => next.run(request).await,
        Err(wait) => too_many(wait, ip),
    }
}

fn too_many(wait: Duration, ip: IpAddr) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    crate::audit!(info, "rate_limit.exceeded", client_ip = %ip, retry_after = seconds);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "error": "temporarily_unavailable",
            "error_description": "too many requests; retry later",
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
