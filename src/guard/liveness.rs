//! Face Liveness on the guarded path: start a session for a member at a
//! kiosk, verify it and compare its reference image with the member's
//! photo. The rules are in [`crate::liveness`].

use std::time::{Instant, SystemTime};

use super::path::{backend_error, internal_error, refused};
use super::verdict::verdict_from;
use super::Guard;
use crate::at_rest::AtRestViolation;
use crate::backend::{
    BackendError, BackendErrorKind, CompareFacesRequest, CreateFaceLivenessSessionRequest,
    GetFaceLivenessSessionResultsRequest,
};
use crate::decision::{CheckedImage, Verdict};
use crate::error::Error;
use crate::input::{has_dot_segment, names_immutable_version, ImageInput, S3ObjectRef, Service};
use crate::liveness::{
    Attempt, FailureLimiter, KioskId, LivenessDecision, LivenessFacts, LivenessImage,
    LivenessPolicy, LivenessSession, LivenessSessionId, LivenessStatus, LivenessVerdict,
    LivenessViolation, NotLiveReason, NotNow, PostureCache, UsedSessions,
};
use crate::refusal::{Operation, Violation};
use crate::text::AUDIT_TARGET;

/// What a guard (and its clones) remembers for Face Liveness: failures
/// per kiosk, verified sessions, output buckets whose audit passed.
#[derive(Debug, Default)]
pub(super) struct State {
    limiter: FailureLimiter,
    used: UsedSessions,
    posture: PostureCache,
}

/// Face Liveness for a [`Guard`] under a [`LivenessPolicy`]: start a
/// session for a member at a kiosk ([`start_session`](Self::start_session)),
/// verify it and compare its reference image with the member's photo
/// ([`verify_session`](Self::verify_session)).
///
/// Made by [`Guard::liveness`]; cheap to make and to clone. What Face
/// Liveness remembers (failures per kiosk, sessions already verified,
/// output buckets whose audit passed) belongs to the guard and its clones,
/// so every `FaceLiveness` made from them shares it. Erase a member's
/// session images with
/// [`PhotoStore::erase_liveness_artifacts`](crate::PhotoStore::erase_liveness_artifacts).
#[derive(Debug, Clone)]
pub struct FaceLiveness {
    guard: Guard,
    liveness: LivenessPolicy,
}

impl Guard {
    /// Face Liveness on this guard under `policy`.
    pub fn liveness(&self, policy: LivenessPolicy) -> FaceLiveness {
        FaceLiveness {
            guard: self.clone(),
            liveness: policy,
        }
    }
}

impl FaceLiveness {
    /// The Face Liveness policy.
    pub fn policy(&self) -> &LivenessPolicy {
        &self.liveness
    }

    /// Starts a Face Liveness session for `member` at `kiosk`
    /// (Rekognition `CreateFaceLivenessSession`). Give the session id to
    /// the kiosk's client component (AWS Amplify `FaceLivenessDetector`),
    /// then call [`verify_session`](Self::verify_session) with the same
    /// member.
    ///
    /// Before anything is sent: the kiosk must not be locked
    /// ([`FailureLimit`](crate::liveness::FailureLimit)); the opt-out
    /// evidence must hold;
    /// the output bucket must have no
    /// [at-rest findings](crate::posture::BucketAudit::at_rest_findings)
    /// (audited once per
    /// [`LivenessPolicy::with_posture_ttl`], 5 minutes by default). The session gets
    /// the policy's first allowed KMS key (none for
    /// [`Policy::any_kms_key`](crate::Policy::any_kms_key): the output
    /// bucket's default key), the output bucket, a key prefix
    /// ([`LivenessPolicy::output_prefix_for`](crate::liveness::LivenessPolicy::output_prefix_for):
    /// digests binding the session to the member and the kiosk), the audit image limit, the allowed
    /// challenge types as `ChallengePreferences`
    /// (`FaceMovementAndLightChallenge`, and
    /// `FaceMovementChallenge` after
    /// [`LivenessPolicy::allow_face_movement_challenge`]) and a UUID v4 idempotency
    /// token.
    ///
    /// # Errors
    /// [`Error::Refused`] (nothing sent to Rekognition) for a locked kiosk, an insecure endpoint, missing
    /// opt-out evidence or a non-compliant output bucket;
    /// [`Error::Backend`] when the audit or the call failed.
    pub async fn start_session(
        &self,
        member: &S3ObjectRef,
        kiosk: &KioskId,
    ) -> Result<LivenessSession, Error> {
        let result = self.start_liveness_inner(member, kiosk).await;
        match &result {
            Ok(session) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "started",
                session_id = %session.id,
                member = %member,
                kiosk = %crate::text::Quoted(kiosk.as_str()),
                opt_out = self.guard.opt_out.kind(),
                "face liveness session started"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                member = %member,
                kiosk = %crate::text::Quoted(kiosk.as_str()),
                reasons = %e,
                "face liveness session not started"
            ),
        }
        result
    }

    async fn start_liveness_inner(
        &self,
        member: &S3ObjectRef,
        kiosk: &KioskId,
    ) -> Result<LivenessSession, Error> {
        // A withdrawn member's photo starts no session (no new images).
        if self.guard.store.withdrawn.contains(member) {
            return Err(refused(
                Operation::StartLiveness,
                vec![Violation::AtRest(AtRestViolation::ConsentWithdrawn {
                    object: member.clone(),
                })],
            ));
        }
        let prefix = self.liveness.output_prefix_for(member, kiosk);
        let (id, started_at) = self.start(kiosk, prefix).await?;
        Ok(LivenessSession {
            id,
            member: member.clone(),
            kiosk: kiosk.clone(),
            started_at,
            expires_at: started_at + crate::liveness::SESSION_LIFETIME,
        })
    }

    /// Starts a session at `kiosk` whose output goes under `prefix`, after
    /// the kiosk lock, the opt-out and the output bucket's audit: the
    /// session id and when it was started.
    pub(super) async fn start(
        &self,
        kiosk: &KioskId,
        prefix: String,
    ) -> Result<(LivenessSessionId, SystemTime), Error> {
        const OP: Operation = Operation::StartLiveness;
        let liveness = &self.liveness;
        self.offered_here(OP)?;
        self.kiosk_unlocked(OP, kiosk)?;
        let kms_key = self.guard.policy().key_for_new_objects().cloned();
        let bucket = liveness.output_bucket();
        // The opt-out.
        self.guard.clear(OP, []).await?;

        let state = &self.guard.liveness_state;
        if !state
            .posture
            .fresh(bucket, liveness.posture_ttl(), Instant::now())
        {
            let audit = self
                .guard
                .store
                .s3
                .audit_bucket(bucket, self.guard.policy())
                .await
                .map_err(|e| backend_error(OP, e))?;
            let findings: Vec<_> = audit.at_rest_findings().cloned().collect();
            if !findings.is_empty() {
                return Err(refused(
                    OP,
                    vec![LivenessViolation::OutputBucketNotCompliant {
                        bucket: bucket.to_owned(),
                        findings,
                    }
                    .into()],
                ));
            }
            state.posture.remember(bucket, Instant::now());
        }

        let request = CreateFaceLivenessSessionRequest::new(
            kms_key,
            bucket.to_owned(),
            prefix,
            liveness.audit_images_limit(),
            uuid::Uuid::new_v4().to_string(),
            liveness.allowed_challenges().to_vec(),
        );
        // Rekognition's three minutes start no earlier than this.
        let started_at = SystemTime::now();
        let id = self
            .guard
            .rekognition
            .create_face_liveness_session(request)
            .await
            .map_err(|e| backend_error(OP, e))?;
        Ok((id, started_at))
    }

    /// Verifies Face Liveness session `session_id` for `member` at `kiosk`
    /// and, if the person was live, compares the session's reference image
    /// with the member's enrolled photo.
    ///
    /// In order, stopping at the first that fails:
    ///
    /// 1. the kiosk is not locked and has room for one more check under
    ///    its failure limit (the check is reserved at once, so concurrent
    ///    checks cannot overshoot it), `member` names an immutable version (an
    ///    enrolled reference, [`VerifiedS3Object::reference`](crate::VerifiedS3Object::reference))
    ///    and passes HeadObject under the policy, the endpoints are HTTPS
    ///    and the opt-out evidence holds, and this guard has not verified
    ///    the session before (refusals);
    /// 2. `GetFaceLivenessSessionResults`: `CREATED` or `IN_PROGRESS` is
    ///    [`NotFinished`](LivenessVerdict::NotFinished) (ask again);
    ///    `FAILED`, `EXPIRED`, a confidence under the liveness threshold,
    ///    a challenge the policy does not allow (or none reported) or no
    ///    reference image is [`NotLive`](LivenessVerdict::NotLive);
    /// 3. the reference image is in the policy's output bucket, under
    ///    [`LivenessPolicy::output_prefix_for`] this member and kiosk, with
    ///    no `.` or `..` key segment (else the session was for someone
    ///    else, or the image is not where the guard put it) and with a
    ///    version Rekognition reported (refusals);
    /// 4. the reference image passes HeadObject under the policy (the
    ///    member's photo again, or from the verification cache), and
    ///    `CompareFaces` compares them, version-pinned, at the similarity
    ///    threshold.
    ///
    /// Not live, no match and no face count as failures for the kiosk's
    /// [`FailureLimit`](crate::liveness::FailureLimit); while failures and
    /// checks in flight fill it, the kiosk is refused
    /// ([`KioskBusy`](LivenessViolation::KioskBusy)), when it is reached,
    /// locked ([`KioskLocked`](LivenessViolation::KioskLocked)).
    ///
    /// # Errors
    /// [`Error::Refused`] for the refusals above (nothing compared); [`Error::Backend`] when a
    /// call failed or Rekognition answered something unusable.
    pub async fn verify_session(
        &self,
        session_id: &LivenessSessionId,
        member: &S3ObjectRef,
        kiosk: &KioskId,
    ) -> Result<LivenessDecision, Error> {
        let result = self.verify_liveness_inner(session_id, member, kiosk).await;
        match &result {
            Ok(d) => tracing::info!(
                target: AUDIT_TARGET,
                decision = d.verdict.label(),
                session_id = %session_id,
                member = %d.member,
                kiosk = %crate::text::Quoted(kiosk.as_str()),
                status = %d.status,
                confidence = d.confidence.map(tracing::field::display),
                challenge = d.challenge.as_ref().map(|c| tracing::field::display(&c.challenge_type)),
                challenge_version = d
                    .challenge.as_ref()
                    .and_then(|c| c.version.as_deref())
                    .map(|v| tracing::field::display(crate::text::Quoted(v))),
                liveness_threshold = %d.liveness_threshold,
                source = d.source.as_ref().map(tracing::field::display),
                target = d.target.as_ref().map(tracing::field::display),
                similarity = d.similarity().map(tracing::field::display),
                threshold = %d.threshold,
                opt_out = d.opt_out.kind(),
                opt_out_account = d.opt_out.account().map(tracing::field::display),
                "face liveness verified"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                session_id = %session_id,
                member = %member,
                kiosk = %crate::text::Quoted(kiosk.as_str()),
                reasons = %e,
                "face liveness not verified"
            ),
        }
        // A session not yet finished decided nothing: no record.
        if self.guard.ledger().is_none()
            || matches!(&result, Ok(d) if matches!(d.verdict, LivenessVerdict::NotFinished(_)))
        {
            return result;
        }
        let event = super::ledger::liveness_event(&result, session_id, member, kiosk);
        self.guard
            .recorded(result, event, |d, receipt| d.ledger = Some(receipt))
            .await
    }

    async fn verify_liveness_inner(
        &self,
        session_id: &LivenessSessionId,
        member: &S3ObjectRef,
        kiosk: &KioskId,
    ) -> Result<LivenessDecision, Error> {
        const OP: Operation = Operation::VerifyLiveness;
        let liveness = &self.liveness;
        self.offered_here(OP)?;
        // Reserved before any AWS call, and held until the check is
        // decided: a failure counts, anything else frees the place.
        let attempt = self.reserve_attempt(OP, kiosk)?;
        if member.pinned_version().is_none() {
            return Err(refused(
                OP,
                vec![LivenessViolation::MemberNotPinned {
                    member: member.clone(),
                }
                .into()],
            ));
        }
        // Endpoints, opt-out and the member's photo before Rekognition is
        // asked anything (a handed-in client's endpoint is only seen on
        // the wire, so S3 is tried first).
        let clearance = self
            .guard
            .clear(OP, [ImageInput::S3(member.clone())])
            .await?;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        self.claimed(
            OP,
            session_id,
            self.verify_claimed(session_id, member, kiosk, liveness, opt_out, attempt),
            |d| matches!(d.verdict, LivenessVerdict::NotFinished(_)),
        )
        .await
    }

    /// Claims `session_id` for one verification (refused if this guard
    /// verified it before), runs `verification`, and gives the session
    /// back if nothing was decided: `unfinished` said so of the result, an
    /// error cut it short, or the only refusal was an insecure endpoint.
    pub(super) async fn claimed<T>(
        &self,
        operation: Operation,
        session_id: &LivenessSessionId,
        verification: impl std::future::Future<Output = Result<T, Error>>,
        unfinished: impl FnOnce(&T) -> bool,
    ) -> Result<T, Error> {
        let state = &self.guard.liveness_state;
        if !state.used.claim(session_id) {
            return Err(refused(
                operation,
                vec![LivenessViolation::SessionReused {
                    session_id: session_id.clone(),
                }
                .into()],
            ));
        }
        let result = verification.await;
        // A session whose check was not finished, or whose verification an
        // error cut short (nothing decided), may be asked about again.
        let unfinished = matches!(&result, Ok(t) if unfinished(t));
        // A request refused on the wire (plain HTTP) decided nothing
        // either: once the endpoint is fixed, the session may be verified.
        let insecure_only = matches!(
            &result,
            Err(Error::Refused(r))
                if r.violations.iter().all(|v| matches!(v, Violation::InsecureEndpoint(_)))
        );
        if unfinished || insecure_only || matches!(result, Err(Error::Backend(_))) {
            state.used.release(session_id);
        }
        result
    }

    /// `GetFaceLivenessSessionResults` for `session_id`.
    pub(super) async fn results(
        &self,
        operation: Operation,
        session_id: &LivenessSessionId,
    ) -> Result<LivenessFacts, Error> {
        let mut facts = self
            .guard
            .rekognition
            .get_face_liveness_session_results(GetFaceLivenessSessionResultsRequest::new(
                session_id.clone(),
            ))
            .await
            .map_err(|e| backend_error(operation, e))?;
        // A backend may report an empty version; it names none.
        if let Some(c) = &mut facts.challenge {
            if c.version.as_deref().is_some_and(str::is_empty) {
                c.version = None;
            }
        }
        Ok(facts)
    }

    /// Verification after the session id was claimed.
    async fn verify_claimed(
        &self,
        session_id: &LivenessSessionId,
        member: &S3ObjectRef,
        kiosk: &KioskId,
        liveness: &LivenessPolicy,
        opt_out: crate::opt_out::OptOutRecord,
        attempt: Attempt<'_>,
    ) -> Result<LivenessDecision, Error> {
        const OP: Operation = Operation::VerifyLiveness;
        let facts = self.results(OP, session_id).await?;
        let decision = |verdict, source, target, opt_out| LivenessDecision {
            verdict,
            session_id: session_id.clone(),
            member: member.clone(),
            kiosk: kiosk.clone(),
            status: facts.status.clone(),
            confidence: facts.confidence,
            challenge: facts.challenge.clone(),
            liveness_threshold: liveness.threshold(),
            source,
            target,
            threshold: self.guard.policy().similarity_threshold(),
            opt_out,
            ledger: None,
        };

        let reference = match judge_liveness(&facts, liveness) {
            Judged::NotFinished => {
                return Ok(decision(
                    LivenessVerdict::NotFinished(facts.status.clone()),
                    None,
                    None,
                    opt_out,
                ));
            }
            Judged::NotLive(reason) => {
                self.count_failure(kiosk, attempt);
                return Ok(decision(
                    LivenessVerdict::NotLive(reason),
                    None,
                    None,
                    opt_out,
                ));
            }
            Judged::Invalid(error) => return Err(error),
            Judged::Live(image) => image,
        };
        let reference = self.reference_image(
            OP,
            session_id,
            &liveness.output_prefix_for(member, kiosk),
            || LivenessViolation::SessionForAnotherMember {
                session_id: session_id.clone(),
                member: member.clone(),
                kiosk: kiosk.clone(),
            },
            reference,
        )?;

        // Both images at rest, then the comparison, version-pinned.
        let clearance = self
            .guard
            .clear(
                OP,
                [ImageInput::S3(member.clone()), ImageInput::S3(reference)],
            )
            .await?;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        let [source, target] = clearance.images;
        let checked_source = CheckedImage::of(&source.image, source.origin);
        let checked_target = CheckedImage::of(&target.image, target.origin);
        let threshold = self.guard.policy().similarity_threshold();
        let request = CompareFacesRequest::new(
            source.image,
            target.image,
            threshold,
            self.guard.policy().quality_filter(),
        );
        let compared = self
            .guard
            .rekognition
            .compare_faces(request)
            .await
            .map_err(|e| backend_error(OP, e))?;
        let verdict = verdict_from(compared, threshold)?;
        if !matches!(verdict, Verdict::Match { .. }) {
            self.count_failure(kiosk, attempt);
        }
        Ok(decision(
            LivenessVerdict::Compared(verdict),
            Some(checked_source),
            Some(checked_target),
            opt_out,
        ))
    }

    /// Reserves one check of `kiosk` under the failure limit, or refuses
    /// it (locked, or no room left), before any AWS call.
    pub(super) fn reserve_attempt(
        &self,
        operation: Operation,
        kiosk: &KioskId,
    ) -> Result<Attempt<'_>, Error> {
        self.guard
            .liveness_state
            .limiter
            .reserve(kiosk, self.liveness.failure_limit(), Instant::now())
            .map_err(|not_now| {
                let violation = match not_now {
                    NotNow::Locked(retry_after) => LivenessViolation::KioskLocked {
                        kiosk: kiosk.clone(),
                        retry_after,
                    },
                    NotNow::Busy(in_flight) => LivenessViolation::KioskBusy {
                        kiosk: kiosk.clone(),
                        in_flight,
                    },
                };
                refused(operation, vec![violation.into()])
            })
    }

    /// Refuses Face Liveness in AWS GovCloud (US), before any call.
    pub(super) fn offered_here(&self, operation: Operation) -> Result<(), Error> {
        match self.guard.rekognition.region() {
            Some(region) if crate::opt_out::is_gov_cloud(&region) => Err(refused(
                operation,
                vec![LivenessViolation::UnavailableInGovCloud { region }.into()],
            )),
            _ => Ok(()),
        }
    }

    /// Refuses a locked kiosk, before any AWS call.
    fn kiosk_unlocked(&self, operation: Operation, kiosk: &KioskId) -> Result<(), Error> {
        self.guard
            .liveness_state
            .limiter
            .check(kiosk, Instant::now())
            .map_err(|retry_after| {
                refused(
                    operation,
                    vec![LivenessViolation::KioskLocked {
                        kiosk: kiosk.clone(),
                        retry_after,
                    }
                    .into()],
                )
            })
    }

    /// Counts a failed check of `kiosk` (not live, no match, no face).
    pub(super) fn count_failure(&self, kiosk: &KioskId, attempt: Attempt<'_>) {
        if attempt.failed() {
            tracing::warn!(
                target: AUDIT_TARGET,
                kiosk = %crate::text::Quoted(kiosk.as_str()),
                lockout_s = self.liveness.failure_limit().lockout().as_secs(),
                "kiosk locked after repeated failed liveness checks"
            );
        }
    }

    /// The reference image as a pinned S3 reference, if it is one of the
    /// session the guard started with output `prefix`: in S3, in the
    /// output bucket, under `prefix` with no dot segment, with an
    /// immutable version. Outside `prefix`, the session was started for
    /// something else: refused with `elsewhere`.
    pub(super) fn reference_image(
        &self,
        operation: Operation,
        session_id: &LivenessSessionId,
        prefix: &str,
        elsewhere: impl FnOnce() -> LivenessViolation,
        image: &LivenessImage,
    ) -> Result<S3ObjectRef, Error> {
        let liveness = &self.liveness;
        let (bucket, key, version) = match image {
            LivenessImage::S3 {
                bucket,
                key,
                version,
            } => (bucket, key, version),
            LivenessImage::NotInS3 => {
                return Err(refused(
                    operation,
                    vec![LivenessViolation::ReferenceImageNotInS3 {
                        session_id: session_id.clone(),
                    }
                    .into()],
                ))
            }
        };
        let unusable = |what: &str| {
            Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::Rekognition,
                "GetFaceLivenessSessionResults",
                format!("the reference image's {what} is not usable"),
            ))
        };
        // Evidence only from where the guard put it: the output bucket the
        // session was created with, under a key a path-style endpoint or
        // proxy cannot resolve elsewhere.
        if bucket != liveness.output_bucket() || has_dot_segment(key) {
            return Err(refused(
                operation,
                vec![LivenessViolation::ReferenceImageOutsideOutput {
                    session_id: session_id.clone(),
                    reported: format!("s3://{bucket}/{key}"),
                    output_bucket: liveness.output_bucket().to_owned(),
                }
                .into()],
            ));
        }
        let object = S3ObjectRef::new(bucket, key).map_err(|_| unusable("S3 bucket or key"))?;
        // Rekognition writes under the S3KeyPrefix the session was started
        // with: for this member (or search) at this kiosk, that is exactly
        // where the guard put it.
        if !key.starts_with(prefix) {
            return Err(refused(operation, vec![elsewhere().into()]));
        }
        match version.as_deref() {
            Some(v) if names_immutable_version(v) => object
                .with_version_id(v)
                .map_err(|_| unusable("S3 version")),
            _ => Err(refused(
                operation,
                vec![Violation::AtRest(AtRestViolation::VersionRequired {
                    object,
                })],
            )),
        }
    }
}

/// What the session's results say, before any image is looked at.
pub(super) enum Judged<'a> {
    NotFinished,
    NotLive(NotLiveReason),
    Invalid(Error),
    Live(&'a LivenessImage),
}

/// Judges a session's results under `policy`.
pub(super) fn judge_liveness<'a>(facts: &'a LivenessFacts, policy: &LivenessPolicy) -> Judged<'a> {
    match &facts.status {
        LivenessStatus::Created | LivenessStatus::InProgress => Judged::NotFinished,
        LivenessStatus::Failed => Judged::NotLive(NotLiveReason::Failed),
        LivenessStatus::Expired => Judged::NotLive(NotLiveReason::Expired),
        LivenessStatus::Other(status) => invalid(format!(
            "unknown session status {}; refusing rather than guessing",
            crate::text::quote(status, 64)
        )),
        LivenessStatus::Succeeded => {
            let threshold = policy.threshold().get();
            match facts.confidence {
                Some(c) if !(0.0..=100.0).contains(&c) => {
                    invalid(format!("liveness confidence {c} is outside 0 to 100"))
                }
                None => invalid("SUCCEEDED without a confidence".to_owned()),
                Some(confidence) if confidence < threshold => {
                    Judged::NotLive(NotLiveReason::LowConfidence {
                        confidence,
                        threshold,
                    })
                }
                Some(_) => {
                    let challenge = facts.challenge.as_ref().map(|c| &c.challenge_type);
                    if !challenge.is_some_and(|c| policy.allowed_challenges().contains(c)) {
                        return Judged::NotLive(NotLiveReason::ChallengeNotAllowed {
                            found: challenge.cloned(),
                        });
                    }
                    match &facts.reference_image {
                        None => Judged::NotLive(NotLiveReason::NoReferenceImage),
                        Some(image) => Judged::Live(image),
                    }
                }
            }
        }
    }
}

/// Results Rekognition answered that cannot be judged.
fn invalid<'a>(message: String) -> Judged<'a> {
    Judged::Invalid(Error::Backend(BackendError::new(
        BackendErrorKind::InvalidResponse,
        Service::Rekognition,
        "GetFaceLivenessSessionResults",
        message,
    )))
}
