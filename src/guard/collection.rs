//! Rekognition collections under the guard: indexing and 1:N search need
//! the opt-out evidence and the at-rest checks of every Rekognition call;
//! forgetting a member sends no image and needs neither.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use super::path::{backend_error, internal_error};
use super::{Guard, PhotoStore};
use crate::backend::RekognitionBackend;
use crate::collection::{
    AssociateFacesRequest, CollectionBackend, CollectionErasure, CollectionId, CollectionPolicy,
    DeleteFacesRequest, Identification, IdentificationVerdict, IndexFacesRequest, IndexedFace,
    ListFacesRequest, MemberId, RemainingFace, SearchUsersRequest, UserRequest,
    FACE_VECTORS_AT_REST,
};
use crate::decision::CheckedImage;
use crate::error::{BackendError, BackendErrorKind, Error};
use crate::input::{ImageInput, Service};
use crate::opt_out::OptOutEvidence;
use crate::quality::{FaceAssessment, QualityIssue};
use crate::refusal::Operation;
use crate::text::{Quoted, AUDIT_TARGET};

/// The most face ids one `DeleteFaces` call takes.
const DELETE_FACES_MAX: usize = 4096;

/// A Rekognition collection, for the work that sends no image: forgetting
/// a member. Needs no opt-out evidence (privacy work needs no privacy
/// waiver). Cheap to clone.
#[derive(Clone)]
pub struct Collection {
    backend: Arc<dyn CollectionBackend>,
    id: CollectionId,
}

impl fmt::Debug for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collection")
            .field("id", &self.id)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Collection {
    /// The collection `id` through `backend`.
    pub fn new(backend: impl CollectionBackend + 'static, id: CollectionId) -> Self {
        Self {
            backend: Arc::new(backend),
            id,
        }
    }

    /// The collection's id.
    pub fn id(&self) -> &CollectionId {
        &self.id
    }

    /// Forgets `member`: lists the collection's faces and takes the
    /// member's (`UserId` or `ExternalImageId` the member, so a face never
    /// associated is found too), deletes the user (`DeleteUser`, which only
    /// disassociates the faces), deletes the faces (`DeleteFaces`, which
    /// refuses faces still associated with a user), and confirms with a
    /// second listing. The receipt names every face removed, and every face
    /// remaining with the reason. Idempotent: a member with no faces gets
    /// a complete receipt.
    ///
    /// # Errors
    /// [`Error::Refused`] for an insecure endpoint (nothing deleted);
    /// [`Error::Backend`] when a call failed or Rekognition answered
    /// something unusable (a listing without face ids, a face of another
    /// member in the member's listing).
    pub async fn forget(&self, member: &MemberId) -> Result<CollectionErasure, Error> {
        let result = self.forget_inner(member).await;
        match &result {
            Ok(receipt) => tracing::info!(
                target: AUDIT_TARGET,
                decision = if receipt.is_complete() { "forgotten" } else { "incomplete" },
                collection = %self.id,
                member = %member,
                removed = receipt.removed.len(),
                remaining = receipt.remaining.len(),
                "collection member forgotten"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                collection = %self.id,
                member = %member,
                reasons = %e,
                "collection member not forgotten"
            ),
        }
        result
    }

    /// Forgets every member in `records` (member id and last interaction)
    /// whose last interaction is older than `policy` allows at `as_of`, as
    /// [`forget`](Self::forget) does, one after another; a member listed
    /// twice counts once, with their latest interaction. An error
    /// forgetting one member is recorded and the sweep goes on. The
    /// collection counterpart of
    /// [`PhotoStore::sweep_retention`]: face vectors have no expiry of
    /// their own, so they stay until deleted.
    pub async fn sweep_retention(
        &self,
        records: impl IntoIterator<Item = (MemberId, std::time::SystemTime)>,
        policy: &crate::erasure::RetentionPolicy,
        as_of: std::time::SystemTime,
    ) -> crate::collection::CollectionSweep {
        let mut latest: BTreeMap<MemberId, std::time::SystemTime> = BTreeMap::new();
        for (member, at) in records {
            let kept = latest.entry(member).or_insert(at);
            *kept = (*kept).max(at);
        }
        let mut sweep = crate::collection::CollectionSweep {
            examined: latest.len(),
            receipts: Vec::new(),
            failed: Vec::new(),
        };
        for (member, at) in latest {
            if !policy.is_due_since(at, as_of) {
                continue;
            }
            match self.forget(&member).await {
                Ok(receipt) => sweep.receipts.push(receipt),
                Err(e) => sweep.failed.push((member, e)),
            }
        }
        tracing::info!(
            target: AUDIT_TARGET,
            collection = %self.id,
            examined = sweep.examined,
            forgotten = sweep.receipts.len(),
            failed = sweep.failed.len(),
            complete = sweep.is_complete(),
            "collection retention sweep"
        );
        sweep
    }

    async fn forget_inner(&self, member: &MemberId) -> Result<CollectionErasure, Error> {
        const OP: Operation = Operation::ForgetFaces;
        let (_, listed) = self.faces(member).await?;
        let user = UserRequest {
            collection: self.id.clone(),
            user: member.clone(),
        };
        self.backend
            .delete_user(&user)
            .await
            .map_err(|e| backend_error(OP, e))?;
        // What DeleteFaces said of each face: gone (deleted, or not found),
        // or not deleted and why.
        let mut gone: BTreeSet<String> = BTreeSet::new();
        let mut reasons: BTreeMap<String, String> = BTreeMap::new();
        let ids: Vec<String> = listed.iter().cloned().collect();
        for chunk in ids.chunks(DELETE_FACES_MAX) {
            let deletions = self
                .backend
                .delete_faces(&DeleteFacesRequest {
                    collection: self.id.clone(),
                    face_ids: chunk.to_vec(),
                })
                .await
                .map_err(|e| backend_error(OP, e))?;
            gone.extend(deletions.deleted);
            for (face_id, why) in deletions.unsuccessful {
                if why.len() == 1 && why[0] == "FACE_NOT_FOUND" {
                    gone.insert(face_id);
                    continue;
                }
                let why: Vec<String> = why.iter().map(|r| Quoted(r).to_string()).collect();
                reasons.insert(
                    face_id,
                    format!("DeleteFaces did not delete it: {}", why.join(", ")),
                );
            }
        }
        // Confirmed by id against the whole collection (a face found only
        // through the user is no longer the user's after DeleteUser), and
        // any face of the member that appeared meanwhile.
        let (every, new) = self.faces(member).await?;
        let still: BTreeSet<String> = every.into_iter().filter(|id| listed.contains(id)).collect();
        let removed: Vec<String> = listed
            .iter()
            .filter(|id| gone.contains(*id) && !still.contains(*id))
            .cloned()
            .collect();
        let remaining: BTreeSet<String> = listed
            .iter()
            .filter(|id| !removed.contains(id))
            .cloned()
            .chain(new.into_iter().filter(|id| !removed.contains(id)))
            .collect();
        Ok(CollectionErasure {
            collection: self.id.clone(),
            member: member.clone(),
            removed,
            remaining: remaining
                .into_iter()
                .map(|face_id| RemainingFace {
                    reason: reasons.remove(&face_id).unwrap_or_else(|| {
                        if listed.contains(&face_id) {
                            "the confirming listing still shows it, or DeleteFaces did not report it deleted".to_owned()
                        } else {
                            "indexed for the member while the erasure ran; forget the member again".to_owned()
                        }
                    }),
                    face_id,
                })
                .collect(),
        })
    }

    /// Every face of the collection (one listing, every page), and of
    /// them the member's: each face whose `UserId` or `ExternalImageId`
    /// is the member. One listing of the whole collection rather than one
    /// by `UserId`: Rekognition answers operations naming a user that does
    /// not exist (never indexed, or already deleted) with an error, which
    /// would make a member impossible to forget twice.
    async fn faces(
        &self,
        member: &MemberId,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), Error> {
        const OP: Operation = Operation::ForgetFaces;
        let all = self
            .backend
            .list_faces(&ListFacesRequest {
                collection: self.id.clone(),
                user: None,
            })
            .await
            .map_err(|e| backend_error(OP, e))?;
        let mut every = BTreeSet::new();
        let mut members = BTreeSet::new();
        for face in &all {
            let id = face_id(face.face_id.as_deref(), "ListFaces")?;
            let by_user = face.user_id.as_deref() == Some(member.as_str());
            let by_image = face.external_image_id.as_deref() == Some(member.as_str());
            // The member's image, but another member's face: the
            // collection is not as the guard left it; nothing is deleted on
            // its word.
            if by_image
                && face
                    .user_id
                    .as_deref()
                    .is_some_and(|u| u != member.as_str())
            {
                return Err(unusable(
                    "ListFaces",
                    "a face indexed for the member but associated with another user",
                ));
            }
            if by_user || by_image {
                members.insert(id.clone());
            }
            every.insert(id);
        }
        Ok((every, members))
    }
}

/// A face id as Rekognition writes them (a lower-case UUID), or an error:
/// anything else is not used, nor written into a log line.
fn face_id(id: Option<&str>, operation: &'static str) -> Result<String, Error> {
    let id = id.ok_or_else(|| unusable(operation, "a face without a FaceId"))?;
    let uuid = id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if !uuid {
        return Err(unusable(operation, "a FaceId that is not a UUID"));
    }
    Ok(id.to_owned())
}

fn unusable(operation: &'static str, what: &str) -> Error {
    Error::Backend(BackendError::new(
        BackendErrorKind::InvalidResponse,
        Service::Rekognition,
        operation,
        format!("Rekognition answered with {what}; refusing rather than guessing"),
    ))
}

/// Face indexing and 1:N search in a Rekognition collection, under the
/// guard: each image passes the guard's checks (HTTPS, SSE-KMS and the
/// version pin for S3 images), each call needs the opt-out evidence, and
/// the [`CollectionPolicy`] (made only through
/// [`CollectionPolicy::dangerous`]) says face vectors may be kept without
/// a customer KMS key. Cheap to clone.
///
/// ```
/// use rekognition_guard::collection::{CollectionId, CollectionPolicy, MemberId};
/// use rekognition_guard::memory::InMemoryBackend;
/// use rekognition_guard::{FaceCollection, FaceImage, OptOutEvidence, PhotoStore, Policy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = InMemoryBackend::new();
/// aws.create_collection("library-members");
/// let photo = b"\xFF\xD8\xFF\xE0 ada".to_vec();
/// aws.register_image(&photo, "ada");
/// aws.set_similarity("ada", "ada", 99.8);
///
/// let faces = FaceCollection::new(
///     PhotoStore::new(aws.clone(), Policy::any_kms_key()),
///     aws.clone(),
///     OptOutEvidence::attested("AWS Support case 1234567890")?,
///     CollectionPolicy::dangerous()
///         .face_vectors_without_customer_kms_key(CollectionId::parse("library-members")?),
/// );
/// let member = MemberId::parse("member-000417")?;
/// faces.index(&member, FaceImage::from_vec(photo.clone())?).await?;
/// let found = faces.search(FaceImage::from_vec(photo)?).await?;
/// assert!(found.is_identified());
/// assert!(faces.collection().forget(&member).await?.is_complete());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FaceCollection {
    guard: Guard,
    collection: Collection,
    policy: CollectionPolicy,
}

impl fmt::Debug for FaceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceCollection")
            .field("guard", &self.guard)
            .field("collection", &self.collection)
            .field("policy", &self.policy)
            .finish()
    }
}

impl FaceCollection {
    /// A collection through `backend`, which serves both the Rekognition
    /// calls of the guard's checks (the opt-out's caller account) and the
    /// collection operations: one backend, so the evidence is about the
    /// account that indexes and searches.
    pub fn new<B>(
        store: PhotoStore,
        backend: B,
        evidence: OptOutEvidence,
        policy: CollectionPolicy,
    ) -> Self
    where
        B: RekognitionBackend + CollectionBackend + Clone + 'static,
    {
        let collection = Collection::new(backend.clone(), policy.collection_id().clone());
        Self {
            guard: Guard::new(store, backend, evidence),
            collection,
            policy,
        }
    }

    /// The collection, for [`Collection::forget`].
    pub fn collection(&self) -> &Collection {
        &self.collection
    }

    /// The policy.
    pub fn policy(&self) -> &CollectionPolicy {
        &self.policy
    }

    /// Indexes one face of `image` for `member`: the image passes the
    /// guard's checks, then `IndexFaces` (`MaxFaces` 1, `QualityFilter`
    /// `AUTO`, `ExternalImageId` the member), `CreateUser` and
    /// `AssociateFaces` (`UserId` the member). An image with no face, with
    /// several, or whose face Rekognition would not index is refused with
    /// the reason, and any face indexed from it is deleted again.
    ///
    /// # Errors
    /// [`Error::Refused`] when a requirement fails (nothing sent to
    /// Rekognition); [`Error::PhotoRejected`] with `no_face`,
    /// `several_faces` or `not_indexed`; [`Error::Backend`] when a call
    /// failed (the message names a face left indexed, which
    /// [`Collection::forget`] removes).
    pub async fn index(
        &self,
        member: &MemberId,
        image: impl Into<ImageInput>,
    ) -> Result<IndexedFace, Error> {
        let result = self.index_inner(member, image.into()).await;
        match &result {
            Ok(face) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "indexed",
                collection = %face.collection,
                member = %face.member,
                face_id = %face.face_id,
                source = %face.source,
                opt_out = face.opt_out.kind(),
                face_vectors = face.face_vectors,
                "face indexed into a collection"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                collection = %self.policy.collection_id(),
                member = %member,
                reasons = %e,
                "face not indexed"
            ),
        }
        result
    }

    async fn index_inner(
        &self,
        member: &MemberId,
        image: ImageInput,
    ) -> Result<IndexedFace, Error> {
        const OP: Operation = Operation::IndexFaces;
        let clearance = self.guard.clear(OP, [image]).await?;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        let [cleared] = clearance.images;
        let source = CheckedImage::of(&cleared.image, cleared.origin);
        let backend = &self.collection.backend;
        let collection = self.policy.collection_id().clone();
        let indexed = backend
            .index_faces(IndexFacesRequest {
                collection: collection.clone(),
                image: cleared.image,
                external_image_id: member.clone(),
            })
            .await
            .map_err(|e| backend_error(OP, e))?;
        // Every id that is a face id can be deleted again; one that is not
        // cannot be named, so the image fails whatever else it shows.
        let valid: Vec<String> = indexed
            .face_ids
            .iter()
            .filter_map(|id| face_id(Some(id), "IndexFaces").ok())
            .collect();
        if valid.len() != indexed.face_ids.len() {
            self.roll_back(&valid).await?;
            return Err(unusable(
                "IndexFaces",
                "a face record without a usable FaceId",
            ));
        }
        let face_id = match (valid.as_slice(), indexed.unindexed.as_slice()) {
            ([one], []) => one.clone(),
            (ids, unindexed) => {
                let issue = match (ids.len(), unindexed) {
                    (0, []) => QualityIssue::NoFace,
                    (0, [reasons]) => QualityIssue::NotIndexed {
                        reasons: reasons.clone(),
                    },
                    (n, rest) => QualityIssue::SeveralFaces {
                        count: n + rest.len(),
                    },
                };
                self.roll_back(ids).await?;
                return Err(Error::PhotoRejected(FaceAssessment {
                    issues: vec![issue],
                    face: None,
                }));
            }
        };
        // From here on, a failure deletes the face again: no vector stays
        // for a member the index did not complete for.
        match self.associate(&collection, member, &face_id).await {
            Ok(()) => Ok(IndexedFace {
                collection,
                member: member.clone(),
                face_id,
                source,
                opt_out,
                face_vectors: FACE_VECTORS_AT_REST,
            }),
            Err(e) => {
                self.roll_back(std::slice::from_ref(&face_id)).await?;
                Err(e)
            }
        }
    }

    /// `CreateUser` (one that exists is fine) and `AssociateFaces` at the
    /// policy's threshold: the face must match the member's faces already
    /// there, so another person's face is never attached to a member.
    async fn associate(
        &self,
        collection: &crate::collection::CollectionId,
        member: &MemberId,
        face_id: &str,
    ) -> Result<(), Error> {
        const OP: Operation = Operation::IndexFaces;
        let backend = &self.collection.backend;
        backend
            .create_user(&UserRequest {
                collection: collection.clone(),
                user: member.clone(),
            })
            .await
            .map_err(|e| backend_error(OP, e))?;
        let associations = backend
            .associate_faces(&AssociateFacesRequest {
                collection: collection.clone(),
                user: member.clone(),
                face_ids: vec![face_id.to_owned()],
                user_match_threshold: self.policy.search_threshold(),
            })
            .await
            .map_err(|e| backend_error(OP, e))?;
        if associations.associated.iter().any(|id| id == face_id) {
            return Ok(());
        }
        let reasons: Vec<String> = associations
            .unsuccessful
            .iter()
            .flat_map(|(_, why)| why.iter().map(|r| Quoted(r).to_string()))
            .collect();
        if reasons.iter().any(|r| r.contains("LOW_MATCH_CONFIDENCE")) {
            return Err(Error::PhotoRejected(FaceAssessment {
                issues: vec![QualityIssue::NotTheMember],
                face: None,
            }));
        }
        Err(Error::Backend(BackendError::new(
            BackendErrorKind::InvalidResponse,
            Service::Rekognition,
            "AssociateFaces",
            format!(
                "AssociateFaces did not associate the face ({}); it was deleted again",
                if reasons.is_empty() {
                    "no reason given".to_owned()
                } else {
                    reasons.join(", ")
                }
            ),
        )))
    }

    /// Deletes faces indexed from an image that was then refused.
    async fn roll_back(&self, ids: &[String]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let deletions = self
            .collection
            .backend
            .delete_faces(&DeleteFacesRequest {
                collection: self.policy.collection_id().clone(),
                face_ids: ids.to_vec(),
            })
            .await;
        match deletions {
            Ok(d) if d.unsuccessful.is_empty() && ids.iter().all(|id| d.deleted.contains(id)) => {
                Ok(())
            }
            _ => Err(Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::Rekognition,
                "DeleteFaces",
                format!(
                    "the image was refused, but the face(s) indexed from it ({}) could not be deleted again; delete them with DeleteFaces",
                    ids.join(", ")
                ),
            ))),
        }
    }

    /// 1:N search: which member is this? Not yet tied to Face Liveness: a
    /// kiosk that needs presentation-attack detection must check liveness
    /// itself before searching. The live photo passes the guard's
    /// checks, then `SearchUsersByImage` (`UserMatchThreshold` the
    /// policy's search threshold, at least 99; `MaxUsers` 2). Exactly one
    /// member at or above the threshold is an identification; none is no
    /// match; two or more are [`Ambiguous`](IdentificationVerdict::Ambiguous),
    /// never an approval. The decision and its audit event name the member
    /// and the similarity, never a face vector.
    ///
    /// # Errors
    /// [`Error::Refused`] when a requirement fails (nothing sent to
    /// Rekognition); [`Error::Backend`] when the call failed or Rekognition
    /// answered a match without a user id or similarity, or with a user id
    /// that is not a member id.
    pub async fn search(&self, live: impl Into<ImageInput>) -> Result<Identification, Error> {
        let result = self.search_inner(live.into()).await;
        match &result {
            Ok(found) => {
                let (member, similarity) = match &found.verdict {
                    IdentificationVerdict::Identified { member, similarity } => {
                        (Some(member), Some(*similarity))
                    }
                    _ => (None, None),
                };
                tracing::info!(
                    target: AUDIT_TARGET,
                    decision = found.verdict.label(),
                    collection = %found.collection,
                    member = member.map(tracing::field::display),
                    similarity = similarity.map(tracing::field::display),
                    threshold = %found.threshold,
                    target = %found.target,
                    opt_out = found.opt_out.kind(),
                    face_vectors = found.face_vectors,
                    "collection search decided"
                )
            }
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                collection = %self.policy.collection_id(),
                reasons = %e,
                "collection search not performed"
            ),
        }
        result
    }

    async fn search_inner(&self, live: ImageInput) -> Result<Identification, Error> {
        const OP: Operation = Operation::SearchUsersByImage;
        let clearance = self.guard.clear(OP, [live]).await?;
        let opt_out = clearance.opt_out.ok_or_else(|| internal_error(OP))?;
        let [cleared] = clearance.images;
        let target = CheckedImage::of(&cleared.image, cleared.origin);
        let threshold = self.policy.search_threshold();
        let matches = self
            .collection
            .backend
            .search_users_by_image(SearchUsersRequest {
                collection: self.policy.collection_id().clone(),
                image: cleared.image,
                threshold,
                max_users: 2,
            })
            .await
            .map_err(|e| backend_error(OP, e))?;
        if matches.unsearched_faces > 0 {
            // Rekognition searched only the largest face: the others at the
            // kiosk were never compared with anyone.
            return Err(Error::PhotoRejected(FaceAssessment {
                issues: vec![QualityIssue::SeveralFaces {
                    count: matches.unsearched_faces + 1,
                }],
                face: None,
            }));
        }
        // Per member, the best similarity (a member named twice is one
        // candidate).
        let mut above: BTreeMap<MemberId, f32> = BTreeMap::new();
        for m in matches.matches {
            let (Some(user), Some(similarity)) = (m.user_id, m.similarity) else {
                return Err(unusable(
                    "SearchUsersByImage",
                    "a user match without a UserId or a Similarity",
                ));
            };
            if !(0.0..=100.0).contains(&similarity) {
                return Err(unusable(
                    "SearchUsersByImage",
                    "a Similarity outside 0 to 100",
                ));
            }
            let member = MemberId::parse(&user)
                .map_err(|_| unusable("SearchUsersByImage", "a UserId that is not a member id"))?;
            if similarity >= threshold.get() {
                let best = above.entry(member).or_insert(similarity);
                *best = best.max(similarity);
            }
        }
        let verdict = match above.len() {
            0 => IdentificationVerdict::NoMatch,
            1 => {
                let (member, similarity) = above.into_iter().next().expect("one entry");
                IdentificationVerdict::Identified { member, similarity }
            }
            n => IdentificationVerdict::Ambiguous { candidates: n },
        };
        Ok(Identification {
            verdict,
            collection: self.policy.collection_id().clone(),
            threshold,
            target,
            opt_out,
            face_vectors: FACE_VECTORS_AT_REST,
        })
    }
}
