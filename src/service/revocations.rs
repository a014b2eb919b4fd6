//! Revoked access tokens, held in memory on every instance so `/verify` and `/introspect`
//! check revocation without a database round trip.
//!
//! The database stays the truth every instance shares: a revocation is written there first,
//! then added to the revoking instance's list (effective there at once), and every other
//! instance reads the recent rows every [`SYNC_INTERVAL`] (effective there within it). Each
//! read covers the last [`SYNC_OVERLAP_SECS`] again, so a row committed late, or stamped by an
//! instance whose clock runs behind, is not missed. The list holds only tokens that have not
//! expired yet; it is as small as the revocations of one token lifetime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::UnixTime;
use crate::state::AppState;
use crate::store::{Db, revocations as store};

use super::ServiceError;

/// How often an instance reads the revocations other instances made.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// How far back each read reaches before the previous one (commit delays, clock differences
/// between instances).
pub const SYNC_OVERLAP_SECS: i64 = 30;

/// The revoked token ids this instance knows of, with when each token expires.
#[derive(Debug, Default)]
pub struct RevocationList {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    revoked: HashMap<String, UnixTime>,
    /// The `now` of the last successful read.
    synced_at: Option<UnixTime>,
}

impl RevocationList {
    /// Every revocation of a token not yet expired at `now`, read from `db`.
    pub async fn load(db: &Db, now: UnixTime) -> Result<Self, ServiceError> {
        let list = Self::default();
        list.sync(db, now).await?;
        Ok(list)
    }

    /// Whether the token with this `jti` was revoked. Takes a read lock and one hash lookup;
    /// nothing when no token is revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        let inner = match self.inner.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        !inner.revoked.is_empty() && inner.revoked.contains_key(jti)
    }

    /// Adds a revocation this instance just stored.
    pub fn insert(&self, jti: &str, expires_at: UnixTime) {
        self.write().revoked.insert(jti.to_owned(), expires_at);
    }

    /// Reads the revocations made since the last read (less the overlap; all of them the
    /// first time) and forgets those whose tokens expired.
    pub async fn sync(&self, db: &Db, now: UnixTime) -> Result<(), ServiceError> {
        let since = self
            .write()
            .synced_at
            .map_or(UnixTime::MIN, |at| at - SYNC_OVERLAP_SECS);
        let rows = store::list_revocations(db, since, now).await?;
        let mut inner = self.write();
        inner.revoked.retain(|_, expires_at| *expires_at > now);
        inner.revoked.extend(rows);
        inner.synced_at = Some(inner.synced_at.map_or(now, |at| at.max(now)));
        Ok(())
    }

    /// How many revoked tokens are held.
    pub fn len(&self) -> usize {
        self.write().revoked.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Revokes the token `jti` until it would have expired: in the database for every instance,
/// and in this instance's list at once.
pub async fn revoke(state: &AppState, jti: &str, expires_at: UnixTime) -> Result<(), ServiceError> {
    store::insert_revocation(&state.db, jti, state.clock.now(), expires_at).await?;
    state.revocations.insert(jti, expires_at);
    Ok(())
}

/// Reads other instances' revocations every [`SYNC_INTERVAL`] until `stopped`. While the
/// database is unreachable the list keeps what it had: tokens keep verifying, and revocations
/// made elsewhere take effect here once it is back.
pub async fn run(state: AppState, stopped: impl Future<Output = ()>) {
    // Whether the last read failed: the outage is logged once, not once a second.
    let failing = &AtomicBool::new(false);
    let state = &state;
    super::every(SYNC_INTERVAL, stopped, || async move {
        let result = state.revocations.sync(&state.db, state.clock.now()).await;
        match (result, failing.swap(false, Ordering::Relaxed)) {
            (Ok(()), true) => tracing::info!("revocations are read from the database again"),
            (Ok(()), false) => {}
            (Err(e), was_failing) => {
                failing.store(true, Ordering::Relaxed);
                if !was_failing {
                    tracing::warn!(error = %e, "cannot read revocations; keeping the ones known");
                }
            }
        }
    })
    .await;
}
