//! `GET /ping`: liveness, as cheap as a response can be.

/// `200 OK` with body `OK` (DESIGN §2).
pub async fn get() -> &'static str {
    "OK"
}
