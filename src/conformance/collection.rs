//! The collection scenarios (architecture B), written once over a
//! [`CollectionHarness`]. This crate runs them against
//! [`InMemoryBackend`](crate::memory::InMemoryBackend) and against
//! `AwsBackend` over canned HTTP answers with state (moto has no
//! collections).
//!
//! ```
//! use rekognition_guard::conformance::collection::{run_all, CollectionHarness};
//!
//! async fn my_backend_conforms(harness: &dyn CollectionHarness) {
//!     run_all(harness).await;
//! }
//! ```
//!
//! The crate's own runs are models for a harness: over the simulation in
//! `src/conformance/collection.rs` (module `in_memory`), over canned HTTP
//! in `tests/it/support/collection.rs`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::Stored;
use crate::at_rest::AtRestViolation;
use crate::collection::LiveIdentification;
use crate::collection::{IdentificationVerdict, MemberId, FACE_VECTORS_AT_REST};
use crate::erasure::RetentionPolicy;
use crate::error::Error;
use crate::input::{FaceImage, S3ObjectRef};
use crate::liveness::{
    KioskId, LivenessPolicy, LivenessSessionId, LivenessViolation, NotLiveReason,
};
use crate::refusal::Violation;
use crate::FaceCollection;

/// Whose face an image shows. A harness's similarities: a face matches
/// itself at or above 99 (Ada 99.7, Grace 99.4); [`Face::Twin`] matches
/// Ada at 99.6 and itself at 99.9; any other pair stays below 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Face {
    /// A member.
    Ada,
    /// Another member.
    Grace,
    /// Someone who looks like Ada.
    Twin,
    /// Two people.
    Crowd,
    /// No face.
    Nobody,
}

impl Face {
    /// A name for the face (`ada`, `grace`, `twin`, `crowd`, `nobody`):
    /// how a harness can tell its images apart.
    pub fn label(self) -> &'static str {
        match self {
            Face::Ada => "ada",
            Face::Grace => "grace",
            Face::Twin => "twin",
            Face::Crowd => "crowd",
            Face::Nobody => "nobody",
        }
    }
}

/// One backend under test: photos in a versioned bucket, face collections
/// over it, and what reached its collection operations.
#[async_trait]
pub trait CollectionHarness: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// A new, empty collection over the backend with the default
    /// collection policy (threshold 99) and attested opt-out evidence, its
    /// photos allowed under the harness's KMS key.
    async fn faces(&self) -> FaceCollection;
    /// Like [`faces`](Self::faces), but the Rekognition endpoint is plain
    /// `http://`.
    async fn faces_over_plain_http(&self) -> FaceCollection;
    /// Stores a reference photo of `face`, `stored` as said, in the
    /// versioned bucket; returns it pinned to the version stored.
    async fn photo(&self, face: Face, stored: Stored) -> S3ObjectRef;
    /// A live photo of `face`, as bytes.
    fn live_photo(&self, face: Face) -> FaceImage;
    /// How many `IndexFaces` and `SearchUsersByImage` requests reached the
    /// backend so far.
    fn collection_calls(&self) -> usize;
    /// Like [`faces`](Self::faces), with a policy
    /// [`with_liveness`](crate::collection::CollectionPolicy::with_liveness)`(`[`liveness_policy`]`(output))`,
    /// where `output` is the harness's liveness output bucket: versioned,
    /// default encryption SSE-KMS under the harness's key.
    async fn faces_with_liveness(&self) -> FaceCollection;
    /// Ends Face Liveness session `session`: `Some(face)` as `SUCCEEDED`
    /// at confidence 99.5 with a reference image of `face` where the
    /// session put its output (SSE-KMS under the harness's key, its
    /// version reported); `None` as `FAILED`.
    async fn finish_session(&self, session: &LivenessSessionId, shown: Option<Face>);
}

/// The Face Liveness policy of
/// [`CollectionHarness::faces_with_liveness`]: output to `output_bucket`
/// under `liveness/`, otherwise the defaults.
pub fn liveness_policy(output_bucket: &str) -> LivenessPolicy {
    LivenessPolicy::new(output_bucket)
        .and_then(|p| p.with_output_prefix("liveness/"))
        .expect("a bucket name and a prefix")
}

/// Runs every scenario against `h`.
pub async fn run_all(h: &dyn CollectionHarness) {
    a_member_is_indexed_identified_and_forgotten(h).await;
    two_candidates_above_the_threshold_are_ambiguous(h).await;
    a_photo_with_several_faces_or_none_is_refused_and_nothing_stays_indexed(h).await;
    another_persons_face_is_never_attached_to_a_member(h).await;
    refusals_send_nothing_to_rekognition(h).await;
    the_retention_sweep_forgets_members_past_retention(h).await;
    with_liveness_only_a_live_person_at_the_kiosk_is_searched(h).await;
}

fn member(id: &str) -> MemberId {
    MemberId::parse(id).expect("a member id")
}

/// Two members indexed from checked, pinned photos; a live photo of one
/// identifies exactly that member; forgetting the member removes their
/// face, says so, and a search no longer finds them; the other member is
/// untouched.
async fn a_member_is_indexed_identified_and_forgotten(h: &dyn CollectionHarness) {
    let name = h.name();
    let faces = h.faces().await;
    let (ada, grace) = (member("member-000417"), member("member-000418"));
    let indexed = faces
        .index(
            &super::consent_of(&ada),
            &h.photo(Face::Ada, Stored::SseKms).await,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(indexed.member, ada, "{name}");
    assert_eq!(indexed.face_vectors, FACE_VECTORS_AT_REST, "{name}");
    faces
        .index(
            &super::consent_of(&grace),
            &h.photo(Face::Grace, Stored::SseKms).await,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let found = faces.search(h.live_photo(Face::Ada)).await.unwrap();
    assert!(
        matches!(&found.verdict, IdentificationVerdict::Identified { member, similarity }
            if *member == ada && *similarity >= 99.0),
        "{name}: {found:?}"
    );
    assert_eq!(found.threshold.get(), 99.0, "{name}");

    let receipt = faces.collection().forget(&ada).await.unwrap();
    assert!(receipt.is_complete(), "{name}: {receipt}");
    assert_eq!(
        receipt.removed,
        std::slice::from_ref(&indexed.face_id),
        "{name}"
    );
    let found = faces.search(h.live_photo(Face::Ada)).await.unwrap();
    assert_eq!(found.verdict, IdentificationVerdict::NoMatch, "{name}");
    let again = faces.collection().forget(&ada).await.unwrap();
    assert!(
        again.is_complete() && again.removed.is_empty(),
        "{name}: {again}"
    );
    let found = faces.search(h.live_photo(Face::Grace)).await.unwrap();
    assert!(found.is_identified(), "{name}: {found:?}");
}

/// Two members at or above the threshold: no approval.
async fn two_candidates_above_the_threshold_are_ambiguous(h: &dyn CollectionHarness) {
    let name = h.name();
    let faces = h.faces().await;
    for (id, face) in [("member-1", Face::Ada), ("member-2", Face::Twin)] {
        faces
            .index(
                &super::consent_of(&member(id)),
                &h.photo(face, Stored::SseKms).await,
            )
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let found = faces.search(h.live_photo(Face::Ada)).await.unwrap();
    assert_eq!(
        found.verdict,
        IdentificationVerdict::Ambiguous { candidates: 2 },
        "{name}"
    );
}

/// A photo with several faces, or none, is refused with the reason, and
/// no face of it stays indexed.
async fn a_photo_with_several_faces_or_none_is_refused_and_nothing_stays_indexed(
    h: &dyn CollectionHarness,
) {
    let name = h.name();
    let faces = h.faces().await;
    let m = member("member-9");
    for (face, id) in [(Face::Crowd, "several_faces"), (Face::Nobody, "no_face")] {
        let err = faces
            .index(&super::consent_of(&m), h.live_photo(face))
            .await
            .unwrap_err();
        match &err {
            Error::PhotoRejected(a) => {
                let ids: Vec<_> = a.issues.iter().map(|i| i.id()).collect();
                assert_eq!(ids, [id], "{name}: {face:?}");
            }
            other => panic!("{name}: {face:?}: {other:?}"),
        }
    }
    let receipt = faces.collection().forget(&m).await.unwrap();
    assert!(
        receipt.removed.is_empty() && receipt.is_complete(),
        "{name}: the refused photo's face was deleted again: {receipt}"
    );
}

/// Another person's face indexed for an existing member is not attached
/// (`not_the_member`) and is deleted again.
async fn another_persons_face_is_never_attached_to_a_member(h: &dyn CollectionHarness) {
    let name = h.name();
    let faces = h.faces().await;
    let ada = member("member-000417");
    let own = faces
        .index(
            &super::consent_of(&ada),
            &h.photo(Face::Ada, Stored::SseKms).await,
        )
        .await
        .unwrap();
    let err = faces
        .index(
            &super::consent_of(&ada),
            &h.photo(Face::Grace, Stored::SseKms).await,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PhotoRejected(a) if a.issues.iter().any(|i| i.id() == "not_the_member")),
        "{name}: {err}"
    );
    let receipt = faces.collection().forget(&ada).await.unwrap();
    assert_eq!(
        receipt.removed,
        std::slice::from_ref(&own.face_id),
        "{name}"
    );
    assert!(receipt.is_complete(), "{name}");
}

/// Refusals send nothing to Rekognition: a photo failing the at-rest
/// checks, a plain-HTTP Rekognition endpoint.
async fn refusals_send_nothing_to_rekognition(h: &dyn CollectionHarness) {
    let name = h.name();
    let before = h.collection_calls();
    let faces = h.faces().await;
    let err = faces
        .index(
            &super::consent_of(&member("member-3")),
            &h.photo(Face::Ada, Stored::SseS3).await,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. })]
        ),
        "{name}: {err}"
    );
    let err = h
        .faces_over_plain_http()
        .await
        .search(h.live_photo(Face::Ada))
        .await
        .unwrap_err();
    assert!(
        matches!(err.violations(), [Violation::InsecureEndpoint(_)]),
        "{name}: {err}"
    );
    assert_eq!(
        h.collection_calls(),
        before,
        "{name}: nothing reached Rekognition"
    );
}

/// The retention sweep reaches collections: a member past retention is
/// forgotten; one seen recently (listed twice: the latest counts) keeps
/// their face.
async fn the_retention_sweep_forgets_members_past_retention(h: &dyn CollectionHarness) {
    let name = h.name();
    let faces = h.faces().await;
    let (ada, grace) = (member("member-1"), member("member-2"));
    let ada_face = faces
        .index(
            &super::consent_of(&ada),
            &h.photo(Face::Ada, Stored::SseKms).await,
        )
        .await
        .unwrap();
    faces
        .index(
            &super::consent_of(&grace),
            &h.photo(Face::Grace, Stored::SseKms).await,
        )
        .await
        .unwrap();
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
    assert_eq!(sweep.examined, 2, "{name}");
    assert!(sweep.is_complete(), "{name}: {sweep:?}");
    assert_eq!(sweep.receipts.len(), 1, "{name}");
    assert_eq!(sweep.receipts[0].member, ada, "{name}");
    assert_eq!(sweep.receipts[0].removed, [ada_face.face_id], "{name}");
    assert!(
        faces
            .search(h.live_photo(Face::Grace))
            .await
            .unwrap()
            .is_identified(),
        "{name}"
    );
    assert_eq!(
        faces.search(h.live_photo(Face::Ada)).await.unwrap().verdict,
        IdentificationVerdict::NoMatch,
        "{name}"
    );
}

/// With Face Liveness configured, only the reference image of a passed
/// session started for a search of this collection at this kiosk is
/// searched: a photo the caller took, a session that failed, a session
/// verified at another kiosk, for another collection or a second time are
/// refused or not live, and nothing of theirs reaches
/// `SearchUsersByImage`; a collection without a liveness policy starts no
/// search session; failed sessions lock the kiosk before any AWS call.
async fn with_liveness_only_a_live_person_at_the_kiosk_is_searched(h: &dyn CollectionHarness) {
    let name = h.name();
    let faces = h.faces_with_liveness().await;
    let ada = member("member-000417");
    faces
        .index(
            &super::consent_of(&ada),
            &h.photo(Face::Ada, Stored::SseKms).await,
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let kiosk = KioskId::new("branch-1-kiosk-1").unwrap();
    let liveness_refusal = |e: &Error| match e.violations() {
        [Violation::Liveness(v)] => Some(v.clone()),
        _ => None,
    };
    let before = h.collection_calls();

    let err = faces.search(h.live_photo(Face::Ada)).await.unwrap_err();
    assert_eq!(
        liveness_refusal(&err),
        Some(LivenessViolation::SearchNeedsLiveness),
        "{name}: {err}"
    );
    assert_eq!(h.collection_calls(), before, "{name}: nothing searched");

    let session = faces
        .start_search_session(&kiosk)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        &session.collection,
        faces.policy().collection_id(),
        "{name}"
    );
    h.finish_session(&session.id, Some(Face::Ada)).await;
    let found = faces
        .search_live(&session.id, &kiosk)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    match &found {
        LiveIdentification::Searched(found) => {
            assert!(
                matches!(&found.verdict, IdentificationVerdict::Identified { member, .. } if *member == ada),
                "{name}: {found:?}"
            );
            assert_eq!(found.liveness_session.as_ref(), Some(&session.id), "{name}");
            assert_eq!(found.liveness_confidence, Some(99.5), "{name}");
        }
        other => panic!("{name}: {other:?}"),
    }
    assert_eq!(h.collection_calls(), before + 1, "{name}: one search");

    let err = faces.search_live(&session.id, &kiosk).await.unwrap_err();
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionReused { .. })
        ),
        "{name}: {err}"
    );

    let failed = faces.start_search_session(&kiosk).await.unwrap();
    h.finish_session(&failed.id, None).await;
    assert_eq!(
        faces.search_live(&failed.id, &kiosk).await.unwrap(),
        LiveIdentification::NotLive(NotLiveReason::Failed),
        "{name}"
    );

    let elsewhere = KioskId::new("branch-2-kiosk-1").unwrap();
    let other = faces.start_search_session(&elsewhere).await.unwrap();
    h.finish_session(&other.id, Some(Face::Ada)).await;
    let err = faces.search_live(&other.id, &kiosk).await.unwrap_err();
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionNotForThisSearch { kiosk: k, .. }) if k == kiosk
        ),
        "{name}: {err}"
    );
    assert_eq!(
        h.collection_calls(),
        before + 1,
        "{name}: nothing more searched"
    );

    let another = h.faces_with_liveness().await;
    let theirs = another.start_search_session(&kiosk).await.unwrap();
    h.finish_session(&theirs.id, Some(Face::Ada)).await;
    let err = faces.search_live(&theirs.id, &kiosk).await.unwrap_err();
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::SessionNotForThisSearch { .. })
        ),
        "{name}: another collection's session: {err}"
    );

    // One failure so far at this kiosk (the FAILED session); four more
    // reach the default limit of five.
    for _ in 0..4 {
        let s = faces.start_search_session(&kiosk).await.unwrap();
        h.finish_session(&s.id, None).await;
        assert!(matches!(
            faces.search_live(&s.id, &kiosk).await.unwrap(),
            LiveIdentification::NotLive(_)
        ));
    }
    let err = faces.start_search_session(&kiosk).await.unwrap_err();
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::KioskLocked { .. })
        ),
        "{name}: {err}"
    );
    let err = faces.search_live(&theirs.id, &kiosk).await.unwrap_err();
    assert!(
        matches!(
            liveness_refusal(&err),
            Some(LivenessViolation::KioskLocked { .. })
        ),
        "{name}: {err}"
    );
    assert_eq!(
        h.collection_calls(),
        before + 1,
        "{name}: nothing more searched"
    );

    let err = h
        .faces()
        .await
        .start_search_session(&kiosk)
        .await
        .unwrap_err();
    assert_eq!(
        liveness_refusal(&err),
        Some(LivenessViolation::NoLivenessPolicy),
        "{name}: {err}"
    );
}

#[cfg(test)]
mod in_memory {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::collection::{CollectionId, CollectionPolicy};
    use crate::input::{KmsKeyArn, Service};
    use crate::memory::{InMemoryBackend, SimulatedLiveness, SimulatedObject};
    use crate::opt_out::OptOutEvidence;
    use crate::policy::Policy;
    use crate::quality::FaceDetail;
    use crate::PhotoStore;

    const KEY: &str = super::super::in_memory::KEY;
    const OUTPUT: &str = "collection-liveness";

    /// The collection harness over [`InMemoryBackend`]: one simulation,
    /// a new collection per [`faces`](CollectionHarness::faces).
    struct InMemoryCollectionHarness {
        aws: InMemoryBackend,
        collections: Arc<AtomicUsize>,
    }

    fn label(face: Face) -> &'static str {
        face.label()
    }

    impl InMemoryCollectionHarness {
        fn new() -> Self {
            let aws = InMemoryBackend::new();
            aws.create_bucket("collection-photos", crate::memory::DEFAULT_ACCOUNT, true);
            aws.create_bucket(OUTPUT, crate::memory::DEFAULT_ACCOUNT, true);
            aws.set_default_encryption(OUTPUT, Some(KEY));
            aws.set_similarity("ada", "ada", 99.7);
            aws.set_similarity("grace", "grace", 99.4);
            aws.set_similarity("twin", "twin", 99.9);
            aws.set_similarity("ada", "twin", 99.6);
            aws.set_face_details("crowd", vec![FaceDetail::good(), FaceDetail::good()]);
            aws.set_face_details("nobody", Vec::new());
            Self {
                aws,
                collections: Arc::default(),
            }
        }

        fn over(&self, aws: InMemoryBackend) -> FaceCollection {
            self.over_with(aws, None)
        }

        fn over_with(
            &self,
            aws: InMemoryBackend,
            liveness: Option<LivenessPolicy>,
        ) -> FaceCollection {
            let n = self.collections.fetch_add(1, Ordering::SeqCst);
            let id = format!("conformance-{n}");
            self.aws.create_collection(&id);
            FaceCollection::new(
                PhotoStore::new(
                    aws.clone(),
                    Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
                        .with_versioning_required(true),
                ),
                aws,
                OptOutEvidence::attested("conformance suite").unwrap(),
                liveness.into_iter().fold(
                    CollectionPolicy::dangerous()
                        .face_vectors_without_customer_kms_key(CollectionId::parse(&id).unwrap()),
                    CollectionPolicy::with_liveness,
                ),
            )
        }
    }

    #[async_trait]
    impl CollectionHarness for InMemoryCollectionHarness {
        fn name(&self) -> &str {
            "in-memory"
        }
        async fn faces(&self) -> FaceCollection {
            self.over(self.aws.clone())
        }
        async fn faces_over_plain_http(&self) -> FaceCollection {
            self.over(
                self.aws
                    .clone()
                    .with_endpoint(Service::Rekognition, "http://rekognition.local"),
            )
        }
        async fn photo(&self, face: Face, stored: Stored) -> S3ObjectRef {
            let key = format!("members/{}.jpg", label(face));
            let object = SimulatedObject {
                face: Some(label(face).into()),
                ..super::super::in_memory::simulated(stored)
            };
            let version = self
                .aws
                .put("collection-photos", &key, object)
                .expect("a versioned bucket");
            S3ObjectRef::new("collection-photos", &key)
                .and_then(|r| r.with_version_id(&version))
                .unwrap()
        }
        fn live_photo(&self, face: Face) -> FaceImage {
            let bytes = [b"\xFF\xD8\xFF\xE0 live ".as_slice(), label(face).as_bytes()].concat();
            self.aws.register_image(&bytes, label(face));
            FaceImage::from_vec(bytes).unwrap()
        }
        fn collection_calls(&self) -> usize {
            let calls = self.aws.calls();
            calls.index_faces + calls.search_users_by_image
        }
        async fn faces_with_liveness(&self) -> FaceCollection {
            self.over_with(self.aws.clone(), Some(liveness_policy(OUTPUT)))
        }
        async fn finish_session(&self, session: &LivenessSessionId, shown: Option<Face>) {
            let outcome = match shown {
                Some(face) => SimulatedLiveness::live(99.5, label(face)),
                None => SimulatedLiveness::ended(crate::liveness::LivenessStatus::Failed),
            };
            self.aws.finish_liveness(session, outcome);
        }
    }

    /// The collection conformance suite on the in-memory simulation.
    #[tokio::test]
    async fn in_memory_collection_conformance() {
        run_all(&InMemoryCollectionHarness::new()).await;
    }
}
