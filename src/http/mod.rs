//! HTTP: thin handlers, the router and its layers, error mapping.

pub mod client_ip;
pub mod error;
pub mod extract;
pub mod pages;
pub mod rate_limit;
pub mod routes;
pub mod serve;
pub mod session;
pub mod session_store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Mode;
use crate::state::AppState;
use session_store::DbSessionStore;

/// The request id header, taken from the caller when present and echoed in the response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request that takes longer than this gets 408 and frees its worker.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Every route, with the layers every route gets.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    // Browser routes carry the session cookie; API routes never set one.
    let limits = state.config.rate_limits;
    let forms = limited(
        Router::new()
            .route("/login", post(routes::login::post))
            .route("/consent", post(routes::consent::post)),
        limits.login,
    );
    let browser = Router::new()
        .route(
            "/authorize",
            get(routes::authorize::handle).post(routes::authorize::handle),
        )
        .merge(forms)
        .route(
            "/logout",
            get(routes::logout::handle).post(routes::logout::handle),
        )
        .layer(session_layer(&state));
    let clients = limited(
        Router::new()
            .route("/token", post(routes::token::post))
            .route("/introspect", post(routes::introspect::post_introspect))
            .route("/revoke", post(routes::introspect::post_revoke)),
        limits.token,
    );
    let verify = limited(
        Router::new().route("/verify", post(routes::verify::post)),
        limits.verify,
    );
    let mut routes = Router::new()
        .merge(browser)
        .merge(clients)
        .merge(verify)
        .route(
            "/userinfo",
            get(routes::userinfo::handle).post(routes::userinfo::handle),
        )
        .route("/static/idp.css", get(routes::static_files::css))
        .route("/static/logo", get(routes::static_files::logo))
        .route("/ping", get(routes::ping::get))
        .route("/ready", get(routes::ops::ready))
        .route(
            "/.well-known/openid-configuration",
            get(routes::discovery::get),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(routes::discovery::get),
        )
        .route("/jwks.json", get(routes::jwks::get));
    if state.config.mode == Mode::Development {
        routes = routes.route("/test-token", get(routes::test_token::get));
    }
    if state.config.metrics_addr.is_none() {
        routes = routes.route("/metrics", get(routes::ops::metrics));
    }
    let routes = routes.layer(axum::middleware::from_fn_with_state(
        state.metrics.clone(),
        record_request,
    ));
    let trusted = Arc::new(state.config.trusted_proxies.clone());
    // Over https, browsers are told to stay on https (a year; subdomains are not ours to name).
    let hsts = state.config.issuer.is_https().then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    routes.fallback(error::not_found).with_state(state).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .map_request(client_ip::tag(trusted))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .option_layer(hsts)
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(RequestBodyLimitLayer::new(body_limit))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(DefaultBodyLimit::max(body_limit)),
    )
}

/// The router of `METRICS_ADDR`: `/metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(routes::ops::metrics))
        .with_state(state)
}

/// Counts every routed request by route, method and status, with its latency.
async fn record_request(
    axum::extract::State(metrics): axum::extract::State<crate::metrics::Metrics>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if crate::telemetry::exporting_traces() {
        let span = tracing::Span::current();
        span.record("http.response.status_code", response.status().as_u16());
        if response.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    metrics.request(
        crate::metrics::RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `router` with a per-IP limit of `per_minute` requests on each of its routes (none: as is).
fn limited(router: Router<AppState>, per_minute: Option<u32>) -> Router<AppState> {
    let Some(limiter) = rate_limit::Limiter::per_minute(per_minute) else {
        return router;
    };
    // Idle IPs are forgotten every minute; the task ends with the router.
    let forgetting = limiter.clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                if forgetting.is_only_holder() {
                    return;
                }
                forgetting.forget_idle();
            }
        });
    }
    router.route_layer(axum::middleware::from_fn_with_state(
        limiter,
        rate_limit::enforce,
    ))
}

/// The session cookie (DESIGN §4): a name of its own, `__Host-` and `Secure` over https,
/// `HttpOnly`, `SameSite=Lax` (the redirect back from a client is a top-level GET).
fn session_layer(state: &AppState) -> SessionManagerLayer<DbSessionStore> {
    let secure = state.config.issuer.is_https();
    let name = if secure {
        "__Host-idp_session"
    } else {
        "idp_session"
    };
    let idle = time::Duration::seconds(state.config.session_idle_secs);
    SessionManagerLayer::new(DbSessionStore::new(state.db.clone(), state.clock.clone()))
        .with_name(name)
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// The span every log line of a request belongs to (audit events included): method, path,
/// request id and client IP. Only the path is recorded: query strings can carry codes and
/// tokens, which never reach a log.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let client_ip = request
        .extensions()
        .get::<client_ip::ClientIp>()
        .map(ToString::to_string);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        client_ip = client_ip.as_deref().unwrap_or("-"),
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if crate::telemetry::exporting_traces() {
        let name = format!("{} {}", request.method(), request.uri().path());
        span.record("otel.name", name);
        span.record("otel.kind", "server");
        crate::telemetry::continue_trace(&span, request.headers());
    }
    span
}
