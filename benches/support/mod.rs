#![allow(dead_code)] // each bench binary uses part of this module
//! An in-process AWS for the benchmarks: the SDK's real clients, serializers,
//! signing and retry machinery, over a fake transport that answers
//! HeadObject and CompareFaces with valid canned responses after an
//! optional simulated network delay. No sockets.

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef};

pub const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
pub const VERSION: &str = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
pub const BUCKET: &str = "library-photos";

const COMPARE: &str = r#"{"FaceMatches":[{"Similarity":99.8,"Face":{"BoundingBox":{"Width":0.25,"Height":0.4,"Left":0.3,"Top":0.2},"Confidence":99.9}}],"UnmatchedFaces":[],"SourceImageFace":{"BoundingBox":{"Width":0.3,"Height":0.4,"Left":0.3,"Top":0.2},"Confidence":99.9}}"#;

#[derive(Debug, Clone)]
struct FakeAws {
    delay: Duration,
}

impl HttpConnector for FakeAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut response = if request.method() == "HEAD" {
            let mut r = Response::new(StatusCode::try_from(200).unwrap(), SdkBody::empty());
            for (k, v) in [
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
                ("x-amz-version-id", VERSION),
                ("content-length", "48213"),
                ("content-type", "image/jpeg"),
                // For the ledger's check of a written record.
                ("x-amz-object-lock-mode", "COMPLIANCE"),
                (
                    "x-amz-object-lock-retain-until-date",
                    "2099-01-01T00:00:00.000Z",
                ),
            ] {
                r.headers_mut().insert(k, v);
            }
            r
        } else if request.method() == "PUT" {
            // A ledger record written.
            let mut r = Response::new(StatusCode::try_from(200).unwrap(), SdkBody::empty());
            for (k, v) in [
                ("x-amz-version-id", VERSION),
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ] {
                r.headers_mut().insert(k, v);
            }
            r
        } else if request.uri().contains("versions") {
            // ListObjectVersions of a ledger record's key: that one version.
            let prefix = request
                .uri()
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("prefix="))
                .unwrap_or_default()
                .replace("%2F", "/");
            let body = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>{BUCKET}</Name><Prefix>{prefix}</Prefix><IsTruncated>false</IsTruncated><Version><Key>{prefix}</Key><VersionId>{VERSION}</VersionId><IsLatest>true</IsLatest><Size>200</Size></Version></ListVersionsResult>"#
            );
            Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body))
        } else {
            Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(COMPARE))
        };
        response.headers_mut().insert("x-amzn-requestid", "bench");
        let delay = self.delay;
        drop(request);
        HttpConnectorFuture::new(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(response)
        })
    }
}

/// An HTTP client that answers after `delay` (zero: at once).
pub fn transport(delay: Duration) -> SharedHttpClient {
    let connector = SharedHttpConnector::new(FakeAws { delay });
    http_client_fn(move |_, _| connector.clone())
}

pub fn sdk_config(delay: Duration) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDBENCH",
            "bench-secret",
            None,
            None,
            "bench",
        )))
        .http_client(transport(delay))
        .build()
}

/// The raw SDK client, built from the same config as the guard's.
/// A single-threaded runtime, as the per-call measurements use.
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn raw(delay: Duration) -> aws_sdk_rekognition::Client {
    aws_sdk_rekognition::Client::new(&sdk_config(delay))
}

pub fn guard(delay: Duration, cached: bool) -> Guard {
    let aws = AwsBackend::from_sdk_config(&sdk_config(delay)).expect("https defaults");
    let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
    let store = if cached {
        store
    } else {
        store.with_verification_cache(None)
    };
    Guard::new(store, aws, OptOutEvidence::attested("benchmark").unwrap())
}

/// References are parsed once, as an application keeps the pinned
/// references it stored at enrollment; each call clones them.
static SOURCE: std::sync::LazyLock<S3ObjectRef> = std::sync::LazyLock::new(|| {
    S3ObjectRef::new(BUCKET, "members/ada.jpg")
        .unwrap()
        .with_version_id(VERSION)
        .unwrap()
});
static TARGET: std::sync::LazyLock<S3ObjectRef> = std::sync::LazyLock::new(|| {
    S3ObjectRef::new(BUCKET, "kiosk/live.jpg")
        .unwrap()
        .with_version_id(VERSION)
        .unwrap()
});

pub fn source() -> S3ObjectRef {
    SOURCE.clone()
}

pub fn target() -> S3ObjectRef {
    TARGET.clone()
}

fn s3_image(key: &str) -> aws_sdk_rekognition::types::Image {
    aws_sdk_rekognition::types::Image::builder()
        .s3_object(
            aws_sdk_rekognition::types::S3Object::builder()
                .bucket(BUCKET)
                .name(key)
                .version(VERSION)
                .build(),
        )
        .build()
}

/// The raw call the guard replaces: CompareFaces with the same S3 objects,
/// threshold and quality filter.
pub async fn raw_compare(client: &aws_sdk_rekognition::Client) {
    let out = client
        .compare_faces()
        .source_image(s3_image("members/ada.jpg"))
        .target_image(s3_image("kiosk/live.jpg"))
        .similarity_threshold(99.0)
        .quality_filter(aws_sdk_rekognition::types::QualityFilter::Auto)
        .send()
        .await
        .expect("raw compare");
    assert!(!out.face_matches().is_empty());
}

pub async fn guarded_compare(guard: &Guard) {
    let d = guard
        .compare(source(), target())
        .await
        .expect("guarded compare");
    assert!(d.is_approved());
}

/// Whether `cargo bench [FILTER]` selects the benchmark `name`: no filter,
/// or `name` contains it (as criterion filters its benchmarks). For the
/// binaries with their own `main`, which cargo runs whatever the filter.
pub fn selected(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .all(|filter| name.contains(filter.as_str()))
}

/// Runs this benchmark binary again with `args`, so that a measurement has
/// a process (and a heap) of its own, and returns the numbers on the first
/// stdout line that starts with `tag`.
pub fn measure_in_child(args: &[&str], tag: &str) -> Vec<u128> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .expect("run the measurement");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(tag))
        .expect("a measurement line")
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}
