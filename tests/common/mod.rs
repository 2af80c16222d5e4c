//! Shared by the tests that talk to the emulator (see tests/aws_emulator.rs).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption, VersioningConfiguration};
use aws_types::SdkConfig;
use rekognition_guard::aws::https_client_trusting;
use rekognition_guard::S3ObjectRef;

pub struct Emulator {
    pub endpoint: String,
    pub ca: Vec<u8>,
    pub ca_path: String,
}

pub fn emulator() -> Option<Emulator> {
    match (
        std::env::var("RG_EMULATOR_ENDPOINT"),
        std::env::var("RG_EMULATOR_CA"),
    ) {
        (Ok(endpoint), Ok(ca)) => Some(Emulator {
            endpoint,
            ca: std::fs::read(&ca)
                .unwrap_or_else(|e| panic!("cannot read RG_EMULATOR_CA {ca}: {e}")),
            ca_path: ca,
        }),
        _ if std::env::var_os("RG_EMULATOR_REQUIRED").is_some()
            || std::env::var_os("CI").is_some() =>
        {
            panic!("the emulator tests need RG_EMULATOR_ENDPOINT and RG_EMULATOR_CA; run `bash scripts/test`, which starts moto")
        }
        _ => {
            // Straight to the stderr handle: the test harness captures
            // eprintln!, and a skip must never look like a pass.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: emulator test (no RG_EMULATOR_ENDPOINT); run `bash scripts/test` to run it"
            );
            None
        }
    }
}

pub struct Fixture {
    pub emu: Emulator,
    pub sdk: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub kms_key: String,
    pub other_kms_key: String,
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn fixture(emu: Emulator, versioned: bool) -> Fixture {
    let http = https_client_trusting(&emu.ca, false).expect("the emulator CA is valid PEM");
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "emulator",
        )))
        .http_client(http)
        .endpoint_url(&emu.endpoint)
        .build();
    let kms = aws_sdk_kms::Client::new(&sdk);
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = kms
            .create_key()
            .description("rekognition-guard test")
            .send()
            .await
            .expect("CreateKey");
        keys.push(
            key.key_metadata()
                .and_then(|m| m.arn())
                .expect("key ARN")
                .to_owned(),
        );
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("rg");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    if versioned {
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning");
    }
    let other_kms_key = keys.pop().unwrap();
    let kms_key = keys.pop().unwrap();
    Fixture {
        emu,
        sdk,
        s3,
        bucket,
        kms_key,
        other_kms_key,
    }
}

impl Fixture {
    /// Puts a fake JPEG (moto never decodes it) with `sse`; returns the
    /// version id S3 assigned.
    pub async fn put(
        &self,
        key: &str,
        sse: Option<ServerSideEncryption>,
        kms_key: Option<&str>,
    ) -> Option<String> {
        let out = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from_static(
                b"\xFF\xD8\xFF\xE0 not really a face",
            ))
            .content_type("image/jpeg")
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key.map(str::to_owned))
            .send()
            .await
            .expect("PutObject");
        out.version_id().map(str::to_owned)
    }

    pub fn reference(&self, key: &str) -> S3ObjectRef {
        S3ObjectRef::new(&self.bucket, key).unwrap()
    }
}
