//! The Face Liveness scenarios, written once over a [`LivenessHarness`].
//! This crate runs them against [`InMemoryBackend`](crate::memory::InMemoryBackend) and against
//! `AwsBackend` over real TLS, with an HTTPS stand-in playing S3 and
//! Rekognition (moto has no Face Liveness).
//!
//! ```
//! use rekognition_guard::conformance::liveness::{run_all, LivenessHarness};
//!
//! async fn my_backend_conforms(harness: &dyn LivenessHarness) {
//!     run_all(harness).await;
//! }
//! ```
//!
//! The crate's own runs are models for a harness: over
//! [`InMemoryBackend`](crate::memory::InMemoryBackend) in `src/conformance/liveness.rs` (module `in_memory`), over real SDK clients and an HTTPS stand-in in `tests/it/support/liveness.rs`.

use std::time::Duration;

use async_trait::async_trait;

use super::Stored;
use crate::at_rest::AtRestViolation;
use crate::error::Error;
use crate::input::{KmsKeyArn, S3ObjectRef, Service};
use crate::liveness::{
    kiosk_tag, member_tag, Challenge, ChallengeType, FailureLimit, KioskId, LivenessPolicy,
    LivenessSessionId, LivenessStatus, LivenessVerdict, LivenessViolation, NotLiveReason,
};
use crate::policy::Policy;
use crate::refusal::Violation;
use crate::{CheckedImage, FaceLiveness, Verdict};

/// How a harness's liveness output bucket is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputPosture {
    /// Default encryption SSE-KMS under [`LivenessHarness::kms_key`],
    /// versioning on.
    Compliant,
    /// Default encryption SSE-S3.
    SseS3Default,
    /// Versioning off.
    Unversioned,
}

/// Where a finished session's reference image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceImage {
    /// None reported.
    None,
    /// Stored as `Stored` says, its version reported.
    Stored(Stored),
    /// Reported, but not in the bucket.
    NotStored,
    /// Stored SSE-KMS, reported without its version.
    Unversioned,
    /// Stored SSE-KMS under the allowed key and reported with its version,
    /// at the key the session would use, but in [`FOREIGN_BUCKET`]: a
    /// location the guard did not direct Rekognition to.
    OutsideOutputBucket,
    /// Stored SSE-KMS in the output bucket and reported with its version,
    /// under the session's prefix but at a key with `..` segments that a
    /// normalising endpoint resolves elsewhere.
    DotSegmentKey,
}

/// The bucket [`ReferenceImage::OutsideOutputBucket`] stores in: not the
/// output bucket.
pub const FOREIGN_BUCKET: &str = "attacker-bucket";

/// The key [`ReferenceImage::DotSegmentKey`] reports, under a session's
/// output prefix.
pub fn dot_segment_key(output_prefix: &str) -> String {
    format!("{output_prefix}../../elsewhere/reference.jpg")
}

/// Which challenge a finished session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportedChallenge {
    /// The session's first challenge preference, version `2.0.0`, as
    /// Rekognition runs it.
    AsRequested,
    /// This challenge.
    Reported(Challenge),
    /// No `Challenge` in the results.
    NotReported,
}

/// How a session ends.
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessOutcome {
    /// The status reported.
    pub status: LivenessStatus,
    /// The confidence reported.
    pub confidence: Option<f32>,
    /// Whose face the reference image shows.
    pub face: String,
    /// Where the reference image is.
    pub reference: ReferenceImage,
    /// Which challenge the results name.
    pub challenge: ReportedChallenge,
}

impl LivenessOutcome {
    /// `SUCCEEDED` at `confidence`, a compliant reference image of `face`.
    pub fn live(confidence: f32, face: &str) -> Self {
        Self {
            status: LivenessStatus::Succeeded,
            confidence: Some(confidence),
            face: face.to_owned(),
            reference: ReferenceImage::Stored(Stored::SseKms),
            challenge: ReportedChallenge::AsRequested,
        }
    }

    /// Ended with `status`, nothing else.
    pub fn ended(status: LivenessStatus) -> Self {
        Self {
            status,
            confidence: None,
            face: String::new(),
            reference: ReferenceImage::None,
            challenge: ReportedChallenge::NotReported,
        }
    }

    /// With the results naming `challenge`.
    #[must_use]
    pub fn challenge(mut self, challenge: ReportedChallenge) -> Self {
        self.challenge = challenge;
        self
    }

    /// With the reference image as `reference` says.
    #[must_use]
    pub fn reference(mut self, reference: ReferenceImage) -> Self {
        self.reference = reference;
        self
    }
}

/// A `CreateFaceLivenessSession` request as a backend received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSession {
    /// `KmsKeyId`, if sent.
    pub kms_key: Option<String>,
    /// `Settings.OutputConfig.S3Bucket`.
    pub output_bucket: String,
    /// `Settings.OutputConfig.S3KeyPrefix`.
    pub output_prefix: String,
    /// `Settings.AuditImagesLimit`.
    pub audit_images_limit: u8,
    /// `ClientRequestToken`.
    pub client_request_token: String,
    /// `Settings.ChallengePreferences[].Type`, in order.
    pub challenge_preferences: Vec<String>,
}

/// One backend under test for Face Liveness: members' photos, the output
/// bucket, how sessions end, and what reached Rekognition.
#[async_trait]
pub trait LivenessHarness: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// The KMS key the scenarios' policies allow.
    fn kms_key(&self) -> KmsKeyArn;
    /// The liveness output bucket.
    fn output_bucket(&self) -> String;
    /// Stores member `name`'s photo (face `name`, SSE-KMS under
    /// [`kms_key`](Self::kms_key)); returns its pinned reference. The
    /// harness also has a compliant [`FOREIGN_BUCKET`].
    async fn enroll(&self, name: &str) -> S3ObjectRef;
    /// Configures the output bucket.
    async fn set_output_posture(&self, posture: OutputPosture);
    /// A guard over the backend with `policy`, `liveness` and attested
    /// opt-out evidence; with `plain_http`, that service's endpoint is
    /// plain `http://` (a handed-in client the crate cannot check at
    /// build time).
    fn face_liveness(
        &self,
        policy: Policy,
        liveness: LivenessPolicy,
        plain_http: Option<Service>,
    ) -> FaceLiveness;
    /// Ends `session` as `outcome` says.
    async fn finish(&self, session: &LivenessSessionId, outcome: LivenessOutcome);
    /// Every `CreateFaceLivenessSession` request received so far.
    fn started(&self) -> Vec<StartedSession>;
    /// How many Face Liveness calls (create and results) reached
    /// Rekognition so far.
    fn liveness_calls(&self) -> usize;
    /// How many `CompareFaces` calls reached Rekognition so far.
    fn compare_calls(&self) -> usize;
}

/// Runs every Face Liveness scenario against `h`.
pub async fn run_all(h: &dyn LivenessHarness) {
    a_live_member_is_compared_with_the_reference_image_and_approved(h).await;
    sessions_that_are_not_live_are_told_apart_and_never_compared(h).await;
    an_unfinished_session_can_be_verified_once_it_finishes(h).await;
    a_reference_image_failing_the_at_rest_checks_is_never_compared(h).await;
    a_reference_image_not_where_the_guard_put_it_is_never_compared(h).await;
    only_an_allowed_challenge_approves(h).await;
    a_session_verified_for_another_member_is_refused(h).await;
    a_session_is_verified_once(h).await;
    repeated_failures_lock_the_kiosk_before_any_aws_call(h).await;
    a_non_compliant_output_bucket_gets_no_session(h).await;
    plain_http_endpoints_are_refused_before_any_liveness_call(h).await;
    an_unpinned_member_photo_is_refused_before_any_liveness_call(h).await;
}

fn policies(h: &dyn LivenessHarness) -> (Policy, LivenessPolicy) {
    (
        Policy::allow_kms_key(h.kms_key()),
        LivenessPolicy::new(&h.output_bucket())
            .expect("a bucket name")
            .with_output_prefix("liveness/")
            .expect("a prefix"),
    )
}

fn kiosk(name: &str) -> KioskId {
    KioskId::new(name).expect("a kiosk id")
}

fn liveness_refusal(e: &Error) -> Option<&LivenessViolation> {
    match e.as_refusal().map(|r| r.violations.as_slice()) {
        Some([Violation::Liveness(v)]) => Some(v),
        _ => None,
    }
}

/// A compliant output bucket, member ada enrolled, a guard with the
/// default liveness policy, and kiosk `kiosk_name`.
async fn compliant(
    h: &dyn LivenessHarness,
    kiosk_name: &str,
) -> (FaceLiveness, S3ObjectRef, KioskId) {
    h.set_output_posture(OutputPosture::Compliant).await;
    let ada = h.enroll("ada").await;
    let (policy, liveness) = policies(h);
    (
        h.face_liveness(policy, liveness, None),
        ada,
        kiosk(kiosk_name),
    )
}

/// A started session for `member` at `at`, finished as `outcome` says.
async fn session(
    h: &dyn LivenessHarness,
    guard: &FaceLiveness,
    member: &S3ObjectRef,
    at: &KioskId,
    outcome: LivenessOutcome,
) -> LivenessSessionId {
    let started = guard
        .start_session(member, at)
        .await
        .unwrap_or_else(|e| panic!("{}: a session starts: {e}", h.name()));
    h.finish(&started.id, outcome).await;
    started.id.clone()
}

/// The happy path: the session is started with the policy's key, the
/// output bucket and a prefix carrying the member's tag; a live person
/// whose reference image matches the member's photo is approved, both
/// images checked and version-pinned.
async fn a_live_member_is_compared_with_the_reference_image_and_approved(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-happy").await;
    let (compares, started_before) = (h.compare_calls(), h.started().len());

    let started = guard.start_session(&ada, &at).await.expect(name);
    assert_eq!(started.member, ada, "{name}");
    assert_eq!(
        started.expires_at,
        started.started_at + crate::liveness::SESSION_LIFETIME
    );
    let request = h.started().pop().expect("a request");
    assert_eq!(h.started().len(), started_before + 1, "{name}");
    assert_eq!(
        request.kms_key.as_deref(),
        Some(h.kms_key().as_str()),
        "{name}"
    );
    assert_eq!(request.output_bucket, h.output_bucket(), "{name}");
    assert_eq!(
        request.output_prefix,
        format!("liveness/{}/{}/", member_tag(&ada), kiosk_tag(&at)),
        "{name}"
    );
    assert_eq!(request.audit_images_limit, 0, "{name}");
    assert!(
        uuid::Uuid::parse_str(&request.client_request_token)
            .is_ok_and(|u| u.get_version_num() == 4),
        "{name}: a UUID v4 idempotency token: {}",
        request.client_request_token
    );

    h.finish(&started.id, LivenessOutcome::live(99.1, "ada"))
        .await;
    let decision = guard
        .verify_session(&started.id, &ada, &at)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(decision.is_approved(), "{name}: {decision:?}");
    assert_eq!(decision.kiosk_text(), "pass");
    assert_eq!(decision.status, LivenessStatus::Succeeded, "{name}");
    assert_eq!(decision.confidence, Some(99.1), "{name}");
    assert!(decision.similarity().is_some_and(|s| s >= 99.0), "{name}");
    assert_eq!(
        request.challenge_preferences,
        ["FaceMovementAndLightChallenge"],
        "{name}: the stronger challenge only, by default"
    );
    assert_eq!(
        decision.challenge.as_ref(),
        Some(&Challenge::new(
            ChallengeType::FaceMovementAndLight,
            Some("2.0.0")
        )),
        "{name}: the decision records the challenge"
    );
    match (decision.source, decision.target) {
        (
            Some(CheckedImage::S3 { object: source, .. }),
            Some(CheckedImage::S3 { object: target, .. }),
        ) => {
            assert_eq!(source.reference(), &ada, "{name}");
            assert!(source.is_pinned() && target.is_pinned(), "{name}");
            assert_eq!(target.reference().bucket(), h.output_bucket(), "{name}");
            assert!(
                target.reference().key().contains(&member_tag(&ada)),
                "{name}"
            );
            assert_eq!(target.kms_key_id(), h.kms_key().as_str(), "{name}");
        }
        other => panic!("{name}: two checked S3 images: {other:?}"),
    }
    assert_eq!(h.compare_calls(), compares + 1, "{name}");
}

/// `FAILED`, `EXPIRED`, a confidence under the threshold and a missing
/// reference image never approve, are told apart, and compare nothing.
async fn sessions_that_are_not_live_are_told_apart_and_never_compared(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-not-live").await;
    let compares = h.compare_calls();
    for (outcome, expected) in [
        (
            LivenessOutcome::ended(LivenessStatus::Failed),
            NotLiveReason::Failed,
        ),
        (
            LivenessOutcome::ended(LivenessStatus::Expired),
            NotLiveReason::Expired,
        ),
        (
            LivenessOutcome::live(62.5, "ada"),
            NotLiveReason::LowConfidence {
                confidence: 62.5,
                threshold: 80.0,
            },
        ),
        (
            LivenessOutcome::live(99.0, "ada").reference(ReferenceImage::None),
            NotLiveReason::NoReferenceImage,
        ),
    ] {
        let id = session(h, &guard, &ada, &at, outcome).await;
        let decision = guard
            .verify_session(&id, &ada, &at)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            decision.verdict,
            LivenessVerdict::NotLive(expected),
            "{name}"
        );
        assert!(!decision.is_approved(), "{name}");
        assert_eq!(decision.kiosk_text(), "fail", "{name}");
        assert!(decision.source.is_none() && decision.target.is_none());
    }
    assert_eq!(h.compare_calls(), compares, "{name}: nothing compared");
}

/// A session verified before the kiosk finished says so, counts no
/// failure, and can be verified once it has finished.
async fn an_unfinished_session_can_be_verified_once_it_finishes(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-unfinished").await;
    let id = session(
        h,
        &guard,
        &ada,
        &at,
        LivenessOutcome::ended(LivenessStatus::InProgress),
    )
    .await;
    let decision = guard.verify_session(&id, &ada, &at).await.expect(name);
    assert_eq!(
        decision.verdict,
        LivenessVerdict::NotFinished(LivenessStatus::InProgress),
        "{name}"
    );
    h.finish(&id, LivenessOutcome::live(97.0, "ada")).await;
    let decision = guard.verify_session(&id, &ada, &at).await.expect(name);
    assert!(decision.is_approved(), "{name}: {decision:?}");
}

/// A reference image under SSE-S3 or a foreign key, or without a version,
/// is refused; one that is not in the bucket is an error. None is
/// compared.
async fn a_reference_image_failing_the_at_rest_checks_is_never_compared(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-at-rest").await;
    let compares = h.compare_calls();
    for reference in [
        ReferenceImage::Stored(Stored::SseS3),
        ReferenceImage::Stored(Stored::SseKmsOtherKey),
        ReferenceImage::Stored(Stored::ClientSideEncrypted),
        ReferenceImage::Unversioned,
        ReferenceImage::NotStored,
    ] {
        let outcome = LivenessOutcome::live(99.0, "ada").reference(reference);
        let id = session(h, &guard, &ada, &at, outcome).await;
        let err = guard.verify_session(&id, &ada, &at).await.expect_err(name);
        let violations = err.as_refusal().map(|r| r.violations.as_slice());
        match reference {
            ReferenceImage::Stored(Stored::SseS3) => assert!(
                matches!(
                    violations,
                    Some([Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. })])
                ),
                "{name}: {err}"
            ),
            ReferenceImage::Stored(Stored::ClientSideEncrypted) => assert!(
                matches!(
                    violations,
                    Some([Violation::AtRest(AtRestViolation::ClientSideEncrypted { markers, .. })])
                        if markers == &super::CLIENT_SIDE_V2_METADATA
                ),
                "{name}: {err}"
            ),
            ReferenceImage::Stored(_) => assert!(
                matches!(
                    violations,
                    Some([Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { .. })])
                ),
                "{name}: {err}"
            ),
            ReferenceImage::Unversioned => assert!(
                matches!(
                    violations,
                    Some([Violation::AtRest(AtRestViolation::VersionRequired { .. })])
                ),
                "{name}: {err}"
            ),
            _ => assert!(
                matches!(&err, Error::Backend(b) if b.kind() == crate::BackendErrorKind::NotFound),
                "{name}: a missing reference image is an error: {err:?}"
            ),
        }
    }
    assert_eq!(h.compare_calls(), compares, "{name}: nothing compared");
}

/// A reference image Rekognition reports outside the output bucket the
/// session was given, or at a key with `..` segments, is refused before
/// it is checked or compared, even though it is compliant at rest and
/// under the member's and kiosk's tags: evidence counts only where the
/// guard put it. A guard cannot be built without an output bucket.
async fn a_reference_image_not_where_the_guard_put_it_is_never_compared(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-elsewhere-bucket").await;
    let compares = h.compare_calls();
    for (reference, reported_in) in [
        (ReferenceImage::OutsideOutputBucket, FOREIGN_BUCKET),
        (ReferenceImage::DotSegmentKey, "/../../elsewhere/"),
    ] {
        let outcome = LivenessOutcome::live(99.0, "ada").reference(reference);
        let id = session(h, &guard, &ada, &at, outcome).await;
        let err = guard.verify_session(&id, &ada, &at).await.expect_err(name);
        assert!(
            matches!(
                liveness_refusal(&err),
                Some(LivenessViolation::ReferenceImageOutsideOutput { session_id, reported, output_bucket })
                    if session_id == &id && reported.contains(reported_in) && output_bucket == &h.output_bucket()
            ),
            "{name}: {reference:?}: {err}"
        );
        assert!(
            err.to_string().contains("where it told Rekognition"),
            "{name}: {err}"
        );
    }
    assert_eq!(h.compare_calls(), compares, "{name}: nothing compared");
}

/// Sessions request the challenges the policy allows, strongest first;
/// only a session that ran an allowed one is approved. The lighter
/// `FaceMovementChallenge` is allowed only when the policy says so, and
/// results that name no challenge never approve. Neither is compared.
async fn only_an_allowed_challenge_approves(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, _) = compliant(h, "kiosk-challenge").await;
    let compares = h.compare_calls();
    let lighter = Challenge::new(ChallengeType::FaceMovement, Some("1.0.0"));
    for (at, challenge, found) in [
        (
            "kiosk-challenge-light",
            ReportedChallenge::Reported(lighter.clone()),
            Some(ChallengeType::FaceMovement),
        ),
        ("kiosk-challenge-none", ReportedChallenge::NotReported, None),
    ] {
        let at = kiosk(at);
        let outcome = LivenessOutcome::live(99.0, "ada").challenge(challenge);
        let id = session(h, &guard, &ada, &at, outcome).await;
        let decision = guard.verify_session(&id, &ada, &at).await.expect(name);
        assert_eq!(
            decision.verdict,
            LivenessVerdict::NotLive(NotLiveReason::ChallengeNotAllowed {
                found: found.clone()
            }),
            "{name}"
        );
        assert!(!decision.is_approved(), "{name}");
        assert_eq!(
            decision.challenge.as_ref().map(|c| &c.challenge_type),
            found.as_ref(),
            "{name}: the decision records what was reported"
        );
    }
    assert_eq!(h.compare_calls(), compares, "{name}: nothing compared");

    // Allowed explicitly: requested after the stronger one, and approved.
    let (policy, liveness) = policies(h);
    let relaxed = h.face_liveness(policy, liveness.allow_face_movement_challenge(), None);
    let at = kiosk("kiosk-challenge-relaxed");
    let started = relaxed.start_session(&ada, &at).await.expect(name);
    assert_eq!(
        h.started().pop().expect("a request").challenge_preferences,
        ["FaceMovementAndLightChallenge", "FaceMovementChallenge"],
        "{name}"
    );
    h.finish(
        &started.id,
        LivenessOutcome::live(99.0, "ada").challenge(ReportedChallenge::Reported(lighter.clone())),
    )
    .await;
    let decision = relaxed
        .verify_session(&started.id, &ada, &at)
        .await
        .expect(name);
    assert!(decision.is_approved(), "{name}: {decision:?}");
    assert_eq!(decision.challenge.as_ref(), Some(&lighter), "{name}");
}

/// A session started for one member and verified for another, or at
/// another kiosk, is refused: its reference image is outside the output
/// prefix of that member at that kiosk.
async fn a_session_verified_for_another_member_is_refused(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-other-member").await;
    let grace = h.enroll("grace").await;
    let compares = h.compare_calls();
    let id = session(h, &guard, &grace, &at, LivenessOutcome::live(99.0, "grace")).await;
    let err = guard.verify_session(&id, &ada, &at).await.expect_err(name);
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionForAnotherMember { member, .. }) if member == &ada
        ),
        "{name}: {err}"
    );
    // Ada's own session, verified as if at another kiosk (one whose
    // failures are not counted against this one).
    let id = session(h, &guard, &ada, &at, LivenessOutcome::live(99.0, "ada")).await;
    let elsewhere = kiosk("kiosk-elsewhere");
    let err = guard
        .verify_session(&id, &ada, &elsewhere)
        .await
        .expect_err(name);
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionForAnotherMember { kiosk, .. }) if kiosk == &elsewhere
        ),
        "{name}: {err}"
    );
    assert_eq!(h.compare_calls(), compares, "{name}");
}

/// A session id is verified once: the second time is refused before
/// Rekognition is asked.
async fn a_session_is_verified_once(h: &dyn LivenessHarness) {
    let name = h.name();
    let (guard, ada, at) = compliant(h, "kiosk-reuse").await;
    let id = session(h, &guard, &ada, &at, LivenessOutcome::live(99.0, "ada")).await;
    assert!(guard
        .verify_session(&id, &ada, &at)
        .await
        .expect(name)
        .is_approved());
    let calls = (h.liveness_calls(), h.compare_calls());
    let err = guard.verify_session(&id, &ada, &at).await.expect_err(name);
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionReused { session_id }) if session_id == &id
        ),
        "{name}: {err}"
    );
    assert_eq!((h.liveness_calls(), h.compare_calls()), calls, "{name}");
}

/// After the failure limit, the kiosk is refused before any AWS call, for
/// new sessions and verifications alike; another kiosk is not.
async fn repeated_failures_lock_the_kiosk_before_any_aws_call(h: &dyn LivenessHarness) {
    let name = h.name();
    h.set_output_posture(OutputPosture::Compliant).await;
    let ada = h.enroll("ada").await;
    let grace = h.enroll("grace").await;
    let (policy, liveness) = policies(h);
    let limit = FailureLimit::new(2, Duration::from_secs(180), Duration::from_secs(1800));
    let guard = h.face_liveness(policy, liveness.with_failure_limit(limit), None);
    let at = kiosk("kiosk-attacked");
    // A printed photo fails liveness; the face of another member does not
    // match.
    let printed = session(
        h,
        &guard,
        &ada,
        &at,
        LivenessOutcome::ended(LivenessStatus::Failed),
    )
    .await;
    let pending = guard.start_session(&ada, &at).await.expect(name);
    let other_face = session(h, &guard, &ada, &at, LivenessOutcome::live(99.0, "grace")).await;
    let d = guard.verify_session(&printed, &ada, &at).await.expect(name);
    assert!(matches!(d.verdict, LivenessVerdict::NotLive(_)), "{name}");
    let d = guard
        .verify_session(&other_face, &ada, &at)
        .await
        .expect(name);
    assert_eq!(
        d.verdict,
        LivenessVerdict::Compared(Verdict::NoMatch),
        "{name}"
    );

    let calls = (h.liveness_calls(), h.compare_calls());
    h.finish(&pending.id, LivenessOutcome::live(99.0, "ada"))
        .await;
    let locked = |e: &Error| {
        matches!(
            liveness_refusal(e),
            Some(LivenessViolation::KioskLocked { kiosk, retry_after })
                if kiosk == &at && *retry_after > Duration::from_secs(1700)
        )
    };
    let err = guard
        .verify_session(&pending.id, &ada, &at)
        .await
        .expect_err(name);
    assert!(locked(&err), "{name}: {err}");
    let err = guard.start_session(&grace, &at).await.expect_err(name);
    assert!(locked(&err), "{name}: {err}");
    assert_eq!(
        (h.liveness_calls(), h.compare_calls()),
        calls,
        "{name}: a locked kiosk calls nothing"
    );
    // Another kiosk works.
    guard
        .start_session(&grace, &kiosk("kiosk-next-door"))
        .await
        .expect(name);
}

/// An output bucket whose default encryption is not SSE-KMS under an
/// allowed key, or whose versioning is off, gets no session.
async fn a_non_compliant_output_bucket_gets_no_session(h: &dyn LivenessHarness) {
    let name = h.name();
    let ada = h.enroll("ada").await;
    for (posture, finding) in [
        (OutputPosture::SseS3Default, "default-encryption-not-kms"),
        (OutputPosture::Unversioned, "versioning-not-enabled"),
    ] {
        h.set_output_posture(posture).await;
        let (policy, liveness) = policies(h);
        let guard = h.face_liveness(policy, liveness, None);
        let calls = h.liveness_calls();
        let err = guard
            .start_session(&ada, &kiosk("kiosk-posture"))
            .await
            .expect_err(name);
        assert!(
            matches!(
                liveness_refusal(&err),
                Some(LivenessViolation::OutputBucketNotCompliant { bucket, findings })
                    if bucket == &h.output_bucket() && findings.iter().any(|f| f.id == finding)
            ),
            "{name}: {posture:?}: {err}"
        );
        assert_eq!(h.liveness_calls(), calls, "{name}: no session");
    }
    h.set_output_posture(OutputPosture::Compliant).await;
}

/// A plain `http://` Rekognition or S3 endpoint is refused before any
/// liveness call, when starting and when verifying.
async fn plain_http_endpoints_are_refused_before_any_liveness_call(h: &dyn LivenessHarness) {
    let name = h.name();
    h.set_output_posture(OutputPosture::Compliant).await;
    let ada = h.enroll("ada").await;
    let id = LivenessSessionId::parse("00000000-0000-4000-8000-00000000ffff").expect("a UUID");
    for service in [Service::Rekognition, Service::S3] {
        let (policy, liveness) = policies(h);
        let guard = h.face_liveness(policy, liveness, Some(service));
        let calls = (h.liveness_calls(), h.compare_calls());
        let insecure = |e: &Error| {
            e.as_refusal().is_some_and(|r| {
                r.violations
                    .iter()
                    .any(|v| matches!(v, Violation::InsecureEndpoint(e) if e.service() == service))
            })
        };
        let at = kiosk("kiosk-http");
        let err = guard.start_session(&ada, &at).await.expect_err(name);
        assert!(insecure(&err), "{name}: {service}: {err}");
        let err = guard.verify_session(&id, &ada, &at).await.expect_err(name);
        assert!(insecure(&err), "{name}: {service}: {err}");
        assert_eq!((h.liveness_calls(), h.compare_calls()), calls, "{name}");
    }
}

/// The member's photo must be named at an immutable version (an enrolled
/// reference), checked before any liveness call.
async fn an_unpinned_member_photo_is_refused_before_any_liveness_call(h: &dyn LivenessHarness) {
    let name = h.name();
    let ada = h.enroll("ada").await;
    let unpinned = S3ObjectRef::new(ada.bucket(), ada.key()).expect("a reference");
    let (policy, liveness) = policies(h);
    let guard = h.face_liveness(policy, liveness, None);
    let id = LivenessSessionId::parse("00000000-0000-4000-8000-00000000fffe").expect("a UUID");
    let calls = h.liveness_calls();
    let err = guard
        .verify_session(&id, &unpinned, &kiosk("kiosk-unpinned"))
        .await
        .expect_err(name);
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::MemberNotPinned { member }) if member == &unpinned
        ),
        "{name}: {err}"
    );
    assert_eq!(h.liveness_calls(), calls, "{name}");
}

#[cfg(test)]
mod in_memory {
    use super::super::in_memory::{simulated, KEY, OTHER_KEY};
    use super::*;
    use crate::memory::{InMemoryBackend, SimulatedLiveness, SimulatedObject, DEFAULT_ACCOUNT};
    use crate::opt_out::OptOutEvidence;
    use crate::{Guard, PhotoStore};

    /// The liveness harness over [`InMemoryBackend`](crate::memory::InMemoryBackend).
    #[derive(Debug, Clone)]
    struct InMemoryLivenessHarness {
        aws: InMemoryBackend,
    }

    const PHOTOS: &str = "liveness-members";
    const OUTPUT: &str = "liveness-output";

    impl InMemoryLivenessHarness {
        /// A simulation with a photo bucket and a compliant output bucket;
        /// faces match themselves only.
        fn new() -> Self {
            let aws = InMemoryBackend::new();
            aws.create_bucket(PHOTOS, DEFAULT_ACCOUNT, true);
            aws.create_bucket(OUTPUT, DEFAULT_ACCOUNT, true);
            aws.set_default_encryption(OUTPUT, Some(KEY));
            aws.create_bucket(FOREIGN_BUCKET, DEFAULT_ACCOUNT, true);
            for face in ["ada", "grace"] {
                aws.set_similarity(face, face, 99.4);
            }
            aws.set_similarity("ada", "grace", 12.0);
            Self { aws }
        }
    }

    impl Default for InMemoryLivenessHarness {
        fn default() -> Self {
            Self::new()
        }
    }

    #[async_trait]
    impl LivenessHarness for InMemoryLivenessHarness {
        fn name(&self) -> &str {
            "in-memory liveness"
        }
        fn kms_key(&self) -> KmsKeyArn {
            KmsKeyArn::parse(KEY).expect("a key ARN")
        }
        fn output_bucket(&self) -> String {
            OUTPUT.to_owned()
        }
        async fn enroll(&self, name: &str) -> S3ObjectRef {
            let key = format!("members/{name}.jpg");
            let version = self
                .aws
                .put(PHOTOS, &key, SimulatedObject::sse_kms(KEY).with_face(name))
                .expect("a versioned bucket");
            S3ObjectRef::new(PHOTOS, &key)
                .and_then(|r| r.with_version_id(&version))
                .expect("a reference")
        }
        async fn set_output_posture(&self, posture: OutputPosture) {
            // The simulation's buckets are made afresh with their contents.
            let versioned = posture != OutputPosture::Unversioned;
            self.aws.create_bucket(OUTPUT, DEFAULT_ACCOUNT, versioned);
            let key = (posture != OutputPosture::SseS3Default).then_some(KEY);
            self.aws.set_default_encryption(OUTPUT, key);
        }
        fn face_liveness(
            &self,
            policy: Policy,
            liveness: LivenessPolicy,
            plain_http: Option<Service>,
        ) -> FaceLiveness {
            let plain = |service: Service| plain_http == Some(service);
            let analyzer = if plain(Service::Rekognition) {
                self.aws
                    .clone()
                    .with_endpoint(Service::Rekognition, "http://rekognition.in-memory.invalid")
            } else {
                self.aws.clone()
            };
            let s3 = if plain(Service::S3) {
                self.aws
                    .clone()
                    .with_endpoint(Service::S3, "http://s3.in-memory.invalid")
            } else {
                self.aws.clone()
            };
            Guard::new(
                PhotoStore::new(s3, policy),
                analyzer,
                OptOutEvidence::attested("conformance suite").expect("evidence"),
            )
            .liveness(liveness)
        }
        async fn finish(&self, session: &LivenessSessionId, outcome: LivenessOutcome) {
            let mut sim = match outcome.confidence {
                Some(c) if outcome.status == LivenessStatus::Succeeded => {
                    SimulatedLiveness::live(c, &outcome.face)
                }
                _ => SimulatedLiveness::ended(outcome.status.clone()),
            };
            sim = match outcome.reference {
                ReferenceImage::None => sim.without_reference_image(),
                ReferenceImage::Stored(stored) => {
                    let object = match stored {
                        Stored::SseKmsOtherKey => SimulatedObject::sse_kms(OTHER_KEY),
                        other => simulated(other),
                    };
                    sim.with_reference_object(object)
                }
                ReferenceImage::NotStored => sim.reference_not_stored(),
                ReferenceImage::Unversioned => sim.without_reference_version(),
                ReferenceImage::OutsideOutputBucket => sim.reference_in_bucket(FOREIGN_BUCKET),
                ReferenceImage::DotSegmentKey => sim.reference_at_key(dot_segment_key),
            };
            sim = match outcome.challenge {
                ReportedChallenge::AsRequested => sim,
                ReportedChallenge::Reported(c) => sim.with_challenge(Some(c)),
                ReportedChallenge::NotReported => sim.with_challenge(None),
            };
            self.aws.finish_liveness(session, sim);
        }
        fn started(&self) -> Vec<StartedSession> {
            self.aws
                .liveness_requests()
                .into_iter()
                .map(|r| StartedSession {
                    kms_key: r.kms_key.map(|k| k.as_str().to_owned()),
                    output_bucket: r.output_bucket.to_owned(),
                    output_prefix: r.output_prefix.to_owned(),
                    audit_images_limit: r.audit_images_limit,
                    client_request_token: r.client_request_token.to_owned(),
                    challenge_preferences: r
                        .challenge_preferences
                        .iter()
                        .map(|c| c.as_api().to_owned())
                        .collect(),
                })
                .collect()
        }
        fn liveness_calls(&self) -> usize {
            self.aws.calls().liveness
        }
        fn compare_calls(&self) -> usize {
            self.aws.calls().compare_faces
        }
    }

    /// The Face Liveness conformance suite on the in-memory simulation.
    #[tokio::test]
    async fn in_memory_liveness_conformance() {
        run_all(&InMemoryLivenessHarness::new()).await;
    }
}
