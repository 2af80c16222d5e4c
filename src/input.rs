//! Inputs, parsed into types that cannot hold invalid values.
//!
//! * [`S3ObjectRef`]: `s3://bucket/key[?versionId=…]`, bucket checked against
//!   S3's naming rules, key 1 to 1024 bytes of UTF-8.
//! * [`FaceImage`]: non-empty image bytes of at most 5 MiB, JPEG or PNG by
//!   content (never by file name), whose `Debug` shows size and format only.
//! * [`AccountId`], [`KmsKeyArn`]: the identifiers a policy names.

use std::fmt;
use std::str::FromStr;

use crate::text::Quoted;

/// Rekognition's limit for images passed as bytes: 5 MiB.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Rekognition's limit for images read from S3: 15 MiB.
pub(crate) const MAX_S3_IMAGE_BYTES: u64 = 15 * 1024 * 1024;

/// Rekognition's minimum image height and width, in pixels ("Guidelines
/// and quotas in Amazon Rekognition"). A smaller image is answered with
/// `InvalidParameterException`.
pub(crate) const MIN_IMAGE_PIXELS: u32 = 80;

/// Malformed input, found while parsing it.
///
/// Messages quote the offending reference or value, never image bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The text is not an `s3://bucket/key[?versionId=…]` reference.
    #[error("invalid S3 reference {}: {reason}", Quoted(.input))]
    InvalidS3Reference {
        /// The reference as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bucket name breaks S3's naming rules.
    #[error("invalid S3 bucket name {}: {reason}", Quoted(.bucket))]
    InvalidBucketName {
        /// The bucket name as given.
        bucket: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The object key is empty, longer than 1024 bytes, or has characters
    /// that could forge or disguise a log line
    /// (crate docs, "Text that reaches a log line").
    #[error("invalid S3 object key ({len} bytes): keys are 1 to 1024 bytes of UTF-8 without control, line-separator or invisible formatting characters (such as bidirectional overrides)")]
    InvalidKey {
        /// Its length in bytes.
        len: usize,
    },
    /// The object key contains `?versionId=`, which an `s3://` reference
    /// uses to name a version: its text form would read back as another
    /// object.
    #[error("invalid S3 object key ({len} bytes): it contains \"?versionId=\", which s3:// references use to name a version, so the reference would not read back as the same object; rename the object")]
    AmbiguousKey {
        /// Its length in bytes.
        len: usize,
    },
    /// The version id is empty, too long or has characters S3 never uses.
    #[error("invalid S3 version id {}: {reason}", Quoted(.version_id))]
    InvalidVersionId {
        /// The version id as given.
        version_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Image bytes were empty.
    #[error("image is empty")]
    EmptyImage,
    /// Image bytes exceed Rekognition's limit for images sent as bytes.
    #[error("image is {size} bytes; Rekognition accepts at most {limit} bytes as image bytes (store larger images in S3, up to 15 MiB)")]
    ImageTooLarge {
        /// The image's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The image is smaller than Rekognition accepts: its header gives a
    /// width or height under the minimum.
    #[error("image is {width}x{height} pixels; Rekognition needs at least {min}x{min} (and a face of at least 40x40 pixels in a 1920x1080 image); take a larger photo")]
    ImageTooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The minimum height and width in pixels.
        min: u32,
    },
    /// The bytes are neither JPEG nor PNG (recognised by content).
    #[error("image ({size} bytes) is neither JPEG nor PNG by its content; Rekognition accepts only those formats")]
    UnsupportedImageFormat {
        /// The image's size in bytes.
        size: usize,
    },
    /// A similarity threshold outside 0..=100, or not a number.
    #[error("invalid similarity threshold {value}: it must be a number from 0 to 100")]
    InvalidThreshold {
        /// The value as given.
        value: f32,
    },
    /// A 1:N search threshold below 99 (or not a valid threshold).
    #[error("invalid collection search threshold {value}: 1:N search compares a face with every member, so its threshold is at least 99")]
    InvalidSearchThreshold {
        /// The value as given.
        value: f32,
    },
    /// A Rekognition collection id that breaks its rule (1 to 255 of
    /// `a-z A-Z 0-9 _ . -`).
    #[error("invalid collection id {}: {reason}", Quoted(.id))]
    InvalidCollectionId {
        /// The id as given (shown escaped).
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A member id that breaks its rule (1 to 128 of
    /// `a-z A-Z 0-9 _ . - :`). Not echoed: it might be a name.
    #[error("invalid member id ({len} bytes): {reason}")]
    InvalidMemberId {
        /// Its length in bytes.
        len: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A consent or its notice that breaks its rules (not echoed: it may
    /// hold personal data).
    #[error("invalid consent: {reason}")]
    InvalidConsent {
        /// What is wrong with it.
        reason: String,
    },
    /// A liveness threshold outside 0..=100, or not a number.
    #[error("invalid liveness threshold {value}: it must be a number from 0 to 100")]
    InvalidLivenessThreshold {
        /// The value as given.
        value: f32,
    },
    /// A kiosk id that is empty, longer than 128 characters or holds a
    /// log-unsafe character.
    #[error("invalid kiosk id ({len} characters): 1 to 128 characters without control, line-separator or invisible formatting characters")]
    InvalidKioskId {
        /// Its length in characters.
        len: usize,
    },
    /// Not a Face Liveness session id (a UUID).
    #[error("invalid Face Liveness session id {input}: Rekognition issues UUIDs (8-4-4-4-12 hexadecimal digits)")]
    InvalidLivenessSessionId {
        /// The text as given (quoted and escaped).
        input: String,
    },
    /// A Face Liveness output prefix longer than 512 bytes or holding a
    /// log-unsafe character.
    #[error("invalid liveness output prefix ({len} bytes): at most 512 bytes without control, line-separator or invisible formatting characters")]
    InvalidOutputPrefix {
        /// Its length in bytes.
        len: usize,
    },
    /// An `AuditImagesLimit` above 4.
    #[error(
        "invalid audit images limit {value}: Rekognition keeps 0 to 4 audit images per session"
    )]
    InvalidAuditImagesLimit {
        /// The value as given.
        value: u8,
    },
    /// Not a full KMS key ARN.
    #[error("invalid KMS key ARN {}: {reason}", Quoted(.input))]
    InvalidKmsKeyArn {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a 12-digit AWS account id.
    #[error("invalid AWS account id {}: an account id is exactly 12 digits", Quoted(.input))]
    InvalidAccountId {
        /// The text as given.
        input: String,
    },
    /// Opt-out evidence text (an attestation reference or a waiver reason)
    /// is empty, too long or has control characters.
    #[error("invalid opt-out evidence text: {reason}")]
    InvalidEvidence {
        /// What is wrong with it.
        reason: String,
    },
    /// An endpoint URL that cannot be parsed.
    #[error("invalid endpoint URL {}: {reason}", Quoted(.input))]
    InvalidEndpoint {
        /// The URL as given (user information removed).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The AWS service a backend talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Amazon S3 (HeadObject, PutObject).
    S3,
    /// Amazon Rekognition (CompareFaces).
    Rekognition,
    /// AWS Organizations (the AI services opt-out policy).
    Organizations,
    /// AWS STS (`GetCallerIdentity`: which account credentials act as).
    Sts,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::S3 => "S3",
            Service::Rekognition => "Rekognition",
            Service::Organizations => "AWS Organizations",
            Service::Sts => "AWS STS",
        })
    }
}

/// A reference to an S3 object: bucket, key and optionally a version.
///
/// Parse it from `s3://bucket/key` or `s3://bucket/key?versionId=VERSION`,
/// or build it from parts with [`S3ObjectRef::new`]. Keys are taken
/// literally (no percent-decoding, as in the AWS CLI): spaces and non-ASCII
/// characters are fine; control characters, line and paragraph separators
/// and invisible formatting characters such as bidirectional overrides
/// (crate docs, "Text that reaches a log line") are refused, so a
/// key can never forge or disguise a log line.
///
/// ```
/// use rekognition_guard::S3ObjectRef;
///
/// let r: S3ObjectRef = "s3://library-photos/members/Zoë Smith.jpg?versionId=3sL4kqtJ".parse()?;
/// assert_eq!(r.bucket(), "library-photos");
/// assert_eq!(r.key(), "members/Zoë Smith.jpg");
/// assert_eq!(r.version_id(), Some("3sL4kqtJ"));
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
///
/// # Stable text form
///
/// `Display` writes the `s3://` form above, and [`parse`](Self::parse)
/// reads it back as the same reference, for every reference: keys that
/// contain `?versionId=` are refused ([`InputError::AmbiguousKey`]), so the
/// form is unambiguous. It is the form to keep in a member database
/// (after enrollment, [`VerifiedS3Object::reference`](crate::VerifiedS3Object::reference)
/// names the pinned version). With the `serde` feature, `S3ObjectRef`
/// serializes as that string and deserializes through `parse`, so a stored
/// reference is validated again when it is read.
///
/// ```
/// use rekognition_guard::S3ObjectRef;
///
/// let stored = S3ObjectRef::new("library-photos", "members/ada lovelace.jpg")?
///     .with_version_id("3sL4kqtJ")?;
/// let text = stored.to_string();
/// assert_eq!(text, "s3://library-photos/members/ada lovelace.jpg?versionId=3sL4kqtJ");
/// assert_eq!(S3ObjectRef::parse(&text)?, stored);
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct S3ObjectRef(
    // Shared: references are cloned into inputs, audit labels and error
    // hints on every operation; a clone costs one reference count.
    std::sync::Arc<ObjectRefParts>,
);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ObjectRefParts {
    bucket: Box<str>,
    key: Box<str>,
    version_id: Option<Box<str>>,
}

impl fmt::Debug for S3ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ObjectRef")
            .field("bucket", &self.0.bucket)
            .field("key", &self.0.key)
            .field("version_id", &self.0.version_id)
            .finish()
    }
}

const VERSION_MARKER: &str = "?versionId=";

impl S3ObjectRef {
    /// An object reference from a bucket and a key.
    ///
    /// # Errors
    /// [`InputError::InvalidBucketName`], [`InputError::InvalidKey`] or
    /// [`InputError::AmbiguousKey`].
    pub fn new(bucket: &str, key: &str) -> Result<Self, InputError> {
        validate_bucket(bucket)?;
        validate_key(key)?;
        Ok(Self(std::sync::Arc::new(ObjectRefParts {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
        })))
    }

    /// The same object, pinned to `version_id`.
    ///
    /// # Errors
    /// [`InputError::InvalidVersionId`] when the id is empty, over 1024
    /// bytes, or has characters other than printable ASCII (`&`, `#` and `?`
    /// excluded).
    pub fn with_version_id(mut self, version_id: &str) -> Result<Self, InputError> {
        validate_version_id(version_id)?;
        std::sync::Arc::make_mut(&mut self.0).version_id = Some(version_id.into());
        Ok(self)
    }

    /// Parses `s3://bucket/key` with an optional `?versionId=VERSION`.
    ///
    /// # Errors
    /// [`InputError::InvalidS3Reference`] when the form is wrong, or the
    /// errors of [`new`](Self::new) and [`with_version_id`](Self::with_version_id).
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let bad = |reason: &str| InputError::InvalidS3Reference {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = input
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad("it has no object key (expected s3://bucket/key)"))?;
        if bucket.is_empty() {
            return Err(bad("the bucket name is empty"));
        }
        let (key, version) = match rest.rfind(VERSION_MARKER) {
            Some(at) => (&rest[..at], Some(&rest[at + VERSION_MARKER.len()..])),
            None => (rest, None),
        };
        if key.is_empty() {
            return Err(bad("the object key is empty"));
        }
        let object = Self::new(bucket, key)?;
        match version {
            Some(v) => object.with_version_id(v),
            None => Ok(object),
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.0.bucket
    }

    /// The object key.
    pub fn key(&self) -> &str {
        &self.0.key
    }

    /// The version id, if the reference names one (possibly `null`,
    /// which names no immutable version).
    pub fn version_id(&self) -> Option<&str> {
        self.0.version_id.as_deref()
    }

    /// The version id, if the reference names an immutable version
    /// (well-formed, and not S3's `null`).
    pub(crate) fn pinned_version(&self) -> Option<&str> {
        // Well-formed by construction (`with_version_id`): only `null`
        // remains to rule out.
        self.version_id().filter(|v| *v != NULL_VERSION_ID)
    }
}

impl FromStr for S3ObjectRef {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for S3ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.0.bucket, self.0.key)?;
        if let Some(v) = &self.0.version_id {
            write!(f, "{VERSION_MARKER}{v}")?;
        }
        Ok(())
    }
}

/// As its [stable text form](S3ObjectRef#stable-text-form).
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for S3ObjectRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From its [stable text form](S3ObjectRef#stable-text-form), validated
/// by [`S3ObjectRef::parse`]: a malformed or tampered value is an error
/// naming the rule it breaks.
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> serde::Deserialize<'de> for S3ObjectRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn validate_bucket(bucket: &str) -> Result<(), InputError> {
    let bad = |reason: &str| {
        Err(InputError::InvalidBucketName {
            bucket: bucket.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if !(3..=63).contains(&bucket.len()) {
        return bad("bucket names are 3 to 63 characters long");
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("bucket names use only lowercase letters, digits, dots and hyphens");
    }
    let first = bucket.as_bytes()[0];
    let last = bucket.as_bytes()[bucket.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("bucket names begin and end with a letter or digit");
    }
    if bucket.contains("..") {
        return bad("bucket names have no two adjacent dots");
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("bucket names are not formatted as IP addresses");
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if bucket.starts_with(prefix) {
            return bad(&format!("the prefix {prefix:?} is reserved by S3"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if bucket.ends_with(suffix) {
            return bad(&format!(
                "the suffix {suffix:?} marks an access point alias, Multi-Region Access Point, directory or table bucket; give a general purpose bucket's name"
            ));
        }
    }
    Ok(())
}

fn validate_key(key: &str) -> Result<(), InputError> {
    // S3 allows any UTF-8 in keys, but a face photo's key never needs a
    // control, line-separator or invisible formatting character, and
    // refusing them keeps keys from forging or disguising log lines.
    if !(1..=1024).contains(&key.len()) || crate::text::has_log_unsafe(key) {
        Err(InputError::InvalidKey { len: key.len() })
    } else if key.contains(VERSION_MARKER) {
        // Otherwise `s3://b/a?versionId=x` could be key `a?versionId=x` or
        // key `a` at version `x`.
        Err(InputError::AmbiguousKey { len: key.len() })
    } else {
        Ok(())
    }
}

/// Whether `key` has a `.` or `..` segment between slashes (`a/../b`,
/// `./a`, `a/.`). S3 keys are literal, but a path-style endpoint, a proxy
/// or an emulator that normalises paths would read `a/../b` as `b`. Keys
/// the crate reads or writes because a document named them (an inventory
/// manifest's data files, a liveness session's reference image, a
/// configured output prefix) must not have them, so that what is read is
/// what was named.
pub(crate) fn has_dot_segment(key: &str) -> bool {
    key.split('/')
        .any(|segment| segment == "." || segment == "..")
}

/// S3's version id for what was last written while versioning was off or
/// suspended. A later PUT replaces that object **in place**, so `null`
/// names no immutable version (S3 User Guide, "Adding objects to
/// versioning-suspended buckets").
pub(crate) const NULL_VERSION_ID: &str = "null";

/// Whether `version_id` names an immutable object version: a well-formed
/// version id other than [`NULL_VERSION_ID`]. The one rule for what may be
/// pinned, satisfy [`Policy::with_versioning_required`](crate::Policy::with_versioning_required)
/// and be cached.
pub(crate) fn names_immutable_version(version_id: &str) -> bool {
    version_id != NULL_VERSION_ID && validate_version_id(version_id).is_ok()
}

pub(crate) fn validate_version_id(v: &str) -> Result<(), InputError> {
    let bad = |reason: &str| {
        Err(InputError::InvalidVersionId {
            version_id: v.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if !(1..=1024).contains(&v.len()) {
        return bad("version ids are 1 to 1024 bytes long");
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'&' | b'#' | b'?'))
    {
        return bad("version ids are printable ASCII without spaces, '&', '#' or '?'");
    }
    Ok(())
}

/// An image format Rekognition accepts, recognised from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (starts with `FF D8 FF`).
    Jpeg,
    /// PNG (starts with the 8-byte PNG signature).
    Png,
}

impl ImageFormat {
    /// Recognises the format from the first bytes, never from a file name.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Self> {
        const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(PNG) {
            Some(Self::Png)
        } else {
            None
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
        })
    }
}

/// Validated image bytes: non-empty, at most [`MAX_IMAGE_BYTES`], JPEG or
/// PNG by content, and at least 80 pixels high and wide when the
/// header says its size (read with the `imagesize` crate; an image whose
/// header does not say is left to Rekognition).
///
/// A face photo is biometric data, so this type keeps it out of sight: it is
/// not `Clone` (no accidental copies), its `Debug` shows only format and
/// size, and reading the bytes takes a call named
/// [`expose_bytes`](Self::expose_bytes).
///
/// ```
/// use rekognition_guard::{FaceImage, ImageFormat};
///
/// let png = b"\x89PNG\r\n\x1a\n rest of the file".to_vec();
/// let image = FaceImage::from_vec(png)?;
/// assert_eq!(image.format(), ImageFormat::Png);
/// assert_eq!(format!("{image:?}"), "FaceImage { format: PNG, len: 25 }");
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
pub struct FaceImage {
    bytes: Vec<u8>,
    format: ImageFormat,
    dimensions: Option<(u32, u32)>,
}

impl FaceImage {
    /// Validates `bytes` without copying them.
    ///
    /// # Errors
    /// [`InputError::EmptyImage`], [`InputError::ImageTooLarge`],
    /// [`InputError::UnsupportedImageFormat`], or
    /// [`InputError::ImageTooSmall`] when the JPEG or PNG header gives a
    /// width or height under 80 pixels.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, InputError> {
        if bytes.is_empty() {
            return Err(InputError::EmptyImage);
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(InputError::ImageTooLarge {
                size: bytes.len(),
                limit: MAX_IMAGE_BYTES,
            });
        }
        let format = ImageFormat::sniff(&bytes)
            .ok_or(InputError::UnsupportedImageFormat { size: bytes.len() })?;
        let dimensions = imagesize::blob_size(&bytes)
            .ok()
            .and_then(|s| Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?)));
        if let Some((width, height)) = dimensions {
            if width < MIN_IMAGE_PIXELS || height < MIN_IMAGE_PIXELS {
                return Err(InputError::ImageTooSmall {
                    width,
                    height,
                    min: MIN_IMAGE_PIXELS,
                });
            }
        }
        Ok(Self {
            bytes,
            format,
            dimensions,
        })
    }

    /// Width and height in pixels, from the JPEG or PNG header; `None` when
    /// the header does not say (the image is then left to Rekognition).
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        self.dimensions
    }

    /// The format recognised from the content.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// The size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The image bytes. The name makes every place that handles the
    /// biometric bytes visible in review.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image bytes, without a copy.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// A copy, for the guard's own use (enrollment sends the photo to
    /// DetectFaces before it stores it). Not public: the type is not
    /// `Clone` so that copies of a face photo stay visible in review.
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            bytes: self.bytes.clone(),
            format: self.format,
            dimensions: self.dimensions,
        }
    }
}

impl fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaceImage")
            .field("format", &format_args!("{}", self.format))
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// One side of a comparison: an S3 object to check, or image bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImageInput {
    /// An object in S3; the guard checks its encryption before comparing.
    S3(S3ObjectRef),
    /// Image bytes sent to Rekognition over HTTPS.
    Bytes(FaceImage),
}

impl From<S3ObjectRef> for ImageInput {
    fn from(r: S3ObjectRef) -> Self {
        ImageInput::S3(r)
    }
}

impl From<&S3ObjectRef> for ImageInput {
    fn from(r: &S3ObjectRef) -> Self {
        ImageInput::S3(r.clone())
    }
}

impl From<FaceImage> for ImageInput {
    fn from(i: FaceImage) -> Self {
        ImageInput::Bytes(i)
    }
}

/// A 12-digit AWS account id, e.g. the expected owner of a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    ///
    /// # Errors
    /// [`InputError::InvalidAccountId`].
    pub fn parse(input: &str) -> Result<Self, InputError> {
        if input.len() == 12 && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InputError::InvalidAccountId {
                input: input.to_owned(),
            })
        }
    }

    /// The account id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full KMS key ARN, `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID`.
///
/// Aliases are refused: S3 reports the key ARN of an SSE-KMS object, and an
/// alias resolves differently per account, so only key ARNs compare safely.
///
/// ```
/// use rekognition_guard::KmsKeyArn;
///
/// let arn = KmsKeyArn::parse("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")?;
/// assert_eq!(arn.account(), "111122223333");
/// assert!(KmsKeyArn::parse("arn:aws:kms:eu-west-1:111122223333:alias/photos").is_err());
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsKeyArn(String);

impl KmsKeyArn {
    /// Parses a full KMS key ARN.
    ///
    /// # Errors
    /// [`InputError::InvalidKmsKeyArn`], saying which part is wrong.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let bad = |reason: &str| {
            Err(InputError::InvalidKmsKeyArn {
                input: input.to_owned(),
                reason: reason.to_owned(),
            })
        };
        let parts: Vec<&str> = input.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return bad("expected arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID");
        };
        if arn != "arn" {
            return bad("it must start with arn:");
        }
        if !(partition == "aws"
            || partition.strip_prefix("aws-").is_some_and(|p| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            }))
        {
            return bad("unknown partition (expected aws, aws-cn, aws-us-gov, …)");
        }
        if service != "kms" {
            return bad("it is not a KMS ARN");
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad("the region is missing or malformed");
        }
        if AccountId::parse(account).is_err() {
            return bad("the account id is not 12 digits");
        }
        if resource.starts_with("alias/") {
            return bad(
                "this is an alias ARN; give the key ARN it points to (S3 reports key ARNs)",
            );
        }
        match resource.strip_prefix("key/") {
            Some(id)
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Ok(Self(input.to_owned()))
            }
            _ => bad("the resource must be key/KEY_ID"),
        }
    }

    /// The ARN.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account that owns the key.
    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

impl FromStr for KmsKeyArn {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<S3ObjectRef, InputError> {
        S3ObjectRef::parse(s)
    }

    #[test]
    fn dot_segments_are_whole_segments() {
        for dotted in [
            ".",
            "..",
            "../other-bucket/secret.csv.gz",
            "data/./a.csv.gz",
            "data/..",
            "a//../b",
        ] {
            assert!(has_dot_segment(dotted), "{dotted}");
        }
        for plain in ["data/a.csv.gz", "a..b/c", ".hidden/x", "x/...", "x/.a", ""] {
            assert!(!has_dot_segment(plain), "{plain}");
        }
    }

    #[test]
    fn a_reference_is_one_shared_value_with_the_same_debug_equality_and_hash() {
        use std::hash::BuildHasher;
        let unpinned = S3ObjectRef::new("library-photos", "members/ada.jpg").unwrap();
        let shared = unpinned.clone();
        let pinned = shared.with_version_id("3sL4kqtJ").unwrap();
        // Pinning a clone leaves the other clones as they were.
        assert_eq!(unpinned.version_id(), None);
        assert_eq!(pinned.version_id(), Some("3sL4kqtJ"));
        assert_eq!(
            format!("{unpinned:?}"),
            r#"S3ObjectRef { bucket: "library-photos", key: "members/ada.jpg", version_id: None }"#
        );
        assert_eq!(
            format!("{pinned:?}"),
            r#"S3ObjectRef { bucket: "library-photos", key: "members/ada.jpg", version_id: Some("3sL4kqtJ") }"#
        );
        // Equal by value, not by allocation; hashes follow equality.
        let rebuilt = parse("s3://library-photos/members/ada.jpg?versionId=3sL4kqtJ").unwrap();
        assert_eq!(rebuilt, pinned);
        assert_ne!(rebuilt, unpinned);
        let state = std::collections::hash_map::RandomState::new();
        assert_eq!(state.hash_one(&rebuilt), state.hash_one(&pinned));
    }

    #[test]
    fn parses_bucket_key_and_version() {
        let r = parse(
            "s3://library-photos/members/ada.jpg?versionId=3sL4kqtJ.lcpXroDTDmJ+rmSpXd3dIbrHY",
        )
        .unwrap();
        assert_eq!(r.bucket(), "library-photos");
        assert_eq!(r.key(), "members/ada.jpg");
        assert_eq!(r.version_id(), Some("3sL4kqtJ.lcpXroDTDmJ+rmSpXd3dIbrHY"));
        assert_eq!(
            r.to_string(),
            "s3://library-photos/members/ada.jpg?versionId=3sL4kqtJ.lcpXroDTDmJ+rmSpXd3dIbrHY"
        );
    }

    #[test]
    fn keys_are_literal_with_spaces_non_ascii_and_percent_signs() {
        let r = parse("s3://library-photos/members/Zoë Smith 100%.jpg").unwrap();
        assert_eq!(r.key(), "members/Zoë Smith 100%.jpg");
        assert_eq!(r.version_id(), None);
        let r = parse("s3://library-photos/a/b//c?x=1#frag").unwrap();
        assert_eq!(r.key(), "a/b//c?x=1#frag");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_uses_the_stable_text_form_and_validates_what_it_reads() {
        let stored = S3ObjectRef::new("library-photos", "members/Zoë Smith.jpg")
            .unwrap()
            .with_version_id("3sL4kqtJ")
            .unwrap();
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(
            json,
            r#""s3://library-photos/members/Zoë Smith.jpg?versionId=3sL4kqtJ""#
        );
        assert_eq!(serde_json::from_str::<S3ObjectRef>(&json).unwrap(), stored);
        // A tampered or malformed value is an error naming the rule.
        for (bad, rule) in [
            (r#""s3://Library_Photos/a.jpg""#, "bucket"),
            (r#""https://library-photos/a.jpg""#, "s3://"),
            (r#""s3://library-photos/a.jpg""#, "object key"),
            ("42", "string"),
        ] {
            let err = serde_json::from_str::<S3ObjectRef>(bad).unwrap_err();
            assert!(err.to_string().contains(rule), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_holding_the_version_marker_are_refused_so_the_text_form_is_unambiguous() {
        // Key `odd?versionId=key` without a version would print as
        // `s3://library-photos/odd?versionId=key`, which reads back as key
        // `odd` at version `key`: another object. Such keys are refused,
        // from parts and from text.
        assert_eq!(
            S3ObjectRef::new("library-photos", "odd?versionId=key"),
            Err(InputError::AmbiguousKey { len: 17 })
        );
        assert_eq!(
            parse("s3://library-photos/odd?versionId=key?versionId=v2"),
            Err(InputError::AmbiguousKey { len: 17 })
        );
        // The marker still starts the version, and look-alikes are keys.
        let r = parse("s3://library-photos/odd?versionid=key?versionId=v2").unwrap();
        assert_eq!(r.key(), "odd?versionid=key");
        assert_eq!(r.version_id(), Some("v2"));
        assert_eq!(parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "",
            "library-photos/a.jpg",
            "S3://library-photos/a.jpg",
            "https://library-photos/a.jpg",
            "s3://library-photos",
            "s3://library-photos/",
            "s3:///a.jpg",
            "s3://library-photos/?versionId=v1",
            "s3://library-photos/a.jpg?versionId=",
            "s3://library-photos/a.jpg?versionId=v1&x=2",
            "s3://library-photos/a.jpg?versionId=v 1",
            "s3://library-photos/a.jpg?versionId=v#1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn key_length_is_counted_in_bytes() {
        let ok = "é".repeat(512); // 1024 bytes
        assert!(S3ObjectRef::new("library-photos", &ok).is_ok());
        let too_long = format!("{ok}a");
        assert_eq!(
            S3ObjectRef::new("library-photos", &too_long),
            Err(InputError::InvalidKey { len: 1025 })
        );
        assert_eq!(
            S3ObjectRef::new("library-photos", ""),
            Err(InputError::InvalidKey { len: 0 })
        );
        for control in [
            "a\nb",
            "a\rb",
            "\u{0}",
            "a\u{7f}",
            "tab\there",
            // Shown as a new line by many log viewers, or reordering what
            // follows ("Trojan Source"): they could forge an audit line.
            "members/x.jpg\u{2028}2026-11-30T10:00:00Z INFO rekognition_guard::audit: decision=\"match\"",
            "members/x\u{2029}.jpg",
            "members/\u{202e}gpj.exe",
            "members/\u{2066}ada\u{2069}.jpg",
            "members/a\u{200b}da.jpg",
            "a\u{85}b",
        ] {
            assert!(
                S3ObjectRef::new("library-photos", control).is_err(),
                "{control:?}"
            );
        }
    }

    #[test]
    fn version_id_length_and_null() {
        let r = S3ObjectRef::new("library-photos", "a").unwrap();
        assert!(r.clone().with_version_id(&"v".repeat(1024)).is_ok());
        assert!(r.clone().with_version_id(&"v".repeat(1025)).is_err());
        assert!(r.clone().with_version_id("null").is_ok());
        assert!(r.with_version_id("vé").is_err());
    }

    #[test]
    fn bucket_naming_rules() {
        for good in [
            "abc",
            "library-photos",
            "my.bucket.2026",
            &"a".repeat(63),
            "1bucket",
        ] {
            assert!(validate_bucket(good).is_ok(), "{good:?} should be accepted");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Library-Photos",
            "library_photos",
            "-library",
            "library-",
            ".library",
            "library..photos",
            "192.168.5.4",
            "xn--library",
            "sthree-library",
            "amzn-s3-demo-bucket",
            "library-s3alias",
            "library--ol-s3",
            "library.mrap",
            "library--use1-az4--x-s3",
            "library--table-s3",
            "libr ary",
            "bücher",
        ] {
            assert!(validate_bucket(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn bucket_errors_name_the_rule() {
        let e = S3ObjectRef::new("Library", "a").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
    }

    #[test]
    fn image_format_is_recognised_by_content() {
        let jpeg = FaceImage::from_vec(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).unwrap();
        assert_eq!(jpeg.format(), ImageFormat::Jpeg);
        let png = FaceImage::from_vec(b"\x89PNG\r\n\x1a\n\0\0".to_vec()).unwrap();
        assert_eq!(png.format(), ImageFormat::Png);
        assert_eq!(
            FaceImage::from_vec(b"GIF89a....".to_vec()).unwrap_err(),
            InputError::UnsupportedImageFormat { size: 10 }
        );
        // A truncated PNG signature is not PNG.
        assert!(FaceImage::from_vec(b"\x89PNG\r\n".to_vec()).is_err());
        assert!(FaceImage::from_vec(vec![0xFF, 0xD8]).is_err());
        assert_eq!(
            FaceImage::from_vec(Vec::new()).unwrap_err(),
            InputError::EmptyImage
        );
    }

    /// A PNG signature and IHDR chunk saying `width` x `height`.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    /// A JPEG with a baseline SOF0 segment saying `width` x `height`.
    fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        jpeg.extend_from_slice(&height.to_be_bytes());
        jpeg.extend_from_slice(&width.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        jpeg
    }

    #[test]
    fn images_below_rekognitions_minimum_are_input_errors_naming_it() {
        for (bytes, (w, h)) in [
            (png_header(79, 200), (79, 200)),
            (png_header(200, 79), (200, 79)),
            (jpeg_header(64, 64), (64, 64)),
        ] {
            let err = FaceImage::from_vec(bytes).unwrap_err();
            assert_eq!(
                err,
                InputError::ImageTooSmall {
                    width: w,
                    height: h,
                    min: MIN_IMAGE_PIXELS
                }
            );
            assert!(err.to_string().contains("at least 80x80"), "{err}");
        }
        let ok = FaceImage::from_vec(png_header(80, 80)).unwrap();
        assert_eq!(ok.dimensions(), Some((80, 80)));
        let ok = FaceImage::from_vec(jpeg_header(640, 480)).unwrap();
        assert_eq!(ok.dimensions(), Some((640, 480)));
        // A header that does not say its size is left to Rekognition.
        let unknown = FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 no segments".to_vec()).unwrap();
        assert_eq!(unknown.dimensions(), None);
    }

    #[test]
    fn image_size_limit_is_five_mib() {
        let mut at_limit = vec![0u8; MAX_IMAGE_BYTES];
        at_limit[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert!(FaceImage::from_vec(at_limit.clone()).is_ok());
        at_limit.push(0);
        assert_eq!(
            FaceImage::from_vec(at_limit).unwrap_err(),
            InputError::ImageTooLarge {
                size: MAX_IMAGE_BYTES + 1,
                limit: MAX_IMAGE_BYTES
            }
        );
    }

    #[test]
    fn image_debug_never_shows_bytes() {
        let image = FaceImage::from_vec(b"\xFF\xD8\xFFSECRET-FACE-BYTES".to_vec()).unwrap();
        let direct = format!("{image:?}");
        let shown = format!("{direct} {:?}", ImageInput::from(image));
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains("255"), "{shown}");
        assert!(
            shown.contains("JPEG") && shown.contains("len: 20"),
            "{shown}"
        );
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        for bad in [
            "11112222333",
            "1111222233334",
            "11112222333a",
            "",
            " 111122223333",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kms_key_arns() {
        for good in [
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            let arn = KmsKeyArn::parse(good).unwrap();
            assert_eq!(arn.account(), "111122223333");
            assert_eq!(arn.to_string(), good);
        }
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/photos",
            "arn:aws:kms:eu-west-1:111122223333:alias/photos",
            "arn:aws:s3:eu-west-1:111122223333:key/1234",
            "arn:aws:kms::111122223333:key/1234",
            "arn:aws:kms:eu-west-1:1111:key/1234",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:kms:eu-west-1:111122223333:key/12 34",
            "arn:gcp:kms:eu-west-1:111122223333:key/1234",
            "arn:aws:kms:eu-west-1:111122223333",
        ] {
            assert!(KmsKeyArn::parse(bad).is_err(), "{bad:?}");
        }
        let alias =
            KmsKeyArn::parse("arn:aws:kms:eu-west-1:111122223333:alias/photos").unwrap_err();
        assert!(alias.to_string().contains("alias"), "{alias}");
    }

    #[test]
    fn only_a_well_formed_non_null_version_id_is_immutable() {
        assert!(names_immutable_version("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"));
        assert!(!names_immutable_version("null"));
        assert!(!names_immutable_version(""));
        assert!(!names_immutable_version("v1\n"));
    }
}
