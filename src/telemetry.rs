//! Logging: `tracing` with `RUST_LOG`-style filtering, pretty in dev and JSON lines in
//! production; and, when `LOGGING_BACKEND_URL` is set, a copy of every audit event for the
//! central log service (see [`crate::service::log_shipper`]); and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, request spans for an OpenTelemetry collector.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::config::{LogFormat, OtlpExport};
use crate::metrics::ShipperStats;

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Audit events waiting to be shipped at most; beyond it they are dropped and counted.
pub const SHIP_QUEUE: usize = 1024;

/// One event for the central log service: `{"service", "level", "message", "context"}`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShippedEvent {
    /// Always `identity-backend`.
    pub service: &'static str,
    /// `INFO`, `WARNING`, `ERROR`, … (Python's names, which the log service uses).
    pub level: &'static str,
    /// The event's message, or its name when it has none.
    pub message: String,
    /// The event's fields and its request's (request id, client IP, path).
    pub context: Map<String, Value>,
}

/// The sending half of the shipping queue, given to the logging layer.
#[derive(Clone, Debug)]
pub struct AuditSink {
    queue: mpsc::Sender<ShippedEvent>,
    stats: Arc<ShipperStats>,
}

impl AuditSink {
    /// A queue of [`SHIP_QUEUE`] events: the sink for the layer, the receiver for the shipper.
    pub fn new(stats: Arc<ShipperStats>) -> (Self, mpsc::Receiver<ShippedEvent>) {
        let (queue, receiver) = mpsc::channel(SHIP_QUEUE);
        (Self { queue, stats }, receiver)
    }
}

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes the spans still queued.
#[must_use = "dropping it stops trace export"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (bounded by the exporter's timeout) and stops exporting.
    pub async fn shutdown(self) {
        if let Some(provider) = self.traces {
            // The SDK blocks while its export thread drains; keep that off the runtime.
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Installs the global subscriber; a second call (tests) is a no-op. `filter` is `RUST_LOG`
/// from the configuration (environment or `.env`); an invalid one falls back to the default.
/// Audit events go to `sink` whatever the filter says; with `otlp`, request spans (and the
/// warnings and errors inside them) are exported to an OpenTelemetry collector.
pub fn init(
    format: LogFormat,
    filter: Option<&str>,
    sink: Option<AuditSink>,
    otlp: Option<&OtlpExport>,
) -> Telemetry {
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    // Standard output is for command results and the dev banner; logs go to standard error.
    let fmt = match format {
        // tracing-subscriber's own JSON lines, made by json-subscriber: the same shape at half
        // the cost per request (it keeps each span's fields as JSON values, where
        // tracing-subscriber keeps them as text and parses that again for every line). The
        // request's fields once, under "span" (the list of every enclosing span repeated them:
        // there is only the request span, and each line was half duplicate).
        LogFormat::Json => json_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_span_events(FmtSpan::NONE)
            .with_writer(std::io::stderr)
            .compact()
            .with_filter(filter)
            .boxed(),
    };
    // Only audit events, and the request spans whose fields they carry: every other callsite
    // stays disabled for this layer, so shipping costs nothing on the hot paths.
    let ship = sink.map(|sink| {
        ShipLayer { sink }.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target() == crate::audit::TARGET || (meta.is_span() && meta.name() == "request")
        }))
    });
    let traces = otlp.and_then(|otlp| match trace_provider(otlp) {
        Ok(provider) => Some(provider),
        Err(e) => {
            eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT: trace export is off: {e}");
            None
        }
    });
    let export = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("identity-backend"))
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                if meta.is_span() {
                    *meta.level() <= Level::INFO
                } else {
                    *meta.level() <= Level::WARN
                }
            }))
    });
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(ship)
        .with(export)
        .try_init()
        .is_ok();
    if installed && traces.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        EXPORTING_TRACES.store(true, Ordering::Relaxed);
    }
    Telemetry {
        traces: traces.filter(|_| installed),
    }
}

/// The OTLP/HTTP exporter behind a batching processor (its own thread, a bounded queue that
/// drops when full: a slow collector never slows a request).
fn trace_provider(otlp: &OtlpExport) -> Result<SdkTracerProvider, String> {
    let headers = otlp
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.expose().to_owned()))
        .collect();
    crate::outbound::install_tls_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(otlp.traces_url.clone())
        .with_headers(headers)
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(otlp.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Set once trace export is installed; request spans then carry OpenTelemetry's fields.
static EXPORTING_TRACES: AtomicBool = AtomicBool::new(false);

/// Whether request spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`).
pub fn exporting_traces() -> bool {
    EXPORTING_TRACES.load(Ordering::Relaxed)
}

/// Makes `span` a child of the caller's trace when the request carries a W3C `traceparent`
/// (the gateway's trace continues into ours).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    let _ = span.set_parent(parent);
}

/// Reads propagation headers out of an HTTP request.
struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

/// Copies audit events (target `audit`) into the shipping queue, never blocking: a full
/// queue drops the event and counts it.
struct ShipLayer {
    sink: AuditSink,
}

/// A span's fields, kept for the events inside it.
struct SpanFields(Map<String, Value>);

impl<S> Layer<S> for ShipLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.map));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != crate::audit::TARGET {
            return;
        }
        let mut context = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    context.extend(fields.clone());
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        context.extend(fields.map);
        let message = fields
            .message
            .or_else(|| {
                context
                    .get("event")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let shipped = ShippedEvent {
            service: "identity-backend",
            level: python_level(*event.metadata().level()),
            message,
            context,
        };
        if self.sink.queue.try_send(shipped).is_err() {
            self.sink.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn python_level(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// Collects an event's or span's fields as JSON values.
#[derive(Default)]
struct Fields {
    map: Map<String, Value>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.map.insert(field.name().to_owned(), Value::from(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.map.insert(field.name().to_owned(), Value::from(text));
        }
    }
}
