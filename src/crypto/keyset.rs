//! The keys an instance signs and verifies with, swapped as a whole on rotation.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::json;

use super::{KeyAlg, SigningKey};

/// An immutable snapshot: the key that signs now for each algorithm, every key whose tokens
/// may still be alive, and the JWKS document for them, serialised once.
#[derive(Debug)]
pub struct KeySet {
    /// The signing key of each algorithm that has one, in [`KeyAlg::ALL`] order.
    signing: Vec<Arc<SigningKey>>,
    /// RS256's signing key if there is one, else the first.
    default: Arc<SigningKey>,
    published: Vec<Arc<SigningKey>>,
    jwks: Bytes,
}

impl KeySet {
    /// A key set signing with `active` and publishing it along with `retired` keys.
    pub fn new(active: Arc<SigningKey>, retired: Vec<Arc<SigningKey>>) -> Self {
        Self::build(active, Vec::new(), retired)
    }

    /// A key set signing with `signing` (at most one key per algorithm is used: the first)
    /// and publishing them along with `others` (next and retired keys); `None` when nothing
    /// would sign.
    pub fn signing_with(
        signing: Vec<Arc<SigningKey>>,
        others: Vec<Arc<SigningKey>>,
    ) -> Option<Self> {
        let mut signing = signing.into_iter();
        let first = signing.next()?;
        Some(Self::build(first, signing.collect(), others))
    }

    fn build(
        first: Arc<SigningKey>,
        more: Vec<Arc<SigningKey>>,
        others: Vec<Arc<SigningKey>>,
    ) -> Self {
        let mut by_alg: Vec<Arc<SigningKey>> = vec![first.clone()];
        for key in more {
            if !by_alg.iter().any(|k| k.alg() == key.alg()) {
                by_alg.push(key);
            }
        }
        by_alg.sort_by_key(|k| k.alg());
        let mut published: Vec<Arc<SigningKey>> = by_alg.clone();
        for key in others {
            if !published.iter().any(|k| k.kid() == key.kid()) {
                published.push(key);
            }
        }
        let keys: Vec<_> = published.iter().map(|k| k.public_jwk()).collect();
        let jwks = Bytes::from(json!({ "keys": keys }).to_string());
        let default = by_alg.first().cloned().unwrap_or(first);
        Self {
            signing: by_alg,
            default,
            published,
            jwks,
        }
    }

    /// The default signing key: RS256's when there is one (ID tokens, logout tokens).
    pub fn active(&self) -> &Arc<SigningKey> {
        &self.default
    }

    /// The key that signs `alg` tokens now, if that algorithm has one.
    pub fn signing(&self, alg: KeyAlg) -> Option<&Arc<SigningKey>> {
        self.signing.iter().find(|k| k.alg() == alg)
    }

    /// The keys signing now, one per algorithm.
    pub fn signing_keys(&self) -> &[Arc<SigningKey>] {
        &self.signing
    }

    /// A published key by its `kid`.
    pub fn find(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid() == kid)
    }

    /// Every published key, the signing ones first.
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
