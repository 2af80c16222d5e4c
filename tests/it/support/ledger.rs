//! The ledger conformance harness for `AwsBackend` against moto over TLS:
//! buckets with S3 Object Lock and SSE-KMS default encryption made with
//! the raw SDK client, and the tampering done with it too.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use rekognition_guard::conformance::ledger::LedgerHarness;
use rekognition_guard::{KmsKeyArn, S3Backend};

use super::emulator::{set_versioning, unique, Fixture};

pub struct MotoLedgerHarness {
    fixture: Fixture,
    backend: Arc<dyn S3Backend>,
}

impl MotoLedgerHarness {
    pub fn new(fixture: Fixture) -> Self {
        let backend = Arc::new(fixture.aws_backend(false));
        Self { fixture, backend }
    }

    pub fn fixture(&self) -> &Fixture {
        &self.fixture
    }
}

#[async_trait]
impl LedgerHarness for MotoLedgerHarness {
    fn name(&self) -> &str {
        "moto ledger"
    }
    fn backend(&self) -> Arc<dyn S3Backend> {
        self.backend.clone()
    }
    fn kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(&self.fixture.kms_key).unwrap()
    }
    async fn new_bucket(&self, object_lock: bool) -> String {
        let bucket = unique("rg-ledger");
        let s3 = &self.fixture.s3;
        s3.create_bucket()
            .bucket(&bucket)
            .object_lock_enabled_for_bucket(object_lock)
            .send()
            .await
            .expect("CreateBucket");
        set_versioning(
            s3,
            &bucket,
            aws_sdk_s3::types::BucketVersioningStatus::Enabled,
        )
        .await;
        s3.put_bucket_encryption()
            .bucket(&bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::AwsKms)
                                    .kms_master_key_id(&self.fixture.kms_key)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("PutBucketEncryption");
        bucket
    }
    async fn overwrite(&self, bucket: &str, key: &str) {
        self.fixture
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                b"{\"forged\":true}",
            ))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.fixture.kms_key)
            .send()
            .await
            .expect("PutObject");
    }
    async fn delete_bypassing_governance(&self, bucket: &str, key: &str, version: &str) {
        self.fixture
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .bypass_governance_retention(true)
            .send()
            .await
            .expect("DeleteObject with the governance bypass");
    }
}
