//! The session store: tower-sessions' memory store, plus an index from the provider's session
//! id (`sid`) and user (`sub`) to our session ids, so that a back-channel logout can end every
//! local session the provider's session (or user) started.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::{MemoryStore, SessionStore, session_store};

use crate::session::signed_in_keys;

/// What a logout token ends (Back-Channel Logout 1.0 §2.4: `sid`, else every session of `sub`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ended {
    /// One session at the provider, by its `sid`.
    Session(String),
    /// Every session of the user, by `sub`.
    User(String),
}

/// The memory store with a `sid`/`sub` index. Cheap to clone: clones share both.
#[derive(Clone, Debug, Default)]
pub struct IndexedStore {
    inner: MemoryStore,
    index: Arc<Mutex<SidIndex>>,
}

/// Which of our sessions belong to which provider session and user.
#[derive(Debug, Default)]
struct SidIndex {
    sessions: HashMap<Ended, HashSet<Id>>,
    keys: HashMap<Id, Vec<Ended>>,
    /// Provider sessions that ended, until when our sessions could still be saved: a request
    /// in flight when the logout token arrives must not write its session back. (Not kept for
    /// a `sub`-only logout: the user may sign in again at once.)
    ended: HashMap<String, OffsetDateTime>,
}

impl SidIndex {
    fn link(&mut self, id: Id, keys: Vec<Ended>) {
        self.unlink(&id);
        for key in &keys {
            self.sessions.entry(key.clone()).or_default().insert(id);
        }
        if !keys.is_empty() {
            self.keys.insert(id, keys);
        }
    }

    fn unlink(&mut self, id: &Id) {
        for key in self.keys.remove(id).unwrap_or_default() {
            if let Some(ids) = self.sessions.get_mut(&key) {
                ids.remove(id);
                if ids.is_empty() {
                    self.sessions.remove(&key);
                }
            }
        }
    }

    fn has_ended(&mut self, sid: &str, now: OffsetDateTime) -> bool {
        self.ended.retain(|_, until| *until > now);
        self.ended.contains_key(sid)
    }
}

impl IndexedStore {
    /// Deletes every session signed in through `ended`; for a provider session, refuses to
    /// save one for it until `until` (the longest a session can live). Returns how many ended.
    pub async fn end(&self, ended: &Ended, until: OffsetDateTime) -> session_store::Result<usize> {
        let ids: Vec<Id> = {
            let mut index = self.lock();
            if let Ended::Session(sid) = ended {
                index.ended.insert(sid.clone(), until);
            }
            let ids = index.sessions.get(ended).cloned().unwrap_or_default();
            for id in &ids {
                index.unlink(id);
            }
            ids.into_iter().collect()
        };
        for id in &ids {
            self.inner.delete(id).await?;
        }
        Ok(ids.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SidIndex> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Indexes `record`; false when its provider session has ended (it must not be stored).
    fn index(&self, record: &Record) -> bool {
        let keys = signed_in_keys(&record.data);
        let mut index = self.lock();
        let now = OffsetDateTime::now_utc();
        let ended = keys
            .iter()
            .any(|key| matches!(key, Ended::Session(sid) if index.has_ended(sid, now)));
        if ended {
            index.unlink(&record.id);
            return false;
        }
        index.link(record.id, keys);
        true
    }
}

#[async_trait]
impl SessionStore for IndexedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // The memory store may change the id (on a collision): index what it stored.
        self.inner.create(record).await?;
        if !self.index(record) {
            self.inner.delete(&record.id).await?;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if self.index(record) {
            self.inner.save(record).await
        } else {
            self.inner.delete(&record.id).await
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.lock().unlink(session_id);
        self.inner.delete(session_id).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use serde_json::json;
    use time::{Duration, OffsetDateTime};
    use tower_sessions::SessionStore;
    use tower_sessions::session::{Id, Record};

    use super::{Ended, IndexedStore};

    fn record(sid: Option<&str>) -> Record {
        record_of("u", sid)
    }

    fn record_of(sub: &str, sid: Option<&str>) -> Record {
        let mut data = HashMap::new();
        if let Some(sid) = sid {
            data.insert("user".to_owned(), json!({ "subject": sub, "sid": sid }));
        }
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
        }
    }

    fn session(sid: &str) -> Ended {
        Ended::Session(sid.to_owned())
    }

    #[tokio::test]
    async fn ending_a_user_deletes_all_their_sessions() {
        let store = IndexedStore::default();
        let (mut a, mut b, mut other) = (
            record_of("u", Some("a")),
            record_of("u", Some("b")),
            record_of("v", Some("c")),
        );
        for r in [&mut a, &mut b, &mut other] {
            store.create(r).await.unwrap();
        }
        let until = OffsetDateTime::now_utc() + Duration::hours(1);
        assert_eq!(store.end(&Ended::User("u".into()), until).await.unwrap(), 2);
        assert!(store.load(&other.id).await.unwrap().is_some());
        // The user may sign in again at once.
        let mut again = record_of("u", Some("d"));
        store.create(&mut again).await.unwrap();
        assert!(store.load(&again.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn ending_a_provider_session_deletes_its_sessions_only() {
        let store = IndexedStore::default();
        let (mut a1, mut a2, mut b, mut anonymous) = (
            record(Some("a")),
            record(Some("a")),
            record(Some("b")),
            record(None),
        );
        for r in [&mut a1, &mut a2, &mut b, &mut anonymous] {
            store.create(r).await.unwrap();
        }
        let until = OffsetDateTime::now_utc() + Duration::hours(1);
        assert_eq!(store.end(&session("a"), until).await.unwrap(), 2);
        assert!(store.load(&a1.id).await.unwrap().is_none());
        assert!(store.load(&a2.id).await.unwrap().is_none());
        assert!(store.load(&b.id).await.unwrap().is_some());
        assert!(store.load(&anonymous.id).await.unwrap().is_some());
        // Again: nothing left (a retried logout token).
        assert_eq!(store.end(&session("a"), until).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_session_of_an_ended_provider_session_is_not_saved_back() {
        let store = IndexedStore::default();
        let mut a = record(Some("a"));
        store.create(&mut a).await.unwrap();
        let until = OffsetDateTime::now_utc() + Duration::hours(1);
        store.end(&session("a"), until).await.unwrap();
        // A request that loaded the session before the logout token came now saves it.
        store.save(&a).await.unwrap();
        assert!(store.load(&a.id).await.unwrap().is_none());
        let mut again = record(Some("a"));
        store.create(&mut again).await.unwrap();
        assert!(store.load(&again.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn signing_out_locally_unlinks_the_session() {
        let store = IndexedStore::default();
        let mut a = record(Some("a"));
        store.create(&mut a).await.unwrap();
        store.delete(&a.id).await.unwrap();
        let until = OffsetDateTime::now_utc() + Duration::hours(1);
        assert_eq!(store.end(&session("a"), until).await.unwrap(), 0);
    }
}
