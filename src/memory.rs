//! An in-memory **simulation** of S3 and Rekognition, for examples and
//! tests. Available with the `test-util` feature; not covered by semver.
//!
//! It does not look at faces. Each stored object or registered image carries
//! a *face label* chosen by the test, and the similarity of two labels comes
//! from a table the test fills in. What it does simulate faithfully is what
//! the guard depends on: encryption metadata as HeadObject reports it,
//! versions (a compare reads the pinned version, not the latest), the
//! expected bucket owner (403 on mismatch), and HeadObject's refusal to
//! describe an SSE-C object without its key (400).
//!
//! ```
//! use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
//!
//! let backend = InMemoryBackend::new();
//! backend.create_bucket("library-photos", "111122223333", true);
//! let v1 = backend.put(
//!     "library-photos",
//!     "members/ada.jpg",
//!     SimulatedObject::sse_kms("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
//!         .with_face("ada"),
//! );
//! assert_eq!(v1.as_deref(), Some("v1"));
//! backend.set_similarity("ada", "ada", 99.4);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::at_rest::{ObjectFacts, SseAlgorithm};
use crate::backend::{
    BackendError, BackendErrorKind, BoundingBox, CompareFacesRequest, ComparisonFacts,
    CreateFaceLivenessSessionRequest, DeleteObjectVersionRequest, DetectFacesRequest, FaceMatch,
    GetBucketVersioningRequest, GetFaceLivenessSessionResultsRequest, GetObjectRequest,
    HeadObjectRequest, ListObjectVersionsRequest, PutObjectReceipt, PutObjectRequest,
    PutRecordRequest, ReencryptRequest, RekognitionBackend, S3Backend, VerifiedImage,
    VersioningFacts,
};
use crate::collection::{
    AssociateFacesRequest, CollectionBackend, DeleteFacesRequest, FaceAssociations, FaceDeletions,
    IndexFacesRequest, IndexedFaces, ListFacesRequest, SearchUsersRequest, StoredFace, UserMatch,
    UserRequest, UserSearch,
};
use crate::erasure::{ObjectLockFacts, RetentionMode, StoredVersion};
use crate::input::{AccountId, Service, NULL_VERSION_ID};
use crate::liveness::{Challenge, ChallengeType, LivenessFacts, LivenessSessionId, LivenessStatus};
use crate::policy::Policy;
use crate::posture::{BucketAudit, Finding, Severity};
use crate::quality::FaceDetail;

/// An object stored in the simulation: its encryption and the face it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedObject {
    /// `x-amz-server-side-encryption` HeadObject reports.
    pub encryption: SseAlgorithm,
    /// The KMS key id HeadObject reports.
    pub kms_key_id: Option<String>,
    /// SSE-C: HeadObject without the customer key fails with 400, as in S3.
    pub sse_customer_algorithm: Option<String>,
    /// The face the image shows (a label used in the similarity table).
    pub face: Option<String>,
    /// The size HeadObject reports, in bytes, for an object without a
    /// [`body`](Self::body) (one with a body reports its length).
    pub size: u64,
    /// The bytes GetObject returns (for S3 Inventory reports); `None` reads as no bytes.
    pub body: Option<Vec<u8>>,
    /// The names of its user-defined metadata, as HeadObject reports them
    /// (e.g. `x-amz-key-v2` for an object the S3 Encryption Client wrote).
    pub user_metadata_keys: Vec<String>,
}

impl SimulatedObject {
    /// An object with `encryption` and no face, 50 000 bytes.
    pub fn new(encryption: SseAlgorithm) -> Self {
        Self {
            encryption,
            kms_key_id: None,
            sse_customer_algorithm: None,
            face: None,
            size: 50_000,
            body: None,
            user_metadata_keys: Vec::new(),
        }
    }

    /// SSE-KMS with `kms_key_arn`.
    pub fn sse_kms(kms_key_arn: &str) -> Self {
        Self::new(SseAlgorithm::AwsKms).with_kms_key_id(kms_key_arn)
    }

    /// SSE-S3 (`AES256`).
    pub(crate) fn sse_s3() -> Self {
        Self::new(SseAlgorithm::Aes256)
    }

    /// Not encrypted (no header, as for objects stored before 2023).
    #[cfg(test)]
    pub(crate) fn unencrypted() -> Self {
        Self::new(SseAlgorithm::None)
    }

    /// Sets the KMS key id HeadObject reports.
    #[must_use]
    pub(crate) fn with_kms_key_id(mut self, id: &str) -> Self {
        self.kms_key_id = Some(id.to_owned());
        self
    }

    /// Sets the face the image shows (a label used in the similarity table).
    #[must_use]
    pub fn with_face(mut self, label: &str) -> Self {
        self.face = Some(label.to_owned());
        self
    }

    /// Sets the size HeadObject reports.
    #[must_use]
    pub(crate) fn with_size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }
}

/// How a simulated Face Liveness session ends
/// ([`InMemoryBackend::finish_liveness`]).
#[derive(Debug, Clone)]
pub struct SimulatedLiveness {
    /// The status the session ends with.
    pub status: LivenessStatus,
    /// The liveness confidence reported.
    pub confidence: Option<f32>,
    /// The face of the reference image; `None`: no reference image reported.
    pub reference_face: Option<String>,
    /// How the reference image is stored (its face is set to `reference_face`): e.g. SSE-S3, or another KMS key; `None`: SSE-KMS under the session's key.
    pub reference_object: Option<SimulatedObject>,
    /// Stores and reports the reference image in this bucket (which must exist) instead of the session's output bucket, under the same key: a results answer naming a location the guard did not choose.
    pub reference_bucket: Option<String>,
    /// Makes the reference image's key from the session's output prefix (by default `<prefix><session id>/reference.jpg`).
    pub reference_key: Option<fn(&str) -> String>,
    /// Whether the reported reference image is stored (`false`: reported but not in the bucket).
    pub store_reference: bool,
    /// Whether the reference image's version is reported.
    pub report_version: bool,
    /// The challenge reported. `None`: the session's first challenge
    /// preference at version `2.0.0`, as Rekognition runs it; `Some(c)`:
    /// `c` is reported (`Some(None)`: no `Challenge` in the results).
    pub challenge: Option<Option<Challenge>>,
}

impl SimulatedLiveness {
    /// `SUCCEEDED` at `confidence`, with a reference image of face `face`
    /// stored SSE-KMS under the session's key, its version reported.
    pub fn live(confidence: f32, face: &str) -> Self {
        Self {
            status: LivenessStatus::Succeeded,
            confidence: Some(confidence),
            reference_face: Some(face.to_owned()),
            reference_object: None,
            reference_bucket: None,
            reference_key: None,
            store_reference: true,
            report_version: true,
            challenge: None,
        }
    }

    /// Ends with `status` (`FAILED`, `EXPIRED`, `IN_PROGRESS`, …), no
    /// confidence and no reference image.
    pub fn ended(status: LivenessStatus) -> Self {
        Self {
            status,
            confidence: None,
            reference_face: None,
            reference_object: None,
            reference_bucket: None,
            reference_key: None,
            store_reference: false,
            report_version: false,
            challenge: Some(None),
        }
    }

    /// Reports `challenge` as the challenge the session ran (`None`: no
    /// `Challenge` in the results). By default a live session reports the
    /// session's first challenge preference at version `2.0.0`.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn with_challenge(mut self, challenge: Option<Challenge>) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Stores and reports the reference image in `bucket` (which must
    /// exist) instead of the session's output bucket, under the same key:
    /// a results answer naming a location the guard did not choose.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn reference_in_bucket(mut self, bucket: &str) -> Self {
        self.reference_bucket = Some(bucket.to_owned());
        self
    }

    /// Stores the reference image as `object` (its face is set to the
    /// session's face): e.g. SSE-S3, or another KMS key.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn with_reference_object(mut self, object: SimulatedObject) -> Self {
        self.reference_object = Some(object);
        self
    }

    /// Stores and reports the reference image at the key `key` makes of
    /// the session's output prefix (by default `<prefix><session
    /// id>/reference.jpg`).
    #[must_use]
    #[cfg(test)]
    pub(crate) fn reference_at_key(mut self, key: fn(&str) -> String) -> Self {
        self.reference_key = Some(key);
        self
    }

    /// Reports no reference image.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn without_reference_image(mut self) -> Self {
        self.reference_face = None;
        self
    }

    /// Reports a reference image that is not in the bucket.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn reference_not_stored(mut self) -> Self {
        self.store_reference = false;
        self
    }

    /// Reports the reference image without its version.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn without_reference_version(mut self) -> Self {
        self.report_version = false;
        self
    }
}

/// One version of a key: an object, or a delete marker (`object` `None`);
/// `version_id` `None` is S3's null version.
#[derive(Debug)]
struct Version {
    version_id: Option<String>,
    object: Option<SimulatedObject>,
    lock: ObjectLockFacts,
}

impl Version {
    fn id(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION_ID)
    }
}

/// The version `requested` names (`null` included), else the latest; a
/// delete marker is not an object.
fn find_version<'a>(
    versions: Option<&'a Vec<Version>>,
    requested: Option<&str>,
) -> Option<&'a SimulatedObject> {
    let versions = versions?;
    match requested {
        Some(v) => versions.iter().find(|s| s.id() == v),
        None => versions.last(),
    }
    .and_then(|s| s.object.as_ref())
}

#[derive(Debug)]
struct Bucket {
    owner: String,
    /// Versioning on; `suspended` while it is suspended.
    versioned: bool,
    suspended: bool,
    /// MFA Delete enabled: deleting a version needs `x-amz-mfa`, which
    /// the guard never sends.
    mfa_delete: bool,
    /// Default encryption: SSE-KMS under this key, else SSE-S3.
    default_kms_key: Option<String>,
    /// S3 Object Lock enabled, and the default retention, if any.
    object_lock: Option<Option<(RetentionMode, std::time::Duration)>>,
    objects: HashMap<String, Vec<Version>>,
}

/// A Face Liveness session in the simulation.
#[derive(Debug)]
struct SimSession {
    request: CreateFaceLivenessSessionRequest,
    facts: Option<LivenessFacts>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    faces_by_digest: HashMap<u64, String>,
    face_details: HashMap<String, Vec<FaceDetail>>,
    similarity: HashMap<(String, String), f32>,
    next_version: u64,
    sessions: HashMap<String, SimSession>,
    next_session: u64,
    collections: HashMap<String, SimCollection>,
    next_face: u64,
}

/// A simulated Rekognition collection: faces (by face id) and users.
#[derive(Debug, Default)]
struct SimCollection {
    faces: BTreeMap<String, SimFace>,
    users: BTreeSet<String>,
}

#[derive(Debug)]
struct SimFace {
    external_image_id: String,
    user: Option<String>,
    /// The face label of the image it was indexed from.
    label: String,
}

#[derive(Debug, Default)]
struct Counters {
    inspect: AtomicUsize,
    compare: AtomicUsize,
    detect: AtomicUsize,
    liveness: AtomicUsize,
    audit: AtomicUsize,
    delete: AtomicUsize,
    index: AtomicUsize,
    search: AtomicUsize,
}

/// How many calls of each kind reached an [`InMemoryBackend`]
/// ([`InMemoryBackend::calls`]): what a test asserts when it says "nothing
/// was sent".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Calls {
    /// `HeadObject` (an object's metadata read).
    pub head_object: usize,
    /// `DeleteObject` of one version.
    pub delete_object_version: usize,
    /// `CompareFaces`.
    pub compare_faces: usize,
    /// `DetectFaces`.
    pub detect_faces: usize,
    /// Face Liveness (`CreateFaceLivenessSession` and
    /// `GetFaceLivenessSessionResults`).
    pub liveness: usize,
    /// Bucket audits.
    pub audit_bucket: usize,
    /// `IndexFaces`.
    pub index_faces: usize,
    /// `SearchUsersByImage`.
    pub search_users_by_image: usize,
}

/// A simulated S3 + Rekognition, implementing both
/// [`S3Backend`] and [`RekognitionBackend`]. Clones share their state, so a
/// test can keep one clone to set up data and count calls while the guard
/// owns others.
#[derive(Clone)]
pub struct InMemoryBackend {
    state: Arc<Mutex<State>>,
    counters: Arc<Counters>,
    s3_endpoint: String,
    rekognition_endpoint: String,
    account: AccountId,
    region: Option<String>,
}

/// The account the simulation's Rekognition calls act as by default.
pub const DEFAULT_ACCOUNT: &str = "111122223333";

impl fmt::Debug for InMemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBackend")
            .field("s3_endpoint", &crate::transit::redact(&self.s3_endpoint))
            .field(
                "rekognition_endpoint",
                &crate::transit::redact(&self.rekognition_endpoint),
            )
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// The object's bucket, as S3 answers: 404 when missing, 403 when not
/// owned by the expected account.
fn owned_bucket<'a>(
    state: &'a State,
    object: &crate::input::S3ObjectRef,
    expected_owner: Option<&crate::input::AccountId>,
    operation: &'static str,
) -> Result<&'a Bucket, BackendError> {
    let err = |kind, message: String| BackendError::new(kind, Service::S3, operation, message);
    let bucket = state.buckets.get(object.bucket()).ok_or_else(|| {
        err(
            BackendErrorKind::NotFound,
            format!("bucket {} does not exist", object.bucket()),
        )
    })?;
    match expected_owner {
        Some(owner) if owner.as_str() != bucket.owner => Err(err(
            BackendErrorKind::AccessDenied,
            format!(
                "403 Forbidden: bucket {} is not owned by the expected account {owner}",
                object.bucket()
            ),
        )),
        _ => Ok(bucket),
    }
}

fn digest(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl InMemoryBackend {
    /// What the crate's HTTPS-only interceptor does on the wire: a request
    /// to a service whose endpoint is not `https://` is refused before
    /// anything happens (see [`with_endpoint`](Self::with_endpoint)).
    fn wire(&self, service: Service, operation: &'static str) -> Result<(), BackendError> {
        let endpoint = match service {
            Service::Rekognition => &self.rekognition_endpoint,
            _ => &self.s3_endpoint,
        };
        crate::transit::check_endpoint_url(service, endpoint)
            .map_err(|refusal| BackendError::refused_endpoint(operation, refusal))
    }

    /// An empty simulation with HTTPS endpoints.
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            counters: Arc::default(),
            s3_endpoint: "https://s3.in-memory.invalid".to_owned(),
            rekognition_endpoint: "https://rekognition.in-memory.invalid".to_owned(),
            account: AccountId::parse(DEFAULT_ACCOUNT).expect("a 12-digit account id"),
            region: None,
        }
    }

    /// The same simulation (shared state), reporting `region` as its
    /// Rekognition region ([`RekognitionBackend::region`]; by default none):
    /// `us-gov-west-1` simulates AWS GovCloud (US).
    #[must_use]
    pub fn with_region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// The same simulation (shared state), calling Rekognition as
    /// `account` ([`RekognitionBackend::caller_account`]; default
    /// [`DEFAULT_ACCOUNT`]).
    #[must_use]
    pub fn with_account(mut self, account: AccountId) -> Self {
        self.account = account;
        self
    }

    /// The same simulation (shared state), reaching `service` (S3 or
    /// Rekognition; any other service panics) at `endpoint`: when it is not `https://`, every request
    /// to that service is refused before it is "sent", as the AWS
    /// backend's [`HttpsOnly`](crate::transit::HttpsOnly) interceptor
    /// refuses it.
    #[must_use]
    pub fn with_endpoint(mut self, service: Service, endpoint: &str) -> Self {
        match service {
            Service::Rekognition => endpoint.clone_into(&mut self.rekognition_endpoint),
            Service::S3 => endpoint.clone_into(&mut self.s3_endpoint),
            other => panic!("the simulation has no {other} endpoint (S3 and Rekognition only)"),
        }
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters for a simulation.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a bucket owned by `owner_account`, versioned or not.
    pub fn create_bucket(&self, bucket: &str, owner_account: &str, versioned: bool) {
        self.state().buckets.insert(
            bucket.to_owned(),
            Bucket {
                owner: owner_account.to_owned(),
                versioned,
                suspended: false,
                mfa_delete: false,
                default_kms_key: None,
                object_lock: None,
                objects: HashMap::new(),
            },
        );
    }

    /// Stores `object` under `key`, returning its version id (`v1`, `v2`, …)
    /// in a versioned bucket, `None` otherwise (the object is replaced).
    ///
    /// # Panics
    /// When the bucket was not created with [`create_bucket`](Self::create_bucket).
    pub fn put(&self, bucket: &str, key: &str, object: SimulatedObject) -> Option<String> {
        self.write(bucket, key, Some(object))
    }

    /// A plain DELETE of `key`, as S3 does it: in a versioned bucket a
    /// delete marker is added (its version id returned) and every version
    /// stays; otherwise the null version is replaced by a delete marker
    /// (suspended) or removed (never versioned).
    ///
    /// # Panics
    /// When the bucket was not created.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Option<String> {
        self.write(bucket, key, None)
    }

    /// Writes a version (`None`: a delete marker): a new version id while
    /// versioning is on, else the null version, replaced.
    fn write(&self, bucket: &str, key: &str, object: Option<SimulatedObject>) -> Option<String> {
        let mut state = self.state();
        state.next_version += 1;
        let version = format!("v{}", state.next_version);
        let b = state
            .buckets
            .get_mut(bucket)
            .unwrap_or_else(|| panic!("bucket {bucket} does not exist: call create_bucket first"));
        let enabled = b.versioned && !b.suspended;
        let never_versioned = !b.versioned && !b.suspended;
        let versions = b.objects.entry(key.to_owned()).or_default();
        if !enabled {
            versions.retain(|v| v.version_id.is_some());
        }
        if never_versioned && object.is_none() {
            return None;
        }
        let version_id = enabled.then_some(version);
        versions.push(Version {
            version_id: version_id.clone(),
            object,
            lock: ObjectLockFacts::none(),
        });
        version_id
    }

    /// Sets a bucket's versioning as `PutBucketVersioning` does, in its
    /// terms: `status` `Enabled` (later writes get new version ids; a null
    /// version written before stays) or `Suspended` (later writes replace
    /// the null version; earlier versions stay), and `mfa_delete`
    /// `Enabled` (every deletion of a version is then denied with 403, as
    /// S3 denies one without `x-amz-mfa`) or `Disabled`.
    /// `GetBucketVersioning` then reports the status, and `MfaDelete`
    /// `Enabled` while it is on.
    ///
    /// # Panics
    /// When the bucket was not created, or for a value S3 does not take.
    pub fn set_versioning(&self, bucket: &str, status: &str, mfa_delete: &str) {
        let mut state = self.state();
        let b = state
            .buckets
            .get_mut(bucket)
            .unwrap_or_else(|| panic!("bucket {bucket} does not exist: call create_bucket first"));
        match status {
            "Enabled" => {
                b.versioned = true;
                b.suspended = false;
            }
            "Suspended" => b.suspended = true,
            other => panic!("versioning status {other:?}: S3 takes Enabled or Suspended"),
        }
        b.mfa_delete = match mfa_delete {
            "Enabled" => true,
            "Disabled" => false,
            other => panic!("MFA Delete {other:?}: S3 takes Enabled or Disabled"),
        };
    }

    /// Sets what S3 Object Lock holds on one version (`null` for the null
    /// version): a retention and or a legal hold. Erasure then leaves it,
    /// and says why.
    ///
    /// # Panics
    /// When there is no such version.
    pub fn set_object_lock(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        lock: ObjectLockFacts,
    ) {
        let mut state = self.state();
        let version = state
            .buckets
            .get_mut(bucket)
            .and_then(|b| b.objects.get_mut(key))
            .and_then(|vs| vs.iter_mut().find(|v| v.id() == version_id))
            .unwrap_or_else(|| panic!("no version {version_id} of s3://{bucket}/{key}"));
        version.lock = lock;
    }

    /// Enables S3 Object Lock on a (versioned) bucket, with a default
    /// retention of `default_retention` (mode and period) if given, as
    /// `PutObjectLockConfiguration` does.
    ///
    /// # Panics
    /// When the bucket was not created.
    pub fn enable_object_lock(
        &self,
        bucket: &str,
        default_retention: Option<(RetentionMode, std::time::Duration)>,
    ) {
        let mut state = self.state();
        let b = state
            .buckets
            .get_mut(bucket)
            .unwrap_or_else(|| panic!("bucket {bucket} does not exist: call create_bucket first"));
        b.versioned = true;
        b.object_lock = Some(default_retention);
    }

    /// Declares that image `bytes` show the face `label`. Unregistered
    /// bytes show no face.
    pub fn register_image(&self, bytes: &[u8], label: &str) {
        self.state()
            .faces_by_digest
            .insert(digest(bytes), label.to_owned());
    }

    /// Sets the similarity of faces `a` and `b` (both orders). Pairs not set
    /// have similarity 0.
    pub fn set_similarity(&self, a: &str, b: &str, similarity: f32) {
        let mut state = self.state();
        state
            .similarity
            .insert((a.to_owned(), b.to_owned()), similarity);
        state
            .similarity
            .insert((b.to_owned(), a.to_owned()), similarity);
    }

    /// Sets a bucket's default encryption: SSE-KMS under `kms_key`, or
    /// SSE-S3 (`None`, the default of a new bucket). The bucket audit
    /// reads it.
    ///
    /// # Panics
    /// When the bucket was not created.
    pub fn set_default_encryption(&self, bucket: &str, kms_key: Option<&str>) {
        let mut state = self.state();
        let b = state
            .buckets
            .get_mut(bucket)
            .unwrap_or_else(|| panic!("bucket {bucket} does not exist: call create_bucket first"));
        b.default_kms_key = kms_key.map(str::to_owned);
    }

    /// Finishes Face Liveness session `session_id` as `outcome` says: its
    /// status and confidence, and a reference image stored in the
    /// session's output bucket under `<prefix><session id>/reference.jpg`
    /// (as Rekognition does), SSE-KMS under the session's key unless the
    /// outcome says otherwise.
    ///
    /// # Panics
    /// When no such session was started.
    pub fn finish_liveness(&self, session_id: &LivenessSessionId, outcome: SimulatedLiveness) {
        let (bucket, key, kms_key, preferred) = {
            let state = self.state();
            let session = state
                .sessions
                .get(session_id.as_str())
                .unwrap_or_else(|| panic!("no liveness session {session_id}"));
            (
                session.request.output_bucket.to_owned(),
                match outcome.reference_key {
                    Some(key) => key(&session.request.output_prefix),
                    None => format!(
                        "{}{session_id}/reference.jpg",
                        session.request.output_prefix
                    ),
                },
                // No KmsKeyId: the output bucket's default encryption.
                match &session.request.kms_key {
                    Some(k) => Some(k.as_str().to_owned()),
                    None => state
                        .buckets
                        .get(&session.request.output_bucket)
                        .and_then(|b| b.default_kms_key.clone()),
                },
                session
                    .request
                    .challenge_preferences
                    .first()
                    .cloned()
                    .unwrap_or(ChallengeType::FaceMovementAndLight),
            )
        };
        let bucket = outcome.reference_bucket.unwrap_or(bucket);
        let mut facts = LivenessFacts::new(outcome.status);
        facts.confidence = outcome.confidence;
        facts.challenge = outcome
            .challenge
            .unwrap_or_else(|| Some(Challenge::new(preferred, Some("2.0.0"))));
        if let Some(face) = outcome.reference_face {
            let object = outcome
                .reference_object
                .unwrap_or_else(|| match &kms_key {
                    Some(k) => SimulatedObject::sse_kms(k),
                    None => SimulatedObject::sse_s3(),
                })
                .with_face(&face);
            let version = if outcome.store_reference {
                self.put(&bucket, &key, object)
            } else {
                Some("v-never-stored".to_owned())
            };
            facts = facts.with_s3_reference_image(
                &bucket,
                &key,
                version.as_deref().filter(|_| outcome.report_version),
            );
        }
        if let Some(session) = self.state().sessions.get_mut(session_id.as_str()) {
            session.facts = Some(facts);
        }
    }

    /// The Face Liveness sessions started, in order, as requested.
    #[cfg(test)]
    pub(crate) fn liveness_requests(&self) -> Vec<CreateFaceLivenessSessionRequest> {
        let state = self.state();
        let mut sessions: Vec<_> = state.sessions.iter().collect();
        sessions.sort_by(|a, b| a.0.cmp(b.0));
        sessions
            .into_iter()
            .map(|(_, s)| s.request.clone())
            .collect()
    }

    /// How many calls of each kind reached the simulation so far.
    pub fn calls(&self) -> Calls {
        let c = &self.counters;
        Calls {
            head_object: c.inspect.load(Ordering::SeqCst),
            delete_object_version: c.delete.load(Ordering::SeqCst),
            compare_faces: c.compare.load(Ordering::SeqCst),
            detect_faces: c.detect.load(Ordering::SeqCst),
            liveness: c.liveness.load(Ordering::SeqCst),
            audit_bucket: c.audit.load(Ordering::SeqCst),
            index_faces: c.index.load(Ordering::SeqCst),
            search_users_by_image: c.search.load(Ordering::SeqCst),
        }
    }

    /// Creates an empty Rekognition collection `id` (`CreateCollection`).
    pub fn create_collection(&self, id: &str) {
        self.state().collections.entry(id.to_owned()).or_default();
    }

    /// Sets what DetectFaces reports for images showing face `label` (by
    /// default one [`FaceDetail::good`] face): for example two faces, or a
    /// face with sunglasses.
    pub fn set_face_details(&self, label: &str, faces: Vec<FaceDetail>) {
        self.state().face_details.insert(label.to_owned(), faces);
    }

    fn face_of(&self, image: &VerifiedImage) -> Result<Option<String>, BackendError> {
        let state = self.state();
        match image {
            VerifiedImage::Bytes(b) => Ok(state
                .faces_by_digest
                .get(&digest(b.expose_bytes()))
                .cloned()),
            VerifiedImage::S3(o) => {
                let found = find_version(
                    state
                        .buckets
                        .get(o.reference().bucket())
                        .and_then(|b| b.objects.get(o.reference().key())),
                    o.reference().version_id(),
                );
                match found {
                    Some(object) => Ok(object.face.clone()),
                    None => Err(BackendError::new(
                        BackendErrorKind::InvalidS3Object,
                        Service::Rekognition,
                        "CompareFaces",
                        format!(
                            "cannot read s3://{}/{} (version {}): no such object or version",
                            o.reference().bucket(),
                            o.reference().key(),
                            o.reference().version_id().unwrap_or("latest")
                        ),
                    )),
                }
            }
        }
    }
}

#[async_trait]
impl S3Backend for InMemoryBackend {
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        self.wire(Service::S3, "HeadObject")?;
        self.counters.inspect.fetch_add(1, Ordering::SeqCst);
        let object = &request.object;
        let err =
            |kind, message: String| BackendError::new(kind, Service::S3, "HeadObject", message);
        let state = self.state();
        let bucket = owned_bucket(
            &state,
            object,
            request.expected_bucket_owner.as_ref(),
            "HeadObject",
        )?;
        let versions = bucket.objects.get(object.key());
        let o = find_version(versions, object.version_id()).ok_or_else(|| {
            err(
                BackendErrorKind::NotFound,
                format!("404 Not Found: {object}"),
            )
        })?;
        // The version id HeadObject reports: the one named, else the latest.
        let reported = match object.version_id() {
            Some(v) => Some(v.to_owned()),
            None => versions.and_then(|vs| vs.last()).and_then(|v| {
                v.version_id.clone().or_else(|| {
                    (bucket.versioned || bucket.suspended).then(|| NULL_VERSION_ID.to_owned())
                })
            }),
        };
        if o.sse_customer_algorithm.is_some() {
            return Err(err(
                BackendErrorKind::InvalidRequest,
                format!("400 Bad Request for {object}: the object may be encrypted with a customer-provided key (SSE-C), which HeadObject cannot read without that key; store it with SSE-KMS"),
            ));
        }
        let mut facts = ObjectFacts::new(o.encryption.clone())
            .with_content_length(o.body.as_ref().map_or(o.size, |b| b.len() as u64))
            .with_content_type("image/jpeg");
        facts.etag = Some(etag_of(object.bucket(), object.key(), reported.as_deref()));
        facts.user_metadata_keys = o.user_metadata_keys.clone();
        if let Some(k) = &o.kms_key_id {
            facts = facts.with_kms_key_id(k.clone());
        }
        let lock = versions
            .and_then(|vs| match object.version_id() {
                Some(v) => vs.iter().find(|s| s.id() == v),
                None => vs.last(),
            })
            .and_then(|v| v.lock.retention.clone());
        if let Some((mode, until)) = lock {
            facts.object_lock_mode = Some(mode.to_string());
            facts.object_lock_retain_until = until;
        }
        if let Some(v) = reported {
            facts = facts.with_version_id(v);
        }
        Ok(facts)
    }

    async fn get_bucket_versioning(
        &self,
        request: &GetBucketVersioningRequest,
    ) -> Result<VersioningFacts, BackendError> {
        self.wire(Service::S3, "GetBucketVersioning")?;
        let state = self.state();
        let bucket = listed_bucket(
            &state,
            &request.bucket,
            request.expected_bucket_owner.as_ref(),
        )?;
        let status = if bucket.suspended {
            Some("Suspended")
        } else if bucket.versioned {
            Some("Enabled")
        } else {
            None
        };
        Ok(VersioningFacts::new(
            status,
            bucket.mfa_delete.then_some("Enabled"),
        ))
    }

    /// Stores the image as an SSE-KMS object under the request's key; its
    /// face is the one registered for these bytes, if any.
    async fn put_object(
        &self,
        request: PutObjectRequest,
    ) -> Result<PutObjectReceipt, BackendError> {
        self.wire(Service::S3, "PutObject")?;
        let object = &request.object;
        let (face, kms_key) = {
            let state = self.state();
            let bucket = owned_bucket(
                &state,
                object,
                request.expected_bucket_owner.as_ref(),
                "PutObject",
            )?;
            // No encryption header: the bucket's default encryption
            // (SSE-KMS under its key, else SSE-S3, which the read-back
            // refuses).
            let kms_key = match request.kms_key {
                Some(k) => Some(k.as_str().to_owned()),
                None => bucket.default_kms_key.clone(),
            };
            let face = state
                .faces_by_digest
                .get(&digest(request.image.expose_bytes()))
                .cloned();
            (face, kms_key)
        };
        let stored = match &kms_key {
            Some(k) => SimulatedObject::sse_kms(k),
            None => SimulatedObject::sse_s3(),
        };
        let mut stored = stored.with_size(request.image.len() as u64);
        if let Some(face) = face {
            stored = stored.with_face(&face);
        }
        Ok(PutObjectReceipt::new(self.put(
            object.bucket(),
            object.key(),
            stored,
        )))
    }

    /// Audits the simulated default encryption and versioning (the
    /// simulation has no bucket policies or Block Public Access).
    async fn audit_bucket(
        &self,
        bucket: &str,
        policy: &Policy,
    ) -> Result<BucketAudit, BackendError> {
        self.wire(Service::S3, "GetBucketEncryption")?;
        self.counters.audit.fetch_add(1, Ordering::SeqCst);
        let state = self.state();
        let err = |kind, message: String| {
            BackendError::new(kind, Service::S3, "GetBucketEncryption", message)
        };
        let b = state.buckets.get(bucket).ok_or_else(|| {
            err(
                BackendErrorKind::NotFound,
                format!("bucket {bucket} does not exist"),
            )
        })?;
        if let Some(owner) = policy.expected_bucket_owner() {
            if owner.as_str() != b.owner {
                return Err(err(
                    BackendErrorKind::AccessDenied,
                    format!("403 Forbidden: bucket {bucket} is not owned by the expected account {owner}"),
                ));
            }
        }
        let mut findings = Vec::new();
        match &b.default_kms_key {
            None => findings.push(Finding::new(
                "default-encryption-not-kms",
                Severity::High,
                "default encryption is SSE-S3",
                "set default encryption to SSE-KMS with an allowed key",
            )),
            Some(key) if !policy.allows_kms_key(key) => findings.push(Finding::new(
                "default-encryption-key-not-allowed",
                Severity::High,
                format!("default encryption uses KMS key {key}, which is not on the allowlist"),
                "set default encryption to an allowed key",
            )),
            Some(_) => {}
        }
        if !b.versioned {
            findings.push(Finding::new(
                "versioning-not-enabled",
                Severity::High,
                "versioning is not enabled",
                "enable versioning",
            ));
        }
        Ok(BucketAudit::new(bucket, findings))
    }

    async fn list_object_versions(
        &self,
        request: &ListObjectVersionsRequest,
    ) -> Result<Vec<StoredVersion>, BackendError> {
        self.wire(Service::S3, "ListObjectVersions")?;
        let state = self.state();
        let bucket = listed_bucket(
            &state,
            &request.bucket,
            request.expected_bucket_owner.as_ref(),
        )?;
        let mut keys: Vec<&String> = bucket
            .objects
            .keys()
            .filter(|k| k.starts_with(&request.prefix))
            .collect();
        keys.sort();
        Ok(keys
            .into_iter()
            .flat_map(|key| {
                bucket.objects[key]
                    .iter()
                    .rev()
                    .map(move |v| StoredVersion::new(key, v.id(), v.object.is_none()))
            })
            .collect())
    }

    /// Refuses, as S3 does with 403, versions under a legal hold or an
    /// unexpired retention (GOVERNANCE unless bypassed).
    async fn delete_object_version(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<(), BackendError> {
        self.wire(Service::S3, "DeleteObject")?;
        self.counters.delete.fetch_add(1, Ordering::SeqCst);
        let mut state = self.state();
        listed_bucket(
            &state,
            &request.bucket,
            request.expected_bucket_owner.as_ref(),
        )?;
        let Some(versions) = state
            .buckets
            .get_mut(&request.bucket)
            .and_then(|b| b.objects.get_mut(&request.key))
        else {
            return Ok(());
        };
        let Some(at) = versions.iter().position(|v| v.id() == request.version_id) else {
            return Ok(());
        };
        if state.buckets[&request.bucket].mfa_delete {
            return Err(BackendError::new(
                BackendErrorKind::AccessDenied,
                Service::S3,
                "DeleteObject",
                "DeleteObject was denied (403) (S3 said \"AccessDenied\": \"Mfa Authentication must be used for this request\")",
            ));
        }
        let Some(versions) = state
            .buckets
            .get_mut(&request.bucket)
            .and_then(|b| b.objects.get_mut(&request.key))
        else {
            return Ok(());
        };
        let lock = &versions[at].lock;
        let retained = lock.retention.as_ref().is_some_and(|(mode, until)| {
            let live = until.is_none_or(|t| t > std::time::SystemTime::now());
            live && !(*mode == RetentionMode::Governance && request.bypass_governance_retention)
        });
        if lock.legal_hold || retained {
            return Err(BackendError::new(
                BackendErrorKind::AccessDenied,
                Service::S3,
                "DeleteObject",
                "DeleteObject was denied (403) (S3 said \"AccessDenied\": \"Access Denied because object protected by object lock.\")",
            ));
        }
        versions.remove(at);
        Ok(())
    }

    async fn object_lock(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<ObjectLockFacts, BackendError> {
        self.wire(Service::S3, "GetObjectRetention")?;
        let state = self.state();
        Ok(state
            .buckets
            .get(&request.bucket)
            .and_then(|b| b.objects.get(&request.key))
            .and_then(|vs| vs.iter().find(|v| v.id() == request.version_id))
            .map(|v| v.lock.clone())
            .unwrap_or_default())
    }

    /// `If-None-Match: *` against the key's current version, the lock and
    /// the write under one lock of the simulation, so two writers cannot
    /// both take a key.
    async fn put_record(
        &self,
        request: PutRecordRequest,
    ) -> Result<crate::backend::PutRecordReceipt, BackendError> {
        self.wire(Service::S3, "PutObject")?;
        let object = &request.object;
        let err =
            |kind, message: String| BackendError::new(kind, Service::S3, "PutObject", message);
        let mut state = self.state();
        owned_bucket(
            &state,
            object,
            request.expected_bucket_owner.as_ref(),
            "PutObject",
        )?;
        state.next_version += 1;
        let version = format!("v{}", state.next_version);
        let b = state
            .buckets
            .get_mut(object.bucket())
            .expect("checked above");
        if find_version(b.objects.get(object.key()), None).is_some() {
            return Err(err(
                BackendErrorKind::PreconditionFailed,
                format!("{object} exists already (412)"),
            ));
        }
        let retention = match (&request.retention, &b.object_lock) {
            (Some((mode, until)), Some(_)) => Some((mode.clone(), Some(*until))),
            (None, Some(Some((mode, period)))) => {
                Some((mode.clone(), Some(std::time::SystemTime::now() + *period)))
            }
            (None, _) => None,
            (Some(_), None) => {
                return Err(err(
                    BackendErrorKind::InvalidRequest,
                    format!(
                    "400 InvalidRequest for {object}: Bucket is missing Object Lock Configuration"
                ),
                ))
            }
        };
        let kms_key = request
            .kms_key
            .as_ref()
            .map(|k| k.as_str().to_owned())
            .or_else(|| b.default_kms_key.clone());
        let simulated = SimulatedObject {
            body: Some(request.body),
            ..match &kms_key {
                Some(k) => SimulatedObject::sse_kms(k),
                None => SimulatedObject::sse_s3(),
            }
        };
        let encryption = Some(simulated.encryption.clone());
        let version_id = (b.versioned && !b.suspended).then_some(version);
        b.objects
            .entry(object.key().to_owned())
            .or_default()
            .push(Version {
                version_id: version_id.clone(),
                object: Some(simulated),
                lock: ObjectLockFacts {
                    retention,
                    legal_hold: false,
                },
            });
        Ok(crate::backend::PutRecordReceipt::new(
            version_id, encryption, kms_key,
        ))
    }

    /// The bytes stored as [`SimulatedObject::body`] (none for an
    /// object stored without).
    async fn get_object(
        &self,
        request: &GetObjectRequest,
    ) -> Result<aws_smithy_types::byte_stream::ByteStream, BackendError> {
        self.wire(Service::S3, "GetObject")?;
        let object = &request.object;
        let state = self.state();
        let bucket = owned_bucket(
            &state,
            object,
            request.expected_bucket_owner.as_ref(),
            "GetObject",
        )?;
        let found = find_version(bucket.objects.get(object.key()), object.version_id())
            .ok_or_else(|| {
                BackendError::new(
                    BackendErrorKind::NotFound,
                    Service::S3,
                    "GetObject",
                    format!("GetObject for {object}: not found (404)"),
                )
            })?;
        Ok(aws_smithy_types::byte_stream::ByteStream::from(
            found.body.clone().unwrap_or_default(),
        ))
    }

    /// Re-encrypts the version in place under the request's key, as S3
    /// `UpdateObjectEncryption` does: only from SSE-S3 or SSE-KMS, never
    /// under Object Lock retention or a legal hold; the version id stays.
    async fn update_object_encryption(
        &self,
        request: &ReencryptRequest,
    ) -> Result<(), BackendError> {
        self.wire(Service::S3, "UpdateObjectEncryption")?;
        const OP: &str = "UpdateObjectEncryption";
        let object = &request.object;
        let mut state = self.state();
        owned_bucket(&state, object, request.expected_bucket_owner.as_ref(), OP)?;
        let refused = |kind, message: String| BackendError::new(kind, Service::S3, OP, message);
        let versions = state
            .buckets
            .get_mut(object.bucket())
            .and_then(|b| b.objects.get_mut(object.key()))
            .ok_or_else(|| {
                refused(
                    BackendErrorKind::NotFound,
                    format!("{object}: not found (404)"),
                )
            })?;
        let version = match object.version_id() {
            Some(v) => versions.iter_mut().find(|s| s.id() == v),
            None => versions.last_mut(),
        }
        .ok_or_else(|| {
            refused(
                BackendErrorKind::NotFound,
                format!("{object}: not found (404)"),
            )
        })?;
        let locked =
            version.lock.legal_hold
                || version.lock.retention.as_ref().is_some_and(|(_, until)| {
                    until.is_none_or(|t| t > std::time::SystemTime::now())
                });
        let Some(stored) = version.object.as_mut() else {
            return Err(refused(
                BackendErrorKind::InvalidRequest,
                format!("{object} is a delete marker"),
            ));
        };
        if locked {
            return Err(refused(
                BackendErrorKind::AccessDenied,
                format!("{object} is under Object Lock retention or a legal hold"),
            ));
        }
        match stored.encryption {
            SseAlgorithm::Aes256 | SseAlgorithm::AwsKms if stored.sse_customer_algorithm.is_none() => {
                stored.encryption = SseAlgorithm::AwsKms;
                stored.kms_key_id = Some(request.kms_key.as_str().to_owned());
                Ok(())
            }
            _ => Err(refused(
                BackendErrorKind::InvalidRequest,
                format!("{object}: UpdateObjectEncryption takes SSE-S3 or SSE-KMS objects only (InvalidRequest)"),
            )),
        }
    }

    /// Copies the key's current version onto the key under the request's
    /// key, as S3 `CopyObject` does, only if its ETag is still the one
    /// checked (else 412); returns the new version's id.
    async fn copy_object(
        &self,
        request: &ReencryptRequest,
    ) -> Result<Option<String>, BackendError> {
        self.wire(Service::S3, "CopyObject")?;
        const OP: &str = "CopyObject";
        let object = &request.object;
        let copy = {
            let state = self.state();
            let bucket = owned_bucket(&state, object, request.expected_bucket_owner.as_ref(), OP)?;
            let versions = bucket.objects.get(object.key());
            let current = versions.and_then(|vs| vs.last());
            let (Some(current), Some(stored)) = (current, current.and_then(|v| v.object.as_ref()))
            else {
                return Err(BackendError::new(
                    BackendErrorKind::NotFound,
                    Service::S3,
                    OP,
                    format!("{object}: no current version to copy (404)"),
                ));
            };
            let etag = etag_of(object.bucket(), object.key(), current.version_id.as_deref());
            if request.current_etag.as_deref() != Some(etag.as_str()) {
                return Err(BackendError::new(
                    BackendErrorKind::InvalidRequest,
                    Service::S3,
                    OP,
                    format!("{object}: the current version changed since it was checked (412 PreconditionFailed)"),
                ));
            }
            let mut copy = stored.clone();
            copy.encryption = SseAlgorithm::AwsKms;
            copy.kms_key_id = Some(request.kms_key.as_str().to_owned());
            copy.sse_customer_algorithm = None;
            copy
        };
        Ok(self.put(object.bucket(), object.key(), copy))
    }
}

#[async_trait]
impl RekognitionBackend for InMemoryBackend {
    /// The faces set with [`InMemoryBackend::set_face_details`] for the
    /// image's face label; a labelled face with none set is one
    /// [`FaceDetail::good`] face; an image without a face label shows none.
    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError> {
        self.wire(Service::Rekognition, "DetectFaces")?;
        self.counters.detect.fetch_add(1, Ordering::SeqCst);
        let Some(face) = self.face_of(&request.image)? else {
            return Ok(Vec::new());
        };
        Ok(self
            .state()
            .face_details
            .get(&face)
            .cloned()
            .unwrap_or_else(|| vec![FaceDetail::good()]))
    }

    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        self.wire(Service::Rekognition, "GetCallerIdentity")?;
        Ok(self.account.clone())
    }

    fn region(&self) -> Option<String> {
        self.region.clone()
    }

    /// Starts a session (ids `00000000-0000-4000-8000-000000000001`, …);
    /// the output bucket must exist and belong to the caller's account.
    async fn create_face_liveness_session(
        &self,
        request: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError> {
        self.wire(Service::Rekognition, "CreateFaceLivenessSession")?;
        self.counters.liveness.fetch_add(1, Ordering::SeqCst);
        let mut state = self.state();
        match state.buckets.get(&request.output_bucket) {
            Some(b) if b.owner == self.account.as_str() => {}
            _ => {
                return Err(BackendError::new(
                    BackendErrorKind::InvalidRequest,
                    Service::Rekognition,
                    "CreateFaceLivenessSession",
                    format!(
                        "output bucket {} does not exist in the caller's account",
                        request.output_bucket
                    ),
                ))
            }
        }
        state.next_session += 1;
        let id = LivenessSessionId::parse(&format!(
            "00000000-0000-4000-8000-{:012x}",
            state.next_session
        ))
        .expect("a UUID");
        state.sessions.insert(
            id.as_str().to_owned(),
            SimSession {
                request,
                facts: None,
            },
        );
        Ok(id)
    }

    /// The outcome set with [`InMemoryBackend::finish_liveness`];
    /// `CREATED` before that; `SessionNotFoundException` for an unknown id.
    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        self.wire(Service::Rekognition, "GetFaceLivenessSessionResults")?;
        self.counters.liveness.fetch_add(1, Ordering::SeqCst);
        let state = self.state();
        match state.sessions.get(request.session_id.as_str()) {
            Some(session) => Ok(session
                .facts
                .clone()
                .unwrap_or_else(|| LivenessFacts::new(LivenessStatus::Created))),
            None => Err(BackendError::new(
                BackendErrorKind::NotFound,
                Service::Rekognition,
                "GetFaceLivenessSessionResults",
                format!("session {} was not found", request.session_id),
            )),
        }
    }

    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        self.wire(Service::Rekognition, "CompareFaces")?;
        self.counters.compare.fetch_add(1, Ordering::SeqCst);
        let Some(source) = self.face_of(&request.source)? else {
            return Ok(ComparisonFacts::NoFaceInSource);
        };
        let Some(target) = self.face_of(&request.target)? else {
            return Ok(ComparisonFacts::Faces {
                matches: Vec::new(),
                unmatched_faces: 0,
            });
        };
        let similarity = self
            .state()
            .similarity
            .get(&(source, target))
            .copied()
            .unwrap_or(0.0);
        Ok(if similarity >= request.threshold.get() {
            ComparisonFacts::Faces {
                matches: vec![FaceMatch::new(
                    similarity,
                    BoundingBox::new(0.31, 0.22, 0.38, 0.47),
                )],
                unmatched_faces: 0,
            }
        } else {
            ComparisonFacts::Faces {
                matches: Vec::new(),
                unmatched_faces: 1,
            }
        })
    }
}

/// The similarity table's value for two face labels
/// ([`InMemoryBackend::set_similarity`] stores both orders).
fn similarity_of(table: &HashMap<(String, String), f32>, a: &str, b: &str) -> f32 {
    table
        .get(&(a.to_owned(), b.to_owned()))
        .copied()
        .unwrap_or(0.0)
}

/// A collection that does not exist, as Rekognition reports it.
fn no_collection(operation: &'static str, id: &str) -> BackendError {
    BackendError::new(
        BackendErrorKind::NotFound,
        Service::Rekognition,
        operation,
        format!(
            "collection {} does not exist (ResourceNotFoundException)",
            crate::text::Quoted(id)
        ),
    )
}

/// Collections as Rekognition keeps them: `IndexFaces` indexes the face
/// an image shows (its label; [`InMemoryBackend::set_face_details`] sets
/// how many faces it shows: beyond one, the rest come back unindexed with
/// `EXCEEDS_MAX_FACES`); `SearchUsersByImage` scores each user by the
/// similarity table ([`InMemoryBackend::set_similarity`]) of
/// their faces with the probe; `DeleteFaces` refuses faces still
/// associated with a user (`ASSOCIATED_TO_AN_EXISTING_USER`), as AWS does.
#[async_trait]
impl CollectionBackend for InMemoryBackend {
    async fn index_faces(&self, request: IndexFacesRequest) -> Result<IndexedFaces, BackendError> {
        self.wire(Service::Rekognition, "IndexFaces")?;
        self.counters.index.fetch_add(1, Ordering::SeqCst);
        let Some(label) = self.face_of(&request.image)? else {
            return Ok(IndexedFaces::default());
        };
        let mut state = self.state();
        let count = state.face_details.get(&label).map_or(1, Vec::len);
        if count == 0 {
            return Ok(IndexedFaces::default());
        }
        state.next_face += 1;
        let n = state.next_face;
        let face_id = format!("{n:08x}-0000-4000-8000-{n:012x}");
        let collection = state
            .collections
            .get_mut(request.collection.as_str())
            .ok_or_else(|| no_collection("IndexFaces", request.collection.as_str()))?;
        collection.faces.insert(
            face_id.clone(),
            SimFace {
                external_image_id: request.external_image_id.as_str().to_owned(),
                user: None,
                label,
            },
        );
        Ok(IndexedFaces {
            face_ids: vec![face_id],
            unindexed: vec![vec!["EXCEEDS_MAX_FACES".to_owned()]; count - 1],
        })
    }

    async fn search_users_by_image(
        &self,
        request: SearchUsersRequest,
    ) -> Result<UserSearch, BackendError> {
        self.wire(Service::Rekognition, "SearchUsersByImage")?;
        self.counters.search.fetch_add(1, Ordering::SeqCst);
        let probe = self.face_of(&request.image)?;
        let state = self.state();
        let collection = state
            .collections
            .get(request.collection.as_str())
            .ok_or_else(|| no_collection("SearchUsersByImage", request.collection.as_str()))?;
        let Some(probe) = probe else {
            return Ok(UserSearch::default());
        };
        let shown = state.face_details.get(&probe).map_or(1, Vec::len);
        if shown == 0 {
            return Ok(UserSearch::default());
        }
        let mut best: BTreeMap<&str, f32> = BTreeMap::new();
        for face in collection.faces.values() {
            let Some(user) = face.user.as_deref() else {
                continue;
            };
            let similarity = similarity_of(&state.similarity, &face.label, &probe);
            let entry = best.entry(user).or_insert(0.0);
            *entry = entry.max(similarity);
        }
        let mut matches: Vec<UserMatch> = best
            .into_iter()
            .filter(|(_, s)| *s >= request.threshold.get())
            .map(|(user, similarity)| UserMatch {
                user_id: Some(user.to_owned()),
                similarity: Some(similarity),
            })
            .collect();
        matches.sort_by(|a, b| {
            b.similarity
                .partial_cmp(&a.similarity)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        matches.truncate(request.max_users as usize);
        Ok(UserSearch {
            matches,
            unsearched_faces: shown - 1,
        })
    }

    async fn create_user(&self, request: &UserRequest) -> Result<(), BackendError> {
        self.wire(Service::Rekognition, "CreateUser")?;
        let mut state = self.state();
        let collection = state
            .collections
            .get_mut(request.collection.as_str())
            .ok_or_else(|| no_collection("CreateUser", request.collection.as_str()))?;
        collection.users.insert(request.user.as_str().to_owned());
        Ok(())
    }

    /// A face that does not match the user's faces already associated (by
    /// the similarity table, at `UserMatchThreshold`) is not associated
    /// (`LOW_MATCH_CONFIDENCE`), as AWS refuses it.
    async fn associate_faces(
        &self,
        request: &AssociateFacesRequest,
    ) -> Result<FaceAssociations, BackendError> {
        self.wire(Service::Rekognition, "AssociateFaces")?;
        let mut guard = self.state();
        let state = &mut *guard;
        let similarity = &state.similarity;
        let collection = state
            .collections
            .get_mut(request.collection.as_str())
            .ok_or_else(|| no_collection("AssociateFaces", request.collection.as_str()))?;
        if !collection.users.contains(request.user.as_str()) {
            return Err(BackendError::new(
                BackendErrorKind::NotFound,
                Service::Rekognition,
                "AssociateFaces",
                "the user does not exist (ResourceNotFoundException)",
            ));
        }
        let user = request.user.as_str();
        let known: Vec<String> = collection
            .faces
            .values()
            .filter(|f| f.user.as_deref() == Some(user))
            .map(|f| f.label.clone())
            .collect();
        let mut result = FaceAssociations::default();
        for id in &request.face_ids {
            let Some(label) = collection.faces.get(id).map(|f| f.label.clone()) else {
                result
                    .unsuccessful
                    .push((id.clone(), vec!["FACE_NOT_FOUND".to_owned()]));
                continue;
            };
            let matches = known.iter().all(|k| {
                let s = similarity_of(similarity, k, &label);
                s >= request.user_match_threshold.get()
            });
            if matches {
                if let Some(face) = collection.faces.get_mut(id) {
                    face.user = Some(user.to_owned());
                }
                result.associated.push(id.clone());
            } else {
                result
                    .unsuccessful
                    .push((id.clone(), vec!["LOW_MATCH_CONFIDENCE".to_owned()]));
            }
        }
        Ok(result)
    }

    async fn list_faces(
        &self,
        request: &ListFacesRequest,
    ) -> Result<Vec<StoredFace>, BackendError> {
        self.wire(Service::Rekognition, "ListFaces")?;
        let state = self.state();
        let collection = state
            .collections
            .get(request.collection.as_str())
            .ok_or_else(|| no_collection("ListFaces", request.collection.as_str()))?;
        Ok(collection
            .faces
            .iter()
            .filter(|(_, f)| match &request.user {
                Some(user) => f.user.as_deref() == Some(user.as_str()),
                None => true,
            })
            .map(|(id, f)| StoredFace {
                face_id: Some(id.clone()),
                external_image_id: Some(f.external_image_id.clone()),
                user_id: f.user.clone(),
            })
            .collect())
    }

    async fn delete_user(&self, request: &UserRequest) -> Result<(), BackendError> {
        self.wire(Service::Rekognition, "DeleteUser")?;
        let mut state = self.state();
        let collection = state
            .collections
            .get_mut(request.collection.as_str())
            .ok_or_else(|| no_collection("DeleteUser", request.collection.as_str()))?;
        collection.users.remove(request.user.as_str());
        for face in collection.faces.values_mut() {
            if face.user.as_deref() == Some(request.user.as_str()) {
                face.user = None;
            }
        }
        Ok(())
    }

    async fn delete_faces(
        &self,
        request: &DeleteFacesRequest,
    ) -> Result<FaceDeletions, BackendError> {
        self.wire(Service::Rekognition, "DeleteFaces")?;
        let mut state = self.state();
        let collection = state
            .collections
            .get_mut(request.collection.as_str())
            .ok_or_else(|| no_collection("DeleteFaces", request.collection.as_str()))?;
        let mut deletions = FaceDeletions::default();
        for id in &request.face_ids {
            match collection.faces.get(id) {
                None => deletions
                    .unsuccessful
                    .push((id.clone(), vec!["FACE_NOT_FOUND".to_owned()])),
                Some(face) if face.user.is_some() => deletions.unsuccessful.push((
                    id.clone(),
                    vec!["ASSOCIATED_TO_AN_EXISTING_USER".to_owned()],
                )),
                Some(_) => {
                    collection.faces.remove(id);
                    deletions.deleted.push(id.clone());
                }
            }
        }
        Ok(deletions)
    }
}

/// The `ETag` the simulation reports for a version: quoted, as S3 sends
/// it, and different for every version of every key.
fn etag_of(bucket: &str, key: &str, version: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [bucket, key, version.unwrap_or(NULL_VERSION_ID)] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    format!("\"{}\"", &hex::encode(hasher.finalize())[..32])
}

/// A bucket for a listing or deletion, as S3 answers: 404 when missing,
/// 403 when not owned by the expected account.
fn listed_bucket<'a>(
    state: &'a State,
    bucket: &str,
    expected_owner: Option<&AccountId>,
) -> Result<&'a Bucket, BackendError> {
    let b = state.buckets.get(bucket).ok_or_else(|| {
        BackendError::new(
            BackendErrorKind::NotFound,
            Service::S3,
            "ListObjectVersions",
            format!("bucket {bucket} does not exist"),
        )
    })?;
    match expected_owner {
        Some(owner) if owner.as_str() != b.owner => Err(BackendError::new(
            BackendErrorKind::AccessDenied,
            Service::S3,
            "ListObjectVersions",
            format!("403 Forbidden: bucket {bucket} is not owned by the expected account {owner}"),
        )),
        _ => Ok(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::S3ObjectRef;

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    /// An object stored with a body reports the body's length, whatever
    /// `size` says; one without reports `size`.
    #[tokio::test]
    async fn head_object_reports_a_bodys_length() {
        let aws = InMemoryBackend::new();
        aws.create_bucket("inventory", "111122223333", false);
        aws.put(
            "inventory",
            "manifest.json",
            SimulatedObject {
                body: Some(b"{\"files\":[]}".to_vec()),
                ..SimulatedObject::sse_kms(KEY)
            },
        );
        aws.put("inventory", "other.json", SimulatedObject::sse_kms(KEY));
        let head = |key: &str| {
            HeadObjectRequest::new(
                S3ObjectRef::parse(&format!("s3://inventory/{key}")).unwrap(),
                None,
            )
        };
        let facts = aws.head_object(&head("manifest.json")).await.unwrap();
        assert_eq!(facts.content_length, Some(12));
        let facts = aws.head_object(&head("other.json")).await.unwrap();
        assert_eq!(facts.content_length, Some(50_000));
    }

    #[test]
    #[should_panic(expected = "the simulation has no")]
    fn an_endpoint_of_a_service_it_does_not_simulate_panics() {
        let _ = InMemoryBackend::new().with_endpoint(Service::Sts, "https://sts.example");
    }
}
