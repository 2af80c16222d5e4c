//! The verification cache: positive checks of version-pinned objects.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::Equivalent;

use crate::at_rest::VerifiedS3Object;
use crate::input::S3ObjectRef;

/// How the guard remembers objects that passed the policy.
///
/// Only references that **name an immutable version** are cached (never
/// an unversioned reference, never S3's `null` version, which a later
/// upload replaces in place), and a refusal never is. Entries live for
/// [`ttl`](Self::ttl); at most [`capacity`](Self::capacity) object keys
/// are kept. The cache belongs to one guard (and its clones), so it only
/// holds checks made under that guard's policy. A cached pass skips
/// HeadObject; the HTTPS and opt-out checks still run on every comparison.
///
/// # What a cached pass can miss, and for how long
///
/// An object **version** never changes its bytes, but S3 can change its
/// **encryption in place**: `UpdateObjectEncryption` moves an existing
/// version from one KMS key to another (or from SSE-S3 to SSE-KMS) and keeps
/// its version id, ETag and last-modified date. For up to one TTL after a
/// check, a comparison of that version may therefore use a pass for the
/// **old** key, even when the new key is not on the allowlist. Each
/// [`Decision`](crate::Decision) and audit event says, per S3 image,
/// whether its check came from the cache and how old it was
/// ([`CheckOrigin`](crate::CheckOrigin)).
///
/// Entries are dropped early when something concerns the object: any
/// HeadObject error, any refusal of it, and a CompareFaces answer that
/// Rekognition could not read it (`InvalidS3ObjectException`) or was denied
/// access. Operators who re-encrypt objects call
/// [`Guard::forget_check`](crate::Guard::forget_check) or
/// [`Guard::forget_all_checks`](crate::Guard::forget_all_checks).
///
/// Default: on, **60 seconds**, 10 000 object keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    ttl: Duration,
    capacity: usize,
}

impl CacheConfig {
    /// Entries live for `ttl`; at most `capacity` object keys are kept.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity }
    }

    /// How long a positive check is reused.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many object keys are remembered at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::new(Duration::from_secs(60), 10_000)
    }
}

/// Cached versions of one object key at most (the oldest checks go first).
const VERSIONS_PER_KEY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    bucket: String,
    key: String,
}

// Hashes like `KeyRef`, so lookups need no allocation.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        KeyRef(&self.bucket, &self.key).hash(state);
    }
}

#[derive(Hash)]
struct KeyRef<'a>(&'a str, &'a str);

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, k: &Key) -> bool {
        self.0 == k.bucket && self.1 == k.key
    }
}

/// The cached passes of one object key, one per pinned version.
type Versions = Arc<[VerifiedS3Object]>;

/// A sharded, size-bounded map (no global lock on lookups).
#[derive(Debug)]
pub(crate) struct VerificationCache {
    entries: Cache<Key, Versions>,
    ttl: Duration,
}

impl VerificationCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        Self {
            entries: Cache::new(config.capacity.max(1)),
            ttl: config.ttl,
        }
    }

    /// The cached proof for `object` and its age at `now`, if the reference
    /// names an immutable version that passed within the TTL.
    pub(crate) fn get(
        &self,
        object: &S3ObjectRef,
        now: Instant,
    ) -> Option<(VerifiedS3Object, Duration)> {
        let version = object.pinned_version()?;
        let versions = self.entries.get(&KeyRef(object.bucket(), object.key()))?;
        let hit = versions.iter().find(|v| v.version_id() == Some(version))?;
        let age = now.saturating_duration_since(hit.checked_at());
        (age < self.ttl).then(|| (hit.clone(), age))
    }

    /// Remembers a pass, only for a reference that named the immutable
    /// version the check pinned.
    pub(crate) fn insert(&self, object: &S3ObjectRef, verified: &VerifiedS3Object) {
        let Some(version) = object.pinned_version() else {
            return;
        };
        if !verified.is_pinned() || verified.version_id() != Some(version) {
            return;
        }
        let key = KeyRef(object.bucket(), object.key());
        let kept = self.entries.get(&key);
        let mut versions: Vec<VerifiedS3Object> = kept
            .iter()
            .flat_map(|v| v.iter())
            .filter(|v| v.version_id() != Some(version) && v.checked_at().elapsed() < self.ttl)
            .cloned()
            .collect();
        if versions.len() >= VERSIONS_PER_KEY {
            versions.remove(0);
        }
        versions.push(verified.clone());
        self.entries.insert(
            Key {
                bucket: object.bucket().to_owned(),
                key: object.key().to_owned(),
            },
            versions.into(),
        );
    }

    /// Forgets every cached version of `object`'s bucket and key.
    pub(crate) fn forget(&self, object: &S3ObjectRef) {
        self.entries.remove(&KeyRef(object.bucket(), object.key()));
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.entries.clear();
    }
}
