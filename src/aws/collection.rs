//! Rekognition collections on the AWS SDK: each method one operation,
//! facts mapped without judgement (the guard decides).

use aws_sdk_rekognition::error::ProvideErrorMetadata;
use aws_sdk_rekognition::types::QualityFilter;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::rekognition::{image, map_rekognition_error};
use crate::backend::VerifiedImage;
use crate::collection::{
    AssociateFacesRequest, DeleteFacesRequest, FaceAssociations, FaceDeletions, IndexFacesRequest,
    IndexedFaces, ListFacesRequest, SearchUsersRequest, StoredFace, UserMatch, UserRequest,
    UserSearch,
};

/// The most pages one listing reads (4,096 faces a page: 40 million
/// faces, far beyond a collection's quota); beyond, the listing is not
/// trusted to end.
const MAX_PAGES: usize = 10_000;
use crate::error::{BackendError, BackendErrorKind};
use crate::input::Service;

/// The error code of a service error, if the service sent one.
fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

/// An operation's error, with a missing collection named.
fn mapped<E>(
    client: &aws_sdk_rekognition::Client,
    err: SdkError<E, HttpResponse>,
    operation: &'static str,
    collection: &str,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let region = client.config().region().map(|r| r.as_ref());
    if code(&err) == Some("ResourceNotFoundException") {
        return BackendError::new(
            BackendErrorKind::NotFound,
            Service::Rekognition,
            operation,
            format!(
                "collection {} (or the user named) does not exist in {}: create it with CreateCollection, in the region the client uses",
                crate::text::Quoted(collection),
                region.unwrap_or("no region configured")
            ),
        )
        .with_source(err);
    }
    map_rekognition_error(err, operation, &[], region)
}

pub(super) async fn index_faces(
    client: &aws_sdk_rekognition::Client,
    request: IndexFacesRequest,
) -> Result<IndexedFaces, BackendError> {
    const OP: &str = "IndexFaces";
    if matches!(request.image, VerifiedImage::Bytes(_)) {
        super::refuse_if_bodies_logged(Service::Rekognition, OP)?;
    }
    let (image, _) = image(request.image);
    let result = client
        .index_faces()
        .collection_id(request.collection.as_str())
        .image(image)
        .external_image_id(request.external_image_id.as_str())
        .max_faces(1)
        .quality_filter(QualityFilter::Auto)
        .send()
        .await;
    match result {
        Ok(out) => Ok(IndexedFaces {
            face_ids: out
                .face_records()
                .iter()
                .map(|r| {
                    r.face()
                        .and_then(|f| f.face_id())
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect(),
            unindexed: out
                .unindexed_faces()
                .iter()
                .map(|u| u.reasons().iter().map(|r| r.as_str().to_owned()).collect())
                .collect(),
        }),
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}

pub(super) async fn search_users_by_image(
    client: &aws_sdk_rekognition::Client,
    request: SearchUsersRequest,
) -> Result<UserSearch, BackendError> {
    const OP: &str = "SearchUsersByImage";
    if matches!(request.image, VerifiedImage::Bytes(_)) {
        super::refuse_if_bodies_logged(Service::Rekognition, OP)?;
    }
    let (image, _) = image(request.image);
    let result = client
        .search_users_by_image()
        .collection_id(request.collection.as_str())
        .image(image)
        .user_match_threshold(request.threshold.get())
        .max_users(i32::try_from(request.max_users).unwrap_or(2))
        .quality_filter(QualityFilter::Auto)
        .send()
        .await;
    match result {
        Ok(out) => Ok(UserSearch {
            matches: out
                .user_matches()
                .iter()
                .map(|m| UserMatch {
                    user_id: m.user().and_then(|u| u.user_id()).map(str::to_owned),
                    similarity: m.similarity(),
                })
                .collect(),
            unsearched_faces: out.unsearched_faces().len(),
        }),
        // No face in the probe: Rekognition answers with no matches, or
        // with InvalidParameterException; the second is an error here.
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}

pub(super) async fn create_user(
    client: &aws_sdk_rekognition::Client,
    request: &UserRequest,
) -> Result<(), BackendError> {
    const OP: &str = "CreateUser";
    match client
        .create_user()
        .collection_id(request.collection.as_str())
        .user_id(request.user.as_str())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // The user exists already: what was asked for holds.
        Err(e) if code(&e) == Some("ConflictException") => Ok(()),
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}

pub(super) async fn associate_faces(
    client: &aws_sdk_rekognition::Client,
    request: &AssociateFacesRequest,
) -> Result<FaceAssociations, BackendError> {
    const OP: &str = "AssociateFaces";
    let result = client
        .associate_faces()
        .collection_id(request.collection.as_str())
        .user_id(request.user.as_str())
        .set_face_ids(Some(request.face_ids.clone()))
        .user_match_threshold(request.user_match_threshold.get())
        .send()
        .await;
    match result {
        Ok(out) => Ok(FaceAssociations {
            associated: out
                .associated_faces()
                .iter()
                .filter_map(|f| f.face_id().map(str::to_owned))
                .collect(),
            unsuccessful: out
                .unsuccessful_face_associations()
                .iter()
                .map(|u| {
                    (
                        u.face_id().unwrap_or_default().to_owned(),
                        u.reasons().iter().map(|r| r.as_str().to_owned()).collect(),
                    )
                })
                .collect(),
        }),
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}

pub(super) async fn list_faces(
    client: &aws_sdk_rekognition::Client,
    request: &ListFacesRequest,
) -> Result<Vec<StoredFace>, BackendError> {
    const OP: &str = "ListFaces";
    let mut faces = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let result = client
            .list_faces()
            .collection_id(request.collection.as_str())
            .set_user_id(request.user.as_ref().map(|u| u.as_str().to_owned()))
            .max_results(4096)
            .set_next_token(token.clone())
            .send()
            .await;
        let out = result.map_err(|e| mapped(client, e, OP, request.collection.as_str()))?;
        faces.extend(out.faces().iter().map(|f| StoredFace {
            face_id: f.face_id().map(str::to_owned),
            external_image_id: f.external_image_id().map(str::to_owned),
            user_id: f.user_id().map(str::to_owned),
        }));
        match out.next_token() {
            // A token the service gave before would never end the listing.
            Some(next) if !next.is_empty() && seen.insert(next.to_owned()) => {
                token = Some(next.to_owned());
            }
            Some(next) if !next.is_empty() => {
                return Err(BackendError::new(
                    BackendErrorKind::InvalidResponse,
                    Service::Rekognition,
                    OP,
                    "ListFaces repeated a NextToken: the listing would never end",
                ))
            }
            _ => return Ok(faces),
        }
    }
    Err(BackendError::new(
        BackendErrorKind::InvalidResponse,
        Service::Rekognition,
        OP,
        format!("ListFaces did not end after {MAX_PAGES} pages"),
    ))
}

pub(super) async fn delete_user(
    client: &aws_sdk_rekognition::Client,
    request: &UserRequest,
) -> Result<(), BackendError> {
    const OP: &str = "DeleteUser";
    match client
        .delete_user()
        .collection_id(request.collection.as_str())
        .user_id(request.user.as_str())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // No such user: nothing to disassociate. (A missing collection
        // answers the same code; the listing before this call would have
        // failed already.)
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}

pub(super) async fn delete_faces(
    client: &aws_sdk_rekognition::Client,
    request: &DeleteFacesRequest,
) -> Result<FaceDeletions, BackendError> {
    const OP: &str = "DeleteFaces";
    let result = client
        .delete_faces()
        .collection_id(request.collection.as_str())
        .set_face_ids(Some(request.face_ids.clone()))
        .send()
        .await;
    match result {
        Ok(out) => Ok(FaceDeletions {
            deleted: out.deleted_faces().to_vec(),
            unsuccessful: out
                .unsuccessful_face_deletions()
                .iter()
                .map(|u| {
                    (
                        u.face_id().unwrap_or_default().to_owned(),
                        u.reasons().iter().map(|r| r.as_str().to_owned()).collect(),
                    )
                })
                .collect(),
        }),
        Err(e) => Err(mapped(client, e, OP, request.collection.as_str())),
    }
}
