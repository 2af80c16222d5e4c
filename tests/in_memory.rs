//! End-to-end behaviour on the in-memory simulation: version pinning,
//! concurrency of the checks, audit events.

mod support;

use std::time::Duration;

use async_trait::async_trait;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    AccountId, BackendError, BackendErrorKind, Error, FaceImage, Guard, InspectRequest,
    ObjectFacts, ObjectInspector, OptOutEvidence, Policy, S3ObjectRef, Verdict, Violation,
    AUDIT_TARGET,
};

use support::KEY;
const OWNER: &str = "111122223333";
/// A marker inside the test image: it must never appear in any output.
const MARKER: &[u8] = b"BIOMETRIC-MARKER-7f3a";

fn live_photo(backend: &InMemoryBackend, face: &str) -> FaceImage {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(MARKER);
    bytes.extend_from_slice(face.as_bytes());
    backend.register_image(&bytes, face);
    FaceImage::from_vec(bytes).unwrap()
}

fn library() -> InMemoryBackend {
    let backend = InMemoryBackend::new();
    backend.create_bucket("library-photos", OWNER, true);
    backend.set_similarity("ada", "ada", 99.6);
    backend.set_similarity("ada", "grace", 12.0);
    backend
}

fn guard_over(
    inspector: impl ObjectInspector + 'static,
    backend: &InMemoryBackend,
    policy: Policy,
) -> Guard {
    Guard::builder(inspector, backend.clone())
        .policy(policy)
        .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
        .build()
        .unwrap()
}

/// An inspector that lets the object be swapped right after the check: the
/// window between HeadObject and CompareFaces.
#[derive(Debug)]
struct SwapAfterCheck {
    backend: InMemoryBackend,
}

#[async_trait]
impl ObjectInspector for SwapAfterCheck {
    fn endpoint(&self) -> String {
        self.backend.endpoint()
    }
    async fn inspect(&self, request: &InspectRequest) -> Result<ObjectFacts, BackendError> {
        let facts = self.backend.inspect(request).await;
        let o = request.object();
        self.backend.put_object(
            o.bucket(),
            o.key(),
            SimulatedObject::sse_kms(KEY).with_face("grace"),
        );
        facts
    }
}

#[tokio::test]
async fn the_comparison_reads_the_version_the_check_saw() {
    let aws = library();
    aws.put_object(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject::sse_kms(KEY).with_face("ada"),
    );
    let guard = guard_over(
        SwapAfterCheck {
            backend: aws.clone(),
        },
        &aws,
        Policy::new(),
    );

    let reference = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let decision = guard
        .compare(reference, live_photo(&aws, "ada"))
        .await
        .unwrap();
    // Unpinned, the swapped-in photo (grace) would have been compared.
    assert_eq!(decision.verdict().similarity(), Some(99.6));
    match decision.source() {
        rekognition_guard::CheckedImage::S3 { object: o, .. } => {
            assert_eq!(o.version_id(), Some("v1"))
        }
        other => panic!("{other:?}"),
    }
}

/// An inspector that only answers once two inspections are in flight.
#[derive(Debug)]
struct NeedsTwoAtOnce {
    backend: InMemoryBackend,
    barrier: tokio::sync::Barrier,
}

#[async_trait]
impl ObjectInspector for NeedsTwoAtOnce {
    fn endpoint(&self) -> String {
        self.backend.endpoint()
    }
    async fn inspect(&self, request: &InspectRequest) -> Result<ObjectFacts, BackendError> {
        self.barrier.wait().await;
        self.backend.inspect(request).await
    }
}

#[tokio::test]
async fn both_objects_are_checked_concurrently() {
    let aws = library();
    aws.put_object(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject::sse_kms(KEY).with_face("ada"),
    );
    aws.put_object(
        "library-photos",
        "kiosk/today.jpg",
        SimulatedObject::dsse_kms(KEY).with_face("ada"),
    );
    let inspector = NeedsTwoAtOnce {
        backend: aws.clone(),
        barrier: tokio::sync::Barrier::new(2),
    };
    let guard = guard_over(inspector, &aws, Policy::new());
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
    aws.put_object(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject::sse_kms(KEY).with_face("ada"),
    );
    aws.put_object(
        "library-photos",
        "members/sse-c.jpg",
        SimulatedObject::sse_c(),
    );
    let policy = Policy::new().expected_bucket_owner(AccountId::parse("999988887777").unwrap());
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

    let guard = guard_over(aws.clone(), &aws, Policy::new());
    let err = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/sse-c.jpg").unwrap(),
            live_photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SSE-C"), "{err}");
    assert_eq!(aws.compare_calls(), 0);
}

#[tokio::test]
async fn different_faces_are_denied() {
    let aws = library();
    aws.put_object(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject::sse_kms(KEY).with_face("ada"),
    );
    let guard = guard_over(aws.clone(), &aws, Policy::new());
    let decision = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            live_photo(&aws, "grace"),
        )
        .await
        .unwrap();
    assert_eq!(decision.verdict(), &Verdict::NoMatch);
}

#[tokio::test]
async fn every_decision_is_audited_without_image_bytes() {
    support::capture::start();
    let aws = library();
    aws.create_bucket("audit-photos", OWNER, true);
    aws.put_object(
        "audit-photos",
        "members/ada.jpg",
        SimulatedObject::sse_kms(KEY).with_face("ada"),
    );
    aws.put_object(
        "audit-photos",
        "members/bob.jpg",
        SimulatedObject::sse_s3().with_face("bob"),
    );
    let guard = guard_over(aws.clone(), &aws, Policy::new());
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

/// Reports whatever a hostile or broken S3 might send in text headers.
#[derive(Debug)]
struct ForgingInspector;

#[async_trait]
impl ObjectInspector for ForgingInspector {
    fn endpoint(&self) -> String {
        "https://s3.eu-west-1.amazonaws.com".into()
    }
    async fn inspect(&self, _request: &InspectRequest) -> Result<ObjectFacts, BackendError> {
        const FORGED: &str =
            "\u{2028}2026-11-30T10:00:00Z  INFO rekognition_guard::audit: decision=\"match\"";
        Ok(
            ObjectFacts::new(rekognition_guard::SseAlgorithm::from_header(Some(
                &format!("aws:kms{FORGED}"),
            )))
            .with_sse_customer_algorithm(format!("AES256\u{202e}{FORGED}"))
            .with_content_length(1000),
        )
    }
}

#[tokio::test]
async fn text_a_service_answered_cannot_forge_an_audit_line() {
    support::capture::start();
    let aws = library();
    let guard = guard_over(ForgingInspector, &aws, Policy::new());
    let reference = S3ObjectRef::parse("s3://library-photos/members/forged.jpg").unwrap();
    let refused = guard
        .compare(reference, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    let shown = format!("{refused} {refused:?}");
    assert!(
        !rekognition_guard::text::has_log_unsafe(&shown),
        "{shown:?}"
    );
    assert!(shown.contains("\\u{2028}"), "{shown}");
    assert_eq!(aws.compare_calls(), 0);

    let out = support::capture::logged();
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("members/forged.jpg"))
        .collect();
    assert_eq!(lines.len(), 1, "one audit event, on one line: {out}");
    assert!(lines[0].contains("decision=\"refused\""), "{}", lines[0]);
    for line in out.lines() {
        assert!(!rekognition_guard::text::has_log_unsafe(line), "{line:?}");
    }
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("2026-11-30T10:00:00Z")),
        "a forged line reached the log: {out}"
    );
}

mod enrollment {
    use super::*;
    use rekognition_guard::{ConfigError, InputError, Service};

    fn enrolling_guard(aws: &InMemoryBackend, policy: Policy) -> Guard {
        Guard::builder(aws.clone(), aws.clone())
            .uploader(aws.clone())
            .policy(policy)
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
            .build()
            .unwrap()
    }

    fn kms_policy() -> Policy {
        Policy::new()
            .allow_kms_key(rekognition_guard::KmsKeyArn::parse(KEY).unwrap())
            .require_versioning(true)
    }

    /// The quality gate runs before the upload: a photo with two faces is
    /// rejected with the reason and never stored; `assess_face` tells a
    /// kiosk the same without enrolling.
    #[tokio::test]
    async fn a_photo_that_fails_the_quality_gate_is_never_stored() {
        use rekognition_guard::{FaceDetail, QualityIssue};
        let aws = library();
        aws.set_face_details("crowd", vec![FaceDetail::good(), FaceDetail::good()]);
        let guard = enrolling_guard(&aws, kms_policy());
        let object = S3ObjectRef::parse("s3://library-photos/members/crowd.jpg").unwrap();
        let err = guard
            .enroll(&object, live_photo(&aws, "crowd"))
            .await
            .unwrap_err();
        match &err {
            Error::PhotoRejected(a) => assert!(
                matches!(a.issues(), [QualityIssue::SeveralFaces { count: 2 }]),
                "{a}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("2 faces found"), "{err}");
        assert_eq!(aws.inspect_calls(), 0, "nothing stored, nothing read back");
        assert!(
            guard.check(&object).await.is_err(),
            "the object does not exist"
        );

        let assessment = guard.assess_face(live_photo(&aws, "crowd")).await.unwrap();
        assert!(!assessment.is_acceptable());
        let assessment = guard.assess_face(live_photo(&aws, "ada")).await.unwrap();
        assert!(assessment.is_acceptable(), "{assessment}");
        assert_eq!(aws.detect_calls(), 3);
        assert_eq!(aws.compare_calls(), 0);
    }

    #[tokio::test]
    async fn an_enrolled_photo_is_stored_with_kms_pinned_and_comparable() {
        let aws = library();
        let guard = enrolling_guard(&aws, kms_policy());
        let reference_photo = live_photo(&aws, "ada");
        let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        let enrolled = guard.enroll(&object, reference_photo).await.unwrap();
        assert_eq!(enrolled.kms_key_id(), KEY);
        assert_eq!(enrolled.version_id(), Some("v1"));
        assert_eq!(
            enrolled.reference().to_string(),
            "s3://library-photos/members/ada.jpg?versionId=v1"
        );
        // Later, at the kiosk, the stored pinned reference is compared (and
        // checked again).
        let decision = guard
            .compare(enrolled.reference(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert!(decision.is_approved());
        // Enrollment's read-back checked that exact version: the kiosk's
        // compare reuses the cached pass and sends no HeadObject.
        assert_eq!(aws.inspect_calls(), 1);
    }

    #[tokio::test]
    async fn enrollment_needs_an_uploader_a_key_and_no_version() {
        let aws = library();
        let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();

        let no_uploader = Guard::builder(aws.clone(), aws.clone())
            .policy(kms_policy())
            .opt_out(OptOutEvidence::waived("test").unwrap())
            .build()
            .unwrap();
        let err = no_uploader
            .enroll(&object, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::Invalid(ref m)) if m.contains("uploader")),
            "{err}"
        );

        let no_key = enrolling_guard(&aws, Policy::new());
        let err = no_key
            .enroll(&object, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::Invalid(ref m)) if m.contains("allow_kms_key")),
            "{err}"
        );

        let guard = enrolling_guard(&aws, kms_policy());
        let versioned = object.clone().with_version_id("v9").unwrap();
        let err = guard
            .enroll(&versioned, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Input(InputError::InvalidS3Reference { .. })),
            "{err}"
        );
        assert_eq!(aws.inspect_calls(), 0);
    }

    #[tokio::test]
    async fn enrollment_over_http_or_into_a_foreign_bucket_is_refused() {
        let aws = library();
        let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        let insecure = aws.clone().with_s3_endpoint("http://s3.local");
        let guard = Guard::builder(aws.clone(), aws.clone())
            .uploader(insecure)
            .policy(kms_policy())
            .opt_out(OptOutEvidence::waived("test").unwrap())
            .build()
            .unwrap();
        let err = guard
            .enroll(&object, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(matches!(
            err.as_refusal().unwrap().violations(),
            [Violation::InsecureEndpoint(e)] if e.service() == Service::S3
        ));

        let foreign = enrolling_guard(
            &aws,
            kms_policy().expected_bucket_owner(AccountId::parse("999988887777").unwrap()),
        );
        let err = foreign
            .enroll(&object, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::AccessDenied),
            "{err}"
        );

        // Unversioned bucket under a versioning policy: stored, but refused.
        aws.create_bucket("flat-photos", OWNER, false);
        let flat = S3ObjectRef::parse("s3://flat-photos/members/ada.jpg").unwrap();
        let err = enrolling_guard(&aws, kms_policy())
            .enroll(&flat, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(matches!(
            err.as_refusal().unwrap().violations(),
            [Violation::AtRest(AtRestViolation::VersionRequired { .. })]
        ));
    }
}

mod verification_cache {
    use super::*;
    use rekognition_guard::CacheConfig;

    fn setup() -> (InMemoryBackend, S3ObjectRef, S3ObjectRef) {
        let aws = library();
        let v = aws
            .put_object(
                "library-photos",
                "members/ada.jpg",
                SimulatedObject::sse_kms(KEY).with_face("ada"),
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
        let builder = Guard::builder(aws.clone(), aws.clone())
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap());
        match cache {
            Some(c) => builder.verification_cache(c),
            None => builder.without_verification_cache(),
        }
        .build()
        .unwrap()
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
                aws.inspect_calls() <= 2,
                "round {round}: {}",
                aws.inspect_calls()
            );
        }
        let before = aws.inspect_calls();
        // Clones share the cache.
        let clone = guard.clone();
        clone
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert_eq!(aws.inspect_calls(), before);
        assert_eq!(aws.compare_calls(), 4);
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
            assert_eq!(aws.inspect_calls(), n);
        }
    }

    #[tokio::test]
    async fn refusals_are_never_cached() {
        let aws = library();
        let v = aws
            .put_object(
                "library-photos",
                "members/alan.jpg",
                SimulatedObject::sse_s3().with_face("alan"),
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
            assert_eq!(aws.inspect_calls(), n);
        }
        assert_eq!(aws.compare_calls(), 0);
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
        assert_eq!(aws.inspect_calls(), 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        guard
            .compare(pinned.clone(), live_photo(&aws, "ada"))
            .await
            .unwrap();
        assert_eq!(aws.inspect_calls(), 2, "an expired pass is checked again");

        let (aws, pinned, _) = setup();
        let uncached = guard_with(&aws, None);
        for n in 1..=3 {
            uncached
                .compare(pinned.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
            assert_eq!(aws.inspect_calls(), n);
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
                .put_object(
                    "library-photos",
                    &key,
                    SimulatedObject::sse_kms(KEY).with_face("ada"),
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
        let after_fill = aws.inspect_calls();
        assert_eq!(after_fill, 50);
        // Going over them again: most were evicted and are checked again.
        for r in &refs {
            guard
                .compare(r.clone(), live_photo(&aws, "ada"))
                .await
                .unwrap();
        }
        assert!(
            aws.inspect_calls() - after_fill >= 45,
            "{}",
            aws.inspect_calls() - after_fill
        );
    }
}

/// The conformance suite (`rekognition_guard::conformance`) on the
/// in-memory simulation.
#[tokio::test]
async fn conformance() {
    rekognition_guard::conformance::run_all(&rekognition_guard::conformance::InMemoryHarness::new())
        .await;
}

/// The Face Liveness conformance suite
/// (`rekognition_guard::conformance::liveness`) on the simulation.
#[tokio::test]
async fn liveness_conformance() {
    rekognition_guard::conformance::liveness::run_all(
        &rekognition_guard::conformance::liveness::InMemoryLivenessHarness::new(),
    )
    .await;
}

/// The erasure conformance suite (`rekognition_guard::conformance::erasure`)
/// on the simulation.
#[tokio::test]
async fn erasure_conformance() {
    rekognition_guard::conformance::erasure::run_all(
        &rekognition_guard::conformance::erasure::InMemoryErasureHarness::new(),
    )
    .await;
}

/// Retention and liveness artifacts, on the simulation (the per-key
/// erasure scenarios are the conformance suite's).
mod retention {
    use std::time::{Duration, SystemTime};

    use rekognition_guard::erasure::{EraseOptions, MemberRecord, RetentionPolicy};
    use rekognition_guard::liveness::{KioskId, LivenessPolicy};
    use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness, SimulatedObject};
    use rekognition_guard::{Guard, KmsKeyArn, OptOutEvidence, Policy, S3ObjectRef};

    use super::KEY;

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    fn world() -> (InMemoryBackend, Guard) {
        let aws = InMemoryBackend::new();
        aws.create_bucket("library-photos", "111122223333", true);
        aws.create_bucket("library-liveness", "111122223333", true);
        aws.set_default_encryption("library-liveness", Some(KEY));
        aws.set_similarity("ada", "ada", 99.5);
        let guard = Guard::builder(aws.clone(), aws.clone())
            .bucket_auditor(aws.clone())
            .eraser(aws.clone())
            .policy(Policy::new().allow_kms_key(KmsKeyArn::parse(KEY).unwrap()))
            .liveness(LivenessPolicy::new("library-liveness").unwrap())
            .opt_out(OptOutEvidence::attested("AWS Support case 1234567890").unwrap())
            .build()
            .unwrap();
        (aws, guard)
    }

    fn enrolled(aws: &InMemoryBackend, name: &str) -> S3ObjectRef {
        let key = format!("members/{name}.jpg");
        let v = aws
            .put_object(
                "library-photos",
                &key,
                SimulatedObject::sse_kms(KEY).with_face(name),
            )
            .unwrap();
        S3ObjectRef::new("library-photos", &key)
            .unwrap()
            .with_version_id(&v)
            .unwrap()
    }

    #[tokio::test]
    async fn a_sweep_erases_exactly_the_members_past_the_retention_period() {
        let (aws, guard) = world();
        let now = SystemTime::now();
        let records = vec![
            MemberRecord {
                reference: enrolled(&aws, "ada"),
                last_interaction: now - 4 * YEAR,
            },
            MemberRecord {
                reference: enrolled(&aws, "grace"),
                last_interaction: now - YEAR,
            },
        ];
        let policy = RetentionPolicy::new(RetentionPolicy::BIPA_MAXIMUM);

        let dry = guard
            .sweep_retention_at(
                records.clone(),
                &policy,
                EraseOptions::new().dry_run(true),
                now,
            )
            .await;
        assert!(dry.is_dry_run());
        assert_eq!((dry.examined(), dry.due()), (2, 1));
        assert_eq!(dry.receipts()[0].key(), "members/ada.jpg");
        assert_eq!(aws.delete_calls(), 0, "a dry run deletes nothing");

        let summary = guard
            .sweep_retention_at(records, &policy, EraseOptions::new(), now)
            .await;
        assert_eq!(
            (summary.examined(), summary.due(), summary.complete()),
            (2, 1, 1)
        );
        assert!(summary.failed().is_empty());
        assert_eq!(aws.delete_calls(), 1);
        // Ada is gone, Grace is not.
        let ada = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        assert!(guard.check(&ada).await.is_err());
        let grace = S3ObjectRef::parse("s3://library-photos/members/grace.jpg").unwrap();
        guard.check(&grace).await.expect("grace stays");
        assert!(
            summary.to_string().contains("1 erased completely"),
            "{summary}"
        );
    }

    /// A sweep counts photos, not records: a member listed twice is one
    /// photo, due only by their latest interaction, erased once; a dry
    /// run says what it would erase, not that anything is incomplete.
    #[tokio::test]
    async fn a_sweep_counts_each_photo_once_and_a_dry_run_says_what_it_would_erase() {
        let (aws, guard) = world();
        let now = SystemTime::now();
        let old = now - 4 * YEAR;
        let mut records = Vec::new();
        for name in ["ada", "grace", "hedy", "katherine", "mary"] {
            records.push(MemberRecord {
                reference: enrolled(&aws, name),
                last_interaction: old,
            });
        }
        // Ada listed again (same photo, an older version pinned): one
        // photo. Mary listed again with a recent interaction: not due.
        records.push(MemberRecord {
            reference: records[0].reference.clone(),
            last_interaction: old - YEAR,
        });
        records.push(MemberRecord {
            reference: records[4].reference.clone(),
            last_interaction: now - YEAR,
        });
        // Katherine's photo cannot be erased (a legal hold), hedy's has two
        // versions.
        let katherine = records[3].reference.clone();
        aws.set_object_lock(
            katherine.bucket(),
            katherine.key(),
            katherine.version_id().unwrap(),
            rekognition_guard::erasure::ObjectLockFacts::none().with_legal_hold(),
        );
        enrolled(&aws, "hedy");
        let policy = RetentionPolicy::new(RetentionPolicy::BIPA_MAXIMUM);

        let dry = guard
            .sweep_retention_at(
                records.clone(),
                &policy,
                EraseOptions::new().dry_run(true),
                now,
            )
            .await;
        assert_eq!((dry.examined(), dry.due(), dry.complete()), (5, 4, 0));
        assert_eq!(
            dry.would_erase(),
            5,
            "ada, grace, katherine and hedy's two versions"
        );
        let text = dry.to_string();
        assert!(
            text.contains("would erase 5 versions and delete markers of 4 photos")
                && !text.contains("incomplete"),
            "{text}"
        );
        assert_eq!(aws.delete_calls(), 0);

        let summary = guard
            .sweep_retention_at(records, &policy, EraseOptions::new(), now)
            .await;
        assert_eq!(
            (summary.examined(), summary.due(), summary.complete()),
            (5, 4, 3)
        );
        assert_eq!(summary.would_erase(), 0);
        assert_eq!(summary.receipts().len(), 4, "each due photo erased once");
        let text = summary.to_string();
        assert!(
            text.contains("5 examined, 4 due, 3 erased completely, 1 incomplete"),
            "{text}"
        );
        let mary = S3ObjectRef::parse("s3://library-photos/members/mary.jpg").unwrap();
        guard.check(&mary).await.expect("mary interacted recently");
    }

    /// With MFA Delete on, S3 deletes no version without the owner's MFA
    /// code: the receipt says so, and each version remains for that
    /// reason (not a generic hint).
    #[tokio::test]
    async fn mfa_delete_is_named_as_what_blocks_an_erasure() {
        let (aws, guard) = world();
        let ada = enrolled(&aws, "ada");
        aws.set_mfa_delete("library-photos", true);
        let key = S3ObjectRef::new(ada.bucket(), ada.key()).unwrap();
        let receipt = guard.erase(&key, EraseOptions::new()).await.unwrap();
        assert!(!receipt.is_complete());
        assert_eq!(receipt.mfa_delete_enabled(), Some(true));
        assert_eq!(receipt.remaining().len(), 1);
        assert_eq!(receipt.remaining()[0].reason.label(), "mfa_delete");
        assert!(
            receipt.to_string().contains("MFA Delete enabled"),
            "{receipt}"
        );

        // Without it, a refusal does not talk about MFA at all.
        aws.set_mfa_delete("library-photos", false);
        let receipt = guard.erase(&key, EraseOptions::new()).await.unwrap();
        assert!(receipt.is_complete(), "{receipt}");
        assert_eq!(receipt.mfa_delete_enabled(), Some(false));
    }

    #[tokio::test]
    async fn erasing_a_members_liveness_artifacts_leaves_other_members_alone() {
        let (aws, guard) = world();
        let ada = enrolled(&aws, "ada");
        let grace = enrolled(&aws, "grace");
        let kiosk = KioskId::new("kiosk-1").unwrap();
        for (member, face) in [(&ada, "ada"), (&ada, "ada"), (&grace, "grace")] {
            let session = guard.start_liveness(member, &kiosk).await.unwrap();
            aws.finish_liveness(session.id(), SimulatedLiveness::live(99.0, face));
        }
        let receipts = guard
            .erase_liveness_artifacts(&ada, EraseOptions::new())
            .await
            .unwrap();
        assert_eq!(receipts.len(), 2, "one reference image per session");
        assert!(receipts.iter().all(|r| r.is_complete()));
        assert!(receipts
            .iter()
            .all(|r| r.bucket() == "library-liveness" && r.key().contains("member-")));
        // Grace's session output is still there.
        let again = guard
            .erase_liveness_artifacts(&ada, EraseOptions::new().dry_run(true))
            .await
            .unwrap();
        assert!(again.is_empty(), "nothing of ada's remains");
        let graces = guard
            .erase_liveness_artifacts(&grace, EraseOptions::new().dry_run(true))
            .await
            .unwrap();
        assert_eq!(graces.len(), 1);
    }
}

/// Races made deterministic: a stand-in holds a backend's answer until the
/// test releases it, so what happens meanwhile happens every run.
mod races {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use futures_util::stream::{FuturesUnordered, StreamExt};
    use rekognition_guard::erasure::EraseOptions;
    use rekognition_guard::liveness::{
        FailureLimit, KioskId, LivenessFacts, LivenessPolicy, LivenessStatus, LivenessVerdict,
        LivenessViolation, NotLiveReason,
    };
    use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness, SimulatedObject};
    use rekognition_guard::{
        AccountId, BackendError, CompareRequest, ComparisonFacts, DetectRequest, Error,
        FaceAnalyzer, FaceDetail, Guard, InspectRequest, KmsKeyArn, LivenessResultsRequest,
        LivenessSessionRequest, ObjectFacts, ObjectInspector, OptOutEvidence, Policy, S3ObjectRef,
        Violation,
    };
    use tokio::sync::{Notify, Semaphore};

    use super::KEY;

    /// Holds answers until released: each held call first counts itself
    /// as arrived (and says so), then waits for a permit.
    #[derive(Debug)]
    struct Gate {
        arrived: AtomicUsize,
        arrival: Notify,
        permits: Semaphore,
    }

    impl Default for Gate {
        fn default() -> Self {
            Self {
                arrived: AtomicUsize::new(0),
                arrival: Notify::new(),
                permits: Semaphore::new(0),
            }
        }
    }

    impl Gate {
        async fn hold(&self) {
            self.arrived.fetch_add(1, Ordering::SeqCst);
            self.arrival.notify_waiters();
            self.permits.acquire().await.expect("open").forget();
        }

        /// Waits until `n` calls are held (a condition, not a timer; the
        /// bound only turns a hang into a failure).
        async fn until_arrived(&self, n: usize) {
            tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    let notified = self.arrival.notified();
                    if self.arrived.load(Ordering::SeqCst) >= n {
                        return;
                    }
                    notified.await;
                }
            })
            .await
            .expect("the calls arrive");
        }

        fn release(&self, n: usize) {
            self.permits.add_permits(n);
        }
    }

    /// Rekognition whose liveness results are held at the gate.
    #[derive(Debug)]
    struct HeldResults {
        aws: InMemoryBackend,
        gate: Arc<Gate>,
    }

    #[async_trait]
    impl FaceAnalyzer for HeldResults {
        fn endpoint(&self) -> String {
            FaceAnalyzer::endpoint(&self.aws)
        }
        async fn compare(&self, r: CompareRequest) -> Result<ComparisonFacts, BackendError> {
            self.aws.compare(r).await
        }
        async fn detect_faces(&self, r: DetectRequest) -> Result<Vec<FaceDetail>, BackendError> {
            self.aws.detect_faces(r).await
        }
        async fn caller_account(&self) -> Result<AccountId, BackendError> {
            self.aws.caller_account().await
        }
        async fn create_liveness_session(
            &self,
            r: LivenessSessionRequest,
        ) -> Result<rekognition_guard::liveness::LivenessSessionId, BackendError> {
            self.aws.create_liveness_session(r).await
        }
        async fn liveness_session_results(
            &self,
            r: LivenessResultsRequest,
        ) -> Result<LivenessFacts, BackendError> {
            self.gate.hold().await;
            self.aws.liveness_session_results(r).await
        }
    }

    /// S3 whose HeadObject answers are taken at once and handed back only
    /// when released: an answer given before whatever the test does in
    /// between.
    #[derive(Debug)]
    struct HeldHead {
        aws: InMemoryBackend,
        gate: Arc<Gate>,
    }

    #[async_trait]
    impl ObjectInspector for HeldHead {
        fn endpoint(&self) -> String {
            ObjectInspector::endpoint(&self.aws)
        }
        async fn inspect(&self, r: &InspectRequest) -> Result<ObjectFacts, BackendError> {
            let answered = self.aws.inspect(r).await;
            self.gate.hold().await;
            answered
        }
    }

    fn world() -> InMemoryBackend {
        let aws = InMemoryBackend::new();
        aws.create_bucket("library-photos", "111122223333", true);
        aws.create_bucket("library-liveness", "111122223333", true);
        aws.set_default_encryption("library-liveness", Some(KEY));
        aws.set_similarity("ada", "ada", 99.5);
        aws
    }

    fn enrolled(aws: &InMemoryBackend) -> S3ObjectRef {
        let v = aws
            .put_object(
                "library-photos",
                "members/ada.jpg",
                SimulatedObject::sse_kms(KEY).with_face("ada"),
            )
            .expect("a versioned bucket");
        S3ObjectRef::new("library-photos", "members/ada.jpg")
            .and_then(|r| r.with_version_id(&v))
            .unwrap()
    }

    fn policy() -> Policy {
        Policy::new()
            .allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
            .require_versioning(true)
    }

    fn evidence() -> OptOutEvidence {
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap()
    }

    /// Twenty verifications at one kiosk run at once, every one of them a
    /// failure: only as many as the failure limit allows reach
    /// Rekognition; the others are refused before any AWS call, while the
    /// first are still in flight. When those fail the kiosk is locked.
    #[tokio::test]
    async fn concurrent_failures_cannot_outrun_the_kiosk_limit() {
        let aws = world();
        let ada = enrolled(&aws);
        let gate = Arc::new(Gate::default());
        let held = HeldResults {
            aws: aws.clone(),
            gate: gate.clone(),
        };
        let limit = FailureLimit::new(5, Duration::from_secs(180), Duration::from_secs(1800));
        let guard = Guard::builder(aws.clone(), held)
            .bucket_auditor(aws.clone())
            .policy(policy())
            .liveness(
                LivenessPolicy::new("library-liveness")
                    .unwrap()
                    .with_failure_limit(limit),
            )
            .opt_out(evidence())
            .build()
            .unwrap();
        let at = KioskId::new("kiosk-under-attack").unwrap();
        let mut sessions = Vec::new();
        for _ in 0..20 {
            let started = guard.start_liveness(&ada, &at).await.unwrap();
            aws.finish_liveness(
                started.id(),
                SimulatedLiveness::ended(LivenessStatus::Failed),
            );
            sessions.push(started.id().clone());
        }
        let before = aws.liveness_calls();

        let mut running: FuturesUnordered<_> = sessions
            .iter()
            .map(|id| {
                let (guard, ada, at) = (guard.clone(), ada.clone(), at.clone());
                async move { guard.verify_liveness(id, &ada, &at).await }
            })
            .collect();
        // The held five cannot finish, so the first fifteen to finish are
        // the refused ones.
        for _ in 0..15 {
            let err = tokio::time::timeout(Duration::from_secs(30), running.next())
                .await
                .expect("refusals come at once")
                .unwrap()
                .expect_err("refused");
            assert!(
                matches!(
                    err.as_refusal().map(|r| r.violations()),
                    Some([Violation::Liveness(LivenessViolation::KioskBusy {
                        in_flight: 5,
                        ..
                    })])
                ),
                "{err}"
            );
        }
        gate.until_arrived(5).await;
        assert_eq!(aws.liveness_calls() - before, 0, "held before answering");
        assert_eq!(gate.arrived.load(Ordering::SeqCst), 5);

        gate.release(5);
        for _ in 0..5 {
            let d = tokio::time::timeout(Duration::from_secs(30), running.next())
                .await
                .expect("released")
                .unwrap()
                .expect("decided");
            assert_eq!(
                d.verdict(),
                &LivenessVerdict::NotLive(NotLiveReason::Failed)
            );
        }
        assert_eq!(aws.liveness_calls() - before, 5, "five reached Rekognition");
        // Five failures: locked, for new checks and every clone.
        let err = guard
            .clone()
            .verify_liveness(&sessions[0], &ada, &at)
            .await
            .expect_err("locked");
        assert!(
            matches!(
                err.as_refusal().map(|r| r.violations()),
                Some([Violation::Liveness(LivenessViolation::KioskLocked { .. })])
            ),
            "{err}"
        );
        assert_eq!(gate.arrived.load(Ordering::SeqCst), 5);
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
            let guard = Guard::builder(held, aws.clone())
                .eraser(aws.clone())
                .policy(policy())
                .opt_out(evidence())
                .build()
                .unwrap();

            let check = tokio::spawn({
                let (guard, ada) = (guard.clone(), ada.clone());
                async move { guard.check(&ada).await }
            });
            gate.until_arrived(1).await;
            // Meanwhile: the member is erased (or the check forgotten).
            if forget_only {
                guard.forget_check(&ada);
            } else {
                let key = S3ObjectRef::new(ada.bucket(), ada.key()).unwrap();
                let receipt = guard.erase(&key, EraseOptions::new()).await.unwrap();
                assert!(receipt.is_complete(), "{receipt}");
            }
            gate.release(1);
            check.await.unwrap().expect("the check was answered before");

            let inspected = aws.inspect_calls();
            let compares = aws.compare_calls();
            gate.release(1);
            let live = {
                let bytes = b"\xFF\xD8\xFF\xE0 live photo of ada".to_vec();
                aws.register_image(&bytes, "ada");
                rekognition_guard::FaceImage::from_vec(bytes).unwrap()
            };
            let result = guard.compare(&ada, live).await;
            assert_eq!(
                aws.inspect_calls(),
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
                    aws.compare_calls(),
                    compares,
                    "nothing sent for an erased photo"
                );
            }
        }
    }
}
