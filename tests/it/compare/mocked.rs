//! Comparisons driven through the exported mockall mocks, as a downstream
//! crate would use them. Every refusal proves the comparer was never called
//! (`.times(0)`).

use std::sync::Arc;

use rekognition_guard::testing::{MockRekognitionBackend, MockS3Backend};
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    AccountId, BackendError, BackendErrorKind, BoundingBox, CheckedImage, ComparisonFacts, Error,
    FaceMatch, Guard, ImageRole, KmsKeyArn, ObjectFacts, OptOutEvidence, Policy, S3ObjectRef,
    Service, SimilarityThreshold, SseAlgorithm, Verdict, VerifiedImage, Violation,
};

use crate::support::mocks::*;
use crate::support::KEY;

#[tokio::test]
async fn sse_s3_reference_is_refused_and_never_compared() {
    let mut s3 = inspector();
    s3.expect_head_object().times(1).returning(|_| {
        Ok(ObjectFacts {
            content_length: Some(10),
            ..ObjectFacts::new(SseAlgorithm::Aes256)
        })
    });
    let guard = guard(
        s3,
        never_called_comparer(),
        Policy::any_kms_key().with_versioning_required(false),
    );

    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(
        refusal(err),
        vec![Violation::AtRest(AtRestViolation::NotKmsEncrypted {
            object: reference(),
            found: SseAlgorithm::Aes256
        })]
    );
}

#[tokio::test]
async fn every_failed_requirement_of_both_images_is_listed() {
    let target = S3ObjectRef::parse("s3://kiosk-captures/today/1.png").unwrap();
    let mut s3 = inspector();
    s3.expect_head_object().times(2).returning(|req| {
        Ok(if req.object.bucket() == "library-photos" {
            ObjectFacts {
                content_length: Some(10),
                ..ObjectFacts::new(SseAlgorithm::None)
            }
        } else {
            ObjectFacts {
                kms_key_id: Some("arn:aws:kms:eu-west-1:111122223333:key/other".into()),
                content_length: Some(10),
                ..ObjectFacts::new(SseAlgorithm::AwsKms)
            }
        })
    });
    let policy = Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap());
    // The opt-out verifier's request was refused on the wire: plain HTTP.
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Err(refused_on_the_wire(
            Service::Organizations,
            "DescribeEffectivePolicy",
            "http://organizations.local:8080",
        ))
    });
    let mut rekognition = never_called_comparer();
    rekognition
        .expect_caller_account()
        .returning(|| Ok(account(KIOSK_ACCOUNT)));
    let guard = Guard::new(
        rekognition_guard::PhotoStore::new(s3, policy),
        rekognition,
        OptOutEvidence::verified_by(v),
    );

    let violations = refusal(
        guard
            .compare(reference(), target.clone())
            .await
            .unwrap_err(),
    );
    assert_eq!(violations.len(), 5, "{violations:#?}");
    assert!(
        matches!(&violations[0], Violation::InsecureEndpoint(e) if e.service() == Service::Organizations && e.endpoint() == "http://organizations.local:8080")
    );
    assert!(
        matches!(&violations[1], Violation::AtRest(AtRestViolation::NotKmsEncrypted { object, found: SseAlgorithm::None }) if *object == reference())
    );
    assert!(
        matches!(&violations[2], Violation::AtRest(AtRestViolation::VersionRequired { object }) if *object == reference())
    );
    assert!(
        matches!(&violations[3], Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { object, .. }) if *object == target)
    );
    assert!(
        matches!(&violations[4], Violation::AtRest(AtRestViolation::VersionRequired { object }) if *object == target)
    );
}

#[tokio::test]
async fn head_object_failure_is_a_backend_error_and_never_compared() {
    let mut s3 = inspector();
    s3.expect_head_object().times(1).returning(|req| {
        Err(BackendError::new(
            BackendErrorKind::AccessDenied,
            Service::S3,
            "HeadObject",
            format!("403 Forbidden for {}: grant s3:GetObject", req.object),
        ))
    });
    let guard = guard(
        s3,
        never_called_comparer(),
        Policy::any_kms_key().with_versioning_required(false),
    );

    let err = guard.compare(reference(), live_photo()).await.unwrap_err();
    match &err {
        Error::Backend(b) => {
            assert_eq!(b.kind(), BackendErrorKind::AccessDenied);
            assert_eq!(b.service(), Service::S3);
            assert!(err.to_string().contains("s3:GetObject"), "{err}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_checked_version_and_expected_owner_reach_the_backends() {
    let mut s3 = inspector();
    s3.expect_head_object()
        .withf(|req| {
            req.object == reference()
                && req.expected_bucket_owner.as_ref().map(AccountId::as_str) == Some("111122223333")
        })
        .times(1)
        .returning(|_| Ok(kms_facts("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")));
    let mut rekognition = comparer();
    rekognition
        .expect_compare_faces()
        .withf(|req| {
            matches!(&req.source, VerifiedImage::S3(o)
                if o.reference().version_id() == Some("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY") && o.kms_key_id() == KEY)
                && matches!(&req.target, VerifiedImage::Bytes(b) if b.expose_bytes().len() == 20)
                && req.threshold.get() == 99.0
        })
        .times(1)
        .returning(|_| Ok(one_match(99.7)));
    let policy = Policy::any_kms_key()
        .with_versioning_required(false)
        .with_expected_bucket_owner(AccountId::parse("111122223333").unwrap());
    let guard = guard(s3, rekognition, policy);

    let decision = guard.compare(reference(), live_photo()).await.unwrap();
    assert!(decision.is_approved());
    assert_eq!(decision.verdict.similarity(), Some(99.7));
    match decision.source {
        CheckedImage::S3 { object: o, .. } => {
            assert_eq!(
                o.reference().version_id(),
                Some("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(decision.opt_out.kind(), "attested");
}

#[tokio::test]
async fn a_match_below_the_guards_threshold_is_no_match() {
    // A comparer that ignores the threshold it was sent cannot approve.
    let mut rekognition = comparer();
    rekognition
        .expect_compare_faces()
        .times(1)
        .returning(|_| Ok(one_match(98.9)));
    let guard = guard(
        inspector(),
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let decision = guard.compare(live_photo(), live_photo()).await.unwrap();
    assert_eq!(decision.verdict, Verdict::NoMatch);
    assert!(!decision.is_approved());
}

#[tokio::test]
async fn the_best_of_several_matches_decides() {
    let mut rekognition = comparer();
    rekognition.expect_compare_faces().times(1).returning(|_| {
        Ok(ComparisonFacts::Faces {
            matches: vec![
                FaceMatch {
                    similarity: 91.0,
                    bounding_box: BoundingBox::default(),
                },
                FaceMatch {
                    similarity: 99.5,
                    bounding_box: BoundingBox {
                        left: 0.1,
                        top: 0.1,
                        width: 0.2,
                        height: 0.2,
                    },
                },
            ],
            unmatched_faces: 2,
        })
    });
    let policy = Policy::any_kms_key()
        .with_versioning_required(false)
        .with_similarity_threshold(SimilarityThreshold::new(90.0).unwrap());
    let guard = guard(inspector(), rekognition, policy);
    let decision = guard.compare(live_photo(), live_photo()).await.unwrap();
    assert_eq!(
        decision.verdict,
        Verdict::Match {
            similarity: 99.5,
            face: BoundingBox {
                left: 0.1,
                top: 0.1,
                width: 0.2,
                height: 0.2
            }
        }
    );
}

#[tokio::test]
async fn no_face_in_either_image_is_reported_as_such() {
    let cases = [
        (ComparisonFacts::NoFaceInSource, ImageRole::Source),
        (
            ComparisonFacts::Faces {
                matches: vec![],
                unmatched_faces: 0,
            },
            ImageRole::Target,
        ),
    ];
    for (facts, role) in cases {
        let mut rekognition = comparer();
        rekognition
            .expect_compare_faces()
            .times(1)
            .return_once(move |_| Ok(facts));
        let guard = guard(
            inspector(),
            rekognition,
            Policy::any_kms_key().with_versioning_required(false),
        );
        let decision = guard.compare(live_photo(), live_photo()).await.unwrap();
        assert_eq!(decision.verdict, Verdict::NoFace { image: Some(role) });
        assert!(!decision.is_approved());
    }
    // Faces in the target, none matching: no match, not "no face".
    let mut rekognition = comparer();
    rekognition.expect_compare_faces().times(1).returning(|_| {
        Ok(ComparisonFacts::Faces {
            matches: vec![],
            unmatched_faces: 3,
        })
    });
    let guard = guard(
        inspector(),
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );
    assert_eq!(
        guard
            .compare(live_photo(), live_photo())
            .await
            .unwrap()
            .verdict,
        Verdict::NoMatch
    );
}

#[tokio::test]
async fn untrustworthy_comparer_answers_are_errors_not_approvals() {
    for similarity in [100.5, -1.0, f32::NAN, f32::INFINITY] {
        let mut rekognition = comparer();
        rekognition
            .expect_compare_faces()
            .times(1)
            .returning(move |_| Ok(one_match(similarity)));
        let guard = guard(
            inspector(),
            rekognition,
            Policy::any_kms_key().with_versioning_required(false),
        );
        let err = guard.compare(live_photo(), live_photo()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{similarity}: {err:?}"
        );
    }
    let mut rekognition = comparer();
    rekognition.expect_compare_faces().times(1).returning(|_| {
        Ok(ComparisonFacts::Faces {
            matches: vec![FaceMatch {
                similarity: 99.9,
                bounding_box: BoundingBox {
                    left: f32::NAN,
                    top: 0.0,
                    width: 0.1,
                    height: 0.1,
                },
            }],
            unmatched_faces: 0,
        })
    });
    let guard = guard(
        inspector(),
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );
    assert!(guard.compare(live_photo(), live_photo()).await.is_err());
}

#[tokio::test]
async fn comparer_failures_are_backend_errors_with_retry_hints() {
    let mut rekognition = comparer();
    rekognition.expect_compare_faces().times(1).returning(|_| {
        Err(BackendError::new(
            BackendErrorKind::Throttled,
            Service::Rekognition,
            "CompareFaces",
            "ThrottlingException",
        ))
    });
    let guard = guard(
        inspector(),
        rekognition,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let err = guard.compare(live_photo(), live_photo()).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(err.to_string().contains("(retryable)"), "{err}");
}

#[tokio::test]
async fn a_refusal_wins_over_a_concurrent_backend_error() {
    let target = S3ObjectRef::parse("s3://kiosk-captures/1.jpg").unwrap();
    let mut s3 = inspector();
    s3.expect_head_object().times(2).returning(|req| {
        if req.object.bucket() == "library-photos" {
            Ok(ObjectFacts {
                content_length: Some(1),
                ..ObjectFacts::new(SseAlgorithm::Aes256)
            })
        } else {
            Err(BackendError::new(
                BackendErrorKind::ServiceUnavailable,
                Service::S3,
                "HeadObject",
                "503",
            ))
        }
    });
    let guard = guard(
        s3,
        never_called_comparer(),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let violations = refusal(guard.compare(reference(), target).await.unwrap_err());
    assert!(matches!(
        &violations[..],
        [Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. })]
    ));
}

#[tokio::test]
async fn check_alone_returns_the_proof() {
    let mut s3 = inspector();
    s3.expect_head_object()
        .times(1)
        .returning(|_| Ok(kms_facts("v3")));
    let guard = guard(
        s3,
        never_called_comparer(),
        Policy::any_kms_key().with_versioning_required(false),
    );
    let verified = guard.store().check(&reference()).await.unwrap();
    assert_eq!(verified.reference().version_id(), Some("v3"));
    assert_eq!(
        verified.to_string(),
        format!("s3://library-photos/members/ada.jpg (version v3, KMS key {KEY})")
    );
}

#[tokio::test]
async fn shared_backends_can_serve_many_guards() {
    let mut s3 = inspector();
    s3.expect_head_object().times(0);
    let s3: Arc<dyn rekognition_guard::S3Backend> = Arc::new(s3);
    let mut rekognition = comparer();
    rekognition
        .expect_compare_faces()
        .times(2)
        .returning(|_| Ok(one_match(99.2)));
    let rekognition: Arc<dyn rekognition_guard::RekognitionBackend> = Arc::new(rekognition);
    for _ in 0..2 {
        let guard = Guard::new(
            rekognition_guard::PhotoStore::new(
                s3.clone(),
                Policy::any_kms_key().with_versioning_required(false),
            ),
            rekognition.clone(),
            OptOutEvidence::dangerous()
                .waived("integration test account, no real faces")
                .unwrap(),
        );
        let d = guard.compare(live_photo(), live_photo()).await.unwrap();
        assert_eq!(d.opt_out.kind(), "waived");
    }
}

mod verification_cache {
    //! What a cached pass can miss, and everything that makes the guard
    //! forget one.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use rekognition_guard::{CacheConfig, CheckOrigin};

    use super::*;

    const OTHER_KEY: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab";

    fn pinned(version: &str) -> S3ObjectRef {
        reference().with_version_id(version).unwrap()
    }

    /// An inspector whose answers `answer` decides from the version asked
    /// and how many HeadObjects came before; counts them in `calls`.
    fn inspector_with(
        calls: Arc<AtomicUsize>,
        answer: impl Fn(&str, usize) -> Result<ObjectFacts, BackendError> + Send + Sync + 'static,
    ) -> MockS3Backend {
        let mut m = inspector();
        m.expect_head_object().returning(move |request| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            answer(request.object.version_id().unwrap_or(""), n)
        });
        m
    }

    fn matching_comparer() -> MockRekognitionBackend {
        let mut m = comparer();
        m.expect_compare_faces().returning(|_| Ok(one_match(99.9)));
        m
    }

    fn cached_guard(
        inspector: MockS3Backend,
        comparer: MockRekognitionBackend,
        cache: CacheConfig,
    ) -> Guard {
        Guard::new(
            rekognition_guard::PhotoStore::new(
                inspector,
                Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
                    .with_versioning_required(false),
            )
            .with_verification_cache(Some(cache)),
            comparer,
            attested(),
        )
    }

    fn origin(decision: &rekognition_guard::Decision) -> CheckOrigin {
        match &decision.source {
            CheckedImage::S3 { origin, .. } => *origin,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_ttl_is_at_most_a_minute() {
        assert!(CacheConfig::default().ttl() <= Duration::from_secs(60));
    }

    /// S3 UpdateObjectEncryption moves a version to another KMS key in
    /// place. Within the TTL a cached pass still names the old key, and
    /// the decision says it is a cached check and how old; after the TTL,
    /// or once forgotten, the new key is checked and refused.
    #[tokio::test]
    async fn a_key_changed_in_place_is_caught_after_the_ttl_or_when_forgotten() {
        let calls = Arc::new(AtomicUsize::new(0));
        // First HeadObject: the allowed key; every later one: another key.
        let answer = |version: &str, n: usize| {
            let facts = kms_facts(version);
            Ok(if n == 0 {
                facts
            } else {
                ObjectFacts {
                    kms_key_id: Some(OTHER_KEY.into()),
                    ..facts
                }
            })
        };
        let guard = cached_guard(
            inspector_with(calls.clone(), answer),
            matching_comparer(),
            CacheConfig::new(Duration::from_secs(60), 100),
        );
        let first = guard.compare(pinned("v1"), live_photo()).await.unwrap();
        assert_eq!(origin(&first), CheckOrigin::HeadObject);
        let second = guard.compare(pinned("v1"), live_photo()).await.unwrap();
        match origin(&second) {
            CheckOrigin::Cache { age } => assert!(age < Duration::from_secs(60)),
            other => panic!("expected a cached check: {other:?}"),
        }
        assert!(
            matches!(&second.source, CheckedImage::S3 { object, .. } if object.kms_key_id() == KEY),
            "{:?}",
            second.source
        );
        assert!(second.source.to_string().contains("cached check"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        guard.store().forget_check(&reference());
        let err = guard.compare(pinned("v1"), live_photo()).await.unwrap_err();
        assert!(
            matches!(refusal(err)[..], [Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { ref kms_key, .. })] if kms_key == OTHER_KEY)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // The same with a short TTL and no help.
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = cached_guard(
            inspector_with(calls.clone(), answer),
            matching_comparer(),
            CacheConfig::new(Duration::from_millis(40), 100),
        );
        guard.compare(pinned("v1"), live_photo()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let err = guard.compare(pinned("v1"), live_photo()).await.unwrap_err();
        assert!(matches!(
            refusal(err)[..],
            [Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { .. })]
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A HeadObject error or a refusal about any version of an object, and
    /// forgetting everything, drop its cached passes.
    #[tokio::test]
    async fn errors_and_refusals_about_an_object_evict_its_cached_checks() {
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = cached_guard(
            inspector_with(calls.clone(), |version, _| match version {
                "broken" => Err(BackendError::new(
                    BackendErrorKind::AccessDenied,
                    Service::S3,
                    "HeadObject",
                    "denied",
                )),
                "sse-s3" => {
                    let mut facts = kms_facts(version);
                    facts.encryption = SseAlgorithm::Aes256;
                    Ok(facts)
                }
                v => Ok(kms_facts(v)),
            }),
            matching_comparer(),
            CacheConfig::default(),
        );
        let heads = || calls.load(Ordering::SeqCst);
        let warm = |expected_heads: usize| {
            let guard = &guard;
            async move {
                guard.compare(pinned("v1"), live_photo()).await.unwrap();
                assert_eq!(heads(), expected_heads);
            }
        };
        warm(1).await;
        warm(1).await; // cached

        guard.store().check(&pinned("broken")).await.unwrap_err();
        warm(3).await; // the error evicted v1 too

        guard
            .compare(pinned("sse-s3"), live_photo())
            .await
            .unwrap_err();
        warm(5).await; // so did the refusal

        guard.store().forget_all_checks();
        warm(6).await;
        warm(6).await;
    }

    /// Rekognition could not read the object (InvalidS3ObjectException) or
    /// was denied: the cached passes of both images go.
    #[tokio::test]
    async fn a_comparison_that_could_not_read_the_object_evicts_it() {
        let calls = Arc::new(AtomicUsize::new(0));
        let compares = Arc::new(AtomicUsize::new(0));
        let mut rekognition = comparer();
        rekognition.expect_compare_faces().returning({
            let compares = compares.clone();
            move |_| {
                if compares.fetch_add(1, Ordering::SeqCst) == 1 {
                    Err(BackendError::new(
                        BackendErrorKind::InvalidS3Object,
                        Service::Rekognition,
                        "CompareFaces",
                        "cannot read the object",
                    ))
                } else {
                    Ok(one_match(99.9))
                }
            }
        });
        let guard = cached_guard(
            inspector_with(calls.clone(), |v, _| Ok(kms_facts(v))),
            rekognition,
            CacheConfig::default(),
        );
        guard.compare(pinned("v1"), live_photo()).await.unwrap();
        let err = guard.compare(pinned("v1"), live_photo()).await.unwrap_err();
        assert!(
            matches!(err, Error::Backend(ref b) if b.kind() == BackendErrorKind::InvalidS3Object)
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the failed one was a cached check"
        );
        let decision = guard.compare(pinned("v1"), live_photo()).await.unwrap();
        assert_eq!(origin(&decision), CheckOrigin::HeadObject);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
