//! `PutObject` of a ledger record: `If-None-Match: *`, SSE-KMS, S3 Object
//! Lock retention, a CRC32 checksum (S3 needs `Content-MD5` or a checksum
//! with a retention).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockMode, ServerSideEncryption};

use super::errors::{by_status, common, status};
use crate::at_rest::SseAlgorithm;
use crate::backend::{
    BackendError, BackendErrorKind, PutRecordReceipt, PutRecordRequest, RetentionMode,
};
use crate::input::Service;

const PUT: &str = "PutObject";

pub(super) async fn put_record(
    client: &aws_sdk_s3::Client,
    request: PutRecordRequest,
) -> Result<PutRecordReceipt, BackendError> {
    super::refuse_if_bodies_logged(Service::S3, PUT)?;
    let object = request.object.clone();
    let (mode, until) = match &request.retention {
        Some((mode, until)) => {
            let mode = match mode {
                RetentionMode::Governance => ObjectLockMode::Governance,
                RetentionMode::Compliance => ObjectLockMode::Compliance,
                RetentionMode::Other(v) => ObjectLockMode::from(v.as_str()),
            };
            (Some(mode), Some(aws_smithy_types::DateTime::from(*until)))
        }
        None => (None, None),
    };
    let result = client
        .put_object()
        .bucket(object.bucket())
        .key(object.key())
        .if_none_match("*")
        .body(ByteStream::from(request.body))
        .content_type("application/json")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .set_server_side_encryption(
            request
                .kms_key
                .as_ref()
                .map(|_| ServerSideEncryption::AwsKms),
        )
        .set_ssekms_key_id(request.kms_key.as_ref().map(|k| k.as_str().to_owned()))
        .set_object_lock_mode(mode)
        .set_object_lock_retain_until_date(until)
        .set_expected_bucket_owner(
            request
                .expected_bucket_owner
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .send()
        .await;
    match result {
        Ok(out) => Ok(PutRecordReceipt::new(
            out.version_id().map(str::to_owned),
            out.server_side_encryption()
                .map(|s| SseAlgorithm::from_header(Some(s.as_str()))),
            out.ssekms_key_id().map(str::to_owned),
        )),
        Err(err) => {
            if let Some(mapped) = common(&err, Service::S3, PUT) {
                return Err(mapped.with_source(err));
            }
            let region = client.config().region().map(|r| r.as_ref());
            let (kind, message) = match status(&err) {
                Some(412) => (
                    BackendErrorKind::PreconditionFailed,
                    format!("{object} exists already (412): another writer took this record's sequence number"),
                ),
                // ConditionalRequestConflict: a conditional write to the
                // same key was in progress; AWS says to retry, which the
                // ledger does by reading on.
                Some(409) => (
                    BackendErrorKind::PreconditionFailed,
                    format!("a conditional write of {object} was in progress (409): another writer is taking this record's sequence number"),
                ),
                Some(403) => (
                    BackendErrorKind::AccessDenied,
                    format!(
                        "writing ledger record {object} was denied (403): the caller needs s3:PutObject and s3:PutObjectRetention on arn:{}:s3:::{}/{} and kms:GenerateDataKey on {}; S3 also answers 403 when the bucket is not owned by the expected account",
                        super::partition(region),
                        object.bucket(),
                        object.key(),
                        request.kms_key.as_ref().map_or("the bucket's default KMS key", |k| k.as_str())
                    ),
                ),
                Some(400) => (
                    BackendErrorKind::InvalidRequest,
                    format!(
                        "S3 refused ledger record {object} (400, {}): a retention needs a bucket with S3 Object Lock enabled; also check the KMS key and the retain-until date",
                        crate::text::quote(
                            err.as_service_error()
                                .and_then(|e| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(e))
                                .unwrap_or("no error code"),
                            80
                        )
                    ),
                ),
                Some(404) => (
                    BackendErrorKind::NotFound,
                    format!("bucket {} does not exist", object.bucket()),
                ),
                other => by_status(other, &format!("PutObject for ledger record {object}")),
            };
            Err(BackendError::new(kind, Service::S3, PUT, message).with_source(err))
        }
    }
}
