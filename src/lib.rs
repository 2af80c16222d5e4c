//! # rekognition-guard
//!
//! Face verification on Amazon Rekognition that refuses to break three
//! privacy rules: face images **encrypted at rest** with SSE-KMS, every
//! call **encrypted in transit** (HTTPS), and images sent to Rekognition
//! only from an account **opted out** of AI-service data use.
//!
//! ## Every job, and the one method that does it
//!
//! | job | type and method | sends images to Rekognition |
//! |---|---|---|
//! | compare a member's photo with a live photo | [`Guard::compare`] → [`Decision`] | yes |
//! | enroll a member (quality gate, then store) | [`Guard::enroll`] | yes (DetectFaces) |
//! | check a photo before retaking it | [`Guard::assess_face`] | yes (DetectFaces) |
//! | Face Liveness at the kiosk | [`Guard::liveness`] → [`FaceLiveness::start_session`], [`FaceLiveness::verify_session`] | yes |
//! | store a reference photo | [`PhotoStore::store_reference`] | no |
//! | check a stored photo at rest | [`PhotoStore::check`] | no |
//! | erase a member (every version) | [`PhotoStore::erase`]; liveness images: [`PhotoStore::erase_liveness_artifacts`]; face vectors in a collection: [`Collection::forget`] | no |
//! | erase by retention | [`PhotoStore::sweep_retention`]; collections: [`Collection::sweep_retention`] | no |
//! | audit a fleet (S3 Inventory) and fix it | [`PhotoStore::audit_inventory`], [`PhotoStore::reencrypt`] | no |
//! | audit a bucket's configuration | [`PhotoStore::audit_bucket`] | no |
//! | identify a member without a card (1:N, a Rekognition collection) | [`FaceCollection::index`], [`FaceCollection::search`] | yes |
//! | forget a member's face vectors | [`Collection::forget`] | no (deletes vectors, sends no image) |
//!
//! A [`PhotoStore`] is an S3 backend and a [`Policy`]: everything it does
//! touches S3 only, so it needs no opt-out evidence, and privacy work
//! (erasing, auditing) never needs a waiver. A [`Guard`] is a store, a
//! Rekognition backend and the [`OptOutEvidence`]. Errors are one type,
//! [`Error`]: match on [`Error::kind`], read a refusal's violations with
//! [`Error::violations`].
//!
//! ## Example
//!
//! The kiosk flow on the in-memory simulation (feature `test-util`); with
//! AWS, the backend is [`aws::AwsBackend`] and the code is the same.
//!
//! ```
//! use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
//! use rekognition_guard::{FaceImage, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
//! let aws = InMemoryBackend::new();
//! aws.create_bucket("library-photos", "111122223333", true);
//! let version = aws.put("library-photos", "members/ada.jpg", SimulatedObject::sse_kms(key).with_face("ada"));
//! let live_photo = b"\xFF\xD8\xFF\xE0 live kiosk photo".to_vec();
//! aws.register_image(&live_photo, "ada");
//! aws.set_similarity("ada", "ada", 99.6);
//!
//! let store = PhotoStore::new(aws.clone(), Policy::allow_kms_key(KmsKeyArn::parse(key)?));
//! let guard = Guard::new(store, aws, OptOutEvidence::attested("AWS Organizations policy p-examplepolicy")?);
//!
//! let reference = S3ObjectRef::parse("s3://library-photos/members/ada.jpg")?
//!     .with_version_id(&version.expect("a versioned bucket"))?;
//! let decision = guard.compare(reference, FaceImage::from_vec(live_photo)?).await?;
//! assert!(decision.is_approved());
//! # Ok(())
//! # }
//! ```
//!
//! With AWS:
//!
//! ```no_run
//! use rekognition_guard::{aws::AwsBackend, Guard, OptOutEvidence, PhotoStore, Policy};
//!
//! # async fn setup() -> Result<(), Box<dyn std::error::Error>> {
//! let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let aws = AwsBackend::from_sdk_config(&sdk_config)?;
//! let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
//! let guard = Guard::new(store, aws, OptOutEvidence::attested("AWS Support case 1234567890")?);
//! # let _ = guard; Ok(()) }
//! ```
//!
//! ## The three rules
//!
//! 1. **Encrypted at rest**: every S3 image reports SSE-KMS (`aws:kms`, or
//!    dual-layer `aws:kms:dsse`) in HeadObject, under a key the policy
//!    allows ([`Policy::allow_kms_key`], or explicitly
//!    [`Policy::any_kms_key`]). SSE-S3 (`AES256`), SSE-C, no header and
//!    any unknown value are refused.
//! 2. **Encrypted in transit**: every request is `https://`, checked on
//!    the wire whatever set the endpoint ([`transit`]); the backends enforce
//!    it, and a request they refused is a refusal naming the endpoint.
//! 3. **Not used to improve the service**: images reach Rekognition only
//!    with [`OptOutEvidence`] (verified for the account that calls
//!    Rekognition, or attested); a waiver exists only behind
//!    [`OptOutEvidence::dangerous`].
//!
//! A refusal sends nothing to Rekognition and lists **every** requirement
//! that failed. Any error, unknown value or missing header ends without
//! approval.
//!
//! ## Capabilities in types
//!
//! What an operation needs is what its type is made of, so a missing
//! backend or missing evidence does not compile instead of failing at run
//! time. We chose **separate types per capability** over a typestate
//! builder or generic bounds: [`PhotoStore::new`] takes the S3 backend and
//! the policy; [`Guard::new`] takes a store, the Rekognition backend and
//! the evidence; [`Guard::liveness`] takes the [`liveness::LivenessPolicy`].
//! Each is a plain, non-generic type a newcomer can name and store, and
//! each method exists only where everything it needs is present (a store
//! has no `compare`). Inside, the backends report facts; only the guard's
//! checks build a [`VerifiedS3Object`] or the requests a
//! [`RekognitionBackend`] accepts, so an unchecked object cannot reach
//! Rekognition (see "Backends" below).
//!
//! * The comparison reads the **version the check saw**
//!   ([`VerifiedS3Object::reference`]); S3's `null` version id is never a
//!   pin, and versioning is required by default
//!   ([`Policy::with_versioning_required`]). A cached check lasts 60
//!   seconds by default and states what it can miss ([`CacheConfig`]).
//! * Image bytes never appear in `Debug`, `Display`, errors or logs:
//!   [`FaceImage`] shows format and size only and is not `Clone`. Text that
//!   came from a caller or a service is escaped before it is shown (see
//!   "Text that reaches a log line" below).
//!
//! Settings come in three shapes. The policies that decide what the guard
//! accepts ([`Policy`], [`liveness::LivenessPolicy`]) are builders
//! (`with_…`); [`Policy`] has a getter for every setting, a liveness
//! policy for what it sends to AWS and its threshold (not for its failure
//! limit or audit reuse). The quality gate ([`QualityPolicy`]) is plain
//! numbers with documented defaults. The rest are built and handed over:
//! the options of one call ([`erasure::EraseOptions`],
//! [`inventory::InventoryAuditOptions`], [`erasure::RetentionPolicy`]) and
//! the parts of a setting ([`CacheConfig`], with getters;
//! [`liveness::FailureLimit`]).
//!
//! ## Backends
//!
//! The guard drives its backends through two traits:
//!
//! * [`S3Backend`] is Amazon S3: `HeadObject` (an object's encryption
//!   metadata as [`ObjectFacts`]), `PutObject`, `GetObject`, the version
//!   listing and deletions of erasure, re-encryption, and the bucket's
//!   configuration.
//! * [`RekognitionBackend`] is Amazon Rekognition: `CompareFaces`
//!   ([`ComparisonFacts`]), `DetectFaces` ([`FaceDetail`]s), Face Liveness,
//!   and which account it calls as.
//!
//! The third backend, the opt-out verifier, is
//! [`OptOutVerifier`]; Rekognition collections have their own trait,
//! [`collection::CollectionBackend`]. One type can implement all the
//! backend traits (as [`AwsBackend`](crate::aws::AwsBackend) does), so whoever can
//! call a method has every backend it needs: there is no "this guard has no
//! eraser" at run time.
//!
//! Backends report **facts**; the guard decides: [`ObjectFacts`],
//! [`ComparisonFacts`], [`FaceDetail`], the Face Liveness session's
//! [`LivenessFacts`](liveness::LivenessFacts), erasure's
//! [`StoredVersion`](erasure::StoredVersion) and
//! [`ObjectLockFacts`](erasure::ObjectLockFacts). Each Rekognition method
//! only receives a request ([`CompareFacesRequest`],
//! [`DetectFacesRequest`]) that only the guard can build and that holds
//! only [`VerifiedImage`]s, so an
//! unchecked object cannot reach it:
//!
//! ```compile_fail
//! use rekognition_guard::{S3ObjectRef, VerifiedImage};
//! let unchecked = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
//! let image: VerifiedImage = unchecked.into(); // no such conversion
//! ```
//!
//! ```compile_fail
//! use rekognition_guard::{S3ObjectRef, VerifiedImage};
//! let unchecked = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
//! let image = VerifiedImage::S3(unchecked); // expects a VerifiedS3Object
//! ```
//!
//! ```compile_fail
//! use rekognition_guard::{CompareFacesRequest, FaceImage, QualityFilter, SimilarityThreshold, VerifiedImage};
//! # let a = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap();
//! # let b = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap();
//! // Only the guard builds requests, after every check passed.
//! let request = CompareFacesRequest::new(
//!     VerifiedImage::Bytes(a),
//!     VerifiedImage::Bytes(b),
//!     SimilarityThreshold::default(),
//!     QualityFilter::Auto,
//! );
//! ```
//!
//! ```compile_fail
//! use rekognition_guard::{DetectFacesRequest, FaceImage, VerifiedImage};
//! # let a = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap();
//! let request = DetectFacesRequest::new(VerifiedImage::Bytes(a), &[]);
//! ```
//!
//! Nor with a struct literal: the requests' fields are public to read, but
//! the structs are `#[non_exhaustive]`.
//!
//! ```compile_fail,E0639
//! use rekognition_guard::{CompareFacesRequest, FaceImage, QualityFilter, SimilarityThreshold, VerifiedImage};
//! # let a = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap();
//! # let b = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap();
//! let request = CompareFacesRequest {
//!     source: VerifiedImage::Bytes(a),
//!     target: VerifiedImage::Bytes(b),
//!     threshold: SimilarityThreshold::default(),
//!     quality_filter: QualityFilter::Auto,
//! };
//! ```
//!
//! ```compile_fail,E0639
//! use rekognition_guard::DeleteObjectVersionRequest;
//! let request = DeleteObjectVersionRequest {
//!     bucket: "library-photos".into(),
//!     key: "members/ada.jpg".into(),
//!     version_id: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY".into(),
//!     bypass_governance_retention: true,
//!     expected_bucket_owner: None,
//! };
//! ```
//!
//! With the `test-util` feature, [`testing`] holds the
//! mocks (`MockS3Backend`, `MockRekognitionBackend`, `MockOptOutVerifier`,
//! `MockCollectionBackend`,
//! generated by [`mockall`](https://docs.rs/mockall)) and a worked example,
//! and [`memory::InMemoryBackend`]
//! implements both traits as a simulation.
//!
//! ## Text that reaches a log line
//!
//! Object keys, bucket names, version ids, KMS key ids, opt-out evidence
//! and anything a service answered can end up in `Display`, `Debug`,
//! errors and audit events. A character that a log viewer shows as a line
//! break, or that reorders or hides what follows, lets such text forge a
//! log line or disguise one ("Trojan Source", CVE-2021-42574). The crate
//! names those characters once; everywhere it either **refuses** text that
//! holds them (inputs: keys, evidence text) or **escapes** them as
//! `\u{XXXX}` (text a service answered).
//!
//! Unsafe characters:
//!
//! | class | characters |
//! |---|---|
//! | control (Unicode `Cc`) | U+0000–U+001F, U+007F–U+009F (line feed, carriage return, escape, next line, …) |
//! | line and paragraph separators (`Zl`, `Zp`) | U+2028, U+2029 |
//! | format characters (`Cf`) | bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069; marks U+200E, U+200F, U+061C; zero-width U+200B–U+200D, U+2060–U+2064, U+FEFF; soft hyphen U+00AD; and the rest of `Cf` |
//!
//! ## Audit events
//!
//! Every decision emits one `tracing` event with target [`AUDIT_TARGET`]:
//! the object references, pinned versions, KMS key ARNs, the outcome, the
//! similarity and which opt-out evidence was used. No image bytes.
//!
//! ## Features
//!
//! See [`aws`] for what each refusal means and how to fix it.
//!
//! | feature | what it adds |
//! |---|---|
//! | `organizations` | `aws::OrganizationsOptOutVerifier`: the opt-out verified through AWS Organizations, bound to the Rekognition caller's account through STS |
//! | `test-util` | the mockall mocks and a worked example ([`testing`]), [`memory::InMemoryBackend`] and the [`conformance`] suite, for tests and examples; not covered by semver |

#![forbid(unsafe_code)]
// docs.rs (nightly) labels each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod at_rest;
pub mod aws;
mod backend;
mod cache;
pub mod collection;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
pub mod consent;
mod decision;
pub mod erasure;
mod error;
mod guard;
mod input;
pub mod inventory;
pub mod ledger;
pub mod liveness;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod memory;
mod opt_out;
mod policy;
mod posture;
#[cfg(test)]
mod properties;
mod quality;
mod refusal;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
mod text;
pub mod transit;

pub use at_rest::{AtRestViolation, ObjectFacts, SseAlgorithm, VerifiedS3Object};
pub use backend::{
    BackendError, BackendErrorKind, CompareFacesRequest, ComparisonFacts,
    CreateFaceLivenessSessionRequest, DeleteObjectVersionRequest, DetectFacesRequest, FaceMatch,
    GetBucketVersioningRequest, GetFaceLivenessSessionResultsRequest, GetObjectRequest,
    HeadObjectRequest, ListObjectVersionsRequest, PutObjectReceipt, PutObjectRequest,
    PutRecordRequest, ReencryptRequest, RekognitionBackend, S3Backend, VerifiedImage,
    VersioningFacts,
};
pub use cache::CacheConfig;
pub use decision::{CheckOrigin, CheckedImage, Decision, ImageRole, Verdict};
pub use error::{ConfigError, Error, ErrorKind};
pub use guard::{
    collection::{Collection, FaceCollection},
    liveness::FaceLiveness,
    store::PhotoStore,
    withdrawal::{Withdrawal, WithdrawalReceipt},
    Guard, PreparedComparison,
};
pub use input::{
    AccountId, FaceImage, ImageFormat, ImageInput, InputError, KmsKeyArn, S3ObjectRef, Service,
    MAX_IMAGE_BYTES,
};
pub use opt_out::{
    DangerousOptOutEvidence, OptOutEvidence, OptOutRecord, OptOutStatus, OptOutVerifier,
    OptOutViolation,
};
pub use policy::{Policy, QualityFilter, SimilarityThreshold};
pub use posture::{BucketAudit, Finding, Severity};
pub use quality::{
    BoundingBox, FaceAssessment, FaceAttribute, FaceDetail, FaceTrait, Pose, QualityIssue,
    QualityPolicy,
};
pub use refusal::{Operation, Refusal, Violation};
pub use text::AUDIT_TARGET;
