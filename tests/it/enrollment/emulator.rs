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
use crate::support::emulator::{emulator, fixture, rekognition_stand_in};
use aws_sdk_s3::types::ServerSideEncryption;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy};

#[tokio::test]
async fn enrollment_stores_with_sse_kms_and_returns_the_pinned_version() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let rekognition = rekognition_stand_in().await;
    let mut both_cas = f.emu.ca.clone();
    both_cas.extend_from_slice(support::fault_server::ca_pem().as_bytes());
    let aws = AwsBackend::builder()
        .sdk_config(&f.sdk)
        .endpoint_url(&f.emu.endpoint)
        .rekognition_endpoint_url(&rekognition.endpoint)
        .ca_bundle_pem(both_cas)
        .trust_native_roots(false)
        .build()
        .expect("backend");
    let guard = Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap()),
        ),
        aws,
        OptOutEvidence::attested("emulator test account").unwrap(),
    );
    let photo =
        rekognition_guard::FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 member photo".to_vec()).unwrap();
    let enrolled = guard
        .enroll(
            &crate::support::consent(),
            &f.reference("members/new.jpg"),
            photo,
        )
        .await
        .unwrap();
    let version = enrolled
        .reference()
        .version_id()
        .expect("versioned bucket")
        .to_owned();
    assert_eq!(enrolled.kms_key_id(), f.kms_key);

    // What S3 says, independently of the guard.
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key("members/new.jpg")
            .version_id(&version)
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(f.kms_key.as_str()));
    assert_eq!(head.content_type(), Some("image/jpeg"));

    let decision = guard
        .compare(enrolled.reference(), enrolled.reference())
        .await
        .unwrap();
    assert!(decision.is_approved());
    let operations: Vec<String> = rekognition.requests();
    assert_eq!(
        operations.len(),
        2,
        "DetectFaces, then CompareFaces: {operations:?}"
    );
}
