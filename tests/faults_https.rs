//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`). In
//! every case: no approval, a typed error, nothing sent to Rekognition when
//! S3 failed, and nothing in any log (everything is captured at TRACE) that
//! should not be there.
//!
//! A positive control runs the same harness with both servers answering
//! well and gets an approval, so the errors below are the faults' doing,
//! not the harness's.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryPartition;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_smithy_types::timeout::TimeoutConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{
    BackendErrorKind, Error, FaceImage, KmsKeyArn, OptOutEvidence, Policy, S3ObjectRef, Service,
};
use support::fault_server::{ca_pem, Fault, FaultServer, Response};

use support::KEY;
const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
const ACCESS_KEY: &str = "AKIDFAULTTEST0001";
const SECRET_KEY: &str = "fault-secret-key-4e1d";
const SESSION_TOKEN: &str = "fault-session-token-a9c3";
const IMAGE_MARKER: &[u8] = b"FACE-BYTES-FAULT-MARKER-0f3b";

/// Short timeouts keep the suite fast; the defaults are proven end to end
/// by `compare_faces_cli_faults`.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_millis(700))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

/// The SDK's standard retry mode (three attempts), with a short initial
/// backoff: the default (up to 1 s, then up to 2 s, jittered) could use up
/// the 3 s operation timeout above before the third attempt, making the
/// attempt counts these tests assert depend on chance.
fn quick_retries() -> aws_smithy_types::retry::RetryConfig {
    aws_smithy_types::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(20))
}

/// A retry partition of its own for each client: the SDK shares its retry
/// token bucket across every client of a partition (by default, per
/// service) in the process, and these tests spend retries on purpose, so
/// sharing would make one test's retry count depend on the others.
fn own_retry_partition() -> RetryPartition {
    static N: AtomicUsize = AtomicUsize::new(0);
    RetryPartition::new(format!("fault-test-{}", N.fetch_add(1, Ordering::Relaxed)))
}

/// How the clients are set up; [`Setup::default`] is a working one.
struct Setup {
    /// Whether the clients trust the fault servers' throwaway CA.
    trust_fault_ca: bool,
    /// FIPS endpoints, which the SDK cannot combine with a custom endpoint.
    use_fips: bool,
    /// A credential provider that finds no credentials.
    no_credentials: bool,
}

/// Finds no credentials, as the default chain on a machine without any.
#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials in the environment, profile or instance metadata",
            ),
        ))
    }
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            trust_fault_ca: true,
            use_fips: false,
            no_credentials: false,
        }
    }
}

fn backend(s3: &FaultServer, rekognition: &FaultServer, setup: &Setup) -> AwsBackend {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .use_fips(setup.use_fips)
        .credentials_provider(if setup.no_credentials {
            SharedCredentialsProvider::new(NoCredentials)
        } else {
            SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                Some(SESSION_TOKEN.into()),
                None,
                "fault-test",
            ))
        })
        .build();
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .endpoint_url(&s3.endpoint)
        .force_path_style(true)
        .retry_partition(own_retry_partition())
        .retry_config(quick_retries())
        .build();
    let rekognition = aws_sdk_rekognition::config::Builder::from(&sdk)
        .endpoint_url(&rekognition.endpoint)
        .retry_partition(own_retry_partition())
        .retry_config(quick_retries())
        .build();
    let builder = AwsBackend::builder()
        .s3_client(aws_sdk_s3::Client::from_conf(s3))
        .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition))
        .timeouts(timeouts());
    let builder = if setup.trust_fault_ca {
        builder.ca_bundle_pem(ca_pem()).trust_native_roots(false)
    } else {
        // The system's roots only, which never hold the throwaway CA.
        builder
    };
    builder.build().expect("backend")
}

fn live_photo() -> FaceImage {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend_from_slice(IMAGE_MARKER);
    bytes.extend_from_slice(&[0x5a; 64]);
    FaceImage::from_vec(bytes).unwrap()
}

fn good_s3() -> Fault {
    Fault::Respond(Response::sse_kms_head(KEY, VERSION))
}

fn good_rekognition() -> Fault {
    Fault::Respond(Response::compare_match(99.9))
}

/// What one guarded comparison did.
struct Run {
    result: Result<rekognition_guard::Decision, Error>,
    s3_connections: usize,
    s3_requests: Vec<String>,
    rekognition_requests: Vec<String>,
}

/// Compares the reference photo in S3 (pinned version) with a live photo,
/// with each service played by a fault server.
async fn run(s3: Fault, rekognition: Fault) -> Run {
    run_with(s3, rekognition, Setup::default()).await
}

async fn run_with(s3: Fault, rekognition: Fault, setup: Setup) -> Run {
    support::capture::start();
    let s3 = FaultServer::start(s3).await;
    let rekognition = FaultServer::start(rekognition).await;
    let guard = backend(&s3, &rekognition, &setup)
        .guard_builder()
        .policy(Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()))
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .without_verification_cache()
        .build()
        .unwrap();
    let reference = S3ObjectRef::parse(&format!(
        "s3://library-photos/members/ada.jpg?versionId={VERSION}"
    ))
    .unwrap();
    let result = guard.compare(reference, live_photo()).await;
    let run = Run {
        result,
        s3_connections: s3.connections(),
        s3_requests: s3.requests(),
        rekognition_requests: rekognition.requests(),
    };
    if let Err(e) = &run.result {
        for text in [format!("{e}"), format!("{e:?}")] {
            assert_no_secrets("the error", &text);
        }
    }
    assert_no_secrets("the captured logs", &support::capture::logged());
    run
}

fn assert_no_secrets(what: &str, text: &str) {
    support::capture::assert_clean(
        what,
        text,
        &[
            IMAGE_MARKER,
            SECRET_KEY.as_bytes(),
            SESSION_TOKEN.as_bytes(),
        ],
    );
}

/// Asserts a typed backend error of `kind` from `service`, no approval.
#[track_caller]
fn assert_backend_error(run: &Run, service: Service, kinds: &[BackendErrorKind]) {
    match &run.result {
        Err(Error::Backend(b)) => {
            assert_eq!(b.service(), service, "{b:?}");
            assert!(
                kinds.contains(&b.kind()),
                "expected one of {kinds:?}: {b:?}"
            );
        }
        other => panic!("expected a {service} backend error, got {other:?}"),
    }
}

#[tokio::test]
async fn working_servers_approve_the_positive_control() {
    let run = run(good_s3(), good_rekognition()).await;
    let decision = run.result.expect("approved");
    assert!(decision.is_approved());
    assert_eq!(decision.verdict().similarity(), Some(99.9));
    assert_eq!(
        run.s3_requests,
        [format!(
            "HEAD /library-photos/members/ada.jpg?versionId={VERSION}"
        )]
    );
    assert_eq!(run.rekognition_requests, ["POST /"]);
    assert!(
        support::capture::logged().contains("face comparison decided"),
        "the capture sees the guard's audit events"
    );
}

// Configuration errors that look like outages: not retryable, and the
// message says what to fix.

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_not_retryable_and_names_the_fix() {
    let run = run_with(
        good_s3(),
        good_rekognition(),
        Setup {
            trust_fault_ca: false,
            ..Setup::default()
        },
    )
    .await;
    assert_backend_error(
        &run,
        Service::S3,
        &[BackendErrorKind::CertificateNotTrusted],
    );
    let err = run.result.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let message = err.to_string();
    for expected in [
        "not trusted",
        "UnknownIssuer",
        "ca_bundle_pem",
        "AWS_CA_BUNDLE",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    // The handshake failed: a connection, no request.
    assert!(run.s3_connections >= 1);
    assert!(run.s3_requests.is_empty());
    assert!(run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn an_endpoint_the_sdk_cannot_resolve_is_a_configuration_error_not_an_outage() {
    // FIPS with a custom endpoint, which S3's endpoint rules refuse: the
    // SDK fails before sending, and reports it like a connection failure.
    let run = run_with(
        good_s3(),
        good_rekognition(),
        Setup {
            use_fips: true,
            ..Setup::default()
        },
    )
    .await;
    assert_backend_error(&run, Service::S3, &[BackendErrorKind::Configuration]);
    let err = run.result.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let message = err.to_string();
    for expected in ["could not resolve the endpoint", "nothing was sent", "FIPS"] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    assert_eq!(run.s3_connections, 0);
    assert!(run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn missing_credentials_are_a_configuration_error_not_an_outage() {
    let run = run_with(
        good_s3(),
        good_rekognition(),
        Setup {
            no_credentials: true,
            ..Setup::default()
        },
    )
    .await;
    assert_backend_error(&run, Service::S3, &[BackendErrorKind::Configuration]);
    let err = run.result.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let message = err.to_string();
    for expected in [
        "could not load credentials",
        "nothing was sent",
        "no credentials in the environment",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    assert_eq!(run.s3_connections, 0);
    assert!(run.rekognition_requests.is_empty());
}

// S3 (HeadObject) fails: nothing may reach Rekognition.

#[tokio::test]
async fn s3_that_hangs_after_the_request_times_out() {
    let run = run(Fault::Hang, good_rekognition()).await;
    assert_backend_error(&run, Service::S3, &[BackendErrorKind::Timeout]);
    assert!(run.result.unwrap_err().is_retryable());
    assert!(!run.s3_requests.is_empty());
    assert!(run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn s3_that_never_starts_tls_times_out() {
    let run = run(Fault::SilentTcp, good_rekognition()).await;
    assert_backend_error(&run, Service::S3, &[BackendErrorKind::Timeout]);
    assert!(run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn s3_resetting_connections_is_a_transport_error() {
    for fault in [Fault::ResetBeforeTls, Fault::ResetAfterRequest] {
        let run = run(fault.clone(), good_rekognition()).await;
        assert_backend_error(&run, Service::S3, &[BackendErrorKind::Transport]);
        assert!(run.rekognition_requests.is_empty(), "{fault:?}");
    }
}

#[tokio::test]
async fn s3_answering_garbage_is_an_error() {
    let run = run(Fault::Garbage, good_rekognition()).await;
    assert_backend_error(
        &run,
        Service::S3,
        &[
            BackendErrorKind::Transport,
            BackendErrorKind::InvalidResponse,
        ],
    );
    assert!(run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn s3_server_errors_are_retried_then_reported() {
    for status in [500, 503] {
        let run = run(Fault::Respond(Response::status(status)), good_rekognition()).await;
        assert_backend_error(&run, Service::S3, &[BackendErrorKind::ServiceUnavailable]);
        assert!(run.result.as_ref().unwrap_err().is_retryable());
        assert_eq!(
            run.s3_requests.len(),
            3,
            "HTTP {status}: the SDK's standard retry mode makes three attempts"
        );
        assert!(run.rekognition_requests.is_empty());
    }
}

#[tokio::test]
async fn s3_answering_after_the_timeout_is_a_timeout_not_a_pass() {
    let late = Fault::Delay(Duration::from_secs(5), Response::sse_kms_head(KEY, VERSION));
    let run = run(late, good_rekognition()).await;
    assert_backend_error(&run, Service::S3, &[BackendErrorKind::Timeout]);
    assert!(run.rekognition_requests.is_empty());
}

// Rekognition (CompareFaces) fails after S3 passed.

#[tokio::test]
async fn rekognition_that_hangs_times_out() {
    for fault in [Fault::Hang, Fault::SilentTcp] {
        let run = run(good_s3(), fault.clone()).await;
        assert_backend_error(&run, Service::Rekognition, &[BackendErrorKind::Timeout]);
        assert!(run.result.unwrap_err().is_retryable(), "{fault:?}");
    }
}

#[tokio::test]
async fn a_match_that_arrives_after_the_timeout_is_not_approved() {
    let late = Fault::Delay(Duration::from_secs(5), Response::compare_match(99.9));
    let run = run(good_s3(), late).await;
    assert_backend_error(&run, Service::Rekognition, &[BackendErrorKind::Timeout]);
    assert!(!run.rekognition_requests.is_empty());
}

#[tokio::test]
async fn rekognition_resetting_connections_is_a_transport_error() {
    for fault in [Fault::ResetBeforeTls, Fault::ResetAfterRequest] {
        let run = run(good_s3(), fault.clone()).await;
        assert_backend_error(&run, Service::Rekognition, &[BackendErrorKind::Transport]);
    }
}

#[tokio::test]
async fn rekognition_answering_garbage_or_half_an_answer_is_an_error() {
    for fault in [
        Fault::Garbage,
        Fault::Truncated(Response::compare_match(99.9)),
    ] {
        let run = run(good_s3(), fault.clone()).await;
        assert_backend_error(
            &run,
            Service::Rekognition,
            &[
                BackendErrorKind::Transport,
                BackendErrorKind::InvalidResponse,
            ],
        );
    }
}

#[tokio::test]
async fn malformed_or_impossible_answers_are_invalid_responses() {
    for body in [
        "not json at all",
        r#"{"FaceMatches":[{"Similarity":99.9,"Face":{"BoundingBox":{"#,
        r#"{"FaceMatches":[{"Similarity":150.0,"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":"NaN","Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":99.9}]}"#,
    ] {
        let run = run(good_s3(), Fault::Respond(Response::json(200, body))).await;
        assert_backend_error(
            &run,
            Service::Rekognition,
            &[BackendErrorKind::InvalidResponse],
        );
    }
}

#[tokio::test]
async fn rekognition_throttling_and_server_errors_are_retried_then_reported() {
    let throttled = Response::json(
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    )
    .header("x-amzn-errortype", "ThrottlingException");
    let cases = [
        (throttled, BackendErrorKind::Throttled),
        (Response::status(500), BackendErrorKind::ServiceUnavailable),
        (Response::status(503), BackendErrorKind::ServiceUnavailable),
    ];
    for (response, kind) in cases {
        let run = run(good_s3(), Fault::Respond(response)).await;
        assert_backend_error(&run, Service::Rekognition, &[kind]);
        assert!(run.result.as_ref().unwrap_err().is_retryable());
        assert_eq!(
            run.rekognition_requests.len(),
            3,
            "{kind:?}: the SDK's standard retry mode makes three attempts"
        );
    }
}

/// The enrollment quality gate over real TLS: DetectFaces answered by a
/// fault server; nothing reaches S3 unless the gate accepts the photo.
#[tokio::test]
async fn the_enrollment_gate_over_real_tls_stores_only_accepted_photos() {
    use rekognition_guard::QualityIssue;
    use support::answers::Face;
    use support::fault_server::{Request, Script};
    support::capture::start();
    let s3_answer = || {
        Fault::Script(Script(std::sync::Arc::new(|r: &Request| {
            match r.method.as_str() {
                "PUT" => Response::status(200).header("x-amz-version-id", VERSION),
                _ => Response::sse_kms_head(KEY, VERSION),
            }
        })))
    };
    let enroll = |s3: &FaultServer, rekognition: &FaultServer| {
        let guard = backend(s3, rekognition, &Setup::default())
            .guard_builder()
            .policy(Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()))
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
            .build()
            .unwrap();
        async move {
            let object = S3ObjectRef::parse("s3://library-photos/members/new.jpg").unwrap();
            guard.enroll(&object, live_photo()).await
        }
    };

    let mut sunglasses = Face::GOOD;
    sunglasses.sunglasses = true;
    let s3 = FaultServer::start(s3_answer()).await;
    let rekognition =
        FaultServer::start(Fault::Respond(Response::detect_faces(&[sunglasses]))).await;
    match enroll(&s3, &rekognition).await {
        Err(Error::PhotoRejected(a)) => {
            assert!(
                matches!(a.issues(), [QualityIssue::Sunglasses { .. }]),
                "{a}"
            )
        }
        other => panic!("expected a rejected photo: {other:?}"),
    }
    assert_eq!(rekognition.requests(), ["POST /"]);
    assert!(
        s3.requests().is_empty(),
        "nothing stored: {:?}",
        s3.requests()
    );

    // DetectFaces failing: retried, reported, nothing stored.
    let s3 = FaultServer::start(s3_answer()).await;
    let rekognition = FaultServer::start(Fault::Respond(Response::json(
        500,
        r#"{"__type":"InternalServerError","Message":"test"}"#,
    )))
    .await;
    let err = enroll(&s3, &rekognition).await.unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.operation() == "DetectFaces" && b.is_retryable()),
        "{err:?}"
    );
    assert_eq!(rekognition.requests().len(), 3, "the SDK's three attempts");
    assert!(s3.requests().is_empty());

    // Positive control: accepted, stored, read back.
    let s3 = FaultServer::start(s3_answer()).await;
    let rekognition =
        FaultServer::start(Fault::Respond(Response::detect_faces(&[Face::GOOD]))).await;
    let enrolled = enroll(&s3, &rekognition).await.expect("enrolled");
    assert_eq!(enrolled.version_id(), Some(VERSION));
    let requests = s3.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].starts_with("PUT /library-photos/members/new.jpg"),
        "{requests:?}"
    );
    assert!(
        requests[1].starts_with("HEAD /library-photos/members/new.jpg"),
        "{requests:?}"
    );
    assert_no_secrets("the captured logs", &support::capture::logged());
}

use rekognition_guard::inventory::Remediation;

/// A re-encryption of `object` under `KEY` against a canned S3 answering
/// by `script`; the requests it read.
async fn reencrypt_against(
    object: &str,
    remediation: rekognition_guard::inventory::Remediation,
    script: impl Fn(&support::fault_server::Request) -> Response + Send + Sync + 'static,
) -> (
    Result<rekognition_guard::inventory::Reencrypted, Error>,
    Vec<support::fault_server::Request>,
) {
    use support::fault_server::{Request, Script};

    let seen: std::sync::Arc<std::sync::Mutex<Vec<Request>>> = Default::default();
    let recorded = seen.clone();
    let script = Script(std::sync::Arc::new(move |request: &Request| {
        recorded.lock().unwrap().push(request.clone());
        script(request)
    }));
    let s3 = FaultServer::start(Fault::Script(script)).await;
    let rekognition = FaultServer::start(good_rekognition()).await;
    let guard = backend(&s3, &rekognition, &Setup::default())
        .guard_builder()
        .policy(Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()))
        .opt_out(OptOutEvidence::waived("re-encryption calls no AI service").unwrap())
        .build()
        .unwrap();
    let object = S3ObjectRef::parse(object).unwrap();
    let result = guard
        .reencrypt(&object, remediation, &KmsKeyArn::parse(KEY).unwrap())
        .await;
    let requests = seen.lock().unwrap().clone();
    (result, requests)
}

/// `UpdateObjectEncryption` (which moto lacks) over real TLS, against a
/// canned S3: the request names the version and the KMS key, and the
/// version is checked with HeadObject afterwards; its id stays.
#[tokio::test]
async fn update_object_encryption_re_keys_the_version_in_place_and_checks_it() {
    let (result, seen) = reencrypt_against(
        &format!("s3://library-photos/members/ada lovelace.jpg?versionId={VERSION}"),
        Remediation::UpdateObjectEncryption,
        |request| match request.method.as_str() {
            "PUT" if request.target.contains("encryption") => Response::status(200),
            "HEAD" => Response::sse_kms_head(KEY, VERSION),
            _ => Response::status(400),
        },
    )
    .await;
    let done = result.unwrap();
    assert_eq!(
        done.new_version_id.as_deref(),
        Some(VERSION),
        "in place: the version id stays"
    );
    assert_eq!(done.kms_key, KEY);

    let methods: Vec<&str> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["PUT", "HEAD"]);
    let update = &seen[0];
    assert!(
        update
            .target
            .starts_with("/library-photos/members/ada%20lovelace.jpg?"),
        "{}",
        update.target
    );
    assert!(update.target.contains("encryption"), "{}", update.target);
    assert!(
        update.target.contains(&format!("versionId={VERSION}")),
        "{}",
        update.target
    );
    let body = String::from_utf8_lossy(&update.body);
    assert!(
        body.contains(&format!("<KMSKeyArn>{KEY}</KMSKeyArn>")),
        "{body}"
    );
    assert!(
        seen[1].target.contains(&format!("versionId={VERSION}")),
        "{}",
        seen[1].target
    );
}

/// A re-encryption that S3 accepted but HeadObject does not confirm is an
/// error: nothing is claimed.
#[tokio::test]
async fn a_re_encryption_head_object_does_not_confirm_is_an_error() {
    let (result, _) = reencrypt_against(
        &format!("s3://library-photos/members/ada.jpg?versionId={VERSION}"),
        Remediation::UpdateObjectEncryption,
        |request| match request.method.as_str() {
            "PUT" => Response::status(200),
            _ => Response::status(200)
                .header("content-length", "48213")
                .header("x-amz-server-side-encryption", "AES256")
                .header("x-amz-version-id", VERSION),
        },
    )
    .await;
    let err = result.unwrap_err();
    match &err {
        Error::Backend(b) => {
            assert_eq!(b.kind(), BackendErrorKind::InvalidResponse, "{err}");
            assert!(err.to_string().contains("did not take effect"), "{err}");
        }
        other => panic!("{other}"),
    }
}

/// A copy is conditional on the current version's ETag seen by HeadObject:
/// the copy reads the key (no version id) with
/// `x-amz-copy-source-if-match`, and when S3 answers 412 (a version was
/// written in between) nothing is claimed.
#[tokio::test]
async fn a_copy_is_refused_when_the_current_version_changed_in_between() {
    const ETAG: &str = "\"5d41402abc4b2a76b9719d911017c592\"";
    let (result, seen) = reencrypt_against(
        &format!("s3://library-photos/members/ada smith.jpg?versionId={VERSION}"),
        Remediation::CopyObject,
        |request| match request.method.as_str() {
            "HEAD" => Response::status(200)
                .header("content-length", "48213")
                .header("x-amz-version-id", VERSION)
                .header("etag", ETAG),
            _ => Response::status(412)
                .header("content-type", "application/xml")
                .body("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
        },
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Backend(_)), "{err}");
    let copy = seen
        .iter()
        .find(|r| r.method == "PUT")
        .unwrap_or_else(|| panic!("no CopyObject: {seen:?}"));
    assert_eq!(copy.header("x-amz-copy-source-if-match"), Some(ETAG));
    assert_eq!(
        copy.header("x-amz-copy-source"),
        Some("library-photos/members/ada%20smith.jpg"),
        "the current version, by key"
    );
    assert!(
        !seen
            .iter()
            .any(|r| r.method == "HEAD" && r.target.contains("versionId")),
        "nothing confirmed after a refused copy: {seen:?}"
    );
}
