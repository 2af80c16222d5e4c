//! S3 `GetObject`, streamed: how S3 Inventory reports are read; and
//! `UpdateObjectEncryption` / `CopyObject`: how versions are re-encrypted.

use aws_sdk_s3::types::{
    MetadataDirective, ObjectEncryption, ServerSideEncryption, SsekmsEncryption,
};
use aws_smithy_types::byte_stream::ByteStream;

use super::erasure::map_error;
use crate::backend::{BackendError, BackendErrorKind, GetObjectRequest, ReencryptRequest};
use crate::input::Service;
use crate::inventory::remediation::KEY_ENCODE;

const GET: &str = "GetObject";

/// `GetObject` with the expected owner (and the version, when the
/// reference names one). The body is not buffered: it streams as the
/// caller reads it.
pub(super) async fn get_object(
    s3: &aws_sdk_s3::Client,
    request: &GetObjectRequest,
) -> Result<ByteStream, BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let object = &request.object;
    let out = s3
        .get_object()
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
        .await
        .map_err(|e| map_error(e, GET, &object.to_string(), object.bucket(), region))?;
    Ok(out.body)
}

const UPDATE: &str = "UpdateObjectEncryption";
const COPY: &str = "CopyObject";

/// `UpdateObjectEncryption` with `SSEKMS` under the request's key, the
/// version and the expected owner.
pub(super) async fn update_object_encryption(
    s3: &aws_sdk_s3::Client,
    request: &ReencryptRequest,
) -> Result<(), BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let object = &request.object;
    let encryption = SsekmsEncryption::builder()
        .kms_key_arn(request.kms_key.as_str())
        .build()
        .map_err(|e| {
            BackendError::new(
                BackendErrorKind::InvalidRequest,
                Service::S3,
                UPDATE,
                "the UpdateObjectEncryption request could not be built",
            )
            .with_source(e)
        })?;
    s3.update_object_encryption()
        .bucket(object.bucket())
        .key(object.key())
        .set_version_id(object.version_id().map(str::to_owned))
        .object_encryption(ObjectEncryption::Ssekms(encryption))
        .set_expected_bucket_owner(
            request
                .expected_bucket_owner
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .send()
        .await
        .map_err(|e| map_error(e, UPDATE, &object.to_string(), object.bucket(), region))?;
    Ok(())
}

/// `CopyObject` of the key onto itself with `aws:kms` under the
/// request's key (metadata copied), `x-amz-copy-source-if-match` with
/// the checked ETag, the expected owner as both source and destination
/// owner.
pub(super) async fn copy_object(
    s3: &aws_sdk_s3::Client,
    request: &ReencryptRequest,
) -> Result<Option<String>, BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let object = &request.object;
    // The current version, on condition that it is still the one the
    // guard checked (its ETag): S3 answers 412 otherwise.
    let Some(ref etag) = request.current_etag else {
        return Err(BackendError::new(
            BackendErrorKind::InvalidRequest,
            Service::S3,
            COPY,
            format!("a copy of {object} needs the ETag of the version checked as current"),
        ));
    };
    let source = format!(
        "{}/{}",
        object.bucket(),
        percent_encoding::utf8_percent_encode(object.key(), KEY_ENCODE)
    );
    let owner = request
        .expected_bucket_owner
        .as_ref()
        .map(|a| a.as_str().to_owned());
    let out = s3
        .copy_object()
        .bucket(object.bucket())
        .key(object.key())
        .copy_source(source)
        .copy_source_if_match(etag)
        .metadata_directive(MetadataDirective::Copy)
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(request.kms_key.as_str())
        .set_expected_bucket_owner(owner.clone())
        .set_expected_source_bucket_owner(owner)
        .send()
        .await
        .map_err(|e| map_error(e, COPY, &object.to_string(), object.bucket(), region))?;
    Ok(out.version_id().map(str::to_owned))
}
