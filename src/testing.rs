//! Unit-testing code that uses the guard, without AWS: the mockall mocks,
//! constructors for mocks that pass the guard's HTTPS check, and a worked
//! example. Feature `test-util`; not covered by semver.
//!
//! Every guarded call first asks each backend for its endpoint and refuses
//! one that is not `https://`. A plain `Mock*::new()` has no `endpoint`
//! expectation, so the first call panics with mockall's "No matching
//! expectation found"; `Mock*::https()` reports an AWS `https://` endpoint
//! (the constants below) as often as asked. For a simulation with state
//! (buckets, objects, faces) use [`memory::InMemoryBackend`](crate::memory::InMemoryBackend).
//!
//! # Worked example: a kiosk's loan decision
//!
//! The code under test approves a loan only when the guard approves the
//! comparison. Its tests: approve on a match; deny on a refusal, with
//! Rekognition never called; deny on a backend error.
//!
//! ```
//! use rekognition_guard::testing::{MockFaceAnalyzer, MockObjectInspector};
//! use rekognition_guard::{
//!     BackendError, BackendErrorKind, BoundingBox, ComparisonFacts, FaceImage, FaceMatch,
//!     Guard, ObjectFacts, OptOutEvidence, S3ObjectRef, Service, SseAlgorithm,
//! };
//!
//! /// The code under test: lend only on an approved comparison.
//! async fn may_borrow(guard: &Guard, member: &S3ObjectRef, live: FaceImage) -> bool {
//!     match guard.compare(member, live).await {
//!         Ok(decision) => decision.is_approved(),
//!         // Refused by the privacy policy, or S3/Rekognition failed.
//!         Err(_) => false,
//!     }
//! }
//!
//! const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
//!
//! fn guard(s3: MockObjectInspector, rekognition: MockFaceAnalyzer) -> Guard {
//!     Guard::builder(s3, rekognition)
//!         .opt_out(OptOutEvidence::waived("unit test").unwrap())
//!         .build()
//!         .unwrap()
//! }
//!
//! fn live_photo() -> FaceImage {
//!     FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 kiosk photo".to_vec()).unwrap()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let member = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
//!
//! // Approve on a match: the reference photo is SSE-KMS, Rekognition
//! // finds the face at 99.6 %.
//! let mut s3 = MockObjectInspector::https();
//! s3.expect_inspect()
//!     .returning(|_| Ok(ObjectFacts::sse_kms(KEY, 48_213)));
//! let mut rekognition = MockFaceAnalyzer::https();
//! rekognition.expect_compare().times(1).returning(|_| {
//!     Ok(ComparisonFacts::Faces {
//!         matches: vec![FaceMatch::new(99.6, BoundingBox::new(0.3, 0.2, 0.4, 0.5))],
//!         unmatched_faces: 0,
//!     })
//! });
//! assert!(may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//!
//! // Deny on a refusal: the photo is SSE-S3, so nothing reaches
//! // Rekognition (`never()` fails the test if it is called).
//! let mut s3 = MockObjectInspector::https();
//! s3.expect_inspect().returning(|_| {
//!     Ok(ObjectFacts::new(SseAlgorithm::Aes256).with_content_length(48_213))
//! });
//! let mut rekognition = MockFaceAnalyzer::https();
//! rekognition.expect_compare().never();
//! assert!(!may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//!
//! // Deny on a backend error: HeadObject is denied.
//! let mut s3 = MockObjectInspector::https();
//! s3.expect_inspect().returning(|_| {
//!     Err(BackendError::new(
//!         BackendErrorKind::AccessDenied,
//!         Service::S3,
//!         "HeadObject",
//!         "grant s3:GetObject on library-photos/members/*",
//!     ))
//! });
//! let mut rekognition = MockFaceAnalyzer::https();
//! rekognition.expect_compare().never();
//! assert!(!may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//! # }
//! ```

pub use crate::backend::{
    MockBucketAuditor, MockFaceAnalyzer, MockObjectEraser, MockObjectInspector, MockObjectUploader,
};
pub use crate::opt_out::MockOptOutVerifier;

/// The S3 endpoint the `https()` S3 mocks (`MockObjectInspector`,
/// `MockObjectUploader` and the others) report:
/// `https://s3.us-east-1.amazonaws.com`.
///
/// ```
/// assert_eq!(rekognition_guard::testing::S3_ENDPOINT, "https://s3.us-east-1.amazonaws.com");
/// ```
pub const S3_ENDPOINT: &str = crate::backend::MOCK_S3_ENDPOINT;

/// The Rekognition endpoint `MockFaceAnalyzer::https()` reports:
/// `https://rekognition.us-east-1.amazonaws.com`.
///
/// ```
/// assert_eq!(
///     rekognition_guard::testing::REKOGNITION_ENDPOINT,
///     "https://rekognition.us-east-1.amazonaws.com"
/// );
/// ```
pub const REKOGNITION_ENDPOINT: &str = crate::backend::MOCK_REKOGNITION_ENDPOINT;

/// The AWS Organizations endpoint `MockOptOutVerifier::https()` reports:
/// `https://organizations.us-east-1.amazonaws.com`.
///
/// ```
/// assert_eq!(
///     rekognition_guard::testing::ORGANIZATIONS_ENDPOINT,
///     "https://organizations.us-east-1.amazonaws.com"
/// );
/// ```
pub const ORGANIZATIONS_ENDPOINT: &str = crate::opt_out::MOCK_ORGANIZATIONS_ENDPOINT;
