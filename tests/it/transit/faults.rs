//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`).

use std::time::Duration;

use crate::support::fault_server::{Fault, Response};
use crate::support::faults::*;
use crate::support::{self, KEY};
use rekognition_guard::{BackendErrorKind, Service};

#[tokio::test]
async fn working_servers_approve_the_positive_control() {
    let run = run(good_s3(), good_rekognition()).await;
    let decision = run.result.expect("approved");
    assert!(decision.is_approved());
    assert_eq!(decision.verdict.similarity(), Some(99.9));
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
