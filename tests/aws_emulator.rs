//! The guard against a real AWS emulator (moto) over real TLS, with the real
//! SDK clients trusting only a throwaway CA.
//!
//! `bash scripts/test` starts moto and sets `RG_EMULATOR_ENDPOINT` and
//! `RG_EMULATOR_CA`. Under it (`RG_EMULATOR_REQUIRED=1`), or in CI, a
//! missing emulator fails these tests; run bare with `cargo test`, they say
//! loudly that they were skipped.
//!
//! moto's CompareFaces returns a canned match without reading the images,
//! so these tests prove the checks, the pinning and the transport, not face
//! matching. Its S3 keeps the SSE headers given at PutObject.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_s3::types::ServerSideEncryption;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::AtRestViolation;
use rekognition_guard::{
    BackendErrorKind, CheckedImage, Error, Guard, KmsKeyArn, OptOutEvidence, Policy, Service,
    Violation,
};
use support::emulator::{configure_well, emulator, fixture, Fixture};

/// Counts requests that actually went out and got an answer.
#[derive(Debug, Clone, Default)]
struct Wire {
    transmitted: Arc<AtomicUsize>,
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "test wire recorder"
    }
    fn read_after_transmit(
        &self,
        _ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.transmitted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Wire {
    fn transmitted(&self) -> usize {
        self.transmitted.load(Ordering::SeqCst)
    }
}

impl Fixture {
    /// A guard over backends built from the emulator config, with a wire
    /// recorder on the Rekognition client.
    fn guard(&self, policy: Policy, rekognition_endpoint: Option<&str>) -> (Guard, Wire) {
        let (guard, _s3, rekognition) = self.recorded_guard(policy, rekognition_endpoint);
        (guard, rekognition)
    }

    /// Like [`Fixture::guard`], with wire recorders on both clients (S3's
    /// counts HeadObject requests).
    fn recorded_guard(
        &self,
        policy: Policy,
        rekognition_endpoint: Option<&str>,
    ) -> (Guard, Wire, Wire) {
        let (s3_wire, wire) = (Wire::default(), Wire::default());
        let mut rekognition =
            aws_sdk_rekognition::config::Builder::from(&self.sdk).interceptor(wire.clone());
        if let Some(endpoint) = rekognition_endpoint {
            rekognition = rekognition.endpoint_url(endpoint);
        }
        let s3 = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(true)
            .interceptor(s3_wire.clone());
        let aws = AwsBackend::builder()
            .s3_client(aws_sdk_s3::Client::from_conf(s3.build()))
            .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition.build()))
            .ca_bundle_pem(self.emu.ca.clone())
            .trust_native_roots(false)
            .build()
            .expect("backend");
        let guard = aws
            .guard_builder()
            .policy(policy)
            .opt_out(OptOutEvidence::attested("emulator test account").unwrap())
            .build()
            .unwrap();
        (guard, s3_wire, wire)
    }
}

#[tokio::test]
async fn dsse_kms_is_read_as_kms_and_fails_closed_without_a_key_id() {
    // Real S3 reports the KMS key id for DSSE-KMS objects too, and the guard
    // then approves them (tests/aws_mocked.rs, from real headers). moto 5.1.22
    // sends the key-id header only for aws:kms, so here the guard sees
    // DSSE-KMS with no key and must refuse rather than guess.
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put(
        "members/grace.jpg",
        Some(ServerSideEncryption::AwsKmsDsse),
        Some(&f.kms_key),
    )
    .await;
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key("members/grace.jpg")
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKmsDsse)
    );

    let (guard, wire) = f.guard(Policy::new(), None);
    let err = guard
        .compare(
            f.reference("members/grace.jpg"),
            f.reference("members/grace.jpg"),
        )
        .await
        .unwrap_err();
    let violations = err.as_refusal().expect("a refusal").violations();
    assert!(
        violations
            .iter()
            .all(|v| matches!(v, Violation::AtRest(AtRestViolation::KmsKeyUnknown { .. }))),
        "DSSE-KMS must be read as KMS (only the key id is missing): {violations:?}"
    );
    assert_eq!(wire.transmitted(), 0);
}

#[tokio::test]
async fn unversioned_objects_are_refused_when_versioning_is_required() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, false).await;
    f.put_kms("members/ada.jpg").await;
    let (guard, wire) = f.guard(Policy::new().require_versioning(true), None);
    let err = guard
        .compare(
            f.reference("members/ada.jpg"),
            f.reference("members/ada.jpg"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err.as_refusal().unwrap().violations(),
        [
            Violation::AtRest(AtRestViolation::VersionRequired { .. }),
            Violation::AtRest(AtRestViolation::VersionRequired { .. })
        ]
    ));
    assert_eq!(wire.transmitted(), 0);
}

#[tokio::test]
async fn a_missing_object_or_version_is_not_found() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms("members/ada.jpg").await;
    let (guard, wire) = f.guard(Policy::new(), None);
    for reference in [
        f.reference("members/nobody.jpg"),
        f.reference("members/ada.jpg")
            .with_version_id("no-such-version")
            .unwrap(),
    ] {
        let err = guard
            .compare(reference.clone(), f.reference("members/ada.jpg"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.service() == Service::S3 && matches!(b.kind(), BackendErrorKind::NotFound | BackendErrorKind::InvalidRequest)),
            "{reference}: {err:?}"
        );
    }
    assert_eq!(wire.transmitted(), 0);
}

#[tokio::test]
async fn a_server_outside_the_trusted_ca_is_rejected() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms("members/ada.jpg").await;
    // Trust an unrelated CA only: the TLS handshake with moto must fail.
    let unrelated = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-ca.pem"
    ))
    .unwrap();
    let aws = AwsBackend::builder()
        .sdk_config(&f.sdk)
        .ca_bundle_pem(unrelated)
        .trust_native_roots(false)
        .build()
        .unwrap();
    let guard = aws
        .guard_builder()
        .opt_out(OptOutEvidence::attested("emulator test account").unwrap())
        .build()
        .unwrap();
    let err = guard
        .check(&f.reference("members/ada.jpg"))
        .await
        .unwrap_err();
    // Not a connection failure to retry: the certificate is refused.
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::CertificateNotTrusted),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

impl Fixture {
    fn backend(&self) -> AwsBackend {
        AwsBackend::builder()
            .sdk_config(&self.sdk)
            .endpoint_url(&self.emu.endpoint)
            .ca_bundle_pem(self.emu.ca.clone())
            .trust_native_roots(false)
            .build()
            .expect("backend")
    }
}

/// Rekognition as moto lacks it (DetectFaces for the enrollment gate):
/// an HTTPS stand-in on loopback answering DetectFaces with one good face
/// and CompareFaces with a match.
async fn rekognition_stand_in() -> support::fault_server::FaultServer {
    use support::fault_server::{Fault, FaultServer, Request, Response, Script};
    FaultServer::start(Fault::Script(Script(std::sync::Arc::new(
        |r: &Request| match r.operation().as_deref() {
            Some("DetectFaces") => Response::detect_faces(&[support::answers::Face::GOOD]),
            Some("CompareFaces") => Response::compare_match(99.9),
            _ => Response::status(400),
        },
    ))))
    .await
}

#[tokio::test]
async fn enrollment_stores_with_sse_kms_and_returns_the_pinned_version() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let rekognition = rekognition_stand_in().await;
    let mut both_cas = f.emu.ca.clone();
    both_cas.extend_from_slice(support::fault_server::ca_pem().as_bytes());
    let guard = AwsBackend::builder()
        .sdk_config(&f.sdk)
        .endpoint_url(&f.emu.endpoint)
        .rekognition_endpoint_url(&rekognition.endpoint)
        .ca_bundle_pem(both_cas)
        .trust_native_roots(false)
        .build()
        .expect("backend")
        .guard_builder()
        .policy(
            Policy::new()
                .allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
                .require_versioning(true),
        )
        .opt_out(OptOutEvidence::attested("emulator test account").unwrap())
        .build()
        .unwrap();
    let photo =
        rekognition_guard::FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 member photo".to_vec()).unwrap();
    let enrolled = guard
        .enroll(&f.reference("members/new.jpg"), photo)
        .await
        .unwrap();
    let version = enrolled.version_id().expect("versioned bucket").to_owned();
    assert_eq!(enrolled.kms_key_id(), f.kms_key);

    // What S3 says, independently of the guard.
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key("members/new.jpg")
            .version_id(&version)
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(f.kms_key.as_str()));
    assert_eq!(head.content_type(), Some("image/jpeg"));

    let decision = guard
        .compare(enrolled.reference(), enrolled.reference())
        .await
        .unwrap();
    assert!(decision.is_approved());
    let operations: Vec<String> = rekognition.requests();
    assert_eq!(
        operations.len(),
        2,
        "DetectFaces, then CompareFaces: {operations:?}"
    );
}

#[tokio::test]
async fn a_well_configured_bucket_passes_the_audit() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    configure_well(&f).await;
    let policy = Policy::new().allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap());
    let audit = f.backend().audit_bucket(&f.bucket, &policy).await.unwrap();
    assert!(audit.is_compliant(), "{:#?}", audit.findings());
    assert_eq!(
        audit.findings(),
        &[],
        "bucket key on: not even an info finding"
    );

    // The same bucket, audited against another key allowlist.
    let other = Policy::new().allow_kms_key(KmsKeyArn::parse(&f.other_kms_key).unwrap());
    let audit = f.backend().audit_bucket(&f.bucket, &other).await.unwrap();
    let ids: Vec<_> = audit.findings().iter().map(|x| x.id).collect();
    assert_eq!(ids, ["default-encryption-key-not-allowed"]);
    assert!(!audit.is_compliant());
}

#[tokio::test]
async fn a_badly_configured_bucket_has_one_finding_per_gap() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, false).await;
    let audit = f
        .backend()
        .audit_bucket(&f.bucket, &Policy::new())
        .await
        .unwrap();
    let mut ids: Vec<_> = audit.findings().iter().map(|x| x.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "default-encryption-not-kms",
            "no-inventory-encryption-status",
            "no-tls-only-policy",
            "public-access-not-blocked",
            "uploads-not-forced-to-kms",
            "versioning-not-enabled",
        ],
        "{:#?}",
        audit.findings()
    );
    assert!(!audit.is_compliant());
    for finding in audit.findings() {
        assert!(
            !finding.detail.is_empty() && !finding.fix.is_empty(),
            "{finding:?}"
        );
    }

    let err = f
        .backend()
        .audit_bucket("rg-no-such-bucket-x", &Policy::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::NotFound),
        "{err:?}"
    );
}

/// The narrowed policy of the adversarial review, over the real wire: a
/// TLS deny for one foreign account and a KMS deny on an unused prefix
/// are not credited, and the audit says why.
#[tokio::test]
async fn a_narrowed_bucket_policy_is_not_credited() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    configure_well(&f).await;
    let b = &f.bucket;
    let narrowed = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::{b}/*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}},"StringEquals":{{"aws:PrincipalAccount":"999999999999"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{b}/unused/*","Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"aws:kms"}}}}}}]}}"#
    );
    f.s3.put_bucket_policy()
        .bucket(b)
        .policy(narrowed)
        .send()
        .await
        .expect("PutBucketPolicy");
    let policy = Policy::new().allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap());
    let audit = f.backend().audit_bucket(b, &policy).await.unwrap();
    let ids: Vec<_> = audit.findings().iter().map(|x| x.id).collect();
    assert_eq!(
        ids,
        [
            "no-tls-only-policy",
            "uploads-not-forced-to-kms",
            "policy-statement-not-credited",
            "policy-statement-not-credited",
        ],
        "{:#?}",
        audit.findings()
    );
    assert!(!audit.is_compliant());
}

/// In a bucket whose versioning is suspended, an upload gets S3's `null`
/// version, which the next upload replaces in place: it pins nothing, so
/// it never satisfies `require_versioning` and is never cached.
///
/// moto 5.1.22 reports no version id at all for such an object (real S3
/// says `null`) and answers `?versionId=null` with 400; the exact S3
/// headers are covered in `aws_mocked::a_null_version_is_never_a_pin_nor_cached`.
#[tokio::test]
async fn the_null_version_of_a_suspended_bucket_is_never_a_pin() {
    use aws_sdk_s3::types::BucketVersioningStatus;
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    support::emulator::set_versioning(&f.s3, &f.bucket, BucketVersioningStatus::Suspended).await;
    let version = f.put_kms("members/suspended.jpg").await;
    assert!(
        version.is_none() || version.as_deref() == Some("null"),
        "{version:?}"
    );
    let latest = f.reference("members/suspended.jpg");
    let requested_null = latest.clone().with_version_id("null").unwrap();
    let photo = || {
        rekognition_guard::FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 live kiosk photo".to_vec())
            .unwrap()
    };

    let (guard, s3_wire, wire) = f.recorded_guard(Policy::new().require_versioning(true), None);
    let err = guard.compare(latest.clone(), photo()).await.unwrap_err();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations()),
            Some([Violation::AtRest(AtRestViolation::VersionRequired { object })]) if *object == latest
        ),
        "{err}"
    );
    // moto cannot serve ?versionId=null: an error, never an approval.
    assert!(guard.compare(requested_null, photo()).await.is_err());
    assert_eq!(s3_wire.transmitted(), 2, "each reference was checked");
    assert_eq!(wire.transmitted(), 0, "nothing reached Rekognition");

    // Without require_versioning it passes, unpinned, and is never cached:
    // two comparisons in a row send HeadObject twice.
    let (guard, s3_wire, wire) = f.recorded_guard(Policy::new(), None);
    for _ in 0..2 {
        let decision = guard.compare(latest.clone(), photo()).await.unwrap();
        match decision.source() {
            CheckedImage::S3 { object, origin } => {
                assert!(!object.is_pinned(), "{object}");
                assert_eq!(*origin, rekognition_guard::CheckOrigin::HeadObject);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(s3_wire.transmitted(), 2);
    assert_eq!(wire.transmitted(), 2);
}

/// The conformance suite (`rekognition_guard::conformance`) on the real
/// SDK clients against the emulator over TLS.
#[tokio::test]
async fn conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::conformance::MotoHarness::new(fixture(emu, true).await);
    rekognition_guard::conformance::run_all(&harness).await;
}

/// The erasure conformance suite (`rekognition_guard::conformance::erasure`)
/// on the real SDK clients against the emulator over TLS: versions, delete
/// markers, the null version, Object Lock retention and legal holds.
#[tokio::test]
async fn erasure_conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::erasure::MotoErasureHarness::new(fixture(emu, true).await);
    rekognition_guard::conformance::erasure::run_all(&harness).await;
}
