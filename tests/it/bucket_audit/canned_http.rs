//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::{BackendErrorKind, Error, Policy};

use crate::support::canned::*;
use crate::support::{self, KEY};
use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
use aws_sdk_s3::operation::list_bucket_inventory_configurations::ListBucketInventoryConfigurationsOutput;
use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_smithy_mocks::Rule;

fn encryption_ok() -> Rule {
    mock!(aws_sdk_s3::Client::get_bucket_encryption).then_output(|| {
        GetBucketEncryptionOutput::builder()
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::AwsKms)
                                    .kms_master_key_id(KEY)
                                    .build()
                                    .unwrap(),
                            )
                            .bucket_key_enabled(false)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    })
}

fn versioning_ok() -> Rule {
    mock!(aws_sdk_s3::Client::get_bucket_versioning).then_output(|| {
        GetBucketVersioningOutput::builder()
            .status(BucketVersioningStatus::Enabled)
            .build()
    })
}

fn public_access_ok() -> Rule {
    mock!(aws_sdk_s3::Client::get_public_access_block).then_output(|| {
        GetPublicAccessBlockOutput::builder()
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .build()
    })
}

fn denied(op: &'static str) -> HttpResponse {
    response(
        403,
        &[("content-type", "application/xml")],
        &format!("<Error><Code>AccessDenied</Code><Message>{op} denied</Message></Error>"),
    )
}

/// One enabled CSV inventory of all versions with EncryptionStatus.
fn inventory_ok() -> Rule {
    mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_output(|| {
        ListBucketInventoryConfigurationsOutput::builder()
            .is_truncated(false)
            .inventory_configuration_list(support::inventory::configuration(
                "arn:aws:s3:::inventory-reports",
            ))
            .build()
    })
}

/// The audit of `library-photos` against S3 answering by `rules`; an
/// inventory configuration is there unless `rules` answer for it first.
async fn run_audit(rules: &[&Rule]) -> Result<rekognition_guard::BucketAudit, Error> {
    let inventory = inventory_ok();
    let mut rules = rules.to_vec();
    rules.push(&inventory);
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, |c| c
            .retry_config(RetryConfig::disabled())),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
    );
    rekognition_guard::PhotoStore::new(aws, Policy::any_kms_key().with_versioning_required(false))
        .audit_bucket("library-photos")
        .await
}

#[tokio::test]
async fn an_unreadable_configuration_is_a_finding_never_a_pass() {
    let policy_denied = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .then_http_response(|| denied("GetBucketPolicy"));
    let audit = run_audit(&[
        &encryption_ok(),
        &versioning_ok(),
        &policy_denied,
        &public_access_ok(),
    ])
    .await
    .unwrap();
    let ids: Vec<_> = audit.findings.iter().map(|f| f.id).collect();
    assert_eq!(
        ids,
        ["unverifiable-bucket-policy", "bucket-key-disabled"],
        "{:#?}",
        audit.findings
    );
    assert!(!audit.is_compliant());
    assert!(audit.findings[0].fix.contains("s3:GetBucketPolicy"));

    let versioning_denied = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .then_http_response(|| denied("GetBucketVersioning"));
    let encryption_denied = mock!(aws_sdk_s3::Client::get_bucket_encryption)
        .then_http_response(|| denied("GetBucketEncryption"));
    let pab_denied = mock!(aws_sdk_s3::Client::get_public_access_block)
        .then_http_response(|| denied("GetPublicAccessBlock"));
    let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
        response(
            404,
            &[("content-type", "application/xml")],
            "<Error><Code>NoSuchBucketPolicy</Code></Error>",
        )
    });
    let audit = run_audit(&[
        &encryption_denied,
        &versioning_denied,
        &no_policy,
        &pab_denied,
    ])
    .await
    .unwrap();
    let mut ids: Vec<_> = audit.findings.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "no-tls-only-policy",
            "unverifiable-default-encryption",
            "unverifiable-public-access-block",
            "unverifiable-versioning",
            "uploads-not-forced-to-kms",
        ]
    );
}

fn bucket_policy(json: &'static str) -> Rule {
    mock!(aws_sdk_s3::Client::get_bucket_policy).then_output(move || {
        aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput::builder()
            .policy(json)
            .build()
    })
}

/// The policy from the report: a TLS deny for one foreign account only,
/// and a KMS deny on an unused prefix. IAM ANDs a statement's
/// conditions, so neither protects the photos.
#[tokio::test]
async fn a_policy_that_protects_almost_nothing_is_not_credited() {
    let narrowed = bucket_policy(
        r#"{"Statement":[
         {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::library-photos/*",
          "Condition":{"Bool":{"aws:SecureTransport":"false"},
                       "StringEquals":{"aws:PrincipalAccount":"999999999999"}}},
         {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::library-photos/unused/*",
          "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#,
    );
    let audit = run_audit(&[
        &encryption_ok(),
        &versioning_ok(),
        &narrowed,
        &public_access_ok(),
    ])
    .await
    .unwrap();
    assert!(!audit.is_compliant());
    let find = |id: &str| {
        audit
            .findings
            .iter()
            .filter(|f| f.id == id)
            .collect::<Vec<_>>()
    };
    let tls = find("no-tls-only-policy");
    assert_eq!(tls.len(), 1, "{:#?}", audit.findings);
    assert!(tls[0].detail.contains("statement #1"), "{}", tls[0].detail);
    let kms = find("uploads-not-forced-to-kms");
    assert_eq!(kms.len(), 1, "{:#?}", audit.findings);
    assert!(kms[0].detail.contains("statement #2"), "{}", kms[0].detail);
    let why = find("policy-statement-not-credited");
    assert_eq!(why.len(), 2, "{:#?}", audit.findings);
    assert!(
        why[0].detail.contains("statement #1") && why[0].detail.contains("2 operators"),
        "{}",
        why[0].detail
    );
    assert!(
        why[1].detail.contains("statement #2") && why[1].detail.contains("every object"),
        "{}",
        why[1].detail
    );

    // Positive control: the same checks pass with statements that bind
    // everyone, everywhere.
    let good = bucket_policy(
        r#"{"Statement":[
         {"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::library-photos","arn:aws:s3:::library-photos/*"],
          "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
         {"Sid":"KmsOnly","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::library-photos/*",
          "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#,
    );
    let audit = run_audit(&[
        &encryption_ok(),
        &versioning_ok(),
        &good,
        &public_access_ok(),
    ])
    .await
    .unwrap();
    assert!(audit.is_compliant(), "{:#?}", audit.findings);
}

/// The audit of a bucket that is well configured but for what
/// `inventory` answers to ListBucketInventoryConfigurations.
async fn audit_with_inventory(inventory: &Rule) -> rekognition_guard::BucketAudit {
    let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
        response(
            404,
            &[("content-type", "application/xml")],
            "<Error><Code>NoSuchBucketPolicy</Code></Error>",
        )
    });
    run_audit(&[
        inventory,
        &encryption_ok(),
        &versioning_ok(),
        &no_policy,
        &public_access_ok(),
    ])
    .await
    .unwrap()
}

#[tokio::test]
async fn a_bucket_without_an_inventory_of_encryption_status_is_a_finding() {
    let none = mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_output(|| {
        ListBucketInventoryConfigurationsOutput::builder()
            .is_truncated(false)
            .build()
    });
    let audit = audit_with_inventory(&none).await;
    let finding = audit
        .findings
        .iter()
        .find(|f| f.id == "no-inventory-encryption-status")
        .unwrap_or_else(|| panic!("{:#?}", audit.findings));
    assert_eq!(finding.severity, rekognition_guard::Severity::Medium);
    assert!(finding.fix.contains("EncryptionStatus"), "{finding}");
    // Not an at-rest finding: a Face Liveness output bucket is not
    // refused for it.
    assert!(
        audit.at_rest_findings().next().is_none(),
        "{:#?}",
        audit.findings
    );

    let denied = mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations)
        .then_http_response(|| denied("ListBucketInventoryConfigurations"));
    let audit = audit_with_inventory(&denied).await;
    assert!(
        audit
            .findings
            .iter()
            .any(|f| f.id == "unverifiable-inventory"
                && f.fix.contains("s3:GetInventoryConfiguration")),
        "{:#?}",
        audit.findings
    );
}

/// An inventory listing S3 answered with something unparseable is a
/// finding naming the parse error, never a pass, and never an error
/// that would block what the other reads allow.
#[tokio::test]
async fn an_unparseable_inventory_listing_is_a_finding() {
    let garbled = mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations)
        .then_http_response(|| {
            response(
                200,
                &[("content-type", "application/xml")],
                "<GetBucketVersioningResponse></GetBucketVersioningResponse>",
            )
        });
    let audit = audit_with_inventory(&garbled).await;
    let finding = audit
        .findings
        .iter()
        .find(|f| f.id == "unverifiable-inventory")
        .unwrap_or_else(|| panic!("{:#?}", audit.findings));
    assert!(finding.detail.contains("could not be parsed"), "{finding}");
    assert!(audit.at_rest_findings().next().is_none());
}

/// An inventory of one prefix covers part of the bucket only.
#[tokio::test]
async fn an_inventory_of_one_prefix_does_not_count() {
    let partial =
        mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_output(|| {
            let whole = support::inventory::configuration("arn:aws:s3:::inventory-reports");
            let configuration = aws_sdk_s3::types::InventoryConfiguration::builder()
                .id(whole.id())
                .is_enabled(true)
                .included_object_versions(whole.included_object_versions().clone())
                .set_optional_fields(Some(whole.optional_fields().to_vec()))
                .set_schedule(whole.schedule().cloned())
                .set_destination(whole.destination().cloned())
                .filter(
                    aws_sdk_s3::types::InventoryFilter::builder()
                        .prefix("thumbnails/")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap();
            ListBucketInventoryConfigurationsOutput::builder()
                .is_truncated(false)
                .inventory_configuration_list(configuration)
                .build()
        });
    let audit = audit_with_inventory(&partial).await;
    assert!(
        audit
            .findings
            .iter()
            .any(|f| f.id == "no-inventory-encryption-status"),
        "{:#?}",
        audit.findings
    );
}

#[tokio::test]
async fn a_missing_bucket_or_a_failing_s3_is_an_error() {
    let missing = mock!(aws_sdk_s3::Client::get_bucket_versioning).then_http_response(|| {
        response(
            404,
            &[("content-type", "application/xml")],
            "<Error><Code>NoSuchBucket</Code></Error>",
        )
    });
    let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
        response(
            404,
            &[("content-type", "application/xml")],
            "<Error><Code>NoSuchBucketPolicy</Code></Error>",
        )
    });
    let err = run_audit(&[&encryption_ok(), &missing, &no_policy, &public_access_ok()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::NotFound),
        "{err:?}"
    );

    let failing = mock!(aws_sdk_s3::Client::get_public_access_block)
        .then_http_response(|| response(503, &[], ""));
    let err = run_audit(&[&encryption_ok(), &versioning_ok(), &no_policy, &failing])
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
