//! The protocol core: pure types and decisions, no HTTP, SQL or templates.
//!
//! Everything here takes its inputs (including `now`) as arguments, so it is unit-tested
//! without a server or a database. CI checks that this module imports nothing from axum,
//! tower, sqlx or askama.

pub mod assertion;
pub mod authorize;
pub mod claims;
pub mod client;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod issuer;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod token;
pub mod user;

pub use claims::{ClaimsError, Expectations};
pub use client::{AuthMethod, ClientId, ClientType, GrantType, Registration};
pub use error::{ErrorCode, OAuthError};
pub use issuer::Issuer;
pub use params::Params;
pub use redirect_uri::{RedirectUri, RedirectUriPolicy};
pub use scope::ScopeSet;
pub use user::Username;
