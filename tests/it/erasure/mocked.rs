//! Erasure with the exported mockall mocks.

use rekognition_guard::{PhotoStore, Policy, S3ObjectRef};

/// When the listing after the deletions fails, the receipt still names
/// what S3 deleted, and is not complete: nothing is claimed about the rest.
#[tokio::test]
async fn an_erasure_whose_confirming_listing_fails_is_unconfirmed_not_lost() {
    use rekognition_guard::erasure::{EraseOptions, StoredVersion};
    use rekognition_guard::testing::MockS3Backend;
    use rekognition_guard::{BackendErrorKind, Service};

    let mut s3 = MockS3Backend::new();
    s3.expect_list_object_versions().times(1).returning(|_| {
        Ok(vec![StoredVersion {
            key: "members/ada.jpg".into(),
            version_id: "v1".into(),
            delete_marker: false,
        }])
    });
    s3.expect_list_object_versions().times(1).returning(|_| {
        Err(rekognition_guard::BackendError::new(
            BackendErrorKind::ServiceUnavailable,
            Service::S3,
            "ListObjectVersions",
            "S3 answered 503",
        ))
    });
    s3.expect_delete_object_version()
        .times(1)
        .returning(|_| Ok(()));
    // Erasure reads the bucket's versioning configuration once (MFA Delete).
    s3.expect_get_bucket_versioning().times(1).returning(|_| {
        Ok(rekognition_guard::VersioningFacts {
            status: Some("Enabled".into()),
            mfa_delete: None,
        })
    });
    let store = PhotoStore::new(s3, Policy::any_kms_key().with_versioning_required(false));
    let receipt = store
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            EraseOptions::default(),
        )
        .await
        .unwrap();
    let erased: Vec<&str> = receipt
        .erased
        .iter()
        .map(|e| e.version_id.as_str())
        .collect();
    assert_eq!(erased, ["v1"]);
    assert!(!receipt.is_complete());
    assert!(
        receipt.unconfirmed.as_deref().unwrap().contains("503"),
        "{receipt}"
    );
    assert!(receipt.to_string().contains("not confirmed"), "{receipt}");
}
