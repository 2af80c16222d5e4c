//! Shared by the tests that drive the guard through the exported mockall
//! mocks.
#![allow(dead_code)]

use rekognition_guard::testing::{MockOptOutVerifier, MockRekognitionBackend, MockS3Backend};
use rekognition_guard::transit::check_endpoint_url;
use rekognition_guard::{
    AccountId, BackendError, BoundingBox, ComparisonFacts, Error, FaceImage, FaceMatch, Guard,
    ObjectFacts, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Service, SseAlgorithm, Violation,
};

use crate::support::KEY;

pub fn reference() -> S3ObjectRef {
    S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
}

pub fn live_photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live kiosk photo".to_vec()).unwrap()
}

pub fn kms_facts(version: &str) -> ObjectFacts {
    ObjectFacts {
        kms_key_id: Some(KEY.into()),
        version_id: Some(version.into()),
        content_length: Some(48_213),
        ..ObjectFacts::new(SseAlgorithm::AwsKms)
    }
}

pub fn inspector() -> MockS3Backend {
    MockS3Backend::new()
}

pub fn comparer() -> MockRekognitionBackend {
    MockRekognitionBackend::new()
}

/// A comparer that must never be asked to compare.
pub fn never_called_comparer() -> MockRekognitionBackend {
    let mut m = comparer();
    m.expect_compare_faces().times(0);
    m
}

/// What a backend reports when the HTTPS-only check on the wire refused
/// `operation` to `url` (as [`HttpsOnly`](rekognition_guard::transit::HttpsOnly)
/// does in the AWS backend): nothing was sent.
pub fn refused_on_the_wire(service: Service, operation: &'static str, url: &str) -> BackendError {
    BackendError::refused_endpoint(operation, check_endpoint_url(service, url).unwrap_err())
}

pub fn attested() -> OptOutEvidence {
    OptOutEvidence::attested("AWS Support case 1234567890").unwrap()
}

pub fn guard(inspector: MockS3Backend, comparer: MockRekognitionBackend, policy: Policy) -> Guard {
    Guard::new(PhotoStore::new(inspector, policy), comparer, attested())
}

pub fn one_match(similarity: f32) -> ComparisonFacts {
    ComparisonFacts::Faces {
        matches: vec![FaceMatch {
            similarity,
            bounding_box: BoundingBox {
                left: 0.3,
                top: 0.2,
                width: 0.4,
                height: 0.5,
            },
        }],
        unmatched_faces: 0,
    }
}

pub fn refusal(err: Error) -> Vec<Violation> {
    match err {
        Error::Refused(r) => r.violations.to_vec(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub fn verifier() -> MockOptOutVerifier {
    MockOptOutVerifier::new()
}

/// The account the kiosk's credentials call Rekognition with.
pub const KIOSK_ACCOUNT: &str = "111122223333";

pub fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// A guard with verified evidence; its comparer calls Rekognition as
/// [`KIOSK_ACCOUNT`].
pub fn verified_guard(verifier: MockOptOutVerifier, mut comparer: MockRekognitionBackend) -> Guard {
    comparer
        .expect_caller_account()
        .returning(|| Ok(account(KIOSK_ACCOUNT)));
    Guard::new(
        PhotoStore::new(
            inspector(),
            Policy::any_kms_key().with_versioning_required(false),
        ),
        comparer,
        OptOutEvidence::verified_by(verifier),
    )
}
