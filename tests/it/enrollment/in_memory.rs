//! Enrollment on the in-memory simulation.

use rekognition_guard::memory::InMemoryBackend;
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    AccountId, BackendErrorKind, Error, Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef,
    Violation,
};

use crate::support::memory::*;
use crate::support::KEY;
use rekognition_guard::{InputError, Service};

fn enrolling_guard(aws: &InMemoryBackend, policy: Policy) -> Guard {
    Guard::new(
        PhotoStore::new(aws.clone(), policy),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
}

fn kms_policy() -> Policy {
    Policy::allow_kms_key(rekognition_guard::KmsKeyArn::parse(KEY).unwrap())
}

/// The quality gate runs before the upload: a photo with two faces is
/// rejected with the reason and never stored; `assess_face` tells a
/// kiosk the same without enrolling.
#[tokio::test]
async fn a_photo_that_fails_the_quality_gate_is_never_stored() {
    use rekognition_guard::{FaceDetail, QualityIssue};
    let aws = library();
    aws.set_face_details("crowd", vec![FaceDetail::good(), FaceDetail::good()]);
    let guard = enrolling_guard(&aws, kms_policy());
    let object = S3ObjectRef::parse("s3://library-photos/members/crowd.jpg").unwrap();
    let err = guard
        .enroll(
            &crate::support::consent(),
            &object,
            live_photo(&aws, "crowd"),
        )
        .await
        .unwrap_err();
    match &err {
        Error::PhotoRejected(a) => assert!(
            matches!(
                a.issues.as_slice(),
                [QualityIssue::SeveralFaces { count: 2 }]
            ),
            "{a}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("2 faces found"), "{err}");
    assert_eq!(
        aws.calls().head_object,
        1,
        "only the transport probe: nothing stored, nothing read back"
    );
    assert!(
        guard.store().check(&object).await.is_err(),
        "the object does not exist"
    );

    let assessment = guard.assess_face(live_photo(&aws, "crowd")).await.unwrap();
    assert!(!assessment.is_acceptable());
    let assessment = guard.assess_face(live_photo(&aws, "ada")).await.unwrap();
    assert!(assessment.is_acceptable(), "{assessment}");
    assert_eq!(aws.calls().detect_faces, 3);
    assert_eq!(aws.calls().compare_faces, 0);
}

#[tokio::test]
async fn an_enrolled_photo_is_stored_with_kms_pinned_and_comparable() {
    let aws = library();
    let guard = enrolling_guard(&aws, kms_policy());
    let reference_photo = live_photo(&aws, "ada");
    let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let enrolled = guard
        .enroll(&crate::support::consent(), &object, reference_photo)
        .await
        .unwrap();
    assert_eq!(enrolled.kms_key_id(), KEY);
    assert_eq!(enrolled.reference().version_id(), Some("v1"));
    assert_eq!(
        enrolled.reference().to_string(),
        "s3://library-photos/members/ada.jpg?versionId=v1"
    );
    // Later, at the kiosk, the stored pinned reference is compared (and
    // checked again).
    let decision = guard
        .compare(enrolled.reference(), live_photo(&aws, "ada"))
        .await
        .unwrap();
    assert!(decision.is_approved());
    // Enrollment's transport probe and read-back (which checked that exact
    // version): the kiosk's compare reuses the cached pass and sends no
    // HeadObject.
    assert_eq!(aws.calls().head_object, 2);
}

#[tokio::test]
async fn enrollment_with_any_key_uses_the_bucket_default_and_takes_no_version() {
    let aws = library();
    let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();

    // A policy that allows any SSE-KMS key names none for new photos: the
    // upload has no encryption header, so the bucket's default applies. A
    // bucket whose default is SSE-S3 gets an SSE-S3 photo, refused when
    // read back.
    let any_key = enrolling_guard(&aws, Policy::any_kms_key());
    let err = any_key
        .enroll(&crate::support::consent(), &object, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. })]
        ),
        "{err}"
    );
    aws.set_default_encryption("library-photos", Some(KEY));
    let enrolled = any_key
        .enroll(&crate::support::consent(), &object, live_photo(&aws, "ada"))
        .await
        .unwrap();
    assert_eq!(enrolled.kms_key_id(), KEY);
    assert_eq!(
        aws.calls().detect_faces,
        2,
        "the quality gate ran once per enrollment"
    );
    let inspected = aws.calls().head_object;

    let guard = enrolling_guard(&aws, kms_policy());
    let versioned = object.clone().with_version_id("v9").unwrap();
    let err = guard
        .enroll(
            &crate::support::consent(),
            &versioned,
            live_photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Input(InputError::InvalidS3Reference { .. })),
        "{err}"
    );
    assert_eq!(
        aws.calls().head_object,
        inspected,
        "nothing stored, nothing read"
    );
}

#[tokio::test]
async fn enrollment_over_http_or_into_a_foreign_bucket_is_refused() {
    let aws = library();
    let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let insecure = aws
        .clone()
        .with_endpoint(rekognition_guard::Service::S3, "http://s3.local");
    let guard = Guard::new(
        PhotoStore::new(insecure, kms_policy()),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    );
    let err = guard
        .enroll(&crate::support::consent(), &object, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations.as_slice(),
        [Violation::InsecureEndpoint(e)] if e.service() == Service::S3
    ));
    // Refused before the quality gate: the photo never reached Rekognition.
    assert_eq!(aws.calls().detect_faces, 0);

    let foreign = enrolling_guard(
        &aws,
        kms_policy().with_expected_bucket_owner(AccountId::parse("999988887777").unwrap()),
    );
    let err = foreign
        .enroll(&crate::support::consent(), &object, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::AccessDenied),
        "{err}"
    );

    // Unversioned bucket under a versioning policy: stored, but refused.
    aws.create_bucket("flat-photos", OWNER, false);
    let flat = S3ObjectRef::parse("s3://flat-photos/members/ada.jpg").unwrap();
    let err = enrolling_guard(&aws, kms_policy())
        .enroll(&crate::support::consent(), &flat, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations.as_slice(),
        [Violation::AtRest(AtRestViolation::VersionRequired { .. })]
    ));
}
