//! Endpoint URLs with a password from the environment and from a profile
//! are refused at build time, before the SDK would log them. It runs in a
//! process of its own (`support::process`): the environment is process-wide.

use crate::support;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use rekognition_guard::aws::{AwsBackend, OrganizationsOptOutVerifier};
use rekognition_guard::transit::EndpointProblem;
use rekognition_guard::{ConfigError, Service};

const PASSWORD: &str = "rg-env-endpoint-password-81fa";

#[track_caller]
fn assert_refused(err: ConfigError, service: Service) {
    match &err {
        ConfigError::InsecureEndpoint(e) => {
            assert_eq!(e.service(), service, "{err}");
            assert_eq!(e.problem(), EndpointProblem::UserInfo, "{err}");
        }
        other => panic!("expected an insecure endpoint, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(PASSWORD), "{err}");
}

#[test]
fn passwords_in_endpoints_from_the_environment_or_a_profile_are_refused() {
    // It sets environment variables: in a process of its own.
    if !crate::support::process::in_own_process(&crate::support::process::test_path(
        module_path!(),
        "passwords_in_endpoints_from_the_environment_or_a_profile_are_refused",
    )) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rg-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    // Rekognition from the profile's services section, every other
    // service from the profile's endpoint_url; S3 from the environment.
    std::fs::write(
        &config,
        format!(
            "[default]\nendpoint_url = https://kiosk:{PASSWORD}@127.0.0.1:29\nservices = guard-test\n\n[services guard-test]\nrekognition =\n  endpoint_url = https://kiosk:{PASSWORD}@127.0.0.1:19\n"
        ),
    )
    .unwrap();
    // Set before any thread exists.
    std::env::set_var("AWS_CONFIG_FILE", &config);
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"));
    std::env::set_var(
        "AWS_ENDPOINT_URL_S3",
        format!("https://kiosk:{PASSWORD}@127.0.0.1:9/"),
    );
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_REKOGNITION",
        "AWS_ENDPOINT_URL_ORGANIZATIONS",
        "AWS_PROFILE",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ] {
        std::env::remove_var(var);
    }
    support::capture::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region("eu-west-1")
            .credentials_provider(Credentials::for_tests())
            .load()
            .await;
        // S3, from AWS_ENDPOINT_URL_S3.
        assert_refused(
            AwsBackend::from_sdk_config(&sdk)
                .map_err(crate::support::config_error)
                .unwrap_err(),
            Service::S3,
        );
        // Rekognition, from the profile's services section (S3 handed in
        // with a clean endpoint).
        let clean_s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .endpoint_url("https://127.0.0.1:9")
                .build(),
        );
        assert_refused(
            AwsBackend::builder()
                .sdk_config(&sdk)
                .s3_client(clean_s3)
                .build()
                .map_err(crate::support::config_error)
                .unwrap_err(),
            Service::Rekognition,
        );
        // Organizations, from the profile's endpoint_url.
        assert_refused(
            OrganizationsOptOutVerifier::from_sdk_config(&sdk)
                .map_err(crate::support::config_error)
                .unwrap_err(),
            Service::Organizations,
        );
    });
    // The SDK prints configuration values at TRACE as it reads them
    // (target aws_runtime::env_config), before any client exists: that is
    // out of the crate's reach and documented in SECURITY.md. Nothing else
    // may show the password: in particular no DEBUG event, which is where
    // the SDK prints resolved endpoints.
    let logged = support::capture::logged();
    let leaks: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains(PASSWORD))
        .filter(|l| !(l.contains(" TRACE ") && l.contains(" aws_runtime::env_config: ")))
        .collect();
    assert!(leaks.is_empty(), "the password reached a log: {leaks:#?}");
    let security =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SECURITY.md")).unwrap();
    assert!(
        security.contains("`aws_runtime::env_config`"),
        "SECURITY.md must say that the SDK logs configuration values at TRACE"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
