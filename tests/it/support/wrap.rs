//! Backends that change one or two operations of another backend and pass
//! the rest through: a test writes only what it changes.
//!
//! Implement [`S3Wrap`] or [`RekognitionWrap`] (override the operations the
//! test changes; every other one goes to `inner()`) and give the guard
//! `Wrapped(your_type)`.
#![allow(dead_code)]

use async_trait::async_trait;
use aws_smithy_types::byte_stream::ByteStream;
use rekognition_guard::erasure::{ObjectLockFacts, StoredVersion};
use rekognition_guard::liveness::{LivenessFacts, LivenessSessionId};
use rekognition_guard::BucketAudit;
use rekognition_guard::{AccountId, FaceDetail, ObjectFacts, Policy};
use rekognition_guard::{
    BackendError, CompareFacesRequest, ComparisonFacts, CreateFaceLivenessSessionRequest,
    DeleteObjectVersionRequest, DetectFacesRequest, GetBucketVersioningRequest,
    GetFaceLivenessSessionResultsRequest, GetObjectRequest, HeadObjectRequest,
    ListObjectVersionsRequest, PutObjectReceipt, PutObjectRequest, ReencryptRequest,
    RekognitionBackend, S3Backend, VersioningFacts,
};

/// A backend made of `T`: its overrides, then `T::inner()` for the rest.
#[derive(Debug)]
pub struct Wrapped<T>(pub T);

/// S3 operations a test changes; the rest go to [`inner`](S3Wrap::inner).
#[async_trait]
pub trait S3Wrap: Send + Sync + std::fmt::Debug {
    /// The backend every operation not overridden goes to.
    fn inner(&self) -> &dyn S3Backend;

    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        self.inner().head_object(request).await
    }
    async fn put_object(
        &self,
        request: PutObjectRequest,
    ) -> Result<PutObjectReceipt, BackendError> {
        self.inner().put_object(request).await
    }
}

#[async_trait]
impl<T: S3Wrap> S3Backend for Wrapped<T> {
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        self.0.head_object(request).await
    }
    async fn get_bucket_versioning(
        &self,
        request: &GetBucketVersioningRequest,
    ) -> Result<VersioningFacts, BackendError> {
        self.0.inner().get_bucket_versioning(request).await
    }
    async fn put_object(
        &self,
        request: PutObjectRequest,
    ) -> Result<PutObjectReceipt, BackendError> {
        self.0.put_object(request).await
    }
    async fn get_object(&self, request: &GetObjectRequest) -> Result<ByteStream, BackendError> {
        self.0.inner().get_object(request).await
    }
    async fn list_object_versions(
        &self,
        request: &ListObjectVersionsRequest,
    ) -> Result<Vec<StoredVersion>, BackendError> {
        self.0.inner().list_object_versions(request).await
    }
    async fn delete_object_version(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<(), BackendError> {
        self.0.inner().delete_object_version(request).await
    }
    async fn object_lock(
        &self,
        request: &DeleteObjectVersionRequest,
    ) -> Result<ObjectLockFacts, BackendError> {
        self.0.inner().object_lock(request).await
    }
    async fn update_object_encryption(
        &self,
        request: &ReencryptRequest,
    ) -> Result<(), BackendError> {
        self.0.inner().update_object_encryption(request).await
    }
    async fn copy_object(
        &self,
        request: &ReencryptRequest,
    ) -> Result<Option<String>, BackendError> {
        self.0.inner().copy_object(request).await
    }
    async fn audit_bucket(
        &self,
        bucket: &str,
        policy: &Policy,
    ) -> Result<BucketAudit, BackendError> {
        self.0.inner().audit_bucket(bucket, policy).await
    }
}

/// Rekognition operations a test changes; the rest go to
/// [`inner`](RekognitionWrap::inner).
#[async_trait]
pub trait RekognitionWrap: Send + Sync + std::fmt::Debug {
    /// The backend every operation not overridden goes to.
    fn inner(&self) -> &dyn RekognitionBackend;

    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        self.inner().compare_faces(request).await
    }
    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError> {
        self.inner().detect_faces(request).await
    }
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        self.inner().caller_account().await
    }
    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        self.inner()
            .get_face_liveness_session_results(request)
            .await
    }
}

#[async_trait]
impl<T: RekognitionWrap> RekognitionBackend for Wrapped<T> {
    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        self.0.compare_faces(request).await
    }
    async fn detect_faces(
        &self,
        request: DetectFacesRequest,
    ) -> Result<Vec<FaceDetail>, BackendError> {
        self.0.detect_faces(request).await
    }
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        self.0.caller_account().await
    }
    fn region(&self) -> Option<String> {
        self.0.inner().region()
    }
    async fn create_face_liveness_session(
        &self,
        request: CreateFaceLivenessSessionRequest,
    ) -> Result<LivenessSessionId, BackendError> {
        self.0.inner().create_face_liveness_session(request).await
    }
    async fn get_face_liveness_session_results(
        &self,
        request: GetFaceLivenessSessionResultsRequest,
    ) -> Result<LivenessFacts, BackendError> {
        self.0.get_face_liveness_session_results(request).await
    }
}
