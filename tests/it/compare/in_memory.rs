//! Comparisons on the in-memory simulation: version pinning, concurrency
//! of the checks, audit events, the verification cache, the conformance
//! suite.

use std::time::Duration;

use async_trait::async_trait;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    AccountId, BackendError, BackendErrorKind, Error, Guard, HeadObjectRequest, ObjectFacts,
    OptOutEvidence, Policy, S3Backend, S3ObjectRef, Verdict, AUDIT_TARGET,
};

use crate::support::memory::*;
use crate::support::wrap::{S3Wrap, Wrapped};
use crate::support::{self, KEY};

#[tokio::test]
async fn the_comparison_reads_the_version_the_check_saw() {
    let aws = library();
    aws.put(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    let guard = guard_over(
        Wrapped(SwapAfterCheck {
            backend: aws.clone(),
        }),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );

    let reference = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let decision = guard
        .compare(reference, live_photo(&aws, "ada"))
        .await
        .unwrap();
    // Unpinned, the swapped-in photo (grace) would have been compared.
    assert_eq!(decision.verdict.similarity(), Some(99.6));
    match decision.source {
        rekognition_guard::CheckedImage::S3 { object: o, .. } => {
            assert_eq!(o.reference().version_id(), Some("v1"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn both_objects_are_checked_concurrently() {
    let aws = library();
    aws.put(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    aws.put(
        "library-photos",
        "kiosk/today.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject {
                kms_key_id: Some(KEY.into()),
                ..SimulatedObject::new(rekognition_guard::SseAlgorithm::AwsKmsDsse)
            }
        },
    );
    let inspector = NeedsTwoAtOnce {
        backend: aws.clone(),
        barrier: tokio::sync::Barrier::new(2),
    };
    let guard = guard_over(
        Wrapped(inspector),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let source = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let target = S3ObjectRef::parse("s3://library-photos/kiosk/today.jpg").unwrap();
    // Sequential checks would wait on the barrier forever.
    let decision = tokio::time::timeout(Duration::from_secs(5), guard.compare(source, target))
        .await
        .expect("the two HeadObject checks must run concurrently")
        .unwrap();
    assert!(decision.is_approved());
}

#[tokio::test]
async fn wrong_bucket_owner_and_sse_c_are_backend_errors() {
    let aws = library();
    aws.put(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    aws.put(
        "library-photos",
        "members/sse-c.jpg",
        SimulatedObject {
            sse_customer_algorithm: Some("AES256".into()),
            ..SimulatedObject::new(rekognition_guard::SseAlgorithm::None)
        },
    );
    let policy = Policy::any_kms_key()
        .with_versioning_required(false)
        .with_expected_bucket_owner(AccountId::parse("999988887777").unwrap());
    let guard = guard_over(aws.clone(), &aws, policy);
    let err = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            live_photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::AccessDenied),
        "{err:?}"
    );
    assert!(err.to_string().contains("999988887777"), "{err}");

    let guard = guard_over(
        aws.clone(),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let err = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/sse-c.jpg").unwrap(),
            live_photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SSE-C"), "{err}");
    assert_eq!(aws.calls().compare_faces, 0);
}

#[tokio::test]
async fn different_faces_are_denied() {
    let aws = library();
    aws.put(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    let guard = guard_over(
        aws.clone(),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let decision = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            live_photo(&aws, "grace"),
        )
        .await
        .unwrap();
    assert_eq!(decision.verdict, Verdict::NoMatch);
}

#[tokio::test]
async fn every_decision_is_audited_without_image_bytes() {
    support::capture::start();
    let aws = library();
    aws.create_bucket("audit-photos", OWNER, true);
    aws.put(
        "audit-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    aws.put(
        "audit-photos",
        "members/bob.jpg",
        SimulatedObject {
            face: Some("bob".into()),
            ..SimulatedObject::new(rekognition_guard::SseAlgorithm::Aes256)
        },
    );
    let guard = guard_over(
        aws.clone(),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let ada = S3ObjectRef::parse("s3://audit-photos/members/ada.jpg").unwrap();
    let bob = S3ObjectRef::parse("s3://audit-photos/members/bob.jpg").unwrap();

    let decision = guard.compare(ada, live_photo(&aws, "ada")).await.unwrap();
    let refused = guard
        .compare(bob, live_photo(&aws, "bob"))
        .await
        .unwrap_err();

    let out = support::capture::logged();
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(AUDIT_TARGET) && l.contains("s3://audit-photos/"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("decision=\"match\""), "{}", lines[0]);
    assert!(
        lines[0].contains("s3://audit-photos/members/ada.jpg (version v1"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(KEY), "{}", lines[0]);
    assert!(
        lines[0].contains("[checked now]"),
        "each S3 image says where its check came from: {}",
        lines[0]
    );
    assert!(lines[0].contains("similarity=99.6"), "{}", lines[0]);
    assert!(lines[0].contains("opt_out=\"attested\""), "{}", lines[0]);
    assert!(lines[1].contains("decision=\"refused\""), "{}", lines[1]);
    assert!(lines[1].contains("SSE-S3 (AES256)"), "{}", lines[1]);

    // No image bytes anywhere: not in logs, Debug or Display of results.
    let everything = format!("{out}{decision:?}{refused:?}{refused}{guard:?}");
    let marker = std::str::from_utf8(MARKER).unwrap();
    assert!(
        !everything.contains(marker),
        "image bytes leaked: {everything}"
    );
    let hex: String = MARKER.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !everything.to_lowercase().contains(&hex),
        "image bytes leaked as hex"
    );
    assert!(
        !everything.contains(&format!("{:?}", &MARKER[..4])),
        "image bytes leaked as a list"
    );
}

#[tokio::test]
async fn text_a_service_answered_cannot_forge_an_audit_line() {
    support::capture::start();
    let aws = library();
    let forging = ForgingInspector {
        backend: aws.clone(),
    };
    let guard = guard_over(
        Wrapped(forging),
        &aws,
        Policy::any_kms_key().with_versioning_required(false),
    );
    let reference = S3ObjectRef::parse("s3://library-photos/members/forged.jpg").unwrap();
    let refused = guard
        .compare(reference, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    let shown = format!("{refused} {refused:?}");
    assert!(!support::capture::has_log_unsafe(&shown), "{shown:?}");
    assert!(shown.contains("\\u{2028}"), "{shown}");
    assert_eq!(aws.calls().compare_faces, 0);

    let out = support::capture::logged();
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("members/forged.jpg"))
        .collect();
    assert_eq!(lines.len(), 1, "one audit event, on one line: {out}");
    assert!(lines[0].contains("decision=\"refused\""), "{}", lines[0]);
    for line in out.lines() {
        assert!(!support::capture::has_log_unsafe(line), "{line:?}");
    }
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("2026-11-30T10:00:00Z")),
        "a forged line reached the log: {out}"
    );
}

mod verification_cache {
    use super::*;
    use rekognition_guard::CacheConfig;

    fn setup() -> (InMemoryBackend, S3ObjectRef, S3ObjectRef) {
        let aws = library();
        let v = aws
            .put(
                "library-photos",
                "members/ada.jpg",
                SimulatedObject {
                    face: Some("ada".into()),
                    ..SimulatedObject::sse_kms(KEY)
                },
            )
            .unwrap();
        let pinned = S3ObjectRef::parse(&format!(
            "s3://library-photos/members/ada.jpg?versionId={v}"
        ))
        .unwrap();
        let latest = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        (aws, pinned, latest)
    }

    fn guard_with(aws: &InMemoryBackend, cache: Option<CacheConfig>) -> Guard {
        Guard::new(
            rekognition_guard::PhotoStore::new(
                aws.clone(),
                Policy::any_kms_key().with_versioning_required(false),
            )
            .with_verification_cache(cache),
            aws.clone(),
            OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_warm_compare_of_a_pinned_reference_sends_no_head_object() {
        let (aws, pinned, _) = setup();
        let guard = guard_with(&aws, Some(CacheConfig::default()));
        for round in 1..=3 {
            let d = guard.compare(pinned.clone(), pinned.clone()).await.unwrap();
            assert!(d.is_approved());
            // Source and target are checked concurrently on the cold call,
            // so both may miss the cache: at most two HeadObjects, ever.
            assert!(
                aws.calls().head_object <= 2,
                "round {round}: {}",
                aws.calls().head_object
            );
        }
        let before = aws.calls().head_object;
        // Clones share the cache.
        let clone = guard.clone();
        clone
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert_eq!(aws.calls().head_object, before);
        assert_eq!(aws.calls().compare_faces, 4);
    }

    #[tokio::test]
    async fn unversioned_references_are_always_checked_again() {
        let (aws, _, latest) = setup();
        let guard = guard_with(&aws, Some(CacheConfig::default()));
        for n in 1..=3 {
            guard
                .compare(latest.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
            assert_eq!(aws.calls().head_object, n);
        }
    }

    #[tokio::test]
    async fn refusals_are_never_cached() {
        let aws = library();
        let v = aws
            .put(
                "library-photos",
                "members/alan.jpg",
                SimulatedObject {
                    face: Some("alan".into()),
                    ..SimulatedObject::new(rekognition_guard::SseAlgorithm::Aes256)
                },
            )
            .unwrap();
        let pinned = S3ObjectRef::parse(&format!(
            "s3://library-photos/members/alan.jpg?versionId={v}"
        ))
        .unwrap();
        let guard = guard_with(&aws, Some(CacheConfig::default()));
        for n in 1..=3 {
            assert!(guard
                .compare(pinned.clone(), live_photo(&aws, "alan"))
                .await
                .is_err());
            assert_eq!(aws.calls().head_object, n);
        }
        assert_eq!(aws.calls().compare_faces, 0);
    }

    #[tokio::test]
    async fn entries_expire_and_the_cache_can_be_turned_off() {
        let (aws, pinned, _) = setup();
        let guard = guard_with(&aws, Some(CacheConfig::new(Duration::from_millis(50), 100)));
        guard
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        guard
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert_eq!(aws.calls().head_object, 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        guard
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert_eq!(
            aws.calls().head_object,
            2,
            "an expired pass is checked again"
        );

        let (aws, pinned, _) = setup();
        let uncached = guard_with(&aws, None);
        for n in 1..=3 {
            uncached
                .compare(pinned.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
            assert_eq!(aws.calls().head_object, n);
        }
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let aws = library();
        let guard = guard_with(&aws, Some(CacheConfig::new(Duration::from_secs(60), 2)));
        let mut refs = Vec::new();
        for i in 0..50 {
            let key = format!("members/m{i}.jpg");
            let v = aws
                .put(
                    "library-photos",
                    &key,
                    SimulatedObject {
                        face: Some("ada".into()),
                        ..SimulatedObject::sse_kms(KEY)
                    },
                )
                .unwrap();
            refs.push(
                S3ObjectRef::new("library-photos", &key)
                    .unwrap()
                    .with_version_id(&v)
                    .unwrap(),
            );
        }
        for r in &refs {
            guard
                .compare(r.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
        }
        let after_fill = aws.calls().head_object;
        assert_eq!(after_fill, 50);
        // Going over them again: most were evicted and are checked again.
        for r in &refs {
            guard
                .compare(r.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
        }
        assert!(
            aws.calls().head_object - after_fill >= 45,
            "{}",
            aws.calls().head_object - after_fill
        );
    }
}

/// Races made deterministic: a stand-in holds a backend's answer until the
/// test releases it (`support::gate`), so what happens meanwhile happens
/// every run.
mod races {

    use std::sync::Arc;

    use async_trait::async_trait;
    use rekognition_guard::erasure::EraseOptions;

    use rekognition_guard::memory::InMemoryBackend;
    use rekognition_guard::{
        BackendError, Error, Guard, HeadObjectRequest, ObjectFacts, S3Backend, S3ObjectRef,
    };

    use crate::support::gate::*;
    use crate::support::wrap::{S3Wrap, Wrapped};

    /// S3 whose HeadObject answers are taken at once and handed back only
    /// when released: an answer given before whatever the test does in
    /// between.
    #[derive(Debug)]
    struct HeldHead {
        aws: InMemoryBackend,
        gate: Arc<Gate>,
    }

    #[async_trait]
    impl S3Wrap for HeldHead {
        fn inner(&self) -> &dyn S3Backend {
            &self.aws
        }
        async fn head_object(&self, r: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
            let answered = self.aws.head_object(r).await;
            self.gate.hold().await;
            answered
        }
    }

    /// A check whose HeadObject was answered before the key was erased (or
    /// forgotten) must not cache its pass after the erasure cleared the
    /// cache: the next comparison checks again, finds the photo gone, and
    /// sends nothing to Rekognition.
    #[tokio::test]
    async fn a_check_answered_before_an_erasure_is_not_cached_after_it() {
        for forget_only in [false, true] {
            let aws = world();
            let ada = enrolled(&aws);
            let gate = Arc::new(Gate::default());
            let held = HeldHead {
                aws: aws.clone(),
                gate: gate.clone(),
            };
            let guard = Guard::new(
                rekognition_guard::PhotoStore::new(Wrapped(held), policy()),
                aws.clone(),
                evidence(),
            );

            let check = tokio::spawn({
                let (guard, ada) = (guard.clone(), ada.clone());
                async move { guard.store().check(&ada).await }
            });
            gate.until_arrived(1).await;
            // Meanwhile: the member is erased (or the check forgotten).
            if forget_only {
                guard.store().forget_check(&ada);
            } else {
                let key = S3ObjectRef::new(ada.bucket(), ada.key()).unwrap();
                let receipt = guard
                    .store()
                    .erase(&key, EraseOptions::default())
                    .await
                    .unwrap();
                assert!(receipt.is_complete(), "{receipt}");
            }
            gate.release(1);
            check.await.unwrap().expect("the check was answered before");

            let inspected = aws.calls().head_object;
            let compares = aws.calls().compare_faces;
            gate.release(1);
            let live = {
                let bytes = b"\xFF\xD8\xFF\xE0 live photo of ada".to_vec();
                aws.register_image(&bytes, "ada");
                rekognition_guard::FaceImage::from_vec(bytes).unwrap()
            };
            let result = guard.compare(&ada, live).await;
            assert_eq!(
                aws.calls().head_object,
                inspected + 1,
                "forget_only={forget_only}: HeadObject again, not the cache"
            );
            if forget_only {
                assert!(result.expect("still stored").is_approved());
            } else {
                assert!(
                    matches!(&result, Err(Error::Backend(e)) if e.kind() == rekognition_guard::BackendErrorKind::NotFound),
                    "{result:?}"
                );
                assert_eq!(
                    aws.calls().compare_faces,
                    compares,
                    "nothing sent for an erased photo"
                );
            }
        }
    }
}

/// An inspector that only answers once two inspections are in flight.
#[derive(Debug)]
struct NeedsTwoAtOnce {
    backend: InMemoryBackend,
    barrier: tokio::sync::Barrier,
}

#[async_trait]
impl S3Wrap for NeedsTwoAtOnce {
    fn inner(&self) -> &dyn S3Backend {
        &self.backend
    }
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        self.barrier.wait().await;
        self.backend.head_object(request).await
    }
}

/// Reports whatever a hostile or broken S3 might send in text headers.
#[derive(Debug)]
struct ForgingInspector {
    backend: InMemoryBackend,
}

#[async_trait]
impl S3Wrap for ForgingInspector {
    fn inner(&self) -> &dyn S3Backend {
        &self.backend
    }
    async fn head_object(&self, _request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        const FORGED: &str =
            "\u{2028}2026-11-30T10:00:00Z  INFO rekognition_guard::audit: decision=\"match\"";
        Ok(ObjectFacts {
            sse_customer_algorithm: Some(format!("AES256\u{202e}{FORGED}")),
            content_length: Some(1000),
            ..ObjectFacts::new(rekognition_guard::SseAlgorithm::Other(format!(
                "aws:kms{FORGED}"
            )))
        })
    }
}
