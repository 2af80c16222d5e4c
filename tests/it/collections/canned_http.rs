//! Collections on the real SDK client, answered with real HTTP responses
//! (aws-smithy-mocks): what each request carries, how each answer is read.

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use rekognition_guard::collection::{
    CollectionId, CollectionPolicy, IdentificationVerdict, MemberId,
};
use rekognition_guard::FaceCollection;
use rekognition_guard::{KmsKeyArn, OptOutEvidence, PhotoStore, Policy};

use crate::support::canned::*;
use crate::support::KEY;

const FACE_A: &str = "11111111-2222-4333-8444-555555555555";
const FACE_B: &str = "66666666-7777-4888-8999-aaaaaaaaaaaa";
const MEMBER: &str = "member-000417";

fn policy() -> CollectionPolicy {
    CollectionPolicy::dangerous()
        .face_vectors_without_customer_kms_key(CollectionId::parse("library-members").unwrap())
}

fn faces(rekognition: aws_sdk_rekognition::Client) -> FaceCollection {
    let s3 = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&s3]),
        rekognition,
    );
    FaceCollection::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        ),
        aws,
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        policy(),
    )
}

/// Indexing sends the pinned S3 image with `MaxFaces` 1, `QualityFilter`
/// `AUTO` and the member as `ExternalImageId`, then `CreateUser` (a user
/// that exists already is fine) and `AssociateFaces`; a search asks for the
/// policy's threshold and two users, and reads the match.
#[tokio::test]
async fn index_and_search_send_what_aws_expects_and_read_what_it_answers() {
    let index = mock!(aws_sdk_rekognition::Client::index_faces)
        .match_requests(|r| {
            r.collection_id() == Some("library-members")
                && r.max_faces() == Some(1)
                && r.quality_filter() == Some(&aws_sdk_rekognition::types::QualityFilter::Auto)
                && r.external_image_id() == Some(MEMBER)
                && r.detection_attributes().is_empty()
                && r.image()
                    .and_then(|i| i.s3_object())
                    .and_then(|o| o.version())
                    == Some(VERSION)
        })
        .then_http_response(|| {
            json(
                200,
                &format!(r#"{{"FaceRecords":[{{"Face":{{"FaceId":"{FACE_A}","ExternalImageId":"{MEMBER}"}}}}],"UnindexedFaces":[]}}"#),
            )
        });
    let create = mock!(aws_sdk_rekognition::Client::create_user)
        .match_requests(|r| r.user_id() == Some(MEMBER))
        .then_http_response(|| json(400, r#"{"__type":"ConflictException","Message":"exists"}"#));
    let associate = mock!(aws_sdk_rekognition::Client::associate_faces)
        .match_requests(|r| {
            r.user_id() == Some(MEMBER)
                && r.face_ids() == [FACE_A]
                && r.user_match_threshold() == Some(99.0)
        })
        .then_http_response(|| {
            json(
                200,
                &format!(r#"{{"AssociatedFaces":[{{"FaceId":"{FACE_A}"}}],"UnsuccessfulFaceAssociations":[],"UserStatus":"ACTIVE"}}"#),
            )
        });
    let search = mock!(aws_sdk_rekognition::Client::search_users_by_image)
        .match_requests(|r| {
            r.user_match_threshold() == Some(99.0)
                && r.max_users() == Some(2)
                && r.quality_filter() == Some(&aws_sdk_rekognition::types::QualityFilter::Auto)
                && r.image().and_then(|i| i.bytes()).is_some()
        })
        .then_http_response(|| {
            json(
                200,
                &format!(r#"{{"UserMatches":[{{"Similarity":99.6,"User":{{"UserId":"{MEMBER}","UserStatus":"ACTIVE"}}}}]}}"#),
            )
        });
    let faces = faces(mock_client!(
        aws_sdk_rekognition,
        RuleMode::Sequential,
        &[&index, &create, &associate, &search]
    ));
    let member = MemberId::parse(MEMBER).unwrap();
    let pinned = reference().with_version_id(VERSION).unwrap();
    let indexed = faces
        .index(
            &rekognition_guard::conformance::consent_of(&member),
            &pinned,
        )
        .await
        .unwrap();
    assert_eq!(indexed.face_id, FACE_A);
    let found = faces.search(live_photo()).await.unwrap();
    assert_eq!(
        found.verdict,
        IdentificationVerdict::Identified {
            member,
            similarity: 99.6
        }
    );
    for rule in [&index, &create, &associate, &search] {
        assert_eq!(rule.num_calls(), 1);
    }
}

/// Forgetting pages through the collection's listing (by `NextToken`),
/// never lists by `UserId` (Rekognition refuses a user that does not
/// exist), deletes the user (one that no longer exists is fine), deletes
/// only the member's faces, and confirms against the whole collection's
/// listing: another member's face is never touched.
#[tokio::test]
async fn forget_pages_through_listings_deletes_only_the_members_faces_and_confirms() {
    let face = |id: &str, member: &str| {
        format!(r#"{{"FaceId":"{id}","ExternalImageId":"{member}","UserId":"{member}"}}"#)
    };
    let (a, b) = (face(FACE_A, MEMBER), face(FACE_B, "member-000418"));
    let page_1 = {
        let a = a.clone();
        mock!(aws_sdk_rekognition::Client::list_faces)
            .match_requests(|r| r.user_id().is_none() && r.next_token().is_none())
            .then_http_response(move || {
                json(200, &format!(r#"{{"Faces":[{a}],"NextToken":"t1"}}"#))
            })
    };
    let page_2 = {
        let b = b.clone();
        mock!(aws_sdk_rekognition::Client::list_faces)
            .match_requests(|r| r.user_id().is_none() && r.next_token() == Some("t1"))
            .then_http_response(move || json(200, &format!(r#"{{"Faces":[{b}]}}"#)))
    };
    let delete_user = mock!(aws_sdk_rekognition::Client::delete_user)
        .match_requests(|r| r.user_id() == Some(MEMBER))
        .then_http_response(|| json(400, r#"{"__type":"ResourceNotFoundException"}"#));
    let delete_faces = mock!(aws_sdk_rekognition::Client::delete_faces)
        .match_requests(|r| r.face_ids() == [FACE_A])
        .then_http_response(|| {
            json(
                200,
                &format!(r#"{{"DeletedFaces":["{FACE_A}"],"UnsuccessfulFaceDeletions":[]}}"#),
            )
        });
    let confirm = {
        let b = b.clone();
        mock!(aws_sdk_rekognition::Client::list_faces)
            .match_requests(|r| r.user_id().is_none())
            .then_http_response(move || json(200, &format!(r#"{{"Faces":[{b}]}}"#)))
    };
    let faces = faces(mock_client!(
        aws_sdk_rekognition,
        RuleMode::Sequential,
        &[&page_1, &page_2, &delete_user, &delete_faces, &confirm]
    ));
    let receipt = faces
        .collection()
        .forget(&MemberId::parse(MEMBER).unwrap())
        .await
        .unwrap();
    assert!(receipt.is_complete(), "{receipt}");
    assert_eq!(receipt.removed, [FACE_A]);
    assert_eq!(delete_faces.num_calls(), 1);
}

/// A listing whose `NextToken` comes back after another page would never
/// end: an error, nothing deleted.
#[tokio::test]
async fn a_listing_whose_tokens_cycle_is_an_error_and_deletes_nothing() {
    let page = |token: &'static str, next: &'static str| {
        mock!(aws_sdk_rekognition::Client::list_faces)
            .match_requests(move |r| r.next_token() == Some(token).filter(|t| !t.is_empty()))
            .then_http_response(move || {
                json(200, &format!(r#"{{"Faces":[],"NextToken":"{next}"}}"#))
            })
    };
    let (first, second, third) = (page("", "A"), page("A", "B"), page("B", "A"));
    let delete = mock!(aws_sdk_rekognition::Client::delete_faces)
        .then_http_response(|| json(200, r#"{"DeletedFaces":[]}"#));
    let faces = faces(mock_client!(
        aws_sdk_rekognition,
        RuleMode::Sequential,
        &[&first, &second, &third, &delete]
    ));
    let err = faces
        .collection()
        .forget(&MemberId::parse(MEMBER).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NextToken"), "{err}");
    assert_eq!(delete.num_calls(), 0);
}

/// The collection conformance suite
/// (`rekognition_guard::conformance::collection`) on `AwsBackend` over
/// canned HTTP answers with state.
#[tokio::test]
async fn conformance() {
    rekognition_guard::conformance::collection::run_all(
        &crate::support::collection::CannedCollectionHarness::new(),
    )
    .await;
}
