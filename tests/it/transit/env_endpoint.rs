//! Endpoints from the service-specific environment variables. The test runs
//! in a process of its own (`support::process`): the environment is
//! process-wide.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_smithy_http_client::test_util::capture_request;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::{
    ConfigError, FaceImage, Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Service,
    Violation,
};

#[test]
fn http_endpoints_from_aws_endpoint_url_variables_are_refused() {
    // It sets environment variables: in a process of its own.
    if !crate::support::process::in_own_process(&crate::support::process::test_path(
        module_path!(),
        "http_endpoints_from_aws_endpoint_url_variables_are_refused",
    )) {
        return;
    }
    // Set before any thread exists.
    std::env::set_var("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9/");
    std::env::set_var("AWS_ENDPOINT_URL_REKOGNITION", "http://127.0.0.1:19/");
    std::env::remove_var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (http, rx) = capture_request(None);
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region("eu-west-1")
            .credentials_provider(Credentials::for_tests())
            .http_client(http)
            .load()
            .await;

        // Built from the config: the misconfiguration fails early.
        assert_eq!(
            AwsBackend::from_sdk_config(&sdk)
                .map_err(crate::support::config_error)
                .unwrap_err(),
            ConfigError::InsecureEndpoint(
                check_endpoint_url(Service::S3, "http://127.0.0.1:9").unwrap_err()
            )
        );

        // Clients built from it elsewhere and handed in: refused on the wire.
        let aws = AwsBackend::builder()
            .s3_client(aws_sdk_s3::Client::new(&sdk))
            .rekognition_client(aws_sdk_rekognition::Client::new(&sdk))
            .build()
            .unwrap();
        let guard = Guard::new(
            PhotoStore::new(
                aws.clone(),
                Policy::any_kms_key().with_versioning_required(false),
            ),
            aws.clone(),
            OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        );
        let photo = || FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap();

        let err = guard
            .compare(
                S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
                photo(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.as_refusal().expect("a policy refusal").violations,
            &[Violation::InsecureEndpoint(
                check_endpoint_url(Service::S3, "http://127.0.0.1:9").unwrap_err()
            )]
        );

        let err = guard.compare(photo(), photo()).await.unwrap_err();
        assert_eq!(
            err.as_refusal().expect("a policy refusal").violations,
            &[Violation::InsecureEndpoint(
                check_endpoint_url(Service::Rekognition, "http://127.0.0.1:19").unwrap_err()
            )]
        );
        rx.expect_no_request();
    });
}
