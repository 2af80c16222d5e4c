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
//!
//! None of them ever carries image bytes or credentials; messages name the
//! bucket, key, KMS key or permission to fix.

use std::fmt;

use crate::input::{AccountId, S3ObjectRef, Service};
use crate::policy::SseAlgorithm;
use crate::text::{escape, Quoted};
use crate::transit::InsecureEndpoint;

/// A boxed error, as kept in source chains.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    /// ([`text::is_log_unsafe`](crate::text::is_log_unsafe)).
    #[error("invalid S3 object key ({len} bytes): keys are 1 to 1024 bytes of UTF-8 without control, line-separator or invisible formatting characters (such as bidirectional overrides)")]
    InvalidKey {
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
    /// Some other invalid setting.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The policy refused the comparison; nothing was sent to Rekognition.
///
/// Holds every requirement that failed, not only the first, so one run tells
/// an operator everything to fix. `Display` is one line (safe for logs):
/// `comparison refused by privacy policy (2 requirements failed; …): 1) …; 2) …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    violations: Vec<Violation>,
}

impl Refusal {
    /// Builds a refusal. Returns `None` when `violations` is empty: a refusal
    /// always names at least one reason.
    pub(crate) fn new(violations: Vec<Violation>) -> Option<Self> {
        (!violations.is_empty()).then_some(Self { violations })
    }

    /// Every requirement that failed, in a stable order (endpoints, opt-out,
    /// source image, target image).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.violations.len();
        write!(
            f,
            "comparison refused by privacy policy ({n} requirement{} failed; nothing was sent to Rekognition):",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, v) in self.violations.iter().enumerate() {
            write!(f, " {}) {v}", i + 1)?;
            if i + 1 < n {
                f.write_str(";")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// One privacy requirement that was not met.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// An endpoint is not HTTPS (or carries user information, a query or a
    /// fragment). The guard did not call it.
    #[error(transparent)]
    InsecureEndpoint(InsecureEndpoint),
    /// The object is not encrypted with SSE-KMS (or DSSE-KMS).
    #[error("{object} is {found}, not SSE-KMS; re-encrypt it with SSE-KMS (e.g. copy it onto itself with --sse aws:kms) and set the bucket's default encryption to SSE-KMS")]
    NotKmsEncrypted {
        /// The object.
        object: S3ObjectRef,
        /// What S3 reported.
        found: SseAlgorithm,
    },
    /// The object uses customer-provided keys (SSE-C), which Rekognition
    /// cannot read and which is not SSE-KMS.
    #[error("{object} is encrypted with a customer-provided key (SSE-C, {}); store it with SSE-KMS instead", Quoted(.algorithm))]
    CustomerProvidedKey {
        /// The object.
        object: S3ObjectRef,
        /// The SSE-C algorithm S3 reported.
        algorithm: String,
    },
    /// S3 reported SSE-KMS but no KMS key id, so the key cannot be checked.
    #[error(
        "{object} reports SSE-KMS but S3 sent no KMS key id; cannot tell which key protects it"
    )]
    KmsKeyUnknown {
        /// The object.
        object: S3ObjectRef,
    },
    /// S3 reported a value this crate cannot use safely (control characters
    /// or other text S3 never sends in that field).
    #[error("{object}: S3 reported an unusable {field}; refusing rather than guessing")]
    UnusableMetadata {
        /// The object.
        object: S3ObjectRef,
        /// Which field (`version id`, `KMS key id`).
        field: &'static str,
    },
    /// The object's KMS key is not on the allowlist.
    #[error("{object} is encrypted with KMS key {kms_key}, which is not on the allowlist ({allowed}); re-encrypt it with an allowed key or add this key ARN to the policy")]
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
    #[error("{object} names no immutable version (no version id, or S3's null version, which a later upload replaces in place: bucket versioning is off or suspended); enable versioning on bucket {bucket} and upload the object again, so the checked version can be pinned", bucket = object.bucket())]
    VersionRequired {
        /// The object.
        object: S3ObjectRef,
    },
    /// S3 reported another version than the one requested.
    #[error("{object}: requested version {requested} but S3 reported version {reported}")]
    VersionMismatch {
        /// The object.
        object: S3ObjectRef,
        /// The version the reference named.
        requested: String,
        /// The version S3 reported.
        reported: String,
    },
    /// The object is larger than Rekognition reads from S3, or S3 did not
    /// report a size.
    #[error("{object} is {} bytes; Rekognition reads images of at most {limit} bytes from S3", size.map_or_else(|| "of unknown size".to_string(), |s| s.to_string()))]
    ObjectTooLarge {
        /// The object.
        object: S3ObjectRef,
        /// The size S3 reported, if any.
        size: Option<u64>,
        /// The limit in bytes.
        limit: u64,
    },
    /// The opt-out evidence is about another account than the one whose
    /// credentials call Rekognition.
    #[error("the AI services opt-out was verified for account {evidence_account}, but Rekognition is called with credentials of account {rekognition_account}; verify the opt-out for the account that calls Rekognition (build the verifier from the same credentials, or set OrganizationsVerifierBuilder::target_account to {rekognition_account})")]
    OptOutForAnotherAccount {
        /// The account the opt-out evidence is about.
        evidence_account: AccountId,
        /// The account whose credentials call Rekognition.
        rekognition_account: AccountId,
    },
    /// The opt-out verifier found the account not opted out (or could not
    /// prove it).
    #[error("AI services opt-out not in effect for Rekognition: {}", escape(.reason))]
    OptOutNotInEffect {
        /// What the verifier found and how to fix it.
        reason: String,
    },
}

/// What went wrong in a backend, coarsely, so callers can react without
/// parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The caller lacks a permission (S3 403, Rekognition AccessDenied).
    AccessDenied,
    /// The object, version or bucket does not exist.
    NotFound,
    /// The service rejected the request as invalid.
    InvalidRequest,
    /// Rekognition could not read an S3 object (permission, KMS, region).
    InvalidS3Object,
    /// The image is larger than the service accepts.
    ImageTooLarge,
    /// The service did not recognise the image format.
    InvalidImageFormat,
    /// Too many requests; retry later.
    Throttled,
    /// The service failed (5xx).
    ServiceUnavailable,
    /// A call timed out.
    Timeout,
    /// The connection failed: refused, reset, a TLS error, or an answer
    /// that is not HTTP.
    Transport,
    /// The service answered something this crate cannot trust (similarity
    /// out of range, missing fields, …).
    InvalidResponse,
    /// The request was refused before transmit because its endpoint is not
    /// HTTPS ([`BackendError::insecure_endpoint`]); nothing was sent. The
    /// guard reports it as [`Violation::InsecureEndpoint`].
    InsecureEndpoint,
    /// Anything else.
    Other,
}

/// A failure in S3, Rekognition or the opt-out verifier.
///
/// The message says what to fix; the original SDK error, if any, is kept as
/// [`source`](std::error::Error::source) and not repeated in `Display`.
/// Log-unsafe characters in messages are escaped ([`text`](crate::text))
/// when the error is made, so text a backend quotes from a service cannot
/// forge a log line.
#[derive(Debug)]
pub struct BackendError {
    kind: BackendErrorKind,
    service: Service,
    operation: &'static str,
    message: String,
    retryable: bool,
    insecure: Option<InsecureEndpoint>,
    source: Option<BoxError>,
}

impl BackendError {
    /// A backend error of `kind` in `service`'s `operation`, with a message
    /// that says what to fix. It is retryable by default exactly for
    /// [`Throttled`](BackendErrorKind::Throttled),
    /// [`ServiceUnavailable`](BackendErrorKind::ServiceUnavailable),
    /// [`Timeout`](BackendErrorKind::Timeout) and
    /// [`Transport`](BackendErrorKind::Transport).
    pub fn new(
        kind: BackendErrorKind,
        service: Service,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let retryable = matches!(
            kind,
            BackendErrorKind::Throttled
                | BackendErrorKind::ServiceUnavailable
                | BackendErrorKind::Timeout
                | BackendErrorKind::Transport
        );
        Self {
            kind,
            service,
            operation,
            message: crate::text::neutralize(message.into()),
            retryable,
            insecure: None,
            source: None,
        }
    }

    /// A request of `operation` refused before transmit because its
    /// endpoint is insecure. The guard turns it into
    /// [`Violation::InsecureEndpoint`].
    pub fn refused_endpoint(operation: &'static str, refusal: InsecureEndpoint) -> Self {
        let mut e = Self::new(
            BackendErrorKind::InsecureEndpoint,
            refusal.service(),
            operation,
            format!("refused before transmit: {refusal}"),
        );
        e.insecure = Some(refusal);
        e
    }

    /// For [`BackendErrorKind::InsecureEndpoint`]: the refused endpoint and
    /// why.
    pub fn insecure_endpoint(&self) -> Option<&InsecureEndpoint> {
        self.insecure.as_ref()
    }

    /// Keeps `source` as the cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Overrides whether the error is retryable.
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// Which service failed.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Which operation failed (`HeadObject`, `CompareFaces`, …).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The message, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed: {}",
            self.service, self.operation, self.message
        )?;
        if self.retryable {
            f.write_str(" (retryable)")?;
        }
        Ok(())
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
