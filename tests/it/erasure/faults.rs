//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`).

use crate::support::fault_server::{FaultServer, Response};
use crate::support::faults::*;
use crate::support::KEY;
use rekognition_guard::{BackendErrorKind, Error, KmsKeyArn, PhotoStore, Policy, S3ObjectRef};

/// MFA Delete over real TLS: the bucket reports it (GetBucketVersioning
/// `MfaDelete`), S3 denies each deletion without `x-amz-mfa`, and the
/// receipt names MFA Delete as what blocks, not a generic hint; the bucket
/// audit reports it for information. (moto ignores MFA Delete.)
#[tokio::test]
async fn mfa_delete_is_named_in_the_receipt_and_the_bucket_audit() {
    let denied = Response::status(403)
        .header("content-type", "application/xml")
        .body("<Error><Code>AccessDenied</Code><Message>Mfa Authentication must be used for this request</Message></Error>");
    let s3 = FaultServer::start(erasure_s3(
        vec!["members/ada.jpg".into()],
        Some("Enabled"),
        denied,
    ))
    .await;
    let rekognition = FaultServer::start(good_rekognition()).await;
    let aws = backend(&s3, &rekognition, &Setup::default());
    let store = PhotoStore::new(
        aws.clone(),
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
    );
    let receipt = store
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap();
    assert!(!receipt.is_complete());
    assert_eq!(receipt.mfa_delete_enabled, Some(true));
    assert_eq!(receipt.remaining.len(), 1, "{receipt}");
    assert_eq!(receipt.remaining[0].reason.label(), "mfa_delete");
    assert!(
        receipt.remaining[0]
            .reason
            .to_string()
            .contains("x-amz-mfa"),
        "{receipt}"
    );
    assert!(s3.requests().iter().any(|r| r.starts_with("DELETE")));

    let audit = PhotoStore::new(aws, Policy::any_kms_key().with_versioning_required(false))
        .audit_bucket("library-photos")
        .await
        .unwrap();
    let mfa = audit
        .findings
        .iter()
        .find(|f| f.id == "mfa-delete-enabled")
        .unwrap_or_else(|| panic!("{:?}", audit.findings));
    assert_eq!(mfa.severity, rekognition_guard::Severity::Info);

    // A refusal on a bucket without MFA Delete says nothing about MFA.
    let plain_denied = Response::status(403)
        .header("content-type", "application/xml")
        .body("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    let s3 = FaultServer::start(erasure_s3(
        vec!["members/ada.jpg".into()],
        Some("Disabled"),
        plain_denied,
    ))
    .await;
    let store = PhotoStore::new(
        backend(&s3, &rekognition, &Setup::default()),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let receipt = store
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(receipt.mfa_delete_enabled, Some(false));
    assert_eq!(receipt.remaining[0].reason.label(), "refused");
    assert!(
        !receipt.to_string().contains("MFA"),
        "no MFA hint where MFA Delete is off: {receipt}"
    );
}

/// A listing of a member's liveness output that names a key outside the
/// member's prefix (or with a `..` segment) is not evidence of what to
/// delete: nothing is deleted.
#[tokio::test]
async fn a_liveness_artifact_listing_that_strays_erases_nothing() {
    use rekognition_guard::liveness::LivenessPolicy;
    let member = S3ObjectRef::parse(&format!(
        "s3://library-photos/members/ada.jpg?versionId={VERSION}"
    ))
    .unwrap();
    let policy = LivenessPolicy::new("library-photos").unwrap();
    let prefix = policy.member_prefix(&member);
    for stray in [
        "members/grace.jpg".to_owned(),
        format!("{prefix}../../members/grace.jpg"),
    ] {
        let s3 = FaultServer::start(erasure_s3(
            vec![format!("{prefix}kiosk-1/s/reference.jpg"), stray.clone()],
            None,
            Response::status(204),
        ))
        .await;
        let rekognition = FaultServer::start(good_rekognition()).await;
        let store = PhotoStore::new(
            backend(&s3, &rekognition, &Setup::default()),
            Policy::any_kms_key().with_versioning_required(false),
        );
        let err = store
            .erase_liveness_artifacts(
                &member,
                &policy,
                rekognition_guard::erasure::EraseOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{stray}: {err:?}"
        );
        assert!(
            !s3.requests().iter().any(|r| r.starts_with("DELETE")),
            "{stray}: {:?}",
            s3.requests()
        );
    }
}
