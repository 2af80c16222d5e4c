//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.
//!
//! The enrollment quality gate over canned HTTP: real DetectFaces
//! answers, the exact attributes asked for, nothing uploaded on refusal.

use crate::support::answers::Face;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::{BackendErrorKind, Error, KmsKeyArn, Policy, Service};

use crate::support::canned::*;
use crate::support::{self, KEY};
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
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
    );
    let result = guard
        .enroll(&crate::support::consent(), &reference(), live_photo())
        .await;
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
                let ids: Vec<_> = a.issues.iter().map(QualityIssue::id).collect();
                assert_eq!(ids, expected, "{a}");
            }
            other => panic!("{expected:?}: expected a rejected photo, got {other:?}"),
        }
        assert_eq!(
            calls,
            [1, 0, 1],
            "{expected:?}: the transport probe (HeadObject), DetectFaces once, nothing stored"
        );
    }

    let (result, calls) = enroll_with(support::answers::detect_faces(&[Face::GOOD])).await;
    let enrolled = result.expect("a good photo is enrolled");
    assert_eq!(enrolled.reference().version_id(), Some(VERSION));
    assert_eq!(
        calls,
        [1, 1, 2],
        "HeadObject (the transport probe), DetectFaces, PutObject, HeadObject"
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
    let put = mock!(aws_sdk_s3::Client::put_object).then_http_response(|| response(200, &[], ""));
    // Enrollment's transport probe: HeadObject of the key, whatever S3
    // answers (here, not found).
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(|| response(404, &[], ""));
    let guard_over = |rule: &aws_smithy_mocks::Rule| {
        guard(
            backend(
                mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put, &head]),
                mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[rule], |c| c
                    .retry_config(RetryConfig::disabled())),
            ),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
        )
    };
    let assessment = guard_over(&detect).assess_face(live_photo()).await.unwrap();
    assert!(!assessment.is_acceptable());
    assert!(
        matches!(assessment.issues.as_slice(), [QualityIssue::PoseOutOfRange { pose: Some(p) }] if p.yaw == 60.0),
        "{assessment}"
    );
    let err = guard_over(&throttled)
        .enroll(&crate::support::consent(), &reference(), live_photo())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.service() == Service::Rekognition && b.operation() == "DetectFaces" && b.kind() == BackendErrorKind::Throttled),
        "{err:?}"
    );
    assert_eq!(put.num_calls(), 0);
}

/// A stored photo that reads back as client-side ciphertext (the S3
/// Encryption Client's envelope in its user metadata, e.g. a bucket whose
/// writers wrap every upload) is not enrolled: the read-back refuses it,
/// naming the envelope, and DetectFaces never sees it again.
#[tokio::test]
async fn a_photo_that_reads_back_as_client_side_ciphertext_is_refused() {
    use rekognition_guard::{AtRestViolation, PhotoStore, Violation};
    let put = mock!(aws_sdk_s3::Client::put_object)
        .then_http_response(|| response(200, &[("x-amz-version-id", VERSION)], ""));
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(|| {
        head(&[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ("x-amz-version-id", VERSION),
            ("x-amz-meta-x-amz-key", "AQIDAHhA84wnXjEJdBbBBylRUFcZZK2j"),
            ("x-amz-meta-x-amz-iv", "q83vEjRWeJA="),
            ("x-amz-meta-x-amz-matdesc", "{}"),
        ])
    });
    let store = PhotoStore::new(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&put, &head]),
            mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
        ),
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
    );
    let err = store
        .store_reference(&crate::support::consent(), &reference(), live_photo())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::AtRest(AtRestViolation::ClientSideEncrypted { markers, .. })])
                if markers == &["x-amz-key", "x-amz-iv", "x-amz-matdesc"]
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("S3 Encryption Client metadata, format 1"),
        "{err}"
    );
    assert_eq!(put.num_calls(), 1);
}
