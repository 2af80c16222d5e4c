//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    AccountId, BackendErrorKind, Error, KmsKeyArn, Policy, Service, SseAlgorithm, Verdict,
    Violation,
};

use crate::support::canned::*;
use crate::support::{self, KEY};

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
                found: SseAlgorithm::Other("aws:fsx".into()),
            })),
        ),
        (
            "Backup",
            head(&[("x-amz-server-side-encryption", "aws:backup")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::Other("aws:backup".into()),
            })),
        ),
        (
            "a value newer than the SDK",
            head(&[("x-amz-server-side-encryption", "aws:kms:pq")]),
            Some(Violation::AtRest(AtRestViolation::NotKmsEncrypted {
                object: reference(),
                found: SseAlgorithm::Other("aws:kms:pq".into()),
            })),
        ),
        (
            "KMS without a key id",
            head(&[("x-amz-server-side-encryption", "aws:kms")]),
            Some(Violation::AtRest(AtRestViolation::KmsKeyUnknown {
                object: reference(),
            })),
        ),
        (
            "SSE-KMS with user metadata S3 could not return",
            head(&[
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
                ("x-amz-missing-meta", "2"),
            ]),
            Some(Violation::AtRest(AtRestViolation::UnusableMetadata {
                object: reference(),
                field: "user metadata (x-amz-missing-meta: entries S3 could not return, which could hide a client-side encryption envelope)",
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
            Policy::any_kms_key().with_versioning_required(false),
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
                assert_eq!(err.as_refusal().unwrap().violations, &[v], "{name}");
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
    let policy = Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
        .with_versioning_required(false)
        .with_expected_bucket_owner(AccountId::parse("111122223333").unwrap());
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::Sequential, &[&head_rule]),
            mock_client!(aws_sdk_rekognition, RuleMode::Sequential, &[&compare_rule]),
        ),
        policy,
    );
    let decision = guard.compare(reference(), live_photo()).await.unwrap();
    assert_eq!(
        decision.verdict,
        Verdict::Match {
            similarity: 99.5,
            face: rekognition_guard::BoundingBox {
                left: 0.3,
                top: 0.2,
                width: 0.25,
                height: 0.4
            }
        }
    );
    match decision.source {
        rekognition_guard::CheckedImage::S3 { object: o, .. } => {
            assert_eq!(o.reference().version_id(), Some(VERSION));
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
        Policy::any_kms_key(),
    );
    for reference in [requested_null.clone(), reference()] {
        let err = strict
            .compare(reference.clone(), live_photo())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_refusal().map(|r| r.violations.as_slice()),
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
        Policy::any_kms_key().with_versioning_required(false),
    );
    for _ in 0..2 {
        let decision = lenient
            .compare(requested_null.clone(), live_photo())
            .await
            .unwrap();
        let rekognition_guard::CheckedImage::S3 { object, .. } = &decision.source else {
            panic!("{:?}", decision.source)
        };
        assert!(!object.is_pinned(), "{object}");
        assert_eq!(object.reference().version_id(), Some("null"));
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
        Policy::any_kms_key().with_versioning_required(false),
    );
    let verified = guard
        .store()
        .check(&reference().with_version_id(VERSION).unwrap())
        .await
        .unwrap();
    assert_eq!(verified.reference().version_id(), Some(VERSION));
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
            Policy::any_kms_key()
                .with_versioning_required(false)
                .with_expected_bucket_owner(AccountId::parse("999988887777").unwrap()),
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
            Policy::any_kms_key().with_versioning_required(false),
        );
        let err = guard
            .store()
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
    assert_eq!(d.verdict, Verdict::NoFace { image: None });
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

/// The conformance suite (`rekognition_guard::conformance`) on the real
/// SDK clients over canned HTTP.
#[tokio::test]
async fn conformance() {
    rekognition_guard::conformance::run_all(&support::conformance::CannedHarness::new()).await;
}
