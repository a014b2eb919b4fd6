//! A relying party in the role of the platform's API gateway, built on the `openidconnect`
//! crate: sign-in with identity-backend (authorization code + PKCE S256, `state`, `nonce`,
//! RFC 9207 `iss`), the ID token verified against the provider's JWKS, RP-initiated logout,
//! back-channel logout (`POST /backchannel-logout`), and calls to a resource server with the
//! user's access token.
//!
//! Environment: `ISSUER`, `CLIENT_ID`, `CLIENT_SECRET` (unset: a public client), `BASE_URL`
//! (required), `CLIENT_AUTH_METHOD` (`client_secret_basic`, the default, or
//! `client_secret_post`), `BIND_ADDR` (default `127.0.0.1:5000`), `RESOURCE_URL`, `APP_NAME`
//! (default `gateway`), `PROVIDER_INTERNAL_URL` (unset: the issuer's URL), `RUST_LOG`. See
//! examples/README.md.

mod backchannel;
mod config;
mod error;
mod pages;
mod provider;
mod provider_http;
mod resource;
mod routes;
mod session;
mod store;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use platform_auth::JwksVerifier;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing_subscriber::EnvFilter;

use crate::backchannel::LogoutTokenVerifier;
use crate::config::Config;
use crate::provider::Provider;
use crate::provider_http::ProviderHttp;
use crate::routes::AppState;
use crate::store::IndexedStore;

/// A signed-in session ends after this long without a request.
pub const SESSION_IDLE: time::Duration = time::Duration::hours(8);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    // reqwest is built without a TLS provider of its own: rustls on aws-lc-rs, as in
    // identity-backend. Err means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let config = Arc::new(Config::from_env()?);
    // The openidconnect crate's advice: an HTTP client that follows no redirects (SSRF).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")?;
    let provider_http = ProviderHttp::new(
        http.clone(),
        config.issuer.as_str(),
        config.provider_internal_url.as_deref(),
    );
    let provider = Provider::discover(config.clone(), provider_http)
        .await
        .with_context(|| format!("discovering {}", config.issuer.as_str()))?;

    // Logout tokens are signed with the keys of the ID tokens, and are for our client id.
    let jwks = JwksVerifier::builder(config.issuer.as_str(), config.client_id.as_str())
        .jwks_uri(provider.jwks_uri())
        .http_client(http.clone())
        .build()
        .context("building the logout token verifier")?;
    let store = IndexedStore::default();
    let sessions = SessionManagerLayer::new(store.clone())
        .with_name(config.cookie_name.clone())
        .with_http_only(true)
        // Lax: the cookie comes along on the provider's top-level redirect back to /callback.
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));
    let state = AppState {
        config: config.clone(),
        provider: Arc::new(provider),
        http,
        sessions: store,
        logout_tokens: LogoutTokenVerifier::new(jwks),
    };
    let app = routes::router(state).layer(sessions);

    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(
        addr = %config.bind_addr,
        base_url = config.base_url,
        app = config.app_name,
        cookie = config.cookie_name,
        "listening"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")
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
