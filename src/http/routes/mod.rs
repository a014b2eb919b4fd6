//! One module per URL path.

pub mod authorize;
pub mod consent;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod ops;
pub mod ping;
pub mod static_files;
pub mod test_token;
pub mod token;
pub mod userinfo;
pub mod verify;
