//! The audit log: one structured event per security-relevant fact.
//!
//! Audit events are `tracing` events on the [`TARGET`] target, each with an `event` field
//! naming what happened (`sign_in.failed`, `refresh_token.reused`, …) and the ids it concerns
//! (user, client, session). They go wherever the logs go, with the request's id from its span,
//! and can be selected with `RUST_LOG=audit=info` or by `target == "audit"` in JSON logs.
//! Never put a secret, a password or a token in one: token ids (`jti`) and hashes only.

/// The `tracing` target of audit events.
pub const TARGET: &str = "audit";

/// Emits an audit event: `audit!(warn, "refresh_token.reused", client_id = %id, "message")`.
#[macro_export]
macro_rules! audit {
    ($level:ident, $event:literal $(, $($rest:tt)*)?) => {
        ::tracing::$level!(target: "audit", event = $event $(, $($rest)*)?)
    };
}
