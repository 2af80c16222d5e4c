//! Bucket posture audit: does a bucket's configuration keep every future
//! face image compliant?

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
use aws_sdk_s3::types::{
    BucketVersioningStatus, InventoryConfiguration, InventoryFormat,
    InventoryIncludedObjectVersions, InventoryOptionalField, MfaDeleteStatus, ServerSideEncryption,
};
use serde_json::Value;

use super::bucket_policy::{
    denies_insecure_transport, denies_non_kms_uploads, label, statements, Credit,
};
use super::errors::{common, status, wrong_region};
use super::AwsBackend;
use crate::error::{BackendError, BackendErrorKind, Error};
use crate::input::Service;
use crate::policy::Policy;
use crate::posture::{BucketAudit, Finding, Severity};

/// An SDK error of one audit read: S3's "not configured" codes, a
/// permission problem (a finding), or a real failure (an error).
enum Read<T> {
    Got(T),
    NotConfigured,
    Unverifiable(String),
}

fn read<T, E>(
    result: Result<
        T,
        aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    >,
    not_configured: Option<&str>,
    operation: &'static str,
    bucket: &str,
    client_region: Option<&str>,
) -> Result<Read<T>, BackendError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(v) => return Ok(Read::Got(v)),
        Err(e) => e,
    };
    if let Some(mapped) = common(&err, Service::S3, operation) {
        return Err(mapped.with_source(err));
    }
    if let Some(region) = wrong_region(&err, client_region, bucket) {
        return Err(BackendError::new(
            BackendErrorKind::InvalidRequest,
            Service::S3,
            operation,
            format!("{operation} on bucket {bucket} failed: {region}"),
        )
        .with_source(err));
    }
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or_default()
        .to_owned();
    if not_configured.is_some_and(|c| c == code) {
        return Ok(Read::NotConfigured);
    }
    match (status(&err), code.as_str()) {
        (Some(403), _) | (_, "AccessDenied") => Ok(Read::Unverifiable(format!(
            "access denied to {operation} on bucket {bucket}"
        ))),
        (Some(404), _) | (_, "NoSuchBucket") => Err(BackendError::new(
            BackendErrorKind::NotFound,
            Service::S3,
            operation,
            format!("bucket {bucket} does not exist (or is not visible to the caller)"),
        )
        .with_source(err)),
        (s, _) => Err(BackendError::new(
            if s.is_some_and(|s| s >= 500) {
                BackendErrorKind::ServiceUnavailable
            } else {
                BackendErrorKind::Other
            },
            Service::S3,
            operation,
            format!(
                "{operation} on bucket {bucket} failed: S3 answered {}{}",
                s.map_or_else(|| "without a status".to_owned(), |s| format!("HTTP {s}")),
                if code.is_empty() {
                    " without an error code".to_owned()
                } else {
                    format!(" with error code {}", crate::text::quote(&code, 64))
                }
            ),
        )
        .with_source(err)),
    }
}

fn unverifiable(id: &'static str, detail: String, permission: &str) -> Finding {
    Finding::new(
        id,
        Severity::High,
        format!("could not check: {detail}"),
        format!("grant {permission} to the auditing principal and audit again"),
    )
}

impl AwsBackend {
    /// Audits `bucket`'s configuration against `policy` (its KMS key
    /// allowlist and expected owner): default encryption SSE-KMS with an
    /// allowed key, versioning enabled, a bucket policy that denies
    /// non-TLS requests and uploads without SSE-KMS, Block Public Access
    /// fully on, and an S3 Inventory configuration that reports
    /// `EncryptionStatus` in CSV (for [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory)).
    /// The reads run concurrently.
    ///
    /// A configuration that cannot be read for lack of permission is a
    /// `high` finding (`unverifiable-…`), never a pass.
    ///
    /// # Errors
    /// [`Error::Backend`] when the bucket does not exist or S3 fails.
    async fn audit(&self, bucket: &str, policy: &Policy) -> Result<BucketAudit, Error> {
        let s3 = self.s3_client();
        let region = s3.config().region().map(|r| r.as_ref());
        let owner = policy
            .expected_bucket_owner()
            .map(|a| a.as_str().to_owned());
        let (encryption, versioning, bucket_policy, public_access, inventory) = tokio::join!(
            s3.get_bucket_encryption()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .send(),
            s3.get_bucket_versioning()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .send(),
            s3.get_bucket_policy()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .send(),
            s3.get_public_access_block()
                .bucket(bucket)
                .set_expected_bucket_owner(owner.clone())
                .send(),
            inventory_configurations(s3, bucket, owner.clone(), region),
        );
        let encryption = read(
            encryption,
            Some("ServerSideEncryptionConfigurationNotFoundError"),
            "GetBucketEncryption",
            bucket,
            region,
        )?;
        let versioning = read(versioning, None, "GetBucketVersioning", bucket, region)?;
        let bucket_policy = read(
            bucket_policy,
            Some("NoSuchBucketPolicy"),
            "GetBucketPolicy",
            bucket,
            region,
        )?;
        let public_access = read(
            public_access,
            Some("NoSuchPublicAccessBlockConfiguration"),
            "GetPublicAccessBlock",
            bucket,
            region,
        )?;
        let mut findings = Vec::new();
        let default_kms = default_encryption(encryption, policy, &mut findings);
        versioning_status(versioning, &mut findings);
        bucket_policy_statements(
            bucket_policy,
            bucket,
            super::partition(region),
            default_kms,
            &mut findings,
        );
        public_access_block(public_access, &mut findings);
        // Not an at-rest requirement: an inventory listing that fails is a
        // finding, so it never blocks what the other reads allow.
        match inventory {
            Ok(read) => inventory_status(read, &mut findings),
            Err(e) => findings.push(Finding::new(
                "unverifiable-inventory",
                Severity::High,
                format!("could not check: {e}"),
                "fix what the error names and audit again",
            )),
        }

        let audit = BucketAudit::new(bucket, findings);
        tracing::info!(
            target: crate::text::AUDIT_TARGET,
            bucket,
            compliant = audit.is_compliant(),
            findings = audit.findings.len(),
            "bucket posture audited"
        );
        Ok(audit)
    }
}

/// Default encryption: SSE-KMS (or DSSE-KMS) under an allowed key; an S3
/// Bucket Key is noted. Returns whether the default is KMS (which uploads
/// without an encryption header get).
fn default_encryption(
    read: Read<GetBucketEncryptionOutput>,
    policy: &Policy,
    findings: &mut Vec<Finding>,
) -> bool {
    let not_kms = |detail: String| {
        Finding::new(
            "default-encryption-not-kms",
            Severity::High,
            detail,
            "set default encryption to aws:kms with your key (put-bucket-encryption)",
        )
    };
    let out = match read {
        Read::Got(out) => out,
        Read::NotConfigured => {
            findings.push(not_kms("no default encryption configuration".into()));
            return false;
        }
        Read::Unverifiable(why) => {
            findings.push(unverifiable(
                "unverifiable-default-encryption",
                why,
                "s3:GetEncryptionConfiguration",
            ));
            return false;
        }
    };
    let default = out
        .server_side_encryption_configuration()
        .map(|c| c.rules())
        .unwrap_or_default()
        .iter()
        .find_map(|r| r.apply_server_side_encryption_by_default().map(|d| (r, d)));
    let Some((rule, d)) = default else {
        findings.push(not_kms("no default encryption rule".into()));
        return false;
    };
    if !matches!(
        d.sse_algorithm(),
        ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse
    ) {
        findings.push(not_kms(format!(
            "default encryption is {}, not SSE-KMS",
            d.sse_algorithm().as_str()
        )));
        return false;
    }
    match d.kms_master_key_id() {
        Some(key) if !policy.allows_kms_key(key) => findings.push(Finding::new(
            "default-encryption-key-not-allowed",
            Severity::High,
            format!("default encryption uses KMS key {key}, which is not on the allowlist"),
            "set the bucket's default encryption key to an allowed key ARN (a full key ARN, not an alias or key id)",
        )),
        None if policy.kms_keys().is_some() => findings.push(Finding::new(
            "default-encryption-key-not-allowed",
            Severity::High,
            "default encryption uses the AWS managed key aws/s3, which is not on the allowlist",
            "set the bucket's default encryption key to an allowed key ARN",
        )),
        _ => {}
    }
    if d.sse_algorithm() == &ServerSideEncryption::AwsKms && rule.bucket_key_enabled() != Some(true)
    {
        findings.push(Finding::new(
            "bucket-key-disabled",
            Severity::Info,
            "S3 Bucket Key is off: every object operation calls KMS",
            "enable BucketKeyEnabled in the default encryption rule to cut KMS requests and cost",
        ));
    }
    true
}

/// An inventory configuration, and whether it covers the whole bucket.
type Inventory = (InventoryConfiguration, bool);

/// Whether each configuration of a page covers the whole bucket: no
/// `Filter`, or one whose `Prefix` was sent and is empty. The SDK reads a
/// `Filter` without `Prefix` (a required field) as prefix `""`, the same
/// as an empty one, so the page's own XML decides; a page it cannot
/// match to the SDK's reading counts as filtered throughout.
fn whole_bucket(configurations: &[InventoryConfiguration], body: Option<&[u8]>) -> Vec<bool> {
    let blocks = body
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(|xml| super::witness::elements(xml, "InventoryConfiguration"))
        .filter(|blocks| blocks.len() == configurations.len());
    configurations
        .iter()
        .enumerate()
        .map(|(i, c)| match c.filter() {
            None => true,
            Some(_) => blocks
                .as_ref()
                .and_then(|b| super::witness::elements(b[i], "Filter").first().copied())
                .and_then(|f| super::witness::elements(f, "Prefix").first().copied())
                .is_some_and(str::is_empty),
        })
        .collect()
}

/// Every inventory configuration of the bucket, across pages.
async fn inventory_configurations(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: Option<String>,
    region: Option<&str>,
) -> Result<Read<Vec<Inventory>>, BackendError> {
    const OPERATION: &str = "ListBucketInventoryConfigurations";
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let witness = super::witness::BodyWitness::default();
        let page = s3
            .list_bucket_inventory_configurations()
            .bucket(bucket)
            .set_continuation_token(token.take())
            .set_expected_bucket_owner(owner.clone())
            .customize()
            .interceptor(witness.clone())
            .send()
            .await;
        match read(page, None, OPERATION, bucket, region)? {
            Read::Got(out) => {
                let listed = out.inventory_configuration_list();
                let whole = whole_bucket(listed, witness.take().as_deref());
                all.extend(listed.iter().cloned().zip(whole));
                // A page that does not say whether more follow, or says so
                // without a way on, is not read as the last one.
                match (out.is_truncated(), out.next_continuation_token()) {
                    (Some(false), _) => return Ok(Read::Got(all)),
                    (Some(true), Some(next)) => token = Some(next.to_owned()),
                    (Some(true), None) => {
                        return Ok(Read::Unverifiable(format!(
                            "{OPERATION} said more configurations follow but gave no continuation token"
                        )))
                    }
                    (None, _) => {
                        return Ok(Read::Unverifiable(format!(
                            "{OPERATION} did not say whether the list is complete (no IsTruncated)"
                        )))
                    }
                }
            }
            Read::NotConfigured => return Ok(Read::NotConfigured),
            Read::Unverifiable(why) => return Ok(Read::Unverifiable(why)),
        }
    }
}

/// An enabled S3 Inventory configuration with `EncryptionStatus` in CSV,
/// so [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory) can audit
/// every stored version; all versions, not only current ones.
fn inventory_status(read: Read<Vec<Inventory>>, findings: &mut Vec<Finding>) {
    const FIX: &str = "add an enabled inventory configuration of the whole bucket (no prefix filter) with Format CSV, IncludedObjectVersions All and the optional fields EncryptionStatus and BucketKeyStatus (put-bucket-inventory-configuration), with the report encrypted with SSE-KMS";
    let configurations = match read {
        Read::Got(c) => c,
        Read::NotConfigured => Vec::new(),
        Read::Unverifiable(why) => {
            findings.push(unverifiable(
                "unverifiable-inventory",
                why,
                "s3:GetInventoryConfiguration",
            ));
            return;
        }
    };
    let usable: Vec<&InventoryConfiguration> = configurations
        .iter()
        .filter(|(_, whole)| *whole)
        .map(|(c, _)| c)
        .filter(|c| {
            // A prefix filter covers part of the bucket only.
            c.is_enabled()
                && c.optional_fields()
                    .contains(&InventoryOptionalField::EncryptionStatus)
                && c.destination()
                    .and_then(|d| d.s3_bucket_destination())
                    .is_some_and(|d| *d.format() == InventoryFormat::Csv)
        })
        .collect();
    if usable.is_empty() {
        findings.push(Finding::new(
            "no-inventory-encryption-status",
            Severity::Medium,
            format!(
                "no enabled S3 Inventory configuration of the whole bucket (no prefix filter) reports EncryptionStatus in CSV ({} configuration(s) found); the at-rest encryption of stored versions cannot be audited at scale",
                configurations.len()
            ),
            FIX,
        ));
    } else if usable
        .iter()
        .all(|c| *c.included_object_versions() != InventoryIncludedObjectVersions::All)
    {
        findings.push(Finding::new(
            "inventory-current-versions-only",
            Severity::Info,
            "the S3 Inventory configurations with EncryptionStatus list current versions only; noncurrent versions, which still store photos, are not audited",
            "set IncludedObjectVersions to All",
        ));
    }
}

/// Versioning enabled, so the checked version of a photo can be pinned;
/// MFA Delete reported for information (erasure needs the root user's MFA
/// for every version).
fn versioning_status(read: Read<GetBucketVersioningOutput>, findings: &mut Vec<Finding>) {
    if let Read::Got(out) = &read {
        if out.mfa_delete() == Some(&MfaDeleteStatus::Enabled) {
            findings.push(Finding::new(
                "mfa-delete-enabled",
                Severity::Info,
                "MFA Delete is enabled: deleting any version (erasing a member's photo) needs the bucket owner's MFA code, which in practice only the root user has; PhotoStore::erase reports such versions as remaining and says why",
                "to erase through the guard, disable MFA Delete (put-bucket-versioning with the root user's MFA); otherwise erase as the root user with x-amz-mfa",
            ));
        }
    }
    match read {
        Read::Got(out) if out.status() == Some(&BucketVersioningStatus::Enabled) => {}
        Read::Got(out) => findings.push(Finding::new(
            "versioning-not-enabled",
            Severity::High,
            format!(
                "versioning is {}; the checked version of a photo cannot be pinned",
                out.status().map_or("never enabled", |s| s.as_str())
            ),
            "enable versioning (put-bucket-versioning Status=Enabled)",
        )),
        // `read` never says NotConfigured without a code to match.
        Read::NotConfigured => findings.push(unverifiable(
            "unverifiable-versioning",
            "S3 answered GetBucketVersioning with an error".into(),
            "s3:GetBucketVersioning",
        )),
        Read::Unverifiable(why) => findings.push(unverifiable(
            "unverifiable-versioning",
            why,
            "s3:GetBucketVersioning",
        )),
    }
}

/// A bucket policy that denies requests without TLS and uploads without
/// SSE-KMS, for every principal and object ([`policy_findings`]).
fn bucket_policy_statements(
    read: Read<GetBucketPolicyOutput>,
    bucket: &str,
    partition: &str,
    default_kms: bool,
    findings: &mut Vec<Finding>,
) {
    let doc = match read {
        Read::Got(out) => match out.policy().map(serde_json::from_str::<Value>) {
            Some(Ok(doc)) => doc,
            Some(Err(e)) => {
                findings.push(unverifiable(
                    "unverifiable-bucket-policy",
                    format!("the bucket policy is not valid JSON ({e})"),
                    "s3:GetBucketPolicy",
                ));
                return;
            }
            None => Value::Null,
        },
        Read::NotConfigured => Value::Null,
        Read::Unverifiable(why) => {
            findings.push(unverifiable(
                "unverifiable-bucket-policy",
                why,
                "s3:GetBucketPolicy",
            ));
            return;
        }
    };
    findings.extend(policy_findings(&doc, bucket, partition, default_kms));
}

/// Block Public Access: all four settings on.
fn public_access_block(read: Read<GetPublicAccessBlockOutput>, findings: &mut Vec<Finding>) {
    const FIX: &str = "turn on all four Block Public Access settings for the bucket";
    match read {
        Read::Got(out) => {
            let c = out.public_access_block_configuration();
            let flags = [
                ("BlockPublicAcls", c.and_then(|c| c.block_public_acls())),
                ("IgnorePublicAcls", c.and_then(|c| c.ignore_public_acls())),
                ("BlockPublicPolicy", c.and_then(|c| c.block_public_policy())),
                (
                    "RestrictPublicBuckets",
                    c.and_then(|c| c.restrict_public_buckets()),
                ),
            ];
            let off: Vec<&str> = flags
                .iter()
                .filter(|(_, v)| *v != Some(true))
                .map(|(n, _)| *n)
                .collect();
            if !off.is_empty() {
                findings.push(Finding::new(
                    "public-access-not-blocked",
                    Severity::High,
                    format!(
                        "Block Public Access is not fully on ({} off)",
                        off.join(", ")
                    ),
                    FIX,
                ));
            }
        }
        Read::NotConfigured => findings.push(Finding::new(
            "public-access-not-blocked",
            Severity::High,
            "the bucket has no Block Public Access configuration",
            FIX,
        )),
        Read::Unverifiable(why) => findings.push(unverifiable(
            "unverifiable-public-access-block",
            why,
            "s3:GetBucketPublicAccessBlock",
        )),
    }
}

/// The findings about a bucket policy: whether a credited statement
/// enforces TLS and SSE-KMS uploads, and why each statement that tests
/// those conditions was not credited (see [`bucket_policy`](super::bucket_policy)).
fn policy_findings(doc: &Value, bucket: &str, partition: &str, default_kms: bool) -> Vec<Finding> {
    let statements = statements(doc);
    let mut findings = Vec::new();
    let mut requirement = |id: &'static str,
                           severity: Severity,
                           missing: &str,
                           fix: String,
                           credit: &dyn Fn(&Value) -> Credit| {
        let mut credited = false;
        let mut not_credited = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            match credit(s) {
                Credit::Credited => credited = true,
                Credit::NotCredited(reason) => not_credited.push((label(s, i), reason)),
                Credit::Unrelated => {}
            }
        }
        if !credited {
            let detail = if not_credited.is_empty() {
                missing.to_owned()
            } else {
                format!(
                    "{missing}; {} could not be credited (see policy-statement-not-credited)",
                    not_credited
                        .iter()
                        .map(|(l, _)| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            findings.push(Finding::new(id, severity, detail, fix));
        }
        for (statement, reason) in not_credited {
            findings.push(Finding::new(
                "policy-statement-not-credited",
                Severity::Info,
                format!("{statement} was not credited toward {id}: {reason}"),
                "IAM ANDs a statement's principals, actions, resources and conditions: make the Deny apply to Principal *, every object of the bucket, and no other condition",
            ));
        }
    };
    requirement(
        "no-tls-only-policy",
        Severity::High,
        "no bucket policy statement denies requests without TLS for every principal and object",
        format!("add a statement: Effect Deny, Principal *, Action s3:*, Resource arn:{partition}:s3:::{bucket} and arn:{partition}:s3:::{bucket}/*, Condition Bool aws:SecureTransport false, and no other condition"),
        &|s| denies_insecure_transport(s, bucket),
    );
    requirement(
        "uploads-not-forced-to-kms",
        Severity::Medium,
        "nothing refuses an upload that asks for SSE-S3 or no encryption, for every principal and object",
        format!("add a statement: Effect Deny, Principal *, Action s3:PutObject, Resource arn:{partition}:s3:::{bucket}/*, Condition StringNotEquals s3:x-amz-server-side-encryption aws:kms (StringNotEqualsIfExists when default encryption is SSE-KMS), and no other condition"),
        &|s| denies_non_kms_uploads(s, bucket, default_kms),
    );
    findings
}

/// [`AwsBackend::audit`] as the backend's error: what
/// [`S3Backend::audit_bucket`](crate::S3Backend::audit_bucket) answers.
pub(super) async fn audit_bucket_for_guard(
    aws: &AwsBackend,
    bucket: &str,
    policy: &Policy,
) -> Result<BucketAudit, BackendError> {
    match aws.audit(bucket, policy).await {
        Ok(audit) => Ok(audit),
        Err(Error::Backend(e)) => Err(e),
        Err(other) => Err(BackendError::new(
            BackendErrorKind::Other,
            Service::S3,
            "bucket audit",
            other.to_string(),
        )),
    }
}
