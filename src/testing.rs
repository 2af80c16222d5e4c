//! Unit-testing code that uses the guard, without AWS: the mockall mocks
//! of the two backends and the opt-out verifier (here, and only here), and
//! a worked example. Feature `test-util`; not covered by semver.
//!
//! A mock answers only what a test expects (`expect_head_object`,
//! `expect_compare_faces`, …): an unexpected call panics with mockall's
//! "No matching expectation found", and `.never()` proves a refusal sent
//! nothing. For a simulation with state (buckets, objects, faces) use
//! [`memory::InMemoryBackend`](crate::memory::InMemoryBackend).
//!
//! # Worked example: a kiosk's loan decision
//!
//! The code under test approves a loan only when the guard approves the
//! comparison. Its tests: approve on a match; deny on a refusal, with
//! Rekognition never called; deny on a backend error.
//!
//! ```
//! use rekognition_guard::testing::{MockRekognitionBackend, MockS3Backend};
//! use rekognition_guard::{
//!     BackendError, BackendErrorKind, BoundingBox, ComparisonFacts, FaceImage, FaceMatch,
//!     Guard, KmsKeyArn, ObjectFacts, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Service,
//!     SseAlgorithm,
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
//! const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
//!
//! fn guard(s3: MockS3Backend, rekognition: MockRekognitionBackend) -> Guard {
//!     let policy = Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap());
//!     Guard::new(
//!         PhotoStore::new(s3, policy),
//!         rekognition,
//!         OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
//!     )
//! }
//!
//! fn live_photo() -> FaceImage {
//!     FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 kiosk photo".to_vec()).unwrap()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let member = S3ObjectRef::parse("s3://library-photos/members/ada.jpg")
//!     .and_then(|r| r.with_version_id(VERSION))
//!     .unwrap();
//!
//! // Approve on a match: the reference photo is SSE-KMS, Rekognition
//! // finds the face at 99.6 %.
//! let mut s3 = MockS3Backend::new();
//! s3.expect_head_object()
//!     .returning(|_| Ok(ObjectFacts { version_id: Some(VERSION.into()), ..ObjectFacts::sse_kms(KEY, 48_213) }));
//! let mut rekognition = MockRekognitionBackend::new();
//! rekognition.expect_compare_faces().times(1).returning(|_| {
//!     Ok(ComparisonFacts::Faces {
//!         matches: vec![FaceMatch {
//!             similarity: 99.6,
//!             bounding_box: BoundingBox { left: 0.3, top: 0.2, width: 0.4, height: 0.5 },
//!         }],
//!         unmatched_faces: 0,
//!     })
//! });
//! assert!(may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//!
//! // Deny on a refusal: the photo is SSE-S3, so nothing reaches
//! // Rekognition (`never()` fails the test if it is called).
//! let mut s3 = MockS3Backend::new();
//! s3.expect_head_object().returning(|_| {
//!     Ok(ObjectFacts {
//!         content_length: Some(48_213),
//!         version_id: Some(VERSION.into()),
//!         ..ObjectFacts::new(SseAlgorithm::Aes256)
//!     })
//! });
//! let mut rekognition = MockRekognitionBackend::new();
//! rekognition.expect_compare_faces().never();
//! assert!(!may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//!
//! // Deny on a backend error: HeadObject is denied.
//! let mut s3 = MockS3Backend::new();
//! s3.expect_head_object().returning(|_| {
//!     Err(BackendError::new(
//!         BackendErrorKind::AccessDenied,
//!         Service::S3,
//!         "HeadObject",
//!         "grant s3:GetObject on library-photos/members/*",
//!     ))
//! });
//! let mut rekognition = MockRekognitionBackend::new();
//! rekognition.expect_compare_faces().never();
//! assert!(!may_borrow(&guard(s3, rekognition), &member, live_photo()).await);
//! # }
//! ```

pub use crate::backend::{MockRekognitionBackend, MockS3Backend};
pub use crate::collection::MockCollectionBackend;
pub use crate::opt_out::MockOptOutVerifier;
