//! A refusal: every privacy requirement an operation failed, by
//! requirement (in transit, at rest, opt-out).

use std::fmt;

use crate::at_rest::AtRestViolation;
use crate::liveness::LivenessViolation;
use crate::opt_out::OptOutViolation;
use crate::transit::InsecureEndpoint;

/// What the guard was asked to do: named in refusals, errors and audit
/// events, and it decides which requirements apply (every operation that
/// calls Rekognition needs the opt-out evidence and an HTTPS Rekognition
/// endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Guard::compare`](crate::Guard::compare): Rekognition `CompareFaces`.
    CompareFaces,
    /// [`Guard::assess_face`](crate::Guard::assess_face): Rekognition
    /// `DetectFaces`.
    DetectFaces,
    /// [`Guard::enroll`](crate::Guard::enroll): `DetectFaces` (the quality
    /// gate), then S3 `PutObject`, then `HeadObject`.
    Enroll,
    /// [`PhotoStore::store_reference`](crate::PhotoStore::store_reference):
    /// S3 `PutObject`, then `HeadObject`.
    StoreReference,
    /// [`PhotoStore::check`](crate::PhotoStore::check), and the read-back
    /// of a stored photo: S3 `HeadObject` and the at-rest judge.
    CheckObject,
    /// [`FaceLiveness::start_session`](crate::FaceLiveness::start_session):
    /// the output bucket's audit, then Rekognition
    /// `CreateFaceLivenessSession`.
    StartLiveness,
    /// [`FaceLiveness::verify_session`](crate::FaceLiveness::verify_session):
    /// `GetFaceLivenessSessionResults`, HeadObject of both images, then
    /// `CompareFaces`.
    VerifyLiveness,
    /// [`PhotoStore::erase`](crate::PhotoStore::erase): S3
    /// `ListObjectVersions` and `DeleteObject` by version id.
    Erase,
    /// [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory):
    /// S3 `GetObject` of an S3 Inventory report, and HeadObject of SSE-KMS
    /// versions for key checks.
    AuditInventory,
    /// [`PhotoStore::reencrypt`](crate::PhotoStore::reencrypt): S3
    /// `UpdateObjectEncryption` or `CopyObject`, then HeadObject of the
    /// result.
    Reencrypt,
    /// [`PhotoStore::audit_bucket`](crate::PhotoStore::audit_bucket): the
    /// bucket's configuration, read with S3's `Get…` operations.
    AuditBucket,
    /// [`FaceCollection::index`](crate::FaceCollection::index):
    /// HeadObject of an S3 image, then Rekognition `IndexFaces`,
    /// `CreateUser`, `AssociateFaces`.
    IndexFaces,
    /// [`FaceCollection::search`](crate::FaceCollection::search):
    /// Rekognition `SearchUsersByImage`.
    SearchUsersByImage,
    /// [`Collection::forget`](crate::Collection::forget):
    /// Rekognition `ListFaces`, `DeleteUser`, `DeleteFaces` (no image).
    ForgetFaces,
}

impl Operation {
    /// `CompareFaces`, `DetectFaces`, `enrollment`, `object check`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::CompareFaces => "CompareFaces",
            Self::DetectFaces => "DetectFaces",
            Self::Enroll => "enrollment",
            Self::StoreReference => "reference photo storage",
            Self::CheckObject => "object check",
            Self::StartLiveness => "Face Liveness session start",
            Self::VerifyLiveness => "Face Liveness verification",
            Self::Erase => "erasure",
            Self::AuditInventory => "inventory audit",
            Self::Reencrypt => "re-encryption",
            Self::AuditBucket => "bucket audit",
            Self::IndexFaces => "IndexFaces",
            Self::SearchUsersByImage => "SearchUsersByImage",
            Self::ForgetFaces => "collection erasure",
        }
    }

    /// What a refusal of this operation means for what was sent or stored.
    pub(crate) fn consequence(self) -> &'static str {
        match self {
            Self::CompareFaces | Self::DetectFaces => "nothing was sent to Rekognition",
            Self::Enroll => "nothing was sent to Rekognition and nothing was stored",
            Self::StoreReference => "nothing was stored",
            Self::CheckObject => "the object may not be compared",
            Self::StartLiveness => "no session was started",
            Self::VerifyLiveness => "no faces were compared and nothing is approved",
            Self::Erase => "nothing was listed or deleted",
            Self::AuditInventory => "no report was read",
            Self::Reencrypt => "nothing was re-encrypted",
            Self::AuditBucket => "no finding was made",
            Self::IndexFaces => "nothing was sent to Rekognition and nothing was indexed",
            Self::SearchUsersByImage => "nothing was sent to Rekognition and nobody is identified",
            Self::ForgetFaces => "nothing was deleted",
        }
    }

    /// Whether the operation calls Rekognition.
    pub(crate) fn calls_rekognition(self) -> bool {
        matches!(
            self,
            Self::CompareFaces
                | Self::DetectFaces
                | Self::Enroll
                | Self::StartLiveness
                | Self::VerifyLiveness
                | Self::IndexFaces
                | Self::SearchUsersByImage
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The privacy policy refused an operation.
///
/// Holds every requirement that failed, not only the first, so one run tells
/// an operator everything to fix. `Display` is one line (safe for logs) and
/// names the operation and what its refusal means:
/// `CompareFaces refused by privacy policy (2 requirements failed; nothing
/// was sent to Rekognition): 1) …; 2) …`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Refusal {
    /// The operation refused.
    pub operation: Operation,
    /// Every requirement that failed, in a stable order (endpoints, opt-out,
    /// then each image in the order given).
    pub violations: Vec<Violation>,
}

impl Refusal {
    /// Builds a refusal. Returns `None` when `violations` is empty: a refusal
    /// always names at least one reason.
    pub(crate) fn new(operation: Operation, violations: Vec<Violation>) -> Option<Self> {
        (!violations.is_empty()).then_some(Self {
            operation,
            violations,
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.violations.len();
        write!(
            f,
            "{} refused by privacy policy ({n} requirement{} failed; {}):",
            self.operation,
            if n == 1 { "" } else { "s" },
            self.operation.consequence(),
        )?;
        for (i, v) in self.violations.iter().enumerate() {
            write!(f, " {}) {v}", i + 1)?;
            if i + 1 < n {
                f.write_str(";")?;
            }
        }
        Ok(())
    }
}

/// One privacy requirement that was not met, by requirement.
#[derive(Debug, Clone, PartialEq, derive_more::Display)]
#[non_exhaustive]
pub enum Violation {
    /// **In transit**: an endpoint is not HTTPS (or carries user
    /// information, a query or a fragment). The guard did not call it.
    #[display("{_0}")]
    InsecureEndpoint(InsecureEndpoint),
    /// **At rest**: an S3 image is not what the policy requires.
    #[display("{_0}")]
    AtRest(AtRestViolation),
    /// **Opt-out**: the evidence does not hold for the account that calls
    /// Rekognition.
    #[display("{_0}")]
    OptOut(OptOutViolation),
    /// **Face Liveness**: the session, the kiosk or the output bucket does
    /// not meet the liveness rules.
    #[display("{_0}")]
    Liveness(LivenessViolation),
}

impl From<LivenessViolation> for Violation {
    fn from(v: LivenessViolation) -> Self {
        Violation::Liveness(v)
    }
}

impl From<InsecureEndpoint> for Violation {
    fn from(v: InsecureEndpoint) -> Self {
        Violation::InsecureEndpoint(v)
    }
}

impl From<AtRestViolation> for Violation {
    fn from(v: AtRestViolation) -> Self {
        Violation::AtRest(v)
    }
}

impl From<OptOutViolation> for Violation {
    fn from(v: OptOutViolation) -> Self {
        Violation::OptOut(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::S3ObjectRef;

    #[test]
    fn a_refusal_names_its_operation_and_what_it_means() {
        let violation = Violation::AtRest(AtRestViolation::KmsKeyUnknown {
            object: S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
        });
        for (operation, start, consequence) in [
            (
                Operation::CompareFaces,
                "CompareFaces refused",
                "nothing was sent to Rekognition",
            ),
            (
                Operation::DetectFaces,
                "DetectFaces refused",
                "nothing was sent to Rekognition",
            ),
            (
                Operation::Enroll,
                "enrollment refused",
                "nothing was stored",
            ),
            (
                Operation::CheckObject,
                "object check refused",
                "may not be compared",
            ),
        ] {
            let r = Refusal::new(operation, vec![violation.clone()]).unwrap();
            let text = r.to_string();
            assert!(text.starts_with(start), "{text}");
            assert!(text.contains(consequence), "{text}");
            assert!(text.contains("(1 requirement failed;"), "{text}");
            assert_eq!(r.operation, operation);
        }
        assert!(Refusal::new(Operation::CompareFaces, Vec::new()).is_none());
    }
}
