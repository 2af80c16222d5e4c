use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::BackendError;
use crate::input::{AccountId, InputError};
use crate::text::{escape, quote};

/// Checks whether the account is opted out of AI-service data use for
/// Rekognition.
///
/// With the `test-util` feature, `MockOptOutVerifier` implements it.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait OptOutVerifier: Send + Sync + fmt::Debug {
    /// Finds out whether the opt-out is in effect. A verifier reaches its
    /// service over HTTPS only (for AWS: the Organizations client carries
    /// [`HttpsOnly`](crate::transit::HttpsOnly)); a request it refused for
    /// an insecure endpoint is a [`BackendError::refused_endpoint`], which
    /// the guard turns into a refusal.
    ///
    /// # Errors
    /// A [`BackendError`] when the answer could not be obtained; the guard
    /// then refuses to compare.
    async fn verify(&self) -> Result<OptOutStatus, BackendError>;
}

/// An `Arc` of a verifier is a verifier, so one can be shared.
#[async_trait]
impl<T: OptOutVerifier + ?Sized> OptOutVerifier for Arc<T> {
    async fn verify(&self) -> Result<OptOutStatus, BackendError> {
        (**self).verify().await
    }
}

/// The opt-out requirement was not met.
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display)]
#[non_exhaustive]
pub enum OptOutViolation {
    /// The opt-out evidence is about another account than the one whose
    /// credentials call Rekognition.
    #[display("the AI services opt-out was verified for account {evidence_account}, but Rekognition is called with credentials of account {rekognition_account}; verify the opt-out for the account that calls Rekognition (build the verifier from the same credentials, or set OrganizationsVerifierBuilder::target_account to {rekognition_account})")]
    ForAnotherAccount {
        /// The account the opt-out evidence is about.
        evidence_account: AccountId,
        /// The account whose credentials call Rekognition.
        rekognition_account: AccountId,
    },
    /// The opt-out verifier found the account not opted out (or could not
    /// prove it).
    #[display(
        "AI services opt-out not in effect for Rekognition: {}",
        escape(reason)
    )]
    NotInEffect {
        /// What the verifier found and how to fix it.
        reason: String,
    },
    /// The evidence is the AWS GovCloud (US) partition, but the Rekognition
    /// client is not in a GovCloud region (or its backend does not say
    /// which region it is in).
    #[display("the opt-out evidence is the AWS GovCloud (US) partition, but the Rekognition client's region is {}; that evidence holds only in a GovCloud region (us-gov-west-1, where Rekognition runs): give this client verified or attested opt-out evidence instead", region.as_deref().map_or_else(|| "not known (its backend does not report one)".to_owned(), |r| crate::text::quote(r, 64)))]
    NotGovCloud {
        /// The region the backend reported, if any.
        region: Option<String>,
    },
}

/// What an [`OptOutVerifier`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptOutStatus {
    /// Opted out; `detail` says how (e.g. the effective policy's value),
    /// `account` which account the evidence is about. The guard refuses
    /// unless that is the account whose credentials call Rekognition
    /// ([`RekognitionBackend::caller_account`](crate::RekognitionBackend::caller_account)).
    OptedOut {
        /// How the opt-out was established.
        detail: String,
        /// The account the evidence is about (for Organizations: the
        /// account the effective policy was read for).
        account: AccountId,
    },
    /// Not opted out, or not provably; `reason` says which and how to fix it.
    NotOptedOut {
        /// What was found and how to fix it.
        reason: String,
    },
}

/// Reads an effective AI services opt-out policy (the `PolicyContent` of
/// Organizations `DescribeEffectivePolicy`) for `account`, the account it
/// was read for, the way AWS applies it to Rekognition: a `rekognition`
/// entry wins over `default`. Only the resolved string `"optOut"` counts;
/// anything else (missing, `optIn`, unparsable JSON, an unresolved
/// `@@assign` object) is not proof.
pub(crate) fn resolve_rekognition_opt_out(
    policy_content: &str,
    account: &AccountId,
) -> OptOutStatus {
    let not = |reason: String| OptOutStatus::NotOptedOut { reason };
    let fix = "attach an AI services opt-out policy that sets rekognition (or default) to optOut";
    let value: serde_json::Value = match serde_json::from_str(policy_content) {
        Ok(v) => v,
        Err(e) => {
            return not(format!(
                "the effective opt-out policy is not valid JSON ({e}); {fix}"
            ))
        }
    };
    let services = &value["services"];
    let setting = |service: &str| services.get(service).map(|s| &s["opt_out_policy"]);
    let (source, setting) = match (setting("rekognition"), setting("default")) {
        (Some(s), _) => ("rekognition", s),
        (None, Some(s)) => ("default", s),
        (None, None) => {
            return not(format!(
                "the effective opt-out policy names neither rekognition nor default; {fix}"
            ))
        }
    };
    match setting.as_str() {
        Some("optOut") => OptOutStatus::OptedOut {
            detail: format!(
                "AWS Organizations effective AI services opt-out policy: {source} optOut"
            ),
            account: account.clone(),
        },
        Some(other) => not(format!(
            "the effective opt-out policy sets {source} to {}; {fix}",
            quote(other, 64)
        )),
        None => not(format!(
            "the effective opt-out policy has no resolved value for {source} (found {}); {fix}",
            quote(&setting.to_string(), 64)
        )),
    }
}

#[derive(Clone)]
enum Evidence {
    Verified(Arc<dyn OptOutVerifier>),
    Attested(String),
    GovCloudPartition,
    Waived(String),
}

/// Whether `region` is an AWS GovCloud (US) region (partition
/// `aws-us-gov`): `us-gov-west-1` or `us-gov-east-1`, exactly.
pub(crate) fn is_gov_cloud(region: &str) -> bool {
    matches!(region, "us-gov-west-1" | "us-gov-east-1")
}

/// Evidence that the AWS account is opted out of AI-service data use.
///
/// Rekognition may store and use images to improve AWS services unless the
/// account is opted out, through an AWS Organizations AI services opt-out
/// policy or (before July 2020) an arrangement with AWS Support. A
/// [`Guard`](crate::Guard), which sends images to Rekognition, cannot be
/// made without saying which evidence applies (a
/// [`PhotoStore`](crate::PhotoStore), which never does, needs none):
///
/// * [`OptOutEvidence::verified_by`]: an [`OptOutVerifier`] checks on every
///   comparison (for example through Organizations `DescribeEffectivePolicy`);
///   a "not opted out" answer refuses the comparison.
/// * [`OptOutEvidence::attested`]: the operator states a reference (an AWS
///   Support case id, a policy id) that this crate cannot check.
/// * [`OptOutEvidence::gov_cloud_partition`]: the Rekognition client is in
///   AWS GovCloud (US), where AI content is not used to improve the
///   service; checked against the client's region on every call.
/// * [`OptOutEvidence::dangerous`] then [`DangerousOptOutEvidence::waived`]:
///   the operator explicitly accepts that no evidence exists, with a
///   reason (an account that never sees a real face).
///
/// Every decision's audit event, and its
/// [`Decision::opt_out`](crate::Decision::opt_out) record, say which of
/// these was used.
///
/// ```
/// use rekognition_guard::OptOutEvidence;
///
/// let evidence = OptOutEvidence::attested("AWS Support case 1234567890, 2020-03-02")?;
/// assert!(format!("{evidence:?}").starts_with("Attested"));
/// assert!(OptOutEvidence::attested("   ").is_err());
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Clone)]
pub struct OptOutEvidence(Evidence);

/// Opt-out "evidence" that is a decision not to have any. Reached only
/// through [`OptOutEvidence::dangerous`].
///
/// ```
/// use rekognition_guard::OptOutEvidence;
///
/// // A test account that never sees a real face.
/// let waiver = OptOutEvidence::dangerous().waived("sandbox account 111122223333, synthetic faces only")?;
/// assert!(format!("{waiver:?}").starts_with("Waived"));
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct DangerousOptOutEvidence {
    _private: (),
}

impl DangerousOptOutEvidence {
    /// Waives the opt-out requirement for `reason`: images go to
    /// Rekognition although nothing says the account is opted out of
    /// AI-service data use. Only for an account that never sees a real
    /// face. Recorded (`opt_out = "waived"` and the reason) in every audit
    /// event and decision.
    ///
    /// # Errors
    /// As for [`OptOutEvidence::attested`].
    pub fn waived(self, reason: &str) -> Result<OptOutEvidence, InputError> {
        Ok(OptOutEvidence(Evidence::Waived(evidence_text(reason)?)))
    }
}

/// The longest attestation reference or waiver reason accepted.
const MAX_EVIDENCE_TEXT: usize = 256;

fn evidence_text(text: &str) -> Result<String, InputError> {
    let text = text.trim();
    let bad = |reason: &str| {
        Err(InputError::InvalidEvidence {
            reason: reason.to_owned(),
        })
    };
    if text.is_empty() {
        return bad("it is empty");
    }
    if text.chars().count() > MAX_EVIDENCE_TEXT {
        return bad("it is longer than 256 characters");
    }
    if crate::text::has_log_unsafe(text) {
        return bad("it contains control, line-separator or invisible formatting characters");
    }
    Ok(text.to_owned())
}

impl OptOutEvidence {
    /// Evidence checked by `verifier` before every call to Rekognition
    /// (pass an `Arc` of a verifier to share one).
    pub fn verified_by(verifier: impl OptOutVerifier + 'static) -> Self {
        Self(Evidence::Verified(Arc::new(verifier)))
    }

    /// The operator attests the opt-out, citing `reference` (an AWS Support
    /// case id, an Organizations policy id, …). Recorded in every audit
    /// event; not checked.
    ///
    /// # Errors
    /// [`InputError::InvalidEvidence`] when the reference is blank, longer
    /// than 256 characters or has control characters.
    pub fn attested(reference: &str) -> Result<Self, InputError> {
        Ok(Self(Evidence::Attested(evidence_text(reference)?)))
    }

    /// The AWS GovCloud (US) partition is the evidence: there AWS does not
    /// use AI content to improve its services, and AI services opt-out
    /// policies do not apply (AWS Organizations User Guide, "AI services
    /// opt-out policies"; AWS GovCloud (US) User Guide, "Amazon
    /// Rekognition"). It holds only for a Rekognition client whose region
    /// **is** a GovCloud region (`us-gov-…`, as
    /// [`RekognitionBackend::region`](crate::RekognitionBackend::region)
    /// reports it): anywhere else, or when the backend does not say, every
    /// call to Rekognition is refused
    /// ([`OptOutViolation::NotGovCloud`]). Recorded as
    /// [`OptOutRecord::GovCloudPartition`] with the region.
    ///
    /// ```
    /// use rekognition_guard::memory::InMemoryBackend;
    /// use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy};
    ///
    /// let aws = InMemoryBackend::new().with_region("us-gov-west-1");
    /// let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
    /// let guard = Guard::new(store, aws, OptOutEvidence::gov_cloud_partition());
    /// # let _ = guard;
    /// ```
    pub fn gov_cloud_partition() -> Self {
        Self(Evidence::GovCloudPartition)
    }

    /// Whether this evidence is the GovCloud partition.
    pub(crate) fn is_gov_cloud_partition(&self) -> bool {
        matches!(self.0, Evidence::GovCloudPartition)
    }

    /// The way to evidence that proves nothing, kept apart (in the manner
    /// of rustls's `dangerous()`) so that it is never reached by accident
    /// and stands out in review: see [`DangerousOptOutEvidence::waived`].
    ///
    /// Nothing that only touches S3 needs it: storing, erasing and
    /// auditing photos take a [`PhotoStore`](crate::PhotoStore), which
    /// needs no opt-out evidence at all.
    pub fn dangerous() -> DangerousOptOutEvidence {
        DangerousOptOutEvidence { _private: () }
    }

    /// `verified`, `attested`, `gov_cloud_partition` or `waived`.
    pub(crate) fn kind(&self) -> &'static str {
        match &self.0 {
            Evidence::Verified(_) => "verified",
            Evidence::Attested(_) => "attested",
            Evidence::GovCloudPartition => "gov_cloud_partition",
            Evidence::Waived(_) => "waived",
        }
    }

    pub(crate) fn verifier(&self) -> Option<&Arc<dyn OptOutVerifier>> {
        match &self.0 {
            Evidence::Verified(v) => Some(v),
            _ => None,
        }
    }

    /// The record of this evidence for a decision; for verified evidence,
    /// what the verifier reported and the account it vouched for, which the
    /// guard matched with the account that calls Rekognition (`None` when
    /// that is missing); for the GovCloud partition, the Rekognition
    /// client's region, which must be a GovCloud one (`None` otherwise).
    pub(crate) fn record(
        &self,
        verified: Option<(String, AccountId)>,
        rekognition_region: impl FnOnce() -> Option<String>,
    ) -> Option<OptOutRecord> {
        Some(match &self.0 {
            Evidence::Verified(_) => {
                let (detail, account) = verified?;
                OptOutRecord::Verified { detail, account }
            }
            Evidence::Attested(r) => OptOutRecord::Attested {
                reference: r.clone(),
            },
            Evidence::GovCloudPartition => OptOutRecord::GovCloudPartition {
                region: rekognition_region().filter(|r| is_gov_cloud(r))?,
            },
            Evidence::Waived(r) => OptOutRecord::Waived { reason: r.clone() },
        })
    }
}

impl fmt::Debug for OptOutEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Evidence::Verified(v) => f.debug_tuple("Verified").field(v).finish(),
            Evidence::Attested(r) => f.debug_tuple("Attested").field(r).finish(),
            Evidence::GovCloudPartition => f.write_str("GovCloudPartition"),
            Evidence::Waived(r) => f.debug_tuple("Waived").field(r).finish(),
        }
    }
}

/// Which opt-out evidence a decision relied on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptOutRecord {
    /// A verifier confirmed the opt-out, for the account that calls
    /// Rekognition.
    Verified {
        /// What the verifier reported.
        detail: String,
        /// The account the evidence is about, which is the account whose
        /// credentials called Rekognition.
        account: AccountId,
    },
    /// The operator attested it.
    Attested {
        /// The reference given.
        reference: String,
    },
    /// The Rekognition client is in the AWS GovCloud (US) partition, where
    /// AI content is not used to improve the service
    /// ([`OptOutEvidence::gov_cloud_partition`]).
    GovCloudPartition {
        /// The client's region (`us-gov-…`).
        region: String,
    },
    /// The operator waived it.
    Waived {
        /// The reason given.
        reason: String,
    },
}

impl OptOutRecord {
    /// For verified evidence, the account it was verified for (the
    /// account that called Rekognition).
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Self::Verified { account, .. } => Some(account),
            _ => None,
        }
    }

    /// `verified`, `attested`, `gov_cloud_partition` or `waived`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "verified",
            Self::Attested { .. } => "attested",
            Self::GovCloudPartition { .. } => "gov_cloud_partition",
            Self::Waived { .. } => "waived",
        }
    }
}

impl fmt::Display for OptOutRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verified { detail, account } => {
                write!(f, "verified for account {account} ({})", escape(detail))
            }
            Self::Attested { reference } => write!(f, "attested ({})", escape(reference)),
            Self::GovCloudPartition { region } => {
                write!(f, "the AWS GovCloud (US) partition ({})", escape(region))
            }
            Self::Waived { reason } => write!(f, "waived ({})", escape(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opted_out(content: &str) -> bool {
        let account = AccountId::parse("111122223333").unwrap();
        match resolve_rekognition_opt_out(content, &account) {
            OptOutStatus::OptedOut { account: a, .. } => {
                assert_eq!(a, account, "the evidence names the account it was read for");
                true
            }
            OptOutStatus::NotOptedOut { .. } => false,
        }
    }

    #[test]
    fn effective_policy_shapes() {
        // Seen from real accounts.
        assert!(opted_out(
            r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#
        ));
        assert!(opted_out(
            r#"{"services":{"rekognition":{"opt_out_policy":"optOut"}}}"#
        ));
        // The service entry wins over default, both ways.
        assert!(opted_out(
            r#"{"services":{"default":{"opt_out_policy":"optIn"},"rekognition":{"opt_out_policy":"optOut"}}}"#
        ));
        assert!(!opted_out(
            r#"{"services":{"default":{"opt_out_policy":"optOut"},"rekognition":{"opt_out_policy":"optIn"}}}"#
        ));
        // Another service's opt-out says nothing about Rekognition.
        assert!(!opted_out(
            r#"{"services":{"lex":{"opt_out_policy":"optOut"}}}"#
        ));
        // Not resolved, wrong case, wrong type, empty, garbage: not proof.
        for content in [
            r#"{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}"#,
            r#"{"services":{"default":{"opt_out_policy":"optout"}}}"#,
            r#"{"services":{"default":{"opt_out_policy":true}}}"#,
            r#"{"services":{"rekognition":{}}}"#,
            r#"{"services":{}}"#,
            r#"{}"#,
            "",
            "not json",
        ] {
            assert!(!opted_out(content), "{content}");
        }
    }

    #[test]
    fn refusals_say_how_to_fix() {
        match resolve_rekognition_opt_out(
            r#"{"services":{"rekognition":{"opt_out_policy":"optIn"}}}"#,
            &AccountId::parse("111122223333").unwrap(),
        ) {
            OptOutStatus::NotOptedOut { reason } => {
                assert!(
                    reason.contains("optIn") && reason.contains("attach"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    /// The evidence kinds audit events and decisions record (`opt_out=`).
    #[test]
    fn each_kind_of_evidence_names_itself() {
        let attested = OptOutEvidence::attested("AWS Support case 1234567890").unwrap();
        assert_eq!(attested.kind(), "attested");
        let waived = OptOutEvidence::dangerous()
            .waived("sandbox account, synthetic faces only")
            .unwrap();
        assert_eq!(waived.kind(), "waived");
        let verified = OptOutEvidence::verified_by(crate::testing::MockOptOutVerifier::new());
        assert_eq!(verified.kind(), "verified");
    }

    #[test]
    fn a_rekognition_entry_wins_over_default() {
        let account = AccountId::parse("111122223333").unwrap();
        let policy = r#"{"services":{"default":{"opt_out_policy":"optOut"},"rekognition":{"opt_out_policy":"optIn"}}}"#;
        assert!(matches!(
            resolve_rekognition_opt_out(policy, &account),
            OptOutStatus::NotOptedOut { .. }
        ));
        let policy = r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#;
        assert!(matches!(
            resolve_rekognition_opt_out(policy, &account),
            OptOutStatus::OptedOut { .. }
        ));
    }
}
