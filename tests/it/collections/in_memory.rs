//! Collections on the in-memory simulation: the whole life of a member's
//! face vector, and every refusal with nothing sent.

use rekognition_guard::collection::{
    CollectionId, CollectionPolicy, IdentificationVerdict, MemberId, FACE_VECTORS_AT_REST,
};
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::FaceCollection;
use rekognition_guard::{
    AtRestViolation, Error, FaceDetail, KmsKeyArn, OptOutEvidence, PhotoStore, Policy,
    QualityIssue, S3ObjectRef, SseAlgorithm, Violation, AUDIT_TARGET,
};

use crate::support::memory::{live_photo, MARKER, OWNER};
use crate::support::{self, KEY};

const COLLECTION: &str = "library-members";

fn world() -> InMemoryBackend {
    let aws = InMemoryBackend::new();
    aws.create_bucket("library-photos", OWNER, true);
    aws.create_collection(COLLECTION);
    aws.set_similarity("ada", "ada", 99.7);
    aws.set_similarity("grace", "grace", 99.4);
    aws.set_similarity("ada", "grace", 11.0);
    aws
}

fn faces(aws: &InMemoryBackend) -> FaceCollection {
    FaceCollection::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        ),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        CollectionPolicy::dangerous()
            .face_vectors_without_customer_kms_key(CollectionId::parse(COLLECTION).unwrap()),
    )
}

/// A member's reference photo, SSE-KMS and pinned.
fn enrolled(aws: &InMemoryBackend, face: &str) -> S3ObjectRef {
    let version = aws
        .put(
            "library-photos",
            &format!("members/{face}.jpg"),
            SimulatedObject {
                face: Some(face.into()),
                ..SimulatedObject::sse_kms(KEY)
            },
        )
        .unwrap();
    S3ObjectRef::new("library-photos", &format!("members/{face}.jpg"))
        .unwrap()
        .with_version_id(&version)
        .unwrap()
}

fn member(id: &str) -> MemberId {
    MemberId::parse(id).unwrap()
}

/// Index two members from their checked, pinned photos; a live photo of
/// one identifies exactly that member (the decision and its audit event
/// name the member and similarity, never image bytes or a vector);
/// forgetting the member removes every face, says so, and a search no
/// longer finds them.
#[tokio::test]
async fn a_member_is_indexed_identified_and_forgotten() {
    let aws = world();
    let faces = faces(&aws);
    let ada = member("member-000417");
    let grace = member("member-000418");
    let indexed = faces.index(&ada, &enrolled(&aws, "ada")).await.unwrap();
    assert_eq!(indexed.member, ada);
    assert_eq!(indexed.face_vectors, FACE_VECTORS_AT_REST);
    assert_eq!(indexed.opt_out.kind(), "attested");
    faces.index(&grace, &enrolled(&aws, "grace")).await.unwrap();

    support::capture::start();
    let found = faces.search(live_photo(&aws, "ada")).await.unwrap();
    assert_eq!(
        found.verdict,
        IdentificationVerdict::Identified {
            member: ada.clone(),
            similarity: 99.7
        }
    );
    assert_eq!(found.threshold.get(), 99.0);
    let logged = support::capture::logged();
    assert!(
        logged.contains("collection search decided")
            && logged.contains("member-000417")
            && logged.contains(AUDIT_TARGET),
        "{logged}"
    );
    assert!(!logged.contains(std::str::from_utf8(MARKER).unwrap()));

    let receipt = faces.collection().forget(&ada).await.unwrap();
    assert!(receipt.is_complete(), "{receipt}");
    assert_eq!(receipt.removed, std::slice::from_ref(&indexed.face_id));
    let found = faces.search(live_photo(&aws, "ada")).await.unwrap();
    assert_eq!(found.verdict, IdentificationVerdict::NoMatch);
    // Forgetting again: nothing left, complete.
    let again = faces.collection().forget(&ada).await.unwrap();
    assert!(again.is_complete() && again.removed.is_empty());
    // The other member is untouched.
    let found = faces.search(live_photo(&aws, "grace")).await.unwrap();
    assert!(found.is_identified(), "{found:?}");
}

/// Two members at or above the threshold: no approval.
#[tokio::test]
async fn two_candidates_above_the_threshold_are_ambiguous_never_identified() {
    let aws = world();
    aws.set_similarity("ada", "twin", 99.6);
    aws.set_similarity("twin", "twin", 99.9);
    let faces = faces(&aws);
    faces
        .index(&member("member-1"), &enrolled(&aws, "ada"))
        .await
        .unwrap();
    faces
        .index(&member("member-2"), &enrolled(&aws, "twin"))
        .await
        .unwrap();
    let found = faces.search(live_photo(&aws, "ada")).await.unwrap();
    assert_eq!(
        found.verdict,
        IdentificationVerdict::Ambiguous { candidates: 2 }
    );
    assert!(!found.is_identified());
}

/// A photo with several faces, or none, is refused with the reason, and no
/// face of it stays indexed.
#[tokio::test]
async fn a_photo_with_several_faces_or_none_is_refused_and_nothing_stays_indexed() {
    let aws = world();
    aws.set_face_details("crowd", vec![FaceDetail::good(), FaceDetail::good()]);
    aws.set_face_details("empty", Vec::new());
    let faces = faces(&aws);
    let m = member("member-9");
    for (face, id) in [("crowd", "several_faces"), ("empty", "no_face")] {
        let err = faces.index(&m, live_photo(&aws, face)).await.unwrap_err();
        match &err {
            Error::PhotoRejected(a) => {
                let ids: Vec<_> = a.issues.iter().map(QualityIssue::id).collect();
                assert_eq!(ids, [id], "{face}");
            }
            other => panic!("{face}: {other:?}"),
        }
    }
    let receipt = faces.collection().forget(&m).await.unwrap();
    assert!(
        receipt.removed.is_empty() && receipt.is_complete(),
        "the refused photo's face was deleted again: {receipt}"
    );
}

/// Refusals send nothing to Rekognition: an image failing the at-rest
/// checks, a plain-HTTP Rekognition endpoint, opt-out evidence that does
/// not hold.
#[tokio::test]
async fn refusals_send_nothing_to_rekognition() {
    let aws = world();
    let sse_s3 = {
        let v = aws
            .put(
                "library-photos",
                "members/alan.jpg",
                SimulatedObject {
                    face: Some("alan".into()),
                    ..SimulatedObject::new(SseAlgorithm::Aes256)
                },
            )
            .unwrap();
        S3ObjectRef::new("library-photos", "members/alan.jpg")
            .unwrap()
            .with_version_id(&v)
            .unwrap()
    };
    let err = faces(&aws)
        .index(&member("member-3"), &sse_s3)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. })]
        ),
        "{err}"
    );

    let insecure = aws.clone().with_endpoint(
        rekognition_guard::Service::Rekognition,
        "http://rekognition.local",
    );
    let err = faces(&insecure)
        .search(live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.violations(), [Violation::InsecureEndpoint(_)]),
        "{err}"
    );

    let outside_gov_cloud = FaceCollection::new(
        PhotoStore::new(aws.clone(), Policy::any_kms_key()),
        aws.clone(),
        OptOutEvidence::gov_cloud_partition(),
        CollectionPolicy::dangerous()
            .face_vectors_without_customer_kms_key(CollectionId::parse(COLLECTION).unwrap()),
    );
    let err = outside_gov_cloud
        .search(live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(err.as_refusal().is_some(), "{err}");

    let calls = aws.calls();
    assert_eq!(
        (calls.index_faces, calls.search_users_by_image),
        (0, 0),
        "nothing reached Rekognition"
    );
}

/// Another person's face indexed for an existing member is not attached
/// to the member (`AssociateFaces` at the policy's threshold finds it does
/// not match: `not_the_member`) and is deleted again; the member keeps
/// only their own face.
#[tokio::test]
async fn another_persons_face_is_never_attached_to_a_member() {
    let aws = world();
    let faces = faces(&aws);
    let ada = member("member-000417");
    let own = faces.index(&ada, &enrolled(&aws, "ada")).await.unwrap();
    let err = faces
        .index(&ada, &enrolled(&aws, "grace"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PhotoRejected(a) if a.issues.iter().any(|i| i.id() == "not_the_member")),
        "{err}"
    );
    let receipt = faces.collection().forget(&ada).await.unwrap();
    assert_eq!(receipt.removed, std::slice::from_ref(&own.face_id));
    assert!(receipt.is_complete());
}

/// The retention sweep reaches collections: a member whose last
/// interaction is older than the retention allows is forgotten; one seen
/// recently (listed twice, the latest interaction counts) keeps their face.
#[tokio::test]
async fn the_retention_sweep_forgets_members_past_retention() {
    use rekognition_guard::erasure::RetentionPolicy;
    use std::time::{Duration, SystemTime};

    let aws = world();
    let faces = faces(&aws);
    let (ada, grace) = (member("member-1"), member("member-2"));
    let ada_face = faces.index(&ada, &enrolled(&aws, "ada")).await.unwrap();
    faces.index(&grace, &enrolled(&aws, "grace")).await.unwrap();

    let now = SystemTime::now();
    let year = Duration::from_secs(365 * 24 * 3600);
    let sweep = faces
        .collection()
        .sweep_retention(
            [
                (ada.clone(), now - 4 * year),
                (grace.clone(), now - 4 * year),
                (grace.clone(), now - Duration::from_secs(60)),
            ],
            &RetentionPolicy::new(3 * year),
            now,
        )
        .await;
    assert_eq!(sweep.examined, 2);
    assert!(sweep.is_complete(), "{sweep:?}");
    assert_eq!(sweep.receipts.len(), 1);
    assert_eq!(sweep.receipts[0].member, ada);
    assert_eq!(sweep.receipts[0].removed, [ada_face.face_id]);
    assert!(faces
        .search(live_photo(&aws, "grace"))
        .await
        .unwrap()
        .is_identified());
    assert_eq!(
        faces.search(live_photo(&aws, "ada")).await.unwrap().verdict,
        IdentificationVerdict::NoMatch
    );
}
