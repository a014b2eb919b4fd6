//! Flows: load from `store`, ask `oidc`, save, return. One file per flow.

pub mod admin;
pub mod authorize;
pub mod backchannel;
pub mod bootstrap;
pub mod cleanup;
pub mod clients;
pub mod consent;
pub mod introspect;
pub mod keys;
pub mod log_shipper;
pub mod logout;
pub mod refresh;
pub mod revocations;
pub mod throttle;
pub mod token;
pub mod tokens;
pub mod userinfo;
pub mod verify;

use std::future::Future;
use std::time::Duration;

use crate::crypto::CryptoError;
use crate::oidc::OAuthError;
use crate::store::StoreError;

/// Why a flow did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A protocol error to report to the client as is.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// An operator's input is invalid; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The user name is taken.
    #[error("user {0} already exists")]
    DuplicateUser(String),
    /// No such user.
    #[error("no user named {0}")]
    UnknownUser(String),
    /// The client id is taken.
    #[error("client {0} already exists")]
    DuplicateClient(String),
    /// No such client.
    #[error("no client with id {0}")]
    UnknownClient(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Cryptography failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Runs `tick` every `period`, the first time at once, until `stopped` resolves (between
/// ticks: a tick under way is finished). A tick that overruns delays the next one instead
/// of bunching them. The background tasks' loop: cleanup, the caches' syncs, key reloads.
pub async fn every<F: Future<Output = ()>>(
    period: Duration,
    stopped: impl Future<Output = ()>,
    mut tick: impl FnMut() -> F,
) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            _ = ticker.tick() => {}
        }
        tick().await;
    }
}
