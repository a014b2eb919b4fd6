//! Removing rows nobody can use any more. Each statement is a plain `DELETE … WHERE
//! expires_at < $1`: idempotent, so every instance may run it at the same time.

use super::{Db, StoreError, on_pool};
use crate::clock::UnixTime;

/// The tables with an expiry, and the rows they hold until it: authorization codes (kept
/// after use until expiry to recognise a replay), browser sessions and the clients they
/// signed in to, refresh tokens (rotated ones too, to recognise reuse), revocations (kept
/// until the revoked token would have expired), used client assertion ids, and sign-in failure
/// counters.
const EXPIRING: &[&str] = &[
    "authorization_codes",
    "sessions",
    "session_clients",
    "refresh_tokens",
    "revoked_tokens",
    "used_client_assertions",
    "login_failures",
];

/// What a cleanup removed, per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed(pub Vec<(&'static str, u64)>);

impl Removed {
    /// Rows removed in all.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// Deletes every row that expired before `before`.
pub async fn delete_expired(db: &Db, before: UnixTime) -> Result<Removed, StoreError> {
    let mut removed = Vec::with_capacity(EXPIRING.len());
    for table in EXPIRING {
        let sql = format!("DELETE FROM {table} WHERE expires_at < $1");
        let n = on_pool!(db, pool => sqlx::query(&sql).bind(before).execute(pool).await.map(|r| r.rows_affected()))?;
        removed.push((*table, n));
    }
    Ok(Removed(removed))
}
