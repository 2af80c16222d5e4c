//! **Encrypted at rest**: every S3 image the guard lets Rekognition read is
//! SSE-KMS (or DSSE-KMS) under an allowed key, and is the very version that
//! was checked.
//!
//! One home for the requirement:
//!
//! * the **facts** a backend reports about an object ([`ObjectFacts`],
//!   [`SseAlgorithm`]: what HeadObject said);
//! * the **judge**, `verify` (private to the crate): the only place that
//!   turns facts into a [`VerifiedS3Object`], listing every
//!   [`AtRestViolation`] it finds;
//! * the **proof**, [`VerifiedS3Object`], which has no public constructor: a
//!   mock backend can feed any facts, but it cannot mint a proof;
//! * its **violations**, [`AtRestViolation`].
//!
//! What may be pinned is decided by one rule,
//! `names_immutable_version`.

use std::fmt;

use crate::input::{
    names_immutable_version, validate_version_id, KmsKeyArn, S3ObjectRef, MAX_S3_IMAGE_BYTES,
};
use crate::policy::Policy;
use crate::text::Quoted;

/// Server-side encryption as S3 reports it in `x-amz-server-side-encryption`.
///
/// Only [`AwsKms`](Self::AwsKms) and [`AwsKmsDsse`](Self::AwsKmsDsse) pass
/// the policy. Values are matched exactly, as S3 sends them: `AWS:KMS` or
/// `aws:kms ` are [`Other`](Self::Other) and refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SseAlgorithm {
    /// No header: the object is not encrypted at rest (objects stored before
    /// January 2023 in buckets without default encryption).
    None,
    /// `AES256`: SSE-S3, keys managed by S3. Refused.
    Aes256,
    /// `aws:kms`: SSE-KMS.
    AwsKms,
    /// `aws:kms:dsse`: dual-layer SSE-KMS. Counts as KMS.
    AwsKmsDsse,
    /// Any other value (`aws:fsx`, `aws:backup`, values newer than this
    /// crate). Refused.
    Other(String),
}

impl SseAlgorithm {
    /// Maps the header value (`None` when absent), exactly: any other
    /// spelling is [`Other`](Self::Other).
    pub(crate) fn from_header(value: Option<&str>) -> Self {
        match value {
            None => Self::None,
            Some("AES256") => Self::Aes256,
            Some("aws:kms") => Self::AwsKms,
            Some("aws:kms:dsse") => Self::AwsKmsDsse,
            Some(other) => Self::Other(other.to_owned()),
        }
    }

    /// The header value, `None` for [`SseAlgorithm::None`].
    pub fn as_header(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Aes256 => Some("AES256"),
            Self::AwsKms => Some("aws:kms"),
            Self::AwsKmsDsse => Some("aws:kms:dsse"),
            Self::Other(s) => Some(s),
        }
    }

    /// Whether this is SSE-KMS or DSSE-KMS.
    pub(crate) fn is_kms(&self) -> bool {
        matches!(self, Self::AwsKms | Self::AwsKmsDsse)
    }
}

impl fmt::Display for SseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => {
                f.write_str("not encrypted (S3 sent no x-amz-server-side-encryption header)")
            }
            Self::Aes256 => f.write_str("encrypted with SSE-S3 (AES256)"),
            Self::AwsKms => f.write_str("encrypted with SSE-KMS (aws:kms)"),
            Self::AwsKmsDsse => f.write_str("encrypted with DSSE-KMS (aws:kms:dsse)"),
            Self::Other(v) => write!(
                f,
                "encrypted with an unrecognised algorithm {}",
                crate::text::Quoted(v)
            ),
        }
    }
}

/// What an [`S3Backend`](crate::S3Backend) learned about an
/// object (for S3: the HeadObject response). Facts, not verdicts.
///
/// # What a pass needs
///
/// The guard's check passes an object only when **all** of these hold;
/// each one that does not is an [`AtRestViolation`]:
///
/// | field | needed for a pass |
/// |---|---|
/// | `encryption` | [`SseAlgorithm::AwsKms`] or [`SseAlgorithm::AwsKmsDsse`] |
/// | `kms_key_id` | present (for SSE-KMS), printable, and on [`Policy::allow_kms_key`](crate::Policy::allow_kms_key)'s list when one is set |
/// | `sse_customer_algorithm` | absent (SSE-C is refused) |
/// | `version_id` | equal to the version the reference names, if it names one; an immutable version (not S3's `null`) when [`Policy::with_versioning_required`](crate::Policy::with_versioning_required) is on |
/// | `content_length` | **present** and at most 15 MiB (what Rekognition reads from S3): an unknown size is refused |
/// | `user_metadata_keys` | none of the S3 Encryption Client's envelope names (client-side ciphertext is refused: [`AtRestViolation::ClientSideEncrypted`]) |
/// | `missing_metadata_entries` | absent or zero: an entry S3 could not return could be that envelope |
/// | `bucket_key_enabled`, `content_type` | not checked (shown in decisions) |
///
/// A mock S3 backend in your tests must therefore report at least the
/// encryption, the key id and the size, as [`ObjectFacts::sse_kms`] does.
///
/// ```
/// use rekognition_guard::{ObjectFacts, SseAlgorithm};
///
/// let facts = ObjectFacts {
///     encryption: SseAlgorithm::AwsKms,
///     kms_key_id: Some("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".into()),
///     bucket_key_enabled: None,
///     sse_customer_algorithm: None,
///     version_id: Some("3sL4kqtJ".into()),
///     content_length: Some(48_213),
///     content_type: None,
///     etag: None,
///     user_metadata_keys: Vec::new(),
///     missing_metadata_entries: None,
///     object_lock_mode: None,
///     object_lock_retain_until: None,
/// };
/// assert_eq!(facts.encryption, SseAlgorithm::AwsKms);
/// ```
///
/// The struct is exhaustive, like every fact a backend reports
/// ([`LivenessFacts`](crate::liveness::LivenessFacts),
/// [`FaceDetail`](crate::FaceDetail), …). Written out in full, as above, it
/// makes a backend state every field (`None` where the service sent
/// nothing), and a fact this crate starts to check in a later version is a
/// compile error in that backend. Built from [`ObjectFacts::new`] or
/// [`ObjectFacts::sse_kms`] with `..`, a new fact silently takes the base's
/// `None`, which passes wherever an absent value passes (as
/// `sse_customer_algorithm` does above): so a real backend should write
/// its facts out in full, and `..` is for tests and mocks.
/// ([`FaceDetail::good`](crate::FaceDetail::good) is a test helper with
/// passing values: never the base of a real backend's answers.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    /// `x-amz-server-side-encryption`.
    pub encryption: SseAlgorithm,
    /// `x-amz-server-side-encryption-aws-kms-key-id` (S3 reports the key ARN).
    pub kms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub bucket_key_enabled: Option<bool>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C).
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-version-id`.
    pub version_id: Option<String>,
    /// `Content-Length`.
    pub content_length: Option<u64>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `ETag` (quoted, as S3 sends it): what a conditional copy checks
    /// ([`PhotoStore::reencrypt`](crate::PhotoStore::reencrypt)).
    pub etag: Option<String>,
    /// The names of the object's user-defined metadata, as HeadObject
    /// reports them (`x-amz-meta-<name>` headers, the name without the
    /// prefix; S3 sends them lowercase), values left out. Every name S3
    /// sent: the check looks for the S3 Encryption Client's envelope
    /// (`x-amz-key-v2`, `x-amz-iv`, …), which marks client-side ciphertext.
    /// Empty when the object has none.
    pub user_metadata_keys: Vec<String>,
    /// `x-amz-missing-meta`: how many user-metadata entries S3 could not
    /// return as headers (metadata written through an API with looser
    /// rules, such as SOAP). Any refuses the object: a hidden entry could
    /// be the client-side envelope.
    pub missing_metadata_entries: Option<u32>,
    /// `x-amz-object-lock-mode` (`GOVERNANCE`, `COMPLIANCE`), as S3 sent
    /// it: the version's S3 Object Lock retention mode, if it has one.
    pub object_lock_mode: Option<String>,
    /// `x-amz-object-lock-retain-until-date`: until when that retention
    /// holds.
    pub object_lock_retain_until: Option<std::time::SystemTime>,
}

impl ObjectFacts {
    /// The facts of an object a pass needs and nothing more: SSE-KMS under
    /// `kms_key_id`, `content_length` bytes, no version. Set `version_id`
    /// for a versioned object.
    ///
    /// ```
    /// use rekognition_guard::ObjectFacts;
    ///
    /// let facts = ObjectFacts {
    ///     version_id: Some("3sL4kqtJ".into()),
    ///     ..ObjectFacts::sse_kms(
    ///         "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ///         48_213,
    ///     )
    /// };
    /// assert_eq!(facts.encryption, rekognition_guard::SseAlgorithm::AwsKms);
    /// assert_eq!(facts.content_length, Some(48_213));
    /// ```
    pub fn sse_kms(kms_key_id: impl Into<String>, content_length: u64) -> Self {
        Self::new(SseAlgorithm::AwsKms)
            .with_kms_key_id(kms_key_id)
            .with_content_length(content_length)
    }

    /// Facts with the given encryption and nothing else known.
    pub fn new(encryption: SseAlgorithm) -> Self {
        Self {
            encryption,
            kms_key_id: None,
            bucket_key_enabled: None,
            sse_customer_algorithm: None,
            version_id: None,
            content_length: None,
            content_type: None,
            etag: None,
            user_metadata_keys: Vec::new(),
            missing_metadata_entries: None,
            object_lock_mode: None,
            object_lock_retain_until: None,
        }
    }

    /// Sets the KMS key id S3 reported.
    #[must_use]
    pub(crate) fn with_kms_key_id(mut self, id: impl Into<String>) -> Self {
        self.kms_key_id = Some(id.into());
        self
    }

    /// Sets the version id S3 reported.
    #[must_use]
    pub(crate) fn with_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Sets the object's size in bytes.
    #[must_use]
    pub(crate) fn with_content_length(mut self, len: u64) -> Self {
        self.content_length = Some(len);
        self
    }

    /// Sets the object's content type.
    #[must_use]
    pub(crate) fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// One at-rest requirement an S3 object did not meet. Each names the object
/// and says what to fix.
#[derive(Debug, Clone, PartialEq, derive_more::Display)]
#[non_exhaustive]
pub enum AtRestViolation {
    /// The photo's member withdrew consent
    /// ([`PhotoStore::withdraw_consent`](crate::PhotoStore::withdraw_consent)):
    /// it is not compared or sent anywhere again. Refused before any call.
    #[display("{object} is the photo of a member who withdrew consent: it is not used again (erase what remains of it)")]
    ConsentWithdrawn {
        /// The photo.
        object: S3ObjectRef,
    },
    /// The member withdrew consent: nothing of theirs is collected,
    /// compared or identified again. Refused before any call.
    #[display("member {member} withdrew consent: nothing of theirs is collected, compared or identified again")]
    MemberWithdrewConsent {
        /// The member id.
        member: String,
    },
    /// The object is not encrypted with SSE-KMS (or DSSE-KMS).
    #[display("{object} is {found}, not SSE-KMS; re-encrypt it with SSE-KMS (e.g. copy it onto itself with --sse aws:kms) and set the bucket's default encryption to SSE-KMS")]
    NotKmsEncrypted {
        /// The object.
        object: S3ObjectRef,
        /// What S3 reported.
        found: SseAlgorithm,
    },
    /// The object uses customer-provided keys (SSE-C), which Rekognition
    /// cannot read and which is not SSE-KMS.
    #[display("{object} is encrypted with a customer-provided key (SSE-C, {}); store it with SSE-KMS instead", Quoted(algorithm))]
    CustomerProvidedKey {
        /// The object.
        object: S3ObjectRef,
        /// The SSE-C algorithm S3 reported.
        algorithm: String,
    },
    /// S3 reported SSE-KMS but no KMS key id, so the key cannot be checked.
    #[display(
        "{object} reports SSE-KMS but S3 sent no KMS key id; cannot tell which key protects it"
    )]
    KmsKeyUnknown {
        /// The object.
        object: S3ObjectRef,
    },
    /// S3 reported a value this crate cannot use safely (control characters
    /// or other text S3 never sends in that field).
    #[display("{object}: S3 reported an unusable {field}; refusing rather than guessing")]
    UnusableMetadata {
        /// The object.
        object: S3ObjectRef,
        /// Which field (`version id`, `KMS key id`).
        field: &'static str,
    },
    /// The object's KMS key is not on the allowlist.
    #[display("{object} is encrypted with KMS key {kms_key}, which is not on the allowlist ({allowed}); re-encrypt it with an allowed key or add this key ARN to the policy")]
    KmsKeyNotAllowed {
        /// The object.
        object: S3ObjectRef,
        /// The key id or ARN S3 reported.
        kms_key: String,
        /// The allowlist, comma separated.
        allowed: String,
    },
    /// The policy requires a pinned version and the object names none: it
    /// has no version id, or only S3's `null` version, which a later upload
    /// replaces in place.
    #[display("{object} names no immutable version (no version id, or S3's null version, which a later upload replaces in place: bucket versioning is off or suspended); enable versioning on bucket {bucket} and upload the object again, so the checked version can be pinned", bucket = object.bucket())]
    VersionRequired {
        /// The object.
        object: S3ObjectRef,
    },
    /// S3 reported another version than the one requested, or none.
    #[display("{object}: requested version {requested} but S3 reported {}", reported.as_deref().map_or_else(|| "no version id".to_owned(), |r| format!("version {r}")))]
    VersionMismatch {
        /// The object.
        object: S3ObjectRef,
        /// The version the reference named.
        requested: String,
        /// The version S3 reported; `None` when it reported none.
        reported: Option<String>,
    },
    /// The object carries the S3 Encryption Client's metadata envelope: its
    /// bytes are ciphertext made on the client (whatever server-side
    /// encryption S3 adds on top), which Rekognition cannot read. Refused
    /// before any byte reaches Rekognition. Found in the user metadata
    /// HeadObject reports; an envelope kept in an instruction file
    /// (`<key>.instruction`) may leave no trace there (format 3 and most
    /// clients still write some of the names above on the object), and
    /// such a file is found by the fleet audit, which sees every key of
    /// the bucket
    /// ([`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory)).
    #[display("{object} is client-side encrypted ({}: {}): its bytes are ciphertext that Rekognition cannot read; decrypt it with the S3 Encryption Client and store the plaintext as a new object with SSE-KMS, then compare that", client_side_format(markers), markers.join(", "))]
    ClientSideEncrypted {
        /// The object.
        object: S3ObjectRef,
        /// The envelope names found in its user metadata (from the fixed
        /// list the check knows, never text S3 sent).
        markers: Vec<&'static str>,
    },
    /// The object is larger than Rekognition reads from S3, or S3 did not
    /// report a size (`Content-Length`), so it cannot be shown to be within
    /// the limit.
    #[display("{}", too_large(object, *size, *limit))]
    ObjectTooLarge {
        /// The object.
        object: S3ObjectRef,
        /// The size S3 reported, if any.
        size: Option<u64>,
        /// The limit in bytes.
        limit: u64,
    },
}

/// The user-metadata names of the S3 Encryption Client's envelope, by
/// format (awslabs/aws-encryption-sdk-specification,
/// `s3-encryption/data-format/content-metadata.md`): v1 `x-amz-key`,
/// `x-amz-iv`, `x-amz-matdesc`; v2 `x-amz-key-v2`, `x-amz-cek-alg`,
/// `x-amz-wrap-alg`, `x-amz-tag-len` (with `x-amz-iv`, `x-amz-matdesc`);
/// the key-committing format 3 `x-amz-c`, `x-amz-d`, `x-amz-i`, `x-amz-3`,
/// `x-amz-w`, `x-amz-m`, `x-amz-t`; and `x-amz-unencrypted-content-length`,
/// `x-amz-unencrypted-content-md5`, which clients also write on the
/// object when the envelope is in an instruction file.
const CLIENT_SIDE_ENVELOPE: [&str; 16] = [
    "x-amz-key",
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-matdesc",
    "x-amz-cek-alg",
    "x-amz-wrap-alg",
    "x-amz-tag-len",
    "x-amz-c",
    "x-amz-d",
    "x-amz-i",
    "x-amz-3",
    "x-amz-w",
    "x-amz-m",
    "x-amz-t",
    "x-amz-unencrypted-content-length",
    "x-amz-unencrypted-content-md5",
];

/// The envelope names among `keys` (user-metadata names, with or without
/// the `x-amz-meta-` prefix, any case), in the list's order. Any one of
/// them refuses: a partial envelope is no proof of plaintext.
pub(crate) fn client_side_markers<S: AsRef<str>>(keys: &[S]) -> Vec<&'static str> {
    CLIENT_SIDE_ENVELOPE
        .iter()
        .copied()
        .filter(|marker| {
            keys.iter().any(|k| {
                let k = k.as_ref();
                let k = match k.get(..11) {
                    Some(p) if p.eq_ignore_ascii_case("x-amz-meta-") => &k[11..],
                    _ => k,
                };
                k.eq_ignore_ascii_case(marker)
            })
        })
        .collect()
}

/// Which S3 Encryption Client format `markers` point to.
fn client_side_format(markers: &[&str]) -> &'static str {
    let has = |m: &str| markers.contains(&m);
    if has("x-amz-c") || has("x-amz-d") || has("x-amz-i") || has("x-amz-3") {
        "S3 Encryption Client metadata, format 3"
    } else if has("x-amz-key-v2") || has("x-amz-cek-alg") || has("x-amz-wrap-alg") {
        "S3 Encryption Client metadata, format 2"
    } else if has("x-amz-key") {
        "S3 Encryption Client metadata, format 1"
    } else {
        "S3 Encryption Client metadata"
    }
}

/// [`AtRestViolation::ObjectTooLarge`]'s message, for a known and an
/// unknown size.
fn too_large(object: &S3ObjectRef, size: Option<u64>, limit: u64) -> String {
    match size {
        Some(size) => format!(
            "{object} is {size} bytes; Rekognition reads images of at most {limit} bytes from S3; store a smaller image"
        ),
        None => format!(
            "{object}: S3 reported no size (Content-Length), so it cannot be shown to be within the {limit} bytes Rekognition reads from S3; refusing rather than guessing"
        ),
    }
}

/// Proof that an S3 object passed the policy: SSE-KMS with an acceptable
/// key, the required versioning, a size Rekognition reads.
///
/// Only the guard's check creates one, so a comparer that takes
/// [`VerifiedImage`](crate::VerifiedImage) cannot be handed an unchecked
/// object. It carries the **pinned** version: the comparison reads exactly
/// the version that was checked.
///
/// There is no public constructor, no `Default` and no conversion from
/// [`S3ObjectRef`]:
///
/// ```compile_fail
/// use rekognition_guard::{S3ObjectRef, VerifiedS3Object};
/// let unchecked = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
/// let forged: VerifiedS3Object = unchecked.into();
/// ```
///
/// ```compile_fail
/// use rekognition_guard::VerifiedS3Object;
/// let forged = VerifiedS3Object::default();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedS3Object(std::sync::Arc<Verified>);

/// The fields of a [`VerifiedS3Object`], shared: cloning a proof (cache
/// hits, decisions) costs a reference count, not four strings.
#[derive(Debug, PartialEq, Eq)]
struct Verified {
    /// Bucket, key and the version the comparison reads (`null` possible,
    /// see `is_pinned`).
    object: S3ObjectRef,
    /// Whether `version` names an immutable version.
    pinned: bool,
    /// When HeadObject's answer was judged.
    checked_at: std::time::Instant,
    encryption: SseAlgorithm,
    kms_key_id: String,
    bucket_key_enabled: Option<bool>,
    content_length: u64,
}

impl fmt::Debug for VerifiedS3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl VerifiedS3Object {
    /// Whether the comparison is pinned to an immutable version
    /// (a well-formed version id other than S3's `null`):
    /// only then can the object not be replaced between the check and the
    /// comparison, and only then may the check be cached.
    pub fn is_pinned(&self) -> bool {
        self.0.pinned
    }

    /// When the check that made this proof ran (HeadObject answered). A
    /// cached proof is as old as this.
    pub(crate) fn checked_at(&self) -> std::time::Instant {
        self.0.checked_at
    }

    /// The KMS key ARN S3 reported for this object.
    pub fn kms_key_id(&self) -> &str {
        &self.0.kms_key_id
    }

    /// SSE-KMS or DSSE-KMS.
    pub fn encryption(&self) -> &SseAlgorithm {
        &self.0.encryption
    }

    /// Whether an S3 Bucket Key is used, if S3 said.
    pub fn bucket_key_enabled(&self) -> Option<bool> {
        self.0.bucket_key_enabled
    }

    /// The object's size in bytes.
    pub fn content_length(&self) -> u64 {
        self.0.content_length
    }

    /// The object as checked: bucket, key and the version the comparison
    /// reads, the version the check saw. Its version is `None` for
    /// unversioned objects, and `Some("null")` when the reference asked for
    /// S3's `null` version; neither is [pinned](Self::is_pinned), and both
    /// pass only when the policy does not require versioning.
    ///
    /// Store it (`s3://bucket/key?versionId=…`), e.g. after
    /// [`Guard::enroll`](crate::Guard::enroll), and compare against it
    /// later: comparing it later is checked again like any other reference.
    pub fn reference(&self) -> &S3ObjectRef {
        &self.0.object
    }
}

/// The enrollment record, for an application's database or audit trail:
/// `{"reference": "s3://bucket/key?versionId=…", "pinned": true,
/// "encryption": "aws:kms", "kms_key_id": "arn:aws:kms:…",
/// "bucket_key_enabled": true, "content_length": 48213}`. Store the
/// `reference` (an [`S3ObjectRef`], which deserializes with validation).
///
/// Serialize only: a proof that could be deserialized could be forged, so
/// there is no `Deserialize`:
///
/// ```compile_fail
/// use rekognition_guard::VerifiedS3Object;
/// let forged: VerifiedS3Object = serde_json::from_str("{}").unwrap();
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for VerifiedS3Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut record = serializer.serialize_struct("VerifiedS3Object", 6)?;
        record.serialize_field("reference", self.reference())?;
        record.serialize_field("pinned", &self.is_pinned())?;
        record.serialize_field("encryption", &self.encryption().as_header())?;
        record.serialize_field("kms_key_id", self.kms_key_id())?;
        record.serialize_field("bucket_key_enabled", &self.bucket_key_enabled())?;
        record.serialize_field("content_length", &self.content_length())?;
        record.end()
    }
}

impl fmt::Display for VerifiedS3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.0.object.bucket(), self.0.object.key())?;
        match self.0.object.version_id() {
            Some(v) if self.is_pinned() => write!(f, " (version {v}")?,
            Some(v) => write!(f, " (version {v}, not pinned")?,
            None => f.write_str(" (unversioned")?,
        }
        write!(f, ", KMS key {})", self.0.kms_key_id)
    }
}

/// Judges `facts` about `object` under `policy`. The **only** place a
/// [`VerifiedS3Object`] is created.
///
/// Returns every violation found, not just the first.
pub(crate) fn verify(
    object: &S3ObjectRef,
    facts: &ObjectFacts,
    policy: &Policy,
) -> Result<VerifiedS3Object, Vec<AtRestViolation>> {
    let mut violations = Vec::new();

    let markers = client_side_markers(&facts.user_metadata_keys);
    if !markers.is_empty() {
        violations.push(AtRestViolation::ClientSideEncrypted {
            object: object.clone(),
            markers,
        });
    }
    if facts.missing_metadata_entries.is_some_and(|n| n > 0) {
        violations.push(AtRestViolation::UnusableMetadata {
            object: object.clone(),
            field: "user metadata (x-amz-missing-meta: entries S3 could not return, which could hide a client-side encryption envelope)",
        });
    }

    if let Some(algorithm) = &facts.sse_customer_algorithm {
        violations.push(AtRestViolation::CustomerProvidedKey {
            object: object.clone(),
            algorithm: algorithm.clone(),
        });
    }

    let kms_key = if facts.encryption.is_kms() {
        match facts.kms_key_id.as_deref().filter(|k| !k.is_empty()) {
            Some(key) if !key.bytes().all(|b| b.is_ascii_graphic()) => {
                violations.push(AtRestViolation::UnusableMetadata {
                    object: object.clone(),
                    field: "KMS key id",
                });
                None
            }
            None => {
                violations.push(AtRestViolation::KmsKeyUnknown {
                    object: object.clone(),
                });
                None
            }
            Some(key) => {
                if !policy.allows_kms_key(key) {
                    let allowed = policy.kms_keys().unwrap_or_default();
                    violations.push(AtRestViolation::KmsKeyNotAllowed {
                        object: object.clone(),
                        kms_key: key.to_owned(),
                        allowed: allowed
                            .iter()
                            .map(KmsKeyArn::as_str)
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                Some(key)
            }
        }
    } else {
        violations.push(AtRestViolation::NotKmsEncrypted {
            object: object.clone(),
            found: facts.encryption.clone(),
        });
        None
    };

    let reported = facts.version_id.as_deref().filter(|v| !v.is_empty());
    let before_version_checks = violations.len();
    // The version the comparison will read: the one the check saw.
    let version = match (object.version_id(), reported) {
        (_, Some(reported)) if validate_version_id(reported).is_err() => {
            // Never echo it: it may carry control characters.
            violations.push(AtRestViolation::UnusableMetadata {
                object: object.clone(),
                field: "version id",
            });
            None
        }
        // Requested and reported agree; `null` included, which reads the
        // null version (not the latest) but pins nothing.
        (Some(requested), Some(reported)) if requested == reported => Some(requested),
        (Some(requested), reported) => {
            violations.push(AtRestViolation::VersionMismatch {
                object: object.clone(),
                requested: requested.to_owned(),
                reported: reported.map(str::to_owned),
            });
            None
        }
        // Unrequested `null`: the latest is the null version; read the
        // latest, as for an unversioned object.
        (None, reported) => reported.filter(|v| names_immutable_version(v)),
    };
    let pinned = version.is_some_and(names_immutable_version);
    // A version already found unusable or mismatched is not also "missing".
    if policy.versioning_required() && !pinned && violations.len() == before_version_checks {
        violations.push(AtRestViolation::VersionRequired {
            object: object.clone(),
        });
    }

    match facts.content_length {
        Some(len) if len <= MAX_S3_IMAGE_BYTES => {}
        size => violations.push(AtRestViolation::ObjectTooLarge {
            object: object.clone(),
            size,
            limit: MAX_S3_IMAGE_BYTES,
        }),
    }

    match (violations.is_empty(), kms_key, facts.content_length) {
        (true, Some(kms_key), Some(content_length)) => {
            Ok(VerifiedS3Object(std::sync::Arc::new(Verified {
                object: match version {
                    Some(v) => object
                        .clone()
                        .with_version_id(v)
                        .expect("the version passed validate_version_id"),
                    None => S3ObjectRef::new(object.bucket(), object.key())
                        .expect("bucket and key came from a parsed S3ObjectRef"),
                },
                pinned,
                checked_at: std::time::Instant::now(),
                encryption: facts.encryption.clone(),
                kms_key_id: kms_key.to_owned(),
                bucket_key_enabled: facts.bucket_key_enabled,
                content_length,
            })))
        }
        _ => {
            // Every path that leaves `kms_key` or the size unset pushes a
            // violation, so a refusal always names its reason.
            debug_assert!(!violations.is_empty());
            Err(violations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_encryption_clients_envelope_is_found_by_any_of_its_names() {
        let names = |keys: &[&str]| client_side_markers(keys);
        // v1, v2 and v3/v4 envelopes, as S3 reports the names (lowercase,
        // no prefix); with the prefix and in another case too.
        assert_eq!(
            names(&["x-amz-key", "x-amz-iv", "x-amz-matdesc"]),
            ["x-amz-key", "x-amz-iv", "x-amz-matdesc"]
        );
        assert_eq!(
            names(&["X-Amz-Meta-X-Amz-Key-V2", "x-amz-meta-x-amz-iv"]),
            ["x-amz-key-v2", "x-amz-iv"]
        );
        assert_eq!(
            names(&["x-amz-c", "x-amz-d", "x-amz-i", "x-amz-3"]),
            ["x-amz-c", "x-amz-d", "x-amz-i", "x-amz-3"]
        );
        // One name is enough: a partial envelope is no proof of plaintext.
        assert_eq!(
            names(&["photographer", "x-amz-wrap-alg"]),
            ["x-amz-wrap-alg"]
        );
        // Other metadata, and names that merely start alike, are not.
        assert!(names(&[
            "photographer",
            "x-amz-key-id",
            "x-amz-iv2",
            "x-amz-meta-",
            "amz-key"
        ])
        .is_empty());
        assert!(names(&[]).is_empty());

        for (markers, format) in [
            (&["x-amz-key", "x-amz-iv"][..], "1"),
            (&["x-amz-key-v2", "x-amz-iv"][..], "2"),
            (&["x-amz-c", "x-amz-d", "x-amz-i"][..], "3"),
        ] {
            assert_eq!(
                client_side_format(markers),
                format!("S3 Encryption Client metadata, format {format}")
            );
        }
        assert_eq!(
            client_side_format(&["x-amz-iv"]),
            "S3 Encryption Client metadata"
        );
    }

    #[test]
    fn client_side_ciphertext_is_refused_whatever_server_side_encryption_it_has() {
        let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        let facts = ObjectFacts {
            user_metadata_keys: vec![
                "x-amz-key-v2".into(),
                "x-amz-iv".into(),
                "x-amz-cek-alg".into(),
                "x-amz-wrap-alg".into(),
                "photographer".into(),
            ],
            ..ObjectFacts::sse_kms(KEY, 48_213)
        };
        let violations = verify(
            &object,
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap_err();
        assert_eq!(
            violations,
            [AtRestViolation::ClientSideEncrypted {
                object: object.clone(),
                markers: vec![
                    "x-amz-key-v2",
                    "x-amz-iv",
                    "x-amz-cek-alg",
                    "x-amz-wrap-alg"
                ],
            }]
        );
        let text = violations[0].to_string();
        assert!(text.contains("S3 Encryption Client metadata, format 2: x-amz-key-v2, x-amz-iv, x-amz-cek-alg, x-amz-wrap-alg"), "{text}");
        assert!(
            text.contains("store the plaintext as a new object with SSE-KMS"),
            "{text}"
        );
        // Metadata S3 could not return could hide the envelope.
        let facts = ObjectFacts {
            missing_metadata_entries: Some(1),
            object_lock_mode: None,
            object_lock_retain_until: None,
            ..ObjectFacts::sse_kms(KEY, 48_213)
        };
        let violations = verify(
            &object,
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap_err();
        assert!(
            matches!(violations.as_slice(), [AtRestViolation::UnusableMetadata { field, .. }] if field.contains("x-amz-missing-meta")),
            "{violations:?}"
        );
        let facts = ObjectFacts {
            missing_metadata_entries: Some(0),
            object_lock_mode: None,
            object_lock_retain_until: None,
            ..ObjectFacts::sse_kms(KEY, 48_213)
        };
        assert!(verify(
            &object,
            &facts,
            &Policy::any_kms_key().with_versioning_required(false)
        )
        .is_ok());
        // With SSE-S3 too, both problems are named.
        let facts = ObjectFacts {
            user_metadata_keys: vec!["x-amz-key".into()],
            ..ObjectFacts::new(SseAlgorithm::Aes256)
        };
        let violations = verify(&object, &facts, &Policy::any_kms_key()).unwrap_err();
        assert!(
            matches!(
                violations.first(),
                Some(AtRestViolation::ClientSideEncrypted { .. })
            ),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| matches!(v, AtRestViolation::NotKmsEncrypted { .. })),
            "{violations:?}"
        );
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const OTHER_KEY: &str =
        "arn:aws:kms:eu-west-1:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab";

    fn object() -> S3ObjectRef {
        S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
    }

    fn kms_facts() -> ObjectFacts {
        ObjectFacts {
            kms_key_id: Some(KEY.into()),
            version_id: Some("v7".into()),
            content_length: Some(40_000),
            ..ObjectFacts::new(SseAlgorithm::AwsKms)
        }
    }

    fn violations(facts: &ObjectFacts, policy: &Policy) -> Vec<AtRestViolation> {
        verify(&object(), facts, policy).unwrap_err()
    }

    #[test]
    fn sse_kms_passes_and_records_what_was_seen() {
        let v = verify(
            &object(),
            &ObjectFacts {
                bucket_key_enabled: Some(true),
                ..kms_facts()
            },
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        assert_eq!(v.reference().bucket(), "library-photos");
        assert_eq!(v.reference().key(), "members/ada.jpg");
        assert_eq!(v.reference().version_id(), Some("v7"));
        assert_eq!(v.kms_key_id(), KEY);
        assert_eq!(v.encryption(), &SseAlgorithm::AwsKms);
        assert_eq!(v.bucket_key_enabled(), Some(true));
        assert_eq!(v.content_length(), 40_000);
    }

    #[test]
    fn header_values_map_exactly() {
        assert_eq!(
            SseAlgorithm::from_header(Some("aws:kms")),
            SseAlgorithm::AwsKms
        );
        assert_eq!(SseAlgorithm::from_header(None), SseAlgorithm::None);
        assert_eq!(
            SseAlgorithm::from_header(Some("AWS:KMS")),
            SseAlgorithm::Other("AWS:KMS".into())
        );
    }

    #[test]
    fn dsse_kms_counts_as_kms() {
        let mut facts = kms_facts();
        facts.encryption = SseAlgorithm::AwsKmsDsse;
        let v = verify(
            &object(),
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        assert_eq!(v.encryption(), &SseAlgorithm::AwsKmsDsse);
    }

    #[test]
    fn everything_but_kms_is_refused() {
        for sse in [
            SseAlgorithm::Aes256,
            SseAlgorithm::None,
            SseAlgorithm::from_header(Some("aws:fsx")),
            SseAlgorithm::from_header(Some("aws:backup")),
            SseAlgorithm::from_header(Some("AWS:KMS")),
            SseAlgorithm::from_header(Some(" aws:kms")),
            SseAlgorithm::from_header(Some("aws:kms ")),
            SseAlgorithm::from_header(Some("")),
        ] {
            let mut facts = kms_facts();
            facts.encryption = sse.clone();
            assert_eq!(
                violations(
                    &facts,
                    &Policy::any_kms_key().with_versioning_required(false)
                ),
                vec![AtRestViolation::NotKmsEncrypted {
                    object: object(),
                    found: sse
                }]
            );
        }
    }

    #[test]
    fn sse_c_is_refused_even_next_to_a_kms_header() {
        let facts = ObjectFacts {
            sse_customer_algorithm: Some("AES256".into()),
            ..kms_facts()
        };
        assert_eq!(
            violations(
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            ),
            vec![AtRestViolation::CustomerProvidedKey {
                object: object(),
                algorithm: "AES256".into()
            }]
        );
    }

    #[test]
    fn kms_without_a_key_id_is_refused() {
        let mut facts = kms_facts();
        facts.kms_key_id = None;
        assert_eq!(
            violations(
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            ),
            vec![AtRestViolation::KmsKeyUnknown { object: object() }]
        );
        facts.kms_key_id = Some(String::new());
        assert_eq!(
            violations(
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            ),
            vec![AtRestViolation::KmsKeyUnknown { object: object() }]
        );
    }

    #[test]
    fn allowlist_admits_only_listed_key_arns() {
        let policy =
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false);
        assert!(verify(&object(), &kms_facts(), &policy).is_ok());

        let other = kms_facts().with_kms_key_id(OTHER_KEY);
        assert_eq!(
            violations(&other, &policy),
            vec![AtRestViolation::KmsKeyNotAllowed {
                object: object(),
                kms_key: OTHER_KEY.into(),
                allowed: KEY.into()
            }]
        );
        // A bare key id cannot be matched to an ARN safely.
        let bare = kms_facts().with_kms_key_id("1234abcd-12ab-34cd-56ef-1234567890ab");
        assert!(matches!(
            violations(&bare, &policy)[..],
            [AtRestViolation::KmsKeyNotAllowed { .. }]
        ));
        // With two keys allowed, both pass.
        let both = policy.with_kms_key(KmsKeyArn::parse(OTHER_KEY).unwrap());
        assert!(verify(&object(), &other, &both).is_ok());
        assert_eq!(both.kms_keys().map(<[_]>::len), Some(2));
    }

    #[test]
    fn unusable_metadata_is_refused() {
        let facts = kms_facts().with_version_id("v1\nforged log line");
        assert_eq!(
            violations(
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            ),
            vec![AtRestViolation::UnusableMetadata {
                object: object(),
                field: "version id"
            }]
        );
        let facts = kms_facts().with_kms_key_id("arn:aws:kms:x\u{1b}[31m");
        assert_eq!(
            violations(
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            ),
            vec![AtRestViolation::UnusableMetadata {
                object: object(),
                field: "KMS key id"
            }]
        );
    }

    #[test]
    fn the_version_s3_reported_is_pinned() {
        let v = verify(
            &object(),
            &kms_facts().with_version_id("v9"),
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        assert_eq!(v.reference().version_id(), Some("v9"));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn the_enrollment_record_serializes_its_pinned_reference() {
        let v = verify(
            &object().with_version_id("v7").unwrap(),
            &kms_facts().with_version_id("v7"),
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        let record: serde_json::Value = serde_json::to_value(&v).unwrap();
        assert_eq!(
            record,
            serde_json::json!({
                "reference": "s3://library-photos/members/ada.jpg?versionId=v7",
                "pinned": true,
                "encryption": "aws:kms",
                "kms_key_id": v.kms_key_id(),
                "bucket_key_enabled": v.bucket_key_enabled(),
                "content_length": v.content_length(),
            })
        );
        // The stored reference reads back as the object that was checked.
        let back: S3ObjectRef = serde_json::from_value(record["reference"].clone()).unwrap();
        assert_eq!(&back, v.reference());
    }

    #[test]
    fn a_requested_version_must_be_the_one_reported() {
        let requested = object().with_version_id("v7").unwrap();
        let ok = verify(
            &requested,
            &kms_facts(),
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        assert_eq!(ok.reference().version_id(), Some("v7"));

        let err = verify(
            &requested,
            &kms_facts().with_version_id("v8"),
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap_err();
        assert_eq!(
            err,
            vec![AtRestViolation::VersionMismatch {
                object: requested.clone(),
                requested: "v7".into(),
                reported: Some("v8".into())
            }]
        );
        assert_eq!(
            err[0].to_string(),
            "s3://library-photos/members/ada.jpg?versionId=v7: requested version v7 but S3 reported version v8"
        );
        let mut none = kms_facts();
        none.version_id = None;
        let err = verify(
            &requested,
            &none,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap_err();
        assert!(matches!(
            err[..],
            [AtRestViolation::VersionMismatch { reported: None, .. }]
        ));
        assert_eq!(
            err[0].to_string(),
            "s3://library-photos/members/ada.jpg?versionId=v7: requested version v7 but S3 reported no version id"
        );
    }

    #[test]
    fn unversioned_objects_pass_unpinned_unless_versioning_is_required() {
        let mut facts = kms_facts();
        facts.version_id = None;
        let v = verify(
            &object(),
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )
        .unwrap();
        assert_eq!(v.reference().version_id(), None);
        assert_eq!(
            violations(&facts, &Policy::any_kms_key()),
            vec![AtRestViolation::VersionRequired { object: object() }]
        );
    }

    #[test]
    fn the_null_version_is_never_pinned() {
        let facts = kms_facts().with_version_id("null");
        assert_eq!(
            verify(
                &object(),
                &facts,
                &Policy::any_kms_key().with_versioning_required(false)
            )
            .unwrap()
            .reference()
            .version_id(),
            None
        );
        assert_eq!(
            violations(&facts, &Policy::any_kms_key()),
            vec![AtRestViolation::VersionRequired { object: object() }]
        );
    }

    /// What `verify` must do for one requested × reported version.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Expect {
        /// Passes, reading `version`; `pinned` when it names an immutable
        /// version.
        Pass(Option<&'static str>, bool),
        Mismatch,
        Unusable,
    }

    /// The rule for version ids, once, over every combination: requested
    /// (none, the reported one, another, `null`) × reported (absent, empty,
    /// `null`, valid, control characters, over-long) × require_versioning;
    /// what is pinned, and whether the pass may be cached.
    #[test]
    fn version_ids_pin_only_immutable_versions() {
        use crate::cache::{CacheConfig, VerificationCache};
        use Expect::*;
        let long = "v".repeat(1025);
        let reported: [Option<&str>; 6] = [
            None,
            Some(""),
            Some("null"),
            Some("v7"),
            Some("v1\nforged"),
            Some(&long),
        ];
        let table: [(Option<&str>, [Expect; 6]); 4] = [
            (
                None,
                [
                    Pass(None, false),
                    Pass(None, false),
                    Pass(None, false),
                    Pass(Some("v7"), true),
                    Unusable,
                    Unusable,
                ],
            ),
            (
                Some("v7"),
                [
                    Mismatch,
                    Mismatch,
                    Mismatch,
                    Pass(Some("v7"), true),
                    Unusable,
                    Unusable,
                ],
            ),
            (
                Some("v8"),
                [Mismatch, Mismatch, Mismatch, Mismatch, Unusable, Unusable],
            ),
            (
                Some("null"),
                [
                    Mismatch,
                    Mismatch,
                    Pass(Some("null"), false),
                    Mismatch,
                    Unusable,
                    Unusable,
                ],
            ),
        ];
        for (requested, expected_row) in table {
            let object = match requested {
                Some(v) => object().with_version_id(v).unwrap(),
                None => object(),
            };
            for (reported, expected) in reported.iter().zip(expected_row) {
                let mut facts = kms_facts();
                facts.version_id = reported.map(str::to_owned);
                for require in [false, true] {
                    let policy = Policy::any_kms_key().with_versioning_required(require);
                    let case = format!("requested {requested:?}, reported {reported:?}, require_versioning {require}");
                    let result = verify(&object, &facts, &policy);
                    match (expected, &result) {
                        (Pass(_, false), Err(v)) if require => assert_eq!(
                            v,
                            &vec![AtRestViolation::VersionRequired {
                                object: object.clone()
                            }],
                            "{case}"
                        ),
                        (Pass(version, pinned), Ok(verified)) if pinned || !require => {
                            assert_eq!(verified.reference().version_id(), version, "{case}");
                            assert_eq!(verified.is_pinned(), pinned, "{case}");
                            // Cached only when the reference named the
                            // immutable version that was pinned.
                            let cache = VerificationCache::new(CacheConfig::default());
                            let ticket = cache.ticket(&object);
                            cache.insert(&object, verified, ticket);
                            let cacheable = pinned && requested == version;
                            assert_eq!(
                                cache.get(&object, std::time::Instant::now()).is_some(),
                                cacheable,
                                "{case}"
                            );
                        }
                        (Mismatch, Err(v)) => assert!(
                            matches!(v[..], [AtRestViolation::VersionMismatch { .. }]),
                            "{case}: {v:?}"
                        ),
                        (Unusable, Err(v)) => assert!(
                            matches!(
                                v[..],
                                [AtRestViolation::UnusableMetadata {
                                    field: "version id",
                                    ..
                                }]
                            ),
                            "{case}: {v:?}"
                        ),
                        (expected, got) => panic!("{case}: expected {expected:?}, got {got:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn objects_over_fifteen_mib_or_of_unknown_size_are_refused() {
        assert!(verify(
            &object(),
            &kms_facts().with_content_length(MAX_S3_IMAGE_BYTES),
            &Policy::any_kms_key().with_versioning_required(false)
        )
        .is_ok());
        let big = kms_facts().with_content_length(MAX_S3_IMAGE_BYTES + 1);
        assert_eq!(
            violations(&big, &Policy::any_kms_key().with_versioning_required(false)),
            vec![AtRestViolation::ObjectTooLarge {
                object: object(),
                size: Some(MAX_S3_IMAGE_BYTES + 1),
                limit: MAX_S3_IMAGE_BYTES
            }]
        );
        assert_eq!(
            violations(&big, &Policy::any_kms_key().with_versioning_required(false))[0].to_string(),
            "s3://library-photos/members/ada.jpg is 15728641 bytes; Rekognition reads images of at most 15728640 bytes from S3; store a smaller image"
        );
        let mut unknown = kms_facts();
        unknown.content_length = None;
        let found = violations(
            &unknown,
            &Policy::any_kms_key().with_versioning_required(false),
        );
        assert!(matches!(
            found[..],
            [AtRestViolation::ObjectTooLarge { size: None, .. }]
        ));
        // Was "… is of unknown size bytes; …".
        assert_eq!(
            found[0].to_string(),
            "s3://library-photos/members/ada.jpg: S3 reported no size (Content-Length), so it cannot be shown to be within the 15728640 bytes Rekognition reads from S3; refusing rather than guessing"
        );
    }

    #[test]
    fn every_violation_is_reported_not_just_the_first() {
        let mut facts = ObjectFacts {
            sse_customer_algorithm: Some("AES256".into()),
            ..ObjectFacts::new(SseAlgorithm::Aes256)
        };
        facts.content_length = Some(MAX_S3_IMAGE_BYTES * 2);
        let found = violations(&facts, &Policy::any_kms_key());
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(matches!(
            found[0],
            AtRestViolation::CustomerProvidedKey { .. }
        ));
        assert!(matches!(found[1], AtRestViolation::NotKmsEncrypted { .. }));
        assert!(matches!(found[2], AtRestViolation::VersionRequired { .. }));
        assert!(matches!(found[3], AtRestViolation::ObjectTooLarge { .. }));
    }

    #[test]
    fn violation_messages_say_what_to_fix() {
        let mut facts = kms_facts();
        facts.encryption = SseAlgorithm::Aes256;
        let msg = violations(
            &facts,
            &Policy::any_kms_key().with_versioning_required(false),
        )[0]
        .to_string();
        assert!(msg.contains("s3://library-photos/members/ada.jpg"), "{msg}");
        assert!(
            msg.contains("SSE-S3 (AES256)") && msg.contains("SSE-KMS"),
            "{msg}"
        );
        let mut facts = kms_facts();
        facts.version_id = None;
        let msg = violations(&facts, &Policy::any_kms_key())[0].to_string();
        assert!(
            msg.contains("enable versioning on bucket library-photos"),
            "{msg}"
        );
    }
}
