//! Insecure endpoints with the exported mockall mocks: refused before the
//! backend behind them is called.

use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::{MockFaceAnalyzer, Policy, Service, Violation};

use crate::support::mocks::*;

#[tokio::test]
async fn insecure_s3_endpoint_means_no_head_object_and_no_compare() {
    let mut s3 = inspector("http://127.0.0.1:9000");
    s3.expect_inspect().times(0);
    let guard = guard(
        s3,
        never_called_comparer(REKOGNITION_ENDPOINT),
        Policy::new(),
    );

    let violations = refusal(guard.compare(reference(), live_photo()).await.unwrap_err());
    assert_eq!(
        violations,
        vec![Violation::InsecureEndpoint(
            check_endpoint_url(Service::S3, "http://127.0.0.1:9000").unwrap_err()
        )]
    );
}

#[tokio::test]
async fn insecure_rekognition_endpoint_is_refused_for_bytes_too() {
    let mut s3 = inspector("http://not-needed.invalid");
    s3.expect_inspect().times(0);
    let guard = guard(
        s3,
        never_called_comparer("HTTP://rekognition.eu-west-1.amazonaws.com"),
        Policy::new(),
    );

    // Both images are bytes: the S3 endpoint is irrelevant, Rekognition's is not.
    let violations = refusal(guard.compare(live_photo(), live_photo()).await.unwrap_err());
    assert!(matches!(
        &violations[..],
        [Violation::InsecureEndpoint(e)] if e.service() == Service::Rekognition
    ));
}

#[tokio::test]
async fn an_insecure_verifier_endpoint_is_never_called() {
    let mut v = verifier("http://organizations.local");
    v.expect_verify().times(0);
    let violations = refusal(
        verified_guard(v, never_called_comparer(REKOGNITION_ENDPOINT))
            .compare(live_photo(), live_photo())
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        &violations[..],
        [Violation::InsecureEndpoint(e)] if e.service() == Service::Organizations
    ));
}

#[tokio::test]
async fn an_endpoint_that_turns_insecure_is_refused_even_after_passing() {
    // The guard remembers endpoints it found to be HTTPS; it must still see
    // a changed endpoint.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut rekognition = MockFaceAnalyzer::new();
    rekognition.expect_endpoint().returning(move || {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            REKOGNITION_ENDPOINT.to_owned()
        } else {
            "http://rekognition.eu-west-1.amazonaws.com".to_owned()
        }
    });
    rekognition
        .expect_compare()
        .times(1)
        .returning(|_| Ok(one_match(99.9)));
    let guard = guard(inspector(S3_ENDPOINT), rekognition, Policy::new());
    assert!(guard
        .compare(live_photo(), live_photo())
        .await
        .unwrap()
        .is_approved());
    for _ in 0..2 {
        let violations = refusal(guard.compare(live_photo(), live_photo()).await.unwrap_err());
        assert!(matches!(
            &violations[..],
            [Violation::InsecureEndpoint(e)] if e.service() == Service::Rekognition
        ));
    }
}
