use std::fmt;

/// How much a finding matters. Anything above [`Info`](Self::Info) makes
/// the bucket non-compliant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; compliance holds.
    Info,
    /// A safeguard is missing.
    Medium,
    /// A requirement is not met, or could not be checked.
    High,
}

impl Severity {
    /// `info`, `medium` or `high`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One result of an audit, with a stable id.
///
/// Ids: `default-encryption-not-kms`, `default-encryption-key-not-allowed`,
/// `bucket-key-disabled` (info), `versioning-not-enabled`,
/// `no-tls-only-policy`, `uploads-not-forced-to-kms`,
/// `public-access-not-blocked`, `no-inventory-encryption-status`,
/// `inventory-current-versions-only` (info), and `unverifiable-<check>` when a
/// configuration could not be read (never a pass).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Stable id.
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// What was seen.
    pub detail: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// A finding. `detail` and `fix` may quote text from a service: their
    /// log-unsafe characters are escaped (crate docs, "Text that reaches a log line").
    pub fn new(
        id: &'static str,
        severity: Severity,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        // Details quote bucket policies and error codes: escaped here, once.
        Self {
            id,
            severity,
            detail: crate::text::neutralize(detail.into()),
            fix: crate::text::neutralize(fix.into()),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}: {} (fix: {})",
            self.severity, self.id, self.detail, self.fix
        )
    }
}

/// The result of a bucket audit
/// ([`PhotoStore::audit_bucket`](crate::PhotoStore::audit_bucket)): what a
/// bucket's configuration does to the objects put in it. Every auditor
/// ([`S3Backend::audit_bucket`](crate::S3Backend::audit_bucket), which the
/// AWS backend and the simulation implement) reports one, and the guard
/// refuses a Face Liveness output bucket with
/// [at-rest findings](BucketAudit::at_rest_findings).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketAudit {
    /// The bucket audited.
    pub bucket: String,
    /// Every finding, most severe first.
    pub findings: Vec<Finding>,
}

/// The finding ids about what the bucket does to objects at rest: default
/// encryption (SSE-KMS under an allowed key) and versioning, including
/// "could not check" for either. A bucket with none of them keeps new
/// objects SSE-KMS under an allowed key, version-pinnable.
pub(crate) const AT_REST_FINDING_IDS: &[&str] = &[
    "default-encryption-not-kms",
    "default-encryption-key-not-allowed",
    "versioning-not-enabled",
    "unverifiable-default-encryption",
    "unverifiable-versioning",
];

/// The finding ids this crate's audit uses that are not about objects at
/// rest (transit, uploads by others, public access, and what could not be
/// read of those).
const OTHER_FINDING_IDS: &[&str] = &[
    "bucket-key-disabled",
    "no-tls-only-policy",
    "uploads-not-forced-to-kms",
    "public-access-not-blocked",
    "policy-statement-not-credited",
    "unverifiable-bucket-policy",
    "unverifiable-public-access-block",
    "no-inventory-encryption-status",
    "inventory-current-versions-only",
    "unverifiable-inventory",
];

impl BucketAudit {
    /// The audit of `bucket`: its `findings`, most severe first.
    pub fn new(bucket: impl Into<String>, mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        Self {
            bucket: bucket.into(),
            findings,
        }
    }

    /// The findings about objects at rest: what must be empty before the
    /// bucket receives face images the crate does not write itself (Face
    /// Liveness reference images). Those with the ids `default-encryption-not-kms`,
    /// `default-encryption-key-not-allowed`, `versioning-not-enabled`,
    /// `unverifiable-default-encryption` and `unverifiable-versioning`, and,
    /// failing closed, every `high` finding whose id this crate does not
    /// know (an auditor of your own may name its findings differently).
    pub fn at_rest_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| {
            AT_REST_FINDING_IDS.contains(&f.id)
                || (f.severity == Severity::High && !OTHER_FINDING_IDS.contains(&f.id))
        })
    }

    /// `true` when no finding is above [`Severity::Info`].
    pub fn is_compliant(&self) -> bool {
        self.findings.iter().all(|f| f.severity == Severity::Info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_high_findings_count_as_at_rest_known_others_do_not() {
        let audit = BucketAudit::new(
            "b",
            vec![
                Finding::new("versioning-not-enabled", Severity::High, "", ""),
                Finding::new("no-tls-only-policy", Severity::High, "", ""),
                Finding::new("encryption-is-sse-s3", Severity::High, "", ""),
                Finding::new("something-minor", Severity::Medium, "", ""),
            ],
        );
        let ids: Vec<_> = audit.at_rest_findings().map(|f| f.id).collect();
        assert_eq!(ids, ["versioning-not-enabled", "encryption-is-sse-s3"]);
    }
}
