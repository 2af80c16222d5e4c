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

/// An SDK default is not an answer: every field the crate reads from an
/// AWS answer whose absence the SDK turns into a passing value (`false`,
/// `0`, `""`, an empty list, "not truncated", "no version"), each left out
/// of an otherwise good answer from a stand-in over real TLS, and what the
/// crate then does. The table is the list: a field added to what the
/// crate reads belongs here.
mod sdk_defaults {
    use std::sync::Arc;

    use rekognition_guard::erasure::EraseOptions;
    use rekognition_guard::inventory::Remediation;
    use rekognition_guard::liveness::{
        KioskId, LivenessPolicy, LivenessSessionId, LivenessVerdict, NotLiveReason,
    };
    use rekognition_guard::{AtRestViolation, Error, OptOutVerifier, Violation};
    use serde_json::{json, Value};

    use super::support::answers::{self, Face};
    use super::support::fault_server::{Fault, FaultServer, Request, Response, Script};
    use super::support::ACCOUNT;
    use super::*;

    /// What the probe leaves out, where.
    #[derive(Debug, Clone, Copy)]
    enum Probe {
        /// DetectFaces (enrollment's gate): a JSON pointer in the face.
        Detect(&'static str),
        /// CompareFaces: a JSON pointer in the answer.
        Compare(&'static str),
        /// GetFaceLivenessSessionResults: a JSON pointer in the answer.
        Liveness(&'static str),
        /// HeadObject (a comparison): a header.
        Head(&'static str),
        /// PutObject (enrollment, versioning required): a header.
        Put(&'static str),
        /// CopyObject (re-encryption in a versioned bucket): a header.
        Copy(&'static str),
        /// ListObjectVersions (erasure): an element, or a key with `+`
        /// without `EncodingType`.
        List(&'static str),
        /// ListBucketInventoryConfigurations (bucket audit): an element.
        InventoryConfigurations(&'static str),
        /// Organizations DescribeEffectivePolicy: a JSON pointer.
        EffectivePolicy(&'static str),
        /// STS GetCallerIdentity: an element.
        CallerIdentity(&'static str),
    }

    /// One field: where it is read, what its absence leads to, the AWS
    /// source that says it may be absent (or is required and so filled in
    /// by the SDK).
    struct Row {
        field: &'static str,
        probe: Probe,
        outcome: &'static str,
        source: &'static str,
    }

    const TABLE: &[Row] = &[
        Row {
            field: "DetectFaces FaceDetails[].Sunglasses.Value",
            probe: Probe::Detect("/Sunglasses/Value"),
            outcome: "photo rejected: sunglasses (not reported)",
            source: "API_Sunglasses: Value optional; Rust SDK reads it as bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].FaceOccluded.Value",
            probe: Probe::Detect("/FaceOccluded/Value"),
            outcome: "photo rejected: face_occluded (not reported)",
            source: "API_FaceOccluded: Value optional; SDK bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].EyesOpen.Value",
            probe: Probe::Detect("/EyesOpen/Value"),
            outcome: "photo rejected: eyes_not_open (not reported)",
            source: "API_EyeOpen: Value optional; SDK bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].Sunglasses.Confidence",
            probe: Probe::Detect("/Sunglasses/Confidence"),
            outcome: "photo rejected: sunglasses (not reported)",
            source: "API_Sunglasses: Confidence optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].BoundingBox",
            probe: Probe::Detect("/BoundingBox"),
            outcome: "photo rejected: face_too_small (not reported)",
            source: "API_FaceDetail: BoundingBox optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Confidence",
            probe: Probe::Detect("/Confidence"),
            outcome: "photo rejected: uncertain_face (not reported)",
            source: "API_FaceDetail: Confidence optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Pose",
            probe: Probe::Detect("/Pose"),
            outcome: "photo rejected: pose_out_of_range (not reported)",
            source: "API_FaceDetail: Pose optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Quality.Sharpness",
            probe: Probe::Detect("/Quality/Sharpness"),
            outcome: "photo rejected: not_sharp (not reported)",
            source: "API_ImageQuality: Sharpness optional",
        },
        Row {
            field: "CompareFaces FaceMatches[].Similarity",
            probe: Probe::Compare("/FaceMatches/0/Similarity"),
            outcome: "error: InvalidResponse",
            source: "API_CompareFacesMatch: Similarity optional",
        },
        Row {
            field: "CompareFaces FaceMatches[].Face.BoundingBox",
            probe: Probe::Compare("/FaceMatches/0/Face/BoundingBox"),
            outcome: "error: InvalidResponse",
            source: "API_ComparedFace: BoundingBox optional",
        },
        Row {
            field: "CompareFaces FaceMatches",
            probe: Probe::Compare("/FaceMatches"),
            outcome: "not approved",
            source: "API_CompareFaces: FaceMatches optional; SDK empty list",
        },
        Row {
            field: "GetFaceLivenessSessionResults Status",
            probe: Probe::Liveness("/Status"),
            outcome: "error: InvalidResponse",
            source:
                "API_GetFaceLivenessSessionResults: Status required; SDK fills an unknown value",
        },
        Row {
            field: "GetFaceLivenessSessionResults Confidence",
            probe: Probe::Liveness("/Confidence"),
            outcome: "error: InvalidResponse",
            source: "API_GetFaceLivenessSessionResults: Confidence optional",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge",
            probe: Probe::Liveness("/Challenge"),
            outcome: "not live: challenge not allowed (none named)",
            source: "API_GetFaceLivenessSessionResults: Challenge optional",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge.Type",
            probe: Probe::Liveness("/Challenge/Type"),
            outcome: "not live: challenge not allowed (none named)",
            source: "API_Challenge: Type required; SDK fills \"no value was set\"",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge.Version",
            probe: Probe::Liveness("/Challenge/Version"),
            outcome: "approved, version recorded as none",
            source: "API_Challenge: Version required; SDK fills \"\"",
        },
        Row {
            field: "GetFaceLivenessSessionResults ReferenceImage.S3Object.Version",
            probe: Probe::Liveness("/ReferenceImage/S3Object/Version"),
            outcome: "refused: VersionRequired",
            source: "API_S3Object: Version optional",
        },
        Row {
            field: "HeadObject x-amz-server-side-encryption",
            probe: Probe::Head("x-amz-server-side-encryption"),
            outcome: "refused: NotKmsEncrypted",
            source: "API_HeadObject: header absent for unencrypted objects (aws-facts 0.5)",
        },
        Row {
            field: "HeadObject x-amz-server-side-encryption-aws-kms-key-id",
            probe: Probe::Head("x-amz-server-side-encryption-aws-kms-key-id"),
            outcome: "refused: KmsKeyUnknown",
            source: "API_HeadObject: SSEKMSKeyId optional",
        },
        Row {
            field: "HeadObject x-amz-version-id (versioning required)",
            probe: Probe::Head("x-amz-version-id"),
            outcome: "refused: VersionRequired",
            source: "API_HeadObject: VersionId optional",
        },
        Row {
            field: "PutObject x-amz-version-id (versioning required)",
            probe: Probe::Put("x-amz-version-id"),
            outcome: "refused: VersionRequired",
            source: "API_PutObject: VersionId optional",
        },
        Row {
            field: "CopyObject x-amz-version-id (versioned bucket)",
            probe: Probe::Copy("x-amz-version-id"),
            outcome: "error: InvalidResponse",
            source: "API_CopyObject: VersionId optional",
        },
        Row {
            field: "ListObjectVersions IsTruncated",
            probe: Probe::List("IsTruncated"),
            outcome: "error: InvalidResponse",
            source: "API_ListObjectVersions: IsTruncated optional; SDK None",
        },
        Row {
            field: "ListObjectVersions Version.Key",
            probe: Probe::List("Key"),
            outcome: "error: InvalidResponse",
            source: "API_ObjectVersion: Key optional",
        },
        Row {
            field: "ListObjectVersions Version.VersionId",
            probe: Probe::List("VersionId"),
            outcome: "error: InvalidResponse",
            source: "API_ObjectVersion: VersionId optional",
        },
        Row {
            field: "ListObjectVersions EncodingType (a key with '+')",
            probe: Probe::List("EncodingType"),
            outcome: "error: InvalidResponse",
            source: "API_ListObjectVersions: EncodingType echoed when requested",
        },
        Row {
            field: "ListBucketInventoryConfigurations IsTruncated",
            probe: Probe::InventoryConfigurations("IsTruncated"),
            outcome: "finding: unverifiable-inventory",
            source: "API_ListBucketInventoryConfigurations: IsTruncated optional",
        },
        Row {
            field: "ListBucketInventoryConfigurations Filter.Prefix",
            probe: Probe::InventoryConfigurations("Prefix"),
            outcome: "finding: no-inventory-encryption-status",
            source: "API_InventoryFilter: Prefix required; SDK fills \"\"",
        },
        Row {
            field: "DescribeEffectivePolicy EffectivePolicy.PolicyContent",
            probe: Probe::EffectivePolicy("/EffectivePolicy/PolicyContent"),
            outcome: "not opted out",
            source: "API_EffectivePolicy: PolicyContent optional",
        },
        Row {
            field: "GetCallerIdentity Account",
            probe: Probe::CallerIdentity("Account"),
            outcome: "error: InvalidResponse",
            source: "API_GetCallerIdentity: Account optional",
        },
    ];

    const PHOTOS: &str = "library-photos";
    const OUTPUT: &str = "library-liveness";
    const SESSION: &str = "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90";

    fn without(mut value: Value, pointer: &str) -> Value {
        let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
        if let Some(p) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
            assert!(p.remove(last).is_some(), "{pointer} is in the good answer");
        }
        value
    }

    fn json_response(value: &Value) -> Response {
        Response::json(200, &value.to_string())
    }

    fn script(f: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Fault {
        Fault::Script(Script(Arc::new(f)))
    }

    fn kms_policy() -> Policy {
        Policy::new()
            .allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
            .require_versioning(true)
    }

    fn pinned(key: &str) -> S3ObjectRef {
        S3ObjectRef::new(PHOTOS, key)
            .unwrap()
            .with_version_id(VERSION)
            .unwrap()
    }

    fn guard_over(s3: &FaultServer, rekognition: &FaultServer) -> rekognition_guard::Guard {
        backend(s3, rekognition, &Setup::default())
            .guard_builder()
            .policy(kms_policy())
            .liveness(LivenessPolicy::new(OUTPUT).unwrap())
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
            .without_verification_cache()
            .build()
            .unwrap()
    }

    fn error_kind(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::Backend(b)) => format!("error: {:?}", b.kind()),
            Err(Error::Refused(r)) => match r.violations() {
                [Violation::AtRest(AtRestViolation::UnusableMetadata { field, .. })] => {
                    format!("refused: UnusableMetadata {field}")
                }
                [Violation::AtRest(v)] => {
                    format!(
                        "refused: {}",
                        format!("{v:?}").split([' ', '{']).next().unwrap()
                    )
                }
                other => format!("refused: {other:?}"),
            },
            Err(other) => format!("other error: {other}"),
            Ok(v) => format!("passed: {v:?}"),
        }
    }

    fn good_face() -> Value {
        serde_json::from_str::<Value>(&answers::detect_faces(&[Face::GOOD])).unwrap()["FaceDetails"]
            [0]
        .clone()
    }

    fn head_without(header: &'static str) -> Response {
        let mut r = Response::status(200)
            .header("content-type", "image/jpeg")
            .header("content-length", "48213")
            .header("etag", "\"5d41402abc4b2a76b9719d911017c592\"");
        for (name, value) in [
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ("x-amz-version-id", VERSION),
        ] {
            if name != header {
                r = r.header(name, value);
            }
        }
        r
    }

    fn xml(body: String) -> Response {
        Response::status(200)
            .header("content-type", "application/xml")
            .body(body)
    }

    /// What the crate did with the answer `probe` describes.
    async fn outcome(probe: Probe) -> String {
        match probe {
            Probe::Detect(pointer) => {
                let face = without(good_face(), pointer);
                let body = json!({ "FaceDetails": [face] });
                let s3 = FaultServer::start(script(|r| match r.method.as_str() {
                    "PUT" => Response::status(200).header("x-amz-version-id", VERSION),
                    _ => Response::sse_kms_head(KEY, VERSION),
                }))
                .await;
                let rekognition = FaultServer::start(Fault::Respond(json_response(&body))).await;
                let object = S3ObjectRef::new(PHOTOS, "members/new.jpg").unwrap();
                match guard_over(&s3, &rekognition)
                    .enroll(&object, live_photo())
                    .await
                {
                    Err(Error::PhotoRejected(a)) => {
                        let issue = &a.issues()[0];
                        // Each issue holds what was reported, `None` when nothing.
                        let reported = format!("{issue:?}").contains("None");
                        format!(
                            "photo rejected: {}{}",
                            issue.id(),
                            if reported { " (not reported)" } else { "" }
                        )
                    }
                    other => error_kind(other),
                }
            }
            Probe::Compare(pointer) => {
                let good: Value = serde_json::from_str(&answers::compare_match(99.9)).unwrap();
                let body = without(good, pointer);
                let s3 =
                    FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
                let rekognition = FaultServer::start(Fault::Respond(json_response(&body))).await;
                match guard_over(&s3, &rekognition)
                    .compare(pinned("members/ada.jpg"), live_photo())
                    .await
                {
                    Ok(d) if !d.is_approved() => "not approved".to_owned(),
                    other => error_kind(other),
                }
            }
            Probe::Liveness(pointer) => {
                let member = pinned("members/ada.jpg");
                let kiosk = KioskId::new("kiosk-1").unwrap();
                let prefix = LivenessPolicy::new(OUTPUT)
                    .unwrap()
                    .output_prefix_for(&member, &kiosk);
                let good = json!({
                    "SessionId": SESSION,
                    "Status": "SUCCEEDED",
                    "Confidence": 98.5,
                    "ReferenceImage": {
                        "S3Object": {"Bucket": OUTPUT, "Name": format!("{prefix}{SESSION}/reference.jpg"), "Version": VERSION},
                        "BoundingBox": {"Width": 0.33, "Height": 0.45, "Left": 0.31, "Top": 0.2}
                    },
                    "AuditImages": [],
                    "Challenge": {"Type": "FaceMovementAndLightChallenge", "Version": "2.0.0"}
                });
                let results = without(good, pointer);
                let s3 =
                    FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
                let rekognition =
                    FaultServer::start(script(move |r| match r.operation().as_deref() {
                        Some("GetFaceLivenessSessionResults") => json_response(&results),
                        _ => Response::compare_match(99.9),
                    }))
                    .await;
                let id = LivenessSessionId::parse(SESSION).unwrap();
                match guard_over(&s3, &rekognition)
                    .verify_liveness(&id, &member, &kiosk)
                    .await
                {
                    Ok(d) => match d.verdict() {
                        LivenessVerdict::NotLive(NotLiveReason::ChallengeNotAllowed {
                            found: None,
                        }) => "not live: challenge not allowed (none named)".to_owned(),
                        _ if d.is_approved() => format!(
                            "approved, version recorded as {}",
                            d.challenge()
                                .and_then(|c| c.version.as_deref())
                                .unwrap_or("none")
                        ),
                        other => format!("decided: {other:?}"),
                    },
                    Err(e) => error_kind(Err::<(), _>(e)),
                }
            }
            Probe::Head(header) => {
                let s3 = FaultServer::start(Fault::Respond(head_without(header))).await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let result = guard_over(&s3, &rekognition)
                    .compare(
                        S3ObjectRef::new(PHOTOS, "members/ada.jpg").unwrap(),
                        live_photo(),
                    )
                    .await;
                assert!(rekognition.requests().is_empty(), "nothing compared");
                error_kind(result)
            }
            Probe::Put(header) => {
                let s3 = FaultServer::start(script(move |r| match r.method.as_str() {
                    "PUT" if header == "x-amz-version-id" => Response::status(200),
                    "PUT" => Response::status(200).header("x-amz-version-id", VERSION),
                    _ => Response::sse_kms_head(KEY, VERSION),
                }))
                .await;
                let rekognition =
                    FaultServer::start(Fault::Respond(Response::detect_faces(&[Face::GOOD]))).await;
                let object = S3ObjectRef::new(PHOTOS, "members/new.jpg").unwrap();
                error_kind(
                    guard_over(&s3, &rekognition)
                        .enroll(&object, live_photo())
                        .await,
                )
            }
            Probe::Copy(header) => {
                let (result, _) = reencrypt_against(
                    &format!("s3://{PHOTOS}/members/ada.jpg?versionId={VERSION}"),
                    Remediation::CopyObject,
                    move |r| match r.method.as_str() {
                        "HEAD" => Response::status(200)
                            .header("content-length", "48213")
                            .header("x-amz-version-id", VERSION)
                            .header("etag", "\"5d41402abc4b2a76b9719d911017c592\""),
                        "PUT" => {
                            let ok = xml(r#"<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"6e2f"</ETag></CopyObjectResult>"#.to_owned());
                            if header == "x-amz-version-id" {
                                ok
                            } else {
                                ok.header("x-amz-version-id", "3HL4kqtJnew")
                            }
                        }
                        _ => Response::status(400),
                    },
                )
                .await;
                error_kind(result)
            }
            Probe::List(element) => {
                let key = if element == "EncodingType" {
                    "members/ada+smith.jpg"
                } else {
                    "members/ada.jpg"
                };
                let listing = {
                    let mut version = String::new();
                    if element != "Key" {
                        version.push_str(&format!("<Key>{key}</Key>"));
                    }
                    if element != "VersionId" {
                        version.push_str(&format!("<VersionId>{VERSION}</VersionId>"));
                    }
                    format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>{PHOTOS}</Name>{}{}<Version>{version}<IsLatest>true</IsLatest><Size>10</Size></Version></ListVersionsResult>"#,
                        if element == "EncodingType" {
                            ""
                        } else {
                            "<EncodingType>url</EncodingType>"
                        },
                        if element == "IsTruncated" {
                            ""
                        } else {
                            "<IsTruncated>false</IsTruncated>"
                        },
                    )
                };
                let s3 = FaultServer::start(script(move |r| match r.method.as_str() {
                    "GET" if r.target.contains("versions") => xml(listing.clone()),
                    "GET" if r.target.contains("versioning") => xml(r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#.to_owned()),
                    "DELETE" => Response::status(204),
                    _ => Response::status(400),
                }))
                .await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let object = S3ObjectRef::new(PHOTOS, key.replace('+', " ").as_str()).unwrap();
                let result = guard_over(&s3, &rekognition)
                    .erase(&object, EraseOptions::new())
                    .await;
                assert!(
                    !s3.requests().iter().any(|r| r.starts_with("DELETE")),
                    "nothing deleted on such a listing: {:?}",
                    s3.requests()
                );
                error_kind(result)
            }
            Probe::InventoryConfigurations(element) => {
                let configuration = format!(
                    "<InventoryConfiguration><Id>photos-audit</Id><IsEnabled>true</IsEnabled>{}<Destination><S3BucketDestination><Bucket>arn:aws:s3:::inventory-dest</Bucket><Format>CSV</Format></S3BucketDestination></Destination><IncludedObjectVersions>All</IncludedObjectVersions><OptionalFields><Field>EncryptionStatus</Field></OptionalFields><Schedule><Frequency>Daily</Frequency></Schedule></InventoryConfiguration>",
                    if element == "Prefix" { "<Filter></Filter>" } else { "" }
                );
                let list = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><ListInventoryConfigurationsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{configuration}{}</ListInventoryConfigurationsResult>"#,
                    if element == "IsTruncated" {
                        ""
                    } else {
                        "<IsTruncated>false</IsTruncated>"
                    }
                );
                let s3 = FaultServer::start(script(move |r| {
                    let q = r.target.split_once('?').map_or("", |(_, q)| q);
                    if q.starts_with("inventory") {
                        xml(list.clone())
                    } else {
                        Response::status(403)
                            .header("content-type", "application/xml")
                            .body("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
                    }
                }))
                .await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let audit = backend(&s3, &rekognition, &Setup::default())
                    .audit_bucket(PHOTOS, &kms_policy())
                    .await
                    .unwrap();
                let ids: Vec<String> = audit.findings().iter().map(|f| f.id.to_string()).collect();
                ids.into_iter()
                    .find(|id| id.contains("inventory"))
                    .map_or("no inventory finding".to_owned(), |id| {
                        format!("finding: {id}")
                    })
            }
            Probe::EffectivePolicy(pointer) => {
                let good: Value = serde_json::from_str(&answers::effective_policy(
                    r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
                    ACCOUNT,
                ))
                .unwrap();
                let body = without(good, pointer);
                let org = FaultServer::start(Fault::Respond(json_response(&body))).await;
                let status = verifier(&org, None).verify().await;
                match status {
                    Ok(rekognition_guard::OptOutStatus::NotOptedOut { .. }) => {
                        "not opted out".to_owned()
                    }
                    other => format!("{other:?}"),
                }
            }
            Probe::CallerIdentity(element) => {
                let good = answers::caller_identity(ACCOUNT);
                let body = good.replace(&format!("<{element}>{ACCOUNT}</{element}>"), "");
                assert_ne!(body, good, "{element} is in the good answer");
                let org_body = answers::effective_policy(
                    r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
                    ACCOUNT,
                )
                .replace(&format!(r#","TargetId":"{ACCOUNT}""#), "");
                let org = FaultServer::start(Fault::Respond(Response::json(200, &org_body))).await;
                let sts = FaultServer::start(Fault::Respond(
                    Response::status(200)
                        .header("content-type", "text/xml")
                        .body(body),
                ))
                .await;
                error_kind(
                    verifier(&org, Some(&sts))
                        .verify()
                        .await
                        .map_err(Error::Backend),
                )
            }
        }
    }

    /// An Organizations verifier over TLS to `org` (and STS at `sts`).
    fn verifier(
        org: &FaultServer,
        sts: Option<&FaultServer>,
    ) -> rekognition_guard::aws::OrganizationsOptOutVerifier {
        let http =
            rekognition_guard::aws::https_client_trusting(ca_pem().as_bytes(), false).unwrap();
        let sdk = aws_types::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                None,
                None,
                "fault-test",
            )))
            .http_client(http)
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let mut builder = rekognition_guard::aws::OrganizationsOptOutVerifier::builder()
            .client(aws_sdk_organizations::Client::from_conf(
                aws_sdk_organizations::config::Builder::from(&sdk)
                    .endpoint_url(&org.endpoint)
                    .build(),
            ))
            .cache_ttl(Duration::ZERO);
        if let Some(sts) = sts {
            builder = builder.sts_client(aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&sdk)
                    .endpoint_url(&sts.endpoint)
                    .build(),
            ));
        }
        builder.build().unwrap()
    }

    #[tokio::test]
    async fn a_field_the_service_did_not_send_never_reads_as_its_passing_value() {
        let mut failures = Vec::new();
        for row in TABLE {
            let got = outcome(row.probe).await;
            eprintln!("{:<70} -> {got}   [{}]", row.field, row.source);
            if got != row.outcome {
                failures.push(format!(
                    "{}: expected {:?}, got {got:?}",
                    row.field, row.outcome
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// S3 answers for erasure over TLS: one version of `key` listed (or
/// `listed` keys), versioning `Enabled` with `mfa_delete`, deletions
/// answered by `delete`.
fn erasure_s3(listed: Vec<String>, mfa_delete: Option<&'static str>, delete: Response) -> Fault {
    use support::fault_server::{Request, Script};
    let listing = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>library-photos</Name><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>{}</ListVersionsResult>"#,
        listed
            .iter()
            .map(|k| format!("<Version><Key>{k}</Key><VersionId>{VERSION}</VersionId><IsLatest>true</IsLatest><Size>10</Size></Version>"))
            .collect::<String>()
    );
    let versioning = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status>{}</VersioningConfiguration>"#,
        mfa_delete
            .map(|m| format!("<MfaDelete>{m}</MfaDelete>"))
            .unwrap_or_default()
    );
    let xml = |body: &str| {
        Response::status(200)
            .header("content-type", "application/xml")
            .body(body.to_owned())
    };
    Fault::Script(Script(std::sync::Arc::new(move |r: &Request| {
        let query = r.target.split_once('?').map_or("", |(_, q)| q);
        match r.method.as_str() {
            "GET" if query.starts_with("versions") => xml(&listing),
            "GET" if query.starts_with("versioning") => xml(&versioning),
            "DELETE" => delete.clone(),
            // Object Lock settings: none configured.
            "GET" if query.starts_with("retention") || query.starts_with("legal-hold") => {
                Response::status(404)
                    .header("content-type", "application/xml")
                    .body("<Error><Code>NoSuchObjectLockConfiguration</Code><Message>none</Message></Error>")
            }
            // The bucket audit's other reads: denied (unverifiable).
            _ => Response::status(403)
                .header("content-type", "application/xml")
                .body("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
        }
    })))
}

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
    let guard = aws
        .clone()
        .guard_builder()
        .policy(Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()))
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .build()
        .unwrap();
    let receipt = guard
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::new(),
        )
        .await
        .unwrap();
    assert!(!receipt.is_complete());
    assert_eq!(receipt.mfa_delete_enabled(), Some(true));
    assert_eq!(receipt.remaining().len(), 1, "{receipt}");
    assert_eq!(receipt.remaining()[0].reason.label(), "mfa_delete");
    assert!(
        receipt.remaining()[0]
            .reason
            .to_string()
            .contains("x-amz-mfa"),
        "{receipt}"
    );
    assert!(s3.requests().iter().any(|r| r.starts_with("DELETE")));

    let audit = aws
        .audit_bucket("library-photos", &Policy::new())
        .await
        .unwrap();
    let mfa = audit
        .findings()
        .iter()
        .find(|f| f.id == "mfa-delete-enabled")
        .unwrap_or_else(|| panic!("{:?}", audit.findings()));
    assert_eq!(mfa.severity, rekognition_guard::aws::Severity::Info);

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
    let guard = backend(&s3, &rekognition, &Setup::default())
        .guard_builder()
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .build()
        .unwrap();
    let receipt = guard
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(receipt.mfa_delete_enabled(), Some(false));
    assert_eq!(receipt.remaining()[0].reason.label(), "refused");
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
        let guard = backend(&s3, &rekognition, &Setup::default())
            .guard_builder()
            .liveness(policy.clone())
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
            .build()
            .unwrap();
        let err = guard
            .erase_liveness_artifacts(&member, rekognition_guard::erasure::EraseOptions::new())
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
