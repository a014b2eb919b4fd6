//! One module per URL path.

pub mod discovery;
pub mod jwks;
pub mod ping;
pub mod test_token;
pub mod verify;
