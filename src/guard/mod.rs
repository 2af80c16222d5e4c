//! The photo store (`store.rs`: S3 only, no opt-out evidence) and the
//! guard (a store, Rekognition and the opt-out evidence). Every operation
//! that sends an image to Rekognition takes one guarded path (`path.rs`)
//! that checks the requirements before the backend is called, then calls
//! exactly one backend method with the proofs.

mod audit;
pub(crate) mod collection;
mod erasure;
mod inventory;
mod ledger;
pub(crate) mod liveness;
mod path;
pub(crate) mod store;
mod verdict;
pub(crate) mod withdrawal;

use std::fmt;
use std::sync::Arc;

use crate::decision::{CheckedImage, Decision};
pub(crate) use store::PhotoStore;

use audit::InputLabel;
use path::{backend_error, internal_error};
use verdict::verdict_from;

use crate::at_rest::VerifiedS3Object;
use crate::backend::{
    BackendError, BackendErrorKind, CompareFacesRequest, ComparisonFacts, DetectFacesRequest,
    RekognitionBackend,
};
use crate::error::Error;
use crate::input::{FaceImage, ImageInput, S3ObjectRef};
use crate::opt_out::{OptOutEvidence, OptOutRecord};
use crate::policy::{Policy, SimilarityThreshold};
use crate::quality::{FaceAssessment, QualityPolicy, GATE_ATTRIBUTES};
use crate::refusal::Operation;

/// Refuses face operations that break the privacy policy, and runs the
/// ones that keep it: everything that sends an image to Amazon
/// Rekognition (CompareFaces, the enrollment quality gate, Face
/// Liveness).
///
/// A guard is a [`PhotoStore`] (the S3 side and the policy), a
/// Rekognition backend and the AI services opt-out evidence, all three
/// required by [`Guard::new`]: a guard without evidence cannot exist.
/// S3-only work (storing, erasing, auditing) needs no guard: use the
/// store. See the [crate docs](crate) for the guarantees and an example.
/// Cheap to clone; clones share the verification cache and the Face
/// Liveness state.
#[derive(Clone)]
pub struct Guard {
    store: PhotoStore,
    rekognition: Arc<dyn RekognitionBackend>,
    quality: QualityPolicy,
    opt_out: OptOutEvidence,
    liveness_state: Arc<liveness::State>,
    ledger: Option<crate::ledger::Ledger>,
}

/// A comparison whose reference photo is being checked while the camera
/// runs: made by [`Guard::prepare`]. Holds no image.
#[must_use = "compare the live photo with `compare`; dropping it compares nothing"]
#[derive(Debug)]
pub struct PreparedComparison {
    guard: Guard,
    reference: S3ObjectRef,
    check: tokio::task::JoinHandle<()>,
}

impl PreparedComparison {
    /// The reference photo being checked.
    pub fn reference(&self) -> &S3ObjectRef {
        &self.reference
    }

    /// Compares the reference with `live` as [`Guard::compare`] does,
    /// after the check [`Guard::prepare`] started (awaited first, so
    /// HeadObject is not sent twice).
    ///
    /// # Errors
    /// As [`Guard::compare`].
    pub async fn compare(self, live: impl Into<ImageInput>) -> Result<Decision, Error> {
        // A check that panicked or was cancelled left nothing in the
        // cache: the comparison checks afresh.
        let _ = self.check.await;
        self.guard.compare(self.reference, live).await
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("store", &self.store)
            .field("rekognition", &self.rekognition)
            .field("quality", &self.quality)
            .field("opt_out", &self.opt_out)
            .finish()
    }
}

impl Guard {
    /// A guard over `store` (S3 and the policy) and `rekognition`, sending
    /// images to Rekognition only while `opt_out` holds for the account
    /// that calls it. `rekognition` is often the backend the store uses
    /// ([`AwsBackend`](crate::aws::AwsBackend),
    /// [`InMemoryBackend`](crate::memory::InMemoryBackend)); an `Arc` of a
    /// backend is a backend, to share one.
    ///
    /// ```
    /// use rekognition_guard::memory::InMemoryBackend;
    /// use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy};
    ///
    /// # fn main() -> Result<(), rekognition_guard::Error> {
    /// let aws = InMemoryBackend::new();
    /// let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
    /// let guard = Guard::new(store, aws, OptOutEvidence::attested("AWS Support case 1234567890")?);
    /// # let _ = guard;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Without evidence there is no guard, and a store alone cannot send
    /// anything to Rekognition; neither compiles:
    ///
    /// ```compile_fail
    /// # use rekognition_guard::{memory::InMemoryBackend, Guard, PhotoStore, Policy};
    /// let aws = InMemoryBackend::new();
    /// let guard = Guard::new(PhotoStore::new(aws.clone(), Policy::any_kms_key()), aws);
    /// ```
    ///
    /// ```compile_fail
    /// # use rekognition_guard::{memory::InMemoryBackend, FaceImage, PhotoStore, Policy, S3ObjectRef};
    /// # async fn f(member: S3ObjectRef, live: FaceImage) {
    /// let store = PhotoStore::new(InMemoryBackend::new(), Policy::any_kms_key());
    /// let decision = store.compare(member, live).await;
    /// # }
    /// ```
    pub fn new(
        store: PhotoStore,
        rekognition: impl RekognitionBackend + 'static,
        opt_out: OptOutEvidence,
    ) -> Self {
        Self {
            store,
            rekognition: Arc::new(rekognition),
            quality: QualityPolicy::default(),
            opt_out,
            liveness_state: Arc::default(),
            ledger: None,
        }
    }

    /// The same guard with `gate` as the enrollment quality gate (default:
    /// [`QualityPolicy::default`]).
    #[must_use]
    pub fn with_quality_gate(mut self, gate: QualityPolicy) -> Self {
        self.quality = gate;
        self
    }

    /// The photo store: the S3 side of this guard, sharing its
    /// verification cache.
    pub fn store(&self) -> &PhotoStore {
        &self.store
    }

    /// The policy this guard enforces (its store's).
    fn policy(&self) -> &Policy {
        &self.store.policy
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
        let (source, target) = (source.into(), target.into());
        let labels = (InputLabel::of(&source), InputLabel::of(&target));
        let result = self.compare_inner([source, target]).await;
        let event = self
            .ledger
            .as_ref()
            .map(|_| ledger::compare_event(&result, &labels));
        self.audit_compare(&result, labels);
        match event {
            None => result,
            Some(event) => {
                self.recorded(result, event, |d, receipt| d.ledger = Some(receipt))
                    .await
            }
        }
    }

    /// Starts the checks of a comparison with `reference` now, so that the
    /// comparison that follows ([`PreparedComparison::compare`]) is one
    /// round trip: for a kiosk, call it when the card is tapped, while the
    /// camera runs.
    ///
    /// A Tokio task runs the guarded path for `reference` at once:
    /// HeadObject under the policy (its pass goes into the verification
    /// cache, for a reference that names an immutable version) and the
    /// opt-out verifier (the Organizations verifier keeps its positive
    /// answer for its TTL; a verifier of your own is asked again unless it
    /// caches). Only a pinned reference gains: an unpinned one is never
    /// cached, so its comparison checks it again. [`PreparedComparison::compare`] waits for that task
    /// (so HeadObject is never sent twice), then compares as
    /// [`Guard::compare`] does: the reference is judged by the cached
    /// check, under the cache's rules exactly (what it can miss, and for
    /// how long: [`CacheConfig`](crate::CacheConfig); an erasure or
    /// [`PhotoStore::forget_check`] in between is honoured), and the
    /// decision says how old the check was
    /// ([`CheckOrigin`](crate::CheckOrigin)). When the check refused or
    /// failed, or the cache is off or its entry expired, the comparison
    /// checks again from the start: preparing never loosens anything; it
    /// only moves the wait to before the photo.
    ///
    /// Must be called within a Tokio runtime. Dropping the
    /// [`PreparedComparison`] lets the check finish and compares nothing.
    ///
    /// ```
    /// # use rekognition_guard::memory::{InMemoryBackend, SimulatedObject, DEFAULT_ACCOUNT};
    /// # use rekognition_guard::{FaceImage, Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let aws = InMemoryBackend::new();
    /// # aws.create_bucket("library-photos", DEFAULT_ACCOUNT, true);
    /// # let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    /// # let version = aws.put("library-photos", "members/ada.jpg", SimulatedObject::sse_kms(key).with_face("ada")).unwrap();
    /// # let live = b"\xFF\xD8\xFF\xE0 ada at the kiosk".to_vec();
    /// # aws.register_image(&live, "ada");
    /// # aws.set_similarity("ada", "ada", 99.6);
    /// # let guard = Guard::new(PhotoStore::new(aws.clone(), Policy::any_kms_key()), aws, OptOutEvidence::attested("AWS Support case 1234567890")?);
    /// let member = S3ObjectRef::parse(&format!("s3://library-photos/members/ada.jpg?versionId={version}"))?;
    /// let pending = guard.prepare(&member); // the card is tapped
    /// // ... the camera runs; the photo is taken ...
    /// let decision = pending.compare(FaceImage::from_vec(live)?).await?;
    /// assert!(decision.is_approved());
    /// # Ok(()) }
    /// ```
    pub fn prepare(&self, reference: &S3ObjectRef) -> PreparedComparison {
        let guard = self.clone();
        let object = reference.clone();
        let check = tokio::spawn(async move {
            // The outcome is read again by the comparison (from the cache,
            // or by checking afresh); nothing is decided here.
            let _ = guard
                .clear(Operation::CompareFaces, [ImageInput::S3(object)])
                .await;
        });
        PreparedComparison {
            guard: self.clone(),
            reference: reference.clone(),
            check,
        }
    }

    /// The guarded path, then CompareFaces.
    async fn compare_inner(&self, images: [ImageInput; 2]) -> Result<Decision, Error> {
        let clearance = self.clear(Operation::CompareFaces, images).await?;
        let PreparedCompare { request, checked } = self.prepare_compare(clearance)?;
        let facts = self.rekognition.compare_faces(request).await;
        self.finish_compare(facts, checked)
    }

    /// The request of a comparison that passed the guarded path.
    fn prepare_compare(&self, clearance: path::Clearance<2>) -> Result<PreparedCompare, Error> {
        const OP: Operation = Operation::CompareFaces;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        let [source, target] = clearance.images;
        let threshold = self.policy().similarity_threshold();
        let checked = Checked {
            source: CheckedImage::of(&source.image, source.origin),
            target: CheckedImage::of(&target.image, target.origin),
            threshold,
            opt_out,
        };
        let request = CompareFacesRequest::new(
            source.image,
            target.image,
            threshold,
            self.policy().quality_filter(),
        );
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
                ledger: None,
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
                self.store.forget_check(object.reference());
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

    /// Enrolls the member `consent` is for: runs the quality gate on
    /// `image` (DetectFaces; a photo that fails is never stored), then
    /// stores it as
    /// [`PhotoStore::store_reference`] does (SSE-KMS under the policy's
    /// first allowed key, read back with HeadObject), and returns the
    /// verified, version-pinned reference for the application to keep and
    /// compare against later. The consent (recorded: [`RecordedConsent`](crate::consent::RecordedConsent))
    /// is required before anything is sent or stored; the audit event
    /// names the member and where the consent is recorded.
    ///
    /// # Errors
    /// [`Error::Input`] when `object` names a version (an upload
    /// creates one); [`Error::PhotoRejected`] when the photo fails the
    /// quality gate (nothing stored); [`Error::Refused`] when a requirement
    /// fails before the upload (nothing sent, nothing stored) or the stored
    /// object does not pass the policy; [`Error::Backend`] when a call
    /// failed.
    pub async fn enroll(
        &self,
        consent: &crate::consent::RecordedConsent,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        let result = match self
            .store
            .withdrawn
            .refuse_member(Operation::Enroll, consent.member())
        {
            Ok(()) => self.enroll_inner(object, image).await,
            Err(e) => Err(e),
        };
        self.audit_enroll(&result, object, consent);
        result
    }

    async fn enroll_inner(
        &self,
        object: &S3ObjectRef,
        image: FaceImage,
    ) -> Result<VerifiedS3Object, Error> {
        const OP: Operation = Operation::Enroll;
        store::ensure_unversioned(object)?;
        // S3 must be reachable over HTTPS before the photo goes anywhere.
        self.store.probe_transport(OP, object).await?;
        // DetectFaces reads a copy: the original goes to PutObject only if
        // the gate accepts the photo.
        let copy = image.duplicate();
        let assessment = self.assess_inner(OP, ImageInput::Bytes(copy)).await?;
        if !assessment.is_acceptable() {
            return Err(Error::PhotoRejected(assessment));
        }
        self.store.store_reference_inner(OP, object, image).await
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
