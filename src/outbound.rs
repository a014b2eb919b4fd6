//! Outbound HTTP: the one client the service uses to call others (back-channel logout, the log
//! shipper); the trace exporter builds its own on the same TLS provider.

use std::time::Duration;

/// The longest any outbound request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// rustls needs a process-wide provider before any client is built; ours is aws-lc-rs, as for
/// JWTs. A second call finds it installed, which is fine.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client with bounded timeouts that never follows redirects (a 3xx from a registered URI
/// must not send our tokens somewhere else), TLS by rustls on aws-lc-rs with Mozilla's roots.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("identity-backend/", env!("CARGO_PKG_VERSION")))
        .build()
}
