//! Insecure endpoints with the exported mockall mocks: a request the
//! backend refused on the wire (as the AWS backend's HTTPS-only interceptor
//! does) is a refusal naming the endpoint, and nothing is compared.

use rekognition_guard::testing::MockRekognitionBackend;
use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::{Policy, Service, Violation};

use crate::support::mocks::*;

#[tokio::test]
async fn insecure_s3_endpoint_means_no_head_object_and_no_compare() {
    let mut s3 = inspector();
    s3.expect_head_object().times(1).returning(|_| {
        Err(refused_on_the_wire(
            Service::S3,
            "HeadObject",
            "http://127.0.0.1:9000",
        ))
    });
    let guard = guard(
        s3,
        never_called_comparer(),
        Policy::any_kms_key().with_versioning_required(false),
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
    let mut s3 = inspector();
    s3.expect_head_object().times(0);
    let mut rekognition = comparer();
    rekognition.expect_compare_faces().times(1).returning(|_| {
        Err(refused_on_the_wire(
            Service::Rekognition,
            "CompareFaces",
            "HTTP://rekognition.eu-west-1.amazonaws.com",
        ))
    });
    let guard = guard(
        s3,
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );

    // Both images are bytes: no S3 call, and Rekognition's refusal is a
    // refusal, not a backend error.
    let violations = refusal(guard.compare(live_photo(), live_photo()).await.unwrap_err());
    assert!(matches!(
        &violations[..],
        [Violation::InsecureEndpoint(e)] if e.service() == Service::Rekognition
    ));
}

#[tokio::test]
async fn an_insecure_verifier_endpoint_refuses_the_comparison() {
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Err(refused_on_the_wire(
            Service::Organizations,
            "DescribeEffectivePolicy",
            "http://organizations.local",
        ))
    });
    let violations = refusal(
        verified_guard(v, never_called_comparer())
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
    // Nothing about an endpoint is remembered: a request refused on the
    // wire after others passed is still a refusal.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut rekognition = MockRekognitionBackend::new();
    rekognition
        .expect_compare_faces()
        .times(3)
        .returning(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                Ok(one_match(99.9))
            } else {
                Err(refused_on_the_wire(
                    Service::Rekognition,
                    "CompareFaces",
                    "http://rekognition.eu-west-1.amazonaws.com",
                ))
            }
        });
    let guard = guard(
        inspector(),
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );
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
