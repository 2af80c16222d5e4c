//! Withdrawal reaching everything on the simulation: the member's photo
//! versions, their Face Liveness images and their collection faces.

use rekognition_guard::collection::{
    CollectionId, CollectionPolicy, IdentificationVerdict, MemberId,
};
use rekognition_guard::conformance::consent_of;
use rekognition_guard::erasure::EraseOptions;
use rekognition_guard::liveness::{KioskId, LivenessPolicy};
use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness};
use rekognition_guard::{
    AtRestViolation, FaceCollection, FaceImage, Guard, KmsKeyArn, OptOutEvidence, PhotoStore,
    Policy, S3ObjectRef, Violation, Withdrawal,
};

use crate::support::memory::{live_photo, OWNER};
use crate::support::KEY;

/// Stored with consent, indexed, verified live at a kiosk; the consent
/// withdrawn: every version of the photo, the session's images and the
/// collection face are gone and the receipt says so; the photo is refused
/// from then on (nothing sent to Rekognition), and a search finds nobody.
#[tokio::test]
async fn a_withdrawal_erases_photos_liveness_images_and_collection_faces() {
    let aws = InMemoryBackend::new();
    aws.create_bucket("library-photos", OWNER, true);
    aws.create_bucket("kiosk-liveness", OWNER, true);
    aws.set_default_encryption("kiosk-liveness", Some(KEY));
    aws.create_collection("library-members");
    aws.set_similarity("ada", "ada", 99.7);
    let store = PhotoStore::new(
        aws.clone(),
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
    );
    let evidence = || OptOutEvidence::attested("AWS Support case 1234567890").unwrap();
    let guard = Guard::new(store.clone(), aws.clone(), evidence());
    let member = MemberId::parse("member-000417").unwrap();
    let consent = consent_of(&member);

    let bytes = b"\xFF\xD8\xFF\xE0 ada's reference photo".to_vec();
    aws.register_image(&bytes, "ada");
    let stored = store
        .store_reference(
            &consent,
            &S3ObjectRef::new("library-photos", "members/ada.jpg").unwrap(),
            FaceImage::from_vec(bytes).unwrap(),
        )
        .await
        .unwrap();
    let reference = stored.reference().clone();

    let faces = FaceCollection::new(
        store.clone(),
        aws.clone(),
        evidence(),
        CollectionPolicy::dangerous()
            .face_vectors_without_customer_kms_key(CollectionId::parse("library-members").unwrap()),
    );
    faces.index(&consent, &reference).await.unwrap();

    let liveness = LivenessPolicy::new("kiosk-liveness").unwrap();
    let kiosk = KioskId::new("branch-1-kiosk-1").unwrap();
    let live = guard.liveness(liveness.clone());
    let session = live.start_session(&reference, &kiosk).await.unwrap();
    aws.finish_liveness(&session.id, SimulatedLiveness::live(99.3, "ada"));
    assert!(live
        .verify_session(&session.id, &reference, &kiosk)
        .await
        .unwrap()
        .is_approved());

    let receipt = store
        .withdraw_consent(
            Withdrawal::new(&member)
                .photo(&reference)
                .liveness(&liveness)
                .collection(faces.collection()),
        )
        .await
        .unwrap();
    assert!(receipt.is_complete(), "{receipt}");
    assert_eq!(receipt.member, member);
    assert_eq!(receipt.photos.len(), 1);
    assert!(!receipt.photos[0].erased.is_empty());
    assert!(!receipt.liveness_artifacts.is_empty(), "{receipt}");
    assert_eq!(
        receipt.collection.as_ref().unwrap().removed.len(),
        1,
        "{receipt}"
    );

    let before = aws.calls().compare_faces;
    let err = guard
        .compare(&reference, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [Violation::AtRest(AtRestViolation::ConsentWithdrawn { .. })]
        ),
        "{err}"
    );
    assert_eq!(aws.calls().compare_faces, before, "nothing sent");
    let found = faces.search(live_photo(&aws, "ada")).await.unwrap();
    assert_eq!(found.verdict, IdentificationVerdict::NoMatch);

    // Nothing of the liveness sessions is left under the member's prefix
    // (a dry run lists what an erasure would find).
    let left = store
        .erase_liveness_artifacts(&reference, &liveness, EraseOptions::default().dry_run(true))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    let withdrew = |e: &rekognition_guard::Error| {
        matches!(
            e.violations(),
            [Violation::AtRest(
                AtRestViolation::MemberWithdrewConsent { .. }
            )]
        )
    };
    let again = || FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 ada again".to_vec()).unwrap();
    let err = store
        .store_reference(
            &consent,
            &S3ObjectRef::new("library-photos", "members/ada.jpg").unwrap(),
            again(),
        )
        .await
        .unwrap_err();
    assert!(withdrew(&err), "{err}");
    let err = guard
        .enroll(
            &consent,
            &S3ObjectRef::new("library-photos", "members/ada2.jpg").unwrap(),
            again(),
        )
        .await
        .unwrap_err();
    assert!(withdrew(&err), "{err}");
    let err = faces
        .index(&consent, live_photo(&aws, "ada"))
        .await
        .unwrap_err();
    assert!(withdrew(&err), "{err}");
    let err = live.start_session(&reference, &kiosk).await.unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [Violation::AtRest(AtRestViolation::ConsentWithdrawn { .. })]
        ),
        "{err}"
    );
    assert_eq!(aws.calls().compare_faces, before, "nothing sent");
}
