//! The keys an instance signs and verifies with, swapped as a whole on rotation.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::json;

use super::SigningKey;

/// An immutable snapshot: the key that signs now, every key whose tokens may still be alive,
/// and the JWKS document for them, serialised once.
#[derive(Debug)]
pub struct KeySet {
    active: Arc<SigningKey>,
    published: Vec<Arc<SigningKey>>,
    jwks: Bytes,
}

impl KeySet {
    /// A key set signing with `active` and publishing it along with `retired` keys.
    pub fn new(active: Arc<SigningKey>, retired: Vec<Arc<SigningKey>>) -> Self {
        let mut published = Vec::with_capacity(retired.len() + 1);
        published.push(active.clone());
        published.extend(retired.into_iter().filter(|k| k.kid() != active.kid()));
        let keys: Vec<_> = published.iter().map(|k| k.public_jwk()).collect();
        let jwks = Bytes::from(json!({ "keys": keys }).to_string());
        Self {
            active,
            published,
            jwks,
        }
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> &Arc<SigningKey> {
        &self.active
    }

    /// A published key by its `kid`.
    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid() == kid)
    }

    /// Every published key, the active one first.
    pub fn published(&self) -> &[Arc<SigningKey>] {
        &self.published
    }

    /// The JWKS document (RFC 7517 §5), ready to send.
    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }
}

/// The shared holder of the current [`KeySet`]; readers take a cheap snapshot.
#[derive(Clone, Debug)]
pub struct KeyRing(Arc<RwLock<Arc<KeySet>>>);

impl KeyRing {
    /// A ring holding `keys`.
    pub fn new(keys: KeySet) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(keys))))
    }

    /// The current key set. The lock is held only to clone an `Arc`.
    pub fn current(&self) -> Arc<KeySet> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the key set (after a rotation or a reload from the database).
    pub fn replace(&self, keys: KeySet) {
        let keys = Arc::new(keys);
        match self.0.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }
}
