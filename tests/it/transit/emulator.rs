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

use crate::support::emulator::{emulator, fixture};
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{BackendErrorKind, Error, Guard, OptOutEvidence, PhotoStore, Policy};

#[tokio::test]
async fn a_server_outside_the_trusted_ca_is_rejected() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms("members/ada.jpg").await;
    // Trust an unrelated CA only: the TLS handshake with moto must fail.
    let unrelated = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/fixtures/test-ca.pem"
    ))
    .unwrap();
    let aws = AwsBackend::builder()
        .sdk_config(&f.sdk)
        .ca_bundle_pem(unrelated)
        .trust_native_roots(false)
        .build()
        .unwrap();
    let guard = Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::any_kms_key().with_versioning_required(false),
        ),
        aws.clone(),
        OptOutEvidence::attested("emulator test account").unwrap(),
    );
    let err = guard
        .store()
        .check(&f.reference("members/ada.jpg"))
        .await
        .unwrap_err();
    // Not a connection failure to retry: the certificate is refused.
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::CertificateNotTrusted),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}
