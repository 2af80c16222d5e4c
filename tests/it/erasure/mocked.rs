//! Erasure with the exported mockall mocks.

use rekognition_guard::{
    Guard, MockFaceAnalyzer, MockObjectInspector, OptOutEvidence, S3ObjectRef,
};

/// When the listing after the deletions fails, the receipt still names
/// what S3 deleted, and is not complete: nothing is claimed about the rest.
#[tokio::test]
async fn an_erasure_whose_confirming_listing_fails_is_unconfirmed_not_lost() {
    use rekognition_guard::erasure::{EraseOptions, StoredVersion};
    use rekognition_guard::{BackendErrorKind, MockObjectEraser, Service};

    let mut eraser = MockObjectEraser::https();
    eraser
        .expect_list_versions()
        .times(1)
        .returning(|_| Ok(vec![StoredVersion::new("members/ada.jpg", "v1", false)]));
    eraser.expect_list_versions().times(1).returning(|_| {
        Err(rekognition_guard::BackendError::new(
            BackendErrorKind::ServiceUnavailable,
            Service::S3,
            "ListObjectVersions",
            "S3 answered 503",
        ))
    });
    eraser
        .expect_delete_version()
        .times(1)
        .returning(|_| Ok(()));
    // Erasure reads the bucket's versioning configuration once (MFA Delete).
    let mut inspector = MockObjectInspector::https();
    inspector
        .expect_bucket_versioning()
        .times(1)
        .returning(|_| {
            Ok(rekognition_guard::VersioningFacts::new(
                Some("Enabled"),
                None,
            ))
        });
    let guard = Guard::builder(inspector, MockFaceAnalyzer::https())
        .eraser(eraser)
        .opt_out(OptOutEvidence::waived("erasure calls no AI service").unwrap())
        .build()
        .unwrap();
    let receipt = guard
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            EraseOptions::new(),
        )
        .await
        .unwrap();
    let erased: Vec<&str> = receipt
        .erased()
        .iter()
        .map(|e| e.version_id.as_str())
        .collect();
    assert_eq!(erased, ["v1"]);
    assert!(!receipt.is_complete());
    assert!(receipt.unconfirmed().unwrap().contains("503"), "{receipt}");
    assert!(receipt.to_string().contains("not confirmed"), "{receipt}");
}
