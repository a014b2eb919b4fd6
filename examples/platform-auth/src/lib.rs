//! Bearer-token checks for the platform's Rust services.
//!
//! identity-backend signs access tokens (user tokens from the authorization-code flow, service
//! tokens from `client_credentials`) with keys it publishes at its `jwks_uri`. A service that
//! receives one checks it here, locally, without a call to the provider per request:
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use platform_auth::{Claims, JwksVerifier, RequireBearer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = JwksVerifier::new("https://id.example.com", "logging-service")?;
//! let app: Router = Router::new()
//!     .route("/whoami", get(|claims: Claims| async move { Json(claims) }))
//!     .route_layer(RequireBearer::new(verifier));
//! # Ok(()) }
//! ```
//!
//! What is checked, and why:
//! - the signature, with the key the token's `kid` names in the issuer's JWKS (found through
//!   discovery); the algorithm comes from that key, never from the token, so `alg: none` and
//!   HS256 "signed" with the public key are refused, and symmetric keys in a JWKS are ignored;
//! - `iss` equal to the issuer, `aud` containing the audience, `exp` and `nbf` with a small
//!   leeway for clock skew;
//! - headers that would let a token bring its own key (`jwk`, `jku`, `x5u`, `x5c`) and unknown
//!   `crit` extensions are refused.
//!
//! Keys are cached for the JWKS response's `max-age` (300 s from identity-backend). A token
//! naming a `kid` the cache does not know makes one refetch, at most once per
//! [`DEFAULT_MIN_REFETCH_INTERVAL`], before it is refused: that is how a rotated key is picked
//! up, and why a stream of made-up `kid`s cannot turn this service into a load on the provider.
//! Revocation is not seen locally: identity-backend's tokens live minutes; a service that must
//! honour revocation at once asks the provider (`/introspect`) instead.

mod claims;
mod error;
mod fetch;
mod keys;
mod layer;
mod verifier;

pub use claims::Claims;
pub use error::{BuildError, FetchError, VerifyError};
pub use layer::{BearerError, RequireBearer, RequireBearerService};
pub use verifier::{
    DEFAULT_LEEWAY, DEFAULT_MIN_REFETCH_INTERVAL, JwksVerifier, JwksVerifierBuilder,
};
