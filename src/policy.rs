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
    pub(crate) const DEFAULT: Self = Self(99.0);

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
    /// 99 (see the type's docs for why).
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
    /// The API value (`NONE`, `AUTO`, `LOW`, `MEDIUM`, `HIGH`): what a
    /// backend sends as `CompareFaces` `QualityFilter`.
    pub fn as_api(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Auto => "AUTO",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
        }
    }
}

/// What the guard requires of every S3 image and every comparison.
///
/// SSE-KMS (or DSSE-KMS) on every S3 image is not an option: it is always
/// required. A policy starts by saying which KMS keys will do, either an
/// allowlist ([`allow_kms_key`](Self::allow_kms_key), then
/// [`with_kms_key`](Self::with_kms_key) for more) or, as a visibly named
/// choice, [`any_kms_key`](Self::any_kms_key) (an AWS managed key
/// included). Everything else has a default that keeps the guarantees:
/// versioning required, threshold 99, quality filter `AUTO`, no expected
/// bucket owner. Each setting is set with `with_…` and read back with the
/// same name:
///
/// ```
/// use rekognition_guard::{AccountId, KmsKeyArn, Policy, QualityFilter, SimilarityThreshold};
///
/// let key = KmsKeyArn::parse("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")?;
/// let policy = Policy::allow_kms_key(key.clone())
///     .with_expected_bucket_owner(AccountId::parse("111122223333")?)
///     .with_similarity_threshold(SimilarityThreshold::new(99.5)?)
///     .with_quality_filter(QualityFilter::High);
/// assert_eq!(policy.kms_keys(), Some(&[key][..]));
/// assert!(policy.versioning_required());
/// assert_eq!(policy.similarity_threshold().get(), 99.5);
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Policy {
    /// `None`: any SSE-KMS key; else a non-empty allowlist.
    kms_keys: Option<Vec<KmsKeyArn>>,
    expected_bucket_owner: Option<AccountId>,
    versioning_required: bool,
    similarity_threshold: SimilarityThreshold,
    quality_filter: QualityFilter,
}

impl Policy {
    fn with_keys(kms_keys: Option<Vec<KmsKeyArn>>) -> Self {
        Self {
            kms_keys,
            expected_bucket_owner: None,
            versioning_required: true,
            similarity_threshold: SimilarityThreshold::default(),
            quality_filter: QualityFilter::default(),
        }
    }

    /// A policy that allows objects encrypted under `key` only (add more
    /// with [`with_kms_key`](Self::with_kms_key)). New reference photos and
    /// Face Liveness sessions are encrypted under the first key.
    pub fn allow_kms_key(key: KmsKeyArn) -> Self {
        Self::with_keys(Some(vec![key]))
    }

    /// A policy that allows **any** SSE-KMS key, an AWS managed key
    /// (`aws/s3`) included: whoever can use the key can read the photos.
    /// New reference photos and Face Liveness images get the bucket's
    /// default encryption (read back and refused unless SSE-KMS). Prefer an allowlist ([`allow_kms_key`](Self::allow_kms_key))
    /// of customer managed keys.
    pub fn any_kms_key() -> Self {
        Self::with_keys(None)
    }

    /// Adds `key` to the allowlist. On a policy of
    /// [`any_kms_key`](Self::any_kms_key) it starts one: only the keys
    /// added are then allowed (a narrowing, never a loosening).
    pub fn with_kms_key(mut self, key: KmsKeyArn) -> Self {
        let keys = self.kms_keys.get_or_insert_with(Vec::new);
        if !keys.contains(&key) {
            keys.push(key);
        }
        self
    }

    /// Requires every bucket to belong to `account` (sent to S3 as
    /// `ExpectedBucketOwner`; S3 answers 403 for another owner).
    pub fn with_expected_bucket_owner(mut self, account: AccountId) -> Self {
        self.expected_bucket_owner = Some(account);
        self
    }

    /// Whether objects must have a version id (default: `true`). Without
    /// versioning the object can be replaced between the check and the
    /// comparison; with it, the comparison is pinned to the version the
    /// check saw.
    pub fn with_versioning_required(mut self, required: bool) -> Self {
        self.versioning_required = required;
        self
    }

    /// The similarity a match needs (default 99).
    pub fn with_similarity_threshold(mut self, threshold: SimilarityThreshold) -> Self {
        self.similarity_threshold = threshold;
        self
    }

    /// Rekognition's quality filter for CompareFaces (default `AUTO`).
    pub fn with_quality_filter(mut self, filter: QualityFilter) -> Self {
        self.quality_filter = filter;
        self
    }

    /// The KMS key allowlist; `None` for [`any_kms_key`](Self::any_kms_key).
    pub fn kms_keys(&self) -> Option<&[KmsKeyArn]> {
        self.kms_keys.as_deref()
    }

    /// Whether the policy allows `key` (a key ARN as S3 reports it): any
    /// key for [`any_kms_key`](Self::any_kms_key), else exactly a listed
    /// ARN. Key ids and aliases never match an ARN.
    pub(crate) fn allows_kms_key(&self, key: &str) -> bool {
        match &self.kms_keys {
            None => true,
            Some(keys) => keys.iter().any(|a| a.as_str() == key),
        }
    }

    /// The key new objects are encrypted under: the first of the
    /// allowlist; `None` (the bucket's default) for any key.
    pub(crate) fn key_for_new_objects(&self) -> Option<&KmsKeyArn> {
        self.kms_keys.as_deref().and_then(<[_]>::first)
    }

    /// The expected bucket owner, if set.
    pub fn expected_bucket_owner(&self) -> Option<&AccountId> {
        self.expected_bucket_owner.as_ref()
    }

    /// Whether objects must have a version id.
    pub fn versioning_required(&self) -> bool {
        self.versioning_required
    }

    /// The similarity a match needs.
    pub fn similarity_threshold(&self) -> SimilarityThreshold {
        self.similarity_threshold
    }

    /// Rekognition's quality filter for CompareFaces.
    pub fn quality_filter(&self) -> QualityFilter {
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
        let p = Policy::any_kms_key();
        assert!(p.kms_keys().is_none());
        assert!(p.expected_bucket_owner().is_none());
        assert!(p.versioning_required());
        assert_eq!(p.quality_filter(), QualityFilter::Auto);
        for sse in [
            SseAlgorithm::Aes256,
            SseAlgorithm::AwsKms,
            SseAlgorithm::AwsKmsDsse,
        ] {
            assert_eq!(SseAlgorithm::from_header(sse.as_header()), sse);
        }
    }
}
