//! S3 `GetObject`, streamed: how S3 Inventory reports are read.

use async_trait::async_trait;
use aws_smithy_types::byte_stream::ByteStream;

use super::erasure::map_error;
use super::AwsBackend;
use crate::backend::{BackendError, ObjectReader, ReadObjectRequest};

const GET: &str = "GetObject";

#[async_trait]
impl ObjectReader for AwsBackend {
    fn endpoint(&self) -> String {
        crate::backend::ObjectInspector::endpoint(self)
    }

    /// `GetObject` with the expected owner (and the version, when the
    /// reference names one). The body is not buffered: it streams as the
    /// caller reads it.
    async fn read_object(&self, request: &ReadObjectRequest) -> Result<ByteStream, BackendError> {
        let s3 = self.s3_client();
        let region = s3.config().region().map(|r| r.as_ref());
        let object = request.object();
        let out = s3
            .get_object()
            .bucket(object.bucket())
            .key(object.key())
            .set_version_id(object.version_id().map(str::to_owned))
            .set_expected_bucket_owner(
                request
                    .expected_bucket_owner()
                    .map(|a| a.as_str().to_owned()),
            )
            .send()
            .await
            .map_err(|e| map_error(e, GET, &object.to_string(), object.bucket(), region))?;
        Ok(out.body)
    }
}
