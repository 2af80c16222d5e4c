//! The guard against a real AWS emulator (moto) over real TLS, with the real
//! SDK clients trusting only a throwaway CA.
//!
//! `bash scripts/test` starts moto and sets `RG_EMULATOR_ENDPOINT` and
//! `RG_EMULATOR_CA`. Under it (`RG_EMULATOR_REQUIRED=1`), or in CI, a
//! missing emulator fails these tests; run bare with `cargo test`, they say
//! loudly that they were skipped.
//!
//! moto's CompareFaces returns a canned match without reading the images,
//! so these tests prove the checks, the pinning and the transport, not face
//! matching. Its S3 keeps the SSE headers given at PutObject.

use crate::support::emulator::{configure_well, emulator, fixture};
use rekognition_guard::{BackendErrorKind, Error, KmsKeyArn, Policy};

#[tokio::test]
async fn a_well_configured_bucket_passes_the_audit() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    configure_well(&f).await;
    let policy = Policy::allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
        .with_versioning_required(false);
    let audit = rekognition_guard::PhotoStore::new(f.backend(), policy.clone())
        .audit_bucket(&f.bucket)
        .await
        .unwrap();
    assert!(audit.is_compliant(), "{:#?}", audit.findings);
    assert_eq!(
        audit.findings,
        &[],
        "bucket key on: not even an info finding"
    );

    // The same bucket, audited against another key allowlist.
    let other = Policy::allow_kms_key(KmsKeyArn::parse(&f.other_kms_key).unwrap())
        .with_versioning_required(false);
    let audit = rekognition_guard::PhotoStore::new(f.backend(), other.clone())
        .audit_bucket(&f.bucket)
        .await
        .unwrap();
    let ids: Vec<_> = audit.findings.iter().map(|x| x.id).collect();
    assert_eq!(ids, ["default-encryption-key-not-allowed"]);
    assert!(!audit.is_compliant());
}

#[tokio::test]
async fn a_badly_configured_bucket_has_one_finding_per_gap() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, false).await;
    let audit = rekognition_guard::PhotoStore::new(
        f.backend(),
        Policy::any_kms_key().with_versioning_required(false),
    )
    .audit_bucket(&f.bucket)
    .await
    .unwrap();
    let mut ids: Vec<_> = audit.findings.iter().map(|x| x.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "default-encryption-not-kms",
            "no-inventory-encryption-status",
            "no-tls-only-policy",
            "public-access-not-blocked",
            "uploads-not-forced-to-kms",
            "versioning-not-enabled",
        ],
        "{:#?}",
        audit.findings
    );
    assert!(!audit.is_compliant());
    for finding in audit.findings {
        assert!(
            !finding.detail.is_empty() && !finding.fix.is_empty(),
            "{finding:?}"
        );
    }

    let err = rekognition_guard::PhotoStore::new(
        f.backend(),
        Policy::any_kms_key().with_versioning_required(false),
    )
    .audit_bucket("rg-no-such-bucket-x")
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::NotFound),
        "{err:?}"
    );
}

/// The narrowed policy of the adversarial review, over the real wire: a
/// TLS deny for one foreign account and a KMS deny on an unused prefix
/// are not credited, and the audit says why.
#[tokio::test]
async fn a_narrowed_bucket_policy_is_not_credited() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    configure_well(&f).await;
    let b = &f.bucket;
    let narrowed = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::{b}/*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}},"StringEquals":{{"aws:PrincipalAccount":"999999999999"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{b}/unused/*","Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"aws:kms"}}}}}}]}}"#
    );
    f.s3.put_bucket_policy()
        .bucket(b)
        .policy(narrowed)
        .send()
        .await
        .expect("PutBucketPolicy");
    let policy = Policy::allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
        .with_versioning_required(false);
    let audit = rekognition_guard::PhotoStore::new(f.backend(), policy.clone())
        .audit_bucket(b)
        .await
        .unwrap();
    let ids: Vec<_> = audit.findings.iter().map(|x| x.id).collect();
    assert_eq!(
        ids,
        [
            "no-tls-only-policy",
            "uploads-not-forced-to-kms",
            "policy-statement-not-credited",
            "policy-statement-not-credited",
        ],
        "{:#?}",
        audit.findings
    );
    assert!(!audit.is_compliant());
}
