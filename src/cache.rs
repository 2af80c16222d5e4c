//! The verification cache: positive checks of version-pinned objects.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::Equivalent;

use crate::input::S3ObjectRef;
use crate::policy::VerifiedS3Object;

/// How the guard remembers objects that passed the policy.
///
/// Only references that **name a version** are cached: an S3 object version
/// never changes, so its check holds until the entry expires. Objects
/// referenced without a version are always checked again (the latest
/// version may have changed), and a refusal is never cached. Entries live
/// for [`ttl`](Self::ttl) and at most [`capacity`](Self::capacity) are
/// kept. The cache belongs to one guard (and its clones), so it always
/// holds checks made under that guard's policy.
///
/// Default: on, ten minutes, 10 000 objects. A cached pass skips
/// HeadObject; the HTTPS and opt-out checks still run on every comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    ttl: Duration,
    capacity: usize,
}

impl CacheConfig {
    /// Entries live for `ttl`; at most `capacity` are kept.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity }
    }

    /// How long a positive check is reused.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many objects are remembered at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::new(Duration::from_secs(600), 10_000)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    bucket: String,
    key: String,
    version: String,
}

// Hashes like `KeyRef`, so lookups need no allocation.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        KeyRef(&self.bucket, &self.key, &self.version).hash(state);
    }
}

#[derive(Hash)]
struct KeyRef<'a>(&'a str, &'a str, &'a str);

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, k: &Key) -> bool {
        self.0 == k.bucket && self.1 == k.key && self.2 == k.version
    }
}

#[derive(Debug, Clone)]
struct Entry {
    verified: VerifiedS3Object,
    at: Instant,
}

/// A sharded, size-bounded map (no global lock on lookups).
#[derive(Debug)]
pub(crate) struct VerificationCache {
    entries: Cache<Key, Entry>,
    ttl: Duration,
}

impl VerificationCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        Self {
            entries: Cache::new(config.capacity.max(1)),
            ttl: config.ttl,
        }
    }

    /// The cached proof for `object`, if it names a version that passed
    /// within the TTL.
    pub(crate) fn get(&self, object: &S3ObjectRef) -> Option<VerifiedS3Object> {
        let version = object.version_id()?;
        let key = KeyRef(object.bucket(), object.key(), version);
        let entry = self.entries.get(&key)?;
        if entry.at.elapsed() < self.ttl {
            Some(entry.verified)
        } else {
            self.entries.remove(&key);
            None
        }
    }

    /// Remembers a pass, only for a reference that named the version the
    /// check pinned.
    pub(crate) fn insert(&self, object: &S3ObjectRef, verified: &VerifiedS3Object) {
        match (object.version_id(), verified.version_id()) {
            (Some(requested), Some(pinned)) if requested == pinned => {
                self.entries.insert(
                    Key {
                        bucket: object.bucket().to_owned(),
                        key: object.key().to_owned(),
                        version: requested.to_owned(),
                    },
                    Entry {
                        verified: verified.clone(),
                        at: Instant::now(),
                    },
                );
            }
            _ => {}
        }
    }
}
