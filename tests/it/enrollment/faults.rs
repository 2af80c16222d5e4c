//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`).

use crate::support::fault_server::{Fault, FaultServer, Response};
use crate::support::faults::*;
use crate::support::{self, KEY};
use rekognition_guard::{Error, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef};

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
        let aws = backend(s3, rekognition, &Setup::default());
        let guard = Guard::new(
            PhotoStore::new(
                aws.clone(),
                Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
                    .with_versioning_required(false),
            ),
            aws,
            OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        );
        async move {
            let object = S3ObjectRef::parse("s3://library-photos/members/new.jpg").unwrap();
            guard
                .enroll(&crate::support::consent(), &object, live_photo())
                .await
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
                matches!(a.issues.as_slice(), [QualityIssue::Sunglasses { .. }]),
                "{a}"
            )
        }
        other => panic!("expected a rejected photo: {other:?}"),
    }
    assert_eq!(rekognition.requests(), ["POST /"]);
    assert_eq!(
        s3.requests().len(),
        1,
        "only the transport probe, nothing stored: {:?}",
        s3.requests()
    );
    assert!(s3.requests()[0].starts_with("HEAD /library-photos/members/new.jpg"));

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
    assert!(
        s3.requests().iter().all(|r| r.starts_with("HEAD ")),
        "nothing stored: {:?}",
        s3.requests()
    );

    // Positive control: accepted, stored, read back.
    let s3 = FaultServer::start(s3_answer()).await;
    let rekognition =
        FaultServer::start(Fault::Respond(Response::detect_faces(&[Face::GOOD]))).await;
    let enrolled = enroll(&s3, &rekognition).await.expect("enrolled");
    assert_eq!(enrolled.reference().version_id(), Some(VERSION));
    let requests = s3.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests[0].starts_with("HEAD /library-photos/members/new.jpg"),
        "the transport probe: {requests:?}"
    );
    assert!(
        requests[1].starts_with("PUT /library-photos/members/new.jpg"),
        "{requests:?}"
    );
    assert!(
        requests[2].starts_with("HEAD /library-photos/members/new.jpg"),
        "{requests:?}"
    );
    assert_no_secrets("the captured logs", &support::capture::logged());
}
