//! The photo store: everything that touches only S3, with no opt-out
//! evidence (nothing here sends an image to an AI service).

use std::fmt;
use std::sync::Arc;

use super::path::{backend_error, internal_error, refused};
use crate::at_rest::{AtRestViolation, VerifiedS3Object};
use crate::backend::{HeadObjectRequest, PutObjectRequest, S3Backend};
use crate::cache::{CacheConfig, VerificationCache};
use crate::error::Error;
use crate::input::{names_immutable_version, FaceImage, InputError, S3ObjectRef, NULL_VERSION_ID};
use crate::policy::Policy;
use crate::posture::BucketAudit;
use crate::refusal::{Operation, Violation};
use crate::text::AUDIT_TARGET;

/// The members' photos in S3, under a [`Policy`]: checks them
/// ([`check`](Self::check)), stores reference photos
/// ([`store_reference`](Self::store_reference)), erases them and sweeps
/// them by retention ([`erase`](Self::erase),
/// [`sweep_retention`](Self::sweep_retention)), audits a fleet
/// ([`audit_inventory`](Self::audit_inventory),
/// [`reencrypt`](Self::reencrypt)) and a bucket
/// ([`audit_bucket`](Self::audit_bucket)).
///
/// None of this sends an image to an AI service, so none of it needs AI
/// services opt-out evidence: privacy work never requires a waiver. For
/// comparisons, give the store to a [`Guard`](crate::Guard).
///
/// Every S3 request goes over HTTPS (enforced by the backend on the wire,
/// see [`transit`](crate::transit)), with `ExpectedBucketOwner` when the
/// policy names an owner. Cheap to clone; clones (and a guard built on the
/// store) share the verification cache.
///
/// ```
/// use rekognition_guard::memory::InMemoryBackend;
/// use rekognition_guard::{PhotoStore, Policy};
///
/// let store = PhotoStore::new(InMemoryBackend::new(), Policy::any_kms_key());
/// assert!(store.policy().versioning_required());
/// ```
#[derive(Clone)]
pub struct PhotoStore {
    pub(super) s3: Arc<dyn S3Backend>,
    pub(super) policy: Arc<Policy>,
    pub(super) cache: Option<Arc<VerificationCache>>,
    /// The reference photos of members who withdrew consent
    /// (`bucket`, NUL, `key`), refused from then on.
    pub(super) withdrawn: Arc<Withdrawn>,
}

/// Photos whose member withdrew consent, by bucket and key.
#[derive(Debug, Default)]
pub(crate) struct Withdrawn {
    /// How many: checked first, so a store without withdrawals pays one
    /// atomic load per S3 image.
    count: std::sync::atomic::AtomicUsize,
    keys: std::sync::RwLock<std::collections::HashSet<String>>,
}

impl Withdrawn {
    fn key(object: &S3ObjectRef) -> String {
        format!("{}\0{}", object.bucket(), object.key())
    }

    fn member_key(member: &crate::collection::MemberId) -> String {
        format!("member\0{member}")
    }

    /// Refuses `object` from now on.
    pub(crate) fn add(&self, object: &S3ObjectRef) {
        self.insert(Self::key(object));
    }

    /// Refuses everything of `member` from now on.
    pub(crate) fn add_member(&self, member: &crate::collection::MemberId) {
        self.insert(Self::member_key(member));
    }

    fn insert(&self, key: String) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(key);
        self.count
            .store(keys.len(), std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether `member` withdrew consent.
    pub(crate) fn has_member(&self, member: &crate::collection::MemberId) -> bool {
        self.count.load(std::sync::atomic::Ordering::SeqCst) != 0
            && self
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&Self::member_key(member))
    }

    /// A refusal when `member` withdrew consent.
    pub(crate) fn refuse_member(
        &self,
        operation: crate::refusal::Operation,
        member: &crate::collection::MemberId,
    ) -> Result<(), Error> {
        if self.has_member(member) {
            return Err(refused(
                operation,
                vec![Violation::AtRest(AtRestViolation::MemberWithdrewConsent {
                    member: member.to_string(),
                })],
            ));
        }
        Ok(())
    }

    /// Whether `object`'s member withdrew consent.
    pub(crate) fn contains(&self, object: &S3ObjectRef) -> bool {
        if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return false;
        }
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&Self::key(object))
    }
}

impl fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhotoStore")
            .field("s3", &self.s3)
            .field("policy", &self.policy)
            .field("verification_cache", &self.cache.is_some())
            .finish()
    }
}

impl PhotoStore {
    /// A store over `s3` under `policy`, with the verification cache on
    /// ([`CacheConfig::default`]). An `Arc` of a backend is a backend, to
    /// share one.
    pub fn new(s3: impl S3Backend + 'static, policy: Policy) -> Self {
        Self {
            s3: Arc::new(s3),
            policy: Arc::new(policy),
            cache: Some(Arc::new(VerificationCache::new(CacheConfig::default()))),
            withdrawn: Arc::default(),
        }
    }

    /// The same store with a verification cache of `config` (see
    /// [`CacheConfig`]), or none: every S3 image is then checked with
    /// HeadObject on every operation. Set it before cloning the store or
    /// building a guard on it: the clones share the cache they were made
    /// with.
    #[must_use]
    pub fn with_verification_cache(mut self, config: Option<CacheConfig>) -> Self {
        self.cache = config.map(|c| Arc::new(VerificationCache::new(c)));
        self
    }

    /// The policy this store enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks one S3 object against the policy (HeadObject, or a cached
    /// pass), without comparing anything.
    ///
    /// # Errors
    /// [`Error::Refused`] with every violation, or [`Error::Backend`] when
    /// the metadata could not be read.
    pub async fn check(&self, object: &S3ObjectRef) -> Result<VerifiedS3Object, Error> {
        self.check_object(object)
            .await
            .into_result(Operation::CheckObject)
            .map(|(v, _)| v)
    }

    /// Forgets every cached check of `object`'s bucket and key (all
    /// versions), so the next operation sends HeadObject again. For
    /// operators who re-encrypt objects in place (see [`CacheConfig`]).
    pub fn forget_check(&self, object: &S3ObjectRef) {
        if let Some(cache) = &self.cache {
            cache.forget(object);
        }
    }

    /// Forgets every cached check of this store (and its clones).
    pub fn forget_all_checks(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Audits `bucket`'s configuration against the policy: default
    /// encryption, versioning, Object Lock, public access, the bucket
    /// policy's HTTPS and encryption statements, S3 Inventory (see
    /// [`BucketAudit`](crate::BucketAudit)). What keeps future photos compliant;
    /// [`audit_inventory`](Self::audit_inventory) is what says the stored
    /// ones are.
    ///
    /// # Errors
    /// [`Error::Refused`] for an insecure endpoint; [`Error::Backend`]
    /// when the bucket's configuration could not be read.
    pub async fn audit_bucket(&self, bucket: &str) -> Result<BucketAudit, Error> {
        self.s3
            .audit_bucket(bucket, &self.policy)
            .await
            .map_err(|e| backend_error(Operation::AuditBucket, e))
    }

    /// Stores `image` at `object` as the reference photo of the member
    /// `consent` is for (recorded: required before anything is sent):
    /// PutObject with
    /// SSE-KMS under the policy's first allowed key (for
    /// [`Policy::any_kms_key`], no encryption header: the bucket's default
    /// encryption) and a `Content-MD5`, then HeadObject of the version S3
    /// created, judged as any image is. Returns the version-pinned
    /// reference to keep.
    ///
    /// A refusal after the upload (the stored object is not SSE-KMS, or
    /// has no version where one is required) leaves the object in S3: the
    /// refusal names it; [`erase`](Self::erase) it if it is not wanted.
    ///
    /// No quality gate runs here (that needs Rekognition): use
    /// [`Guard::enroll`](crate::Guard::enroll) to reject a photo no
    /// comparison could use before it is stored.
    ///
    /// # Errors
    /// [`Error::Input`] when `object` names a version (an upload creates
    /// one); [`Error::Refused`] for an insecure endpoint (nothing sent) or
    /// when the stored object does not pass the policy;
    /// [`Error::Backend`] when a call failed.
    pub async fn store_reference(
        &self,
        consent: &crate::consent::RecordedConsent,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        let result = match self
            .withdrawn
            .refuse_member(Operation::StoreReference, consent.member())
        {
            Ok(()) => {
                self.store_reference_inner(Operation::StoreReference, object, image)
                    .await
            }
            Err(e) => Err(e),
        };
        match &result {
            Ok(v) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "stored",
                object = %v,
                member = %consent.member(),
                consent = %consent.record(),
                "reference photo stored"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                object = %object,
                member = %consent.member(),
                consent = %consent.record(),
                reasons = %e,
                "reference photo not stored"
            ),
        }
        result
    }

    /// PutObject and the check of what was stored, as part of `op`.
    pub(super) async fn store_reference_inner(
        &self,
        op: Operation,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        ensure_unversioned(object)?;
        let request = PutObjectRequest::new(
            object.clone(),
            image,
            self.policy.key_for_new_objects().cloned(),
            self.policy.expected_bucket_owner().cloned(),
        );
        let receipt = self
            .s3
            .put_object(request)
            .await
            .map_err(|e| backend_error(op, e))?;
        let stored = match receipt.version_id.as_deref() {
            Some(v) if names_immutable_version(v) => object
                .clone()
                .with_version_id(v)
                .map_err(|_| internal_error(op))?,
            // S3 names the version a write made in a versioned bucket; a
            // policy that requires versioning does not read its absence as
            // "check the latest", which may be another writer's.
            None if self.policy.versioning_required() => {
                return Err(refused(
                    Operation::CheckObject,
                    vec![Violation::AtRest(AtRestViolation::VersionRequired {
                        object: object.clone(),
                    })],
                ))
            }
            // No version, or S3's null version, which names nothing
            // immutable: check the latest, which the policy then treats as
            // unversioned.
            None | Some(NULL_VERSION_ID) => object.clone(),
            Some(_) => {
                return Err(refused(
                    Operation::CheckObject,
                    vec![Violation::AtRest(AtRestViolation::UnusableMetadata {
                        object: object.clone(),
                        field: "version id",
                    })],
                ))
            }
        };
        self.check(&stored).await
    }
}

impl PhotoStore {
    /// Proves the S3 transport before anything else happens: HeadObject of
    /// `object`'s key, whatever S3 answers (a 404 included). Only a request
    /// refused on the wire (not HTTPS) stops `op` here, so that enrollment
    /// never sends a photo to Rekognition for a store it cannot reach
    /// safely; the upload and its read-back check everything else.
    pub(super) async fn probe_transport(
        &self,
        op: Operation,
        object: &S3ObjectRef,
    ) -> Result<(), Error> {
        let request =
            HeadObjectRequest::new(object.clone(), self.policy.expected_bucket_owner().cloned());
        match self.s3.head_object(&request).await {
            Err(e) if e.insecure_endpoint().is_some() => Err(backend_error(op, e)),
            _ => Ok(()),
        }
    }
}

/// A reference photo is stored as a new version: the reference must not
/// name one.
pub(super) fn ensure_unversioned(object: &S3ObjectRef) -> Result<(), Error> {
    if object.version_id().is_some() {
        return Err(InputError::InvalidS3Reference {
            input: object.to_string(),
            reason: "storing a reference photo creates a new version; give the reference without ?versionId="
                .into(),
        }
        .into());
    }
    Ok(())
}
