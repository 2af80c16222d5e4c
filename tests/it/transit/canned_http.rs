//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

use aws_sdk_rekognition::config::Region;
use aws_sdk_s3::config::BehaviorVersion;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::{BackendErrorKind, ConfigError, Error, Policy, Service, Violation};

use crate::support::canned::*;

#[tokio::test]
async fn http_endpoint_set_in_code_on_a_client_is_refused_on_the_wire() {
    let (s3, s3_rx) = s3_capturing("http://127.0.0.1:9000");
    let (rekognition, rekognition_rx) = rekognition_capturing(|c| c);
    let guard = guard(
        backend(s3, rekognition),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert_eq!(
        err.as_refusal()
            .expect("a policy refusal, not a dispatch failure")
            .violations,
        &[Violation::InsecureEndpoint(
            check_endpoint_url(Service::S3, "http://127.0.0.1:9000").unwrap_err()
        )]
    );
    s3_rx.expect_no_request();
    rekognition_rx.expect_no_request();
}

#[tokio::test]
async fn http_endpoint_from_a_custom_resolver_is_refused_on_the_wire() {
    use aws_sdk_rekognition::config::endpoint::{
        Endpoint, EndpointFuture, Params, ResolveEndpoint,
    };
    #[derive(Debug)]
    struct PlainHttp;
    impl ResolveEndpoint for PlainHttp {
        fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
            EndpointFuture::ready(Ok(Endpoint::builder()
                .url("http://rekognition.internal:8080")
                .build()))
        }
    }
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let (rekognition, rx) = rekognition_capturing(|c| c.endpoint_resolver(PlainHttp));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            rekognition,
        ),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert_eq!(
        err.as_refusal().expect("a policy refusal").violations,
        &[Violation::InsecureEndpoint(
            check_endpoint_url(Service::Rekognition, "http://rekognition.internal:8080")
                .unwrap_err()
        )]
    );
    rx.expect_no_request();
}

#[tokio::test]
async fn http_endpoint_with_an_http_response_rule_is_still_refused() {
    // then_http_response goes through the HTTP layer after our interceptor,
    // so a refusal cannot be overwritten by the mock.
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let compare_rule =
        mock!(aws_sdk_rekognition::Client::compare_faces).then_http_response(|| one_match(99.9));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(
                aws_sdk_rekognition,
                RuleMode::MatchAny,
                &[&compare_rule],
                |c| c.endpoint_url("http://127.0.0.1:4566")
            ),
        ),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations.as_slice(),
        [Violation::InsecureEndpoint(e)] if e.service() == Service::Rekognition
    ));
}

#[test]
fn configured_http_endpoints_fail_the_build() {
    let err = AwsBackend::builder()
        .s3_client(s3_capturing("https://127.0.0.1:1").0)
        .rekognition_client(rekognition_capturing(|c| c).0)
        .endpoint_url("http://127.0.0.1:4566")
        .build()
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::InsecureEndpoint(
            check_endpoint_url(Service::S3, "http://127.0.0.1:4566").unwrap_err()
        )
    );

    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://localhost:4566")
        .build();
    assert!(matches!(
        AwsBackend::from_sdk_config(&sdk).map_err(crate::support::config_error).unwrap_err(),
        ConfigError::InsecureEndpoint(e) if e.service() == Service::S3
    ));
}

#[test]
fn a_missing_region_fails_the_build_instead_of_every_call() {
    // Before, build() succeeded and every call failed as a retryable
    // "connection failed" (the SDK's "A region must be set" was only in
    // the source chain), so a kiosk retrying on is_retryable() retried a
    // configuration error forever.
    let no_region = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url("https://127.0.0.1:4566")
        .build();
    let err = AwsBackend::from_sdk_config(&no_region)
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingRegion {
            service: Service::S3
        }
    );
    let message = err.to_string();
    assert!(message.contains("AWS_REGION"), "{message}");
    assert!(
        message.contains("endpoint URL does not replace it"),
        "{message}"
    );

    // A client handed in without a region, the other one with one.
    let rekognition = aws_sdk_rekognition::Client::from_conf(
        aws_sdk_rekognition::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .build(),
    );
    let err = AwsBackend::builder()
        .s3_client(s3_capturing("https://127.0.0.1:1").0)
        .rekognition_client(rekognition)
        .build()
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingRegion {
            service: Service::Rekognition
        }
    );

    // A region no endpoint can be made from.
    let bad_region = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu west 1"))
        .build();
    let err = AwsBackend::from_sdk_config(&bad_region)
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::InvalidRegion {
            service: Service::S3,
            region: "eu west 1".into()
        }
    );
    assert!(err.to_string().contains("not a region name"), "{err}");
}

#[test]
fn builder_needs_clients_or_a_config_and_valid_ca_bundles() {
    let err = AwsBackend::builder()
        .build()
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert!(err.to_string().contains("sdk_config"), "{err}");

    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    for bad in [
        &b"not a certificate"[..],
        b"",
        b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    ] {
        let err = AwsBackend::builder()
            .sdk_config(&sdk)
            .ca_bundle_pem(bad)
            .build()
            .map_err(crate::support::config_error)
            .unwrap_err();
        assert!(err.to_string().contains("CA bundle"), "{err}");
    }
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/fixtures/test-ca.pem"
    ))
    .unwrap();
    let aws = AwsBackend::builder()
        .sdk_config(&sdk)
        .ca_bundle_pem(pem)
        .trust_native_roots(false)
        .endpoint_url("https://127.0.0.1:4566")
        .build()
        .unwrap();
    // Both clients resolve to the one endpoint given (the backend's Debug
    // shows the endpoints it was built for).
    assert!(
        format!("{aws:?}").contains(r#"s3_endpoint: "https://127.0.0.1:4566""#),
        "{aws:?}"
    );
    assert!(
        format!("{aws:?}").contains(r#"rekognition_endpoint: "https://127.0.0.1:4566""#),
        "{aws:?}"
    );
    let from_sdk = AwsBackend::from_sdk_config(&sdk).unwrap();
    assert!(
        format!("{from_sdk:?}")
            .contains(r#"rekognition_endpoint: "https://rekognition.eu-west-1.amazonaws.com""#),
        "{from_sdk:?}"
    );
    assert!(!format!("{aws:?}").contains("BEGIN CERTIFICATE"));
}

mod timeouts {
    use super::*;
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::timeout::TimeoutConfig;
    use std::time::Duration;

    /// An endpoint that accepts requests and never answers.
    #[derive(Debug)]
    struct Hung;
    impl HttpConnector for Hung {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::new(std::future::pending())
        }
    }

    fn sdk(timeouts: Option<TimeoutConfig>) -> aws_types::SdkConfig {
        let connector = SharedHttpConnector::new(Hung);
        let mut b = crate::support::sdk_config("eu-west-1", "AKIDTIMEOUTS", "timeouts-secret")
            .to_builder()
            .http_client(http_client_fn(move |_, _| connector.clone()));
        if let Some(t) = timeouts {
            b = b.timeout_config(t);
        }
        b.build()
    }

    // Default timeouts on every client, the user's kept: a unit test in
    // src/aws/mod.rs (it reads the Rekognition client, which the backend
    // does not expose).

    #[tokio::test]
    async fn a_hung_endpoint_ends_in_a_retryable_timeout_not_a_hang() {
        let aws = AwsBackend::builder()
            .sdk_config(&sdk(None))
            .timeouts(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(100))
                    .operation_timeout(Duration::from_millis(400))
                    .build(),
            )
            .build()
            .unwrap();
        let guard = guard(aws, Policy::any_kms_key().with_versioning_required(false));
        let started = std::time::Instant::now();
        let err = tokio::time::timeout(
            Duration::from_secs(10),
            guard.compare(reference(), live_photo()),
        )
        .await
        .expect("the guard must give up by itself")
        .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::Timeout && b.service() == Service::S3),
            "{err:?}"
        );
        assert!(err.is_retryable());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
