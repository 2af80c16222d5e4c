//! The guard against a real AWS emulator (moto) over real TLS, with the real
//! SDK clients trusting only a throwaway CA.
//!
//! `bash scripts/test` starts moto and sets `RG_EMULATOR_ENDPOINT` and
//! `RG_EMULATOR_CA`. Under it (`RG_EMULATOR_REQUIRED=1`), or in CI, a
//! missing emulator fails these tests; run bare with `cargo test`, they say
//! loudly that they were skipped.
//!
//! moto's CompareFaces returns a canned match without reading the images,
//! so these tests prove the checks, the pinning and the transport, not face
//! matching. Its S3 keeps the SSE headers given at PutObject.

use crate::support;
use crate::support::emulator::{emulator, fixture};

/// The erasure conformance suite (`rekognition_guard::conformance::erasure`)
/// on the real SDK clients against the emulator over TLS: versions, delete
/// markers, the null version, Object Lock retention and legal holds.
#[tokio::test]
async fn erasure_conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::erasure::MotoErasureHarness::new(fixture(emu, true).await);
    rekognition_guard::conformance::erasure::run_all(&harness).await;
}
