//! Collections against the exported mock (`testing::MockCollectionBackend`):
//! answers Rekognition might give that the guard must not trust.

use std::sync::Arc;

use async_trait::async_trait;
use rekognition_guard::collection::{
    AssociateFacesRequest, CollectionBackend, CollectionId, CollectionPolicy, DeleteFacesRequest,
    FaceAssociations, FaceDeletions, IndexFacesRequest, IndexedFaces, ListFacesRequest, MemberId,
    SearchUsersRequest, StoredFace, UserMatch, UserRequest, UserSearch,
};
use rekognition_guard::liveness::{LivenessFacts, LivenessSessionId};
use rekognition_guard::memory::InMemoryBackend;
use rekognition_guard::testing::MockCollectionBackend;
use rekognition_guard::{
    AccountId, BackendError, BackendErrorKind, CompareFacesRequest, ComparisonFacts,
    CreateFaceLivenessSessionRequest, DetectFacesRequest, Error, FaceDetail,
    GetFaceLivenessSessionResultsRequest, OptOutEvidence, PhotoStore, Policy, RekognitionBackend,
};
use rekognition_guard::{Collection, FaceCollection};

use crate::support::memory::live_photo;

const FACE_A: &str = "11111111-2222-4333-8444-555555555555";
const FACE_B: &str = "66666666-7777-4888-8999-aaaaaaaaaaaa";

fn id() -> CollectionId {
    CollectionId::parse("library-members").unwrap()
}

fn member() -> MemberId {
    MemberId::parse("member-000417").unwrap()
}

fn face(face_id: Option<&str>, user: Option<&str>) -> StoredFace {
    StoredFace {
        face_id: face_id.map(str::to_owned),
        external_image_id: Some("member-000417".into()),
        user_id: user.map(str::to_owned),
    }
}

/// `DeleteFaces` leaves faces behind: the receipt names each with
/// Rekognition's reason and is not complete, even for a face found only
/// through the member's user (which `DeleteUser` made invisible to a
/// listing by user): a face counts as removed only when `DeleteFaces`
/// reported it deleted and the whole collection no longer lists it.
#[tokio::test]
async fn faces_delete_faces_leaves_behind_are_named_with_their_reasons() {
    let mut mock = MockCollectionBackend::new();
    // FACE_B is the member's only through the user (another image id).
    let user_only = StoredFace {
        face_id: Some(FACE_B.into()),
        external_image_id: Some("scan-2019".into()),
        user_id: Some("member-000417".into()),
    };
    let mut lists = 0;
    mock.expect_list_faces()
        .withf(|r: &ListFacesRequest| r.user.is_none())
        .returning(move |_| {
            lists += 1;
            Ok(if lists == 1 {
                vec![user_only.clone(), face(Some(FACE_A), Some("member-000417"))]
            } else {
                // After DeleteUser: B is no longer the user's; A is gone.
                vec![StoredFace {
                    user_id: None,
                    ..user_only.clone()
                }]
            })
        });
    mock.expect_delete_user().times(1).returning(|_| Ok(()));
    mock.expect_delete_faces()
        .times(1)
        .withf(|r: &DeleteFacesRequest| r.face_ids == [FACE_A, FACE_B])
        .returning(|_| {
            Ok(FaceDeletions {
                deleted: vec![FACE_A.into()],
                unsuccessful: vec![(FACE_B.into(), vec!["ASSOCIATED_TO_AN_EXISTING_USER".into()])],
            })
        });
    let receipt = Collection::new(mock, id()).forget(&member()).await.unwrap();
    assert!(!receipt.is_complete(), "{receipt}");
    assert_eq!(receipt.removed, [FACE_A]);
    assert_eq!(receipt.remaining.len(), 1, "{receipt}");
    assert_eq!(receipt.remaining[0].face_id, FACE_B);
    assert!(
        receipt.remaining[0]
            .reason
            .contains("ASSOCIATED_TO_AN_EXISTING_USER"),
        "{}",
        receipt.remaining[0].reason
    );
}

/// Listings the guard will not act on: a face without a `FaceId`, a
/// `FaceId` that is not a UUID (it would reach a log line), a face indexed
/// for the member but associated with another user. Nothing is deleted.
#[tokio::test]
async fn listings_that_cannot_be_trusted_delete_nothing() {
    for listed in [
        face(None, None),
        face(Some("not-a-uuid\nforged line"), None),
        face(Some(FACE_A), Some("member-999999")),
    ] {
        let mut mock = MockCollectionBackend::new();
        let answer = listed.clone();
        mock.expect_list_faces()
            .returning(move |_| Ok(vec![answer.clone()]));
        mock.expect_delete_user().never();
        mock.expect_delete_faces().never();
        let err = Collection::new(mock, id())
            .forget(&member())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{listed:?}: {err}"
        );
        assert!(!err.to_string().contains("forged"), "{err}");
    }
}

/// A backend for [`FaceCollection`]: the simulation's Rekognition (the
/// guard's checks) and a mock's collection answers.
#[derive(Debug, Clone)]
struct Both {
    rekognition: InMemoryBackend,
    collections: Arc<MockCollectionBackend>,
}

#[async_trait]
impl RekognitionBackend for Both {
    async fn compare_faces(&self, r: CompareFacesRequest) -> Result<ComparisonFacts, BackendError> {
        self.rekognition.compare_faces(r).await
    }
    async fn detect_faces(&self, r: DetectFacesRequest) -> Result<Vec<FaceDetail>, BackendError> {
        self.rekognition.detect_faces(r).await
    }
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        self.rekognition.caller_account().await
    }
    async fn create_face_liveness_session(
        &self,
        r: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError> {
        self.rekognition.create_face_liveness_session(r).await
    }
    async fn get_face_liveness_session_results(
        &self,
        r: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        self.rekognition.get_face_liveness_session_results(r).await
    }
}

#[async_trait]
impl CollectionBackend for Both {
    async fn index_faces(&self, r: IndexFacesRequest) -> Result<IndexedFaces, BackendError> {
        self.collections.index_faces(r).await
    }
    async fn search_users_by_image(
        &self,
        r: SearchUsersRequest,
    ) -> Result<UserSearch, BackendError> {
        self.collections.search_users_by_image(r).await
    }
    async fn create_user(&self, r: &UserRequest) -> Result<(), BackendError> {
        self.collections.create_user(r).await
    }
    async fn associate_faces(
        &self,
        r: &AssociateFacesRequest,
    ) -> Result<FaceAssociations, BackendError> {
        self.collections.associate_faces(r).await
    }
    async fn list_faces(&self, r: &ListFacesRequest) -> Result<Vec<StoredFace>, BackendError> {
        self.collections.list_faces(r).await
    }
    async fn delete_user(&self, r: &UserRequest) -> Result<(), BackendError> {
        self.collections.delete_user(r).await
    }
    async fn delete_faces(&self, r: &DeleteFacesRequest) -> Result<FaceDeletions, BackendError> {
        self.collections.delete_faces(r).await
    }
}

/// Search answers that never identify anyone: a match without a
/// similarity or a user id, a similarity outside 0 to 100, a user id that
/// is not a member id. The request asks for the policy's threshold and two
/// users at most.
#[tokio::test]
async fn malformed_search_answers_never_identify() {
    for answer in [
        UserMatch {
            user_id: Some("member-000417".into()),
            similarity: None,
        },
        UserMatch {
            user_id: None,
            similarity: Some(99.9),
        },
        UserMatch {
            user_id: Some("member-000417".into()),
            similarity: Some(120.0),
        },
        UserMatch {
            user_id: Some("Ada Lovelace".into()),
            similarity: Some(99.9),
        },
    ] {
        let mut mock = MockCollectionBackend::new();
        let reply = answer.clone();
        mock.expect_search_users_by_image()
            .times(1)
            .withf(|r: &SearchUsersRequest| r.threshold.get() == 99.0 && r.max_users == 2)
            .returning(move |_| {
                Ok(UserSearch {
                    matches: vec![reply.clone()],
                    unsearched_faces: 0,
                })
            });
        let rekognition = InMemoryBackend::new();
        let faces = FaceCollection::new(
            PhotoStore::new(rekognition.clone(), Policy::any_kms_key()),
            Both {
                rekognition: rekognition.clone(),
                collections: Arc::new(mock),
            },
            OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
            CollectionPolicy::dangerous().face_vectors_without_customer_kms_key(id()),
        );
        let err = faces
            .search(live_photo(&rekognition, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
            "{answer:?}: {err}"
        );
        assert!(!err.to_string().contains("Ada Lovelace"), "{err}");
    }
}

fn faces_over(mock: MockCollectionBackend) -> (FaceCollection, InMemoryBackend) {
    let rekognition = InMemoryBackend::new();
    let faces = FaceCollection::new(
        PhotoStore::new(rekognition.clone(), Policy::any_kms_key()),
        Both {
            rekognition: rekognition.clone(),
            collections: Arc::new(mock),
        },
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        CollectionPolicy::dangerous().face_vectors_without_customer_kms_key(id()),
    );
    (faces, rekognition)
}

/// A member named twice is one candidate (identified); other faces at the
/// kiosk that Rekognition did not search make the photo unusable: the
/// largest face alone was searched.
#[tokio::test]
async fn a_member_named_twice_is_one_candidate_and_unsearched_faces_refuse_the_photo() {
    let mut mock = MockCollectionBackend::new();
    let mut calls = 0;
    mock.expect_search_users_by_image()
        .times(2)
        .returning(move |_| {
            calls += 1;
            let hit = |s: f32| UserMatch {
                user_id: Some("member-000417".into()),
                similarity: Some(s),
            };
            Ok(UserSearch {
                matches: vec![hit(99.2), hit(99.8)],
                unsearched_faces: if calls == 1 { 0 } else { 1 },
            })
        });
    let (faces, rekognition) = faces_over(mock);
    let found = faces.search(live_photo(&rekognition, "ada")).await.unwrap();
    assert_eq!(
        found.verdict,
        rekognition_guard::collection::IdentificationVerdict::Identified {
            member: member(),
            similarity: 99.8
        }
    );
    let err = faces
        .search(live_photo(&rekognition, "ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PhotoRejected(a) if a.issues.iter().any(|i| i.id() == "several_faces")),
        "{err}"
    );
}

/// After `IndexFaces`, anything that keeps the index from completing
/// deletes the face again: a face `AssociateFaces` finds not to match the
/// member's faces (another person: `not_the_member`), or `CreateUser`
/// failing. The association asks for the policy's threshold.
#[tokio::test]
async fn an_index_that_does_not_complete_deletes_its_face_again() {
    for case in ["not the member", "CreateUser fails"] {
        let mut mock = MockCollectionBackend::new();
        mock.expect_index_faces().times(1).returning(|_| {
            Ok(IndexedFaces {
                face_ids: vec![FACE_A.into()],
                unindexed: vec![],
            })
        });
        if case == "CreateUser fails" {
            mock.expect_create_user().times(1).returning(|_| {
                Err(BackendError::new(
                    BackendErrorKind::Throttled,
                    rekognition_guard::Service::Rekognition,
                    "CreateUser",
                    "slow down",
                ))
            });
        } else {
            mock.expect_create_user().times(1).returning(|_| Ok(()));
            mock.expect_associate_faces()
                .times(1)
                .withf(|r: &AssociateFacesRequest| r.user_match_threshold.get() == 99.0)
                .returning(|_| {
                    Ok(FaceAssociations {
                        associated: vec![],
                        unsuccessful: vec![(FACE_A.into(), vec!["LOW_MATCH_CONFIDENCE".into()])],
                    })
                });
        }
        mock.expect_delete_faces()
            .times(1)
            .withf(|r: &DeleteFacesRequest| r.face_ids == [FACE_A])
            .returning(|_| {
                Ok(FaceDeletions {
                    deleted: vec![FACE_A.into()],
                    unsuccessful: vec![],
                })
            });
        let (faces, rekognition) = faces_over(mock);
        let err = faces
            .index(
                &rekognition_guard::conformance::consent_of(&member()),
                live_photo(&rekognition, "ada"),
            )
            .await
            .unwrap_err();
        if case == "not the member" {
            assert!(
                matches!(&err, Error::PhotoRejected(a) if a.issues.iter().any(|i| i.id() == "not_the_member")),
                "{err}"
            );
        } else {
            assert!(
                matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::Throttled),
                "{err}"
            );
        }
    }
}
