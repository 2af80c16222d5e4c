//! The backends, as two traits (see the crate docs, "Backends"), and
//! the facts and requests they carry.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::at_rest::{ObjectFacts, VerifiedS3Object};
use crate::input::Service;
use crate::input::{AccountId, FaceImage, InputError, KmsKeyArn, S3ObjectRef};
use crate::policy::{Policy, QualityFilter, SimilarityThreshold};
use crate::posture::BucketAudit;
pub(crate) use crate::quality::BoundingBox;
use crate::quality::{FaceAttribute, FaceDetail};
use crate::text::Quoted;
use crate::transit::InsecureEndpoint;

/// What the guard asks [`S3Backend::head_object`] about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadObjectRequest {
    /// The object (with the version it names, if any).
    pub object: S3ObjectRef,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl HeadObjectRequest {
    /// A request for `object`, which S3 must refuse unless the bucket
    /// belongs to `expected_bucket_owner` (when set).
    pub(crate) fn new(object: S3ObjectRef, expected_bucket_owner: Option<AccountId>) -> Self {
        Self {
            object,
            expected_bucket_owner,
        }
    }
}

/// Amazon S3, as the guard uses it: one method per S3 operation (named
/// after it), each taking a request the guard builds (an upload, a
/// deletion or a re-encryption request only the guard can build), each reporting
/// facts for the guard to judge. [`AwsBackend`](crate::aws::AwsBackend)
/// implements it on the SDK's S3 client;
/// [`InMemoryBackend`](crate::memory::InMemoryBackend) simulates it.
///
/// There is no endpoint here: HTTPS is enforced where the endpoint is set
/// (when a client is built) and on the wire
/// ([`transit::HttpsOnly`](crate::transit::HttpsOnly)); a backend that
/// refuses a request for an insecure endpoint says so with
/// [`BackendError::refused_endpoint`], and the guard turns that into a
/// refusal.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait S3Backend: Send + Sync + fmt::Debug {
    /// `HeadObject`: what S3 says about the object (encryption, KMS key,
    /// version, size), sending the expected bucket owner.
    ///
    /// # Errors
    /// A [`BackendError`] when the metadata cannot be read (403, 404, …).
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError>;

    /// `GetBucketVersioning`: whether versioning was ever enabled, and MFA
    /// Delete. Erasure reads it to say when MFA Delete blocks deletions;
    /// an inventory audit, to know whether a current-versions report can
    /// cover the bucket.
    ///
    /// # Errors
    /// A [`BackendError`] when the configuration cannot be read.
    async fn get_bucket_versioning(
        &self,
        request: &GetBucketVersioningRequest,
    ) -> Result<VersioningFacts, BackendError>;

    /// `PutObject`: stores the image with SSE-KMS under the request's key
    /// (when it names none, with no encryption header, so that the
    /// bucket's default encryption applies), sending the expected bucket
    /// owner.
    ///
    /// # Errors
    /// A [`BackendError`] when the upload failed.
    async fn put_object(&self, request: PutObjectRequest)
        -> Result<PutObjectReceipt, BackendError>;

    /// `GetObject`: the object's bytes as a stream (`aws_smithy_types`
    /// `ByteStream`; `ByteStream::from(Vec<u8>)` in tests), for reading S3
    /// Inventory reports chunk by chunk.
    ///
    /// # Errors
    /// A [`BackendError`] when the read failed to start;
    /// [`BackendErrorKind::NotFound`] when the object does not exist.
    /// Errors while streaming come from the stream.
    async fn get_object(
        &self,
        request: &GetObjectRequest,
    ) -> Result<aws_smithy_types::byte_stream::ByteStream, BackendError>;

    /// `ListObjectVersions`: every version and delete marker of the keys
    /// starting with the request's prefix, across all pages.
    ///
    /// # Errors
    /// A [`BackendError`] when the listing failed.
    async fn list_object_versions(
        &self,
        request: &ListObjectVersionsRequest,
    ) -> Result<Vec<StoredVersion>, BackendError>;

    /// `DeleteObject` with a version id: deletes one version or delete
    /// marker.
    ///
    /// # Errors
    /// A [`BackendError`] when the store refused or failed.
    async fn delete_object_version(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<(), BackendError>;

    /// `GetObjectRetention` and `GetObjectLegalHold`: what S3 Object Lock
    /// holds on that version (no retention and no legal hold where the
    /// bucket has no Object Lock).
    ///
    /// # Errors
    /// A [`BackendError`] when it could not be read.
    async fn object_lock(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<ObjectLockFacts, BackendError>;

    /// `UpdateObjectEncryption`: re-encrypts the version in place; version
    /// id, ETag and last-modified date stay.
    ///
    /// # Errors
    /// A [`BackendError`] when the store refused or failed.
    async fn update_object_encryption(
        &self,
        request: &ReencryptRequest,
    ) -> Result<(), BackendError>;

    /// `CopyObject` of the key's current version onto the key with
    /// SSE-KMS, metadata kept, only if it still has
    /// [`current_etag`](ReencryptRequest::current_etag); returns the
    /// **new** version's id (none in a bucket without versioning).
    ///
    /// # Errors
    /// A [`BackendError`] when the store refused or failed.
    async fn copy_object(&self, request: &ReencryptRequest)
        -> Result<Option<String>, BackendError>;

    /// `PutObject` of one ledger record ([`crate::ledger`]): only if no
    /// object has the key (`If-None-Match: *`), SSE-KMS under the
    /// request's key (none: the bucket's default encryption), with the
    /// request's S3 Object Lock retention (none: the bucket's default
    /// retention) and a checksum, sending the expected bucket owner.
    ///
    /// The default answers an error: a backend that keeps no ledger need
    /// not implement it.
    ///
    /// # Errors
    /// [`BackendErrorKind::PreconditionFailed`] when the key exists; a
    /// [`BackendError`] when the write failed.
    async fn put_record(
        &self,
        request: PutRecordRequest,
    ) -> Result<PutRecordReceipt, BackendError> {
        Err(BackendError::new(
            BackendErrorKind::Other,
            Service::S3,
            "PutObject",
            format!(
                "this S3 backend does not write ledger records (s3://{}/{})",
                request.object.bucket(),
                request.object.key()
            ),
        ))
    }

    /// The bucket's configuration against `policy` (for S3:
    /// `GetBucketEncryption`, `GetBucketVersioning`, `GetBucketPolicy`,
    /// `GetPublicAccessBlock`, `ListBucketInventoryConfigurations`). A
    /// configuration that cannot be read is a finding, never a pass.
    ///
    /// # Errors
    /// A [`BackendError`] when the bucket does not exist or the store
    /// fails.
    async fn audit_bucket(
        &self,
        bucket: &str,
        policy: &Policy,
    ) -> Result<BucketAudit, BackendError>;
}

/// An `Arc` of a backend is the backend, so one can be shared between a
/// guard, a photo store and the application.
#[async_trait]
impl<T: S3Backend + ?Sized> S3Backend for Arc<T> {
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        (**self).head_object(request).await
    }
    async fn get_bucket_versioning(
        &self,
        request: &GetBucketVersioningRequest,
    ) -> Result<VersioningFacts, BackendError> {
        (**self).get_bucket_versioning(request).await
    }
    async fn put_object(
        &self,
        request: PutObjectRequest,
    ) -> Result<PutObjectReceipt, BackendError> {
        (**self).put_object(request).await
    }
    async fn get_object(
        &self,
        request: &GetObjectRequest,
    ) -> Result<aws_smithy_types::byte_stream::ByteStream, BackendError> {
        (**self).get_object(request).await
    }
    async fn list_object_versions(
        &self,
        request: &ListObjectVersionsRequest,
    ) -> Result<Vec<StoredVersion>, BackendError> {
        (**self).list_object_versions(request).await
    }
    async fn delete_object_version(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<(), BackendError> {
        (**self).delete_object_version(request).await
    }
    async fn object_lock(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<ObjectLockFacts, BackendError> {
        (**self).object_lock(request).await
    }
    async fn update_object_encryption(
        &self,
        request: &ReencryptRequest,
    ) -> Result<(), BackendError> {
        (**self).update_object_encryption(request).await
    }
    async fn copy_object(
        &self,
        request: &ReencryptRequest,
    ) -> Result<Option<String>, BackendError> {
        (**self).copy_object(request).await
    }
    async fn put_record(
        &self,
        request: PutRecordRequest,
    ) -> Result<PutRecordReceipt, BackendError> {
        (**self).put_record(request).await
    }
    async fn audit_bucket(
        &self,
        bucket: &str,
        policy: &Policy,
    ) -> Result<BucketAudit, BackendError> {
        (**self).audit_bucket(bucket, policy).await
    }
}

/// A versioning read the guard approved. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetBucketVersioningRequest {
    /// The bucket.
    pub bucket: String,
    /// The account that must own it, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl GetBucketVersioningRequest {
    pub(crate) fn new(bucket: &str, expected_bucket_owner: Option<AccountId>) -> Self {
        Self {
            bucket: bucket.to_owned(),
            expected_bucket_owner,
        }
    }
}

/// What `GetBucketVersioning` reported. S3 leaves out `Status` when
/// versioning was never enabled and `MfaDelete` when MFA Delete was never
/// configured (S3 API reference); those absences are S3's answers, and
/// are kept as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersioningFacts {
    /// `Status`: `Enabled` or `Suspended`; `None`: never enabled.
    pub status: Option<String>,
    /// `MfaDelete`: `Enabled` or `Disabled`; `None`: never configured.
    pub mfa_delete: Option<String>,
}

impl VersioningFacts {
    /// Facts with this status and MFA Delete setting.
    pub(crate) fn new(status: Option<&str>, mfa_delete: Option<&str>) -> Self {
        Self {
            status: status.map(str::to_owned),
            mfa_delete: mfa_delete.map(str::to_owned),
        }
    }

    /// Whether versioning was never enabled (then no noncurrent versions
    /// can exist).
    pub(crate) fn never_enabled(&self) -> bool {
        self.status.is_none()
    }

    /// Whether MFA Delete is enabled.
    pub(crate) fn mfa_delete_enabled(&self) -> bool {
        self.mfa_delete.as_deref() == Some("Enabled")
    }
}

/// An image that passed the guard's checks.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifiedImage {
    /// An S3 object that passed the policy, pinned to the checked version.
    S3(VerifiedS3Object),
    /// Validated image bytes (JPEG or PNG, at most 5 MiB).
    Bytes(FaceImage),
}

/// A comparison the guard approved for sending: two verified images, the
/// threshold and the quality filter. Only the guard builds one.
#[derive(Debug)]
#[non_exhaustive]
pub struct CompareFacesRequest {
    /// The source image (the member's reference photo).
    pub source: VerifiedImage,
    /// The target image (the live photo).
    pub target: VerifiedImage,
    /// The similarity threshold to send.
    pub threshold: SimilarityThreshold,
    /// The quality filter to send.
    pub quality_filter: QualityFilter,
}

impl CompareFacesRequest {
    pub(crate) fn new(
        source: VerifiedImage,
        target: VerifiedImage,
        threshold: SimilarityThreshold,
        quality_filter: QualityFilter,
    ) -> Self {
        Self {
            source,
            target,
            threshold,
            quality_filter,
        }
    }
}

/// A face in the target that matched the source face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceMatch {
    /// Similarity, 0 to 100.
    pub similarity: f32,
    /// Where the face is in the target image.
    pub bounding_box: BoundingBox,
}

impl FaceMatch {
    /// A match.
    pub(crate) fn new(similarity: f32, bounding_box: BoundingBox) -> Self {
        Self {
            similarity,
            bounding_box,
        }
    }
}

/// What a [`RekognitionBackend`] found. Facts; the guard turns them into a
/// [`Verdict`](crate::Verdict) after checking them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ComparisonFacts {
    /// A face was found in the source; `matches` are the target faces at or
    /// above the threshold, `unmatched_faces` counts the others.
    Faces {
        /// Matching faces in the target.
        matches: Vec<FaceMatch>,
        /// How many target faces did not match.
        unmatched_faces: usize,
    },
    /// No face was found in the source image.
    NoFaceInSource,
    /// Rekognition's `InvalidParameterException`: its answer when it finds
    /// no face in the source or the target image; it does not say which.
    /// The same exception also covers other invalid parameters, which the
    /// guard rules out where it can before the call (threshold range,
    /// image format, size and pixel dimensions).
    NoFaceDetected,
}

/// A face detection the guard approved: one verified image and the face
/// attributes to ask for (only those the quality gate needs). Only the
/// guard builds one.
#[derive(Debug)]
#[non_exhaustive]
pub struct DetectFacesRequest {
    /// The image.
    pub image: VerifiedImage,
    /// The attributes to request beyond Rekognition's default set.
    pub attributes: &'static [FaceAttribute],
}

impl DetectFacesRequest {
    pub(crate) fn new(image: VerifiedImage, attributes: &'static [FaceAttribute]) -> Self {
        Self { image, attributes }
    }
}

// The Face Liveness session types a `RekognitionBackend` takes and reports
// (re-exported by `liveness`).

/// A Face Liveness session id, as Rekognition issues them: a UUID
/// (`8-4-4-4-12` hexadecimal digits), kept in lower case.
///
/// ```
/// use rekognition_guard::liveness::LivenessSessionId;
///
/// let id = LivenessSessionId::parse("0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90")?;
/// assert_eq!(id.as_str(), "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90");
/// assert!(LivenessSessionId::parse("../../etc").is_err());
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LivenessSessionId(Arc<str>);

impl LivenessSessionId {
    /// Parses a session id.
    ///
    /// # Errors
    /// [`InputError::InvalidLivenessSessionId`] unless it is a UUID.
    pub fn parse(id: &str) -> Result<Self, InputError> {
        let groups: Vec<&str> = id.split('-').collect();
        let lengths_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
        if lengths_ok
            && groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            // One spelling per session, so single use cannot be dodged by
            // changing the case.
            Ok(Self(id.to_ascii_lowercase().into()))
        } else {
            Err(InputError::InvalidLivenessSessionId {
                input: crate::text::quote(id, 64),
            })
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LivenessSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A session's status, as `GetFaceLivenessSessionResults` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LivenessStatus {
    /// `CREATED`: the kiosk has not streamed the video yet.
    Created,
    /// `IN_PROGRESS`: the check is running.
    InProgress,
    /// `SUCCEEDED`: the check finished; the confidence says how live.
    Succeeded,
    /// `FAILED`: the check could not be completed.
    Failed,
    /// `EXPIRED`: the session expired before the check.
    Expired,
    /// A value newer than this crate. Never approves.
    Other(String),
}

impl LivenessStatus {
    /// From the API value.
    pub(crate) fn from_api(value: &str) -> Self {
        match value {
            "CREATED" => Self::Created,
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "EXPIRED" => Self::Expired,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API value.
    pub fn as_api(&self) -> &str {
        match self {
            Self::Created => "CREATED",
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for LivenessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(v) => write!(f, "{}", Quoted(v)),
            known => f.write_str(known.as_api()),
        }
    }
}

/// Where Rekognition put a session's reference image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LivenessImage {
    /// An S3 object, with the version Rekognition reported, if any.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The version.
        version: Option<String>,
    },
    /// Returned as bytes, not stored in S3 (the backend keeps no bytes).
    /// Refused: the guard only compares images it checked at rest.
    NotInS3,
}

/// A Face Liveness challenge type (`ChallengePreference.Type` when a
/// session is created, `Challenge.Type` in its results; Rekognition API
/// reference, `ChallengePreference` and `Challenge`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeType {
    /// `FaceMovementAndLightChallenge`: the face moves into an oval, then
    /// a sequence of coloured lights. AWS's default and recommendation
    /// (the most accurate).
    FaceMovementAndLight,
    /// `FaceMovementChallenge`: the face movement only, without the light
    /// sequence (a few seconds shorter, less evidence of liveness).
    FaceMovement,
    /// A value newer than this crate, as sent. Never allowed.
    Other(String),
}

impl ChallengeType {
    /// From the API value.
    pub(crate) fn from_api(value: &str) -> Self {
        match value {
            "FaceMovementAndLightChallenge" => Self::FaceMovementAndLight,
            "FaceMovementChallenge" => Self::FaceMovement,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API value.
    pub fn as_api(&self) -> &str {
        match self {
            Self::FaceMovementAndLight => "FaceMovementAndLightChallenge",
            Self::FaceMovement => "FaceMovementChallenge",
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for ChallengeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(v) => write!(f, "{}", Quoted(v)),
            known => f.write_str(known.as_api()),
        }
    }
}

/// The challenge a session ran, as `GetFaceLivenessSessionResults`
/// reports it (`Challenge`: `Type` and `Version`, both optional on the
/// wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `Challenge.Type`.
    pub challenge_type: ChallengeType,
    /// `Challenge.Version` (such as `2.0.0`), if reported. The guard reads
    /// an empty version as none: a decision never records `""`.
    pub version: Option<String>,
}

impl Challenge {
    /// A challenge of `challenge_type`, at `version` if known.
    pub(crate) fn new(challenge_type: ChallengeType, version: Option<&str>) -> Self {
        Self {
            challenge_type,
            version: version.filter(|v| !v.is_empty()).map(str::to_owned),
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} {}", self.challenge_type, Quoted(v)),
            None => write!(f, "{} (no version reported)", self.challenge_type),
        }
    }
}

/// What `GetFaceLivenessSessionResults` reported: facts, not a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessFacts {
    /// The session's status.
    pub status: LivenessStatus,
    /// The liveness confidence, 0 to 100, if reported.
    pub confidence: Option<f32>,
    /// The reference image, if any.
    pub reference_image: Option<LivenessImage>,
    /// The challenge the session ran, if reported. A session that names
    /// none is never approved.
    pub challenge: Option<Challenge>,
}

impl LivenessFacts {
    /// Facts with `status` and nothing else.
    pub(crate) fn new(status: LivenessStatus) -> Self {
        Self {
            status,
            confidence: None,
            reference_image: None,
            challenge: None,
        }
    }

    /// With a reference image stored in S3.
    #[must_use]
    pub(crate) fn with_s3_reference_image(
        mut self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Self {
        self.reference_image = Some(LivenessImage::S3 {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version: version.map(str::to_owned),
        });
        self
    }
}

/// Amazon Rekognition, as the guard uses it: one method per operation
/// (named after it), each taking a request only the guard can build (after
/// every requirement held), each reporting facts for the guard to judge.
/// Like [`S3Backend`], it reports no endpoint: HTTPS is enforced in
/// [`transit`](crate::transit).
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait RekognitionBackend: Send + Sync + fmt::Debug {
    /// `CompareFaces`: compares the images of an approved request.
    ///
    /// # Errors
    /// A [`BackendError`] when the comparison failed.
    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError>;

    /// `DetectFaces`: the faces in an approved image, with the requested
    /// attributes (up to the 100 largest faces).
    ///
    /// # Errors
    /// A [`BackendError`] when the detection failed.
    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError>;

    /// The AWS account whose credentials this backend calls Rekognition
    /// with (for AWS: STS `GetCallerIdentity` with the Rekognition client's
    /// credentials). The guard asks only when the opt-out evidence is
    /// verified, and refuses unless it is the account the evidence is
    /// about.
    ///
    /// # Errors
    /// A [`BackendError`] when the account cannot be learned; the guard
    /// then refuses the call.
    async fn caller_account(&self) -> Result<AccountId, BackendError>;

    /// The AWS Region this backend calls Rekognition in (for AWS: the
    /// Rekognition client's region, which signs every request), if known.
    /// The guard asks only to tell whether the client is in the AWS
    /// GovCloud (US) partition (`us-gov-…`): for
    /// [`OptOutEvidence::gov_cloud_partition`](crate::OptOutEvidence::gov_cloud_partition),
    /// which holds only there (`None` refuses it), and to refuse Face
    /// Liveness there. Report a region only when requests are known to be
    /// processed there (not when they go to another endpoint). The default
    /// says nothing (`None`); a backend that wraps another must forward it.
    fn region(&self) -> Option<String> {
        None
    }

    /// `CreateFaceLivenessSession` with the request's KMS key, output
    /// bucket and prefix, audit image limit, challenge preferences and
    /// idempotency token; returns the session id.
    ///
    /// # Errors
    /// A [`BackendError`] when the session could not be created.
    async fn create_face_liveness_session(
        &self,
        request: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError>;

    /// `GetFaceLivenessSessionResults`: the session's status, confidence,
    /// challenge and where the reference image is. Never image bytes.
    ///
    /// # Errors
    /// A [`BackendError`] when the results could not be read.
    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError>;
}

/// An `Arc` of a backend is the backend.
#[async_trait]
impl<T: RekognitionBackend + ?Sized> RekognitionBackend for Arc<T> {
    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        (**self).compare_faces(request).await
    }
    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError> {
        (**self).detect_faces(request).await
    }
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        (**self).caller_account().await
    }
    fn region(&self) -> Option<String> {
        (**self).region()
    }
    async fn create_face_liveness_session(
        &self,
        request: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError> {
        (**self).create_face_liveness_session(request).await
    }
    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        (**self).get_face_liveness_session_results(request).await
    }
}

/// A Face Liveness session the guard approved: the KMS key (the policy's
/// first allowed key; none when the policy allows any key), the output bucket (whose posture passed) and key
/// prefix (binding the session to its member), the audit image limit and
/// an idempotency token. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateFaceLivenessSessionRequest {
    /// `KmsKeyId`; `None`: not sent, so the output bucket's default
    /// encryption applies (the guard audited it first).
    pub kms_key: Option<KmsKeyArn>,
    /// `Settings.OutputConfig.S3Bucket`.
    pub output_bucket: String,
    /// `Settings.OutputConfig.S3KeyPrefix`.
    pub output_prefix: String,
    /// `Settings.AuditImagesLimit` (0 to 4).
    pub audit_images_limit: u8,
    /// `ClientRequestToken`: a UUID v4, so a retried request returns the
    /// same session instead of creating another.
    pub client_request_token: String,
    /// `Settings.ChallengePreferences`, in order of preference: the
    /// challenge types the liveness policy allows (never empty).
    pub challenge_preferences: Vec<ChallengeType>,
}

impl CreateFaceLivenessSessionRequest {
    pub(crate) fn new(
        kms_key: Option<KmsKeyArn>,
        output_bucket: String,
        output_prefix: String,
        audit_images_limit: u8,
        client_request_token: String,
        challenge_preferences: Vec<ChallengeType>,
    ) -> Self {
        Self {
            kms_key,
            output_bucket,
            output_prefix,
            audit_images_limit,
            client_request_token,
            challenge_preferences,
        }
    }
}

/// A results read the guard approved. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetFaceLivenessSessionResultsRequest {
    /// `SessionId`.
    pub session_id: LivenessSessionId,
}

impl GetFaceLivenessSessionResultsRequest {
    pub(crate) fn new(session_id: LivenessSessionId) -> Self {
        Self { session_id }
    }
}

/// A listing the guard approved: every version and delete marker of the
/// keys in `bucket` that start with `prefix` (the guard keeps only the
/// exact key it erases). Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectVersionsRequest {
    /// The bucket.
    pub bucket: String,
    /// The key prefix.
    pub prefix: String,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl ListObjectVersionsRequest {
    pub(crate) fn new(
        bucket: &str,
        prefix: &str,
        expected_bucket_owner: Option<AccountId>,
    ) -> Self {
        Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            expected_bucket_owner,
        }
    }
}

/// A deletion the guard approved: one version (or delete marker) of one
/// key, by version id. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectVersionRequest {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The version id (`null` for the null version).
    pub version_id: String,
    /// Whether to send `x-amz-bypass-governance-retention: true`.
    pub bypass_governance_retention: bool,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl DeleteObjectVersionRequest {
    pub(crate) fn new(
        bucket: &str,
        key: &str,
        version_id: &str,
        bypass_governance_retention: bool,
        expected_bucket_owner: Option<AccountId>,
    ) -> Self {
        Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: version_id.to_owned(),
            bypass_governance_retention,
            expected_bucket_owner,
        }
    }
}

// What an `S3Backend` reports for erasure (re-exported by `erasure`).

/// One version or delete marker of an S3 key, as `ListObjectVersions`
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    /// The key.
    pub key: String,
    /// The version id; `null` for what was written while versioning was
    /// off or suspended.
    pub version_id: String,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
}

impl StoredVersion {
    /// A version (`delete_marker` false) or a delete marker of `key`.
    pub(crate) fn new(key: &str, version_id: &str, delete_marker: bool) -> Self {
        Self {
            key: key.to_owned(),
            version_id: version_id.to_owned(),
            delete_marker,
        }
    }
}

/// An S3 Object Lock retention mode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetentionMode {
    /// `GOVERNANCE`: deletable with `s3:BypassGovernanceRetention` and the
    /// bypass header.
    Governance,
    /// `COMPLIANCE`: no one can delete it before its retain-until date.
    Compliance,
    /// A value newer than this crate.
    Other(String),
}

impl RetentionMode {
    /// From the API value.
    pub(crate) fn from_api(value: &str) -> Self {
        match value {
            "GOVERNANCE" => Self::Governance,
            "COMPLIANCE" => Self::Compliance,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for RetentionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Governance => f.write_str("GOVERNANCE"),
            Self::Compliance => f.write_str("COMPLIANCE"),
            Self::Other(v) => write!(f, "{}", Quoted(v)),
        }
    }
}

/// What S3 Object Lock holds on one version (`GetObjectRetention`,
/// `GetObjectLegalHold`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectLockFacts {
    /// The retention mode and retain-until date, if any.
    pub retention: Option<(RetentionMode, Option<SystemTime>)>,
    /// Whether a legal hold is on.
    pub legal_hold: bool,
}

impl ObjectLockFacts {
    /// No retention, no legal hold.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// With a retention.
    #[must_use]
    #[cfg(all(test, feature = "test-util"))]
    pub(crate) fn with_retention(mut self, mode: RetentionMode, until: Option<SystemTime>) -> Self {
        self.retention = Some((mode, until));
        self
    }

    /// With a legal hold.
    #[must_use]
    #[cfg(all(test, feature = "test-util"))]
    pub(crate) fn with_legal_hold(mut self) -> Self {
        self.legal_hold = true;
        self
    }
}

/// A read the guard approved: one object of an S3 Inventory report
/// (`manifest.json`, `manifest.checksum` or a data file), whole. Only the
/// guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetObjectRequest {
    /// The object (the latest version unless the reference names one).
    pub object: S3ObjectRef,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl GetObjectRequest {
    pub(crate) fn new(object: S3ObjectRef, expected_bucket_owner: Option<AccountId>) -> Self {
        Self {
            object,
            expected_bucket_owner,
        }
    }
}

/// A re-encryption the guard approved: one version of one object, under a
/// KMS key from the policy's allowlist. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReencryptRequest {
    /// The object, pinned to the version to re-encrypt (unpinned only in
    /// a bucket that never had versioning).
    pub object: S3ObjectRef,
    /// The KMS key to encrypt under (SSE-KMS).
    pub kms_key: KmsKeyArn,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
    /// For a copy: the `ETag` the key's **current** version must still
    /// have when S3 copies it (`x-amz-copy-source-if-match`), so a version
    /// written since the guard checked is never overwritten with older
    /// content.
    pub current_etag: Option<String>,
}

impl ReencryptRequest {
    pub(crate) fn new(
        object: S3ObjectRef,
        kms_key: KmsKeyArn,
        expected_bucket_owner: Option<AccountId>,
        current_etag: Option<String>,
    ) -> Self {
        Self {
            object,
            kms_key,
            expected_bucket_owner,
            current_etag,
        }
    }
}

/// An upload the guard approved: validated image bytes, to be stored with
/// SSE-KMS under [`kms_key`](Self::kms_key). Only the guard builds one.
#[derive(Debug)]
#[non_exhaustive]
pub struct PutObjectRequest {
    /// Where to store the image (bucket and key; no version).
    pub object: S3ObjectRef,
    /// The image.
    pub image: FaceImage,
    /// The KMS key to encrypt it with (`x-amz-server-side-encryption:
    /// aws:kms` and this key id); `None`, for a policy that allows any
    /// key: no encryption header, so the bucket's default encryption
    /// applies (`aws:kms` without a key id would mean the AWS managed key
    /// `aws/s3`, S3 API Reference, PutObject). The guard reads the object
    /// back and refuses it unless it is SSE-KMS.
    pub kms_key: Option<KmsKeyArn>,
    /// The account that must own the bucket, if the policy sets one.
    pub expected_bucket_owner: Option<AccountId>,
}

impl PutObjectRequest {
    pub(crate) fn new(
        object: S3ObjectRef,
        image: FaceImage,
        kms_key: Option<KmsKeyArn>,
        expected_bucket_owner: Option<AccountId>,
    ) -> Self {
        Self {
            object,
            image,
            kms_key,
            expected_bucket_owner,
        }
    }
}

/// A ledger record to write ([`S3Backend::put_record`]). Only the ledger
/// builds one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PutRecordRequest {
    /// Where (bucket and key; no version).
    pub object: S3ObjectRef,
    /// The record's exact bytes (`application/json`).
    pub body: Vec<u8>,
    /// The KMS key to encrypt it with; `None`: the bucket's default
    /// encryption.
    pub kms_key: Option<KmsKeyArn>,
    /// The S3 Object Lock retention to set; `None`: the bucket's default
    /// retention.
    pub retention: Option<(RetentionMode, SystemTime)>,
    /// The account that must own the bucket, if set.
    pub expected_bucket_owner: Option<AccountId>,
}

impl PutRecordRequest {
    pub(crate) fn new(
        object: S3ObjectRef,
        body: Vec<u8>,
        kms_key: Option<KmsKeyArn>,
        retention: Option<(RetentionMode, SystemTime)>,
        expected_bucket_owner: Option<AccountId>,
    ) -> Self {
        Self {
            object,
            body,
            kms_key,
            retention,
            expected_bucket_owner,
        }
    }
}

/// What [`S3Backend::put_record`] reports: the version written and the
/// encryption `PutObject`'s answer states (`x-amz-server-side-encryption`,
/// `x-amz-server-side-encryption-aws-kms-key-id`), `None` where it sent
/// none.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutRecordReceipt {
    /// The version id S3 assigned.
    pub version_id: Option<String>,
    /// The server-side encryption S3 reported.
    pub encryption: Option<crate::at_rest::SseAlgorithm>,
    /// The KMS key S3 reported.
    pub kms_key_id: Option<String>,
}

impl PutRecordReceipt {
    /// A receipt, for a backend's [`S3Backend::put_record`].
    pub fn new(
        version_id: Option<String>,
        encryption: Option<crate::at_rest::SseAlgorithm>,
        kms_key_id: Option<String>,
    ) -> Self {
        Self {
            version_id,
            encryption,
            kms_key_id,
        }
    }
}

/// What [`S3Backend::put_object`] reports about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutObjectReceipt {
    /// The version id the store assigned (versioned buckets).
    pub version_id: Option<String>,
}

impl PutObjectReceipt {
    /// A receipt.
    pub(crate) fn new(version_id: Option<String>) -> Self {
        Self { version_id }
    }
}

/// A boxed error, as kept in source chains.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a backend, coarsely, so callers can react without
/// parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The caller lacks a permission (S3 403, Rekognition AccessDenied).
    AccessDenied,
    /// The object, version or bucket does not exist.
    NotFound,
    /// The service rejected the request as invalid.
    InvalidRequest,
    /// Rekognition could not read an S3 object (permission, KMS, region).
    InvalidS3Object,
    /// The image is larger than the service accepts.
    ImageTooLarge,
    /// The service did not recognise the image format.
    InvalidImageFormat,
    /// Too many requests; retry later.
    Throttled,
    /// The service failed (5xx).
    ServiceUnavailable,
    /// A call timed out.
    Timeout,
    /// The connection failed: refused, reset, a TLS error, or an answer
    /// that is not HTTP.
    Transport,
    /// The server's TLS certificate is not trusted (unknown issuer, wrong
    /// host name, expired, …). Not transient: trust the endpoint's CA
    /// ([`AwsBackendBuilder::ca_bundle_pem`](crate::aws::AwsBackendBuilder::ca_bundle_pem)
    /// or `AWS_CA_BUNDLE`) or fix the endpoint. Never retryable.
    CertificateNotTrusted,
    /// The SDK failed the request with an error that is neither a
    /// connection error nor a timeout, before any answer: resolving the
    /// endpoint (for example without a region), loading credentials or
    /// signing. A configuration problem, never retryable; the message
    /// quotes the SDK's reason.
    Configuration,
    /// The service answered something this crate cannot trust (similarity
    /// out of range, missing fields, …).
    InvalidResponse,
    /// A conditional request's condition did not hold (S3 412): for a
    /// ledger record written with `If-None-Match: *`, another writer took
    /// that key first.
    PreconditionFailed,
    /// The request was refused before transmit because its endpoint is not
    /// HTTPS; nothing was sent. The
    /// guard reports it as [`Violation::InsecureEndpoint`](crate::Violation::InsecureEndpoint).
    InsecureEndpoint,
    /// Anything else.
    Other,
}

/// A failure in S3, Rekognition or the opt-out verifier.
///
/// The message says what to fix; the original SDK error, if any, is kept as
/// [`source`](std::error::Error::source) and not repeated in `Display`.
/// Log-unsafe characters in messages are escaped (crate docs, "Text that reaches a log line")
/// when the error is made, so text a backend quotes from a service cannot
/// forge a log line.
#[derive(Debug)]
pub struct BackendError {
    kind: BackendErrorKind,
    service: Service,
    operation: &'static str,
    message: String,
    retryable: bool,
    insecure: Option<InsecureEndpoint>,
    source: Option<BoxError>,
}

impl BackendError {
    /// A backend error of `kind` in `service`'s `operation`, with a message
    /// that says what to fix. It is retryable by default exactly for
    /// [`Throttled`](BackendErrorKind::Throttled),
    /// [`ServiceUnavailable`](BackendErrorKind::ServiceUnavailable),
    /// [`Timeout`](BackendErrorKind::Timeout) and
    /// [`Transport`](BackendErrorKind::Transport).
    pub fn new(
        kind: BackendErrorKind,
        service: Service,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let retryable = matches!(
            kind,
            BackendErrorKind::Throttled
                | BackendErrorKind::ServiceUnavailable
                | BackendErrorKind::Timeout
                | BackendErrorKind::Transport
        );
        Self {
            kind,
            service,
            operation,
            message: crate::text::neutralize(message.into()),
            retryable,
            insecure: None,
            source: None,
        }
    }

    /// A request of `operation` refused before transmit because its
    /// endpoint is insecure. The guard turns it into
    /// [`Violation::InsecureEndpoint`](crate::Violation::InsecureEndpoint).
    pub fn refused_endpoint(operation: &'static str, refusal: InsecureEndpoint) -> Self {
        let mut e = Self::new(
            BackendErrorKind::InsecureEndpoint,
            refusal.service(),
            operation,
            format!("refused before transmit: {refusal}"),
        );
        e.insecure = Some(refusal);
        e
    }

    /// For [`BackendErrorKind::InsecureEndpoint`]: the refused endpoint and
    /// why.
    pub(crate) fn insecure_endpoint(&self) -> Option<&InsecureEndpoint> {
        self.insecure.as_ref()
    }

    /// Keeps `source` as the cause.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Drops the source: for answers whose raw response may hold image
    /// bytes, which the SDK error's `Debug` would print.
    pub(crate) fn without_source(mut self) -> Self {
        self.source = None;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// Which service failed.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Which operation failed (`HeadObject`, `CompareFaces`, …).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed: {}",
            self.service, self.operation, self.message
        )?;
        if self.retryable {
            f.write_str(" (retryable)")?;
        }
        Ok(())
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The struct literals the crate docs show failing outside the crate
    /// (`compile_fail`: the requests are `#[non_exhaustive]`) compile here,
    /// field for field: a renamed field breaks this build, so those doc
    /// tests cannot pass for another reason (stable rustdoc does not check
    /// their error code).
    #[test]
    fn the_request_literals_of_the_compile_fail_examples_are_exact() {
        let image = || VerifiedImage::Bytes(FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF]).unwrap());
        let compare = CompareFacesRequest {
            source: image(),
            target: image(),
            threshold: SimilarityThreshold::default(),
            quality_filter: QualityFilter::Auto,
        };
        assert_eq!(compare.threshold.get(), 99.0);
        let delete = DeleteObjectVersionRequest {
            bucket: "library-photos".into(),
            key: "members/ada.jpg".into(),
            version_id: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY".into(),
            bypass_governance_retention: true,
            expected_bucket_owner: None,
        };
        assert!(delete.bypass_governance_retention);
    }
}
