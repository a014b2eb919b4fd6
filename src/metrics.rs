//! Prometheus metrics: one registry per application (tests run many side by side).
//!
//! Counters and histograms are updated where things happen; gauges that describe state
//! (the pool, the signing key's age) are read when `/metrics` is scraped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `route`, `method`, `status` of an HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route (`/token`), never the raw path (unbounded cardinality).
    pub route: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The status code.
    pub status: u16,
}

/// One label: what happened.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// The outcome or kind.
    pub outcome: &'static str,
}

/// One label: the state of a pool connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolState {
    /// `idle` or `in_use`.
    pub state: &'static str,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Counters the log shipper keeps; shared with the process-wide logging layer.
#[derive(Debug, Default)]
pub struct ShipperStats {
    /// Events posted and accepted.
    pub sent: AtomicU64,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Events given up on (refused by the log service, or too many failures).
    pub failed: AtomicU64,
}

/// Every metric of one application.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    sign_ins: Family<Outcome, Counter>,
    tokens: Family<Outcome, Counter>,
    verifications: Family<Outcome, Counter>,
    logout_deliveries: Family<Outcome, Counter>,
    pool: Family<PoolState, Gauge>,
    key_age: Gauge,
    keys_published: Gauge,
    shipped: Family<Outcome, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("identity");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let durations: HistogramFamily =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route, method and status",
            durations.clone(),
        );
        let sign_ins = Family::<Outcome, Counter>::default();
        registry.register(
            "sign_ins",
            "Password sign-ins by outcome (succeeded, failed, locked)",
            sign_ins.clone(),
        );
        let tokens = Family::<Outcome, Counter>::default();
        registry.register(
            "tokens_issued",
            "Tokens issued by grant type",
            tokens.clone(),
        );
        let verifications = Family::<Outcome, Counter>::default();
        registry.register(
            "token_verifications",
            "POST /verify answers by result",
            verifications.clone(),
        );
        let logout_deliveries = Family::<Outcome, Counter>::default();
        registry.register(
            "backchannel_logout_deliveries",
            "Back-channel logout attempts by outcome",
            logout_deliveries.clone(),
        );
        let pool = Family::<PoolState, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        let key_age = Gauge::default();
        registry.register(
            "signing_key_age_seconds",
            "How long the signing key has been signing",
            key_age.clone(),
        );
        let keys_published = Gauge::default();
        registry.register(
            "signing_keys_published",
            "Keys in the JWKS (signing, next and retired)",
            keys_published.clone(),
        );
        let shipped = Family::<Outcome, Gauge>::default();
        registry.register(
            "log_shipper_events",
            "Audit events shipped to LOGGING_BACKEND_URL, by outcome (sent, dropped, failed), since start",
            shipped.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            durations,
            sign_ins,
            tokens,
            verifications,
            logout_deliveries,
            pool,
            key_age,
            keys_published,
            shipped,
        }))
    }

    /// Records one HTTP request.
    pub fn request(&self, labels: RequestLabels, seconds: f64) {
        self.0.durations.get_or_create(&labels).observe(seconds);
        self.0.requests.get_or_create(&labels).inc();
    }

    /// Records a password sign-in: `succeeded`, `failed` or `locked`.
    pub fn sign_in(&self, outcome: &'static str) {
        self.0.sign_ins.get_or_create(&Outcome { outcome }).inc();
    }

    /// Records a token issued by `grant`.
    pub fn token_issued(&self, grant: &'static str) {
        self.0
            .tokens
            .get_or_create(&Outcome { outcome: grant })
            .inc();
    }

    /// Records a `/verify` answer.
    pub fn verification(&self, result: &'static str) {
        self.0
            .verifications
            .get_or_create(&Outcome { outcome: result })
            .inc();
    }

    /// Records a back-channel logout attempt's outcome.
    pub fn logout_delivery(&self, outcome: &'static str) {
        self.0
            .logout_deliveries
            .get_or_create(&Outcome { outcome })
            .inc();
    }

    /// The text exposition, with the state gauges set first.
    pub fn render(&self, state: &Snapshot, shipper: Option<&ShipperStats>) -> String {
        let inner = &self.0;
        for (name, value) in [("idle", state.pool_idle), ("in_use", state.pool_in_use)] {
            inner
                .pool
                .get_or_create(&PoolState { state: name })
                .set(value);
        }
        inner.key_age.set(state.key_age_secs);
        inner.keys_published.set(state.keys_published);
        if let Some(stats) = shipper {
            for (outcome, counter) in [
                ("sent", &stats.sent),
                ("dropped", &stats.dropped),
                ("failed", &stats.failed),
            ] {
                let value = i64::try_from(counter.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
                inner.shipped.get_or_create(&Outcome { outcome }).set(value);
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &inner.registry);
        out
    }
}

/// State read at scrape time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Idle pool connections.
    pub pool_idle: i64,
    /// Pool connections in use.
    pub pool_in_use: i64,
    /// Seconds since the signing key started signing.
    pub key_age_secs: i64,
    /// Keys in the JWKS.
    pub keys_published: i64,
}
