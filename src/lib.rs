//! # rekognition-guard
//!
//! A privacy guard for Amazon Rekognition face verification. Every
//! operation on a member's biometric data goes through one guarded path: the
//! kiosk comparison ([`Guard::compare`], Rekognition `CompareFaces`), the
//! enrollment quality gate ([`Guard::enroll`], `DetectFaces` before the
//! reference photo is stored), Face Liveness at the kiosk
//! ([`Guard::start_liveness`], [`Guard::verify_liveness`]), the at-rest
//! check of a stored photo ([`Guard::check`]) and erasure
//! ([`Guard::erase`], every version of a member's photo), and at-rest
//! compliance of a whole fleet from its S3 Inventory report
//! ([`Guard::audit_inventory`], [`inventory`]). Each runs
//! **only** when (opt-out evidence for those that call Rekognition):
//!
//! 1. **Encrypted at rest**: every S3 image reports SSE-KMS (`aws:kms`, or
//!    dual-layer `aws:kms:dsse`) in HeadObject, with a KMS key from the
//!    allowlist if one is set. SSE-S3 (`AES256`), SSE-C, no header and any
//!    unknown value are refused.
//! 2. **Encrypted in transit**: every endpoint involved is `https://`,
//!    checked on the wire of every request whatever set the endpoint
//!    ([`transit`]).
//! 3. **Not used to improve the service**: the AWS account's AI services
//!    opt-out is evidenced ([`OptOutEvidence`]): verified for the account
//!    that calls Rekognition, attested or explicitly waived. There is no
//!    default.
//!
//! A refusal sends nothing to Rekognition and lists **every** requirement
//! that failed ([`Refusal`]). Any error, unknown value or missing header ends
//! without approval.
//!
//! ## How misuse is ruled out
//!
//! * Inputs are parsed into types that cannot hold invalid values
//!   ([`S3ObjectRef`], [`FaceImage`], [`SimilarityThreshold`], [`KmsKeyArn`]).
//! * Backends ([`S3Backend`], [`RekognitionBackend`]) report facts; only the
//!   guard's policy check creates a [`VerifiedS3Object`], and a
//!   [`RekognitionBackend`] only accepts a [`CompareFacesRequest`] or [`DetectFacesRequest`]
//!   of [`VerifiedImage`]s, which only the guard builds. An unchecked object
//!   cannot reach Rekognition: that call does not compile (see [`backend`]).
//! * The comparison reads the **version the check saw**
//!   ([`VerifiedS3Object::version_id`]); S3's `null` version id is never a
//!   pin, and [`Policy::require_versioning`] refuses objects that have no
//!   immutable version. A cached check lasts 60 seconds by
//!   default and states what it can miss ([`CacheConfig`]).
//! * Image bytes never appear in `Debug`, `Display`, errors or logs:
//!   [`FaceImage`] shows format and size only and is not `Clone`. Text that
//!   came from a caller or a service is escaped before it is shown
//!   ([`text`]).
//!
//! ## Example
//!
//! The kiosk flow on the in-memory simulation (feature `test-util`); with
//! real AWS the backends are the SDK clients and the code is the same.
//!
//! ```
//! use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
//! use rekognition_guard::{FaceImage, Guard, OptOutEvidence, Policy, S3ObjectRef};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
//! let aws = InMemoryBackend::new();
//! aws.create_bucket("library-photos", "111122223333", true);
//! aws.put("library-photos", "members/ada.jpg", SimulatedObject::sse_kms(key).with_face("ada"));
//! let live_photo = b"\xFF\xD8\xFF\xE0 live kiosk photo".to_vec();
//! aws.register_image(&live_photo, "ada");
//! aws.set_similarity("ada", "ada", 99.6);
//!
//! let guard = Guard::builder(aws.clone(), aws.clone())
//!     .policy(Policy::new().require_versioning(true))
//!     .opt_out(OptOutEvidence::attested("AWS Organizations policy p-examplepolicy")?)
//!     .build()?;
//!
//! let reference = S3ObjectRef::parse("s3://library-photos/members/ada.jpg")?;
//! let decision = guard.compare(reference, FaceImage::from_vec(live_photo)?).await?;
//! assert!(decision.is_approved());
//! # Ok(())
//! # }
//! ```
//!
//! ## Audit events
//!
//! Every decision emits one `tracing` event with target [`AUDIT_TARGET`]:
//! the object references, pinned versions, KMS key ARNs, the outcome, the
//! similarity and which opt-out evidence was used. No image bytes.
//!
//! ## Features
//!
//! With AWS, [`aws::AwsBackend`] implements both backends on the official
//! SDK clients, each guarded by the [`transit::HttpsOnly`] interceptor:
//!
//! ```no_run
//! # async fn setup() -> Result<(), Box<dyn std::error::Error>> {
//! let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let aws = rekognition_guard::aws::AwsBackend::from_sdk_config(&sdk_config)?;
//! let guard = aws.guard_builder().opt_out(rekognition_guard::OptOutEvidence::attested("AWS Support case 1234567890")?).build()?;
//! # let _ = guard; Ok(()) }
//! ```
//!
//! See [`aws`] for what each refusal means and how to fix it, for
//! [`Guard::enroll`] (storing reference photos with SSE-KMS) and for the
//! bucket posture audit.
//!
//! | feature | what it adds |
//! |---|---|
//! | `organizations` | `aws::OrganizationsOptOutVerifier`: the opt-out verified through AWS Organizations, bound to the Rekognition caller's account through STS |
//! | `test-util` | `Mock*` backends (mockall) with [`testing`]'s worked example, [`memory::InMemoryBackend`] and the [`conformance`] suite, for tests and examples; not covered by semver |

#![forbid(unsafe_code)]
// docs.rs (nightly) labels each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod at_rest;
pub mod aws;
pub mod backend;
mod cache;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
mod decision;
pub mod erasure;
pub mod error;
mod guard;
pub mod input;
pub mod inventory;
pub mod liveness;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod memory;
pub mod opt_out;
pub mod policy;
pub mod posture;
pub mod quality;
pub mod refusal;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
pub mod text;
pub mod transit;

pub use at_rest::{AtRestViolation, ObjectFacts, SseAlgorithm, VerifiedS3Object};
pub use backend::{
    BackendError, BackendErrorKind, BoundingBox, CompareFacesRequest, ComparisonFacts,
    CreateFaceLivenessSessionRequest, DeleteObjectVersionRequest, DetectFacesRequest, FaceMatch,
    GetBucketVersioningRequest, GetFaceLivenessSessionResultsRequest, GetObjectRequest,
    HeadObjectRequest, ListObjectVersionsRequest, PutObjectReceipt, PutObjectRequest,
    ReencryptRequest, RekognitionBackend, S3Backend, VerifiedImage, VersioningFacts,
};
pub use cache::CacheConfig;
pub use error::{ConfigError, Error};
pub use guard::{CheckOrigin, CheckedImage, Decision, Guard, GuardBuilder, ImageRole, Verdict};
pub use input::{
    AccountId, FaceImage, ImageFormat, ImageInput, InputError, KmsKeyArn, S3ObjectRef, Service,
    MAX_IMAGE_BYTES, MAX_S3_IMAGE_BYTES, MIN_IMAGE_PIXELS,
};
pub use opt_out::{OptOutEvidence, OptOutRecord, OptOutStatus, OptOutVerifier, OptOutViolation};
pub use policy::{Policy, QualityFilter, SimilarityThreshold};
pub use quality::{FaceAssessment, FaceDetail, QualityIssue, QualityPolicy};
pub use refusal::{Operation, Refusal, Violation};
pub use text::AUDIT_TARGET;
