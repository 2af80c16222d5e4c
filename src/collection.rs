//! Rekognition collections (architecture B): 1:N identification under the
//! guard.
//!
//! A collection stores a **face vector** per indexed face (never image
//! bytes), encrypted at rest by AWS with no customer KMS key (no collection
//! API takes one: `CreateCollection` has only `CollectionId` and `Tags`),
//! and keeps it until someone deletes it; the AI services opt-out does not
//! delete it either (Rekognition Developer Guide, "Storage-based and
//! storage-free operations"). So a collection is used only under a
//! [`CollectionPolicy`], which can be made only through
//! [`CollectionPolicy::dangerous`], a choice that stands out in review and
//! is recorded in every decision.
//!
//! * [`FaceCollection::index`](crate::FaceCollection::index): one face of a checked reference photo (a
//!   version-pinned S3 object under the at-rest policy, or bytes), with
//!   `ExternalImageId` and `UserId` from an opaque [`MemberId`] (never a
//!   name), associated to that user.
//! * [`FaceCollection::search`](crate::FaceCollection::search): `SearchUsersByImage` under a stricter
//!   threshold than 1:1 (at least 99); exactly one member above it is an
//!   identification, two or more are no approval.
//! * [`Collection::forget`](crate::Collection::forget) (no opt-out evidence needed: it sends no image):
//!   lists the member's faces, deletes the user (which only disassociates
//!   them), deletes the faces, checks `UnsuccessfulFaceDeletions` and
//!   confirms with a second listing; the receipt names every face id
//!   removed or remaining.
//!
//! Facts and limits: Rekognition API Reference (`IndexFaces`,
//! `SearchUsersByImage`, `ListFaces`, `DeleteFaces`, `CreateUser`,
//! `AssociateFaces`, `DeleteUser`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::VerifiedImage;
use crate::error::BackendError;
use crate::input::InputError;
use crate::liveness::{KioskId, LivenessSessionId, LivenessStatus, NotLiveReason};
use crate::policy::SimilarityThreshold;
use crate::text::Quoted;

/// A Rekognition collection id: 1 to 255 characters of `a-z A-Z 0-9 _ . -`
/// (`CreateCollection`'s `CollectionId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectionId(Arc<str>);

impl CollectionId {
    /// Validates `id` against Rekognition's rule.
    ///
    /// # Errors
    /// [`InputError::InvalidCollectionId`] saying what is wrong.
    pub fn parse(id: &str) -> Result<Self, InputError> {
        let bad = |reason: &str| InputError::InvalidCollectionId {
            id: id.to_owned(),
            reason: reason.to_owned(),
        };
        if id.is_empty() || id.len() > 255 {
            return Err(bad("it must be 1 to 255 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(bad("only a-z, A-Z, 0-9, '_', '.' and '-' are allowed"));
        }
        Ok(Self(id.into()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An opaque member id, used as a face's `ExternalImageId` and as its
/// `UserId`: 1 to 128 characters of `a-z A-Z 0-9 _ . - :` (the narrower of
/// the two rules: `UserId` allows 128, `ExternalImageId` 255). Use your
/// library system's member number or a random id, **never a name**:
/// Rekognition returns it with every match, and the guard writes it into
/// audit events. A value breaking the rule is not echoed in the error
/// (it might be a name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(Arc<str>);

impl MemberId {
    /// Validates `id`.
    ///
    /// ```
    /// use rekognition_guard::collection::MemberId;
    ///
    /// assert!(MemberId::parse("member-000417").is_ok());
    /// assert!(MemberId::parse("Ada Lovelace").is_err()); // a space: and a name
    /// ```
    ///
    /// # Errors
    /// [`InputError::InvalidMemberId`] saying what is wrong (never the
    /// value).
    pub fn parse(id: &str) -> Result<Self, InputError> {
        let bad = |reason: &str| InputError::InvalidMemberId {
            len: id.len(),
            reason: reason.to_owned(),
        };
        if id.is_empty() || id.len() > 128 {
            return Err(bad("it must be 1 to 128 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':'))
        {
            return Err(bad(
                "only a-z, A-Z, 0-9, '_', '.', '-' and ':' are allowed (an opaque id, never a name)",
            ));
        }
        Ok(Self(id.into()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The choice to keep face vectors in a Rekognition collection, and the
/// rules for 1:N search. Made only through [`CollectionPolicy::dangerous`]:
/// face vectors are encrypted by AWS with no customer KMS key and stay
/// until deleted, which the crate's at-rest requirement (SSE-KMS under an
/// allowed key) cannot cover.
///
/// ```
/// use rekognition_guard::collection::{CollectionId, CollectionPolicy};
///
/// let policy = CollectionPolicy::dangerous()
///     .face_vectors_without_customer_kms_key(CollectionId::parse("library-members")?);
/// assert_eq!(policy.search_threshold().get(), 99.0);
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
///
/// There is no other way to one:
///
/// ```compile_fail
/// use rekognition_guard::collection::{CollectionId, CollectionPolicy};
/// let policy = CollectionPolicy::new(CollectionId::parse("library-members").unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct CollectionPolicy {
    collection: CollectionId,
    threshold: SimilarityThreshold,
    liveness: Option<crate::liveness::LivenessPolicy>,
}

/// The lowest similarity threshold a 1:N search may use: stricter than a
/// 1:1 comparison's default (AWS recommends 99 for identity-sensitive
/// matching).
const MIN_SEARCH_THRESHOLD: f32 = 99.0;

impl CollectionPolicy {
    /// The way to a collection policy, kept apart (in the manner of
    /// rustls's `dangerous()`): see
    /// [`DangerousCollectionPolicy::face_vectors_without_customer_kms_key`].
    pub fn dangerous() -> DangerousCollectionPolicy {
        DangerousCollectionPolicy { _private: () }
    }

    /// The threshold of [`FaceCollection::search`](crate::FaceCollection::search): a member is identified
    /// only at or above it. Default 99.
    ///
    /// # Errors
    /// [`InputError::InvalidSearchThreshold`] below 99: 1:N search compares a
    /// face with every member, so it needs a stricter threshold than 1:1.
    pub fn with_search_threshold(
        mut self,
        threshold: SimilarityThreshold,
    ) -> Result<Self, InputError> {
        if threshold.get() < MIN_SEARCH_THRESHOLD {
            return Err(InputError::InvalidSearchThreshold {
                value: threshold.get(),
            });
        }
        self.threshold = threshold;
        Ok(self)
    }

    /// Identifies members only after a passed Face Liveness check under
    /// `policy`: every [`FaceCollection`](crate::FaceCollection) made with
    /// this policy refuses [`search`](crate::FaceCollection::search) of a
    /// photo the caller took
    /// ([`SearchNeedsLiveness`](crate::liveness::LivenessViolation::SearchNeedsLiveness))
    /// and searches with
    /// [`start_search_session`](crate::FaceCollection::start_search_session)
    /// and [`search_live`](crate::FaceCollection::search_live) instead.
    #[must_use]
    pub fn with_liveness(mut self, policy: crate::liveness::LivenessPolicy) -> Self {
        self.liveness = Some(policy);
        self
    }

    /// The Face Liveness policy searches need, if any.
    pub fn liveness(&self) -> Option<&crate::liveness::LivenessPolicy> {
        self.liveness.as_ref()
    }

    /// The collection.
    pub fn collection_id(&self) -> &CollectionId {
        &self.collection
    }

    /// The search threshold.
    pub fn search_threshold(&self) -> SimilarityThreshold {
        self.threshold
    }
}

/// A [`CollectionPolicy`] not yet made. Reached only through
/// [`CollectionPolicy::dangerous`].
#[derive(Debug)]
#[must_use]
pub struct DangerousCollectionPolicy {
    _private: (),
}

impl DangerousCollectionPolicy {
    /// Keeps face vectors in `collection`, encrypted at rest by AWS with
    /// no customer KMS key, until [`Collection::forget`](crate::Collection::forget) deletes them.
    /// Every index and search decision records this choice
    /// ([`IndexedFace::face_vectors`], [`Identification::face_vectors`]).
    pub fn face_vectors_without_customer_kms_key(
        self,
        collection: CollectionId,
    ) -> CollectionPolicy {
        CollectionPolicy {
            collection,
            threshold: SimilarityThreshold::new(MIN_SEARCH_THRESHOLD)
                .expect("99 is a valid threshold"),
            liveness: None,
        }
    }
}

/// How a collection's face vectors are kept, as decisions record it.
pub const FACE_VECTORS_AT_REST: &str =
    "face vectors kept by Amazon Rekognition, encrypted by AWS with no customer KMS key, until deleted";

/// An `IndexFaces` call the guard approved: one face of a checked image,
/// `MaxFaces` 1, `QualityFilter` `AUTO`. Only the guard builds one.
#[derive(Debug)]
#[non_exhaustive]
pub struct IndexFacesRequest {
    /// The collection.
    pub collection: CollectionId,
    /// The image, checked.
    pub image: VerifiedImage,
    /// The `ExternalImageId`: the member.
    pub external_image_id: MemberId,
}

/// What `IndexFaces` reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexedFaces {
    /// The `FaceId` of each face indexed (`FaceRecords`).
    pub face_ids: Vec<String>,
    /// The reasons of each face not indexed (`UnindexedFaces[].Reasons`,
    /// e.g. `EXCEEDS_MAX_FACES`, `LOW_SHARPNESS`), one list per face.
    pub unindexed: Vec<Vec<String>>,
}

/// A `SearchUsersByImage` call the guard approved. Only the guard builds
/// one.
#[derive(Debug)]
#[non_exhaustive]
pub struct SearchUsersRequest {
    /// The collection.
    pub collection: CollectionId,
    /// The live photo, checked.
    pub image: VerifiedImage,
    /// `UserMatchThreshold`.
    pub threshold: SimilarityThreshold,
    /// `MaxUsers`: 2, enough to see that a match is not unique.
    pub max_users: u32,
}

/// One `UserMatches` entry, as Rekognition sent it (`None` where it sent
/// nothing).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserMatch {
    /// `User.UserId`.
    pub user_id: Option<String>,
    /// `Similarity`.
    pub similarity: Option<f32>,
}

/// A request about one user of a collection (`CreateUser`, `DeleteUser`,
/// `ListFaces` by user). Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserRequest {
    /// The collection.
    pub collection: CollectionId,
    /// The user: the member.
    pub user: MemberId,
}

/// `ListFaces`, every page. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFacesRequest {
    /// The collection.
    pub collection: CollectionId,
    /// Only this user's faces (`UserId`); `None`: every face.
    pub user: Option<MemberId>,
}

/// `AssociateFaces` of faces with a user. Only the guard builds one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AssociateFacesRequest {
    /// The collection.
    pub collection: CollectionId,
    /// The user.
    pub user: MemberId,
    /// The faces.
    pub face_ids: Vec<String>,
    /// `UserMatchThreshold`: how sure Rekognition must be that a face is
    /// the user's face already stored (the policy's search threshold), so
    /// another person's face is never attached to a member.
    pub user_match_threshold: SimilarityThreshold,
}

/// What `AssociateFaces` reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaceAssociations {
    /// `AssociatedFaces[].FaceId`.
    pub associated: Vec<String>,
    /// `UnsuccessfulFaceAssociations`: face id and reasons
    /// (`LOW_MATCH_CONFIDENCE`, `FACE_NOT_FOUND`, …).
    pub unsuccessful: Vec<(String, Vec<String>)>,
}

/// What `SearchUsersByImage` reported.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserSearch {
    /// `UserMatches`.
    pub matches: Vec<UserMatch>,
    /// How many faces of the image were not searched (`UnsearchedFaces`):
    /// Rekognition searches only the largest face.
    pub unsearched_faces: usize,
}

/// One face a `ListFaces` page reported (`None` where Rekognition sent
/// nothing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredFace {
    /// `FaceId`.
    pub face_id: Option<String>,
    /// `ExternalImageId`.
    pub external_image_id: Option<String>,
    /// `UserId`, when the face is associated with a user.
    pub user_id: Option<String>,
}

/// `DeleteFaces`. Only the guard builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteFacesRequest {
    /// The collection.
    pub collection: CollectionId,
    /// The faces (1 to 4096).
    pub face_ids: Vec<String>,
}

/// What `DeleteFaces` reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaceDeletions {
    /// `DeletedFaces`.
    pub deleted: Vec<String>,
    /// `UnsuccessfulFaceDeletions`: face id and reasons
    /// (`ASSOCIATED_TO_AN_EXISTING_USER`, `FACE_NOT_FOUND`).
    pub unsuccessful: Vec<(String, Vec<String>)>,
}

/// The collection operations of Rekognition, as the guard uses them. Every
/// method is one AWS operation; a method gets only requests the guard
/// approved, and reports facts without judging them.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait CollectionBackend: Send + Sync + fmt::Debug {
    /// `IndexFaces` with `MaxFaces` 1 and `QualityFilter` `AUTO`, asking
    /// for no more than Rekognition's default face attributes.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn index_faces(&self, request: IndexFacesRequest) -> Result<IndexedFaces, BackendError>;

    /// `SearchUsersByImage` with `QualityFilter` `AUTO`.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn search_users_by_image(
        &self,
        request: SearchUsersRequest,
    ) -> Result<UserSearch, BackendError>;

    /// `CreateUser`; a user that already exists is success.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn create_user(&self, request: &UserRequest) -> Result<(), BackendError>;

    /// `AssociateFaces` with the request's `UserMatchThreshold`.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn associate_faces(
        &self,
        request: &AssociateFacesRequest,
    ) -> Result<FaceAssociations, BackendError>;

    /// `ListFaces`, every page: the faces of the request's user, or with
    /// `user` `None`, every face of the collection.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn list_faces(&self, request: &ListFacesRequest)
        -> Result<Vec<StoredFace>, BackendError>;

    /// `DeleteUser` (which disassociates the user's faces and does not
    /// delete them); a user that does not exist is success.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn delete_user(&self, request: &UserRequest) -> Result<(), BackendError>;

    /// `DeleteFaces`.
    ///
    /// # Errors
    /// A [`BackendError`] when Rekognition refused or failed.
    async fn delete_faces(
        &self,
        request: &DeleteFacesRequest,
    ) -> Result<FaceDeletions, BackendError>;
}

/// A face indexed for a member by [`FaceCollection::index`](crate::FaceCollection::index).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IndexedFace {
    /// The collection.
    pub collection: CollectionId,
    /// The member (`ExternalImageId` and `UserId`).
    pub member: MemberId,
    /// The face id Rekognition gave the face.
    pub face_id: String,
    /// The image indexed, as checked.
    pub source: crate::decision::CheckedImage,
    /// The opt-out evidence relied on.
    pub opt_out: crate::opt_out::OptOutRecord,
    /// How the face vector is kept: [`FACE_VECTORS_AT_REST`].
    pub face_vectors: &'static str,
}

/// The outcome of a 1:N search.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum IdentificationVerdict {
    /// Exactly one member at or above the threshold. Rekognition itself
    /// leaves out members below the threshold, so this says nothing about
    /// how close the next member came: only that no other member reached
    /// the threshold.
    Identified {
        /// The member.
        member: MemberId,
        /// Its similarity.
        similarity: f32,
    },
    /// No member at or above the threshold.
    NoMatch,
    /// Two or more members at or above the threshold: no approval (the
    /// staff desk decides).
    Ambiguous {
        /// How many.
        candidates: usize,
    },
}

impl IdentificationVerdict {
    /// `identified`, `no_match` or `ambiguous`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Identified { .. } => "identified",
            Self::NoMatch => "no_match",
            Self::Ambiguous { .. } => "ambiguous",
        }
    }
}

/// What [`FaceCollection::search`](crate::FaceCollection::search) decided. Holds no image bytes and no
/// face vector.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Identification {
    /// The verdict.
    pub verdict: IdentificationVerdict,
    /// The collection searched.
    pub collection: CollectionId,
    /// The threshold applied.
    pub threshold: SimilarityThreshold,
    /// The live photo, as checked.
    pub target: crate::decision::CheckedImage,
    /// The opt-out evidence relied on.
    pub opt_out: crate::opt_out::OptOutRecord,
    /// How the collection's face vectors are kept: [`FACE_VECTORS_AT_REST`].
    pub face_vectors: &'static str,
    /// The Face Liveness session whose reference image was searched, for
    /// [`FaceCollection::search_live`](crate::FaceCollection::search_live);
    /// `None` for a search without liveness.
    pub liveness_session: Option<LivenessSessionId>,
    /// That session's liveness confidence, 0 to 100.
    pub liveness_confidence: Option<f32>,
    /// Where the decision's record is, for a collection with a ledger
    /// ([`FaceCollection::with_ledger`](crate::FaceCollection::with_ledger)).
    pub ledger: Option<crate::decision::LedgerReceipt>,
}

/// What [`FaceCollection::search_live`](crate::FaceCollection::search_live)
/// decided. Only [`Searched`](Self::Searched) with an
/// [`Identified`](IdentificationVerdict::Identified) verdict identifies a
/// member.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LiveIdentification {
    /// The session is `CREATED` or `IN_PROGRESS`: ask again (it stays
    /// unverified until then).
    NotFinished(LivenessStatus),
    /// The session did not show a live person: nothing was searched.
    NotLive(NotLiveReason),
    /// The person was live, and the session's reference image was searched.
    Searched(Identification),
}

impl LiveIdentification {
    /// Whether a single, live member was identified.
    pub fn is_identified(&self) -> bool {
        matches!(self, Self::Searched(found) if found.is_identified())
    }

    /// `not_finished`, `not_live`, or the search's
    /// [label](IdentificationVerdict::label).
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotFinished(_) => "not_finished",
            Self::NotLive(_) => "not_live",
            Self::Searched(found) => found.verdict.label(),
        }
    }
}

/// A started Face Liveness session for a 1:N search
/// ([`FaceCollection::start_search_session`](crate::FaceCollection::start_search_session)):
/// give [`id`](Self::id) to the kiosk's client component, then
/// [`FaceCollection::search_live`](crate::FaceCollection::search_live) at
/// the same kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchSession {
    /// The session id.
    pub id: LivenessSessionId,
    /// The collection it searches.
    pub collection: CollectionId,
    /// The kiosk it was started at.
    pub kiosk: KioskId,
    /// When it was started (this host's clock).
    pub started_at: std::time::SystemTime,
    /// When Rekognition expires it: 3 minutes after the start.
    pub expires_at: std::time::SystemTime,
}

impl Identification {
    /// Whether a single member was identified.
    pub fn is_identified(&self) -> bool {
        matches!(self.verdict, IdentificationVerdict::Identified { .. })
    }
}

/// A face [`Collection::forget`](crate::Collection::forget) could not remove, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemainingFace {
    /// The face id.
    pub face_id: String,
    /// Why: Rekognition's `UnsuccessfulFaceDeletions` reasons, or that the
    /// confirming listing still shows it.
    pub reason: String,
}

/// The receipt of [`Collection::forget`](crate::Collection::forget).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectionErasure {
    /// The collection.
    pub collection: CollectionId,
    /// The member.
    pub member: MemberId,
    /// Face ids deleted, and gone from the confirming listing.
    pub removed: Vec<String>,
    /// Face ids still there, each with the reason.
    pub remaining: Vec<RemainingFace>,
}

impl CollectionErasure {
    /// Whether every face of the member is gone (the confirming listing
    /// shows none).
    pub fn is_complete(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// What [`Collection::sweep_retention`](crate::Collection::sweep_retention)
/// did.
#[derive(Debug)]
#[non_exhaustive]
pub struct CollectionSweep {
    /// Distinct members looked at.
    pub examined: usize,
    /// One receipt per due member forgotten.
    pub receipts: Vec<CollectionErasure>,
    /// Due members whose erasure failed, and the error.
    pub failed: Vec<(MemberId, crate::error::Error)>,
}

impl CollectionSweep {
    /// Whether every due member's faces are gone.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.receipts.iter().all(CollectionErasure::is_complete)
    }
}

impl fmt::Display for CollectionErasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "member {} in collection {}: {} face(s) removed",
            self.member,
            self.collection,
            self.removed.len()
        )?;
        for r in &self.remaining {
            write!(f, "; face {} remains ({})", Quoted(&r.face_id), r.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_rekognitions_character_sets() {
        assert!(CollectionId::parse("library-members_2026.v1").is_ok());
        for bad in ["", "a b", "a:b", "ü", &"x".repeat(256)] {
            assert!(CollectionId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MemberId::parse("member:000417.a_b-c").is_ok());
        assert!(MemberId::parse(&"9".repeat(128)).is_ok());
        for bad in ["", "Ada Lovelace", "a\nb", "é", &"9".repeat(129)] {
            let err = MemberId::parse(bad).unwrap_err().to_string();
            assert!(
                bad.is_empty() || !err.contains(bad),
                "the value is never echoed: {err}"
            );
        }
    }

    #[test]
    fn search_thresholds_below_99_are_refused() {
        let policy = CollectionPolicy::dangerous()
            .face_vectors_without_customer_kms_key(CollectionId::parse("c").unwrap());
        assert_eq!(policy.search_threshold().get(), 99.0);
        assert!(policy
            .clone()
            .with_search_threshold(SimilarityThreshold::new(98.9).unwrap())
            .is_err());
        let strict = policy
            .with_search_threshold(SimilarityThreshold::new(99.5).unwrap())
            .unwrap();
        assert_eq!(strict.search_threshold().get(), 99.5);
    }
}
