//! What a guarded comparison decided, and what it checked.

use std::fmt;
use std::time::Duration;

use crate::at_rest::VerifiedS3Object;
use crate::backend::{BoundingBox, VerifiedImage};
use crate::input::ImageFormat;
use crate::opt_out::OptOutRecord;
use crate::policy::SimilarityThreshold;

/// Which image of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageRole {
    /// The source (the member's reference photo).
    Source,
    /// The target (the live photo).
    Target,
}

impl fmt::Display for ImageRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageRole::Source => "source",
            ImageRole::Target => "target",
        })
    }
}

/// The outcome of a comparison that was allowed to happen.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// A face in the target matched the source face at or above the
    /// threshold. The only approving verdict.
    Match {
        /// The best match's similarity, 0 to 100.
        similarity: f32,
        /// Where the matching face is in the target.
        face: BoundingBox,
    },
    /// Faces were found but none matched at the threshold.
    NoMatch,
    /// No face was found in one image. Not an approval.
    NoFace {
        /// Which image had no face, when the comparer says. `None` for
        /// Rekognition's `InvalidParameterException`, which is its answer
        /// for "no face in the source or target image" and does not say
        /// which; the guard validated the other parameters it could
        /// (threshold, image format, size and dimensions) before the call.
        image: Option<ImageRole>,
    },
}

impl Verdict {
    /// `match`, `no_match` or `no_face`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Match { .. } => "match",
            Verdict::NoMatch => "no_match",
            Verdict::NoFace { .. } => "no_face",
        }
    }

    /// The similarity of a match.
    pub fn similarity(&self) -> Option<f32> {
        match self {
            Verdict::Match { similarity, .. } => Some(*similarity),
            _ => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Match { similarity, .. } => write!(f, "match (similarity {similarity:.1})"),
            Verdict::NoMatch => f.write_str("no match"),
            Verdict::NoFace { image: Some(image) } => {
                write!(f, "no face found in the {image} image")
            }
            Verdict::NoFace { image: None } => f.write_str(
                "Rekognition answered InvalidParameterException, its answer when it finds no face in the source or target image (it gives no more detail)",
            ),
        }
    }
}

/// Where the check of an S3 image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOrigin {
    /// HeadObject was sent for this decision.
    HeadObject,
    /// A pass from the verification cache, `age` old: what S3 said then
    /// (see [`CacheConfig`](crate::CacheConfig) for what a cached pass can miss).
    Cache {
        /// How long ago HeadObject answered.
        age: Duration,
    },
}

impl fmt::Display for CheckOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckOrigin::HeadObject => f.write_str("checked now"),
            CheckOrigin::Cache { age } => {
                write!(f, "cached check, {:.1} s old", age.as_secs_f64())
            }
        }
    }
}

/// What was verified about one image of a decision.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CheckedImage {
    /// An S3 object, with the version and KMS key the check saw.
    S3 {
        /// What the check saw.
        object: VerifiedS3Object,
        /// Whether the check ran now or came from the cache, and how old.
        origin: CheckOrigin,
    },
    /// Image bytes.
    Bytes {
        /// Their format.
        format: ImageFormat,
        /// Their size in bytes.
        len: usize,
    },
}

impl CheckedImage {
    pub(crate) fn of(image: &VerifiedImage, origin: Option<CheckOrigin>) -> Self {
        match image {
            VerifiedImage::S3(o) => CheckedImage::S3 {
                object: o.clone(),
                origin: origin.unwrap_or(CheckOrigin::HeadObject),
            },
            VerifiedImage::Bytes(b) => CheckedImage::Bytes {
                format: b.format(),
                len: b.len(),
            },
        }
    }

    /// The S3 object, if this image is one.
    pub(crate) fn s3_object(&self) -> Option<&VerifiedS3Object> {
        match self {
            CheckedImage::S3 { object, .. } => Some(object),
            CheckedImage::Bytes { .. } => None,
        }
    }
}

impl fmt::Display for CheckedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckedImage::S3 { object, origin } => write!(f, "{object} [{origin}]"),
            CheckedImage::Bytes { format, len } => write!(f, "image bytes ({format}, {len} bytes)"),
        }
    }
}

/// A comparison that passed every check and was sent to Rekognition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// What was verified about the source image.
    pub source: CheckedImage,
    /// What was verified about the target image.
    pub target: CheckedImage,
    /// The threshold the match was held to.
    pub threshold: SimilarityThreshold,
    /// The opt-out evidence this decision relied on.
    pub opt_out: OptOutRecord,
    /// Where the decision's record is, for a guard with a ledger
    /// ([`Guard::with_ledger`](crate::Guard::with_ledger)).
    pub ledger: Option<LedgerReceipt>,
}

impl Decision {
    /// `true` only for [`Verdict::Match`]: approve the loan.
    pub fn is_approved(&self) -> bool {
        matches!(self.verdict, Verdict::Match { .. })
    }
}

/// Where an appended record is: its sequence number, the SHA-256 of its
/// exact bytes (the ledger's head after it; keep it to detect a
/// truncation later, [`Ledger::verify`](crate::ledger::Ledger::verify)) and its pinned object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerReceipt {
    /// The record's sequence number, from 1.
    pub sequence: u64,
    /// The SHA-256 of the record's bytes, 64 hexadecimal digits.
    pub hash: String,
    /// The record, pinned to the version written.
    pub record: crate::input::S3ObjectRef,
}
