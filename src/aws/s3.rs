//! S3 HeadObject → [`ObjectFacts`].

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::errors::{by_status, common, status, wrong_region};
use crate::at_rest::{ObjectFacts, SseAlgorithm};
use crate::backend::{BackendError, BackendErrorKind};
use crate::backend::{
    GetBucketVersioningRequest, HeadObjectRequest, PutObjectReceipt, PutObjectRequest,
    VersioningFacts,
};
use crate::input::{ImageFormat, Service};

const OPERATION: &str = "HeadObject";

/// Sends HeadObject for the request's object (its version, if named) with
/// `ExpectedBucketOwner` when the policy sets one.
pub(crate) async fn inspect(
    client: &aws_sdk_s3::Client,
    request: &HeadObjectRequest,
) -> Result<ObjectFacts, BackendError> {
    let object = &request.object;
    let result = client
        .head_object()
        .bucket(object.bucket())
        .key(object.key())
        .set_version_id(object.version_id().map(str::to_owned))
        .set_expected_bucket_owner(
            request
                .expected_bucket_owner
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .send()
        .await;
    match result {
        Ok(out) => Ok(facts(&out)),
        Err(err) => Err(map_error(
            err,
            request,
            client.config().region().map(|r| r.as_ref()),
        )),
    }
}

/// Every encryption-related header of the response, mapped without
/// judgement: the policy decides.
pub(crate) fn facts(out: &HeadObjectOutput) -> ObjectFacts {
    let mut facts = ObjectFacts::new(SseAlgorithm::from_header(
        out.server_side_encryption().map(|s| s.as_str()),
    ));
    facts.kms_key_id = out.ssekms_key_id().map(str::to_owned);
    facts.bucket_key_enabled = out.bucket_key_enabled();
    facts.sse_customer_algorithm = out.sse_customer_algorithm().map(str::to_owned);
    facts.version_id = out.version_id().map(str::to_owned);
    facts.content_length = out.content_length().and_then(|l| u64::try_from(l).ok());
    facts.content_type = out.content_type().map(str::to_owned);
    facts.etag = out.e_tag().map(str::to_owned);
    let mut names: Vec<String> = out
        .metadata()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    facts.user_metadata_keys = names;
    // A negative count is no count: unusable, so refused.
    facts.missing_metadata_entries = out
        .missing_meta()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    facts.object_lock_mode = out.object_lock_mode().map(|m| m.as_str().to_owned());
    // A date before the epoch cannot be a retain-until date worth having:
    // as absent, which fails every lock check.
    facts.object_lock_retain_until = out
        .object_lock_retain_until_date()
        .and_then(|d| std::time::SystemTime::try_from(*d).ok());
    facts
}

fn map_error(
    err: SdkError<HeadObjectError, HttpResponse>,
    request: &HeadObjectRequest,
    client_region: Option<&str>,
) -> BackendError {
    if let Some(mapped) = common(&err, Service::S3, OPERATION) {
        return mapped.with_source(err);
    }
    let object = &request.object;
    let bucket = object.bucket();
    if let Some(region) = wrong_region(&err, client_region, bucket) {
        return BackendError::new(
            BackendErrorKind::InvalidRequest,
            Service::S3,
            OPERATION,
            format!("HeadObject for {object} failed: {region}"),
        )
        .with_source(err);
    }
    let (kind, message) = match status(&err) {
        Some(404) => (
            BackendErrorKind::NotFound,
            format!(
                "{object} was not found (404): check the bucket, key and version id; if the object was deleted, its current version is a delete marker"
            ),
        ),
        Some(403) => {
            let owner = request
                .expected_bucket_owner.as_ref()
                .map(|a| format!(", or bucket {bucket} is not owned by the expected account {a}"))
                .unwrap_or_default();
            (
                BackendErrorKind::AccessDenied,
                format!(
                    "access to {object} was denied (403): the caller needs s3:GetObject{} on arn:{}:s3:::{bucket}/{}; S3 also answers 403 for a missing object when the caller lacks s3:ListBucket on {bucket}{owner}",
                    if object.version_id().is_some() { " and s3:GetObjectVersion" } else { "" },
                    super::partition(client_region),
                    object.key()
                ),
            )
        }
        Some(400) => (
            BackendErrorKind::InvalidRequest,
            format!(
                "S3 rejected HeadObject for {object} with 400 and, as for every HEAD, no body saying why; it answers 400 when {}the request reached another region than the bucket's (it then usually names the bucket's region, and did not here), or the object is encrypted with a customer-provided key (SSE-C), which HeadObject cannot describe without that key and which this crate refuses (store it with SSE-KMS)",
                match object.version_id() {
                    Some(v) => format!("the version id {v} is malformed, "),
                    None => String::new(),
                },
            ),
        ),
        Some(405) => (
            BackendErrorKind::NotFound,
            format!("{object}: the requested version is a delete marker (405)"),
        ),
        Some(301) => (
            BackendErrorKind::InvalidRequest,
            format!(
                "S3 answered 301 for bucket {bucket}: it is in another region than the S3 client, which S3 did not name; configure the bucket's region (Rekognition must use it too)"
            ),
        ),
        other => by_status(other, &format!("HeadObject for {object}")),
    };
    BackendError::new(kind, Service::S3, OPERATION, message).with_source(err)
}

/// PutObject with SSE-KMS under the request's key; the bytes move into the
/// body without a copy.
pub(crate) async fn upload(
    client: &aws_sdk_s3::Client,
    request: PutObjectRequest,
) -> Result<PutObjectReceipt, BackendError> {
    const PUT: &str = "PutObject";
    super::refuse_if_bodies_logged(Service::S3, PUT)?;
    let object = request.object.clone();
    let kms_key = request.kms_key.clone();
    let owner = request
        .expected_bucket_owner
        .as_ref()
        .map(|a| a.as_str().to_owned());
    let image = request.image;
    let content_type = match image.format() {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
    };
    let result = client
        .put_object()
        .bucket(object.bucket())
        .key(object.key())
        .body(ByteStream::from(image.into_bytes()))
        .content_type(content_type)
        // Without a key (a policy of any SSE-KMS key), no encryption
        // header: `aws:kms` alone would mean the AWS managed key `aws/s3`
        // (S3 API Reference, PutObject), not the bucket's default. The
        // bucket default applies, and the read-back refuses anything but
        // SSE-KMS.
        .set_server_side_encryption(kms_key.as_ref().map(|_| ServerSideEncryption::AwsKms))
        .set_ssekms_key_id(kms_key.as_ref().map(|k| k.as_str().to_owned()))
        .set_expected_bucket_owner(owner)
        .send()
        .await;
    match result {
        Ok(out) => Ok(PutObjectReceipt::new(out.version_id().map(str::to_owned))),
        Err(err) => {
            if let Some(mapped) = common(&err, Service::S3, PUT) {
                return Err(mapped.with_source(err));
            }
            let region = client.config().region().map(|r| r.as_ref());
            if let Some(hint) = wrong_region(&err, region, object.bucket()) {
                return Err(BackendError::new(
                    BackendErrorKind::InvalidRequest,
                    Service::S3,
                    PUT,
                    format!("storing {object} failed: {hint}"),
                )
                .with_source(err));
            }
            let (kind, message) = match status(&err) {
                Some(403) => (
                    BackendErrorKind::AccessDenied,
                    format!(
                        "storing {object} was denied (403): the caller needs s3:PutObject on arn:{}:s3:::{}/{} and kms:GenerateDataKey on {}; a bucket policy may also refuse the upload, or the bucket is not owned by the expected account",
                        super::partition(region),
                        object.bucket(),
                        object.key(),
                        kms_key.as_ref().map_or("the bucket's default KMS key", |k| k.as_str())
                    ),
                ),
                Some(404) => (
                    BackendErrorKind::NotFound,
                    format!("bucket {} does not exist", object.bucket()),
                ),
                other => by_status(other, &format!("PutObject for {object}")),
            };
            Err(BackendError::new(kind, Service::S3, PUT, message).with_source(err))
        }
    }
}

/// Sends GetBucketVersioning for the request's bucket, with
/// `ExpectedBucketOwner` when the policy sets one. `Status` and
/// `MfaDelete` are kept as S3 sent them (absent: never enabled, never
/// configured).
pub(crate) async fn bucket_versioning(
    client: &aws_sdk_s3::Client,
    request: &GetBucketVersioningRequest,
) -> Result<VersioningFacts, BackendError> {
    const GET: &str = "GetBucketVersioning";
    let result = client
        .get_bucket_versioning()
        .bucket(&request.bucket)
        .set_expected_bucket_owner(
            request
                .expected_bucket_owner
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .send()
        .await;
    match result {
        Ok(out) => Ok(VersioningFacts::new(
            out.status().map(|s| s.as_str()),
            out.mfa_delete().map(|m| m.as_str()),
        )),
        Err(err) => {
            let region = client.config().region().map(|r| r.as_ref());
            let what = format!("bucket {}", request.bucket);
            Err(super::erasure::map_error(
                err,
                GET,
                &what,
                &request.bucket,
                region,
            ))
        }
    }
}
