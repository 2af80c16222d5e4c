//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

use crate::support::answers::Face;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{BackendErrorKind, Error, KmsKeyArn, Policy, Service};

use crate::support::canned::*;
use crate::support::{self, KEY};

/// For every operation the crate calls, an answer the SDK cannot parse is
/// reported as such: the service, the operation, "could not be parsed" and
/// the parser's reason (an S3-compatible server was seen answering
/// GetBucketVersioning with the wrong XML root element).
#[tokio::test]
async fn unparseable_answers_are_reported_as_such_for_every_operation() {
    use rekognition_guard::aws::OrganizationsOptOutVerifier;
    use rekognition_guard::{OptOutVerifier, RekognitionBackend};
    let xml =
        |body: &'static str| move || response(200, &[("content-type", "application/xml")], body);
    let bad_header = || {
        head(&[
            ("x-amz-server-side-encryption", "aws:kms"),
            (
                "x-amz-server-side-encryption-bucket-key-enabled",
                "sometimes",
            ),
        ])
    };
    let no_retry = RetryConfig::disabled();
    let mut failures: Vec<(Service, &str, rekognition_guard::BackendError)> = Vec::new();

    // S3 HeadObject and PutObject: a header that is not what it claims.
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(bad_header);
    let put_rule = mock!(aws_sdk_s3::Client::put_object).then_http_response(bad_header);
    // Enrollment's quality gate passes; the upload's answer is the broken one.
    let detect = mock!(aws_sdk_rekognition::Client::detect_faces)
        .then_http_response(|| json(200, &support::answers::detect_faces(&[Face::GOOD])));
    let aws = backend(
        mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            &[&head_rule, &put_rule],
            |c| c.retry_config(no_retry.clone())
        ),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&detect]),
    );
    let g = guard(
        aws.clone(),
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
    );
    match g.store().check(&reference()).await.unwrap_err() {
        Error::Backend(b) => failures.push((Service::S3, "HeadObject", b)),
        other => panic!("{other:?}"),
    }
    match g
        .enroll(&crate::support::consent(), &reference(), live_photo())
        .await
        .unwrap_err()
    {
        Error::Backend(b) => failures.push((Service::S3, "PutObject", b)),
        other => panic!("{other:?}"),
    }

    // The bucket audit: each read in turn answers something unparseable
    // (GetBucketVersioning with the wrong root element, as seen), the
    // others answer well.
    const ENCRYPTION: &str = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
    const VERSIONING: &str =
        "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    const PUBLIC_ACCESS: &str = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
    const WRONG_ROOT: &str =
        "<GetBucketVersioningResponse><Status>Enabled</Status></GetBucketVersioningResponse>";
    const INVENTORY: &str =
        "<ListInventoryConfigurationsResult><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>";
    for broken in [
        "GetBucketEncryption",
        "GetBucketVersioning",
        "GetPublicAccessBlock",
    ] {
        let body = |op: &str, good: &'static str| if op == broken { WRONG_ROOT } else { good };
        let encryption = mock!(aws_sdk_s3::Client::get_bucket_encryption)
            .then_http_response(xml(body("GetBucketEncryption", ENCRYPTION)));
        let versioning = mock!(aws_sdk_s3::Client::get_bucket_versioning)
            .then_http_response(xml(body("GetBucketVersioning", VERSIONING)));
        let public_access = mock!(aws_sdk_s3::Client::get_public_access_block)
            .then_http_response(xml(body("GetPublicAccessBlock", PUBLIC_ACCESS)));
        let inventory = mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations)
            .then_http_response(xml(body("ListBucketInventoryConfigurations", INVENTORY)));
        let policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
            response(404, &[], "<Error><Code>NoSuchBucketPolicy</Code></Error>")
        });
        let aws = backend(
            mock_client!(
                aws_sdk_s3,
                RuleMode::MatchAny,
                &[
                    &encryption,
                    &versioning,
                    &public_access,
                    &inventory,
                    &policy
                ],
                |c| c.retry_config(no_retry.clone())
            ),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        match rekognition_guard::PhotoStore::new(
            aws,
            Policy::any_kms_key().with_versioning_required(false),
        )
        .audit_bucket("library-photos")
        .await
        .unwrap_err()
        {
            Error::Backend(b) => failures.push((Service::S3, broken, b)),
            other => panic!("{broken}: {other:?}"),
        }
    }

    // Rekognition CompareFaces: JSON that is not JSON.
    let compare = mock!(aws_sdk_rekognition::Client::compare_faces)
        .then_http_response(|| json(200, r#"{"FaceMatches":[{"Similarity":"#));
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&compare], |c| c
            .retry_config(no_retry.clone())),
    );
    match guard(aws, Policy::any_kms_key().with_versioning_required(false))
        .compare(live_photo(), live_photo())
        .await
        .unwrap_err()
    {
        Error::Backend(b) => failures.push((Service::Rekognition, "CompareFaces", b)),
        other => panic!("{other:?}"),
    }

    // AWS Organizations DescribeEffectivePolicy.
    let policy = mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .then_http_response(|| json(200, r#"{"EffectivePolicy": 42"#));
    let verifier = OrganizationsOptOutVerifier::builder()
        .client(mock_client!(
            aws_sdk_organizations,
            RuleMode::MatchAny,
            &[&policy],
            |c| c.retry_config(no_retry.clone())
        ))
        .build()
        .unwrap();
    failures.push((
        Service::Organizations,
        "DescribeEffectivePolicy",
        verifier.verify().await.unwrap_err(),
    ));

    // AWS STS GetCallerIdentity: the wrong root element.
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_http_response(xml("<GetSessionTokenResponse/>"));
    let aws = AwsBackend::builder()
        .s3_client(mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]))
        .rekognition_client(mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]))
        .sts_client(mock_client!(
            aws_sdk_sts,
            RuleMode::MatchAny,
            &[&sts],
            |c| c.retry_config(no_retry.clone())
        ))
        .build()
        .unwrap();
    failures.push((
        Service::Sts,
        "GetCallerIdentity",
        aws.caller_account().await.unwrap_err(),
    ));

    assert_eq!(failures.len(), 8);
    for (service, operation, e) in failures {
        let text = e.to_string();
        assert_eq!((e.service(), e.operation()), (service, operation), "{text}");
        assert_eq!(e.kind(), BackendErrorKind::InvalidResponse, "{text}");
        assert!(
            text.starts_with(&format!(
                "{service} {operation} failed: the response (HTTP 200) could not be parsed: \""
            )),
            "{text}"
        );
        assert!(
            !text.contains("no error code") && !text.contains("no reason given"),
            "{text}"
        );
    }
}
