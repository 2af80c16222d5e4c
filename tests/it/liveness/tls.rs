//! Face Liveness over real TLS: the conformance scenarios
//! (`rekognition_guard::conformance::liveness`) on `AwsBackend`, its SDK
//! clients talking to a scripted HTTPS stand-in for S3 and Rekognition.

use crate::support;

#[tokio::test]
async fn liveness_conformance_over_tls() {
    let harness = support::liveness::TlsLivenessHarness::start().await;
    rekognition_guard::conformance::liveness::run_all(&harness).await;
}
