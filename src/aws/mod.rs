//! The guard's backends on the official AWS SDK: S3 `HeadObject` for the
//! encryption check, Rekognition `CompareFaces` for the comparison.
//!
//! ## Setup
//!
//! ```no_run
//! use rekognition_guard::{aws::AwsBackend, Guard, OptOutEvidence, PhotoStore, Policy};
//!
//! # async fn setup() -> Result<(), Box<dyn std::error::Error>> {
//! let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let aws = AwsBackend::from_sdk_config(&sdk_config)?;
//! let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
//! let guard = Guard::new(store, aws, OptOutEvidence::attested("AWS Support case 1234567890")?);
//! # let _ = guard;
//! # Ok(())
//! # }
//! ```
//!
//! ## HTTPS, whatever sets the endpoint
//!
//! Every client the backend uses carries the [`HttpsOnly`](crate::transit::HttpsOnly) interceptor,
//! including clients you hand in (they are rebuilt with it; there is no way
//! to pass an unguarded client). It refuses any request whose final URI is
//! not `https://` before a byte is sent, whether the endpoint came from
//! code, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL_REKOGNITION`, a profile, or a custom endpoint
//! resolver, and the guard reports it as
//! [`Violation::InsecureEndpoint`](crate::Violation::InsecureEndpoint).
//! A configured `endpoint_url` that is not HTTPS already fails
//! [`build`](AwsBackendBuilder::build) with
//! [`ConfigError::InsecureEndpoint`].
//!
//! ## Refusals and how to fix them
//!
//! | refusal or error | fix |
//! |---|---|
//! | `NotKmsEncrypted` (SSE-S3, none, unknown) | Copy the object onto itself with `--sse aws:kms` (and `--sse-kms-key-id`), and set the bucket's default encryption to SSE-KMS. |
//! | `KmsKeyNotAllowed` | Re-encrypt with an allowed key, or add the key ARN to the policy ([`Policy::with_kms_key`](crate::Policy::with_kms_key)). |
//! | `VersionRequired` | Enable versioning on the bucket and upload the image again. |
//! | `InsecureEndpoint` | Use an `https://` endpoint in code, `AWS_ENDPOINT_URL*` and profiles. |
//! | `ObjectTooLarge` | Rekognition reads at most 15 MiB from S3; resize the image. |
//! | HeadObject 403 | Grant `s3:GetObject` (`s3:GetObjectVersion` for versions); a missing object also gives 403 without `s3:ListBucket`; check `ExpectedBucketOwner`. |
//! | HeadObject 400 | S3 answers 400 for a malformed version id, the wrong region (the message names both regions when S3 sends `x-amz-bucket-region`) and an SSE-C object, without saying which; check each. |
//! | CompareFaces `InvalidS3Object` | Grant `kms:Decrypt` on the object's key and S3 read to the caller, and keep the bucket in Rekognition's region. |
//! | Throttling, 5xx, timeouts | Retryable ([`Error::is_retryable`](crate::Error::is_retryable)); the SDK already retried in standard mode. |
//! | `Transport` (refused, reset, TLS handshake error, an answer that is not HTTP) | Check the endpoint URL and network reachability. Retryable. |
//! | `CertificateNotTrusted` | The endpoint's certificate is not trusted (the message names why: unknown issuer, wrong host name, expired). A private CA (an emulator, a proxy) goes to [`AwsBackendBuilder::ca_bundle_pem`] or `AWS_CA_BUNDLE`. Not retryable. |
//! | `Configuration` | The SDK failed before sending (no region, an endpoint it cannot resolve, no credentials); the message quotes its reason. Not retryable. |
//! | `ConfigError::MissingRegion` | Set `AWS_REGION`, the profile's region, or the region of the `SdkConfig` or client. |
//! | An error naming `LOG_SIGNABLE_BODY` | Unset it: with `LOG_SIGNABLE_BODY=true` the SDK prints request bodies, face images included, in its TRACE logs, so the backend neither builds nor sends image bytes. |
//!
//! ## Enrollment, opt-out verification, bucket audit
//!
//! [`Guard::enroll`](crate::Guard::enroll) stores reference photos with PutObject (SSE-KMS under
//! the policy's first allowed key) and checks them back.
//! `OrganizationsOptOutVerifier` (feature `organizations`) verifies the AI
//! services opt-out. Its bucket audit
//! ([`PhotoStore::audit_bucket`](crate::PhotoStore::audit_bucket)) reports whether a
//! bucket's configuration keeps future photos compliant.
//!
//! ## Private endpoints
//!
//! [`AwsBackendBuilder::endpoint_url`] points both services at one endpoint
//! (S3 then uses path-style addressing) and
//! [`AwsBackendBuilder::ca_bundle_pem`] adds a trusted CA, for example for a
//! local emulator with a throwaway CA. A custom CA replaces the SDK's HTTP
//! client with a rustls client (aws-lc) that does not use proxies.

mod audit;
mod bucket_policy;
mod client;
mod collection;
mod erasure;
mod errors;
mod inventory;
mod ledger;
#[cfg(feature = "organizations")]
mod organizations;
pub(crate) mod rekognition;
mod s3;
#[cfg(feature = "organizations")]
mod sts;
mod witness;

use std::fmt;

use async_trait::async_trait;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;

#[cfg(feature = "organizations")]
#[cfg_attr(docsrs, doc(cfg(feature = "organizations")))]
pub use organizations::{OrganizationsOptOutVerifier, OrganizationsVerifierBuilder};

use crate::at_rest::ObjectFacts;
use crate::backend::{
    CompareFacesRequest, ComparisonFacts, CreateFaceLivenessSessionRequest,
    DeleteObjectVersionRequest, DetectFacesRequest, GetBucketVersioningRequest,
    GetFaceLivenessSessionResultsRequest, GetObjectRequest, HeadObjectRequest,
    ListObjectVersionsRequest, ObjectLockFacts, PutObjectReceipt, PutObjectRequest,
    PutRecordRequest, ReencryptRequest, RekognitionBackend, S3Backend, StoredVersion,
    VersioningFacts,
};
use crate::error::{BackendError, ConfigError};
use crate::input::{AccountId, Service};
use crate::liveness::{LivenessFacts, LivenessSessionId};
use crate::posture::BucketAudit;
use crate::quality::FaceDetail;
use crate::transit::redact;

/// The AWS SDK (aws-sigv4) prints whole request bodies in its TRACE logs
/// when this environment variable is `true`, and CompareFaces and PutObject
/// bodies can hold face image bytes.
const LOG_SIGNABLE_BODY: &str = "LOG_SIGNABLE_BODY";

const BODY_LOGGING_FIX: &str = "LOG_SIGNABLE_BODY=true makes the AWS SDK print request bodies, face images included, in its TRACE logs; unset LOG_SIGNABLE_BODY";

/// Whether the SDK would print request bodies (read as the SDK reads it,
/// at every log line, so it is checked again before each body is sent).
fn sdk_logs_bodies() -> bool {
    std::env::var_os(LOG_SIGNABLE_BODY)
        .is_some_and(|v| v.to_str().is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

/// Refuses to send image bytes while the SDK would log them.
pub(crate) fn refuse_if_bodies_logged(
    service: Service,
    operation: &'static str,
) -> Result<(), BackendError> {
    if sdk_logs_bodies() {
        return Err(BackendError::new(
            crate::error::BackendErrorKind::Other,
            service,
            operation,
            BODY_LOGGING_FIX,
        ));
    }
    Ok(())
}

/// S3 and Rekognition clients, each guarded by [`HttpsOnly`](crate::transit::HttpsOnly), as the
/// guard's [`S3Backend`] and [`RekognitionBackend`]. Cheap to clone.
#[derive(Clone)]
pub struct AwsBackend {
    s3: aws_sdk_s3::Client,
    rekognition: aws_sdk_rekognition::Client,
    s3_endpoint: String,
    rekognition_endpoint: String,
    /// The Rekognition client's region, as configured (it signs every
    /// request).
    rekognition_region: Option<String>,
    /// STS with the Rekognition client's credentials; `None` when they
    /// cannot be known (a handed-in Rekognition client and no STS client).
    #[cfg(feature = "organizations")]
    caller: Option<std::sync::Arc<sts::CallerAccount>>,
}

impl fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsBackend")
            .field("s3_endpoint", &redact(&self.s3_endpoint))
            .field("rekognition_endpoint", &redact(&self.rekognition_endpoint))
            .finish_non_exhaustive()
    }
}

impl AwsBackend {
    /// Both clients from one `SdkConfig` (region, credentials, endpoints,
    /// retries and timeouts as loaded by `aws_config`). A CA bundle named
    /// by `AWS_CA_BUNDLE` or the profile's `ca_bundle` is trusted, and only
    /// it, as by the AWS CLI (see [`AwsBackendBuilder::build`]).
    ///
    /// # Errors
    /// As [`AwsBackendBuilder::build`]: [`Error::Config`](crate::Error::Config)
    /// with [`ConfigError::InsecureEndpoint`] when the config's endpoint
    /// URL for S3 or Rekognition is not HTTPS, [`ConfigError::MissingRegion`]
    /// without a region.
    pub fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, crate::Error> {
        Self::builder().sdk_config(sdk_config).build()
    }

    /// A builder for custom endpoints, CA bundles or existing clients.
    pub fn builder() -> AwsBackendBuilder {
        AwsBackendBuilder::default()
    }

    /// The S3 client (with [`HttpsOnly`](crate::transit::HttpsOnly)), for
    /// S3 work outside the guard, such as creating a bucket or writing a
    /// Batch Operations manifest. Calls made with it are not checked
    /// against the [`Policy`](crate::Policy): store photos with
    /// [`PhotoStore::store_reference`](crate::PhotoStore::store_reference).
    ///
    /// There is no such accessor for the Rekognition client: every image
    /// that reaches Rekognition goes through the guard.
    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }
}

#[async_trait]
impl S3Backend for AwsBackend {
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        s3::inspect(&self.s3, request).await
    }

    async fn get_bucket_versioning(
        &self,
        request: &GetBucketVersioningRequest,
    ) -> Result<VersioningFacts, BackendError> {
        s3::bucket_versioning(&self.s3, request).await
    }

    async fn put_object(
        &self,
        request: PutObjectRequest,
    ) -> Result<PutObjectReceipt, BackendError> {
        s3::upload(&self.s3, request).await
    }

    async fn get_object(
        &self,
        request: &GetObjectRequest,
    ) -> Result<aws_smithy_types::byte_stream::ByteStream, BackendError> {
        inventory::get_object(&self.s3, request).await
    }

    async fn list_object_versions(
        &self,
        request: &ListObjectVersionsRequest,
    ) -> Result<Vec<StoredVersion>, BackendError> {
        erasure::list_object_versions(&self.s3, request).await
    }

    async fn delete_object_version(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<(), BackendError> {
        erasure::delete_object_version(&self.s3, request).await
    }

    async fn object_lock(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<ObjectLockFacts, BackendError> {
        erasure::object_lock(&self.s3, request).await
    }

    async fn update_object_encryption(
        &self,
        request: &ReencryptRequest,
    ) -> Result<(), BackendError> {
        inventory::update_object_encryption(&self.s3, request).await
    }

    async fn copy_object(
        &self,
        request: &ReencryptRequest,
    ) -> Result<Option<String>, BackendError> {
        inventory::copy_object(&self.s3, request).await
    }

    async fn put_record(
        &self,
        request: PutRecordRequest,
    ) -> Result<crate::backend::PutRecordReceipt, BackendError> {
        ledger::put_record(&self.s3, request).await
    }

    /// Default encryption, versioning, the bucket policy, Block Public
    /// Access and S3 Inventory, read concurrently; a configuration that
    /// cannot be read for lack of permission is a `high` finding
    /// (`unverifiable-…`), never a pass.
    async fn audit_bucket(
        &self,
        bucket: &str,
        policy: &crate::policy::Policy,
    ) -> Result<BucketAudit, BackendError> {
        audit::audit_bucket_for_guard(self, bucket, policy).await
    }
}

/// Rekognition collections with the backend's Rekognition client (IAM:
/// `rekognition:IndexFaces`, `SearchUsersByImage`, `CreateUser`,
/// `AssociateFaces`, `ListFaces`, `DeleteUser`, `DeleteFaces` on the
/// collection's ARN).
#[async_trait]
impl crate::collection::CollectionBackend for AwsBackend {
    async fn index_faces(
        &self,
        request: crate::collection::IndexFacesRequest,
    ) -> Result<crate::collection::IndexedFaces, BackendError> {
        collection::index_faces(&self.rekognition, request).await
    }
    async fn search_users_by_image(
        &self,
        request: crate::collection::SearchUsersRequest,
    ) -> Result<crate::collection::UserSearch, BackendError> {
        collection::search_users_by_image(&self.rekognition, request).await
    }
    async fn create_user(
        &self,
        request: &crate::collection::UserRequest,
    ) -> Result<(), BackendError> {
        collection::create_user(&self.rekognition, request).await
    }
    async fn associate_faces(
        &self,
        request: &crate::collection::AssociateFacesRequest,
    ) -> Result<crate::collection::FaceAssociations, BackendError> {
        collection::associate_faces(&self.rekognition, request).await
    }
    async fn list_faces(
        &self,
        request: &crate::collection::ListFacesRequest,
    ) -> Result<Vec<crate::collection::StoredFace>, BackendError> {
        collection::list_faces(&self.rekognition, request).await
    }
    async fn delete_user(
        &self,
        request: &crate::collection::UserRequest,
    ) -> Result<(), BackendError> {
        collection::delete_user(&self.rekognition, request).await
    }
    async fn delete_faces(
        &self,
        request: &crate::collection::DeleteFacesRequest,
    ) -> Result<crate::collection::FaceDeletions, BackendError> {
        collection::delete_faces(&self.rekognition, request).await
    }
}

#[async_trait]
impl RekognitionBackend for AwsBackend {
    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        rekognition::compare(&self.rekognition, request).await
    }

    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError> {
        rekognition::detect_faces(&self.rekognition, request).await
    }

    async fn create_face_liveness_session(
        &self,
        request: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError> {
        rekognition::create_liveness_session(&self.rekognition, request).await
    }

    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        rekognition::liveness_session_results(&self.rekognition, request).await
    }

    /// The Rekognition client's region, when its requests are known to go
    /// to AWS in that region: a client the backend built, with no custom
    /// endpoint or one under `REGION.amazonaws.com` /
    /// `REGION.vpce.amazonaws.com`. `None` for a handed-in client (its
    /// endpoint cannot be read back) or another endpoint.
    fn region(&self) -> Option<String> {
        self.rekognition_region.clone()
    }

    /// STS `GetCallerIdentity` with the Rekognition client's credentials,
    /// remembered for five minutes. Needs the `organizations` feature.
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        #[cfg(feature = "organizations")]
        match &self.caller {
            Some(caller) => caller.account().await,
            None => Err(BackendError::new(
                crate::error::BackendErrorKind::Other,
                Service::Sts,
                "GetCallerIdentity",
                "the Rekognition client was handed in, so the backend cannot tell which account its credentials belong to: give AwsBackendBuilder::sts_client an STS client built from the same credentials, or build the backend from the SdkConfig",
            )),
        }
        #[cfg(not(feature = "organizations"))]
        {
            Err(BackendError::new(
                crate::error::BackendErrorKind::Other,
                Service::Sts,
                "GetCallerIdentity",
                "verified opt-out evidence must be bound to the account that calls Rekognition, which the AWS backend learns from STS: enable the organizations feature of rekognition-guard",
            ))
        }
    }
}

/// Builds an [`AwsBackend`]. Give it an `SdkConfig`, existing clients, or
/// both (a client wins over the config for its service).
#[derive(Default)]
#[must_use]
pub struct AwsBackendBuilder {
    sdk_config: Option<SdkConfig>,
    s3: Option<aws_sdk_s3::Client>,
    rekognition: Option<aws_sdk_rekognition::Client>,
    endpoint_url: Option<String>,
    s3_endpoint_url: Option<String>,
    rekognition_endpoint_url: Option<String>,
    #[cfg(feature = "organizations")]
    sts_endpoint_url: Option<String>,
    ca_bundle: Option<Vec<u8>>,
    native_roots: Option<bool>,
    http_client: Option<SharedHttpClient>,
    timeouts: Option<TimeoutConfig>,
    #[cfg(feature = "organizations")]
    sts: Option<aws_sdk_sts::Client>,
}

impl fmt::Debug for AwsBackendBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsBackendBuilder")
            .field("has_sdk_config", &self.sdk_config.is_some())
            .field("has_s3_client", &self.s3.is_some())
            .field("has_rekognition_client", &self.rekognition.is_some())
            .field("endpoint_url", &self.endpoint_url.as_deref().map(redact))
            .field(
                "s3_endpoint_url",
                &self.s3_endpoint_url.as_deref().map(redact),
            )
            .field(
                "rekognition_endpoint_url",
                &self.rekognition_endpoint_url.as_deref().map(redact),
            )
            .field("has_ca_bundle", &self.ca_bundle.is_some())
            .finish()
    }
}

impl AwsBackendBuilder {
    /// The config both clients are built from, unless a client is given.
    pub fn sdk_config(mut self, sdk_config: &SdkConfig) -> Self {
        self.sdk_config = Some(sdk_config.clone());
        self
    }

    /// An existing S3 client; it is rebuilt with [`HttpsOnly`](crate::transit::HttpsOnly) added.
    ///
    /// An `endpoint_url` set on the client itself is used, and refused
    /// before transmit if it is not HTTPS, but the SDK does not let it be
    /// read back: `Debug` reports the regional endpoint instead. Set it with
    /// [`endpoint_url`](Self::endpoint_url) to have it reported.
    pub fn s3_client(mut self, client: aws_sdk_s3::Client) -> Self {
        self.s3 = Some(client);
        self
    }

    /// An existing Rekognition client; it is rebuilt with [`HttpsOnly`](crate::transit::HttpsOnly)
    /// added. As for [`s3_client`](Self::s3_client), an `endpoint_url` set
    /// on the client is enforced but reported as the regional endpoint.
    pub fn rekognition_client(mut self, client: aws_sdk_rekognition::Client) -> Self {
        self.rekognition = Some(client);
        self
    }

    /// An existing STS client with the **same credentials as the
    /// Rekognition client**, for learning which account calls Rekognition
    /// (`GetCallerIdentity`; see [`RekognitionBackend::caller_account`]). It is
    /// rebuilt with [`HttpsOnly`](crate::transit::HttpsOnly) added. Without it, STS is built from the
    /// `SdkConfig` the Rekognition client is built from; a handed-in
    /// Rekognition client needs it (the SDK does not let a client's
    /// credentials be read back), else verified opt-out evidence is
    /// refused.
    #[cfg(feature = "organizations")]
    #[cfg_attr(docsrs, doc(cfg(feature = "organizations")))]
    pub fn sts_client(mut self, client: aws_sdk_sts::Client) -> Self {
        self.sts = Some(client);
        self
    }

    /// One endpoint for every service (S3, Rekognition and STS), e.g. an
    /// emulator. S3 then uses path-style addressing. Must be `https://`
    /// without user information, query or fragment. A per-service endpoint
    /// wins over it.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The S3 endpoint, e.g. an S3 interface endpoint (VPC). S3 then uses
    /// path-style addressing. Same rules as [`endpoint_url`](Self::endpoint_url).
    pub fn s3_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.s3_endpoint_url = Some(url.into());
        self
    }

    /// The Rekognition endpoint, e.g. a Rekognition interface endpoint
    /// (VPC). Same rules as [`endpoint_url`](Self::endpoint_url).
    pub fn rekognition_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.rekognition_endpoint_url = Some(url.into());
        self
    }

    /// The STS endpoint (for [`RekognitionBackend::caller_account`]). Same rules
    /// as [`endpoint_url`](Self::endpoint_url).
    #[cfg(feature = "organizations")]
    #[cfg_attr(docsrs, doc(cfg(feature = "organizations")))]
    pub fn sts_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint_url = Some(url.into());
        self
    }

    /// Trusts the CA certificates in `pem` (in addition to the system's
    /// roots, unless [`trust_native_roots(false)`](Self::trust_native_roots)).
    pub fn ca_bundle_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_bundle = Some(pem.into());
        self
    }

    /// The HTTP client for both services, e.g. one from
    /// [`https_client_trusting`] shared with other SDK clients. A CA bundle
    /// given with [`ca_bundle_pem`](Self::ca_bundle_pem) takes precedence.
    pub fn http_client(mut self, client: SharedHttpClient) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Timeouts for every call, replacing the defaults (connect 3.1 s, attempt 10 s, operation
    /// 30 s) and any
    /// timeouts of the config or clients given.
    pub fn timeouts(mut self, timeouts: TimeoutConfig) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// With a CA bundle: whether the system's root certificates are trusted
    /// too (default `true`). `false` trusts only the bundle, whichever of
    /// the two setters is called first.
    pub fn trust_native_roots(mut self, trust: bool) -> Self {
        self.native_roots = Some(trust);
        self
    }

    /// Builds both clients, each with [`HttpsOnly`](crate::transit::HttpsOnly).
    ///
    /// **TLS trust**, most specific first: [`ca_bundle_pem`](Self::ca_bundle_pem);
    /// [`http_client`](Self::http_client); an HTTP client in the
    /// `SdkConfig`; the CA bundle file named by `AWS_CA_BUNDLE`, else by
    /// the active profile's `ca_bundle` (the convention of the AWS CLI and
    /// the other AWS SDKs, which the Rust SDK does not follow), which then
    /// is the only trusted CA of the clients built from the `SdkConfig`;
    /// the SDK's default (the system's roots). Clients handed in keep
    /// their own HTTP client unless one is given in code here.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with
    /// [`ConfigError::InsecureEndpoint`] for a configured endpoint that is
    /// not HTTPS; [`ConfigError::MissingRegion`] for a client without a
    /// region (every call would fail); [`ConfigError::Invalid`] when a
    /// client has neither an `SdkConfig` nor an existing client to start
    /// from, when a CA bundle cannot be read or holds no valid PEM
    /// certificate, or when the environment variable `LOG_SIGNABLE_BODY`
    /// is `true` (the SDK would then log face images; the backend also
    /// refuses to send image bytes while it is set).
    pub fn build(self) -> Result<AwsBackend, crate::Error> {
        self.build_config().map_err(crate::Error::Config)
    }

    fn build_config(self) -> Result<AwsBackend, ConfigError> {
        if sdk_logs_bodies() {
            return Err(ConfigError::Invalid(BODY_LOGGING_FIX.into()));
        }
        let recipe = client::Recipe::new(
            self.sdk_config.clone(),
            match &self.ca_bundle {
                Some(pem) => Some(https_client_trusting(
                    pem,
                    self.native_roots.unwrap_or(true),
                )?),
                None => self.http_client.clone(),
            },
            self.timeouts.clone(),
        )?;
        let shared = self.endpoint_url.as_deref();
        let s3 = recipe.make::<aws_sdk_s3::Client>(
            self.s3.as_ref(),
            self.s3_endpoint_url.as_deref().or(shared),
            "AwsBackendBuilder::s3_client",
        )?;
        let rekognition = recipe.make::<aws_sdk_rekognition::Client>(
            self.rekognition.as_ref(),
            self.rekognition_endpoint_url.as_deref().or(shared),
            "AwsBackendBuilder::rekognition_client",
        )?;
        // STS with the Rekognition client's credentials: a handed-in STS
        // client, else one from the SdkConfig the Rekognition client is
        // built from. A handed-in Rekognition client without an STS client
        // cannot be bound (its credentials cannot be read back).
        #[cfg(feature = "organizations")]
        let caller = if self.sts.is_some() || self.rekognition.is_none() {
            let sts = recipe.make::<aws_sdk_sts::Client>(
                self.sts.as_ref(),
                self.sts_endpoint_url.as_deref().or(shared),
                "AwsBackendBuilder::sts_client",
            )?;
            Some(std::sync::Arc::new(sts::CallerAccount::new(
                sts.client,
                sts::DEFAULT_TTL,
            )))
        } else {
            None
        };
        // The region where Rekognition requests are processed, only when
        // the backend can tell: a client it built, whose endpoint is AWS's
        // own for that region (none configured, or a regional or VPC
        // endpoint of that region). A handed-in client's endpoint cannot be
        // read back, and another endpoint may process requests anywhere.
        let rekognition_region = match (
            &self.rekognition,
            &rekognition.endpoint,
            &rekognition.region,
        ) {
            (None, None, Some(region)) => Some(region.clone()),
            (None, Some(url), Some(region)) if endpoint_in_region(url, region) => {
                Some(region.clone())
            }
            _ => None,
        };
        Ok(AwsBackend {
            rekognition_region,
            s3_endpoint: reported_endpoint(s3.endpoint, "s3", s3.region),
            rekognition_endpoint: reported_endpoint(
                rekognition.endpoint,
                "rekognition",
                rekognition.region,
            ),
            s3: s3.client,
            rekognition: rekognition.client,
            #[cfg(feature = "organizations")]
            caller,
        })
    }
}

/// The timeouts every AWS call through the guard gets unless the config,
/// the client or [`AwsBackendBuilder::timeouts`] sets them: connect 3.1 s,
/// each attempt 10 s, the whole call (retries included) 30 s. A hung
/// endpoint ends in a retryable [`Timeout`](crate::BackendErrorKind::Timeout)
/// error well under a minute instead of hanging a kiosk.
pub(crate) fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(30))
        .build()
}

/// `explicit` if given; else `existing`, with unset values from the
/// defaults.
pub(crate) fn timeouts(
    explicit: Option<&TimeoutConfig>,
    existing: Option<&TimeoutConfig>,
) -> TimeoutConfig {
    match (explicit, existing) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => t
            .to_builder()
            .take_unset_from(default_timeouts().to_builder())
            .build(),
        (None, None) => default_timeouts(),
    }
}

/// Whether `url`'s host is one of AWS's own names in `region`
/// (`….REGION.amazonaws.com`, a VPC endpoint `….REGION.vpce.amazonaws.com`).
fn endpoint_in_region(url: &str, region: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    [".amazonaws.com", ".vpce.amazonaws.com"]
        .iter()
        .any(|suffix| host.ends_with(&format!(".{region}{suffix}")))
}

/// The ARN partition of `region`: `aws-cn` for `cn-…`, `aws-us-gov` for
/// `us-gov-…`, else `aws` (for the fix hints in messages).
pub(crate) fn partition(region: Option<&str>) -> &'static str {
    match region {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

/// What the backend reports as its endpoint: the configured URL when known,
/// else the one AWS's default resolver yields for the region (always HTTPS).
fn reported_endpoint(configured: Option<String>, prefix: &str, region: Option<String>) -> String {
    match (configured, region) {
        (Some(url), _) => url,
        (None, Some(region)) => format!("https://{prefix}.{region}.amazonaws.com"),
        (None, None) => format!("https://{prefix}.amazonaws.com"),
    }
}

/// An HTTPS client (rustls with aws-lc, the SDK's own TLS stack) that
/// trusts the CA certificates in `pem`, and the system's roots when
/// `trust_native_roots` is set. Use it for other SDK clients that must reach
/// the same private endpoint (`config::Builder::http_client`). It does not
/// use proxies.
///
/// The PEM is validated here, because the SDK parses it lazily and panics
/// on bad input.
///
/// # Errors
/// [`ConfigError::Invalid`] when `pem` holds no certificate or a malformed
/// one.
pub fn https_client_trusting(
    pem: &[u8],
    trust_native_roots: bool,
) -> Result<SharedHttpClient, ConfigError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| ConfigError::Invalid(format!("CA bundle: invalid PEM certificate: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(ConfigError::Invalid(
            "CA bundle: no PEM certificate (-----BEGIN CERTIFICATE-----) found".to_owned(),
        ));
    }
    let trust_store = TrustStore::default()
        .with_native_roots(trust_native_roots)
        .with_pem_certificate(pem.to_vec());
    let tls_context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(|e| ConfigError::Invalid(format!("CA bundle: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls_context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sdk(timeouts: Option<TimeoutConfig>) -> SdkConfig {
        use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
        let mut b = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTIMEOUTS",
                "timeouts-secret",
                None,
                None,
                "test",
            )));
        if let Some(t) = timeouts {
            b = b.timeout_config(t);
        }
        b.build()
    }

    #[test]
    fn every_client_gets_sane_default_timeouts_without_overriding_the_users() {
        let aws = AwsBackend::from_sdk_config(&sdk(None)).unwrap();
        for t in [
            aws.s3.config().timeout_config().unwrap(),
            aws.rekognition.config().timeout_config().unwrap(),
        ] {
            assert_eq!(t.connect_timeout(), Some(Duration::from_millis(3100)));
            assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(10)));
            assert_eq!(t.operation_timeout(), Some(Duration::from_secs(30)));
        }
        let users = TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(5))
            .build();
        let aws = AwsBackend::from_sdk_config(&sdk(Some(users))).unwrap();
        let t = aws.s3.config().timeout_config().unwrap();
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_secs(5)),
            "the user's value stays"
        );
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(Duration::from_secs(10)),
            "gaps are filled"
        );
    }

    #[test]
    fn trusting_only_the_bundle_does_not_depend_on_call_order() {
        let pem = b"-----BEGIN CERTIFICATE-----".to_vec();
        let a = AwsBackend::builder()
            .trust_native_roots(false)
            .ca_bundle_pem(pem.clone());
        let b = AwsBackend::builder()
            .ca_bundle_pem(pem)
            .trust_native_roots(false);
        assert_eq!(a.native_roots, Some(false));
        assert_eq!(b.native_roots, Some(false));
        assert!(AwsBackend::builder().native_roots.unwrap_or(true));
    }
}
