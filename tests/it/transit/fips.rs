//! FIPS endpoints (architecture C): what the wire sees with FIPS on, and
//! the refusals, before anything is sent, of FIPS where a service has no
//! FIPS endpoint (the SDK builds a FIPS host name for any region) and of
//! FIPS with a custom endpoint (which the SDK cannot combine).

use rekognition_guard::aws::AwsBackend;
use rekognition_guard::transit::EndpointProblem;
use rekognition_guard::{
    ConfigError, Guard, OptOutEvidence, PhotoStore, Policy, Service, Violation,
};

use crate::support::canned::{live_photo, reference, Wire};
use crate::support::{self, KEY};

fn sdk(region: &str, wire: &Wire) -> aws_types::SdkConfig {
    support::sdk_config(region, "AKIDFIPS", "fips-secret")
        .to_builder()
        .use_fips(true)
        .http_client(wire.client())
        .build()
}

fn guard(aws: AwsBackend) -> Guard {
    Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(rekognition_guard::KmsKeyArn::parse(KEY).unwrap())
                .with_versioning_required(false),
        ),
        aws,
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
}

/// With FIPS on in a region that has FIPS endpoints, both calls go to the
/// FIPS hosts the SDK resolves, and the guard lets them through.
#[tokio::test]
async fn with_fips_on_both_calls_go_to_the_fips_endpoints() {
    let wire = Wire::new(KEY);
    let aws = AwsBackend::from_sdk_config(&sdk("us-east-1", &wire)).unwrap();
    let decision = guard(aws).compare(reference(), live_photo()).await.unwrap();
    assert!(decision.is_approved());
    let seen = wire.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0]
            .starts_with("https://library-photos.s3-fips.us-east-1.amazonaws.com/members/ada.jpg"),
        "HeadObject: {seen:?}"
    );
    assert_eq!(
        seen[1], "https://rekognition-fips.us-east-1.amazonaws.com/",
        "CompareFaces"
    );
}

/// FIPS in a region where a service has no FIPS endpoint: the backend is
/// not built, the message names the regions that have one, and nothing is
/// sent.
#[tokio::test]
async fn fips_where_a_service_has_no_fips_endpoint_is_refused_before_any_call() {
    let wire = Wire::new(KEY);
    for (region, service, named) in [
        // Neither service has FIPS in Ireland: S3, built first, is named.
        (
            "eu-west-1",
            Service::S3,
            "the US, Canada and AWS GovCloud (US) regions",
        ),
        // S3 has FIPS in us-gov-east-1; Rekognition only in us-gov-west-1.
        (
            "us-gov-east-1",
            Service::Rekognition,
            "ca-central-1 and us-gov-west-1",
        ),
        (
            "ca-west-1",
            Service::Rekognition,
            "us-east-1, us-east-2, us-west-1, us-west-2",
        ),
    ] {
        let err = AwsBackend::from_sdk_config(&sdk(region, &wire))
            .map_err(support::config_error)
            .unwrap_err();
        let ConfigError::InsecureEndpoint(refusal) = &err else {
            panic!("{region}: {err:?}");
        };
        assert_eq!(refusal.service(), service, "{region}");
        assert_eq!(
            refusal.problem(),
            EndpointProblem::NoFipsEndpoint,
            "{region}"
        );
        let text = err.to_string();
        assert!(
            text.contains(named) && text.contains(region),
            "{region}: {text}"
        );
        assert!(text.contains("AWS_USE_FIPS_ENDPOINT"), "{text}");
    }
    assert!(wire.seen().is_empty(), "nothing was sent");
}

/// A client handed in with FIPS on in a region where its service has no
/// FIPS endpoint (S3 or Rekognition): refused on the call, from the
/// client's own settings, by name, and nothing is sent anywhere.
#[tokio::test]
async fn a_handed_in_fips_client_without_a_fips_endpoint_is_refused_before_sending() {
    for service in [Service::S3, Service::Rekognition] {
        let wire = Wire::new(KEY);
        let plain = support::sdk_config("eu-west-1", "AKIDFIPS", "fips-secret")
            .to_builder()
            .http_client(wire.client())
            .build();
        let builder = AwsBackend::builder().sdk_config(&plain);
        let aws = match service {
            Service::S3 => builder.s3_client(aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&plain)
                    .use_fips(true)
                    .build(),
            )),
            _ => builder.rekognition_client(aws_sdk_rekognition::Client::from_conf(
                aws_sdk_rekognition::config::Builder::from(&plain)
                    .use_fips(true)
                    .build(),
            )),
        }
        .build()
        .unwrap();
        let err = guard(aws)
            .compare(reference(), live_photo())
            .await
            .unwrap_err();
        let fips_host = match service {
            Service::S3 => "https://s3-fips.eu-west-1.amazonaws.com",
            _ => "https://rekognition-fips.eu-west-1.amazonaws.com",
        };
        assert!(
            matches!(
                err.as_refusal().map(|r| r.violations.as_slice()),
                Some([Violation::InsecureEndpoint(e)])
                    if e.service() == service
                        && e.problem() == EndpointProblem::NoFipsEndpoint
                        && e.endpoint() == fips_host
            ),
            "{service}: {err:?}"
        );
        if service == Service::Rekognition {
            assert!(err.to_string().contains("us-gov-west-1"), "{err}");
            // The S3 check before it went out, as it should.
            assert!(wire.seen().iter().all(|uri| !uri.contains("rekognition")));
        } else {
            assert!(
                wire.seen().is_empty(),
                "nothing was sent: {:?}",
                wire.seen()
            );
        }
    }
}

/// FIPS together with a custom endpoint (an emulator, a private endpoint)
/// is refused at build: the SDK cannot combine them and every call would
/// fail.
#[tokio::test]
async fn fips_with_a_custom_endpoint_is_refused_at_build() {
    let wire = Wire::new(KEY);
    let sdk = sdk("us-east-1", &wire)
        .to_builder()
        .endpoint_url("https://vpce-0123.rekognition.us-east-1.vpce.amazonaws.com")
        .build();
    let err = AwsBackend::from_sdk_config(&sdk)
        .map_err(support::config_error)
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid(reason) if reason.contains("cannot combine") && reason.contains("FIPS DNS name")),
        "{err:?}"
    );
    assert!(wire.seen().is_empty());
}

/// FIPS from the environment (`AWS_USE_FIPS_ENDPOINT=true`, as the AWS CLI
/// and every SDK read it): the config aws-config loads carries it, the
/// guard's requests go to the FIPS hosts, and a region without a
/// Rekognition FIPS endpoint is refused before any call. In a process of
/// its own: the environment is process-wide.
#[test]
fn fips_from_aws_use_fips_endpoint() {
    if !support::process::in_own_process(&support::process::test_path(
        module_path!(),
        "fips_from_aws_use_fips_endpoint",
    )) {
        return;
    }
    // Set before any thread exists; nothing else from this machine's AWS
    // settings (profiles, other endpoint or dual-stack settings).
    std::env::set_var("AWS_USE_FIPS_ENDPOINT", "true");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/rekognition-guard/config");
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/rekognition-guard/credentials",
    );
    for name in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_REKOGNITION",
        "AWS_ENDPOINT_URL_STS",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_CA_BUNDLE",
    ] {
        std::env::remove_var(name);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let load = |region: &'static str, wire: &Wire| {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(region)
                .credentials_provider(aws_credential_types::Credentials::for_tests())
                .http_client(wire.client())
                .load()
        };
        let wire = Wire::new(KEY);
        let sdk = load("us-west-2", &wire).await;
        assert_eq!(sdk.use_fips(), Some(true));
        let decision = guard(AwsBackend::from_sdk_config(&sdk).unwrap())
            .compare(reference(), live_photo())
            .await
            .unwrap();
        assert!(decision.is_approved());
        assert_eq!(
            wire.seen().last().map(String::as_str),
            Some("https://rekognition-fips.us-west-2.amazonaws.com/")
        );

        let wire = Wire::new(KEY);
        let err = AwsBackend::from_sdk_config(&load("eu-central-1", &wire).await)
            .map_err(support::config_error)
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::InsecureEndpoint(e) if e.problem() == EndpointProblem::NoFipsEndpoint),
            "{err:?}"
        );
        assert!(wire.seen().is_empty());
    });
}
