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

use crate::support;
use crate::support::emulator::{emulator, fixture};
use aws_sdk_s3::types::ServerSideEncryption;
use rekognition_guard::AtRestViolation;
use rekognition_guard::{BackendErrorKind, CheckedImage, Error, Policy, Service, Violation};

#[tokio::test]
async fn dsse_kms_is_read_as_kms_and_fails_closed_without_a_key_id() {
    // Real S3 reports the KMS key id for DSSE-KMS objects too, and the guard
    // then approves them (compare::canned_http, from real headers). moto 5.1.22
    // sends the key-id header only for aws:kms, so here the guard sees
    // DSSE-KMS with no key and must refuse rather than guess.
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put(
        "members/grace.jpg",
        Some(ServerSideEncryption::AwsKmsDsse),
        Some(&f.kms_key),
    )
    .await;
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key("members/grace.jpg")
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKmsDsse)
    );

    let (guard, wire) = f.guard(Policy::any_kms_key().with_versioning_required(false), None);
    let err = guard
        .compare(
            f.reference("members/grace.jpg"),
            f.reference("members/grace.jpg"),
        )
        .await
        .unwrap_err();
    let violations = &err.as_refusal().expect("a refusal").violations;
    assert!(
        violations
            .iter()
            .all(|v| matches!(v, Violation::AtRest(AtRestViolation::KmsKeyUnknown { .. }))),
        "DSSE-KMS must be read as KMS (only the key id is missing): {violations:?}"
    );
    assert_eq!(wire.transmitted(), 0);
}

#[tokio::test]
async fn unversioned_objects_are_refused_when_versioning_is_required() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, false).await;
    f.put_kms("members/ada.jpg").await;
    let (guard, wire) = f.guard(Policy::any_kms_key(), None);
    let err = guard
        .compare(
            f.reference("members/ada.jpg"),
            f.reference("members/ada.jpg"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations.as_slice(),
        [
            Violation::AtRest(AtRestViolation::VersionRequired { .. }),
            Violation::AtRest(AtRestViolation::VersionRequired { .. })
        ]
    ));
    assert_eq!(wire.transmitted(), 0);
}

#[tokio::test]
async fn a_missing_object_or_version_is_not_found() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms("members/ada.jpg").await;
    let (guard, wire) = f.guard(Policy::any_kms_key().with_versioning_required(false), None);
    for reference in [
        f.reference("members/nobody.jpg"),
        f.reference("members/ada.jpg")
            .with_version_id("no-such-version")
            .unwrap(),
    ] {
        let err = guard
            .compare(reference.clone(), f.reference("members/ada.jpg"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.service() == Service::S3 && matches!(b.kind(), BackendErrorKind::NotFound | BackendErrorKind::InvalidRequest)),
            "{reference}: {err:?}"
        );
    }
    assert_eq!(wire.transmitted(), 0);
}

/// In a bucket whose versioning is suspended, an upload gets S3's `null`
/// version, which the next upload replaces in place: it pins nothing, so
/// it never satisfies `require_versioning` and is never cached.
///
/// moto 5.1.22 reports no version id at all for such an object (real S3
/// says `null`) and answers `?versionId=null` with 400; the exact S3
/// headers are covered in `aws_mocked::a_null_version_is_never_a_pin_nor_cached`.
#[tokio::test]
async fn the_null_version_of_a_suspended_bucket_is_never_a_pin() {
    use aws_sdk_s3::types::BucketVersioningStatus;
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    support::emulator::set_versioning(&f.s3, &f.bucket, BucketVersioningStatus::Suspended).await;
    let version = f.put_kms("members/suspended.jpg").await;
    assert!(
        version.is_none() || version.as_deref() == Some("null"),
        "{version:?}"
    );
    let latest = f.reference("members/suspended.jpg");
    let requested_null = latest.clone().with_version_id("null").unwrap();
    let photo = || {
        rekognition_guard::FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 live kiosk photo".to_vec())
            .unwrap()
    };

    let (guard, s3_wire, wire) = f.recorded_guard(Policy::any_kms_key(), None);
    let err = guard.compare(latest.clone(), photo()).await.unwrap_err();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::AtRest(AtRestViolation::VersionRequired { object })]) if *object == latest
        ),
        "{err}"
    );
    // moto cannot serve ?versionId=null: an error, never an approval.
    assert!(guard.compare(requested_null, photo()).await.is_err());
    assert_eq!(s3_wire.transmitted(), 2, "each reference was checked");
    assert_eq!(wire.transmitted(), 0, "nothing reached Rekognition");

    // Without require_versioning it passes, unpinned, and is never cached:
    // two comparisons in a row send HeadObject twice.
    let (guard, s3_wire, wire) =
        f.recorded_guard(Policy::any_kms_key().with_versioning_required(false), None);
    for _ in 0..2 {
        let decision = guard.compare(latest.clone(), photo()).await.unwrap();
        match decision.source {
            CheckedImage::S3 { object, origin } => {
                assert!(!object.is_pinned(), "{object}");
                assert_eq!(origin, rekognition_guard::CheckOrigin::HeadObject);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s3_wire.transmitted(), 2);
    assert_eq!(wire.transmitted(), 2);
}

/// The conformance suite (`rekognition_guard::conformance`) on the real
/// SDK clients against the emulator over TLS.
#[tokio::test]
async fn conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::conformance::MotoHarness::new(fixture(emu, true).await);
    rekognition_guard::conformance::run_all(&harness).await;
}
