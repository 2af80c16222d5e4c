//! The erasure conformance harness for `AwsBackend` against moto over TLS:
//! versioned buckets (with Object Lock where a scenario needs it), delete
//! markers, suspended versioning, retention and legal holds, all set up
//! with the raw SDK client, then erased through the guard.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockRetention,
    ObjectLockRetentionMode,
};
use rekognition_guard::conformance::erasure::{BucketKind, ErasureHarness, Hold};
use rekognition_guard::erasure::{ErasureReceipt, StoredVersion};
use rekognition_guard::{KmsKeyArn, PhotoStore, Policy};

use super::emulator::{set_versioning, unique, Fixture};

pub struct MotoErasureHarness {
    fixture: Fixture,
}

impl MotoErasureHarness {
    pub fn new(fixture: Fixture) -> Self {
        Self { fixture }
    }
}

#[async_trait]
impl ErasureHarness for MotoErasureHarness {
    fn name(&self) -> &str {
        "moto erasure"
    }
    fn kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(&self.fixture.kms_key).unwrap()
    }
    fn reports_retention(&self) -> bool {
        // moto 5.1.22 enforces retention (and its bypass) but does not
        // implement GetObjectRetention.
        false
    }
    async fn new_bucket(&self, kind: BucketKind) -> String {
        let bucket = unique("rg-erase");
        let s3 = &self.fixture.s3;
        s3.create_bucket()
            .bucket(&bucket)
            .object_lock_enabled_for_bucket(kind == BucketKind::ObjectLock)
            .send()
            .await
            .expect("CreateBucket");
        if kind == BucketKind::Versioned {
            set_versioning(s3, &bucket, BucketVersioningStatus::Enabled).await;
        }
        bucket
    }
    async fn put(&self, bucket: &str, key: &str) -> String {
        let out = self
            .fixture
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                b"\xFF\xD8\xFF\xE0 not really a face",
            ))
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.fixture.kms_key)
            .send()
            .await
            .expect("PutObject");
        out.version_id().unwrap_or("null").to_owned()
    }
    async fn delete(&self, bucket: &str, key: &str) {
        self.fixture
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("DeleteObject");
    }
    async fn enable_versioning(&self, bucket: &str) {
        set_versioning(&self.fixture.s3, bucket, BucketVersioningStatus::Enabled).await;
    }
    async fn hold(&self, bucket: &str, key: &str, version: &str, hold: Hold) {
        let s3 = &self.fixture.s3;
        match hold {
            Hold::Governance => {
                let until = SystemTime::now() + Duration::from_secs(86_400);
                s3.put_object_retention()
                    .bucket(bucket)
                    .key(key)
                    .version_id(version)
                    .retention(
                        ObjectLockRetention::builder()
                            .mode(ObjectLockRetentionMode::Governance)
                            .retain_until_date(until.into())
                            .build(),
                    )
                    .send()
                    .await
                    .expect("PutObjectRetention");
            }
            _ => {
                s3.put_object_legal_hold()
                    .bucket(bucket)
                    .key(key)
                    .version_id(version)
                    .legal_hold(
                        ObjectLockLegalHold::builder()
                            .status(ObjectLockLegalHoldStatus::On)
                            .build(),
                    )
                    .send()
                    .await
                    .expect("PutObjectLegalHold");
            }
        }
    }
    async fn lift_legal_hold(&self, bucket: &str, key: &str, version: &str) {
        self.fixture
            .s3
            .put_object_legal_hold()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .legal_hold(
                ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::Off)
                    .build(),
            )
            .send()
            .await
            .expect("PutObjectLegalHold");
    }
    async fn listed(&self, bucket: &str, prefix: &str) -> Vec<StoredVersion> {
        let out = self
            .fixture
            .s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("ListObjectVersions");
        let versions = out.versions().iter().map(|v| StoredVersion {
            key: v.key().unwrap_or_default().into(),
            version_id: v.version_id().unwrap_or("null").into(),
            delete_marker: false,
        });
        let markers = out.delete_markers().iter().map(|m| StoredVersion {
            key: m.key().unwrap_or_default().into(),
            version_id: m.version_id().unwrap_or("null").into(),
            delete_marker: true,
        });
        versions.chain(markers).collect()
    }
    fn store(&self, plain_http: bool) -> PhotoStore {
        PhotoStore::new(
            self.fixture.aws_backend(plain_http),
            Policy::allow_kms_key(self.kms_key()).with_versioning_required(false),
        )
    }
}

/// The version ids a receipt says were erased, in its order.
pub fn erased_version_ids(receipt: &ErasureReceipt) -> Vec<&str> {
    receipt
        .erased
        .iter()
        .map(|e| e.version_id.as_str())
        .collect()
}
