//! Rekognition collections under the guard: indexing and 1:N search need
//! the opt-out evidence and the at-rest checks of every Rekognition call;
//! forgetting a member sends no image and needs neither.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use super::liveness::{judge_liveness, FaceLiveness, Judged};
use super::path::{backend_error, internal_error, refused};
use super::{Guard, PhotoStore};
use crate::backend::RekognitionBackend;
use crate::collection::{
    AssociateFacesRequest, CollectionBackend, CollectionErasure, CollectionId, CollectionPolicy,
    DeleteFacesRequest, Identification, IdentificationVerdict, IndexFacesRequest, IndexedFace,
    ListFacesRequest, LiveIdentification, MemberId, RemainingFace, SearchSession,
    SearchUsersRequest, UserRequest, FACE_VECTORS_AT_REST,
};
use crate::decision::CheckedImage;
use crate::error::{BackendError, BackendErrorKind, Error};
use crate::input::{ImageInput, Service};
use crate::liveness::{KioskId, LivenessSessionId, LivenessViolation};
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
/// use rekognition_guard::consent::{Consent, ConsentMethod, ConsentNotice};
/// use std::time::Duration;
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
/// let consent = Consent::new(member.clone(), ConsentNotice::new("2026-12", "We collect a scan of your face geometry to ...")?,
///     "identity check at self-service loans", Duration::from_secs(3 * 365 * 24 * 3600), ConsentMethod::Paper)?
///     .kept_in("consent form 2026-000417")?;
/// faces.index(&consent, FaceImage::from_vec(photo.clone())?).await?;
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
    liveness: Option<FaceLiveness>,
}

impl fmt::Debug for FaceCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceCollection")
            .field("guard", &self.guard)
            .field("collection", &self.collection)
            .field("policy", &self.policy)
            .field(
                "liveness",
                &self.liveness.as_ref().map(FaceLiveness::policy),
            )
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
        let guard = Guard::new(store, backend, evidence);
        let liveness = policy.liveness().map(|l| guard.liveness(l.clone()));
        Self {
            guard,
            collection,
            policy,
            liveness,
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

    /// Indexes one face of `image` for the member `consent` is for
    /// (recorded: required before anything is sent): the image passes the
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
        consent: &crate::consent::RecordedConsent,
        image: impl Into<ImageInput>,
    ) -> Result<IndexedFace, Error> {
        let member = consent.member();
        let result = match self
            .guard
            .store
            .withdrawn
            .refuse_member(Operation::IndexFaces, member)
        {
            Ok(()) => self.index_inner(member, image.into()).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(face) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "indexed",
                collection = %face.collection,
                member = %face.member,
                consent = %consent.record(),
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
                consent = %consent.record(),
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

    /// 1:N search of a live photo taken by the caller: which member is
    /// this? Only for a collection without Face Liveness: after
    /// [`CollectionPolicy::with_liveness`] it is refused
    /// ([`SearchNeedsLiveness`](LivenessViolation::SearchNeedsLiveness),
    /// nothing sent) and [`search_live`](Self::search_live) searches
    /// instead. The live photo passes the guard's
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
        let result = match self.liveness {
            Some(_) => Err(refused(
                Operation::SearchUsersByImage,
                vec![LivenessViolation::SearchNeedsLiveness.into()],
            )),
            None => self.search_image(live.into()).await,
        };
        self.audit_search(result.as_ref().map(Some), None);
        self.record_search(result).await
    }

    /// Records every decision [`search`](Self::search) and
    /// [`search_live`](Self::search_live) make in `ledger` before returning
    /// it, as [`Guard::with_ledger`] does for comparisons: a search comes
    /// back with its [`LedgerReceipt`](crate::ledger::LedgerReceipt)
    /// ([`Identification::ledger`]), or as the ledger's error, never
    /// identified without its record.
    #[must_use]
    pub fn with_ledger(mut self, ledger: crate::ledger::Ledger) -> Self {
        self.guard = self.guard.with_ledger(ledger);
        if let Some(policy) = self.policy.liveness() {
            self.liveness = Some(self.guard.liveness(policy.clone()));
        }
        self
    }

    /// A search's result after its record, with a ledger.
    async fn record_search(
        &self,
        result: Result<Identification, Error>,
    ) -> Result<Identification, Error> {
        if self.guard.ledger().is_none() {
            return result;
        }
        let event = super::ledger::search_event(result.as_ref(), self.policy.collection_id());
        self.guard
            .recorded(result, event, |found, receipt| found.ledger = Some(receipt))
            .await
    }

    /// The audit event of a search: decided (`Some`), not searched because
    /// the person was not shown live (`None`), or not performed.
    fn audit_search(
        &self,
        result: Result<Option<&Identification>, &Error>,
        live: Option<(&LivenessSessionId, &KioskId)>,
    ) {
        let session_id = live.map(|(s, _)| tracing::field::display(s));
        let kiosk = live.map(|(_, k)| tracing::field::display(Quoted(k.as_str())));
        match result {
            Ok(None) => {}
            Ok(Some(found)) => {
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
                    session_id,
                    kiosk,
                    liveness_confidence = found.liveness_confidence.map(tracing::field::display),
                    "collection search decided"
                )
            }
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                collection = %self.policy.collection_id(),
                session_id,
                kiosk,
                reasons = %e,
                "collection search not performed"
            ),
        }
    }

    /// Starts a Face Liveness session for a 1:N search at `kiosk`: as
    /// [`FaceLiveness::start_session`] (kiosk lock, opt-out, output
    /// bucket audit, the same session settings), with its output under a
    /// prefix for searches of this collection at this kiosk (`search-`
    /// and a digest of the collection id, then the kiosk's tag), never
    /// under a member's. Those images are of a person not yet identified:
    /// [`PhotoStore::erase_liveness_artifacts`] does not reach them, so
    /// give the output bucket an S3 Lifecycle expiration for the `search-`
    /// prefix.
    ///
    /// # Errors
    /// As [`FaceLiveness::start_session`], and [`Error::Refused`] with
    /// [`NoLivenessPolicy`](LivenessViolation::NoLivenessPolicy) without
    /// [`CollectionPolicy::with_liveness`].
    pub async fn start_search_session(&self, kiosk: &KioskId) -> Result<SearchSession, Error> {
        let result = self.start_search_inner(kiosk).await;
        match &result {
            Ok(session) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "started",
                session_id = %session.id,
                collection = %session.collection,
                kiosk = %Quoted(kiosk.as_str()),
                opt_out = self.guard.opt_out.kind(),
                "face liveness session for a collection search started"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                collection = %self.policy.collection_id(),
                kiosk = %Quoted(kiosk.as_str()),
                reasons = %e,
                "face liveness session for a collection search not started"
            ),
        }
        result
    }

    async fn start_search_inner(&self, kiosk: &KioskId) -> Result<SearchSession, Error> {
        let live = self.live(Operation::StartLiveness)?;
        let collection = self.policy.collection_id();
        let prefix = live.policy().search_prefix_for(collection.as_str(), kiosk);
        let (id, started_at) = live.start(kiosk, prefix).await?;
        Ok(SearchSession {
            id,
            collection: collection.clone(),
            kiosk: kiosk.clone(),
            started_at,
            expires_at: started_at + crate::liveness::SESSION_LIFETIME,
        })
    }

    /// 1:N search after Face Liveness: verifies session `session_id`
    /// (started by [`start_search_session`](Self::start_search_session) at
    /// `kiosk`) and, if the person was live, searches the session's
    /// reference image as [`search`](Self::search) searches a photo.
    ///
    /// In order, stopping at the first that fails:
    ///
    /// 1. a Face Liveness policy is configured, the Rekognition client is
    ///    not in AWS GovCloud (US), the kiosk is not locked and
    ///    has room for one more check under its failure limit (reserved at
    ///    once), the endpoints are HTTPS, the opt-out evidence holds, and
    ///    this guard has not verified the session before (refusals);
    /// 2. `GetFaceLivenessSessionResults`, judged as
    ///    [`FaceLiveness::verify_session`] judges it:
    ///    [`NotFinished`](LiveIdentification::NotFinished) (ask again) or
    ///    [`NotLive`](LiveIdentification::NotLive) (nothing searched);
    /// 3. the reference image is in the output bucket under this
    ///    collection's search prefix for this kiosk, with no dot segment
    ///    and with a version Rekognition reported (refusals:
    ///    [`SessionNotForThisSearch`](LivenessViolation::SessionNotForThisSearch)
    ///    for a member's session, another kiosk's or another
    ///    collection's);
    /// 4. the reference image passes HeadObject under the policy, and
    ///    `SearchUsersByImage` searches it, version-pinned, at the search
    ///    threshold.
    ///
    /// Not live, no match, an ambiguous match and several faces count as
    /// failures for the kiosk's
    /// [`FailureLimit`](crate::liveness::FailureLimit).
    ///
    /// # Errors
    /// [`Error::Refused`] for the refusals above (nothing searched);
    /// [`Error::PhotoRejected`] with `several_faces`; [`Error::Backend`]
    /// when a call failed or Rekognition answered something unusable.
    pub async fn search_live(
        &self,
        session_id: &LivenessSessionId,
        kiosk: &KioskId,
    ) -> Result<LiveIdentification, Error> {
        let result = self.search_live_inner(session_id, kiosk).await;
        let live = Some((session_id, kiosk));
        match &result {
            Ok(LiveIdentification::Searched(found)) => self.audit_search(Ok(Some(found)), live),
            Ok(LiveIdentification::NotLive(reason)) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "not_live",
                collection = %self.policy.collection_id(),
                session_id = %session_id,
                kiosk = %Quoted(kiosk.as_str()),
                reason = %reason,
                "collection search not performed: the session showed no live person"
            ),
            Ok(other) => tracing::info!(
                target: AUDIT_TARGET,
                decision = other.label(),
                collection = %self.policy.collection_id(),
                session_id = %session_id,
                kiosk = %Quoted(kiosk.as_str()),
                "collection search not performed yet: the session has not finished"
            ),
            Err(e) => self.audit_search(Err(e), live),
        }
        if self.guard.ledger().is_none() {
            return result;
        }
        let collection = self.policy.collection_id();
        let event = match &result {
            Ok(LiveIdentification::NotFinished(_)) => return result,
            Ok(LiveIdentification::Searched(found)) => {
                super::ledger::search_event(Ok(found), collection)
            }
            Ok(LiveIdentification::NotLive(reason)) => serde_json::json!({
                "operation": "SearchUsersByImage",
                "collection": collection.as_str(),
                "decision": "not_live",
                "reason": reason.to_string(),
            }),
            Err(e) => super::ledger::search_event(Err(e), collection),
        };
        let mut event = event;
        event["session_id"] = serde_json::json!(session_id.to_string());
        event["kiosk"] = serde_json::json!(kiosk.as_str());
        self.guard
            .recorded(result, event, |found, receipt| {
                if let LiveIdentification::Searched(found) = found {
                    found.ledger = Some(receipt);
                }
            })
            .await
    }

    async fn search_live_inner(
        &self,
        session_id: &LivenessSessionId,
        kiosk: &KioskId,
    ) -> Result<LiveIdentification, Error> {
        const OP: Operation = Operation::SearchUsersByImage;
        let live = self.live(OP)?;
        live.offered_here(OP)?;
        // Reserved before any AWS call, and held until the check is
        // decided: a failure counts, anything else frees the place.
        let attempt = live.reserve_attempt(OP, kiosk)?;
        // Endpoints and opt-out before Rekognition is asked anything.
        self.guard.clear(OP, []).await?;
        live.claimed(
            OP,
            session_id,
            async {
                let facts = live.results(OP, session_id).await?;
                let image = match judge_liveness(&facts, live.policy()) {
                    Judged::NotFinished => {
                        return Ok(LiveIdentification::NotFinished(facts.status.clone()))
                    }
                    Judged::NotLive(reason) => {
                        live.count_failure(kiosk, attempt);
                        return Ok(LiveIdentification::NotLive(reason));
                    }
                    Judged::Invalid(error) => return Err(error),
                    Judged::Live(image) => image,
                };
                let prefix = live
                    .policy()
                    .search_prefix_for(self.policy.collection_id().as_str(), kiosk);
                let reference = live.reference_image(
                    OP,
                    session_id,
                    &prefix,
                    || LivenessViolation::SessionNotForThisSearch {
                        session_id: session_id.clone(),
                        kiosk: kiosk.clone(),
                    },
                    image,
                )?;
                let result = self.search_image(ImageInput::S3(reference)).await;
                let failed = match &result {
                    Ok(found) => !found.is_identified(),
                    Err(e) => matches!(e, Error::PhotoRejected(_)),
                };
                if failed {
                    live.count_failure(kiosk, attempt);
                }
                let mut found = result?;
                found.liveness_session = Some(session_id.clone());
                found.liveness_confidence = facts.confidence;
                Ok(LiveIdentification::Searched(found))
            },
            |found| matches!(found, LiveIdentification::NotFinished(_)),
        )
        .await
    }

    /// The Face Liveness of this collection, or a refusal without one.
    fn live(&self, operation: Operation) -> Result<&FaceLiveness, Error> {
        self.liveness
            .as_ref()
            .ok_or_else(|| refused(operation, vec![LivenessViolation::NoLivenessPolicy.into()]))
    }

    /// Clears `live` and searches it.
    async fn search_image(&self, live: ImageInput) -> Result<Identification, Error> {
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
            // A member who withdrew consent is identified by nobody.
            if similarity >= threshold.get() && !self.guard.store.withdrawn.has_member(&member) {
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
            liveness_session: None,
            liveness_confidence: None,
            ledger: None,
        })
    }
}
