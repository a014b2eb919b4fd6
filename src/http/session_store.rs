//! Browser sessions in our own database, behind `tower-sessions` (so a session survives
//! restarts and every instance sees it). The cookie's session id is stored only as a hash.

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
}

impl DbSessionStore {
    /// A store on `db`, judging expiry by `clock`.
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
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
            match sessions::insert_session(&self.db, &self.row(record)?).await {
                Err(StoreError::Conflict) => record.id = Id::default(),
                other => return other.map_err(backend),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sessions::upsert_session(&self.db, &self.row(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) =
            sessions::find_session(&self.db, &token_hash(&id.to_string()), self.clock.now())
                .await
                .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str::<std::collections::HashMap<String, Value>>(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete_session(&self.db, &token_hash(&id.to_string()))
            .await
            .map_err(backend)
    }
}
