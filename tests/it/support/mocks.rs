//! Shared by the tests that drive the guard through the exported mockall
//! mocks.
#![allow(dead_code)]

use rekognition_guard::{
    AccountId, BoundingBox, ComparisonFacts, Error, FaceImage, FaceMatch, Guard, MockFaceAnalyzer,
    MockObjectInspector, MockOptOutVerifier, ObjectFacts, OptOutEvidence, Policy, S3ObjectRef,
    SseAlgorithm, Violation,
};

use crate::support::KEY;

pub const S3_ENDPOINT: &str = "https://s3.eu-west-1.amazonaws.com";

pub const REKOGNITION_ENDPOINT: &str = "https://rekognition.eu-west-1.amazonaws.com";

pub fn reference() -> S3ObjectRef {
    S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
}

pub fn live_photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live kiosk photo".to_vec()).unwrap()
}

pub fn kms_facts(version: &str) -> ObjectFacts {
    ObjectFacts::new(SseAlgorithm::AwsKms)
        .with_kms_key_id(KEY)
        .with_version_id(version)
        .with_content_length(48_213)
}

pub fn inspector(endpoint: &str) -> MockObjectInspector {
    let mut m = MockObjectInspector::new();
    m.expect_endpoint().return_const(endpoint.to_owned());
    m
}

pub fn comparer(endpoint: &str) -> MockFaceAnalyzer {
    let mut m = MockFaceAnalyzer::new();
    m.expect_endpoint().return_const(endpoint.to_owned());
    m
}

/// A comparer that must never be asked to compare.
pub fn never_called_comparer(endpoint: &str) -> MockFaceAnalyzer {
    let mut m = comparer(endpoint);
    m.expect_compare().times(0);
    m
}

pub fn attested() -> OptOutEvidence {
    OptOutEvidence::attested("AWS Support case 1234567890").unwrap()
}

pub fn guard(inspector: MockObjectInspector, comparer: MockFaceAnalyzer, policy: Policy) -> Guard {
    Guard::builder(inspector, comparer)
        .policy(policy)
        .opt_out(attested())
        .build()
        .unwrap()
}

pub fn one_match(similarity: f32) -> ComparisonFacts {
    ComparisonFacts::Faces {
        matches: vec![FaceMatch::new(
            similarity,
            BoundingBox::new(0.3, 0.2, 0.4, 0.5),
        )],
        unmatched_faces: 0,
    }
}

pub fn refusal(err: Error) -> Vec<Violation> {
    match err {
        Error::Refused(r) => r.violations().to_vec(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub fn verifier(endpoint: &str) -> MockOptOutVerifier {
    let mut v = MockOptOutVerifier::new();
    v.expect_endpoint().return_const(endpoint.to_owned());
    v
}

/// The account the kiosk's credentials call Rekognition with.
pub const KIOSK_ACCOUNT: &str = "111122223333";

pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// A guard with verified evidence; its comparer calls Rekognition as
/// [`KIOSK_ACCOUNT`].
pub fn verified_guard(verifier: MockOptOutVerifier, mut comparer: MockFaceAnalyzer) -> Guard {
    comparer
        .expect_caller_account()
        .returning(|| Ok(account(KIOSK_ACCOUNT)));
    Guard::builder(inspector(S3_ENDPOINT), comparer)
        .opt_out(OptOutEvidence::verified_by(verifier))
        .build()
        .unwrap()
}
