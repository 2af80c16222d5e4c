//! Test support, in one place: shared constants and SDK configs, canned
//! service answers (`answers`), log capture (`capture`), the HTTPS fault
//! server (`fault_server`) and the AWS backend against it (`faults`),
//! emulator fixtures and command-line runners (`emulator`), the Face
//! Liveness stand-in (`liveness`), S3 Inventory reports (`inventory`), the
//! canned-HTTP backends (`canned`), the mockall set-ups (`mocks`), the
//! in-memory set-ups (`memory`), and running a test in a process of its own
//! (`process`).
#![allow(dead_code)]

pub mod answers;
pub mod canned;
pub mod capture;
pub mod collection;
pub mod conformance;
pub mod emulator;
pub mod erasure;
pub mod fault_server;
pub mod faults;
pub mod gate;
pub mod inventory;
pub mod ledger;
pub mod liveness;
pub mod memory;
pub mod mocks;
pub mod process;
pub mod wrap;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use rekognition_guard::FaceImage;

/// The KMS key the tests' policies allow.
pub const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// A KMS key no test policy allows.
pub const OTHER_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab";
/// A version id as S3 issues them.
pub const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
/// The account the tests' credentials belong to.
pub const ACCOUNT: &str = "111122223333";

/// An `SdkConfig` in `region` with static test credentials and nothing
/// else: no endpoint, no HTTP client (add them where a test needs them).
pub fn sdk_config(region: &str, access_key: &str, secret_key: &str) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            access_key, secret_key, None, None, "test",
        )))
        .build()
}

/// Image bytes that pass as a JPEG (the header gives no size) and carry
/// `marker`, so a test can look for them in any output.
pub fn jpeg_with(marker: &[u8]) -> FaceImage {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend_from_slice(marker);
    FaceImage::from_vec(bytes).expect("a JPEG by its header")
}

/// The configuration error of a failed backend or verifier build (a build
/// fails in no other way); panics on any other error.
pub fn config_error(e: rekognition_guard::Error) -> rekognition_guard::ConfigError {
    match e {
        rekognition_guard::Error::Config(c) => c,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// A consent for member `member-000417`, kept in the test's own records:
/// what the tests enroll and store reference photos with.
pub fn consent() -> rekognition_guard::consent::RecordedConsent {
    rekognition_guard::conformance::consent_of(
        &rekognition_guard::collection::MemberId::parse("member-000417").unwrap(),
    )
}
