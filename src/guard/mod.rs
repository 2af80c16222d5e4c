//! The guard: every operation takes one guarded path (`path.rs`) that
//! checks the three requirements before any backend is called, then calls
//! exactly one backend method with the proofs.

mod audit;
mod erasure;
mod inventory;
mod liveness;
mod path;
mod verdict;

use std::fmt;
use std::sync::Arc;

pub use crate::decision::{CheckOrigin, CheckedImage, Decision, ImageRole, Verdict};

use audit::InputLabel;
use path::{backend_error, internal_error, refused};
use verdict::verdict_from;

use crate::at_rest::{AtRestViolation, VerifiedS3Object};
use crate::backend::{
    BackendError, BackendErrorKind, CompareFacesRequest, ComparisonFacts, DetectFacesRequest,
    PutObjectRequest, RekognitionBackend, S3Backend, VerifiedImage,
};
use crate::cache::{CacheConfig, VerificationCache};
use crate::error::{ConfigError, Error};
use crate::input::{
    names_immutable_version, FaceImage, ImageInput, InputError, S3ObjectRef, NULL_VERSION_ID,
};
use crate::liveness::LivenessPolicy;
use crate::opt_out::{OptOutEvidence, OptOutRecord};
use crate::policy::{Policy, SimilarityThreshold};
use crate::quality::{FaceAssessment, QualityPolicy, GATE_ATTRIBUTES};
use crate::refusal::{Operation, Violation};

/// Refuses face operations that break the privacy policy, and runs the
/// ones that keep it.
///
/// Build one with [`Guard::builder`]; see the [crate docs](crate) for the
/// guarantees and an example. Cheap to clone; clones share the
/// verification cache.
#[derive(Clone)]
pub struct Guard {
    s3: Arc<dyn S3Backend>,
    rekognition: Arc<dyn RekognitionBackend>,
    policy: Policy,
    quality: QualityPolicy,
    liveness: Option<LivenessPolicy>,
    opt_out: OptOutEvidence,
    cache: Option<Arc<VerificationCache>>,
    liveness_state: Arc<liveness::State>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("s3", &self.s3)
            .field("rekognition", &self.rekognition)
            .field("policy", &self.policy)
            .field("quality", &self.quality)
            .field("liveness", &self.liveness)
            .field("opt_out", &self.opt_out)
            .finish()
    }
}

/// Builds a [`Guard`]. Opt-out evidence is required: [`build`](Self::build)
/// fails without it.
#[must_use]
pub struct GuardBuilder {
    s3: Arc<dyn S3Backend>,
    rekognition: Arc<dyn RekognitionBackend>,
    policy: Policy,
    quality: QualityPolicy,
    liveness: Option<LivenessPolicy>,
    opt_out: Option<OptOutEvidence>,
    cache: Option<CacheConfig>,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("s3", &self.s3)
            .field("rekognition", &self.rekognition)
            .field("policy", &self.policy)
            .field("quality", &self.quality)
            .field("liveness", &self.liveness)
            .field("opt_out", &self.opt_out)
            .finish()
    }
}

impl GuardBuilder {
    /// Sets the policy (default: [`Policy::new`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the enrollment quality gate (default: [`QualityPolicy::default`]).
    pub fn quality_gate(mut self, gate: QualityPolicy) -> Self {
        self.quality = gate;
        self
    }

    /// Enables Face Liveness ([`Guard::start_liveness`],
    /// [`Guard::verify_liveness`]) with `policy`.
    pub fn liveness(mut self, policy: LivenessPolicy) -> Self {
        self.liveness = Some(policy);
        self
    }

    /// Sets the verification cache (on by default, see [`CacheConfig`]).
    pub fn verification_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Turns the verification cache off: every S3 image is checked with
    /// HeadObject on every operation.
    pub fn without_verification_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// Sets the opt-out evidence. Required.
    pub fn opt_out(mut self, evidence: OptOutEvidence) -> Self {
        self.opt_out = Some(evidence);
        self
    }

    /// Builds the guard.
    ///
    /// # Errors
    /// [`ConfigError::MissingOptOutEvidence`] when no opt-out evidence was
    /// given: there is no default.
    pub fn build(self) -> Result<Guard, ConfigError> {
        let opt_out = self.opt_out.ok_or(ConfigError::MissingOptOutEvidence)?;
        Ok(Guard {
            s3: self.s3,
            rekognition: self.rekognition,
            policy: self.policy,
            quality: self.quality,
            liveness: self.liveness,
            opt_out,
            cache: self.cache.map(|c| Arc::new(VerificationCache::new(c))),
            liveness_state: Arc::default(),
        })
    }
}

impl Guard {
    /// Starts a guard over S3 and Rekognition backends, often one backend
    /// implementing both ([`AwsBackend`](crate::aws::AwsBackend),
    /// [`InMemoryBackend`](crate::memory::InMemoryBackend)). To share a
    /// backend, pass an `Arc` of it: an `Arc` of a backend is a backend.
    pub fn builder(
        s3: impl S3Backend + 'static,
        rekognition: impl RekognitionBackend + 'static,
    ) -> GuardBuilder {
        GuardBuilder {
            s3: Arc::new(s3),
            rekognition: Arc::new(rekognition),
            policy: Policy::default(),
            quality: QualityPolicy::default(),
            liveness: None,
            opt_out: None,
            cache: Some(CacheConfig::default()),
        }
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The enrollment quality gate.
    pub fn quality_gate(&self) -> &QualityPolicy {
        &self.quality
    }

    /// Checks one S3 object against the policy without comparing anything.
    ///
    /// # Errors
    /// [`Error::Refused`] with every violation, or [`Error::Backend`] when
    /// the metadata could not be read.
    pub async fn check(&self, object: &S3ObjectRef) -> Result<VerifiedS3Object, Error> {
        let [cleared] = self
            .clear(Operation::CheckObject, [ImageInput::from(object)])
            .await?
            .images;
        match cleared.image {
            VerifiedImage::S3(v) => Ok(v),
            VerifiedImage::Bytes(_) => Err(internal_error(Operation::CheckObject)),
        }
    }

    /// Forgets every cached check of `object`'s bucket and key (all
    /// versions), so the next operation sends HeadObject again. For
    /// operators who re-encrypt objects in place (see [`CacheConfig`]).
    pub fn forget_check(&self, object: &S3ObjectRef) {
        if let Some(cache) = &self.cache {
            cache.forget(object);
        }
    }

    /// Forgets every cached check of this guard (and its clones).
    pub fn forget_all_checks(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Compares the face in `source` (the member's reference photo) with the
    /// faces in `target` (the live photo), if and only if every privacy
    /// requirement holds.
    ///
    /// Checks, before anything reaches Rekognition: every endpoint involved
    /// is HTTPS; the opt-out evidence holds for the account that calls
    /// Rekognition (a verifier is asked); each S3 image is SSE-KMS with an
    /// allowed key, versioned if required, within Rekognition's size limit,
    /// and belongs to the expected owner. The S3 checks and the opt-out
    /// check run concurrently. The comparison then reads exactly the
    /// versions the checks saw.
    ///
    /// Inputs are an [`S3ObjectRef`] (owned or borrowed) or a
    /// [`FaceImage`]. The SDK already retries throttling, 5xx answers and
    /// transient network errors (standard mode, three attempts) before an
    /// error with [`Error::is_retryable`] reaches you.
    ///
    /// # Errors
    /// [`Error::Refused`] listing every requirement that failed,
    /// [`Error::Backend`] when a check or the comparison failed. Either way
    /// nothing is approved, and a refusal sends nothing to Rekognition.
    pub async fn compare(
        &self,
        source: impl Into<ImageInput>,
        target: impl Into<ImageInput>,
    ) -> Result<Decision, Error> {
        const OP: Operation = Operation::CompareFaces;
        let (source, target) = (source.into(), target.into());
        let labels = (InputLabel::of(&source), InputLabel::of(&target));
        // The guarded path (`clear`) written out, so that the backend's
        // future is awaited here, not in a frame nested around it.
        let mut settled = self.settle(OP, [source, target]);
        if settled.needs_io() {
            // Boxed, so that its state (HeadObject and opt-out verifier
            // futures) stays out of this future: fewer instructions per
            // call when it is not needed (cached images, attested or
            // waived evidence). When it is, its one allocation sits beside
            // HeadObject's I/O or the verifier's own boxed futures.
            Box::pin(self.check_pending(&mut settled)).await;
        }
        let result = match self.prepare_compare(settled) {
            Ok(PreparedCompare { request, checked }) => {
                let facts = self.rekognition.compare_faces(request).await;
                self.finish_compare(facts, checked)
            }
            Err(e) => Err(e),
        };
        self.audit_compare(&result, labels);
        result
    }

    /// The request of a comparison that passed the guarded path, or the
    /// refusal.
    #[inline(never)]
    fn prepare_compare(&self, settled: path::Settled<2>) -> Result<PreparedCompare, Error> {
        const OP: Operation = Operation::CompareFaces;
        let clearance = self.conclude(OP, settled)?;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        let [source, target] = clearance.images;
        let threshold = self.policy.threshold();
        let checked = Checked {
            source: CheckedImage::of(&source.image, source.origin),
            target: CheckedImage::of(&target.image, target.origin),
            threshold,
            opt_out,
        };
        let request =
            CompareFacesRequest::new(source.image, target.image, threshold, self.policy.quality());
        Ok(PreparedCompare { request, checked })
    }

    /// The decision from CompareFaces' answer.
    fn finish_compare(
        &self,
        facts: Result<ComparisonFacts, BackendError>,
        checked: Checked,
    ) -> Result<Decision, Error> {
        match facts {
            Ok(facts) => Ok(Decision {
                verdict: verdict_from(facts, checked.threshold)?,
                source: checked.source,
                target: checked.target,
                threshold: checked.threshold,
                opt_out: checked.opt_out,
            }),
            Err(e) => Err(self.compare_failed(e, &checked)),
        }
    }

    /// CompareFaces failed. Out of line: the warm path only decides.
    #[cold]
    #[inline(never)]
    fn compare_failed(&self, e: BackendError, checked: &Checked) -> Error {
        // Rekognition could not read an S3 image, or was denied: whatever
        // was cached about them may no longer hold.
        if matches!(
            e.kind(),
            BackendErrorKind::InvalidS3Object | BackendErrorKind::AccessDenied
        ) {
            for object in [&checked.source, &checked.target]
                .into_iter()
                .filter_map(CheckedImage::s3_object)
            {
                self.forget_check(&object.reference());
            }
        }
        backend_error(Operation::CompareFaces, e)
    }

    /// Runs the enrollment quality gate on `image` (Rekognition
    /// `DetectFaces`, asking only for the attributes the gate needs) under
    /// the same requirements as any Rekognition call, and says whether it
    /// can be a reference photo and, if not, every reason. For a kiosk that
    /// wants to retake a photo before enrolling it.
    ///
    /// # Errors
    /// [`Error::Refused`] when a requirement fails (nothing sent to
    /// Rekognition), [`Error::Backend`] when DetectFaces failed. A photo
    /// that fails the gate is not an error: see
    /// [`FaceAssessment::is_acceptable`].
    pub async fn assess_face(&self, image: impl Into<ImageInput>) -> Result<FaceAssessment, Error> {
        let image = image.into();
        let label = InputLabel::of(&image);
        let result = self.assess_inner(Operation::DetectFaces, image).await;
        self.audit_assess(&result, label);
        result
    }

    async fn assess_inner(
        &self,
        operation: Operation,
        image: ImageInput,
    ) -> Result<FaceAssessment, Error> {
        let [cleared] = self.clear(operation, [image]).await?.images;
        let faces = self
            .rekognition
            .detect_faces(DetectFacesRequest::new(cleared.image, GATE_ATTRIBUTES))
            .await
            .map_err(|e| backend_error(operation, e))?;
        Ok(self.quality.assess(&faces))
    }

    /// Enrolls a member: runs the quality gate on `image` (DetectFaces; a
    /// photo that fails is never stored), stores it at `object` over HTTPS
    /// with SSE-KMS under the policy's first allowed KMS key, reads it back
    /// with HeadObject, and returns the verified, version-pinned reference
    /// for the application to keep and compare against later.
    ///
    /// # Errors
    /// [`Error::Config`] when the policy names
    /// no KMS key; [`Error::Input`] when `object` names a version (an upload
    /// creates one); [`Error::PhotoRejected`] when the photo fails the
    /// quality gate (nothing stored); [`Error::Refused`] when a requirement
    /// fails before the upload (nothing sent, nothing stored) or the stored
    /// object does not pass the policy; [`Error::Backend`] when a call
    /// failed.
    pub async fn enroll(
        &self,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        let result = self.enroll_inner(object, image).await;
        self.audit_enroll(&result, object);
        result
    }

    async fn enroll_inner(
        &self,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        const OP: Operation = Operation::Enroll;
        if object.version_id().is_some() {
            return Err(InputError::InvalidS3Reference {
                input: object.to_string(),
                reason: "enrollment stores a new version; give the reference without ?versionId="
                    .into(),
            }
            .into());
        }
        let kms_key = self.policy.allowed_kms_keys().first().ok_or_else(|| {
            ConfigError::Invalid(
                "enrollment needs a KMS key: add one with Policy::allow_kms_key (the first is used)".into(),
            )
        })?;
        // DetectFaces reads a copy: the original goes to PutObject only if
        // the gate accepts the photo.
        let copy = image.duplicate();
        let assessment = self.assess_inner(OP, ImageInput::Bytes(copy)).await?;
        if !assessment.is_acceptable() {
            return Err(Error::PhotoRejected(assessment));
        }
        let request = PutObjectRequest::new(
            object.clone(),
            image,
            kms_key.clone(),
            self.policy.bucket_owner().cloned(),
        );
        let receipt = self
            .s3
            .put_object(request)
            .await
            .map_err(|e| backend_error(OP, e))?;
        let stored = match receipt.version_id.as_deref() {
            Some(v) if names_immutable_version(v) => object
                .clone()
                .with_version_id(v)
                .map_err(|_| internal_error(OP))?,
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
        self.check_object(&stored)
            .await
            .into_result(Operation::CheckObject)
            .map(|(v, _)| v)
    }
}

/// A comparison that passed the guarded path: its request, and what the
/// decision will say about its images.
struct PreparedCompare {
    request: CompareFacesRequest,
    checked: Checked,
}

/// What a decision records besides its verdict.
struct Checked {
    source: CheckedImage,
    target: CheckedImage,
    threshold: SimilarityThreshold,
    opt_out: OptOutRecord,
}
