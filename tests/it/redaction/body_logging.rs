//! `LOG_SIGNABLE_BODY=true` makes the AWS SDK print request bodies in its
//! TRACE logs, and CompareFaces and PutObject bodies can hold face images.
//! The backend refuses to be built, or to send image bytes, while it is
//! set. The test runs in a process of its own (`support::process`): the
//! environment is process-wide.

use crate::support;

use aws_smithy_http_client::test_util::capture_request;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{
    BackendErrorKind, ConfigError, Error, FaceImage, Guard, KmsKeyArn, OptOutEvidence, PhotoStore,
    Policy, S3ObjectRef,
};

use support::KEY;

#[test]
fn image_bytes_are_never_sent_while_the_sdk_would_log_them() {
    // It sets environment variables: in a process of its own.
    if !crate::support::process::in_own_process(&crate::support::process::test_path(
        module_path!(),
        "image_bytes_are_never_sent_while_the_sdk_would_log_them",
    )) {
        return;
    }
    let (http, rx) = capture_request(None);
    let sdk = support::sdk_config("eu-west-1", "AKIDBODYLOG", "body-log-secret")
        .to_builder()
        .http_client(http)
        .build();

    // Set before any other thread exists.
    std::env::set_var("LOG_SIGNABLE_BODY", "True");
    match AwsBackend::from_sdk_config(&sdk).map_err(crate::support::config_error) {
        Err(ConfigError::Invalid(why)) => assert!(why.contains("unset LOG_SIGNABLE_BODY"), "{why}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }

    std::env::set_var("LOG_SIGNABLE_BODY", "false");
    let aws = AwsBackend::from_sdk_config(&sdk).expect("false is harmless");
    let guard = Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
        ),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    );

    // Set after the backend was built: checked again before each body.
    std::env::set_var("LOG_SIGNABLE_BODY", "true");
    let photo = || FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let compared = guard.compare(photo(), photo()).await.unwrap_err();
        let enrolled = guard
            .enroll(
                &crate::support::consent(),
                &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
                photo(),
            )
            .await
            .unwrap_err();
        for err in [compared, enrolled] {
            match &err {
                Error::Backend(b) => {
                    assert_eq!(b.kind(), BackendErrorKind::Other);
                    assert!(!b.is_retryable());
                    assert!(b.message().contains("unset LOG_SIGNABLE_BODY"), "{b}");
                }
                other => panic!("expected a backend error, got {other:?}"),
            }
        }
    });
    // The one request sent is enrollment's transport probe (HeadObject of
    // the key, before the quality gate): no body, so no image bytes.
    let probe = rx.expect_request();
    assert_eq!(probe.method(), "HEAD");
    assert!(
        probe.body().bytes().is_some_and(<[u8]>::is_empty),
        "the probe carries no body"
    );
}
