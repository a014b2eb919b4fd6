//! A resource server in the role of the platform's `logging-backend`: `POST /log` takes a log
//! entry only with a bearer JWT from identity-backend for its audience, checked locally against
//! the issuer's JWKS by `platform-auth`, and prints it to standard output.
//!
//! Environment: `ISSUER` (required, e.g. `http://localhost:5002`), `AUDIENCE` (default
//! `logging-service`), `BIND_ADDR` (default `127.0.0.1:5003`), `REQUIRED_SCOPE` (optional, e.g.
//! `logs:write`), `JWKS_URI` (optional: instead of the one discovery names), `RUST_LOG`.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform_auth::{Claims, JwksVerifier, RequireBearer};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// What the service is configured with.
struct Config {
    issuer: String,
    audience: String,
    bind_addr: SocketAddr,
    required_scope: Option<String>,
    jwks_uri: Option<String>,
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let issuer = std::env::var("ISSUER").context("ISSUER must name the token issuer")?;
        let bind_addr = var("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:5003".into())
            .parse()
            .context("BIND_ADDR must be HOST:PORT")?;
        Ok(Self {
            issuer,
            audience: var("AUDIENCE").unwrap_or_else(|| "logging-service".into()),
            bind_addr,
            required_scope: var("REQUIRED_SCOPE"),
            jwks_uri: var("JWKS_URI"),
        })
    }
}

/// A non-empty environment variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from_env()?;

    let mut verifier = JwksVerifier::builder(&config.issuer, &config.audience);
    if let Some(jwks_uri) = &config.jwks_uri {
        verifier = verifier.jwks_uri(jwks_uri);
    }
    let verifier = verifier.build().context("building the token verifier")?;
    match verifier.warm_up().await {
        Ok(keys) => tracing::info!(keys, issuer = config.issuer, "signing keys fetched"),
        // Not fatal: the issuer may start after us; the first request tries again.
        Err(error) => tracing::warn!(error = %error, "signing keys not fetched yet"),
    }

    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(addr = %config.bind_addr, audience = config.audience, "listening");
    axum::serve(listener, app(verifier, config.required_scope))
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")
}

/// The routes: `/log` and `/whoami` behind the bearer check, `/ping` open.
fn app(verifier: JwksVerifier, required_scope: Option<String>) -> Router {
    let mut bearer = RequireBearer::new(verifier);
    if let Some(scope) = required_scope {
        bearer = bearer.with_scope(scope);
    }
    Router::new()
        .route("/log", post(post_log))
        .route("/whoami", get(whoami))
        .route_layer(bearer)
        .route("/ping", get(|| async { "OK" }))
}

/// A log entry as identity-backend's log shipper and the platform's services send it.
#[derive(Deserialize)]
struct LogEntry {
    service: String,
    level: String,
    message: String,
    #[serde(default)]
    context: Value,
}

/// `POST /log`: 201 and the entry printed, or 400 when the body is not a log entry.
async fn post_log(claims: Claims, entry: Result<Json<LogEntry>, JsonRejection>) -> Response {
    let Json(entry) = match entry {
        Ok(entry) => entry,
        Err(rejection) => {
            let body =
                json!({"error": "invalid_request", "error_description": rejection.body_text()});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    // Who sent it, from the verified token, beside who the body says it is.
    let caller = claims.subject().unwrap_or("-");
    let context = if entry.context.is_null() {
        String::new()
    } else {
        format!(" {}", entry.context)
    };
    println!(
        "[{}] {}: {}{context} (sub={caller})",
        entry.level.to_uppercase(),
        entry.service,
        entry.message
    );
    (StatusCode::CREATED, Json(json!({"status": "logged"}))).into_response()
}

/// `GET /whoami`: the verified claims of the caller's token.
async fn whoami(claims: Claims) -> Json<Claims> {
    Json(claims)
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
