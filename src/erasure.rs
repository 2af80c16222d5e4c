//! Erasure and retention: forgetting a member really forgets them.
//!
//! In a versioned bucket (which the guard recommends, for pinning) a plain
//! DELETE only adds a delete marker and every old photo stays (S3 User
//! Guide, "Deleting object versions"). [`PhotoStore::erase`](crate::PhotoStore::erase)
//! deletes **every version and delete marker of exactly one key**, by
//! version id (S3's `null` version included), then lists again to confirm
//! nothing remains, and returns an [`ErasureReceipt`] saying what was
//! removed and what could not be, and why.
//!
//! What blocks deletion is never silent: S3 Object Lock retention
//! (governance or compliance mode, with its retain-until date), a legal
//! hold, MFA delete or a missing permission leave an incomplete receipt
//! naming what remains and what would unblock it. Governance retention is
//! bypassed only when asked ([`EraseOptions::bypass_governance_retention`]).
//!
//! Retention: [`RetentionPolicy`] and
//! [`PhotoStore::sweep_retention`](crate::PhotoStore::sweep_retention) erase the
//! photos of members whose last interaction is older than the policy
//! allows (Illinois BIPA 740 ILCS 14/15(a): within 3 years of the last
//! interaction at the latest; GDPR Art. 17 on request).

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::backend::BackendErrorKind;
// What an `S3Backend` reports, defined with the trait.
#[doc(inline)]
pub use crate::backend::{ObjectLockFacts, RetentionMode, StoredVersion};
use crate::input::S3ObjectRef;

/// Why a version could not be erased, and what would unblock it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockReason {
    /// An S3 Object Lock retention.
    Retention {
        /// The mode.
        mode: RetentionMode,
        /// Until when, if S3 said.
        retain_until: Option<SystemTime>,
    },
    /// An S3 Object Lock legal hold.
    LegalHold,
    /// The bucket has MFA Delete enabled and S3 denied the deletion: it
    /// deletes versions only with the bucket owner's MFA code
    /// (`x-amz-mfa`), which the guard never sends. S3's own words are kept:
    /// a missing permission is denied the same way.
    MfaDelete {
        /// What S3 said.
        message: String,
    },
    /// S3 refused the deletion for another reason; its words.
    Refused {
        /// What kind of failure the backend reported.
        kind: BackendErrorKind,
        /// What the backend said.
        message: String,
    },
    /// Deleted, but still listed when checked afterwards.
    StillListed,
    /// Not there when erasure started: written while it ran.
    AppearedDuringErasure,
    /// A dry run erases nothing.
    DryRun,
}

impl BlockReason {
    /// A short stable label: `retention`, `legal_hold`, `mfa_delete`,
    /// `refused`, `still_listed`, `appeared_during_erasure`, `dry_run`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Retention { .. } => "retention",
            Self::LegalHold => "legal_hold",
            Self::MfaDelete { .. } => "mfa_delete",
            Self::Refused { .. } => "refused",
            Self::StillListed => "still_listed",
            Self::AppearedDuringErasure => "appeared_during_erasure",
            Self::DryRun => "dry_run",
        }
    }
}

fn rfc3339(time: SystemTime) -> String {
    aws_smithy_types::DateTime::from(time)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "an unrepresentable date".to_owned())
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retention {
                mode: RetentionMode::Governance,
                retain_until,
            } => write!(
                f,
                "S3 Object Lock GOVERNANCE retention{}; erase with bypass_governance_retention (--bypass-governance-retention), which needs s3:BypassGovernanceRetention",
                retain_until.map(|t| format!(" until {}", rfc3339(t))).unwrap_or_default()
            ),
            Self::Retention {
                mode: RetentionMode::Compliance,
                retain_until,
            } => write!(
                f,
                "S3 Object Lock COMPLIANCE retention{}; no one can delete it before then: erase it again after that date",
                retain_until.map(|t| format!(" until {}", rfc3339(t))).unwrap_or_default()
            ),
            Self::Retention { mode, retain_until } => write!(
                f,
                "S3 Object Lock retention in mode {mode}{}",
                retain_until.map(|t| format!(" until {}", rfc3339(t))).unwrap_or_default()
            ),
            Self::LegalHold => f.write_str(
                "S3 Object Lock legal hold; remove it (PutObjectLegalHold Status=OFF, needs s3:PutObjectLegalHold) and erase again",
            ),
            Self::MfaDelete { message } => write!(
                f,
                "S3 denied the deletion ({message}) and the bucket has MFA Delete enabled: S3 deletes a version only with the bucket owner's MFA code (x-amz-mfa), which in practice only the root user has; erase it as the root user with MFA, or disable MFA Delete (put-bucket-versioning with MFA) and erase again (if MFA is not the cause, grant s3:DeleteObjectVersion)"
            ),
            Self::Refused { message, .. } => write!(
                f,
                "S3 refused the deletion ({message}); if S3 names Object Lock, the version is under retention or a legal hold that could not be read (grant s3:GetObjectRetention and s3:GetObjectLegalHold to see which; GOVERNANCE retention yields to --bypass-governance-retention with s3:BypassGovernanceRetention); otherwise grant s3:DeleteObjectVersion"
            ),
            Self::StillListed => f.write_str(
                "S3 accepted the deletion but still lists the version; erase again",
            ),
            Self::AppearedDuringErasure => f.write_str(
                "written while the erasure ran (something still uploads this key); stop the writer and erase again",
            ),
            Self::DryRun => f.write_str("dry run: not erased"),
        }
    }
}

/// A version or delete marker that was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErasedVersion {
    /// Its version id (`null` possible).
    pub version_id: String,
    /// Whether it was a delete marker.
    pub delete_marker: bool,
}

/// A version or delete marker that remains, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemainingVersion {
    /// Its version id.
    pub version_id: String,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
    /// Why it remains and what would unblock it.
    pub reason: BlockReason,
}

/// How to erase. The default erases, without bypassing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EraseOptions {
    bypass_governance_retention: bool,
    dry_run: bool,
}

impl EraseOptions {
    /// Also delete versions under GOVERNANCE retention
    /// (`x-amz-bypass-governance-retention: true`; the caller needs
    /// `s3:BypassGovernanceRetention`). COMPLIANCE retention and legal
    /// holds still block.
    #[must_use]
    pub fn bypass_governance_retention(mut self, bypass: bool) -> Self {
        self.bypass_governance_retention = bypass;
        self
    }

    /// List what would be erased; delete nothing.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Whether governance retention is bypassed.
    pub(crate) fn bypasses_governance_retention(&self) -> bool {
        self.bypass_governance_retention
    }

    /// Whether this is a dry run.
    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }
}

/// What an erasure did to one key: every version and delete marker
/// removed, every one that remains and why, and when it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErasureReceipt {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// What was erased.
    pub erased: Vec<ErasedVersion>,
    /// What remains (for a dry run: everything that would be erased).
    pub remaining: Vec<RemainingVersion>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// When the erasure finished (the confirming list).
    pub finished_at: SystemTime,
    /// Why the erasure could not be confirmed, when the listing after the
    /// deletions failed: what [`erased`](Self::erased) names was deleted
    /// (S3 said so), but whether anything remains is not known. Erase
    /// again to confirm.
    pub unconfirmed: Option<String>,
    /// Whether the bucket has MFA Delete enabled, as `GetBucketVersioning`
    /// said when the erasure ran: then S3 deletes no version without the
    /// owner's MFA code, and each such version remains with
    /// [`BlockReason::MfaDelete`]. `None` when there was nothing to erase
    /// (not read) or it could not be read (each refused deletion then says
    /// so).
    pub mfa_delete_enabled: Option<bool>,
}

impl ErasureReceipt {
    /// Whether nothing of the key remains: checked by listing again after
    /// the deletions. `false` for a dry run that found something, and when
    /// the confirming listing failed ([`unconfirmed`](Self::unconfirmed)).
    pub fn is_complete(&self) -> bool {
        self.remaining.is_empty() && self.unconfirmed.is_none()
    }
}

impl fmt::Display for ErasureReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.dry_run {
            "dry run of erasing"
        } else {
            "erasure of"
        };
        write!(
            f,
            "{what} s3://{}/{}: {} erased, {} remaining ({})",
            self.bucket,
            self.key,
            self.erased.len(),
            self.remaining.len(),
            if self.is_complete() {
                "complete"
            } else {
                "incomplete"
            }
        )?;
        for r in &self.remaining {
            write!(
                f,
                "; {} {}: {}",
                if r.delete_marker {
                    "delete marker"
                } else {
                    "version"
                },
                r.version_id,
                r.reason
            )?;
        }
        if let Some(why) = &self.unconfirmed {
            write!(
                f,
                "; not confirmed, the listing after the deletions failed: {why}"
            )?;
        }
        if self.mfa_delete_enabled == Some(true) {
            f.write_str("; the bucket has MFA Delete enabled")?;
        }
        Ok(())
    }
}

/// How long a member's biometric data may be kept after their last
/// interaction. There is no default: the operator's written retention
/// schedule decides (BIPA 15(a) requires one, public).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    max_since_last_interaction: Duration,
}

impl RetentionPolicy {
    /// Three years counted short (1,095 days: three calendar years are
    /// 1,095 or 1,096 days, so this is never past the deadline), the
    /// latest Illinois BIPA 740 ILCS 14/15(a) allows after the
    /// individual's last interaction. A sweep erases what is older, so
    /// run it at least daily; a schedule may (and for purposes met
    /// earlier, must) be shorter.
    pub const BIPA_MAXIMUM: Duration = Duration::from_secs(1095 * 24 * 60 * 60);

    /// Keep data at most `max` after the last interaction.
    pub fn new(max_since_last_interaction: Duration) -> Self {
        Self {
            max_since_last_interaction,
        }
    }

    /// Whether `record` is due for erasure at `now`. A last interaction in
    /// the future (a clock problem) is not due.
    pub(crate) fn is_due(&self, record: &MemberRecord, now: SystemTime) -> bool {
        self.is_due_since(record.last_interaction, now)
    }

    /// Whether a member last seen at `last_interaction` is past retention
    /// at `now`.
    pub(crate) fn is_due_since(&self, last_interaction: SystemTime, now: SystemTime) -> bool {
        now.duration_since(last_interaction)
            .is_ok_and(|age| age > self.max_since_last_interaction)
    }
}

/// A member as the application's records hold them: the enrolled photo
/// and the last interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The enrolled photo (its key is erased, every version).
    pub reference: S3ObjectRef,
    /// When the member last interacted (borrowed, enrolled, verified).
    pub last_interaction: SystemTime,
}

/// What a retention sweep did. Only the sweep builds one; its counts are
/// worked out from the receipts and failures when it is built.
#[derive(Debug)]
#[non_exhaustive]
pub struct SweepSummary {
    /// How many photos were looked at: distinct bucket and key pairs among
    /// the records (a photo listed twice counts once).
    pub examined: usize,
    /// One receipt per due member whose erasure ran (for a dry run: what
    /// would be erased).
    pub receipts: Vec<ErasureReceipt>,
    /// Due members whose erasure failed, and the error, whole: its
    /// [`kind`](crate::Error::kind), whether it
    /// [is retryable](crate::Error::is_retryable), and its source.
    pub failed: Vec<(S3ObjectRef, crate::error::Error)>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// How many photos were due: `receipts` and `failed` together.
    pub due: usize,
    /// How many erasures are complete (none in a dry run, which erases
    /// nothing).
    pub complete: usize,
    /// For a dry run: how many versions and delete markers the due photos
    /// have, all of which an erasure would try to delete. 0 otherwise.
    pub would_erase: usize,
}

impl SweepSummary {
    /// An empty summary, to be filled by a sweep.
    pub(crate) fn new(dry_run: bool) -> Self {
        Self {
            examined: 0,
            receipts: Vec::new(),
            failed: Vec::new(),
            dry_run,
            due: 0,
            complete: 0,
            would_erase: 0,
        }
    }

    /// Fills in the counts from the receipts and failures.
    pub(crate) fn finish(mut self) -> Self {
        self.due = self.receipts.len() + self.failed.len();
        self.complete = if self.dry_run {
            0
        } else {
            self.receipts.iter().filter(|r| r.is_complete()).count()
        };
        self.would_erase = if self.dry_run {
            self.receipts.iter().map(|r| r.remaining.len()).sum()
        } else {
            0
        };
        self
    }
}

impl fmt::Display for SweepSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            return write!(
                f,
                "dry run of a retention sweep: {} examined, {} due, would erase {} versions and delete markers of {} photos, {} failed",
                self.examined,
                self.due,
                self.would_erase,
                self.receipts.len(),
                self.failed.len()
            );
        }
        write!(
            f,
            "retention sweep: {} examined, {} due, {} erased completely, {} incomplete, {} failed",
            self.examined,
            self.due,
            self.complete,
            // From the receipts themselves, so a summary whose receipts
            // were moved out still displays.
            self.receipts.iter().filter(|r| !r.is_complete()).count(),
            self.failed.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_means_older_than_the_maximum_since_the_last_interaction() {
        let policy = RetentionPolicy::new(Duration::from_secs(100));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = |at: u64| MemberRecord {
            reference: S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            last_interaction: SystemTime::UNIX_EPOCH + Duration::from_secs(at),
        };
        assert!(policy.is_due(&record(899), now));
        assert!(!policy.is_due(&record(900), now));
        assert!(!policy.is_due(&record(2_000), now), "future: not due");
        // Never past three calendar years, leap day or not.
        assert_eq!(
            RetentionPolicy::BIPA_MAXIMUM,
            Duration::from_secs(3 * 365 * 86_400)
        );
    }

    fn receipt(key: &str, dry_run: bool, remaining: usize) -> ErasureReceipt {
        ErasureReceipt {
            bucket: "library-photos".into(),
            key: key.into(),
            erased: Vec::new(),
            remaining: (0..remaining)
                .map(|i| RemainingVersion {
                    version_id: format!("v{i}"),
                    delete_marker: false,
                    reason: BlockReason::LegalHold,
                })
                .collect(),
            dry_run,
            finished_at: SystemTime::UNIX_EPOCH,
            unconfirmed: None,
            mfa_delete_enabled: None,
        }
    }

    fn failure() -> (S3ObjectRef, crate::error::Error) {
        let r = S3ObjectRef::parse("s3://library-photos/members/c.jpg").unwrap();
        let e = crate::error::Error::Input(S3ObjectRef::parse("s3://bad").unwrap_err());
        (r, e)
    }

    /// The counts are worked out once, from the receipts and failures:
    /// due is both, complete is none in a dry run, would_erase none in a
    /// real one; a summary whose receipts were taken out still displays.
    #[test]
    fn a_sweep_summary_counts_receipts_and_failures() {
        let mut real = SweepSummary::new(false);
        real.examined = 4;
        real.receipts = vec![
            receipt("members/a.jpg", false, 0),
            receipt("members/b.jpg", false, 1),
        ];
        real.failed = vec![failure()];
        let mut real = real.finish();
        assert_eq!((real.due, real.complete, real.would_erase), (3, 1, 0));
        assert!(
            real.to_string()
                .contains("3 due, 1 erased completely, 1 incomplete, 1 failed"),
            "{real}"
        );
        let _taken = std::mem::take(&mut real.receipts);
        assert!(real.to_string().contains("0 incomplete"), "{real}");

        let mut dry = SweepSummary::new(true);
        dry.examined = 4;
        dry.receipts = vec![
            receipt("members/a.jpg", true, 2),
            receipt("members/b.jpg", true, 1),
        ];
        dry.failed = vec![failure()];
        let dry = dry.finish();
        assert_eq!((dry.due, dry.complete, dry.would_erase), (3, 0, 3));
    }

    #[test]
    fn every_block_reason_says_what_would_unblock_it() {
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        for (reason, needle) in [
            (
                BlockReason::Retention {
                    mode: RetentionMode::Governance,
                    retain_until: Some(until),
                },
                "s3:BypassGovernanceRetention",
            ),
            (
                BlockReason::Retention {
                    mode: RetentionMode::Compliance,
                    retain_until: Some(until),
                },
                "2030-03-17T17:46:40Z",
            ),
            (BlockReason::LegalHold, "PutObjectLegalHold"),
            (
                BlockReason::Refused {
                    kind: BackendErrorKind::AccessDenied,
                    message: "S3 DeleteObject failed: access denied".into(),
                },
                "s3:DeleteObjectVersion",
            ),
        ] {
            assert!(reason.to_string().contains(needle), "{reason}");
        }
    }
}
