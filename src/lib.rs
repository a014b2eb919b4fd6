//! identity-backend: an OpenID Connect provider and JWT issuer for the platform's services.
//!
//! Layers point one way: [`http`] → [`service`] → [`oidc`] (pure protocol) and [`store`]
//! (all SQL); [`crypto`] is used by `service` and `oidc`. [`app`] wires them together.

pub mod app;
pub mod audit;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
