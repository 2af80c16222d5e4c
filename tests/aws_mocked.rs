//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

mod support;

use aws_sdk_rekognition::config::Region;
use aws_sdk_s3::config::BehaviorVersion;
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    AccountId, BackendErrorKind, ConfigError, Error, FaceImage, Guard, KmsKeyArn, OptOutEvidence,
    Policy, S3ObjectRef, Service, SseAlgorithm, Verdict, Violation,
};
use support::answers::Face;

use support::KEY;
const VERSION: &str = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo";

type HttpResponse = Response<SdkBody>;

fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> HttpResponse {
    let mut r = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    );
    for (name, value) in headers {
        r.headers_mut().insert(*name, value.to_string());
    }
    r
}

/// A HeadObject answer with these headers (plus a size).
fn head(headers: &[(&'static str, &str)]) -> HttpResponse {
    let mut all = vec![("content-length", "48213"), ("content-type", "image/jpeg")];
    all.extend_from_slice(headers);
    response(200, &all, "")
}

fn kms_head() -> HttpResponse {
    head(&[
        ("x-amz-server-side-encryption", "aws:kms"),
        ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
        ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
        ("x-amz-version-id", VERSION),
    ])
}

fn json(status: u16, body: &str) -> HttpResponse {
    response(
        status,
        &[("content-type", "application/x-amz-json-1.1")],
        body,
    )
}

fn one_match(similarity: f32) -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"FaceMatches":[{{"Similarity":{similarity},"Face":{{"BoundingBox":{{"Width":0.25,"Height":0.4,"Left":0.3,"Top":0.2}},"Confidence":99.9}}}}],"UnmatchedFaces":[],"SourceImageFace":{{"BoundingBox":{{"Width":0.3,"Height":0.4,"Left":0.3,"Top":0.2}},"Confidence":99.9}}}}"#
        ),
    )
}

fn service_error(status: u16, code: &str) -> HttpResponse {
    json(
        status,
        &format!(r#"{{"__type":"{code}","Message":"test"}}"#),
    )
}

fn reference() -> S3ObjectRef {
    S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
}

fn live_photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap()
}

fn guard(backend: AwsBackend, policy: Policy) -> Guard {
    backend
        .guard_builder()
        .policy(policy)
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .build()
        .unwrap()
}

fn backend(s3: aws_sdk_s3::Client, rekognition: aws_sdk_rekognition::Client) -> AwsBackend {
    AwsBackend::builder()
        .s3_client(s3)
        .rekognition_client(rekognition)
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_server_side_encryption_value_from_the_wire() {
    let cases: Vec<(&str, HttpResponse, Option<Violation>)> = vec![
        ("SSE-KMS", kms_head(), None),
        (
            "DSSE-KMS",
            head(&[
                ("x-amz-server-side-encryption", "aws:kms:dsse"),
                ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ]),
            None,
        ),
        (
            "SSE-S3",
            head(&[("x-amz-server-side-encryption", "AES256")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::Aes256,
            })),
        ),
        (
            "no header",
            head(&[]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::None,
            })),
        ),
        (
            "FSx",
            head(&[("x-amz-server-side-encryption", "aws:fsx")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::from_header(Some("aws:fsx")),
            })),
        ),
        (
            "Backup",
            head(&[("x-amz-server-side-encryption", "aws:backup")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::from_header(Some("aws:backup")),
            })),
        ),
        (
            "a value newer than the SDK",
            head(&[("x-amz-server-side-encryption", "aws:kms:pq")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::from_header(Some("aws:kms:pq")),
            })),
        ),
        (
            "KMS without a key id",
            head(&[("x-amz-server-side-encryption", "aws:kms")]),
            Some(Violation::AtRest(AtRestViolation::KmsKeyUnknown {
                object: reference(),
            })),
        ),
    ];
    for (name, head_response, expected) in cases {
        let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(move || {
            // Rules are Fn: rebuild the response each time.
            let mut r = Response::new(head_response.status(), SdkBody::empty());
            for (k, v) in head_response.headers() {
                r.headers_mut().insert(k.to_owned(), v.to_owned());
            }
            r
        });
        let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
            .then_http_response(|| one_match(99.5));
        let guard = guard(
            backend(
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
                mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&compare_rule]),
            ),
            Policy::new(),
        );
        let result = guard.compare(reference(), live_photo()).await;
        match expected {
            None => {
                let d = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(d.is_approved(), "{name}");
                assert_eq!(compare_rule.num_calls(), 1, "{name}");
            }
            Some(v) => {
                let err = result.expect_err(name);
                assert_eq!(err.as_refusal().unwrap().violations(), &[v], "{name}");
                assert_eq!(
                    compare_rule.num_calls(),
                    0,
                    "{name}: nothing may reach Rekognition"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_version_head_object_reported_is_the_one_compared() {
    let head_rule = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| {
            r.bucket() == Some("library-photos")
                && r.key() == Some("members/ada.jpg")
                && r.version_id().is_none()
                && r.expected_bucket_owner() == Some("111122223333")
        })
        .then_http_response(kms_head);
    let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
        .match_requests(|r| {
            let s3 = r.source_image().and_then(|i| i.s3_object());
            s3.and_then(|o| o.version()) == Some(VERSION)
                && s3.and_then(|o| o.bucket()) == Some("library-photos")
                && s3.and_then(|o| o.name()) == Some("members/ada.jpg")
                && r.target_image()
                    .and_then(|i| i.bytes())
                    .map(|b| b.as_ref().len())
                    == Some(8)
                && r.similarity_threshold() == Some(99.0)
                && r.quality_filter() == Some(&aws_sdk_rekognition::types::QualityFilter::Auto)
        })
        .then_http_response(|| one_match(99.5));
    let policy = Policy::new()
        .expected_bucket_owner(AccountId::parse("111122223333").unwrap())
        .allow_kms_key(KmsKeyArn::parse(KEY).unwrap());
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::Sequential, &[&head_rule]),
            mock_client!(aws_sdk_rekognition, RuleMode::Sequential, &[&compare_rule]),
        ),
        policy,
    );
    let decision = guard.compare(reference(), live_photo()).await.unwrap();
    assert_eq!(
        decision.verdict(),
        &Verdict::Match {
            similarity: 99.5,
            face: rekognition_guard::BoundingBox::new(0.3, 0.2, 0.25, 0.4)
        }
    );
    match decision.source() {
        rekognition_guard::CheckedImage::S3 { object: o, .. } => {
            assert_eq!(o.version_id(), Some(VERSION));
            assert_eq!(o.kms_key_id(), KEY);
            assert_eq!(o.bucket_key_enabled(), Some(true));
            assert_eq!(o.content_length(), 48213);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((head_rule.num_calls(), compare_rule.num_calls()), (1, 1));
}

/// The report's failing input: a reference that asks for `?versionId=null`
/// while S3 answers `x-amz-version-id: null` with SSE-KMS was approved
/// under require_versioning and then cached. S3's null version is replaced
/// in place by the next upload: never a pin, never cached.
#[tokio::test]
async fn a_null_version_is_never_a_pin_nor_cached() {
    let null_head = || {
        head(&[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ("x-amz-version-id", "null"),
        ])
    };
    let requested_null = reference().with_version_id("null").unwrap();

    // require_versioning: refused, nothing sent to Rekognition.
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(null_head);
    let compare_rule =
        mock!(aws_sdk_rekognition::Client::compare_faces).then_http_response(|| one_match(99.9));
    let strict = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&compare_rule]),
        ),
        Policy::new().require_versioning(true),
    );
    for reference in [requested_null.clone(), reference()] {
        let err = strict
            .compare(reference.clone(), live_photo())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_refusal().map(|r| r.violations()),
                Some([Violation::AtRest(AtRestViolation::VersionRequired { .. })])
            ),
            "{reference}: {err}"
        );
    }
    assert_eq!(compare_rule.num_calls(), 0);

    // Without it: compared as asked (the null version, not the latest),
    // unpinned, and checked again every time.
    let head_rule = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.version_id() == Some("null"))
        .then_http_response(null_head);
    let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
        .match_requests(|r| {
            r.source_image()
                .and_then(|i| i.s3_object())
                .and_then(|o| o.version())
                == Some("null")
        })
        .then_http_response(|| one_match(99.9));
    let lenient = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&compare_rule]),
        ),
        Policy::new(),
    );
    for _ in 0..2 {
        let decision = lenient
            .compare(requested_null.clone(), live_photo())
            .await
            .unwrap();
        let object = decision.source().s3_object().unwrap();
        assert!(!object.is_pinned(), "{object}");
        assert_eq!(object.version_id(), Some("null"));
    }
    assert_eq!((head_rule.num_calls(), compare_rule.num_calls()), (2, 2));
}

#[tokio::test]
async fn a_named_version_is_sent_to_head_object() {
    let head_rule = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.version_id() == Some(VERSION))
        .then_http_response(kms_head);
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::Sequential, &[&head_rule]),
            mock_client!(aws_sdk_rekognition, RuleMode::Sequential, &[]),
        ),
        Policy::new(),
    );
    let verified = guard
        .check(&reference().with_version_id(VERSION).unwrap())
        .await
        .unwrap();
    assert_eq!(verified.version_id(), Some(VERSION));
}

#[tokio::test]
async fn head_object_failures_are_distinct_and_say_what_to_fix() {
    let cases: [(u16, BackendErrorKind, &[&str], bool); 6] = [
        (
            403,
            BackendErrorKind::AccessDenied,
            &["s3:GetObject", "s3:ListBucket", "999988887777"],
            false,
        ),
        (
            404,
            BackendErrorKind::NotFound,
            &["was not found", "version id"],
            false,
        ),
        (
            400,
            BackendErrorKind::InvalidRequest,
            &["SSE-C", "SSE-KMS"],
            false,
        ),
        (405, BackendErrorKind::NotFound, &["delete marker"], false),
        (503, BackendErrorKind::ServiceUnavailable, &["503"], true),
        (500, BackendErrorKind::ServiceUnavailable, &["500"], true),
    ];
    for (status, kind, words, retryable) in cases {
        let head_rule = mock!(aws_sdk_s3::Client::head_object)
            .then_http_response(move || response(status, &[], ""));
        let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
            .then_http_response(|| one_match(99.5));
        let guard = guard(
            backend(
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule], |c| c
                    .retry_config(RetryConfig::disabled())),
                mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&compare_rule]),
            ),
            Policy::new().expected_bucket_owner(AccountId::parse("999988887777").unwrap()),
        );
        let err = guard.compare(reference(), live_photo()).await.unwrap_err();
        match &err {
            Error::Backend(b) => {
                assert_eq!(b.kind(), kind, "{status}");
                assert_eq!(b.service(), Service::S3);
                assert_eq!(b.operation(), "HeadObject");
                assert_eq!(b.is_retryable(), retryable, "{status}");
                assert!(
                    std::error::Error::source(b).is_some(),
                    "{status}: the SDK error is kept as source"
                );
            }
            other => panic!("{status}: {other:?}"),
        }
        let text = err.to_string();
        for w in words {
            assert!(text.contains(w), "{status}: {text:?} should mention {w:?}");
        }
        assert!(
            text.contains("s3://library-photos/members/ada.jpg") || status >= 500,
            "{text}"
        );
        assert_eq!(compare_rule.num_calls(), 0, "{status}");
    }
}

/// HeadObject answers have no body: a 400 has several causes, and the
/// message names them without picking one; whenever S3 names the bucket's
/// region (`x-amz-bucket-region`, any status) and it is not the client's,
/// the message says so with both regions.
#[tokio::test]
async fn head_object_errors_never_guess_and_name_both_regions() {
    /// Status, the bucket region S3 names, words the message has, words it must not have.
    type Case = (
        u16,
        Option<&'static str>,
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: [Case; 5] = [
        (
            400,
            None,
            &["malformed", "another region", "SSE-C", VERSION],
            &["most often"],
        ),
        (
            400,
            Some("eu-central-1"),
            &["eu-central-1", "us-east-1"],
            &["SSE-C"],
        ),
        (403, Some("ap-south-1"), &["ap-south-1", "us-east-1"], &[]),
        (301, Some("eu-west-3"), &["eu-west-3", "us-east-1"], &[]),
        // The client's own region: not a region problem.
        (400, Some("us-east-1"), &["SSE-C"], &["is in region"]),
    ];
    for (status, bucket_region, words, absent) in cases {
        let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(move || {
            let headers: Vec<_> = bucket_region
                .map(|r| ("x-amz-bucket-region", r))
                .into_iter()
                .collect();
            response(status, &headers, "")
        });
        let guard = guard(
            backend(
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule], |c| c
                    .retry_config(RetryConfig::disabled())),
                mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
            ),
            Policy::new(),
        );
        let err = guard
            .check(&reference().with_version_id(VERSION).unwrap())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, Error::Backend(b) if b.service() == Service::S3 && !b.is_retryable()),
            "{status}: {err:?}"
        );
        for w in words {
            assert!(
                text.contains(w),
                "{status} {bucket_region:?}: {text:?} should mention {w:?}"
            );
        }
        for w in absent {
            assert!(
                !text.contains(w),
                "{status} {bucket_region:?}: {text:?} should not say {w:?}"
            );
        }
    }
}

/// For every operation the crate calls, an answer the SDK cannot parse is
/// reported as such: the service, the operation, "could not be parsed" and
/// the parser's reason (an S3-compatible server was seen answering
/// GetBucketVersioning with the wrong XML root element).
#[tokio::test]
async fn unparseable_answers_are_reported_as_such_for_every_operation() {
    use rekognition_guard::aws::OrganizationsOptOutVerifier;
    use rekognition_guard::{FaceAnalyzer, OptOutVerifier};
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
        Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
    );
    match g.check(&reference()).await.unwrap_err() {
        Error::Backend(b) => failures.push((Service::S3, "HeadObject", b)),
        other => panic!("{other:?}"),
    }
    match g.enroll(&reference(), live_photo()).await.unwrap_err() {
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
        match aws
            .audit_bucket("library-photos", &Policy::new())
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
    match guard(aws, Policy::new())
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

async fn compare_with(answer: HttpResponse) -> Result<rekognition_guard::Decision, Error> {
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let answer = std::sync::Mutex::new(Some(answer));
    let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
        .then_http_response(move || answer.lock().unwrap().take().expect("one attempt only"));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(
                aws_sdk_rekognition,
                RuleMode::MatchAny,
                &[&compare_rule],
                |c| c
                    .retry_config(RetryConfig::disabled())
                    .region(Region::new("eu-west-1"))
            ),
        ),
        Policy::new(),
    );
    guard.compare(reference(), live_photo()).await
}

#[tokio::test]
async fn compare_faces_errors_are_mapped_with_hints() {
    let cases: [(u16, &str, BackendErrorKind, bool, &[&str]); 7] = [
        (
            400,
            "InvalidS3ObjectException",
            BackendErrorKind::InvalidS3Object,
            false,
            &["kms:Decrypt", KEY, VERSION, "eu-west-1", "s3:GetObject"],
        ),
        (
            400,
            "ImageTooLargeException",
            BackendErrorKind::ImageTooLarge,
            false,
            &["5 MiB", "15 MiB"],
        ),
        (
            400,
            "InvalidImageFormatException",
            BackendErrorKind::InvalidImageFormat,
            false,
            &["JPEG or PNG"],
        ),
        (
            400,
            "AccessDeniedException",
            BackendErrorKind::AccessDenied,
            false,
            &["rekognition:CompareFaces"],
        ),
        (
            400,
            "ThrottlingException",
            BackendErrorKind::Throttled,
            true,
            &["throttling", "retryable"],
        ),
        (
            400,
            "ProvisionedThroughputExceededException",
            BackendErrorKind::Throttled,
            true,
            &["quota"],
        ),
        (
            500,
            "InternalServerError",
            BackendErrorKind::ServiceUnavailable,
            true,
            &["internal error"],
        ),
    ];
    for (status, code, kind, retryable, words) in cases {
        let err = compare_with(service_error(status, code)).await.unwrap_err();
        match &err {
            Error::Backend(b) => {
                assert_eq!(b.kind(), kind, "{code}");
                assert_eq!(b.service(), Service::Rekognition, "{code}");
                assert_eq!(b.is_retryable(), retryable, "{code}");
            }
            other => panic!("{code}: {other:?}"),
        }
        let text = err.to_string();
        for w in words {
            assert!(text.contains(w), "{code}: {text:?} should mention {w:?}");
        }
    }
}

#[tokio::test]
async fn no_face_is_a_no_face_verdict_not_an_error() {
    let d = compare_with(service_error(400, "InvalidParameterException"))
        .await
        .unwrap();
    assert_eq!(d.verdict(), &Verdict::NoFace { image: None });
    assert!(!d.is_approved());
}

#[tokio::test]
async fn malformed_compare_faces_answers_never_approve() {
    for body in [
        r#"{"FaceMatches":[{"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":99.9}]}"#,
        r#"{"FaceMatches":[{"Similarity":99.9,"Face":{"BoundingBox":{"Width":0.2}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":250.0,"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":99.9,"Face":{"BoundingBox":{"#,
        "not json at all",
    ] {
        let err = compare_with(json(200, body)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{body}: {err:?}"
        );
    }
}

/// A client whose HTTP layer records requests: if anything were
/// transmitted, the receiver would see it.
fn s3_capturing(
    endpoint: &str,
) -> (
    aws_sdk_s3::Client,
    aws_smithy_http_client::test_util::CaptureRequestReceiver,
) {
    let (http, rx) = capture_request(None);
    let conf = aws_sdk_s3::Config::builder()
        .with_test_defaults_v2()
        .http_client(http)
        .endpoint_url(endpoint)
        .build();
    (aws_sdk_s3::Client::from_conf(conf), rx)
}

fn rekognition_capturing(
    configure: impl FnOnce(aws_sdk_rekognition::config::Builder) -> aws_sdk_rekognition::config::Builder,
) -> (
    aws_sdk_rekognition::Client,
    aws_smithy_http_client::test_util::CaptureRequestReceiver,
) {
    let (http, rx) = capture_request(None);
    let conf = configure(
        aws_sdk_rekognition::Config::builder()
            .with_test_defaults_v2()
            .http_client(http),
    )
    .build();
    (aws_sdk_rekognition::Client::from_conf(conf), rx)
}

#[tokio::test]
async fn http_endpoint_set_in_code_on_a_client_is_refused_on_the_wire() {
    let (s3, s3_rx) = s3_capturing("http://127.0.0.1:9000");
    let (rekognition, rekognition_rx) = rekognition_capturing(|c| c);
    let guard = guard(backend(s3, rekognition), Policy::new());
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert_eq!(
        err.as_refusal()
            .expect("a policy refusal, not a dispatch failure")
            .violations(),
        &[Violation::InsecureEndpoint(
            check_endpoint_url(Service::S3, "http://127.0.0.1:9000").unwrap_err()
        )]
    );
    s3_rx.expect_no_request();
    rekognition_rx.expect_no_request();
}

#[tokio::test]
async fn http_endpoint_from_a_custom_resolver_is_refused_on_the_wire() {
    use aws_sdk_rekognition::config::endpoint::{
        Endpoint, EndpointFuture, Params, ResolveEndpoint,
    };
    #[derive(Debug)]
    struct PlainHttp;
    impl ResolveEndpoint for PlainHttp {
        fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
            EndpointFuture::ready(Ok(Endpoint::builder()
                .url("http://rekognition.internal:8080")
                .build()))
        }
    }
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let (rekognition, rx) = rekognition_capturing(|c| c.endpoint_resolver(PlainHttp));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            rekognition,
        ),
        Policy::new(),
    );
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert_eq!(
        err.as_refusal().expect("a policy refusal").violations(),
        &[Violation::InsecureEndpoint(
            check_endpoint_url(Service::Rekognition, "http://rekognition.internal:8080")
                .unwrap_err()
        )]
    );
    rx.expect_no_request();
}

#[tokio::test]
async fn http_endpoint_with_an_http_response_rule_is_still_refused() {
    // then_http_response goes through the HTTP layer after our interceptor,
    // so a refusal cannot be overwritten by the mock.
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let compare_rule =
        mock!(aws_sdk_rekognition::Client::compare_faces).then_http_response(|| one_match(99.9));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(
                aws_sdk_rekognition,
                RuleMode::MatchAny,
                &[&compare_rule],
                |c| c.endpoint_url("http://127.0.0.1:4566")
            ),
        ),
        Policy::new(),
    );
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations(),
        [Violation::InsecureEndpoint(e)] if e.service() == Service::Rekognition
    ));
}

#[test]
fn configured_http_endpoints_fail_the_build() {
    let err = AwsBackend::builder()
        .s3_client(s3_capturing("https://127.0.0.1:1").0)
        .rekognition_client(rekognition_capturing(|c| c).0)
        .endpoint_url("http://127.0.0.1:4566")
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::InsecureEndpoint(
            check_endpoint_url(Service::S3, "http://127.0.0.1:4566").unwrap_err()
        )
    );

    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://localhost:4566")
        .build();
    assert!(matches!(
        AwsBackend::from_sdk_config(&sdk).unwrap_err(),
        ConfigError::InsecureEndpoint(e) if e.service() == Service::S3
    ));
}

#[test]
fn a_missing_region_fails_the_build_instead_of_every_call() {
    // Before, build() succeeded and every call failed as a retryable
    // "connection failed" (the SDK's "A region must be set" was only in
    // the source chain), so a kiosk retrying on is_retryable() retried a
    // configuration error forever.
    let no_region = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url("https://127.0.0.1:4566")
        .build();
    let err = AwsBackend::from_sdk_config(&no_region).unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingRegion {
            service: Service::S3
        }
    );
    let message = err.to_string();
    assert!(message.contains("AWS_REGION"), "{message}");
    assert!(
        message.contains("endpoint URL does not replace it"),
        "{message}"
    );

    // A client handed in without a region, the other one with one.
    let rekognition = aws_sdk_rekognition::Client::from_conf(
        aws_sdk_rekognition::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .build(),
    );
    let err = AwsBackend::builder()
        .s3_client(s3_capturing("https://127.0.0.1:1").0)
        .rekognition_client(rekognition)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingRegion {
            service: Service::Rekognition
        }
    );

    // A region no endpoint can be made from.
    let bad_region = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu west 1"))
        .build();
    let err = AwsBackend::from_sdk_config(&bad_region).unwrap_err();
    assert_eq!(
        err,
        ConfigError::InvalidRegion {
            service: Service::S3,
            region: "eu west 1".into()
        }
    );
    assert!(err.to_string().contains("not a region name"), "{err}");
}

#[test]
fn builder_needs_clients_or_a_config_and_valid_ca_bundles() {
    let err = AwsBackend::builder().build().unwrap_err();
    assert!(err.to_string().contains("sdk_config"), "{err}");

    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    for bad in [
        &b"not a certificate"[..],
        b"",
        b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    ] {
        let err = AwsBackend::builder()
            .sdk_config(&sdk)
            .ca_bundle_pem(bad)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("CA bundle"), "{err}");
    }
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-ca.pem"
    ))
    .unwrap();
    let aws = AwsBackend::builder()
        .sdk_config(&sdk)
        .ca_bundle_pem(pem)
        .trust_native_roots(false)
        .endpoint_url("https://127.0.0.1:4566")
        .build()
        .unwrap();
    assert_eq!(
        rekognition_guard::ObjectInspector::endpoint(&aws),
        "https://127.0.0.1:4566"
    );
    assert_eq!(
        rekognition_guard::FaceAnalyzer::endpoint(&aws),
        "https://127.0.0.1:4566"
    );
    let from_sdk = AwsBackend::from_sdk_config(&sdk).unwrap();
    assert_eq!(
        rekognition_guard::FaceAnalyzer::endpoint(&from_sdk),
        "https://rekognition.eu-west-1.amazonaws.com"
    );
    assert!(!format!("{aws:?}").contains("BEGIN CERTIFICATE"));
}

mod audit {
    use super::*;
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
    async fn run_audit(rules: &[&Rule]) -> Result<rekognition_guard::aws::BucketAudit, Error> {
        let inventory = inventory_ok();
        let mut rules = rules.to_vec();
        rules.push(&inventory);
        let aws = backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, |c| c
                .retry_config(RetryConfig::disabled())),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        aws.audit_bucket("library-photos", &Policy::new()).await
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
        let ids: Vec<_> = audit.findings().iter().map(|f| f.id).collect();
        assert_eq!(
            ids,
            ["unverifiable-bucket-policy", "bucket-key-disabled"],
            "{:#?}",
            audit.findings()
        );
        assert!(!audit.is_compliant());
        assert!(audit.findings()[0].fix.contains("s3:GetBucketPolicy"));

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
        let mut ids: Vec<_> = audit.findings().iter().map(|f| f.id).collect();
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
                .findings()
                .iter()
                .filter(|f| f.id == id)
                .collect::<Vec<_>>()
        };
        let tls = find("no-tls-only-policy");
        assert_eq!(tls.len(), 1, "{:#?}", audit.findings());
        assert!(tls[0].detail.contains("statement #1"), "{}", tls[0].detail);
        let kms = find("uploads-not-forced-to-kms");
        assert_eq!(kms.len(), 1, "{:#?}", audit.findings());
        assert!(kms[0].detail.contains("statement #2"), "{}", kms[0].detail);
        let why = find("policy-statement-not-credited");
        assert_eq!(why.len(), 2, "{:#?}", audit.findings());
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
        assert!(audit.is_compliant(), "{:#?}", audit.findings());
    }

    /// The audit of a bucket that is well configured but for what
    /// `inventory` answers to ListBucketInventoryConfigurations.
    async fn audit_with_inventory(inventory: &Rule) -> rekognition_guard::aws::BucketAudit {
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
        let none =
            mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_output(|| {
                ListBucketInventoryConfigurationsOutput::builder()
                    .is_truncated(false)
                    .build()
            });
        let audit = audit_with_inventory(&none).await;
        let finding = audit
            .findings()
            .iter()
            .find(|f| f.id == "no-inventory-encryption-status")
            .unwrap_or_else(|| panic!("{:#?}", audit.findings()));
        assert_eq!(
            finding.severity,
            rekognition_guard::posture::Severity::Medium
        );
        assert!(finding.fix.contains("EncryptionStatus"), "{finding}");
        // Not an at-rest finding: a Face Liveness output bucket is not
        // refused for it.
        assert!(
            audit.at_rest_findings().next().is_none(),
            "{:#?}",
            audit.findings()
        );

        let denied = mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations)
            .then_http_response(|| denied("ListBucketInventoryConfigurations"));
        let audit = audit_with_inventory(&denied).await;
        assert!(
            audit
                .findings()
                .iter()
                .any(|f| f.id == "unverifiable-inventory"
                    && f.fix.contains("s3:GetInventoryConfiguration")),
            "{:#?}",
            audit.findings()
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
            .findings()
            .iter()
            .find(|f| f.id == "unverifiable-inventory")
            .unwrap_or_else(|| panic!("{:#?}", audit.findings()));
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
                .findings()
                .iter()
                .any(|f| f.id == "no-inventory-encryption-status"),
            "{:#?}",
            audit.findings()
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
}

mod timeouts {
    use super::*;
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::timeout::TimeoutConfig;
    use std::time::Duration;

    /// An endpoint that accepts requests and never answers.
    #[derive(Debug)]
    struct Hung;
    impl HttpConnector for Hung {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::new(std::future::pending())
        }
    }

    fn sdk(timeouts: Option<TimeoutConfig>) -> aws_types::SdkConfig {
        let connector = SharedHttpConnector::new(Hung);
        let mut b = crate::support::sdk_config("eu-west-1", "AKIDTIMEOUTS", "timeouts-secret")
            .to_builder()
            .http_client(http_client_fn(move |_, _| connector.clone()));
        if let Some(t) = timeouts {
            b = b.timeout_config(t);
        }
        b.build()
    }

    #[test]
    fn every_client_gets_sane_default_timeouts_without_overriding_the_users() {
        let aws = AwsBackend::from_sdk_config(&sdk(None)).unwrap();
        for t in [
            aws.s3_client().config().timeout_config().unwrap(),
            aws.rekognition_client().config().timeout_config().unwrap(),
        ] {
            assert_eq!(t.connect_timeout(), Some(Duration::from_millis(3100)));
            assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(10)));
            assert_eq!(t.operation_timeout(), Some(Duration::from_secs(30)));
        }
        let users = TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(5))
            .build();
        let aws = AwsBackend::from_sdk_config(&sdk(Some(users))).unwrap();
        let t = aws.s3_client().config().timeout_config().unwrap();
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_secs(5)),
            "the user's value stays"
        );
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(Duration::from_secs(10)),
            "gaps are filled"
        );
    }

    #[tokio::test]
    async fn a_hung_endpoint_ends_in_a_retryable_timeout_not_a_hang() {
        let aws = AwsBackend::builder()
            .sdk_config(&sdk(None))
            .timeouts(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(100))
                    .operation_timeout(Duration::from_millis(400))
                    .build(),
            )
            .build()
            .unwrap();
        let guard = guard(aws, Policy::new());
        let started = std::time::Instant::now();
        let err = tokio::time::timeout(
            Duration::from_secs(10),
            guard.compare(reference(), live_photo()),
        )
        .await
        .expect("the guard must give up by itself")
        .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::Timeout && b.service() == Service::S3),
            "{err:?}"
        );
        assert!(err.is_retryable());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}

mod quality_gate {
    //! The enrollment quality gate over canned HTTP: real DetectFaces
    //! answers, the exact attributes asked for, nothing uploaded on refusal.

    use super::*;
    use rekognition_guard::{QualityIssue, VerifiedS3Object};

    /// Enrolls a photo with DetectFaces answering `answer`; returns the
    /// result and how often DetectFaces, PutObject and HeadObject were
    /// called.
    async fn enroll_with(answer: String) -> (Result<VerifiedS3Object, Error>, [usize; 3]) {
        let detect = mock!(aws_sdk_rekognition::Client::detect_faces)
            .match_requests(|r| {
                let attributes: Vec<&str> = r.attributes().iter().map(|a| a.as_str()).collect();
                attributes == ["EYES_OPEN", "SUNGLASSES", "FACE_OCCLUDED"]
                    && r.image().and_then(|i| i.bytes()).is_some()
            })
            .then_http_response(move || json(200, &answer));
        let put = mock!(aws_sdk_s3::Client::put_object)
            .then_http_response(|| response(200, &[("x-amz-version-id", VERSION)], ""));
        let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
        let guard = guard(
            backend(
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put, &head]),
                mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[&detect]),
            ),
            Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        );
        let result = guard.enroll(&reference(), live_photo()).await;
        (
            result,
            [detect.num_calls(), put.num_calls(), head.num_calls()],
        )
    }

    #[tokio::test]
    async fn photos_that_fail_the_gate_are_refused_with_named_reasons_and_never_stored() {
        let face = |change: fn(&mut Face)| {
            let mut f = Face::GOOD;
            change(&mut f);
            f
        };
        let cases: [(Vec<Face>, &[&str]); 6] = [
            (vec![], &["no_face"]),
            (vec![Face::GOOD, Face::GOOD], &["several_faces"]),
            (
                vec![face(|f| (f.width, f.height) = (0.1, 0.2))],
                &["face_too_small"],
            ),
            (vec![face(|f| f.sharpness = 12.0)], &["not_sharp"]),
            (vec![face(|f| f.sunglasses = true)], &["sunglasses"]),
            (vec![face(|f| f.eyes_open = false)], &["eyes_not_open"]),
        ];
        for (faces, expected) in cases {
            let (result, calls) = enroll_with(support::answers::detect_faces(&faces)).await;
            match result {
                Err(Error::PhotoRejected(a)) => {
                    let ids: Vec<_> = a.issues().iter().map(QualityIssue::id).collect();
                    assert_eq!(ids, expected, "{a}");
                }
                other => panic!("{expected:?}: expected a rejected photo, got {other:?}"),
            }
            assert_eq!(
                calls,
                [1, 0, 0],
                "{expected:?}: DetectFaces once, nothing stored"
            );
        }

        let (result, calls) = enroll_with(support::answers::detect_faces(&[Face::GOOD])).await;
        let enrolled = result.expect("a good photo is enrolled");
        assert_eq!(enrolled.version_id(), Some(VERSION));
        assert_eq!(
            calls,
            [1, 1, 1],
            "DetectFaces, then PutObject, then HeadObject"
        );
    }

    #[tokio::test]
    async fn assess_face_answers_a_kiosk_and_failures_store_nothing() {
        let detect = mock!(aws_sdk_rekognition::Client::detect_faces).then_http_response(|| {
            let mut f = Face::GOOD;
            f.yaw = 60.0;
            json(200, &support::answers::detect_faces(&[f]))
        });
        let throttled = mock!(aws_sdk_rekognition::Client::detect_faces)
            .then_http_response(|| service_error(400, "ThrottlingException"));
        let put =
            mock!(aws_sdk_s3::Client::put_object).then_http_response(|| response(200, &[], ""));
        let guard_over = |rule: &aws_smithy_mocks::Rule| {
            guard(
                backend(
                    mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put]),
                    mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[rule], |c| c
                        .retry_config(RetryConfig::disabled())),
                ),
                Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
            )
        };
        let assessment = guard_over(&detect).assess_face(live_photo()).await.unwrap();
        assert!(!assessment.is_acceptable());
        assert!(
            matches!(assessment.issues(), [QualityIssue::PoseOutOfRange { pose: Some(p) }] if p.yaw == 60.0),
            "{assessment}"
        );
        let err = guard_over(&throttled)
            .enroll(&reference(), live_photo())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.service() == Service::Rekognition && b.operation() == "DetectFaces" && b.kind() == BackendErrorKind::Throttled),
            "{err:?}"
        );
        assert_eq!(put.num_calls(), 0);
    }
}

/// The conformance suite (`rekognition_guard::conformance`) on the real
/// SDK clients over canned HTTP.
#[tokio::test]
async fn conformance() {
    rekognition_guard::conformance::run_all(&support::conformance::CannedHarness::new()).await;
}

/// Face Liveness on the real SDK clients, answered with the services'
/// response JSON (the scenarios run over TLS in `liveness_https`).
mod liveness {
    use super::*;
    use aws_smithy_mocks::Rule;
    use rekognition_guard::liveness::{
        kiosk_tag, member_tag, KioskId, LivenessPolicy, LivenessSessionId,
    };

    const SESSION: &str = "2f1c8e5a-9b0d-4e7f-a1c3-5d6e7f809a1b";
    const OUTPUT: &str = "liveness-output";

    fn member() -> S3ObjectRef {
        reference().with_version_id(VERSION).unwrap()
    }

    fn kiosk() -> KioskId {
        KioskId::new("branch-1/kiosk-2").unwrap()
    }

    fn liveness_guard(s3: &[&Rule], rekognition: &[&Rule]) -> Guard {
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, rekognition),
        )
        .guard_builder()
        .policy(
            Policy::new()
                .allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
                .require_versioning(true),
        )
        .liveness(
            LivenessPolicy::new(OUTPUT)
                .unwrap()
                .with_output_prefix("kiosks/")
                .unwrap(),
        )
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .build()
        .unwrap()
    }

    fn xml(body: &str) -> HttpResponse {
        response(200, &[("content-type", "application/xml")], body)
    }

    /// The bucket audit's five reads for a compliant output bucket.
    fn compliant_output_bucket() -> Vec<Rule> {
        let encryption = format!("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{KEY}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>");
        vec![
            mock!(aws_sdk_s3::Client::get_bucket_encryption)
                .then_http_response(move || xml(&encryption)),
            mock!(aws_sdk_s3::Client::get_bucket_versioning).then_http_response(|| {
                xml("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
            }),
            mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
                response(404, &[], "<Error><Code>NoSuchBucketPolicy</Code></Error>")
            }),
            mock!(aws_sdk_s3::Client::get_public_access_block).then_http_response(|| {
                response(
                    404,
                    &[],
                    "<Error><Code>NoSuchPublicAccessBlockConfiguration</Code></Error>",
                )
            }),
            mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_http_response(
                || {
                    xml("<ListInventoryConfigurationsResult><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>")
                },
            ),
        ]
    }

    #[tokio::test]
    async fn a_session_is_created_with_the_key_bucket_prefix_and_token_aws_expects() {
        let audit = compliant_output_bucket();
        let prefix = format!("kiosks/{}/{}/", member_tag(&member()), kiosk_tag(&kiosk()));
        let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
            .match_requests(move |input| {
                let settings = input.settings().expect("settings");
                let output = settings.output_config().expect("an output config");
                input.kms_key_id() == Some(KEY)
                    && output.s3_bucket() == OUTPUT
                    && output.s3_key_prefix() == Some(prefix.as_str())
                    && settings.audit_images_limit() == Some(0)
                    && input
                        .client_request_token()
                        .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
            })
            .then_http_response(|| json(200, &format!(r#"{{"SessionId":"{SESSION}"}}"#)));
        let s3: Vec<&Rule> = audit.iter().collect();
        let guard = liveness_guard(&s3, &[&create]);
        let session = guard.start_liveness(&member(), &kiosk()).await.unwrap();
        assert_eq!(session.id().as_str(), SESSION);
        assert_eq!(create.num_calls(), 1);
        assert_eq!(session.member(), &member());
    }

    #[tokio::test]
    async fn a_session_id_that_is_not_a_uuid_is_an_invalid_response() {
        let audit = compliant_output_bucket();
        let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
            .then_http_response(|| json(200, r#"{"SessionId":"../../etc/passwd"}"#));
        let s3: Vec<&Rule> = audit.iter().collect();
        let err = liveness_guard(&s3, &[&create])
            .start_liveness(&member(), &kiosk())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn results_from_the_wire_are_judged_and_their_image_bytes_dropped() {
        // As GetFaceLivenessSessionResults answers: the reference image in
        // S3 (and as bytes, which the backend must drop), audit images.
        let key = format!(
            "kiosks/{}/{}/{SESSION}/reference.jpg",
            member_tag(&member()),
            kiosk_tag(&kiosk())
        );
        let results = format!(
            r#"{{"SessionId":"{SESSION}","Status":"SUCCEEDED","Confidence":98.73,"ReferenceImage":{{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI=","S3Object":{{"Bucket":"{OUTPUT}","Name":"{key}","Version":"{VERSION}"}},"BoundingBox":{{"Width":0.33,"Height":0.45,"Left":0.31,"Top":0.2}}}},"AuditImages":[{{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI=","BoundingBox":{{"Width":0.3,"Height":0.4,"Left":0.3,"Top":0.2}}}}],"Challenge":{{"Type":"FaceMovementAndLightChallenge","Version":"2.0.0"}}}}"#
        );
        let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
            .match_requests(|input| input.session_id() == Some(SESSION))
            .then_http_response(move || json(200, &results));
        let compare_key = key.clone();
        let compare = mock!(aws_sdk_rekognition::Client::compare_faces)
            .match_requests(move |input| {
                let target = input.target_image().and_then(|i| i.s3_object());
                target.is_some_and(|o| {
                    o.name() == Some(compare_key.as_str()) && o.version() == Some(VERSION)
                })
            })
            .then_http_response(|| one_match(99.2));
        let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
        let guard = liveness_guard(&[&head], &[&get, &compare]);
        let id = LivenessSessionId::parse(SESSION).unwrap();
        let decision = guard
            .verify_liveness(&id, &member(), &kiosk())
            .await
            .unwrap();
        assert!(decision.is_approved(), "{decision:?}");
        assert_eq!(decision.confidence(), Some(98.73));
        assert_eq!(compare.num_calls(), 1);
        let shown = format!("{decision:?} {decision}");
        assert!(!shown.contains("RkFDRS1C"), "no image bytes: {shown}");
    }

    #[tokio::test]
    async fn an_unreadable_results_answer_keeps_its_image_bytes_out_of_the_error() {
        // A 200 answer the SDK cannot parse (a confidence that is not a
        // number) with the reference image as bytes: the error must not
        // carry the raw response, whose Debug would print them.
        let body = r#"{"SessionId":"2f1c8e5a-9b0d-4e7f-a1c3-5d6e7f809a1b","Status":"SUCCEEDED","Confidence":"high","ReferenceImage":{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI="}}"#;
        let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
            .then_http_response(move || json(200, body));
        let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
        let err = liveness_guard(&[&head], &[&get])
            .verify_liveness(
                &LivenessSessionId::parse(SESSION).unwrap(),
                &member(),
                &kiosk(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{err:?}"
        );
        let shown = format!("{err:?} {err}");
        assert!(!shown.contains("RkFDRS1C"), "no image bytes: {shown}");
    }

    #[tokio::test]
    async fn liveness_errors_say_what_to_fix() {
        let id = LivenessSessionId::parse(SESSION).unwrap();
        let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
        for (code, kind, expected) in [
            (
                "SessionNotFoundException",
                BackendErrorKind::NotFound,
                "start a new session",
            ),
            (
                "AccessDeniedException",
                BackendErrorKind::AccessDenied,
                "rekognition:GetFaceLivenessSessionResults",
            ),
        ] {
            let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
                .then_http_response(move || service_error(400, code));
            let err = liveness_guard(&[&head], &[&get])
                .verify_liveness(&id, &member(), &kiosk())
                .await
                .unwrap_err();
            match &err {
                Error::Backend(b) => {
                    assert_eq!(b.kind(), kind, "{code}: {b}");
                    assert!(b.to_string().contains(expected), "{code}: {b}");
                }
                other => panic!("{code}: {other:?}"),
            }
        }

        let audit = compliant_output_bucket();
        let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
            .then_http_response(|| {
                json(
                    400,
                    r#"{"__type":"InvalidParameterException","Message":"KMS key is not valid"}"#,
                )
            });
        let s3: Vec<&Rule> = audit.iter().collect();
        let err = liveness_guard(&s3, &[&create])
            .start_liveness(&member(), &kiosk())
            .await
            .unwrap_err();
        let message = err.to_string();
        for expected in ["KMS key is not valid", KEY, OUTPUT, "region us-east-1"] {
            assert!(message.contains(expected), "{expected:?} in {message}");
        }
    }
}

mod erasure {
    use super::*;

    fn versions(keys: &[(&str, &str)]) -> HttpResponse {
        page(keys, None)
    }

    /// GetBucketVersioning, which erasure reads once when there is
    /// something to delete (for MFA Delete): versioning on, no MFA Delete.
    fn versioning_enabled() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_s3::Client::get_bucket_versioning).then_output(|| {
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build()
        })
    }

    /// A listing page; truncated, with these next markers, when given.
    fn page(keys: &[(&str, &str)], next: Option<(&str, &str)>) -> HttpResponse {
        let truncation = match next {
            Some((key, version)) => format!(
                "<IsTruncated>true</IsTruncated><NextKeyMarker>{key}</NextKeyMarker><NextVersionIdMarker>{version}</NextVersionIdMarker>"
            ),
            None => "<IsTruncated>false</IsTruncated>".to_owned(),
        };
        let versions: String = keys
            .iter()
            .map(|(k, v)| {
                format!("<Version><Key>{k}</Key><VersionId>{v}</VersionId><IsLatest>true</IsLatest><Size>10</Size></Version>")
            })
            .collect();
        response(
            200,
            &[("content-type", "application/xml")],
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>library-photos</Name><EncodingType>url</EncodingType>{truncation}{versions}</ListVersionsResult>"#
            ),
        )
    }

    /// S3 lists keys with `EncodingType=url` form-style: a space as `+`, a
    /// plus as `%2B` (moto writes `%20`, so only canned answers show it).
    /// `members/ada smith.jpg` is found, erased by version id, confirmed
    /// gone; its sibling `…jpg.bak` is left alone.
    #[tokio::test]
    async fn a_key_s3_lists_with_a_plus_for_its_space_is_erased() {
        let first = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
            versions(&[
                ("members/ada+smith.jpg", "v-space"),
                ("members/ada+smith.jpg.bak", "v-bak"),
            ])
        });
        let delete = mock!(aws_sdk_s3::Client::delete_object)
            .match_requests(|input| {
                input.key() == Some("members/ada smith.jpg")
                    && input.version_id() == Some("v-space")
            })
            .then_http_response(|| response(204, &[], ""));
        let confirm = mock!(aws_sdk_s3::Client::list_object_versions)
            .then_http_response(|| versions(&[("members/ada+smith.jpg.bak", "v-bak")]));
        let versioning = versioning_enabled();
        let aws = backend(
            mock_client!(
                aws_sdk_s3,
                RuleMode::Sequential,
                &[&first, &versioning, &delete, &confirm]
            ),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        let receipt = guard(aws, Policy::new())
            .erase(
                &S3ObjectRef::parse("s3://library-photos/members/ada smith.jpg").unwrap(),
                rekognition_guard::erasure::EraseOptions::new(),
            )
            .await
            .unwrap();
        assert!(receipt.is_complete(), "{receipt:?}");
        let erased = support::erasure::erased_version_ids(&receipt);
        assert_eq!(erased, ["v-space"]);
        assert_eq!(delete.num_calls(), 1);
    }

    /// Versions over two pages are all erased; the second page is asked
    /// for from the markers of the first.
    #[tokio::test]
    async fn versions_over_several_pages_are_all_erased() {
        let first = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|input| input.key_marker().is_none())
            .then_http_response(|| {
                page(
                    &[("members/ada.jpg", "v2")],
                    Some(("members/ada.jpg", "v2")),
                )
            });
        let second = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|input| {
                input.key_marker() == Some("members/ada.jpg")
                    && input.version_id_marker() == Some("v2")
            })
            .then_http_response(|| versions(&[("members/ada.jpg", "v1")]));
        let delete_v2 = mock!(aws_sdk_s3::Client::delete_object)
            .match_requests(|input| input.version_id() == Some("v2"))
            .then_http_response(|| response(204, &[], ""));
        let delete_v1 = mock!(aws_sdk_s3::Client::delete_object)
            .match_requests(|input| input.version_id() == Some("v1"))
            .then_http_response(|| response(204, &[], ""));
        let gone =
            mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| versions(&[]));
        let versioning = versioning_enabled();
        let aws = backend(
            mock_client!(
                aws_sdk_s3,
                RuleMode::Sequential,
                &[&first, &second, &versioning, &delete_v2, &delete_v1, &gone]
            ),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        let receipt = guard(aws, Policy::new())
            .erase(
                &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
                rekognition_guard::erasure::EraseOptions::new(),
            )
            .await
            .unwrap();
        let erased = support::erasure::erased_version_ids(&receipt);
        assert_eq!(erased, ["v2", "v1"]);
        assert!(receipt.is_complete(), "{receipt}");
    }

    /// A listing whose markers do not move on is an error, not a loop.
    #[tokio::test]
    async fn a_listing_that_repeats_its_markers_is_an_error_not_a_loop() {
        let stuck = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
            page(
                &[("members/ada.jpg", "v1")],
                Some(("members/ada.jpg", "v1")),
            )
        });
        let aws = backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&stuck]),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        let err = guard(aws, Policy::new())
            .erase(
                &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
                rekognition_guard::erasure::EraseOptions::new(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("same markers twice"), "{err}");
        assert_eq!(stuck.num_calls(), 2);
    }

    /// A listed key that is not form-style URL encoding (a stray `%`) is an
    /// error, never another key.
    #[tokio::test]
    async fn a_listed_key_that_is_not_url_encoded_is_an_error() {
        let list = mock!(aws_sdk_s3::Client::list_object_versions)
            .then_http_response(|| versions(&[("members/ada%smith.jpg", "v1")]));
        let aws = backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&list]),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        );
        let err = guard(aws, Policy::new())
            .erase(
                &S3ObjectRef::parse("s3://library-photos/members/ada").unwrap(),
                rekognition_guard::erasure::EraseOptions::new(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{err}"
        );
    }
}
