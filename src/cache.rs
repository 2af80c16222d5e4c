//! The verification cache: positive checks of version-pinned objects.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
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
/// are kept. The cache belongs to one [`PhotoStore`](crate::PhotoStore)
/// (its clones, and the guard built on it), so it only holds checks made
/// under that store's policy; another store made with `PhotoStore::new`
/// has its own, which an erasure through this one does not clear: share
/// one store. A cached pass skips HeadObject; the opt-out check still runs
/// on every comparison, and every request is still HTTPS on the wire.
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
/// [`PhotoStore::forget_check`](crate::PhotoStore::forget_check) or
/// [`PhotoStore::forget_all_checks`](crate::PhotoStore::forget_all_checks).
///
/// A forgotten key stays forgotten: a check that was already under way
/// when the key was forgotten or erased ([`PhotoStore::erase`](crate::PhotoStore::erase))
/// does not write its pass into the cache afterwards (each key has a
/// generation that every forgetting bumps; a check caches its pass only
/// if its key's generation did not change while HeadObject ran). The
/// check itself still reports what HeadObject answered.
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

/// How many generation counters keys share (by hash). Two keys in one
/// stripe only cost each other a cache write now and then, never a wrong
/// pass.
const STRIPES: usize = 256;

/// A sharded, size-bounded map (no global lock on lookups), and per key
/// (striped) the generation that forgetting it bumps.
#[derive(Debug)]
pub(crate) struct VerificationCache {
    entries: Cache<Key, Versions>,
    ttl: Duration,
    generations: Box<[Mutex<u64>]>,
}

/// The generation of a key when its check began: the check may cache its
/// pass only if it is still the same.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    stripe: usize,
    generation: u64,
}

impl VerificationCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        Self {
            entries: Cache::new(config.capacity.max(1)),
            ttl: config.ttl,
            generations: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
        }
    }

    fn stripe(object: &S3ObjectRef) -> usize {
        let mut hasher = std::hash::DefaultHasher::new();
        KeyRef(object.bucket(), object.key()).hash(&mut hasher);
        (hasher.finish() % STRIPES as u64) as usize
    }

    fn generation(&self, stripe: usize) -> std::sync::MutexGuard<'_, u64> {
        self.generations[stripe]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Taken before a check's HeadObject is sent.
    pub(crate) fn ticket(&self, object: &S3ObjectRef) -> Ticket {
        let stripe = Self::stripe(object);
        Ticket {
            stripe,
            generation: *self.generation(stripe),
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
        let hit = versions
            .iter()
            .find(|v| v.reference().version_id() == Some(version))?;
        let age = now.saturating_duration_since(hit.checked_at());
        (age < self.ttl).then(|| (hit.clone(), age))
    }

    /// Remembers a pass, only for a reference that named the immutable
    /// version the check pinned, and only if nothing forgot the key since
    /// the check's `ticket` was taken.
    pub(crate) fn insert(&self, object: &S3ObjectRef, verified: &VerifiedS3Object, ticket: Ticket) {
        let Some(version) = object.pinned_version() else {
            return;
        };
        if !verified.is_pinned() || verified.reference().version_id() != Some(version) {
            return;
        }
        // Held until the entry is written, so a forgetting either comes
        // first (and the pass is not written) or removes it afterwards.
        let generation = self.generation(ticket.stripe);
        if *generation != ticket.generation {
            return;
        }
        let key = KeyRef(object.bucket(), object.key());
        let kept = self.entries.get(&key);
        let mut versions: Vec<VerifiedS3Object> = kept
            .iter()
            .flat_map(|v| v.iter())
            .filter(|v| {
                v.reference().version_id() != Some(version) && v.checked_at().elapsed() < self.ttl
            })
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

    /// Forgets every cached version of `object`'s bucket and key, and
    /// every pass of it still being checked.
    pub(crate) fn forget(&self, object: &S3ObjectRef) {
        let mut generation = self.generation(Self::stripe(object));
        *generation += 1;
        self.entries.remove(&KeyRef(object.bucket(), object.key()));
    }

    /// Forgets everything, and every pass still being checked.
    pub(crate) fn clear(&self) {
        let mut all: Vec<_> = (0..STRIPES).map(|s| self.generation(s)).collect();
        for generation in &mut all {
            **generation += 1;
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_rest::{verify, ObjectFacts, SseAlgorithm};
    use crate::policy::Policy;

    fn pinned(key: &str) -> (S3ObjectRef, VerifiedS3Object) {
        let object = S3ObjectRef::new("library-photos", key)
            .unwrap()
            .with_version_id("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
            .unwrap();
        let facts = ObjectFacts::new(SseAlgorithm::AwsKms)
            .with_kms_key_id(
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            )
            .with_version_id("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
            .with_content_length(1000);
        let verified = verify(
            &object,
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        (object, verified)
    }

    #[test]
    fn a_pass_checked_before_a_forgetting_is_not_cached_after_it() {
        let cache = VerificationCache::new(CacheConfig::default());
        let (ada, verified) = pinned("members/ada.jpg");
        let (grace, grace_verified) = pinned("members/grace.jpg");
        let now = Instant::now;

        // Forgotten (or erased) while its check ran: not written.
        let ticket = cache.ticket(&ada);
        cache.forget(&ada);
        cache.insert(&ada, &verified, ticket);
        assert!(cache.get(&ada, now()).is_none());

        // Forgetting everything counts for every key.
        let ticket = cache.ticket(&grace);
        cache.clear();
        cache.insert(&grace, &grace_verified, ticket);
        assert!(cache.get(&grace, now()).is_none());

        // A check that began after the forgetting is cached.
        let ticket = cache.ticket(&ada);
        cache.insert(&ada, &verified, ticket);
        assert!(cache.get(&ada, now()).is_some());
        // And a forgetting after it removes it.
        cache.forget(&ada);
        assert!(cache.get(&ada, now()).is_none());
    }
}
