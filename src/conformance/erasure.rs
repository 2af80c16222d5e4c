//! The erasure scenarios, written once over an [`ErasureHarness`]. This
//! crate runs them against [`InMemoryBackend`](crate::memory::InMemoryBackend) and against `AwsBackend`
//! talking to moto over TLS (versions, delete markers, suspended
//! versioning, Object Lock retention and legal holds).
//!
//! ```
//! use rekognition_guard::conformance::erasure::{run_all, ErasureHarness};
//!
//! async fn my_backend_conforms(harness: &dyn ErasureHarness) {
//!     run_all(harness).await;
//! }
//! ```
//!
//! The crate's own runs are models for a harness: over
//! [`InMemoryBackend`](crate::memory::InMemoryBackend) in `src/conformance/erasure.rs` (module `in_memory`), over moto in `tests/it/support/erasure.rs`.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::erasure::{BlockReason, EraseOptions, RetentionMode, StoredVersion};
use crate::guard::PhotoStore;
use crate::input::{KmsKeyArn, S3ObjectRef, Service};
use crate::refusal::Violation;
use crate::Error;

/// How a scenario's bucket starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BucketKind {
    /// Versioning never enabled (objects get the null version).
    Unversioned,
    /// Versioning enabled.
    Versioned,
    /// Versioning enabled with Object Lock.
    ObjectLock,
}

/// An S3 Object Lock hold a harness puts on a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hold {
    /// GOVERNANCE retention for a day.
    Governance,
    /// A legal hold.
    LegalHold,
}

/// One store under test for erasure.
#[async_trait]
pub trait ErasureHarness: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// The KMS key objects are stored under (and the policy allows).
    fn kms_key(&self) -> KmsKeyArn;
    /// A new bucket of `kind`.
    async fn new_bucket(&self, kind: BucketKind) -> String;
    /// Stores an image at `key` (SSE-KMS); returns its version id (`null`
    /// while versioning is suspended).
    async fn put(&self, bucket: &str, key: &str) -> String;
    /// A plain DELETE of `key` (a delete marker in a versioned bucket).
    async fn delete(&self, bucket: &str, key: &str);
    /// Enables versioning.
    async fn enable_versioning(&self, bucket: &str);
    /// Puts `hold` on a version.
    async fn hold(&self, bucket: &str, key: &str, version: &str, hold: Hold);
    /// Lifts a legal hold.
    async fn lift_legal_hold(&self, bucket: &str, key: &str, version: &str);
    /// Every version and delete marker of the keys starting with `prefix`,
    /// as the store lists them (not through the guard).
    async fn listed(&self, bucket: &str, prefix: &str) -> Vec<StoredVersion>;
    /// Whether the store reports Object Lock retention
    /// (`GetObjectRetention`; moto 5.1 enforces retention but does not
    /// implement reading it). Without it, a retained version's reason is
    /// S3's own refusal.
    fn reports_retention(&self) -> bool {
        true
    }
    /// A guard with attested opt-out evidence, a policy allowing
    /// [`kms_key`](Self::kms_key); with `plain_http`, its S3 endpoint is
    /// plain `http://` (a handed-in client).
    fn store(&self, plain_http: bool) -> PhotoStore;
}

/// Runs every erasure scenario against `h`.
pub async fn run_all(h: &dyn ErasureHarness) {
    every_version_and_delete_marker_of_exactly_the_key_is_erased(h).await;
    the_null_version_is_erased_too(h).await;
    governance_retention_blocks_until_bypassed(h).await;
    a_legal_hold_blocks_until_lifted(h).await;
    a_key_with_nothing_stored_is_complete(h).await;
    a_dry_run_erases_nothing(h).await;
    a_plain_http_endpoint_erases_nothing(h).await;
    an_erased_key_is_not_approved_from_the_cache(h).await;
}

fn object(bucket: &str, key: &str) -> S3ObjectRef {
    S3ObjectRef::new(bucket, key).expect("a reference")
}

/// The version ids listed for exactly `key`.
async fn versions_of(h: &dyn ErasureHarness, bucket: &str, key: &str) -> Vec<String> {
    h.listed(bucket, key)
        .await
        .into_iter()
        .filter(|v| v.key == key)
        .map(|v| v.version_id)
        .collect()
}

/// Several versions and a delete marker of `members/ada.jpg` are erased,
/// each by version id, and listed in the receipt; `members/ada.jpg.bak`,
/// which shares the prefix, is untouched.
async fn every_version_and_delete_marker_of_exactly_the_key_is_erased(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    let v1 = h.put(&bucket, "members/ada.jpg").await;
    let v2 = h.put(&bucket, "members/ada.jpg").await;
    h.delete(&bucket, "members/ada.jpg").await;
    let v3 = h.put(&bucket, "members/ada.jpg").await;
    let sibling = h.put(&bucket, "members/ada.jpg.bak").await;
    let before = versions_of(h, &bucket, "members/ada.jpg").await;
    assert_eq!(before.len(), 4, "{name}: three versions and a marker");

    let receipt = h
        .store(false)
        .erase(&object(&bucket, "members/ada.jpg"), EraseOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(receipt.is_complete(), "{name}: {receipt}");
    let mut erased: Vec<_> = receipt
        .erased
        .iter()
        .map(|e| e.version_id.clone())
        .collect();
    erased.sort();
    let mut expected = before.clone();
    expected.sort();
    assert_eq!(erased, expected, "{name}");
    assert_eq!(
        receipt.erased.iter().filter(|e| e.delete_marker).count(),
        1,
        "{name}: the delete marker is erased too"
    );
    for v in [&v1, &v2, &v3] {
        assert!(erased.contains(v), "{name}: {v}");
    }
    assert!(versions_of(h, &bucket, "members/ada.jpg").await.is_empty());
    assert_eq!(
        versions_of(h, &bucket, "members/ada.jpg.bak").await,
        [sibling],
        "{name}: a key sharing the prefix is left intact"
    );
}

/// The null version (written before versioning was enabled) is erased
/// like any other, by version id `null`.
async fn the_null_version_is_erased_too(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Unversioned).await;
    let null = h.put(&bucket, "members/grace.jpg").await;
    assert_eq!(null, "null", "{name}");
    h.enable_versioning(&bucket).await;
    let v1 = h.put(&bucket, "members/grace.jpg").await;
    assert_eq!(
        versions_of(h, &bucket, "members/grace.jpg").await.len(),
        2,
        "{name}"
    );
    let receipt = h
        .store(false)
        .erase(
            &object(&bucket, "members/grace.jpg"),
            EraseOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(receipt.is_complete(), "{name}: {receipt}");
    let erased: Vec<_> = receipt.erased.iter().map(|e| &e.version_id).collect();
    assert!(
        erased.contains(&&v1) && erased.contains(&&null),
        "{name}: {erased:?}"
    );
    assert!(versions_of(h, &bucket, "members/grace.jpg")
        .await
        .is_empty());
}

/// A version under GOVERNANCE retention stays, and the receipt says so
/// and how to bypass it; erasing with the bypass completes.
async fn governance_retention_blocks_until_bypassed(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::ObjectLock).await;
    let free = h.put(&bucket, "members/edsger.jpg").await;
    let locked = h.put(&bucket, "members/edsger.jpg").await;
    h.hold(&bucket, "members/edsger.jpg", &locked, Hold::Governance)
        .await;
    let store = h.store(false);
    let key = object(&bucket, "members/edsger.jpg");

    let receipt = store
        .erase(&key, EraseOptions::default())
        .await
        .expect(name);
    assert!(!receipt.is_complete(), "{name}: {receipt}");
    assert_eq!(
        receipt
            .erased
            .iter()
            .map(|e| e.version_id.clone())
            .collect::<Vec<_>>(),
        [free],
        "{name}"
    );
    match receipt.remaining.as_slice() {
        [r] if h.reports_retention() => {
            assert_eq!(r.version_id, locked, "{name}");
            assert!(
                matches!(
                    &r.reason,
                    BlockReason::Retention { mode: RetentionMode::Governance, retain_until: Some(t) }
                        if *t > SystemTime::now()
                ),
                "{name}: {:?}",
                r.reason
            );
            assert!(r
                .reason
                .to_string()
                .contains("s3:BypassGovernanceRetention"));
        }
        [r] => {
            assert_eq!(r.version_id, locked, "{name}");
            assert!(
                matches!(&r.reason, BlockReason::Refused { .. }),
                "{name}: S3's own words when retention cannot be read: {:?}",
                r.reason
            );
        }
        other => panic!("{name}: one version remains: {other:?}"),
    }
    assert_eq!(
        versions_of(h, &bucket, "members/edsger.jpg").await,
        std::slice::from_ref(&locked)
    );

    let receipt = store
        .erase(
            &key,
            EraseOptions::default().bypass_governance_retention(true),
        )
        .await
        .expect(name);
    assert!(receipt.is_complete(), "{name}: {receipt}");
    assert!(versions_of(h, &bucket, "members/edsger.jpg")
        .await
        .is_empty());
}

/// A version under a legal hold stays, and the receipt says how to lift
/// it (a governance bypass does not); once lifted, erasure completes.
async fn a_legal_hold_blocks_until_lifted(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::ObjectLock).await;
    let held = h.put(&bucket, "members/barbara.jpg").await;
    h.hold(&bucket, "members/barbara.jpg", &held, Hold::LegalHold)
        .await;
    let store = h.store(false);
    let key = object(&bucket, "members/barbara.jpg");
    let receipt = store
        .erase(
            &key,
            EraseOptions::default().bypass_governance_retention(true),
        )
        .await
        .expect(name);
    assert!(!receipt.is_complete(), "{name}: {receipt}");
    match receipt.remaining.as_slice() {
        [r] => {
            assert_eq!(r.reason, BlockReason::LegalHold, "{name}");
            assert!(r.reason.to_string().contains("PutObjectLegalHold"));
        }
        other => panic!("{name}: {other:?}"),
    }
    h.lift_legal_hold(&bucket, "members/barbara.jpg", &held)
        .await;
    let receipt = store
        .erase(&key, EraseOptions::default())
        .await
        .expect(name);
    assert!(receipt.is_complete(), "{name}: {receipt}");
}

/// A key with nothing stored: complete, nothing erased.
async fn a_key_with_nothing_stored_is_complete(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    let receipt = h
        .store(false)
        .erase(
            &object(&bucket, "members/nobody.jpg"),
            EraseOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(receipt.is_complete(), "{name}");
    assert!(receipt.erased.is_empty() && receipt.remaining.is_empty());
}

/// A dry run lists what would be erased and erases nothing.
async fn a_dry_run_erases_nothing(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    h.put(&bucket, "members/alan.jpg").await;
    h.delete(&bucket, "members/alan.jpg").await;
    let before = versions_of(h, &bucket, "members/alan.jpg").await;
    let receipt = h
        .store(false)
        .erase(
            &object(&bucket, "members/alan.jpg"),
            EraseOptions::default().dry_run(true),
        )
        .await
        .expect(name);
    assert!(receipt.dry_run, "{name}");
    assert!(receipt.erased.is_empty(), "{name}");
    assert_eq!(receipt.remaining.len(), 2, "{name}: {receipt}");
    assert!(receipt
        .remaining
        .iter()
        .all(|r| r.reason == BlockReason::DryRun));
    assert_eq!(versions_of(h, &bucket, "members/alan.jpg").await, before);
}

/// A plain `http://` S3 endpoint: refused, nothing listed or deleted.
async fn a_plain_http_endpoint_erases_nothing(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    h.put(&bucket, "members/ada-http.jpg").await;
    let before = versions_of(h, &bucket, "members/ada-http.jpg").await;
    let err = h
        .store(true)
        .erase(
            &object(&bucket, "members/ada-http.jpg"),
            EraseOptions::default(),
        )
        .await
        .expect_err(name);
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::InsecureEndpoint(e)]) if e.service() == Service::S3
        ),
        "{name}: {err:?}"
    );
    assert_eq!(
        versions_of(h, &bucket, "members/ada-http.jpg").await,
        before
    );
}

/// A pinned photo whose pass is cached is not approved from the cache
/// once its key is erased.
async fn an_erased_key_is_not_approved_from_the_cache(h: &dyn ErasureHarness) {
    let name = h.name();
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    let version = h.put(&bucket, "members/ada-cached.jpg").await;
    let pinned = object(&bucket, "members/ada-cached.jpg")
        .with_version_id(&version)
        .expect("a version");
    let store = h.store(false);
    store
        .check(&pinned)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let receipt = store
        .erase(
            &object(&bucket, "members/ada-cached.jpg"),
            EraseOptions::default(),
        )
        .await
        .expect(name);
    assert!(receipt.is_complete(), "{name}");
    let err = store.check(&pinned).await.expect_err(name);
    assert!(matches!(err, Error::Backend(_)), "{name}: {err:?}");
}

#[cfg(test)]
mod in_memory {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::super::in_memory::KEY;
    use crate::erasure::ObjectLockFacts;
    use crate::memory::{InMemoryBackend, SimulatedObject, DEFAULT_ACCOUNT};
    use crate::policy::Policy;

    /// The erasure harness over [`InMemoryBackend`](crate::memory::InMemoryBackend).
    #[derive(Debug, Clone)]
    struct InMemoryErasureHarness {
        aws: InMemoryBackend,
        buckets: std::sync::Arc<AtomicUsize>,
    }

    impl InMemoryErasureHarness {
        /// An empty simulation.
        fn new() -> Self {
            Self {
                aws: InMemoryBackend::new(),
                buckets: std::sync::Arc::default(),
            }
        }
    }

    impl Default for InMemoryErasureHarness {
        fn default() -> Self {
            Self::new()
        }
    }

    #[async_trait]
    impl ErasureHarness for InMemoryErasureHarness {
        fn name(&self) -> &str {
            "in-memory erasure"
        }
        fn kms_key(&self) -> KmsKeyArn {
            KmsKeyArn::parse(KEY).expect("a key ARN")
        }
        async fn new_bucket(&self, kind: BucketKind) -> String {
            let bucket = format!("erasure-{}", self.buckets.fetch_add(1, Ordering::SeqCst));
            self.aws
                .create_bucket(&bucket, DEFAULT_ACCOUNT, kind != BucketKind::Unversioned);
            bucket
        }
        async fn put(&self, bucket: &str, key: &str) -> String {
            self.aws
                .put(bucket, key, SimulatedObject::sse_kms(KEY))
                .unwrap_or_else(|| "null".to_owned())
        }
        async fn delete(&self, bucket: &str, key: &str) {
            self.aws.delete_object(bucket, key);
        }
        async fn enable_versioning(&self, bucket: &str) {
            self.aws.set_versioning(bucket, "Enabled", "Disabled");
        }
        async fn hold(&self, bucket: &str, key: &str, version: &str, hold: Hold) {
            let lock = match hold {
                Hold::Governance => ObjectLockFacts::none().with_retention(
                    RetentionMode::Governance,
                    Some(SystemTime::now() + Duration::from_secs(86_400)),
                ),
                Hold::LegalHold => ObjectLockFacts::none().with_legal_hold(),
            };
            self.aws.set_object_lock(bucket, key, version, lock);
        }
        async fn lift_legal_hold(&self, bucket: &str, key: &str, version: &str) {
            self.aws
                .set_object_lock(bucket, key, version, ObjectLockFacts::none());
        }
        async fn listed(&self, bucket: &str, prefix: &str) -> Vec<StoredVersion> {
            use crate::backend::{ListObjectVersionsRequest, S3Backend};
            self.aws
                .list_object_versions(&ListObjectVersionsRequest::new(bucket, prefix, None))
                .await
                .expect("a listing")
        }
        fn store(&self, plain_http: bool) -> PhotoStore {
            let s3 = if plain_http {
                self.aws
                    .clone()
                    .with_endpoint(Service::S3, "http://s3.in-memory.invalid")
            } else {
                self.aws.clone()
            };
            PhotoStore::new(
                s3,
                Policy::allow_kms_key(self.kms_key()).with_versioning_required(false),
            )
        }
    }

    /// The erasure conformance suite on the in-memory simulation.
    #[tokio::test]
    async fn in_memory_erasure_conformance() {
        run_all(&InMemoryErasureHarness::new()).await;
    }
}
