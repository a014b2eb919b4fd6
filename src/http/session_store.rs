//! Browser sessions in our own database, behind `tower-sessions` (so a session survives
//! restarts and every instance sees it). The cookie's session id is stored only as a hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::clock::Clock;
use crate::crypto::digest::token_hash;
use crate::service::authorize::SignedIn;
use crate::store::sessions::{self, StoredSession};
use crate::store::{Db, StoreError};

use super::session::USER_KEY;

/// A `tower_sessions` store over [`crate::store::sessions`].
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
    clock: Clock,
    /// What this instance last read or wrote of each session (by id hash): its data and the
    /// expiry in its row. `tower_sessions` saves a session on every request to push its
    /// inactivity expiry; when the data is unchanged and the row's expiry is less than
    /// [`EXPIRY_SLACK_SECS`] behind, the write is skipped (a database write per page view,
    /// for an eight-hour idle timeout to move by seconds).
    recent: Arc<Mutex<HashMap<String, (SessionData, i64)>>>,
}

type SessionData = HashMap<String, Value>;

/// How far the stored expiry may lag the cookie's before a save writes it anyway.
const EXPIRY_SLACK_SECS: i64 = 60;

/// Sessions remembered at most; past that the memory starts over (saves then write).
const RECENT_MAX: usize = 50_000;

impl DbSessionStore {
    /// A store on `db`, judging expiry by `clock`.
    pub fn new(db: Db, clock: Clock) -> Self {
        Self {
            db,
            clock,
            recent: Arc::default(),
        }
    }

    fn remember(&self, id_hash: String, data: &SessionData, expires_at: i64) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() >= RECENT_MAX {
            recent.clear();
        }
        recent.insert(id_hash, (data.clone(), expires_at));
    }

    /// Whether the row already holds `record`'s data with an expiry close enough.
    fn unchanged(&self, id_hash: &str, record: &Record) -> bool {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.get(id_hash).is_some_and(|(data, written)| {
            let behind = record.expiry_date.unix_timestamp() - written;
            *data == record.data && (0..EXPIRY_SLACK_SECS).contains(&behind)
        })
    }

    fn row(&self, record: &Record) -> Result<StoredSession, session_store::Error> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // The signed-in user, copied into columns so operators can list and end a user's sessions.
        let user: Option<SignedIn> = record
            .data
            .get(USER_KEY)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok());
        Ok(StoredSession {
            id_hash: token_hash(&record.id.to_string()),
            sid: user.as_ref().map(|u| u.sid.clone()),
            user_id: user.as_ref().map(|u| u.user_id.clone()),
            data,
            auth_time: user.as_ref().map(|u| u.auth_time),
            created_at: self.clock.now(),
            expires_at: record.expiry_date.unix_timestamp(),
        })
    }
}

fn backend(e: StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A 128-bit random id colliding is all but impossible; if it happens, draw another.
        loop {
            let row = self.row(record)?;
            match sessions::insert_session(&self.db, &row).await {
                Err(StoreError::Conflict) => record.id = Id::default(),
                Ok(()) => {
                    self.remember(row.id_hash, &record.data, row.expires_at);
                    return Ok(());
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = self.row(record)?;
        if self.unchanged(&row.id_hash, record) {
            return Ok(());
        }
        sessions::upsert_session(&self.db, &row)
            .await
            .map_err(backend)?;
        self.remember(row.id_hash, &record.data, row.expires_at);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let id_hash = token_hash(&id.to_string());
        let Some(row) = sessions::find_session(&self.db, &id_hash, self.clock.now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str::<SessionData>(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        self.remember(id_hash, &data, row.expires_at);
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let id_hash = token_hash(&id.to_string());
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id_hash);
        sessions::delete_session(&self.db, &id_hash)
            .await
            .map_err(backend)
    }
}
