//! What the guard requires of every operation: the settings of the at-rest
//! judge (KMS key allowlist, expected bucket owner, required versioning)
//! and of the comparison (similarity threshold, quality filter).

use std::fmt;

use crate::input::{AccountId, InputError, KmsKeyArn};

/// The similarity (0 to 100) a face match needs to be approved.
///
/// The default is **99**. Rekognition's own default of 80 suits photo
/// search, not access decisions: a false match here lends a book on someone
/// else's card, while a false non-match only sends the member to the desk.
/// AWS recommends a human review for decisions that affect access to
/// services; see [Using similarity thresholds](https://docs.aws.amazon.com/rekognition/latest/dg/thresholds-collections.html)
/// and [Comparing faces](https://docs.aws.amazon.com/rekognition/latest/dg/faces-comparefaces.html).
///
/// ```
/// use rekognition_guard::SimilarityThreshold;
///
/// assert_eq!(SimilarityThreshold::default().get(), 99.0);
/// assert!(SimilarityThreshold::new(f32::NAN).is_err());
/// assert!(SimilarityThreshold::new(100.5).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct SimilarityThreshold(f32);

impl SimilarityThreshold {
    /// The default threshold, 99.
    pub const DEFAULT: Self = Self(99.0);

    /// A threshold from 0 to 100 inclusive.
    ///
    /// # Errors
    /// [`InputError::InvalidThreshold`] for NaN, infinities and values
    /// outside 0..=100.
    pub fn new(value: f32) -> Result<Self, InputError> {
        if (0.0..=100.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InputError::InvalidThreshold { value })
        }
    }

    /// The threshold.
    pub fn get(self) -> f32 {
        self.0
    }
}

impl Default for SimilarityThreshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for SimilarityThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Rekognition's quality filter: which detected faces are too poor to use.
///
/// The default is [`Auto`](Self::Auto), so a blurred or dark kiosk photo
/// yields "no face found" instead of a low-quality match. Rekognition's own
/// default for CompareFaces is `NONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum QualityFilter {
    /// No filtering.
    None,
    /// Rekognition chooses the bar.
    #[default]
    Auto,
    /// Filter only the worst faces.
    Low,
    /// Filter faces below medium quality.
    Medium,
    /// Keep only high-quality faces.
    High,
}

impl QualityFilter {
    /// The API value (`NONE`, `AUTO`, `LOW`, `MEDIUM`, `HIGH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Auto => "AUTO",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
        }
    }
}

/// What the guard requires of every comparison.
///
/// SSE-KMS (or DSSE-KMS) on every S3 image is not an option: it is always
/// required. The rest is configurable:
///
/// ```
/// use rekognition_guard::{AccountId, KmsKeyArn, Policy, QualityFilter, SimilarityThreshold};
///
/// let policy = Policy::new()
///     .allow_kms_key(KmsKeyArn::parse("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")?)
///     .expected_bucket_owner(AccountId::parse("111122223333")?)
///     .require_versioning(true)
///     .similarity_threshold(SimilarityThreshold::new(99.5)?)
///     .quality_filter(QualityFilter::High);
/// assert!(policy.versioning_required());
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use]
pub struct Policy {
    allowed_kms_keys: Vec<KmsKeyArn>,
    expected_bucket_owner: Option<AccountId>,
    require_versioning: bool,
    similarity_threshold: SimilarityThreshold,
    quality_filter: QualityFilter,
}

impl Policy {
    /// The default policy: SSE-KMS with any key, versions pinned when S3
    /// reports one but not required, threshold 99, quality filter `AUTO`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `arn` to the KMS key allowlist. With an empty allowlist any KMS
    /// key passes; with one, only the listed keys do.
    pub fn allow_kms_key(mut self, arn: KmsKeyArn) -> Self {
        if !self.allowed_kms_keys.contains(&arn) {
            self.allowed_kms_keys.push(arn);
        }
        self
    }

    /// Requires every bucket to belong to `account` (sent to S3 as
    /// `ExpectedBucketOwner`; S3 answers 403 for another owner).
    pub fn expected_bucket_owner(mut self, account: AccountId) -> Self {
        self.expected_bucket_owner = Some(account);
        self
    }

    /// Refuses objects without a version id. Without versioning the object
    /// can be replaced between the check and the comparison; with it, the
    /// comparison is pinned to the version the check saw.
    pub fn require_versioning(mut self, required: bool) -> Self {
        self.require_versioning = required;
        self
    }

    /// Sets the similarity a match needs.
    pub fn similarity_threshold(mut self, threshold: SimilarityThreshold) -> Self {
        self.similarity_threshold = threshold;
        self
    }

    /// Sets Rekognition's quality filter.
    pub fn quality_filter(mut self, filter: QualityFilter) -> Self {
        self.quality_filter = filter;
        self
    }

    /// The KMS key allowlist (empty: any KMS key).
    pub fn allowed_kms_keys(&self) -> &[KmsKeyArn] {
        &self.allowed_kms_keys
    }

    /// Whether the policy allows `key` (a key ARN as S3 reports it): any
    /// key when the allowlist is empty, else exactly a listed ARN. Key ids
    /// and aliases never match an ARN.
    pub fn allows_kms_key(&self, key: &str) -> bool {
        self.allowed_kms_keys.is_empty() || self.allowed_kms_keys.iter().any(|a| a.as_str() == key)
    }

    /// The expected bucket owner, if set.
    pub fn bucket_owner(&self) -> Option<&AccountId> {
        self.expected_bucket_owner.as_ref()
    }

    /// Whether objects must have a version id.
    pub fn versioning_required(&self) -> bool {
        self.require_versioning
    }

    /// The similarity threshold.
    pub fn threshold(&self) -> SimilarityThreshold {
        self.similarity_threshold
    }

    /// The quality filter.
    pub fn quality(&self) -> QualityFilter {
        self.quality_filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at_rest::SseAlgorithm;

    #[test]
    fn threshold_bounds() {
        for ok in [0.0, 50.0, 99.0, 100.0] {
            assert_eq!(SimilarityThreshold::new(ok).unwrap().get(), ok);
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.01, 100.01] {
            assert!(SimilarityThreshold::new(bad).is_err(), "{bad}");
        }
        assert_eq!(SimilarityThreshold::default().get(), 99.0);
    }

    #[test]
    fn defaults_and_api_values() {
        let p = Policy::new();
        assert!(p.allowed_kms_keys().is_empty());
        assert!(p.bucket_owner().is_none());
        assert!(!p.versioning_required());
        assert_eq!(p.quality(), QualityFilter::Auto);
        let all = [
            QualityFilter::None,
            QualityFilter::Auto,
            QualityFilter::Low,
            QualityFilter::Medium,
            QualityFilter::High,
        ];
        let names: Vec<_> = all.iter().map(|q| q.as_str()).collect();
        assert_eq!(names, ["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]);
        for sse in [
            SseAlgorithm::Aes256,
            SseAlgorithm::AwsKms,
            SseAlgorithm::AwsKmsDsse,
        ] {
            assert_eq!(SseAlgorithm::from_header(sse.as_header()), sse);
        }
    }
}
