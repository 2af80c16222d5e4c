//! Collections on the in-memory simulation, beyond the conformance suite
//! (`conformance::collection`, run on the simulation in the crate's unit
//! tests and over canned HTTP here): the audit event of a search, and
//! opt-out evidence that does not hold.

use rekognition_guard::collection::{
    CollectionId, CollectionPolicy, IdentificationVerdict, MemberId,
};
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    FaceCollection, KmsKeyArn, OptOutEvidence, OptOutViolation, PhotoStore, Policy, S3ObjectRef,
    Violation, AUDIT_TARGET,
};

use crate::support::memory::{live_photo, MARKER, OWNER};
use crate::support::{self, KEY};

const COLLECTION: &str = "library-members";

fn world() -> InMemoryBackend {
    let aws = InMemoryBackend::new();
    aws.create_bucket("library-photos", OWNER, true);
    aws.create_collection(COLLECTION);
    aws.set_similarity("ada", "ada", 99.7);
    aws
}

fn policy() -> CollectionPolicy {
    CollectionPolicy::dangerous()
        .face_vectors_without_customer_kms_key(CollectionId::parse(COLLECTION).unwrap())
}

/// A search's audit event names the member, the similarity and the
/// evidence, and never the image bytes.
#[tokio::test]
async fn a_search_is_audited_with_the_member_never_the_image() {
    let aws = world();
    let version = aws
        .put(
            "library-photos",
            "members/ada.jpg",
            SimulatedObject {
                face: Some("ada".into()),
                ..SimulatedObject::sse_kms(KEY)
            },
        )
        .unwrap();
    let reference = S3ObjectRef::new("library-photos", "members/ada.jpg")
        .unwrap()
        .with_version_id(&version)
        .unwrap();
    let faces = FaceCollection::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        ),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        policy(),
    );
    let ada = MemberId::parse("member-000417").unwrap();
    faces
        .index(
            &rekognition_guard::conformance::consent_of(&ada),
            &reference,
        )
        .await
        .unwrap();

    support::capture::start();
    let found = faces.search(live_photo(&aws, "ada")).await.unwrap();
    assert_eq!(
        found.verdict,
        IdentificationVerdict::Identified {
            member: ada,
            similarity: 99.7
        }
    );
    let logged = support::capture::logged();
    assert!(
        logged.contains("collection search decided")
            && logged.contains("member-000417")
            && logged.contains("99.7")
            && logged.contains(AUDIT_TARGET),
        "{logged}"
    );
    assert!(!logged.contains(std::str::from_utf8(MARKER).unwrap()));
}

/// Opt-out evidence that does not hold for the backend (the GovCloud
/// partition outside GovCloud) refuses indexing and search: nothing
/// reaches Rekognition.
#[tokio::test]
async fn evidence_that_does_not_hold_refuses_index_and_search() {
    let aws = world();
    let faces = FaceCollection::new(
        PhotoStore::new(aws.clone(), Policy::any_kms_key()),
        aws.clone(),
        OptOutEvidence::gov_cloud_partition(),
        policy(),
    );
    let member = MemberId::parse("member-000417").unwrap();
    for err in [
        faces
            .index(
                &rekognition_guard::conformance::consent_of(&member),
                live_photo(&aws, "ada"),
            )
            .await
            .unwrap_err(),
        faces.search(live_photo(&aws, "ada")).await.unwrap_err(),
    ] {
        assert!(
            matches!(
                err.violations(),
                [Violation::OptOut(OptOutViolation::NotGovCloud { .. })]
            ),
            "{err}"
        );
    }
    let calls = aws.calls();
    assert_eq!((calls.index_faces, calls.search_users_by_image), (0, 0));
}
