//! One conformance suite for every backend (feature `test-util`, outside
//! semver), after object_store's `integration` module: each scenario is
//! written once, as a function over a [`Harness`], and every backend runs
//! the same list. This crate runs it against [`InMemoryBackend`](crate::memory::InMemoryBackend), against
//! `AwsBackend` over canned HTTP, and against `AwsBackend` talking to an
//! emulator over TLS; implement [`Harness`] to run it against your own
//! backends.
//!
//! ```
//! use rekognition_guard::conformance::{run_all, Harness};
//!
//! /// In your backend's tests: every scenario, in order.
//! async fn my_backend_conforms(harness: &dyn Harness) {
//!     run_all(harness).await;
//! }
//! ```
//!
//! The crate's own runs are models for a harness: over
//! [`InMemoryBackend`](crate::memory::InMemoryBackend) in `src/conformance/mod.rs` (module `in_memory`),
//! over real SDK clients in `tests/it/support/conformance.rs`.
//!
//! Scenarios panic (like tests) when a backend does not behave.
//!
//! Face Liveness, erasure, collections and the ledger have their own
//! harnesses and scenarios, in [`liveness`], [`erasure`], [`collection`]
//! and [`ledger`].

pub mod collection;
pub mod erasure;
pub mod ledger;
pub mod liveness;

use async_trait::async_trait;

use crate::at_rest::{AtRestViolation, SseAlgorithm};
use crate::input::{FaceImage, KmsKeyArn, S3ObjectRef, Service};
use crate::policy::Policy;
use crate::refusal::Violation;
use crate::{CheckedImage, Guard};

/// A consent for `member`, kept in the caller's own records (a reference
/// naming the member): what the scenarios enroll, store and index with.
pub fn consent_of(member: &crate::collection::MemberId) -> crate::consent::RecordedConsent {
    crate::consent::Consent::new(
        member.clone(),
        crate::consent::ConsentNotice::new("conformance-1", "The conformance suite's notice.")
            .expect("a notice"),
        "conformance suite",
        std::time::Duration::from_secs(3600),
        crate::consent::ConsentMethod::Electronic,
    )
    .expect("a consent")
    .kept_in(&format!("conformance consent of {member}"))
    .expect("a reference")
}

/// The source S3 image of one CompareFaces request: key and version
/// (`None`: the latest).
pub type ComparedSource = (String, Option<String>);

/// How a harness stores an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// SSE-KMS under [`Harness::kms_key`].
    SseKms,
    /// SSE-KMS under [`Harness::other_kms_key`].
    SseKmsOtherKey,
    /// SSE-S3 (`AES256`).
    SseS3,
    /// No encryption header (as for objects stored before 2023).
    Unencrypted,
    /// Written by the S3 Encryption Client (format 2): SSE-KMS under
    /// [`Harness::kms_key`] and, in its user metadata, the client's
    /// envelope ([`CLIENT_SIDE_V2_METADATA`]; any values): ciphertext
    /// that passes every server-side check.
    ClientSideEncrypted,
}

/// The user-metadata names of the S3 Encryption Client's format 2 (the
/// `x-amz-meta-` headers without their prefix), for harnesses to store
/// [`Stored::ClientSideEncrypted`].
pub const CLIENT_SIDE_V2_METADATA: [&str; 4] = [
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-cek-alg",
    "x-amz-wrap-alg",
];

/// One backend under test: how to store objects in its (versioned)
/// bucket, build guards over it, and see what reached Rekognition.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A short name for messages (`in-memory`, `canned HTTP`, `moto`).
    fn name(&self) -> &str;
    /// The KMS key the scenarios' policies allow.
    fn kms_key(&self) -> KmsKeyArn;
    /// A KMS key the scenarios' policies do not allow.
    fn other_kms_key(&self) -> KmsKeyArn;
    /// Stores an image at `key` in the harness's versioned bucket; returns
    /// the version id S3 assigned.
    async fn put(&self, key: &str, stored: Stored) -> Option<String>;
    /// A reference to `key` in the harness's bucket.
    fn reference(&self, key: &str) -> S3ObjectRef;
    /// A live photo that the backend matches with every stored image (at
    /// or above the default threshold), or whose similarity it does not
    /// look at.
    fn live_photo(&self) -> FaceImage;
    /// A guard over the backend with `policy` and attested opt-out
    /// evidence.
    fn guard(&self, policy: Policy) -> Guard;
    /// Like [`guard`](Self::guard), but its Rekognition client is set to
    /// a plain `http://` endpoint that the crate cannot see at build time
    /// (a handed-in client); returns that endpoint too.
    fn guard_with_plain_http_rekognition(&self, policy: Policy) -> (Guard, String);
    /// For each CompareFaces request that reached Rekognition so far, the
    /// source S3 image it asked to read: key and version (`None`: the
    /// latest). Image bytes as source are recorded with an empty key.
    fn compared_sources(&self) -> Vec<ComparedSource>;
}

/// Runs every scenario against `h`.
pub async fn run_all(h: &dyn Harness) {
    sse_kms_is_compared_at_the_checked_version(h).await;
    a_named_version_is_compared_after_a_non_compliant_upload(h).await;
    sse_s3_and_unencrypted_are_refused_with_nothing_sent(h).await;
    a_key_outside_the_allowlist_is_refused_with_nothing_sent(h).await;
    a_plain_http_rekognition_endpoint_is_refused_with_nothing_sent(h).await;
    client_side_ciphertext_is_refused_with_nothing_sent(h).await;
}

fn allow(h: &dyn Harness) -> Policy {
    Policy::allow_kms_key(h.kms_key()).with_versioning_required(false)
}

/// SSE-KMS under an allowed key is compared, and Rekognition is asked for
/// exactly the version the check saw: the latest when none was named, the
/// named one otherwise, even after a newer upload.
async fn sse_kms_is_compared_at_the_checked_version(h: &dyn Harness) {
    let name = h.name();
    let v1 = h.put("conformance/ada.jpg", Stored::SseKms).await;
    let v2 = h.put("conformance/ada.jpg", Stored::SseKms).await;
    assert!(
        v1.is_some() && v2.is_some() && v1 != v2,
        "{name}: a versioned bucket: {v1:?} {v2:?}"
    );
    let guard = h.guard(allow(h).with_versioning_required(true));
    let before = h.compared_sources().len();

    let decision = guard
        .compare(h.reference("conformance/ada.jpg"), h.live_photo())
        .await
        .unwrap_or_else(|e| panic!("{name}: a compliant object is compared: {e}"));
    assert!(decision.is_approved(), "{name}: {decision:?}");
    match decision.source {
        CheckedImage::S3 { object, .. } => {
            assert_eq!(object.reference().version_id(), v2.as_deref(), "{name}");
            assert!(object.is_pinned(), "{name}");
            assert_eq!(object.kms_key_id(), h.kms_key().as_str(), "{name}");
            assert_eq!(object.encryption(), &SseAlgorithm::AwsKms, "{name}");
        }
        other => panic!("{name}: {other:?}"),
    }

    let old = h
        .reference("conformance/ada.jpg")
        .with_version_id(v1.as_deref().unwrap_or_default())
        .unwrap();
    let decision = guard.compare(&old, h.live_photo()).await.unwrap();
    assert!(decision.is_approved(), "{name}");
    let asked: Vec<_> = h.compared_sources().split_off(before);
    let key = "conformance/ada.jpg".to_owned();
    assert_eq!(
        asked,
        [(key.clone(), v2), (key, v1)],
        "{name}: Rekognition reads the checked versions"
    );
}

/// A reference that names a version is checked and compared at that
/// version even after a later upload replaced the object with an SSE-S3
/// one; the latest, unnamed, is refused.
async fn a_named_version_is_compared_after_a_non_compliant_upload(h: &dyn Harness) {
    let name = h.name();
    let v1 = h
        .put("conformance/grace.jpg", Stored::SseKms)
        .await
        .expect("a versioned bucket");
    h.put("conformance/grace.jpg", Stored::SseS3).await;
    let guard = h.guard(allow(h).with_versioning_required(true));
    let before = h.compared_sources().len();
    let pinned = h
        .reference("conformance/grace.jpg")
        .with_version_id(&v1)
        .unwrap();
    let decision = guard.compare(&pinned, h.live_photo()).await.unwrap();
    assert!(decision.is_approved(), "{name}");
    let err = guard
        .compare(h.reference("conformance/grace.jpg"), h.live_photo())
        .await
        .expect_err(name);
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                found: SseAlgorithm::Aes256,
                ..
            })])
        ),
        "{name}: {err:?}"
    );
    let asked = h.compared_sources().split_off(before);
    assert_eq!(
        asked,
        [("conformance/grace.jpg".to_owned(), Some(v1))],
        "{name}: only the named version was compared"
    );
}

/// SSE-S3 and unencrypted objects are refused, every one listed, and
/// nothing reaches Rekognition.
async fn sse_s3_and_unencrypted_are_refused_with_nothing_sent(h: &dyn Harness) {
    let name = h.name();
    h.put("conformance/alan.jpg", Stored::SseS3).await;
    h.put("conformance/plain.jpg", Stored::Unencrypted).await;
    let guard = h.guard(Policy::any_kms_key().with_versioning_required(false));
    let before = h.compared_sources().len();
    for (key, found) in [
        ("conformance/alan.jpg", SseAlgorithm::Aes256),
        ("conformance/plain.jpg", SseAlgorithm::None),
    ] {
        let err = guard
            .compare(h.reference(key), h.live_photo())
            .await
            .expect_err(name);
        assert_eq!(
            err.as_refusal()
                .unwrap_or_else(|| panic!("{name}: {key}: {err}"))
                .violations,
            &[Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: h.reference(key),
                found
            })],
            "{name}"
        );
    }
    // Both images wrong: both listed.
    let err = guard
        .compare(
            h.reference("conformance/alan.jpg"),
            h.reference("conformance/plain.jpg"),
        )
        .await
        .expect_err(name);
    assert_eq!(err.as_refusal().unwrap().violations.len(), 2, "{name}");
    assert_eq!(
        h.compared_sources().len(),
        before,
        "{name}: nothing may reach Rekognition"
    );
}

/// An object under a KMS key outside the allowlist is refused, naming the
/// key, and nothing reaches Rekognition.
async fn a_key_outside_the_allowlist_is_refused_with_nothing_sent(h: &dyn Harness) {
    let name = h.name();
    h.put("conformance/foreign.jpg", Stored::SseKmsOtherKey)
        .await;
    let guard = h.guard(allow(h));
    let before = h.compared_sources().len();
    let err = guard
        .compare(h.reference("conformance/foreign.jpg"), h.live_photo())
        .await
        .expect_err(name);
    let other = h.other_kms_key();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { kms_key, .. })]) if kms_key == other.as_str()
        ),
        "{name}: {err:?}"
    );
    assert_eq!(h.compared_sources().len(), before, "{name}");
}

/// A Rekognition client handed in with a plain `http://` endpoint: the
/// comparison is refused as an insecure endpoint and nothing is sent.
async fn a_plain_http_rekognition_endpoint_is_refused_with_nothing_sent(h: &dyn Harness) {
    let name = h.name();
    h.put("conformance/ada-http.jpg", Stored::SseKms).await;
    let (guard, plain) =
        h.guard_with_plain_http_rekognition(Policy::any_kms_key().with_versioning_required(false));
    let before = h.compared_sources().len();
    let err = guard
        .compare(h.reference("conformance/ada-http.jpg"), h.live_photo())
        .await
        .expect_err(name);
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::InsecureEndpoint(e)])
                if e.service() == Service::Rekognition
                    && e.endpoint() == crate::transit::redact(&plain)
        ),
        "{name}: {err:?}"
    );
    assert_eq!(h.compared_sources().len(), before, "{name}");
}

/// An object the S3 Encryption Client wrote, SSE-KMS under an allowed
/// key, is refused as client-side ciphertext (every envelope name listed),
/// pinned or not, and nothing reaches Rekognition.
async fn client_side_ciphertext_is_refused_with_nothing_sent(h: &dyn Harness) {
    let name = h.name();
    let version = h
        .put("conformance/sealed.jpg", Stored::ClientSideEncrypted)
        .await
        .expect("a versioned bucket");
    let guard = h.guard(allow(h));
    let before = h.compared_sources().len();
    let pinned = h
        .reference("conformance/sealed.jpg")
        .with_version_id(&version)
        .unwrap();
    for object in [h.reference("conformance/sealed.jpg"), pinned] {
        let err = guard
            .compare(&object, h.live_photo())
            .await
            .expect_err(name);
        assert_eq!(
            err.as_refusal()
                .unwrap_or_else(|| panic!("{name}: {err}"))
                .violations,
            &[Violation::AtRest(AtRestViolation::ClientSideEncrypted {
                object: object.clone(),
                markers: CLIENT_SIDE_V2_METADATA.to_vec(),
            })],
            "{name}"
        );
        let text = err.to_string();
        assert!(
            text.contains("S3 Encryption Client metadata, format 2") && text.contains("SSE-KMS"),
            "{name}: the refusal says what it is and what to do: {text}"
        );
    }
    assert_eq!(
        h.compared_sources().len(),
        before,
        "{name}: nothing may reach Rekognition"
    );
}

#[cfg(test)]
mod in_memory {
    use super::*;
    use std::sync::{Arc, Mutex};

    use crate::backend::{
        BackendError, CompareFacesRequest, ComparisonFacts, CreateFaceLivenessSessionRequest,
        DetectFacesRequest, GetFaceLivenessSessionResultsRequest, LivenessFacts, LivenessSessionId,
        RekognitionBackend, VerifiedImage,
    };
    use crate::input::AccountId;
    use crate::memory::{InMemoryBackend, SimulatedObject};
    use crate::opt_out::OptOutEvidence;
    use crate::quality::FaceDetail;
    use crate::PhotoStore;

    /// The KMS key the harnesses' photos are under.
    pub(super) const KEY: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    /// Another key.
    pub(super) const OTHER_KEY: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab";

    /// Where a harness records what reached Rekognition.
    type SourceLog = Arc<Mutex<Vec<ComparedSource>>>;

    /// The simulated object for `stored`.
    pub(super) fn simulated(stored: Stored) -> SimulatedObject {
        match stored {
            Stored::SseKms => SimulatedObject::sse_kms(KEY),
            Stored::SseKmsOtherKey => SimulatedObject::sse_kms(OTHER_KEY),
            Stored::SseS3 => SimulatedObject::sse_s3(),
            Stored::Unencrypted => SimulatedObject::unencrypted(),
            Stored::ClientSideEncrypted => SimulatedObject {
                user_metadata_keys: CLIENT_SIDE_V2_METADATA.map(str::to_owned).to_vec(),
                ..SimulatedObject::sse_kms(KEY)
            },
        }
    }

    /// The conformance harness over [`InMemoryBackend`](crate::memory::InMemoryBackend).
    #[derive(Debug, Clone)]
    struct InMemoryHarness {
        aws: InMemoryBackend,
        compared: SourceLog,
    }

    const BUCKET: &str = "conformance-photos";
    const LIVE: &[u8] = b"\xFF\xD8\xFF\xE0 conformance live photo";

    impl InMemoryHarness {
        /// A simulation with one versioned bucket, where every stored image
        /// and the live photo show the same member.
        fn new() -> Self {
            let aws = InMemoryBackend::new();
            aws.create_bucket(BUCKET, crate::memory::DEFAULT_ACCOUNT, true);
            aws.register_image(LIVE, "member");
            aws.set_similarity("member", "member", 99.9);
            Self {
                aws,
                compared: Arc::default(),
            }
        }
    }

    impl Default for InMemoryHarness {
        fn default() -> Self {
            Self::new()
        }
    }

    /// Asks the simulation, and records the source version of every
    /// comparison its (simulated) wire let through.
    #[derive(Debug)]
    struct Recording {
        aws: InMemoryBackend,
        compared: SourceLog,
    }

    #[async_trait]
    impl RekognitionBackend for Recording {
        async fn compare_faces(
            &self,
            request: CompareFacesRequest,
        ) -> Result<ComparisonFacts, BackendError> {
            let version = match &request.source {
                VerifiedImage::S3(o) => (
                    o.reference().key().to_owned(),
                    o.reference().version_id().map(str::to_owned),
                ),
                _ => (String::new(), None),
            };
            let result = self.aws.compare_faces(request).await;
            // What the simulated wire refused was never sent.
            if !matches!(&result, Err(e) if e.insecure_endpoint().is_some()) {
                self.compared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(version);
            }
            result
        }
        async fn detect_faces(
            &self,
            request: DetectFacesRequest,
        ) -> Result<Vec<FaceDetail>, BackendError> {
            self.aws.detect_faces(request).await
        }
        async fn caller_account(&self) -> Result<AccountId, BackendError> {
            self.aws.caller_account().await
        }
        fn region(&self) -> Option<String> {
            self.aws.region()
        }
        async fn create_face_liveness_session(
            &self,
            request: CreateFaceLivenessSessionRequest,
        ) -> Result<LivenessSessionId, BackendError> {
            self.aws.create_face_liveness_session(request).await
        }
        async fn get_face_liveness_session_results(
            &self,
            request: GetFaceLivenessSessionResultsRequest,
        ) -> Result<LivenessFacts, BackendError> {
            self.aws.get_face_liveness_session_results(request).await
        }
    }

    #[async_trait]
    impl Harness for InMemoryHarness {
        fn name(&self) -> &str {
            "in-memory"
        }
        fn kms_key(&self) -> KmsKeyArn {
            KmsKeyArn::parse(KEY).expect("a key ARN")
        }
        fn other_kms_key(&self) -> KmsKeyArn {
            KmsKeyArn::parse(OTHER_KEY).expect("a key ARN")
        }
        async fn put(&self, key: &str, stored: Stored) -> Option<String> {
            self.aws
                .put(BUCKET, key, simulated(stored).with_face("member"))
        }
        fn reference(&self, key: &str) -> S3ObjectRef {
            S3ObjectRef::new(BUCKET, key).expect("a valid reference")
        }
        fn live_photo(&self) -> FaceImage {
            FaceImage::from_vec(LIVE.to_vec()).expect("a JPEG")
        }
        fn guard(&self, policy: Policy) -> Guard {
            let analyzer = Recording {
                aws: self.aws.clone(),
                compared: self.compared.clone(),
            };
            Guard::new(
                PhotoStore::new(self.aws.clone(), policy),
                analyzer,
                OptOutEvidence::attested("conformance suite").expect("evidence"),
            )
        }
        fn guard_with_plain_http_rekognition(&self, policy: Policy) -> (Guard, String) {
            let plain = "http://rekognition.in-memory.invalid".to_owned();
            let analyzer = Recording {
                aws: self.aws.clone().with_endpoint(Service::Rekognition, &plain),
                compared: self.compared.clone(),
            };
            let guard = Guard::new(
                PhotoStore::new(self.aws.clone(), policy),
                analyzer,
                OptOutEvidence::attested("conformance suite").expect("evidence"),
            );
            (guard, plain)
        }
        fn compared_sources(&self) -> Vec<ComparedSource> {
            self.compared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        }
    }

    /// The conformance suite on the in-memory simulation.
    #[tokio::test]
    async fn in_memory_conformance() {
        run_all(&InMemoryHarness::new()).await;
    }
}
