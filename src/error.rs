//! Error types.
//!
//! Every fallible call of this crate returns [`Error`]. Its variants keep four
//! kinds of "no" apart, because each one needs a different fix:
//!
//! | variant | meaning | sent to Rekognition? |
//! |---|---|---|
//! | [`Error::Input`] | the caller passed something malformed (a bad `s3://` reference, a GIF, a threshold of 120) | no |
//! | [`Error::Config`] | the guard was set up wrongly (no opt-out evidence, …) | no |
//! | [`Error::Refused`] | the privacy policy said no; [`Refusal`] lists **every** requirement that failed | no |
//! | [`Error::Backend`] | S3, Rekognition or the opt-out verifier failed or answered something unusable | maybe (see [`BackendError::service`]) |
//! | [`Error::Inventory`] | an S3 Inventory report is unusable (checksum, columns, format) | no |
//!
//! None of them ever carries image bytes or credentials; messages name the
//! bucket, key, KMS key or permission to fix.

pub use crate::backend::{BackendError, BackendErrorKind, BoxError};
pub use crate::input::InputError;
use crate::input::Service;
use crate::quality::FaceAssessment;
pub use crate::refusal::{Refusal, Violation};
use crate::transit::InsecureEndpoint;

/// The one error type of this crate.
///
/// Every variant means "no approval": there is no error after which a
/// comparison went ahead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was malformed. Nothing was sent anywhere.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The guard was configured in a way that cannot be safe.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The privacy policy refused the comparison. Nothing was sent to
    /// Rekognition.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A backend (S3, Rekognition, the opt-out verifier) failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The enrollment quality gate rejected the photo: it was not stored.
    /// The assessment names every issue ([`FaceAssessment::issues`]).
    #[error(transparent)]
    PhotoRejected(FaceAssessment),
    /// An S3 Inventory report could not be read as S3 wrote it (a checksum
    /// mismatch, a missing column, a format other than CSV): no verdict
    /// was given.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
}

impl Error {
    /// The policy refusal, if this error is one.
    pub fn as_refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed (throttling, a 5xx,
    /// a timeout). Policy refusals, input and configuration errors are never
    /// retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Backend(b) if b.is_retryable())
    }
}

/// The guard was set up in a way that cannot be safe. These are the caller's
/// mistakes, never caused by data from S3 or Rekognition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No opt-out evidence was given when building the guard.
    #[error("no AI services opt-out evidence was given: call GuardBuilder::opt_out with OptOutEvidence::verified_by (AWS Organizations AI services opt-out policy), OptOutEvidence::attested (e.g. the AWS Support case id of your opt-out) or OptOutEvidence::waived (an explicit, audited waiver)")]
    MissingOptOutEvidence,
    /// A configured endpoint is not HTTPS, or carries user information, a
    /// query or a fragment.
    #[error(transparent)]
    InsecureEndpoint(InsecureEndpoint),
    /// A client has no AWS region. Requests are signed for a region and
    /// S3 and Rekognition endpoints are regional, so every call would fail;
    /// an endpoint URL does not replace it.
    #[error("no AWS region for the {service} client: set AWS_REGION or the profile's region, or the region of the SdkConfig (aws_config::ConfigLoader::region) or of the client handed in; an endpoint URL does not replace it, as requests are signed for a region")]
    MissingRegion {
        /// The client without a region.
        service: Service,
    },
    /// A client's region is not a region name, so no endpoint can be
    /// made from it.
    #[error("the {service} client's region {} is not a region name (letters, digits and hyphens, such as eu-west-1): set AWS_REGION or the profile's region, or the region of the SdkConfig or of the client handed in", crate::text::Quoted(.region))]
    InvalidRegion {
        /// The client with the region.
        service: Service,
        /// The region it has.
        region: String,
    },
    /// Some other invalid setting.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}
