//! A password in an endpoint URL must never reach a log: the AWS SDK prints
//! endpoint URLs in its DEBUG logs. Endpoints with user information, a
//! query or a fragment are refused wherever they enter (builder,
//! `SdkConfig`, a handed-in client); the environment and profile are
//! covered by `aws_env_endpoint_secrets`. Every tracing event of every
//! crate is captured at TRACE and searched for the password.
//!
//! Also keeps SECURITY.md truthful: it must name every level and target at
//! which the SDK logs an endpoint.

use crate::support;

use aws_smithy_http_client::test_util::capture_request;
use rekognition_guard::aws::{AwsBackend, OrganizationsOptOutVerifier};
use rekognition_guard::transit::EndpointProblem;
use rekognition_guard::{
    ConfigError, FaceImage, Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Service,
    Violation,
};
use support::fault_server::{ca_pem, Fault, FaultServer, Response};

const PASSWORD: &str = "rg-endpoint-password-5c2e";
use support::KEY;

fn sdk(endpoint: Option<&str>) -> aws_types::SdkConfig {
    let mut b = support::sdk_config("eu-west-1", "AKIDSECRETS", "secrets-secret").to_builder();
    if let Some(url) = endpoint {
        b = b.endpoint_url(url);
    }
    b.build()
}

fn photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap()
}

#[track_caller]
fn assert_refused(err: ConfigError, service: Service, problem: EndpointProblem) {
    match &err {
        ConfigError::InsecureEndpoint(e) => {
            assert_eq!((e.service(), e.problem()), (service, problem), "{err}");
        }
        other => panic!("expected an insecure endpoint, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(PASSWORD), "{err}");
}

#[tokio::test]
async fn a_password_in_an_endpoint_url_is_refused_wherever_it_enters() {
    support::capture::start();
    let with_password = format!("https://kiosk:{PASSWORD}@127.0.0.1:9");

    // The builder's endpoint.
    let err = AwsBackend::builder()
        .sdk_config(&sdk(None))
        .endpoint_url(&with_password)
        .build()
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_refused(err, Service::S3, EndpointProblem::UserInfo);
    for (url, problem) in [
        (
            format!("https://127.0.0.1:9/?token={PASSWORD}"),
            EndpointProblem::Query,
        ),
        (
            format!("https://127.0.0.1:9/#{PASSWORD}"),
            EndpointProblem::Fragment,
        ),
    ] {
        let err = AwsBackend::builder()
            .sdk_config(&sdk(None))
            .endpoint_url(&url)
            .build()
            .map_err(crate::support::config_error)
            .unwrap_err();
        assert_refused(err, Service::S3, problem);
    }

    // The SdkConfig's endpoint.
    let err = AwsBackend::from_sdk_config(&sdk(Some(&with_password)))
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_refused(err, Service::S3, EndpointProblem::UserInfo);
    let err = OrganizationsOptOutVerifier::from_sdk_config(&sdk(Some(&with_password)))
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_refused(err, Service::Organizations, EndpointProblem::UserInfo);
    let err = OrganizationsOptOutVerifier::builder()
        .sdk_config(&sdk(None))
        .endpoint_url(&with_password)
        .build()
        .map_err(crate::support::config_error)
        .unwrap_err();
    assert_refused(err, Service::Organizations, EndpointProblem::UserInfo);

    // Clients handed in with the endpoint set on them: the SDK does not
    // let the URL be read back at build time, so the wire check refuses it
    // before the SDK resolves (and would log) the endpoint.
    let (http, rx) = capture_request(None);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk(None))
            .endpoint_url(&with_password)
            .http_client(http.clone())
            .build(),
    );
    let rekognition = aws_sdk_rekognition::Client::from_conf(
        aws_sdk_rekognition::config::Builder::from(&sdk(None))
            .endpoint_url(&with_password)
            .http_client(http)
            .build(),
    );
    let aws = AwsBackend::builder()
        .s3_client(s3)
        .rekognition_client(rekognition)
        .build()
        .unwrap();
    let guard = Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::any_kms_key().with_versioning_required(false),
        ),
        aws,
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    );
    let reference = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    for (result, service) in [
        (guard.compare(reference.clone(), photo()).await, Service::S3),
        (guard.compare(photo(), photo()).await, Service::Rekognition),
        (
            guard.store().check(&reference).await.map(|_| unreachable()),
            Service::S3,
        ),
    ] {
        let err = result.unwrap_err();
        match err.as_refusal().map(|r| r.violations.as_slice()) {
            Some([Violation::InsecureEndpoint(e)]) => {
                assert_eq!(e.service(), service, "{err}");
                assert_eq!(e.problem(), EndpointProblem::UserInfo, "{err}");
            }
            _ => panic!("expected a refusal for the endpoint: {err:?}"),
        }
        assert!(!format!("{err} {err:?}").contains(PASSWORD), "{err}");
    }
    rx.expect_no_request();

    let logged = support::capture::logged();
    assert!(
        !logged.contains(PASSWORD),
        "the password reached a log:\n{logged}"
    );
}

fn unreachable() -> rekognition_guard::Decision {
    panic!("a check through a refused endpoint cannot pass")
}

/// Runs a full comparison against fault servers on loopback and collects
/// the level and target of every captured event that mentions either
/// endpoint; SECURITY.md must name each of them.
#[tokio::test]
async fn security_md_names_every_level_and_target_that_logs_endpoints() {
    support::capture::start();
    let version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
    let s3 = FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, version))).await;
    let rekognition = FaultServer::start(Fault::Respond(Response::compare_match(99.9))).await;
    let sdk = sdk(None);
    let aws = AwsBackend::builder()
        .s3_client(aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .endpoint_url(&s3.endpoint)
                .force_path_style(true)
                .build(),
        ))
        .rekognition_client(aws_sdk_rekognition::Client::from_conf(
            aws_sdk_rekognition::config::Builder::from(&sdk)
                .endpoint_url(&rekognition.endpoint)
                .build(),
        ))
        .ca_bundle_pem(ca_pem())
        .trust_native_roots(false)
        .build()
        .unwrap();
    let guard = crate::support::canned::uncached_guard(
        aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let reference = S3ObjectRef::parse(&format!(
        "s3://library-photos/members/ada.jpg?versionId={version}"
    ))
    .unwrap();
    let decision = guard.compare(reference, photo()).await.unwrap();
    assert!(decision.is_approved());

    let hosts = [
        s3.endpoint.trim_start_matches("https://").to_owned(),
        rekognition
            .endpoint
            .trim_start_matches("https://")
            .to_owned(),
    ];
    let logged = support::capture::logged();
    let mut seen = std::collections::BTreeSet::new();
    for line in logged
        .lines()
        .filter(|l| hosts.iter().any(|h| l.contains(h.as_str())))
    {
        // "<time> <LEVEL> [spans:] <target>: ..." (tracing-subscriber's
        // fmt); the target is the first word that is a Rust path.
        let mut words = line.split_whitespace().skip(1);
        let Some(level) = words.next() else { continue };
        let Some(target) = words.find(|w| {
            w.ends_with(':')
                && !w.contains(['{', '}', '=', '"'])
                && w.trim_end_matches(':')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }) else {
            continue;
        };
        seen.insert((level.to_owned(), target.trim_end_matches(':').to_owned()));
    }
    assert!(
        !seen.is_empty(),
        "no event mentioned the endpoints; the capture is broken:\n{logged}"
    );
    let security =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SECURITY.md")).unwrap();
    let section = security
        .split("### Endpoints in the AWS SDK's logs")
        .nth(1)
        .expect("SECURITY.md has a section on endpoints in the SDK's logs");
    let section = section.split("\n## ").next().unwrap_or(section);
    for (level, target) in &seen {
        assert!(
            matches!(level.as_str(), "DEBUG" | "TRACE") || target.starts_with("rekognition_guard"),
            "the SDK logged an endpoint at {level} ({target}); SECURITY.md says DEBUG and TRACE only"
        );
        if target.starts_with("rekognition_guard") {
            continue;
        }
        assert!(
            section.contains(&format!("`{target}`")),
            "SECURITY.md does not name target `{target}` ({level}), which logs endpoints; seen: {seen:?}"
        );
        assert!(
            section.contains(level.as_str()),
            "SECURITY.md does not name level {level}; seen: {seen:?}"
        );
    }
}
