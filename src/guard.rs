//! The guarded comparison.

use std::fmt;
use std::sync::Arc;

use crate::at_rest::{verify, AtRestViolation, VerifiedS3Object};
use crate::backend::{
    BoundingBox, CompareRequest, ComparisonFacts, FaceComparer, InspectRequest, ObjectInspector,
    ObjectUploader, UploadRequest, VerifiedImage,
};
use crate::cache::{CacheConfig, VerificationCache};
use crate::error::{
    BackendError, BackendErrorKind, ConfigError, Error, InputError, Refusal, Violation,
};
use crate::input::{names_immutable_version, NULL_VERSION_ID};
use crate::input::{FaceImage, ImageFormat, ImageInput, S3ObjectRef, Service};
use crate::opt_out::{OptOutEvidence, OptOutRecord, OptOutStatus, OptOutViolation};
use crate::policy::{Policy, SimilarityThreshold};
use crate::transit::{InsecureEndpoint, KnownEndpoints};
use std::time::Duration;

/// The `tracing` target of audit events: one event per decision, at `INFO`
/// for comparisons and `WARN` for refusals and errors.
///
/// Fields: `decision` (`match`, `no_match`, `no_face`, `refused`, `error`),
/// `source` and `target` (S3 reference with pinned version and KMS key ARN,
/// or image format and size), `similarity`, `threshold`, `opt_out` (which
/// evidence), `opt_out_account` (for verified evidence, the account it was
/// verified for, which is the account that called Rekognition) and
/// `reasons`. Never image bytes.
pub const AUDIT_TARGET: &str = "rekognition_guard::audit";

/// Which image of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageRole {
    /// The source (the member's reference photo).
    Source,
    /// The target (the live photo).
    Target,
}

impl fmt::Display for ImageRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageRole::Source => "source",
            ImageRole::Target => "target",
        })
    }
}

/// The outcome of a comparison that was allowed to happen.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// A face in the target matched the source face at or above the
    /// threshold. The only approving verdict.
    Match {
        /// The best match's similarity, 0 to 100.
        similarity: f32,
        /// Where the matching face is in the target.
        face: BoundingBox,
    },
    /// Faces were found but none matched at the threshold.
    NoMatch,
    /// No face was found in one image. Not an approval.
    NoFace {
        /// Which image had no face, when the comparer says. `None` for
        /// Rekognition's `InvalidParameterException`, which is its answer
        /// for "no face in the source or target image" and does not say
        /// which; the guard validated the other parameters it could
        /// (threshold, image format, size and dimensions) before the call.
        image: Option<ImageRole>,
    },
}

impl Verdict {
    /// `match`, `no_match` or `no_face`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Match { .. } => "match",
            Verdict::NoMatch => "no_match",
            Verdict::NoFace { .. } => "no_face",
        }
    }

    /// The similarity of a match.
    pub fn similarity(&self) -> Option<f32> {
        match self {
            Verdict::Match { similarity, .. } => Some(*similarity),
            _ => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Match { similarity, .. } => write!(f, "match (similarity {similarity:.1})"),
            Verdict::NoMatch => f.write_str("no match"),
            Verdict::NoFace { image: Some(image) } => {
                write!(f, "no face found in the {image} image")
            }
            Verdict::NoFace { image: None } => f.write_str(
                "Rekognition answered InvalidParameterException, its answer when it finds no face in the source or target image (it gives no more detail)",
            ),
        }
    }
}

/// Where the check of an S3 image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOrigin {
    /// HeadObject was sent for this decision.
    HeadObject,
    /// A pass from the verification cache, `age` old: what S3 said then
    /// (see [`CacheConfig`] for what a cached pass can miss).
    Cache {
        /// How long ago HeadObject answered.
        age: Duration,
    },
}

impl fmt::Display for CheckOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckOrigin::HeadObject => f.write_str("checked now"),
            CheckOrigin::Cache { age } => {
                write!(f, "cached check, {:.1} s old", age.as_secs_f64())
            }
        }
    }
}

/// What was verified about one image of a decision.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CheckedImage {
    /// An S3 object, with the version and KMS key the check saw.
    S3 {
        /// What the check saw.
        object: VerifiedS3Object,
        /// Whether the check ran now or came from the cache, and how old.
        origin: CheckOrigin,
    },
    /// Image bytes.
    Bytes {
        /// Their format.
        format: ImageFormat,
        /// Their size in bytes.
        len: usize,
    },
}

impl CheckedImage {
    fn of(image: &VerifiedImage, origin: Option<CheckOrigin>) -> Self {
        match image {
            VerifiedImage::S3(o) => CheckedImage::S3 {
                object: o.clone(),
                origin: origin.unwrap_or(CheckOrigin::HeadObject),
            },
            VerifiedImage::Bytes(b) => CheckedImage::Bytes {
                format: b.format(),
                len: b.len(),
            },
        }
    }

    /// The S3 object, if this image is one.
    pub fn s3_object(&self) -> Option<&VerifiedS3Object> {
        match self {
            CheckedImage::S3 { object, .. } => Some(object),
            CheckedImage::Bytes { .. } => None,
        }
    }
}

impl fmt::Display for CheckedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckedImage::S3 { object, origin } => write!(f, "{object} [{origin}]"),
            CheckedImage::Bytes { format, len } => write!(f, "image bytes ({format}, {len} bytes)"),
        }
    }
}

/// A comparison that passed every check and was sent to the comparer.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    verdict: Verdict,
    source: CheckedImage,
    target: CheckedImage,
    threshold: SimilarityThreshold,
    opt_out: OptOutRecord,
}

impl Decision {
    /// The verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// `true` only for [`Verdict::Match`]: approve the loan.
    pub fn is_approved(&self) -> bool {
        matches!(self.verdict, Verdict::Match { .. })
    }

    /// What was verified about the source image.
    pub fn source(&self) -> &CheckedImage {
        &self.source
    }

    /// What was verified about the target image.
    pub fn target(&self) -> &CheckedImage {
        &self.target
    }

    /// The threshold the match was held to.
    pub fn threshold(&self) -> SimilarityThreshold {
        self.threshold
    }

    /// The opt-out evidence this decision relied on.
    pub fn opt_out(&self) -> &OptOutRecord {
        &self.opt_out
    }
}

/// Refuses face comparisons that break the privacy policy, and runs the
/// ones that keep it.
///
/// Build one with [`Guard::builder`]; see the [crate docs](crate) for the
/// guarantees and an example.
#[derive(Clone)]
pub struct Guard {
    inspector: Arc<dyn ObjectInspector>,
    comparer: Arc<dyn FaceComparer>,
    uploader: Option<Arc<dyn ObjectUploader>>,
    policy: Policy,
    opt_out: OptOutEvidence,
    cache: Option<Arc<VerificationCache>>,
    known_https: Arc<KnownEndpoints>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inspector", &self.inspector)
            .field("comparer", &self.comparer)
            .field("uploader", &self.uploader)
            .field("policy", &self.policy)
            .field("opt_out", &self.opt_out)
            .finish()
    }
}

/// Builds a [`Guard`]. Opt-out evidence is required: [`build`](Self::build)
/// fails without it.
#[must_use]
pub struct GuardBuilder {
    inspector: Arc<dyn ObjectInspector>,
    comparer: Arc<dyn FaceComparer>,
    uploader: Option<Arc<dyn ObjectUploader>>,
    policy: Policy,
    opt_out: Option<OptOutEvidence>,
    cache: Option<CacheConfig>,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("inspector", &self.inspector)
            .field("comparer", &self.comparer)
            .field("uploader", &self.uploader)
            .field("policy", &self.policy)
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

    /// Sets the uploader [`Guard::enroll`] stores reference photos with
    /// (the AWS backend's guard builder sets it).
    pub fn uploader(mut self, uploader: impl ObjectUploader + 'static) -> Self {
        self.uploader = Some(Arc::new(uploader));
        self
    }

    /// Sets the verification cache (on by default, see [`CacheConfig`]).
    pub fn verification_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Turns the verification cache off: every S3 image is checked with
    /// HeadObject on every comparison.
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
            inspector: self.inspector,
            comparer: self.comparer,
            uploader: self.uploader,
            policy: self.policy,
            opt_out,
            cache: self.cache.map(|c| Arc::new(VerificationCache::new(c))),
            known_https: Arc::default(),
        })
    }
}

/// How one check ended.
enum Check<T> {
    Passed(T),
    Refused(Vec<Violation>),
    Failed(BackendError),
    /// Not attempted because its endpoint is not HTTPS (already a violation).
    Skipped,
}

impl Guard {
    /// Starts a guard over an inspector and a comparer (often one backend
    /// implementing both).
    pub fn builder(
        inspector: impl ObjectInspector + 'static,
        comparer: impl FaceComparer + 'static,
    ) -> GuardBuilder {
        Self::builder_shared(Arc::new(inspector), Arc::new(comparer))
    }

    /// Starts a guard over shared backends.
    pub fn builder_shared(
        inspector: Arc<dyn ObjectInspector>,
        comparer: Arc<dyn FaceComparer>,
    ) -> GuardBuilder {
        GuardBuilder {
            inspector,
            comparer,
            uploader: None,
            policy: Policy::default(),
            opt_out: None,
            cache: Some(CacheConfig::default()),
        }
    }

    /// Whether `endpoint` may be called (see [`crate::transit`]).
    fn endpoint_ok(&self, service: Service, endpoint: &str) -> Result<(), InsecureEndpoint> {
        self.known_https.check(service, endpoint)
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks one S3 object against the policy without comparing anything.
    ///
    /// # Errors
    /// [`Error::Refused`] with every violation, or [`Error::Backend`] when
    /// the metadata could not be read.
    pub async fn check(&self, object: &S3ObjectRef) -> Result<VerifiedS3Object, Error> {
        self.endpoint_ok(Service::S3, &self.inspector.endpoint())
            .map_err(|v| Error::Refused(refusal(vec![Violation::InsecureEndpoint(v)])))?;
        match self.check_object(object).await {
            Check::Passed((v, _)) => Ok(v),
            Check::Refused(v) => Err(Error::Refused(refusal(v))),
            Check::Failed(e) => Err(Error::Backend(e)),
            Check::Skipped => Err(internal_error()),
        }
    }

    /// Forgets every cached check of `object`'s bucket and key (all
    /// versions), so the next comparison sends HeadObject again. For
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

    /// Enrolls a member: stores `image` at `object` over HTTPS with SSE-KMS
    /// under the policy's first allowed KMS key, reads it back with the
    /// inspector (HeadObject), and returns the verified, version-pinned
    /// reference for the application to keep and compare against later.
    ///
    /// # Errors
    /// [`Error::Config`] when the guard has no uploader or the policy names
    /// no KMS key; [`Error::Input`] when `object` names a version (an upload
    /// creates one); [`Error::Refused`] for a non-HTTPS endpoint or when the
    /// stored object does not pass the policy; [`Error::Backend`] when the
    /// upload or the check failed.
    pub async fn enroll(
        &self,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        let result = self.enroll_inner(object, image).await;
        match &result {
            Ok(v) => {
                tracing::info!(target: AUDIT_TARGET, decision = "enrolled", object = %v, "reference photo enrolled")
            }
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                object = %object,
                reasons = %e,
                "reference photo not enrolled"
            ),
        }
        result
    }

    async fn enroll_inner(
        &self,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        let uploader = self.uploader.as_ref().ok_or_else(|| {
            ConfigError::Invalid(
                "this guard has no uploader: build it with AwsBackend::guard_builder or GuardBuilder::uploader".into(),
            )
        })?;
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
        let mut violations = Vec::new();
        push_err(
            &mut violations,
            self.endpoint_ok(Service::S3, &uploader.endpoint()),
        );
        push_err(
            &mut violations,
            self.endpoint_ok(Service::S3, &self.inspector.endpoint()),
        );
        if let Some(refusal) = Refusal::new(violations) {
            return Err(Error::Refused(refusal));
        }
        let request = UploadRequest::new(
            object.clone(),
            image,
            kms_key.clone(),
            self.policy.bucket_owner().cloned(),
        );
        let receipt = uploader.upload(request).await.map_err(backend_error)?;
        let stored = match receipt.version_id.as_deref() {
            Some(v) if names_immutable_version(v) => object
                .clone()
                .with_version_id(v)
                .map_err(|_| internal_error())?,
            // No version, or S3's null version, which names nothing
            // immutable: check the latest, which the policy then treats as
            // unversioned.
            None | Some(NULL_VERSION_ID) => object.clone(),
            Some(_) => {
                return Err(Error::Refused(refusal(vec![Violation::AtRest(
                    AtRestViolation::UnusableMetadata {
                        object: object.clone(),
                        field: "version id",
                    },
                )])))
            }
        };
        match self.check_object(&stored).await {
            Check::Passed((v, _)) => Ok(v),
            Check::Refused(v) => Err(Error::Refused(refusal(v))),
            Check::Failed(e) => Err(Error::Backend(e)),
            Check::Skipped => Err(internal_error()),
        }
    }

    /// Compares the face in `source` (the member's reference photo) with the
    /// faces in `target` (the live photo), if and only if every privacy
    /// requirement holds.
    ///
    /// Checks, before anything reaches the comparer: every endpoint involved
    /// is HTTPS; the opt-out evidence holds (a verifier is asked); each S3
    /// image is SSE-KMS with an allowed key, versioned if required, within
    /// Rekognition's size limit, and belongs to the expected owner. The two
    /// S3 checks and the opt-out check run concurrently. The comparison then
    /// reads exactly the versions the checks saw.
    ///
    /// # Errors
    /// [`Error::Refused`] listing every requirement that failed,
    /// [`Error::Backend`] when a check or the comparison failed. Either way
    /// nothing is approved, and a refusal sends nothing to the comparer.
    pub async fn compare(
        &self,
        source: impl Into<ImageInput>,
        target: impl Into<ImageInput>,
    ) -> Result<Decision, Error> {
        let (source, target) = (source.into(), target.into());
        let labels = (InputLabel::of(&source), InputLabel::of(&target));
        let result = self.compare_inner(source, target).await;
        match &result {
            Ok(d) => tracing::info!(
                target: AUDIT_TARGET,
                decision = d.verdict.label(),
                source = %d.source,
                target = %d.target,
                similarity = d.verdict.similarity().map(tracing::field::display),
                threshold = %d.threshold,
                opt_out = d.opt_out.kind(),
                opt_out_account = d.opt_out.account().map(tracing::field::display),
                opt_out_detail = %d.opt_out,
                "face comparison decided"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                source = %labels.0,
                target = %labels.1,
                threshold = %self.policy.threshold(),
                opt_out = self.opt_out.kind(),
                reasons = %e,
                "face comparison not performed"
            ),
        }
        result
    }

    async fn compare_inner(
        &self,
        source: ImageInput,
        target: ImageInput,
    ) -> Result<Decision, Error> {
        let mut violations = Vec::new();
        let needs_s3 = matches!(source, ImageInput::S3(_)) || matches!(target, ImageInput::S3(_));
        let s3_ok = !needs_s3
            || push_err(
                &mut violations,
                self.endpoint_ok(Service::S3, &self.inspector.endpoint()),
            );
        push_err(
            &mut violations,
            self.endpoint_ok(Service::Rekognition, &self.comparer.endpoint()),
        );
        let verifier = self.opt_out.verifier();
        let verifier_ok = match verifier {
            Some(v) => push_err(
                &mut violations,
                self.endpoint_ok(Service::Organizations, &v.endpoint()),
            ),
            None => false,
        };

        // Verified evidence must be about the account that calls
        // Rekognition: both are asked concurrently and must agree.
        let opt_out_check = async {
            match verifier {
                Some(v) if verifier_ok => {
                    let (status, caller) = tokio::join!(v.verify(), self.comparer.caller_account());
                    match (status, caller) {
                        (Ok(OptOutStatus::OptedOut { detail, account }), Ok(caller))
                            if account == caller =>
                        {
                            Check::Passed(Some((detail, account)))
                        }
                        (Ok(OptOutStatus::OptedOut { account, .. }), Ok(caller)) => Check::Refused(
                            vec![Violation::OptOut(OptOutViolation::ForAnotherAccount {
                                evidence_account: account,
                                rekognition_account: caller,
                            })],
                        ),
                        (Ok(OptOutStatus::NotOptedOut { reason }), _) => {
                            Check::Refused(vec![Violation::OptOut(OptOutViolation::NotInEffect {
                                reason,
                            })])
                        }
                        (Err(e), _) | (Ok(OptOutStatus::OptedOut { .. }), Err(e)) => failed(e),
                    }
                }
                Some(_) => Check::Skipped,
                None => Check::Passed(None),
            }
        };
        let (opt_out, source_check, target_check) = tokio::join!(
            opt_out_check,
            self.check_input(source, s3_ok),
            self.check_input(target, s3_ok),
        );

        let mut failure = None;
        let mut collect = |check: Check<()>| match check {
            Check::Refused(v) => violations.extend(v),
            Check::Failed(e) => {
                failure.get_or_insert(e);
            }
            Check::Passed(()) | Check::Skipped => {}
        };
        let (opt_out_detail, opt_out) = split(opt_out);
        collect(opt_out);
        let (source_verified, source_check) = split(source_check);
        collect(source_check);
        let (target_verified, target_check) = split(target_check);
        collect(target_check);

        if let Some(refusal) = Refusal::new(violations) {
            return Err(Error::Refused(refusal));
        }
        if let Some(e) = failure {
            return Err(Error::Backend(e));
        }
        let (Some(Some(opt_out)), Some(source), Some(target)) = (
            opt_out_detail.map(|verified| self.opt_out.record(verified)),
            source_verified,
            target_verified,
        ) else {
            // Every check that did not pass left a violation or an error, so
            // this cannot happen; should it ever, fail closed, not panic.
            return Err(internal_error());
        };

        let threshold = self.policy.threshold();
        let ((source, source_origin), (target, target_origin)) = (source, target);
        let checked_source = CheckedImage::of(&source, source_origin);
        let checked_target = CheckedImage::of(&target, target_origin);
        let request = CompareRequest::new(source, target, threshold, self.policy.quality());
        let facts = match self.comparer.compare(request).await {
            Ok(facts) => facts,
            Err(e) => {
                // Rekognition could not read an S3 image, or was denied:
                // whatever was cached about them may no longer hold.
                if matches!(
                    e.kind(),
                    BackendErrorKind::InvalidS3Object | BackendErrorKind::AccessDenied
                ) {
                    for object in [&checked_source, &checked_target]
                        .into_iter()
                        .filter_map(CheckedImage::s3_object)
                    {
                        self.forget_check(&object.reference());
                    }
                }
                return Err(backend_error(e));
            }
        };
        Ok(Decision {
            verdict: verdict_from(facts, threshold)?,
            source: checked_source,
            target: checked_target,
            threshold,
            opt_out,
        })
    }

    async fn check_input(
        &self,
        input: ImageInput,
        s3_ok: bool,
    ) -> Check<(VerifiedImage, Option<CheckOrigin>)> {
        match input {
            ImageInput::Bytes(image) => Check::Passed((VerifiedImage::Bytes(image), None)),
            ImageInput::S3(_) if !s3_ok => Check::Skipped,
            ImageInput::S3(object) => match self.check_object(&object).await {
                Check::Passed((v, origin)) => Check::Passed((VerifiedImage::S3(v), Some(origin))),
                Check::Refused(v) => Check::Refused(v),
                Check::Failed(e) => Check::Failed(e),
                Check::Skipped => Check::Skipped,
            },
        }
    }

    /// HeadObject and the policy, or a cached pass. Any error or refusal
    /// about the object drops what the cache knew about it.
    async fn check_object(&self, object: &S3ObjectRef) -> Check<(VerifiedS3Object, CheckOrigin)> {
        if let Some((hit, age)) = self.cache.as_ref().and_then(|c| c.get(object)) {
            tracing::debug!(object = %object, age_ms = age.as_millis(), "verification cache hit: HeadObject skipped");
            return Check::Passed((hit, CheckOrigin::Cache { age }));
        }
        let request = InspectRequest::new(object.clone(), self.policy.bucket_owner().cloned());
        let check = match self.inspector.inspect(&request).await {
            Ok(facts) => match verify(object, &facts, &self.policy) {
                Ok(v) => {
                    if let Some(cache) = &self.cache {
                        cache.insert(object, &v);
                    }
                    return Check::Passed((v, CheckOrigin::HeadObject));
                }
                Err(v) => Check::Refused(v.into_iter().map(Violation::AtRest).collect()),
            },
            Err(e) => failed(e),
        };
        self.forget_check(object);
        check
    }
}

/// A backend failure as a check result: a request refused before transmit
/// for a non-HTTPS endpoint is a policy violation, anything else a failure.
fn failed<T>(e: BackendError) -> Check<T> {
    match insecure_violation(&e) {
        Some(v) => Check::Refused(vec![v]),
        None => Check::Failed(e),
    }
}

/// For states the checks rule out by construction: should one ever occur,
/// fail closed with an error rather than panic.
fn internal_error() -> Error {
    Error::Backend(BackendError::new(
        BackendErrorKind::Other,
        Service::Rekognition,
        "CompareFaces",
        "internal error: a check ended without a result; nothing was compared",
    ))
}

/// A backend failure as this crate's error: a refusal before transmit is a
/// policy refusal, anything else a backend error.
fn backend_error(e: BackendError) -> Error {
    match insecure_violation(&e) {
        Some(v) => Error::Refused(refusal(vec![v])),
        None => Error::Backend(e),
    }
}

fn insecure_violation(e: &BackendError) -> Option<Violation> {
    e.insecure_endpoint()
        .cloned()
        .map(Violation::InsecureEndpoint)
}

/// The input of a decision, for the audit event: the S3 reference, or the
/// bytes' format and size.
enum InputLabel {
    S3(S3ObjectRef),
    Bytes { format: ImageFormat, len: usize },
}

impl InputLabel {
    fn of(input: &ImageInput) -> Self {
        match input {
            ImageInput::S3(r) => InputLabel::S3(r.clone()),
            ImageInput::Bytes(b) => InputLabel::Bytes {
                format: b.format(),
                len: b.len(),
            },
        }
    }
}

impl fmt::Display for InputLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputLabel::S3(r) => r.fmt(f),
            InputLabel::Bytes { format, len } => write!(f, "image bytes ({format}, {len} bytes)"),
        }
    }
}

/// Records `result`'s violation, if any; `true` when there was none.
fn push_err(violations: &mut Vec<Violation>, result: Result<(), InsecureEndpoint>) -> bool {
    match result {
        Ok(()) => true,
        Err(v) => {
            violations.push(Violation::InsecureEndpoint(v));
            false
        }
    }
}

/// Separates a passed check's value from how the check ended.
fn split<T>(check: Check<T>) -> (Option<T>, Check<()>) {
    match check {
        Check::Passed(v) => (Some(v), Check::Passed(())),
        Check::Refused(v) => (None, Check::Refused(v)),
        Check::Failed(e) => (None, Check::Failed(e)),
        Check::Skipped => (None, Check::Skipped),
    }
}

fn refusal(violations: Vec<Violation>) -> Refusal {
    Refusal::new(violations).expect("a refused check names at least one violation")
}

/// Turns a comparer's facts into a verdict, refusing facts that cannot be
/// trusted (similarity out of range, non-finite numbers).
fn verdict_from(facts: ComparisonFacts, threshold: SimilarityThreshold) -> Result<Verdict, Error> {
    let invalid = |message: String| {
        Error::Backend(BackendError::new(
            BackendErrorKind::InvalidResponse,
            Service::Rekognition,
            "CompareFaces",
            message,
        ))
    };
    match facts {
        ComparisonFacts::NoFaceInSource => Ok(Verdict::NoFace {
            image: Some(ImageRole::Source),
        }),
        ComparisonFacts::NoFaceDetected => Ok(Verdict::NoFace { image: None }),
        ComparisonFacts::Faces {
            matches,
            unmatched_faces,
        } => {
            for m in &matches {
                if !(0.0..=100.0).contains(&m.similarity) {
                    return Err(invalid(format!(
                        "the comparer reported similarity {}, outside 0 to 100",
                        m.similarity
                    )));
                }
                if !m.bounding_box.is_finite() {
                    return Err(invalid(
                        "the comparer reported a face box that is not a finite number".into(),
                    ));
                }
            }
            let best = matches
                .iter()
                .max_by(|a, b| a.similarity.total_cmp(&b.similarity));
            Ok(match best {
                Some(m) if m.similarity >= threshold.get() => Verdict::Match {
                    similarity: m.similarity,
                    face: m.bounding_box,
                },
                Some(_) => Verdict::NoMatch,
                None if unmatched_faces == 0 => Verdict::NoFace {
                    image: Some(ImageRole::Target),
                },
                None => Verdict::NoMatch,
            })
        }
    }
}
