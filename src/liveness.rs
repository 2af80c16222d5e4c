//! Amazon Rekognition Face Liveness under the guard: the kiosk proves a
//! live person is in front of it before it compares faces.
//!
//! The server half of Face Liveness, as the Rekognition Developer Guide
//! ("Programming the Amazon Rekognition Face Liveness APIs") describes it:
//!
//! 1. [`FaceLiveness::start_session`](crate::FaceLiveness::start_session) calls
//!    `CreateFaceLivenessSession` for one member at one kiosk, with the
//!    policy's KMS key and an output bucket that passed the at-rest posture
//!    checks ([`LivenessPolicy`]). The kiosk's client component (AWS
//!    Amplify `FaceLivenessDetector`) streams the selfie video to
//!    Rekognition with the session id; the server never sees the video.
//! 2. [`FaceLiveness::verify_session`](crate::FaceLiveness::verify_session) calls
//!    `GetFaceLivenessSessionResults`, requires `SUCCEEDED` at or above the
//!    liveness threshold, checks the reference image Rekognition stored in
//!    S3 like any S3 image (HeadObject: SSE-KMS, allowed key, the reported
//!    version pinned), and compares it with the member's enrolled photo
//!    (`CompareFaces`, both version-pinned).
//!
//! # Binding a session to its member
//!
//! Rekognition stores the reference image under the `S3KeyPrefix` the
//! session was created with. The guard puts a digest of the member's
//! bucket and key in that prefix ([`LivenessPolicy::member_prefix`]), so the reference image's own
//! key proves which member the session was started for: verifying it for
//! another member is refused, also in another process, without storage.
//!
//! # Presentation attacks
//!
//! A printed photo or a phone screen held up to the kiosk fails liveness;
//! someone trying again and again is throttled per kiosk
//! ([`FailureLimit`], after AWS's "Recommendations for Face Liveness":
//! about 5 failed checks in 3 minutes, then a 30 to 60 minute pause). A
//! locked kiosk is refused before any AWS call. The kiosk should show
//! only [`LivenessDecision::kiosk_text`] (pass or fail), never the score.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

// The session types a `RekognitionBackend` takes and reports, defined with the
// trait.
#[doc(inline)]
pub use crate::backend::{
    Challenge, ChallengeType, LivenessFacts, LivenessImage, LivenessSessionId, LivenessStatus,
};
use crate::decision::{CheckedImage, Verdict};
use crate::input::{InputError, S3ObjectRef};
use crate::opt_out::OptOutRecord;
use crate::policy::SimilarityThreshold;
use crate::posture::Finding;
use crate::text::Quoted;

/// How long a Face Liveness session lives: Rekognition expires a session 3
/// minutes after it is created (Rekognition Developer Guide,
/// `CreateFaceLivenessSession`).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(180);

/// A liveness confidence threshold, 0 to 100.
///
/// The default is **80**. AWS's AI Service Card for Face Liveness reports
/// that thresholds around 50 to 60 catch presentation attacks (printed
/// photos, screens, masks) and suggests 80 to 90 where injected or deepfake
/// video is a risk. An unattended kiosk has no one to notice a mask, a
/// screen or a capture device spliced into the camera cable, so the guard
/// starts at the stricter band; a member who fails goes to the staff desk
/// (AWS recommends offering such a path).
///
/// ```
/// use rekognition_guard::liveness::LivenessThreshold;
///
/// assert_eq!(LivenessThreshold::default().get(), 80.0);
/// assert!(LivenessThreshold::new(101.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct LivenessThreshold(f32);

impl LivenessThreshold {
    /// The default threshold, 80.
    pub(crate) const DEFAULT: Self = Self(80.0);

    /// A threshold from 0 to 100 inclusive.
    ///
    /// # Errors
    /// [`InputError::InvalidLivenessThreshold`] for NaN, infinities and
    /// values outside 0..=100.
    pub fn new(value: f32) -> Result<Self, InputError> {
        if (0.0..=100.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InputError::InvalidLivenessThreshold { value })
        }
    }

    /// The threshold.
    pub fn get(self) -> f32 {
        self.0
    }
}

impl Default for LivenessThreshold {
    /// 80 (see the type's docs for why).
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for LivenessThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which kiosk (device) a liveness check runs on: the unit the failure
/// limit counts per. 1 to 128 characters, none of them log-unsafe.
///
/// ```
/// use rekognition_guard::liveness::KioskId;
///
/// let kiosk = KioskId::new("branch-12/kiosk-3")?;
/// assert_eq!(kiosk.as_str(), "branch-12/kiosk-3");
/// assert!(KioskId::new("").is_err());
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KioskId(Arc<str>);

impl KioskId {
    /// A kiosk id.
    ///
    /// # Errors
    /// [`InputError::InvalidKioskId`] when empty, longer than 128
    /// characters or holding a log-unsafe character.
    pub fn new(id: &str) -> Result<Self, InputError> {
        let len = id.chars().count();
        if (1..=128).contains(&len) && !crate::text::has_log_unsafe(id) {
            Ok(Self(id.into()))
        } else {
            Err(InputError::InvalidKioskId { len })
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KioskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many failed liveness checks a kiosk may have before it is locked,
/// and for how long.
///
/// Default: **5 failures in 3 minutes lock the kiosk for 30 minutes**, after
/// AWS's "Recommendations for Face Liveness" (Rekognition Developer Guide),
/// which suggests about 5 failed checks in 3 minutes, then a 30 to 60
/// minute timeout. A failure is a check that ended not live, no match or no
/// face; refusals and AWS errors do not count. Checks still in flight take
/// room too: while failures counted plus checks in flight reach the limit,
/// another check is refused before any AWS call
/// ([`LivenessViolation::KioskBusy`]), so concurrent checks cannot
/// overshoot it. The count is in-process: each guard (and its clones)
/// keeps its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
}

impl FailureLimit {
    /// The longest lockout (ten years): a longer one is clamped, so the
    /// limiter can always compute when it ends.
    pub(crate) const MAX_LOCKOUT: Duration = Duration::from_secs(10 * 366 * 24 * 60 * 60);

    /// `max_failures` (at least 1) within `window` (at least one second)
    /// lock the kiosk for `lockout` (at least one second, at most
    /// 10 × 366 days). There is no way to switch the
    /// limit off.
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> Self {
        let second = Duration::from_secs(1);
        Self {
            max_failures: max_failures.max(1),
            window: window.max(second),
            lockout: lockout.clamp(second, Self::MAX_LOCKOUT),
        }
    }

    /// How long a locked kiosk stays locked.
    pub(crate) fn lockout(&self) -> Duration {
        self.lockout
    }
}

impl Default for FailureLimit {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(180), Duration::from_secs(30 * 60))
    }
}

/// How the guard runs Face Liveness: where Rekognition stores the
/// reference image, which challenges count, how live is live enough, how
/// many audit images to keep, how long a good output-bucket posture is
/// trusted, and the failure limit. The KMS key is the policy's first
/// allowed key, as for enrollment.
///
/// The output bucket is required, also in a process that only verifies
/// sessions: a session's reference image is trusted only in the bucket
/// (and under the prefix) the guard told Rekognition to use, so a guard
/// that does not know that bucket cannot verify anything.
///
/// ```
/// use rekognition_guard::liveness::{ChallengeType, LivenessPolicy, LivenessThreshold};
///
/// let policy = LivenessPolicy::new("library-liveness")?
///     .with_output_prefix("kiosks/")?
///     .with_threshold(LivenessThreshold::new(85.0)?);
/// assert_eq!(policy.output_bucket(), "library-liveness");
/// assert_eq!(policy.audit_images_limit(), 0);
/// assert_eq!(policy.allowed_challenges(), [ChallengeType::FaceMovementAndLight]);
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessPolicy {
    output_bucket: String,
    output_prefix: String,
    threshold: LivenessThreshold,
    audit_images_limit: u8,
    posture_ttl: Duration,
    failure_limit: FailureLimit,
    challenges: Vec<ChallengeType>,
}

impl LivenessPolicy {
    /// How long a passing audit of the output bucket is reused by default:
    /// five minutes. A bucket whose default encryption or versioning is
    /// changed in that time still receives reference images, which the
    /// verification checks one by one with HeadObject anyway.
    pub(crate) const DEFAULT_POSTURE_TTL: Duration = Duration::from_secs(300);

    /// Reference images go to `output_bucket`
    /// (`Settings.OutputConfig.S3Bucket`), and are accepted from it only:
    /// in the caller's account and Rekognition's region, with default
    /// encryption SSE-KMS under an allowed key and versioning on (checked
    /// before the first session). The other settings start at their
    /// defaults: no prefix, a liveness threshold of 80, no audit
    /// images, a posture TTL of 5 minutes,
    /// [`FailureLimit::default`], and only
    /// [`ChallengeType::FaceMovementAndLight`].
    ///
    /// # Errors
    /// [`InputError::InvalidBucketName`] for a name S3 would not accept.
    pub fn new(output_bucket: &str) -> Result<Self, InputError> {
        // Reuse the S3 reference rules for the bucket name.
        S3ObjectRef::new(output_bucket, "x")?;
        Ok(Self {
            output_bucket: output_bucket.to_owned(),
            output_prefix: String::new(),
            threshold: LivenessThreshold::DEFAULT,
            audit_images_limit: 0,
            posture_ttl: Self::DEFAULT_POSTURE_TTL,
            failure_limit: FailureLimit::default(),
            challenges: vec![ChallengeType::FaceMovementAndLight],
        })
    }

    /// A key prefix for the output (default none), a folder: a `/` is
    /// added when missing. The guard appends a member's (for a collection's
    /// search, `search-` and the collection's, of the same length) and a
    /// kiosk's digest ([`output_prefix_for`](Self::output_prefix_for)); Rekognition generates the keys below. A process that
    /// verifies sessions needs the same prefix as the one that starts them.
    ///
    /// # Errors
    /// [`InputError::InvalidOutputPrefix`] when longer than 512 bytes, holding
    /// a log-unsafe character or `?versionId=`, or with a `.` or `..`
    /// segment (reference images under it would not be accepted).
    pub fn with_output_prefix(mut self, prefix: &str) -> Result<Self, InputError> {
        let invalid = || InputError::InvalidOutputPrefix { len: prefix.len() };
        if prefix.len() > 512
            || crate::text::has_log_unsafe(prefix)
            || crate::input::has_dot_segment(prefix)
        {
            return Err(invalid());
        }
        // A folder: `kiosks` and `kiosks/` mean the same.
        let mut prefix = prefix.to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        // The reference image keys Rekognition makes under it must be keys
        // this crate can check and name (no `?versionId=`, not too long).
        let sample = format!(
            "{prefix}member-{0}/kiosk-{0}/00000000-0000-4000-8000-000000000000/reference.jpg",
            "0".repeat(32)
        );
        S3ObjectRef::new("bucket-name", &sample).map_err(|_| invalid())?;
        self.output_prefix = prefix;
        Ok(self)
    }

    /// The liveness threshold (default 80, [`LivenessThreshold::default`]).
    #[must_use]
    pub fn with_threshold(mut self, threshold: LivenessThreshold) -> Self {
        self.threshold = threshold;
        self
    }

    /// How many audit images Rekognition keeps per session
    /// (`AuditImagesLimit`, 0 to 4, default 0: collect no more than
    /// needed).
    ///
    /// # Errors
    /// [`InputError::InvalidAuditImagesLimit`] above 4.
    pub fn with_audit_images_limit(mut self, limit: u8) -> Result<Self, InputError> {
        if limit > 4 {
            return Err(InputError::InvalidAuditImagesLimit { value: limit });
        }
        self.audit_images_limit = limit;
        Ok(self)
    }

    /// How long a passing output-bucket audit is reused (default 5
    /// minutes).
    #[must_use]
    pub fn with_posture_ttl(mut self, ttl: Duration) -> Self {
        self.posture_ttl = ttl;
        self
    }

    /// The per-kiosk failure limit (default [`FailureLimit::default`]).
    #[must_use]
    pub fn with_failure_limit(mut self, limit: FailureLimit) -> Self {
        self.failure_limit = limit;
        self
    }

    /// **Also accepts the lighter challenge**,
    /// [`ChallengeType::FaceMovement`] (`FaceMovementChallenge`: no light
    /// sequence). By default only `FaceMovementAndLightChallenge`, which
    /// AWS recommends as the most accurate, is requested and approved; the
    /// lighter one saves the member a few seconds and gives less evidence
    /// that a live person is there, which matters most at an unattended
    /// kiosk. Sessions still prefer the stronger challenge
    /// (`ChallengePreferences` lists it first); a session that ran either
    /// may then be approved. An explicit choice, named so that a review
    /// finds it.
    #[must_use]
    pub fn allow_face_movement_challenge(mut self) -> Self {
        if !self.challenges.contains(&ChallengeType::FaceMovement) {
            self.challenges.push(ChallengeType::FaceMovement);
        }
        self
    }

    /// The challenge types a session may run and be approved, in order of
    /// preference: sent as `Settings.ChallengePreferences` when a session
    /// starts. Never empty.
    pub fn allowed_challenges(&self) -> &[ChallengeType] {
        &self.challenges
    }

    /// The output bucket: where sessions put their reference images, and
    /// the only bucket verification accepts them from.
    pub fn output_bucket(&self) -> &str {
        &self.output_bucket
    }

    /// The liveness threshold.
    pub fn threshold(&self) -> LivenessThreshold {
        self.threshold
    }

    /// `AuditImagesLimit`.
    pub fn audit_images_limit(&self) -> u8 {
        self.audit_images_limit
    }

    /// The failure limit.
    pub(crate) fn failure_limit(&self) -> FailureLimit {
        self.failure_limit
    }

    /// Where every session of `member` puts its output (what erasure
    /// removes): the configured prefix, `member-` and the first 32
    /// hexadecimal digits of the SHA-256 of the member's bucket, a NUL byte
    /// and key, then `/`. The version is left out (re-enrolling keeps the
    /// prefix), and a digest keeps members' names out of the output
    /// bucket's keys.
    pub fn member_prefix(&self, member: &S3ObjectRef) -> String {
        format!("{}{}/", self.output_prefix, member_tag(member))
    }

    /// The `S3KeyPrefix` of a session for `member` at `kiosk`:
    /// [`member_prefix`](Self::member_prefix), `kiosk-` and the first 16
    /// hexadecimal digits of the SHA-256 of the kiosk id, `/`. A
    /// reference image outside it was not made by a session the guard
    /// started for that member at that kiosk.
    pub fn output_prefix_for(&self, member: &S3ObjectRef, kiosk: &KioskId) -> String {
        format!("{}{}/", self.member_prefix(member), kiosk_tag(kiosk))
    }

    /// The `S3KeyPrefix` of a 1:N search session of `collection` at
    /// `kiosk`: the configured prefix, `search-` and the first 32
    /// hexadecimal digits of the SHA-256 of the collection id, `/`, the
    /// kiosk's tag as in [`output_prefix_for`](Self::output_prefix_for),
    /// `/`. Never under a member's prefix (those start `member-`): before
    /// the search, the person is nobody's member yet.
    pub(crate) fn search_prefix_for(&self, collection: &str, kiosk: &KioskId) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(collection.as_bytes());
        format!(
            "{}search-{}/{}/",
            self.output_prefix,
            &hex::encode(digest)[..32],
            kiosk_tag(kiosk)
        )
    }

    /// How long a passing output-bucket audit is reused.
    pub(crate) fn posture_ttl(&self) -> Duration {
        self.posture_ttl
    }
}

/// The tag that binds a session's output to a member: `member-` and the
/// first 32 hexadecimal digits of the SHA-256 of the member's bucket, a
/// NUL byte and key (the version is left out: re-enrolling keeps the tag).
/// A digest, so the output bucket's keys do not spell members' names.
pub(crate) fn member_tag(member: &S3ObjectRef) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(member.bucket().as_bytes());
    hasher.update([0u8]);
    hasher.update(member.key().as_bytes());
    let digest = hasher.finalize();
    format!("member-{}", &hex::encode(digest)[..32])
}

/// The tag that binds a session to its kiosk: `kiosk-` and the first 16
/// hexadecimal digits of the SHA-256 of the kiosk id. With it, a session
/// started at one kiosk cannot be verified as another's, so a failure limit
/// cannot be dodged by naming another kiosk.
pub(crate) fn kiosk_tag(kiosk: &KioskId) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(kiosk.as_str().as_bytes());
    format!("kiosk-{}", &hex::encode(digest)[..16])
}

/// A started Face Liveness session: give [`id`](Self::id) to the kiosk's
/// client component, then [`FaceLiveness::verify_session`](crate::FaceLiveness::verify_session)
/// with the same member.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LivenessSession {
    /// The session id.
    pub id: LivenessSessionId,
    /// The member it was started for.
    pub member: S3ObjectRef,
    /// The kiosk it was started at.
    pub kiosk: KioskId,
    /// When it was started (this host's clock).
    pub started_at: SystemTime,
    /// When Rekognition expires it: 3 minutes after the start.
    pub expires_at: SystemTime,
}

/// Why a session did not show a live person. None of these approve.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NotLiveReason {
    /// `FAILED`: Rekognition could not complete the check.
    Failed,
    /// `EXPIRED`: the session expired before the video arrived.
    Expired,
    /// `SUCCEEDED`, but below the liveness threshold.
    LowConfidence {
        /// Rekognition's confidence, 0 to 100.
        confidence: f32,
        /// The threshold it missed.
        threshold: f32,
    },
    /// `SUCCEEDED` without a reference image: AWS says to retry with a
    /// new session.
    NoReferenceImage,
    /// `SUCCEEDED` under a challenge the policy does not allow
    /// ([`LivenessPolicy::allow_face_movement_challenge`]), or a result that names no
    /// challenge at all (`None`).
    ChallengeNotAllowed {
        /// The challenge type reported, if any.
        found: Option<ChallengeType>,
    },
}

impl fmt::Display for NotLiveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed => f.write_str("the liveness check failed (FAILED)"),
            Self::Expired => f.write_str("the session expired before the check (EXPIRED)"),
            Self::LowConfidence {
                confidence,
                threshold,
            } => write!(
                f,
                "liveness confidence {confidence:.2} is below the threshold {threshold}"
            ),
            Self::NoReferenceImage => f.write_str(
                "the check succeeded but Rekognition returned no reference image; start a new session",
            ),
            Self::ChallengeNotAllowed { found: Some(found) } => write!(
                f,
                "the session ran challenge {found}, which the liveness policy does not allow; the kiosk's client component must run FaceMovementAndLightChallenge (or allow the lighter challenge explicitly)"
            ),
            Self::ChallengeNotAllowed { found: None } => f.write_str(
                "the session's results name no challenge, so it cannot be shown to be one the liveness policy allows; start a new session",
            ),
        }
    }
}

/// The outcome of a liveness verification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LivenessVerdict {
    /// Live, and compared with the member's photo: the comparison's
    /// verdict. Approves only when it is a [`Verdict::Match`].
    Compared(Verdict),
    /// Not shown to be live; nothing was compared.
    NotLive(NotLiveReason),
    /// `CREATED` or `IN_PROGRESS`: the check has not finished; ask again.
    NotFinished(LivenessStatus),
}

impl LivenessVerdict {
    /// `match`, `no_match`, `no_face`, `not_live` or `not_finished`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Compared(v) => v.label(),
            Self::NotLive(_) => "not_live",
            Self::NotFinished(_) => "not_finished",
        }
    }
}

/// What [`FaceLiveness::verify_session`](crate::FaceLiveness::verify_session) decided,
/// with everything checked. Holds no image bytes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LivenessDecision {
    /// The verdict.
    pub verdict: LivenessVerdict,
    /// The session.
    pub session_id: LivenessSessionId,
    /// The member the session was verified for.
    pub member: S3ObjectRef,
    /// The kiosk.
    pub kiosk: KioskId,
    /// The session status Rekognition reported.
    pub status: LivenessStatus,
    /// The liveness confidence Rekognition reported, if any.
    pub confidence: Option<f32>,
    /// The challenge the session ran (type and version), as Rekognition
    /// reported it, if it did.
    pub challenge: Option<Challenge>,
    /// The liveness threshold applied.
    pub liveness_threshold: LivenessThreshold,
    /// The member's enrolled photo, as checked (when compared).
    pub source: Option<CheckedImage>,
    /// The session's reference image, as checked (when compared).
    pub target: Option<CheckedImage>,
    /// The similarity threshold applied.
    pub threshold: SimilarityThreshold,
    /// The opt-out evidence relied on.
    pub opt_out: OptOutRecord,
    /// Where the decision's record is, for a guard with a ledger.
    pub ledger: Option<crate::decision::LedgerReceipt>,
}

impl LivenessDecision {
    /// Whether the member may borrow: live, and the faces match.
    pub fn is_approved(&self) -> bool {
        matches!(
            self.verdict,
            LivenessVerdict::Compared(Verdict::Match { .. })
        )
    }

    /// The text for the kiosk's screen: `pass` or `fail`, nothing more
    /// (AWS recommends never showing the score, which would help tune an
    /// attack).
    pub fn kiosk_text(&self) -> &'static str {
        if self.is_approved() {
            "pass"
        } else {
            "fail"
        }
    }

    /// The similarity of a match.
    pub fn similarity(&self) -> Option<f32> {
        match &self.verdict {
            LivenessVerdict::Compared(v) => v.similarity(),
            _ => None,
        }
    }
}

impl fmt::Display for LivenessDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "liveness session {} at kiosk {}: {} (status {}",
            self.session_id,
            Quoted(self.kiosk.as_str()),
            self.verdict.label(),
            self.status
        )?;
        if let Some(c) = self.confidence {
            write!(f, ", confidence {c:.2}")?;
        }
        if let Some(c) = &self.challenge {
            write!(f, ", challenge {c}")?;
        }
        if let Some(s) = self.similarity() {
            write!(f, ", similarity {s:.2}")?;
        }
        f.write_str(")")
    }
}

/// A Face Liveness requirement that was not met.
#[derive(Debug, Clone, PartialEq, derive_more::Display)]
#[non_exhaustive]
pub enum LivenessViolation {
    /// The kiosk had too many failed checks and is locked.
    #[display("kiosk {} is locked after too many failed liveness checks; it may try again in {} s (or staff can help the member)", Quoted(kiosk.as_str()), retry_after.as_secs())]
    KioskLocked {
        /// The kiosk.
        kiosk: KioskId,
        /// How long until it may try again.
        retry_after: Duration,
    },
    /// As many checks of the kiosk are in flight as its failure limit has
    /// room for in the window (failures counted plus checks not yet
    /// decided): one more could exceed the limit before any of them is
    /// counted. Refused before any AWS call.
    #[display("kiosk {} has {in_flight} liveness checks in flight, as many as its failure limit leaves room for; wait for them to finish (or staff can help the member)", Quoted(kiosk.as_str()))]
    KioskBusy {
        /// The kiosk.
        kiosk: KioskId,
        /// Its checks in flight.
        in_flight: u32,
    },
    /// The session's reference image is not in the output bucket, or its
    /// key has `.` or `..` segments (which a path-style endpoint or a
    /// normalising proxy would resolve elsewhere): not where the guard
    /// told Rekognition to put it, so it is not evidence about this
    /// session.
    #[display("liveness session {session_id} reported its reference image at {}, which is not in the output bucket {output_bucket} under a plain key; the guard only trusts reference images where it told Rekognition to store them (a verifying process needs the same output bucket and prefix as the one that starts sessions)", Quoted(reported))]
    ReferenceImageOutsideOutput {
        /// The session.
        session_id: LivenessSessionId,
        /// Where Rekognition said the image is (`s3://bucket/key`, as
        /// reported; shown escaped).
        reported: String,
        /// The output bucket of the policy.
        output_bucket: String,
    },
    /// The Rekognition client is in AWS GovCloud (US), where Face Liveness
    /// is not among the documented Rekognition features (the AWS GovCloud
    /// (US) User Guide, "Amazon Rekognition", lists Rekognition in
    /// us-gov-west-1 without streaming video; Face Liveness's own region
    /// list names commercial regions only). Refused before any call,
    /// rather than left to fail at AWS.
    #[display("the guard does not run Face Liveness in AWS GovCloud (US) (the Rekognition client's region is {}): it is not documented as available there; run liveness checks with a client in a commercial region that offers Face Liveness, or compare without liveness", crate::text::quote(region, 64))]
    UnavailableInGovCloud {
        /// The client's region (`us-gov-…`).
        region: String,
    },
    /// The session was already verified by this guard; every check needs a
    /// new session.
    #[display(
        "liveness session {session_id} was already verified; start a new session for every check"
    )]
    SessionReused {
        /// The session.
        session_id: LivenessSessionId,
    },
    /// The session was not started for this member at this kiosk: its
    /// reference image is not under the prefix the guard gives such
    /// sessions ([`LivenessPolicy::output_prefix_for`]), or not in the
    /// output bucket.
    #[display("liveness session {session_id} was not started for {member} at kiosk {}: its reference image is outside that session's output prefix (a verifying process needs the same output prefix as the one that starts sessions); start a session for this member at this kiosk", Quoted(kiosk.as_str()))]
    SessionForAnotherMember {
        /// The session.
        session_id: LivenessSessionId,
        /// The member it was verified for.
        member: S3ObjectRef,
        /// The kiosk it was verified at.
        kiosk: KioskId,
    },
    /// The reference image is not an S3 object (bytes, or an S3 object
    /// without a bucket and key), so it cannot be checked at rest.
    #[display("liveness session {session_id} did not return its reference image as an S3 object (it came as bytes, or without a bucket and key); sessions must be started with an output bucket")]
    ReferenceImageNotInS3 {
        /// The session.
        session_id: LivenessSessionId,
    },
    /// The member's photo is not named at a version: verification compares
    /// the enrolled version, as enrollment returned it.
    #[display("{member} names no version: give the member's enrolled photo as enrollment returned it (s3://bucket/key?versionId=...), so the comparison reads the version that was checked")]
    MemberNotPinned {
        /// The member reference given.
        member: S3ObjectRef,
    },
    /// A 1:N search of a collection configured with Face Liveness
    /// ([`CollectionPolicy::with_liveness`](crate::collection::CollectionPolicy::with_liveness))
    /// was asked for without a liveness session: refused before any call.
    #[display("this collection identifies members only after a passed Face Liveness check: start a session with FaceCollection::start_search_session and search with FaceCollection::search_live")]
    SearchNeedsLiveness,
    /// A liveness search of a collection with no Face Liveness policy.
    #[display("this collection has no Face Liveness policy: configure one with CollectionPolicy::with_liveness before starting or verifying search sessions")]
    NoLivenessPolicy,
    /// The session was not started for a search of this collection at this
    /// kiosk: its reference image is outside the prefix the guard gives
    /// such sessions (a member's 1:1 session, another kiosk's or another
    /// collection's).
    #[display("liveness session {session_id} was not started for a search of this collection at kiosk {}: its reference image is outside that session's output prefix", Quoted(kiosk.as_str()))]
    SessionNotForThisSearch {
        /// The session.
        session_id: LivenessSessionId,
        /// The kiosk it was verified at.
        kiosk: KioskId,
    },
    /// The output bucket's configuration would not keep reference images
    /// SSE-KMS under an allowed key and version-pinnable.
    #[display("liveness output bucket {bucket} is not compliant: {}", findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    OutputBucketNotCompliant {
        /// The bucket.
        bucket: String,
        /// The audit's at-rest findings.
        findings: Vec<Finding>,
    },
}

/// Per-kiosk failure counts, checks in flight and locks.
#[derive(Debug, Default)]
pub(crate) struct FailureLimiter {
    kiosks: Mutex<HashMap<KioskId, KioskState>>,
}

#[derive(Debug, Default)]
struct KioskState {
    failures: VecDeque<Instant>,
    in_flight: u32,
    locked_until: Option<Instant>,
}

impl KioskState {
    /// Forgets failures older than the window and a lock that is over.
    fn expire(&mut self, limit: FailureLimit, now: Instant) {
        if self.locked_until.is_some_and(|until| until <= now) {
            // The lock is over: count afresh.
            self.locked_until = None;
            self.failures.clear();
        }
        while self
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.window)
        {
            self.failures.pop_front();
        }
    }
}

/// Why a kiosk may not start a check now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotNow {
    /// Locked for this long still.
    Locked(Duration),
    /// This many checks in flight fill the failure limit's room.
    Busy(u32),
}

impl FailureLimiter {
    /// `Err(retry_after)` while `kiosk` is locked.
    pub(crate) fn check(&self, kiosk: &KioskId, now: Instant) -> Result<(), Duration> {
        let kiosks = self.kiosks.lock().unwrap_or_else(|e| e.into_inner());
        match kiosks.get(kiosk).and_then(|s| s.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Reserves one check of `kiosk`, atomically with the lock check:
    /// refused while the kiosk is locked, or while the failures counted in
    /// the window plus the checks in flight already reach
    /// `limit.max_failures()`. So at most that many failures can be
    /// counted or in flight per window, however many checks run at once.
    /// The [`Attempt`] settles the reservation: [`Attempt::failed`] counts
    /// a failure; dropping it (a pass, a refusal, an error) frees it.
    pub(crate) fn reserve(
        &self,
        kiosk: &KioskId,
        limit: FailureLimit,
        now: Instant,
    ) -> Result<Attempt<'_>, NotNow> {
        let mut kiosks = self.kiosks.lock().unwrap_or_else(|e| e.into_inner());
        let state = kiosks.entry(kiosk.clone()).or_default();
        state.expire(limit, now);
        if let Some(until) = state.locked_until {
            return Err(NotNow::Locked(until - now));
        }
        let taken = state.failures.len() as u64 + u64::from(state.in_flight);
        if taken >= u64::from(limit.max_failures) {
            return Err(NotNow::Busy(state.in_flight));
        }
        state.in_flight += 1;
        Ok(Attempt {
            limiter: self,
            kiosk: kiosk.clone(),
            limit,
            settled: false,
        })
    }

    /// Counts a failed check; `true` when it locked the kiosk.
    #[cfg(test)]
    pub(crate) fn record_failure(
        &self,
        kiosk: &KioskId,
        limit: FailureLimit,
        now: Instant,
    ) -> bool {
        let mut kiosks = self.kiosks.lock().unwrap_or_else(|e| e.into_inner());
        let state = kiosks.entry(kiosk.clone()).or_default();
        Self::count(state, limit, now)
    }

    fn count(state: &mut KioskState, limit: FailureLimit, now: Instant) -> bool {
        state.expire(limit, now);
        state.failures.push_back(now);
        if state.failures.len() >= limit.max_failures as usize {
            state.failures.clear();
            // Clamped to MAX_LOCKOUT, so this only fails on a clock near
            // its end: lock as long as the clock allows.
            let until = now
                .checked_add(limit.lockout)
                .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 60 * 60)))
                .unwrap_or(now);
            state.locked_until = Some(until);
            true
        } else {
            false
        }
    }

    /// Ends a reservation; counts a failure when `failed`. A kiosk with
    /// nothing left to remember (no failure in the window, nothing in
    /// flight, no lock) is forgotten, so kiosk ids do not pile up.
    fn settle(&self, kiosk: &KioskId, limit: FailureLimit, failed: bool, now: Instant) -> bool {
        let mut kiosks = self.kiosks.lock().unwrap_or_else(|e| e.into_inner());
        let state = kiosks.entry(kiosk.clone()).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        let locked = failed && Self::count(state, limit, now);
        state.expire(limit, now);
        if state.failures.is_empty() && state.in_flight == 0 && state.locked_until.is_none() {
            kiosks.remove(kiosk);
        }
        locked
    }
}

/// One reserved check of a kiosk ([`FailureLimiter::reserve`]). Dropped
/// without [`failed`](Self::failed), it frees its place: a pass, a
/// refusal, an error or a cancelled call counts no failure.
#[derive(Debug)]
pub(crate) struct Attempt<'a> {
    limiter: &'a FailureLimiter,
    kiosk: KioskId,
    limit: FailureLimit,
    settled: bool,
}

impl Attempt<'_> {
    /// The check failed (not live, no match, no face): counted. `true`
    /// when this failure locked the kiosk.
    pub(crate) fn failed(mut self) -> bool {
        self.settled = true;
        self.limiter
            .settle(&self.kiosk, self.limit, true, Instant::now())
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter
                .settle(&self.kiosk, self.limit, false, Instant::now());
        }
    }
}

/// Session ids this guard verified: each may be verified once. The most
/// recent [`USED_SESSIONS_KEPT`] are remembered, far more than a kiosk can
/// start in a session's lifetime.
#[derive(Debug, Default)]
pub(crate) struct UsedSessions {
    inner: Mutex<Claims>,
}

/// Claimed ids with the claim's number, and the claims in order (an id
/// released and claimed again has a newer number, so its old place in
/// the order does not forget it).
#[derive(Debug, Default)]
struct Claims {
    claimed: HashMap<LivenessSessionId, u64>,
    order: VecDeque<(LivenessSessionId, u64)>,
    next: u64,
}

/// How many verified session ids a guard remembers.
pub(crate) const USED_SESSIONS_KEPT: usize = 100_000;

impl UsedSessions {
    /// Claims `id`; `false` when it was claimed before.
    pub(crate) fn claim(&self, id: &LivenessSessionId) -> bool {
        let mut claims = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if claims.claimed.contains_key(id) {
            return false;
        }
        claims.next += 1;
        let n = claims.next;
        claims.claimed.insert(id.clone(), n);
        claims.order.push_back((id.clone(), n));
        while claims.order.len() > USED_SESSIONS_KEPT {
            if let Some((old, n)) = claims.order.pop_front() {
                if claims.claimed.get(&old) == Some(&n) {
                    claims.claimed.remove(&old);
                }
            }
        }
        true
    }

    /// Releases `id` (it was not verified to the end), so it may be
    /// verified again.
    pub(crate) fn release(&self, id: &LivenessSessionId) {
        let mut claims = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        claims.claimed.remove(id);
    }
}

/// Output buckets whose audit passed, and when.
#[derive(Debug, Default)]
pub(crate) struct PostureCache {
    passed: Mutex<HashMap<String, Instant>>,
}

impl PostureCache {
    pub(crate) fn fresh(&self, bucket: &str, ttl: Duration, now: Instant) -> bool {
        let passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        passed
            .get(bucket)
            .is_some_and(|at| now.duration_since(*at) < ttl)
    }

    pub(crate) fn remember(&self, bucket: &str, now: Instant) {
        self.passed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bucket.to_owned(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk() -> KioskId {
        KioskId::new("kiosk-1").unwrap()
    }

    /// A member's sessions and a collection's search sessions never share
    /// an output prefix, whatever the ids: one is never the other's.
    #[test]
    fn search_prefixes_and_member_prefixes_never_overlap() {
        let policy = LivenessPolicy::new("kiosk-liveness")
            .unwrap()
            .with_output_prefix("liveness/")
            .unwrap();
        let member = S3ObjectRef::parse("s3://library-photos/search-x/ada.jpg").unwrap();
        for collection in ["library-members", "member-", "x"] {
            let search = policy.search_prefix_for(collection, &kiosk());
            let one_to_one = policy.output_prefix_for(&member, &kiosk());
            assert!(search.starts_with("liveness/search-"), "{search}");
            assert!(one_to_one.starts_with("liveness/member-"), "{one_to_one}");
            assert!(!search.starts_with(&one_to_one) && !one_to_one.starts_with(&search));
            let other = policy.search_prefix_for("another-collection", &kiosk());
            assert!(!other.starts_with(&search) && !search.starts_with(&other));
        }
    }

    #[test]
    fn five_failures_in_the_window_lock_the_kiosk_for_the_lockout() {
        let limiter = FailureLimiter::default();
        let limit = FailureLimit::default();
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(!limiter.record_failure(&kiosk(), limit, t0 + Duration::from_secs(i * 10)));
            assert_eq!(
                limiter.check(&kiosk(), t0 + Duration::from_secs(i * 10)),
                Ok(())
            );
        }
        assert!(limiter.record_failure(&kiosk(), limit, t0 + Duration::from_secs(50)));
        let retry = limiter
            .check(&kiosk(), t0 + Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(retry, Duration::from_secs(30 * 60 - 10));
        // Another kiosk is not affected.
        assert_eq!(limiter.check(&KioskId::new("kiosk-2").unwrap(), t0), Ok(()));
        // After the lockout, counting starts afresh.
        let after = t0 + Duration::from_secs(50) + limit.lockout();
        assert_eq!(limiter.check(&kiosk(), after), Ok(()));
        assert!(!limiter.record_failure(&kiosk(), limit, after));
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let limiter = FailureLimiter::default();
        let limit = FailureLimit::default();
        let t0 = Instant::now();
        for i in 0..20 {
            // One failure a minute: never 5 within 3 minutes.
            assert!(!limiter.record_failure(&kiosk(), limit, t0 + Duration::from_secs(i * 60)));
        }
    }

    #[test]
    fn a_session_id_is_claimed_once() {
        let used = UsedSessions::default();
        let id = LivenessSessionId::parse("0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90").unwrap();
        assert!(used.claim(&id));
        assert!(!used.claim(&id));
    }

    #[test]
    fn session_ids_are_uuids_and_nothing_else() {
        for bad in [
            "",
            "0f6b3a0e27a44b8e9a612c1d5e8f7a90",
            "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a9",
            "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90-",
            "0f6b3a0g-27a4-4b8e-9a61-2c1d5e8f7a90",
            "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a9\n",
        ] {
            assert!(LivenessSessionId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sessions_are_bound_to_member_and_kiosk_by_prefix() {
        let member = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        let policy = LivenessPolicy::new("library-liveness")
            .unwrap()
            .with_output_prefix("kiosks")
            .unwrap();
        let prefix = policy.output_prefix_for(&member, &kiosk());
        assert_eq!(
            prefix,
            format!("kiosks/{}/{}/", member_tag(&member), kiosk_tag(&kiosk()))
        );
        assert!(prefix.starts_with(&policy.member_prefix(&member)));
        let other_kiosk = KioskId::new("kiosk-2").unwrap();
        assert_ne!(policy.output_prefix_for(&member, &other_kiosk), prefix);
        assert_eq!(member_tag(&member).len(), "member-".len() + 32);
        assert_eq!(kiosk_tag(&kiosk()).len(), "kiosk-".len() + 16);
    }

    #[test]
    fn session_ids_have_one_spelling() {
        let lower = LivenessSessionId::parse("0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90").unwrap();
        let upper = LivenessSessionId::parse("0F6B3A0E-27A4-4B8E-9A61-2C1D5E8F7A90").unwrap();
        assert_eq!(lower, upper);
        let used = UsedSessions::default();
        assert!(used.claim(&lower));
        assert!(!used.claim(&upper));
        used.release(&upper);
        assert!(used.claim(&lower));
    }

    #[test]
    fn the_failure_limit_cannot_be_switched_off_or_overflow() {
        let limit = FailureLimit::new(0, Duration::ZERO, Duration::MAX);
        assert_eq!(limit.max_failures, 1);
        assert_eq!(limit.window, Duration::from_secs(1));
        assert_eq!(limit.lockout(), FailureLimit::MAX_LOCKOUT);
        let limiter = FailureLimiter::default();
        let now = Instant::now();
        assert!(limiter.record_failure(&kiosk(), limit, now));
        assert!(limiter.check(&kiosk(), now).is_err());
    }

    #[test]
    fn reservations_and_failures_share_the_limit() {
        let limiter = FailureLimiter::default();
        let limit = FailureLimit::new(3, Duration::from_secs(180), Duration::from_secs(1800));
        let t0 = Instant::now();
        let a = limiter.reserve(&kiosk(), limit, t0).unwrap();
        let b = limiter.reserve(&kiosk(), limit, t0).unwrap();
        let c = limiter.reserve(&kiosk(), limit, t0).unwrap();
        // Three in flight fill the room for three failures.
        assert_eq!(
            limiter.reserve(&kiosk(), limit, t0).unwrap_err(),
            NotNow::Busy(3)
        );
        // A pass (dropped) frees its place; a failure keeps it, counted.
        drop(a);
        assert!(!b.failed());
        let d = limiter.reserve(&kiosk(), limit, t0).unwrap();
        assert_eq!(
            limiter.reserve(&kiosk(), limit, t0).unwrap_err(),
            NotNow::Busy(2)
        );
        assert!(!c.failed());
        assert!(d.failed(), "the third failure locks the kiosk");
        assert!(matches!(
            limiter.reserve(&kiosk(), limit, t0),
            Err(NotNow::Locked(d)) if d >= Duration::from_secs(1800)
        ));
        assert!(limiter.check(&kiosk(), t0).is_err());
        // Another kiosk is not affected; after the lockout, afresh.
        let other = KioskId::new("kiosk-2").unwrap();
        assert!(limiter.reserve(&other, limit, t0).is_ok());
        // A kiosk with nothing to remember is not kept.
        assert!(!limiter.kiosks.lock().unwrap().contains_key(&other));
        // (A settled failure is stamped with the clock's now.)
        let after = Instant::now() + limit.lockout();
        assert!(limiter.reserve(&kiosk(), limit, after).is_ok());
    }

    #[test]
    fn policy_values_are_validated() {
        assert!(LivenessPolicy::new("Bad_Bucket").is_err());
        let p = LivenessPolicy::new("library-liveness").unwrap();
        assert!(p.clone().with_audit_images_limit(5).is_err());
        for dotted in ["..", "kiosks/../other", "./kiosks", "kiosks/./"] {
            assert!(p.clone().with_output_prefix(dotted).is_err(), "{dotted}");
        }
        assert!(p.clone().with_output_prefix("kiosks..x/a.b").is_ok());
        assert!(p.clone().with_output_prefix("a\u{2028}b").is_err());
        assert!(p.clone().with_output_prefix("a?versionId=b").is_err());
        assert!(p.clone().with_output_prefix(&"k".repeat(513)).is_err());
        assert!(p.clone().with_output_prefix(&"k/".repeat(256)).is_ok());
        let member = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        for given in ["kiosks", "kiosks/"] {
            let p = p.clone().with_output_prefix(given).unwrap();
            assert_eq!(
                p.member_prefix(&member),
                format!("kiosks/{}/", member_tag(&member))
            );
        }
    }

    #[test]
    fn a_member_tag_is_a_digest_of_bucket_and_key_not_version() {
        let ada = S3ObjectRef::parse("s3://library-photos/members/ada.jpg?versionId=v1").unwrap();
        let again = S3ObjectRef::parse("s3://library-photos/members/ada.jpg?versionId=v2").unwrap();
        let grace = S3ObjectRef::parse("s3://library-photos/members/grace.jpg").unwrap();
        assert_eq!(member_tag(&ada), member_tag(&again));
        assert_ne!(member_tag(&ada), member_tag(&grace));
        assert!(member_tag(&ada).starts_with("member-"));
        assert!(!member_tag(&ada).contains("ada"));
    }
}
