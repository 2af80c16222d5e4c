//! Shared by the tests on the in-memory simulation.
#![allow(dead_code)]

use async_trait::async_trait;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    BackendError, FaceImage, Guard, HeadObjectRequest, ObjectFacts, OptOutEvidence, PhotoStore,
    Policy, S3Backend,
};

use crate::support::wrap::S3Wrap;
use crate::support::KEY;

pub const OWNER: &str = "111122223333";

/// A marker inside the test image: it must never appear in any output.
pub const MARKER: &[u8] = b"BIOMETRIC-MARKER-7f3a";

pub fn live_photo(backend: &InMemoryBackend, face: &str) -> FaceImage {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(MARKER);
    bytes.extend_from_slice(face.as_bytes());
    backend.register_image(&bytes, face);
    FaceImage::from_vec(bytes).unwrap()
}

pub fn library() -> InMemoryBackend {
    let backend = InMemoryBackend::new();
    backend.create_bucket("library-photos", OWNER, true);
    backend.set_similarity("ada", "ada", 99.6);
    backend.set_similarity("ada", "grace", 12.0);
    backend
}

pub fn guard_over(
    inspector: impl S3Backend + 'static,
    backend: &InMemoryBackend,
    policy: Policy,
) -> Guard {
    Guard::new(
        PhotoStore::new(inspector, policy),
        backend.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
}

/// An inspector that lets the object be swapped right after the check: the
/// window between HeadObject and CompareFaces.
#[derive(Debug)]
pub struct SwapAfterCheck {
    pub backend: InMemoryBackend,
}

#[async_trait]
impl S3Wrap for SwapAfterCheck {
    fn inner(&self) -> &dyn S3Backend {
        &self.backend
    }
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        let facts = self.backend.head_object(request).await;
        let o = &request.object;
        self.backend.put(
            o.bucket(),
            o.key(),
            SimulatedObject {
                face: Some("grace".into()),
                ..SimulatedObject::sse_kms(KEY)
            },
        );
        facts
    }
}
