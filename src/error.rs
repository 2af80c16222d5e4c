pub(crate) use crate::backend::{BackendError, BackendErrorKind};
pub(crate) use crate::input::InputError;
pub(crate) use crate::input::Service;
pub(crate) use crate::quality::FaceAssessment;
pub(crate) use crate::refusal::{Refusal, Violation};
use crate::transit::InsecureEndpoint;

/// The one error type of this crate: every fallible call returns it.
///
/// Its variants (and [`ErrorKind`]) keep the kinds of "no" apart, because each one needs a
/// different fix:
///
/// | variant | meaning | sent to Rekognition? |
/// |---|---|---|
/// | [`Error::Input`] | the caller passed something malformed (a bad `s3://` reference, a GIF, a threshold of 120) | no |
/// | [`Error::Config`] | the setup cannot be safe (a plain-HTTP endpoint, no region, …) | no |
/// | [`Error::Refused`] | the privacy policy said no; [`Refusal`] lists **every** requirement that failed | no |
/// | [`Error::Backend`] | S3, Rekognition or the opt-out verifier failed or answered something unusable | maybe (see [`BackendError::service`]) |
/// | [`Error::Inventory`] | an S3 Inventory report is unusable (checksum, columns, format) | no |
/// | [`Error::PhotoRejected`] | the enrollment quality gate rejected the photo (nothing stored) | yes (DetectFaces) |
///
/// None of them ever carries image bytes or credentials; messages name the
/// bucket, key, KMS key or permission to fix.
///
/// Every variant means "no approval": there is no error after which a
/// comparison went ahead. Match on [`kind`](Self::kind) (or the variants),
/// read a refusal's violations as data with
/// [`violations`](Self::violations), and ask
/// [`is_retryable`](Self::is_retryable) before retrying. A backend
/// failure keeps its cause: [`source`](std::error::Error::source) is the
/// SDK's error (or the I/O error, or the HTTPS-only refusal).
///
/// ```
/// use rekognition_guard::{Error, ErrorKind, Violation};
///
/// fn explain(e: &Error) -> String {
///     match e.kind() {
///         ErrorKind::Refused => e
///             .violations()
///             .iter()
///             .map(|v| match v {
///                 Violation::AtRest(v) => format!("fix the object: {v}"),
///                 other => other.to_string(),
///             })
///             .collect::<Vec<_>>()
///             .join("; "),
///         ErrorKind::Backend if e.is_retryable() => "try again later".to_owned(),
///         _ => e.to_string(),
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was malformed. Nothing was sent anywhere.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The configuration cannot be safe (or is incomplete). Nothing was
    /// sent.
    #[error("{0}")]
    Config(ConfigError),
    /// The privacy policy refused the operation; [`Refusal`] lists
    /// **every** requirement that failed. Nothing was sent to Rekognition.
    #[error("{0}")]
    Refused(Refusal),
    /// A backend (S3, Rekognition, the opt-out verifier) failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The enrollment quality gate rejected the photo: it was not stored.
    /// The assessment names every issue ([`FaceAssessment::issues`]).
    #[error("{0}")]
    PhotoRejected(FaceAssessment),
    /// An S3 Inventory report could not be read as S3 wrote it (a checksum
    /// mismatch, a missing column, a format other than CSV): no verdict
    /// was given.
    #[error("{0}")]
    Inventory(crate::inventory::InventoryError),
}

/// What kind of "no" an [`Error`] is: each needs a different fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed input (a bad `s3://` reference, a GIF, a threshold of
    /// 120): fix the call.
    Input,
    /// An unsafe or incomplete configuration: fix the setup.
    Config,
    /// The privacy policy said no: fix what [`Error::violations`] names.
    Refused,
    /// S3, Rekognition or the opt-out verifier failed or answered
    /// something unusable; see [`Error::is_retryable`].
    Backend,
    /// The quality gate rejected an enrollment photo: take another.
    PhotoRejected,
    /// An S3 Inventory report is unusable: wait for the next delivery or
    /// fix the inventory configuration.
    Inventory,
}

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Input(_) => ErrorKind::Input,
            Error::Config(_) => ErrorKind::Config,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Backend(_) => ErrorKind::Backend,
            Error::PhotoRejected(_) => ErrorKind::PhotoRejected,
            Error::Inventory(_) => ErrorKind::Inventory,
        }
    }

    /// Every privacy requirement that failed, as data (which requirement,
    /// which object or endpoint; each violation's `Display` says how to
    /// fix it), in a stable order; empty unless this is a refusal.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Error::Refused(r) => &r.violations,
            _ => &[],
        }
    }

    /// The policy refusal (its operation and violations), if this error
    /// is one.
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

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refused(r)
    }
}

impl From<crate::inventory::InventoryError> for Error {
    fn from(e: crate::inventory::InventoryError) -> Self {
        Error::Inventory(e)
    }
}

/// The guard was set up in a way that cannot be safe. These are the caller's
/// mistakes, never caused by data from S3 or Rekognition.
#[derive(Debug, Clone, PartialEq, derive_more::Display)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configured endpoint is not HTTPS, or carries user information, a
    /// query or a fragment.
    #[display("{_0}")]
    InsecureEndpoint(InsecureEndpoint),
    /// A client has no AWS region. Requests are signed for a region and
    /// S3 and Rekognition endpoints are regional, so every call would fail;
    /// an endpoint URL does not replace it.
    #[display("no AWS region for the {service} client: set AWS_REGION or the profile's region, or the region of the SdkConfig (aws_config::ConfigLoader::region) or of the client handed in; an endpoint URL does not replace it, as requests are signed for a region")]
    MissingRegion {
        /// The client without a region.
        service: Service,
    },
    /// A client's region is not a region name, so no endpoint can be
    /// made from it.
    #[display("the {service} client's region {} is not a region name (letters, digits and hyphens, such as eu-west-1): set AWS_REGION or the profile's region, or the region of the SdkConfig or of the client handed in", crate::text::Quoted(region))]
    InvalidRegion {
        /// The client with the region.
        service: Service,
        /// The region it has.
        region: String,
    },
    /// Some other invalid setting.
    #[display("invalid configuration: {_0}")]
    Invalid(String),
}
