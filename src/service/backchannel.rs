//! Back-Channel Logout 1.0: when a session ends, tell every client it signed in to that has a
//! `backchannel_logout_uri`, with a signed logout token sent from a background task.
//!
//! Ending a session only queues deliveries (rows in `logout_deliveries`), so signing out never
//! waits on a client, and the CLI's `user logout` queues them for the running server to send.
//! The sender claims due rows atomically, so any number of instances may run it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::PoisonError;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::audit;
use crate::clock::{Clock, UnixTime};
use crate::crypto::KeyAlg;
use crate::crypto::jwt::TokenType;
use crate::crypto::random::random_token;
use crate::oidc::logout::LogoutTokenClaims;
use crate::state::AppState;
use crate::store::Db;
use crate::store::backchannel::{self, Delivery};

use super::ServiceError;
use super::authorize::SignedIn;
use super::clients::find_registration;
use super::tokens::sign_with_key;

/// Seconds to wait after each failed attempt; when they run out, the delivery is abandoned
/// (after six attempts over about seven minutes).
pub const RETRY_DELAYS: [i64; 5] = [2, 10, 30, 60, 300];
/// How often the sender looks for due deliveries (those queued by the CLI or another
/// instance, and retries); deliveries queued here wake it at once.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// A claimed delivery is hidden from other senders this long (longer than a request can take).
const LEASE_SECS: i64 = 60;
/// Deliveries sent concurrently.
const BATCH: i64 = 32;

/// The (session, client) pairs this instance has recorded, so that a session's second and
/// later sign-ins at the same client skip the database write.
///
/// Remembering is safe because a recorded row outlives the session that needs it: it goes
/// away only when the session ends (its `sid` is never used again) or when the session's
/// absolute lifetime is over (and with it the session). Forgetting costs one idempotent
/// write, so the map is simply emptied when it grows past [`RecordedSignIns::CAPACITY`].
#[derive(Debug, Default)]
pub struct RecordedSignIns(std::sync::Mutex<HashMap<String, Vec<String>>>);

impl RecordedSignIns {
    /// Sessions remembered at most (about 100 bytes each).
    pub const CAPACITY: usize = 10_000;

    fn contains(&self, sid: &str, client_id: &str) -> bool {
        let sessions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(sid)
            .is_some_and(|clients| clients.iter().any(|c| c == client_id))
    }

    fn insert(&self, sid: &str, client_id: &str) {
        let mut sessions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= Self::CAPACITY && !sessions.contains_key(sid) {
            sessions.clear();
        }
        let clients = sessions.entry(sid.to_owned()).or_default();
        if !clients.iter().any(|c| c == client_id) {
            clients.push(client_id.to_owned());
        }
    }
}

/// Records that `session` gave `client_id` a sign-in, so the client hears when it ends.
pub async fn record_sign_in(
    state: &AppState,
    client_id: &str,
    session: &SignedIn,
) -> Result<(), ServiceError> {
    if state.recorded_sign_ins.contains(&session.sid, client_id) {
        return Ok(());
    }
    let now = state.clock.now();
    let ends = session.login_at + state.config.session_max_secs;
    backchannel::record_session_client(
        &state.db,
        &session.sid,
        client_id,
        &session.user_id,
        now,
        ends,
    )
    .await?;
    state.recorded_sign_ins.insert(&session.sid, client_id);
    Ok(())
}

/// Queues logout tokens for session `sid`'s clients; returns how many. Safe to call twice:
/// the second call finds no clients.
pub async fn queue_session_logout(
    db: &Db,
    clock: &Clock,
    sid: &str,
) -> Result<usize, ServiceError> {
    let now = clock.now();
    let mut queued = 0;
    for (client_id, user_id) in backchannel::take_session_clients(db, sid).await? {
        let wants_it = find_registration(db, &client_id)
            .await?
            .is_some_and(|c| c.backchannel_logout_uri.is_some());
        if !wants_it {
            continue;
        }
        let delivery = Delivery {
            id: random_token(16)?,
            client_id,
            user_id,
            sid: sid.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        };
        backchannel::insert_delivery(db, &delivery).await?;
        audit!(info, "logout.backchannel_queued", client_id = %delivery.client_id, user_id = %delivery.user_id, sid = %delivery.sid);
        queued += 1;
    }
    Ok(queued)
}

/// The server's side of a session ending: queue the deliveries and wake the sender.
pub async fn session_ended(state: &AppState, sid: &str) -> Result<(), ServiceError> {
    if queue_session_logout(&state.db, &state.clock, sid).await? > 0 {
        state.logout_wakeup.notify_one();
    }
    Ok(())
}

/// Sends due deliveries until the service stops.
pub async fn run(state: AppState, stopped: impl Future<Output = ()>) {
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => break,
            () = state.logout_wakeup.notified() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        if let Err(e) = deliver_due(&state).await {
            tracing::warn!(error = %e, "back-channel logout: cannot read the queue; will retry");
        }
    }
}

/// What became of one attempt.
#[derive(Debug)]
enum Outcome {
    /// 2xx: the client has it.
    Delivered,
    /// The client refused it (a 4xx other than 408/429): sending it again will not help.
    Refused(u16),
    /// Not reached, timed out, or a server error: try again later.
    Failed(String),
    /// The client is gone or no longer wants logout tokens.
    NotWanted,
}

/// Sends every delivery due now, `BATCH` at a time.
pub async fn deliver_due(state: &AppState) -> Result<(), ServiceError> {
    loop {
        let now = state.clock.now();
        let claimed = backchannel::claim_due(&state.db, now, now + LEASE_SECS, BATCH).await?;
        let count = claimed.len();
        let mut sends = JoinSet::new();
        for delivery in claimed {
            let state = state.clone();
            sends.spawn(async move {
                let outcome = send(&state, &delivery).await;
                settle(&state, &delivery, outcome).await
            });
        }
        while let Some(done) = sends.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "back-channel logout: cannot record a delivery's outcome");
            }
        }
        if i64::try_from(count).unwrap_or(i64::MAX) < BATCH {
            return Ok(());
        }
    }
}

async fn send(state: &AppState, delivery: &Delivery) -> Outcome {
    let (uri, alg) = match find_registration(&state.db, &delivery.client_id).await {
        // Signed as the client's ID tokens are: it validates both the same way (§2.6).
        Ok(Some(client)) => match client.backchannel_logout_uri {
            Some(uri) => (uri, client.id_token_alg.unwrap_or(KeyAlg::Rs256)),
            None => return Outcome::NotWanted,
        },
        Ok(None) => return Outcome::NotWanted,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let claims = LogoutTokenClaims::new(
        state.config.issuer.as_str(),
        &delivery.client_id,
        &delivery.user_id,
        &delivery.sid,
        &delivery.id,
        state.clock.now(),
    );
    let token = match sign_with_key(state, alg, TokenType::LogoutToken, claims).await {
        Ok(token) => token,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    // §2.5: POST, form-encoded, the token as `logout_token`.
    match state
        .http
        .post(&uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Outcome::Delivered
            } else if status.is_client_error() && status != 408 && status != 429 {
                Outcome::Refused(status.as_u16())
            } else {
                Outcome::Failed(format!("HTTP {}", status.as_u16()))
            }
        }
        Err(e) if e.is_timeout() => Outcome::Failed("timed out".into()),
        Err(e) if e.is_connect() => Outcome::Failed("cannot connect".into()),
        Err(_) => Outcome::Failed("the request failed".into()),
    }
}

async fn settle(state: &AppState, d: &Delivery, outcome: Outcome) -> Result<(), ServiceError> {
    let db = &state.db;
    state.metrics.logout_delivery(match &outcome {
        Outcome::Delivered => "delivered",
        Outcome::Refused(_) => "refused",
        Outcome::Failed(_) => "failed",
        Outcome::NotWanted => "not_wanted",
    });
    match outcome {
        Outcome::Delivered => {
            backchannel::delete_delivery(db, &d.id).await?;
            audit!(info, "logout.backchannel_delivered", client_id = %d.client_id, user_id = %d.user_id, sid = %d.sid, jti = %d.id, attempts = d.attempts);
        }
        Outcome::NotWanted => backchannel::delete_delivery(db, &d.id).await?,
        Outcome::Refused(status) => {
            backchannel::delete_delivery(db, &d.id).await?;
            audit!(warn, "logout.backchannel_refused", client_id = %d.client_id, sid = %d.sid, jti = %d.id, status, "the client refused the logout token");
        }
        Outcome::Failed(reason) => match retry_delay(d.attempts) {
            Some(delay) => {
                backchannel::reschedule(db, &d.id, state.clock.now() + delay).await?;
                audit!(info, "logout.backchannel_failed", client_id = %d.client_id, sid = %d.sid, jti = %d.id, attempts = d.attempts, %reason, retry_in = delay);
            }
            None => {
                backchannel::delete_delivery(db, &d.id).await?;
                audit!(warn, "logout.backchannel_abandoned", client_id = %d.client_id, sid = %d.sid, jti = %d.id, attempts = d.attempts, %reason, "giving up on a logout token");
            }
        },
    }
    Ok(())
}

/// How long to wait after attempt number `attempts` failed, or `None` to give up.
fn retry_delay(attempts: i32) -> Option<UnixTime> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_DELAYS.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay(1), Some(2));
        assert_eq!(retry_delay(5), Some(300));
        assert_eq!(retry_delay(6), None);
        assert_eq!(retry_delay(0), None);
    }
}
