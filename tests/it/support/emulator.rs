//! Shared by the tests that talk to the emulator (the `emulator` modules).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption, VersioningConfiguration};
use aws_types::SdkConfig;
use rekognition_guard::aws::https_client_trusting;
use rekognition_guard::S3ObjectRef;
use serde_json::Value;

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
        enable_versioning(&s3, &bucket).await;
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

async fn enable_versioning(s3: &aws_sdk_s3::Client, bucket: &str) {
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
}

pub async fn set_versioning(s3: &aws_sdk_s3::Client, bucket: &str, status: BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("PutBucketVersioning");
}

impl Fixture {
    /// An `AwsBackend` on the fixture's SDK config, trusting only the
    /// emulator's CA; with `plain_http`, its S3 client talks to the
    /// emulator over `http://` (which the guard must refuse).
    pub fn aws_backend(&self, plain_http: bool) -> rekognition_guard::aws::AwsBackend {
        let mut builder = rekognition_guard::aws::AwsBackend::builder()
            .sdk_config(&self.sdk)
            .ca_bundle_pem(self.emu.ca.clone())
            .trust_native_roots(false);
        if plain_http {
            let plain = self.emu.endpoint.replacen("https://", "http://", 1);
            builder = builder.s3_client(aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&self.sdk)
                    .endpoint_url(plain)
                    .force_path_style(true)
                    .build(),
            ));
        }
        builder.build().expect("backend")
    }

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

    /// Puts bytes as the S3 Encryption Client would: SSE-KMS under the
    /// fixture's key, with the client's envelope `names` in the user
    /// metadata (placeholder values); returns the version id.
    pub async fn put_client_side_encrypted(&self, key: &str, names: &[&str]) -> Option<String> {
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from_static(
                b"\x8a\x1f ciphertext, not an image",
            ))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key);
        for name in names {
            put = put.metadata(*name, "AQIDAHhA84wnXjEJdBbBBylRUFcZZK2j7xwh6UyLoL28nQ");
        }
        let out = put.send().await.expect("PutObject");
        out.version_id().map(str::to_owned)
    }

    /// Puts a fake JPEG with SSE-KMS under the fixture's key; returns the
    /// version id S3 assigned.
    pub async fn put_kms(&self, key: &str) -> Option<String> {
        self.put(key, Some(ServerSideEncryption::AwsKms), Some(&self.kms_key))
            .await
    }

    pub fn reference(&self, key: &str) -> S3ObjectRef {
        S3ObjectRef::new(&self.bucket, key).unwrap()
    }
}

/// A distinctive secret: it must never appear in the output.
pub const SECRET: &str = "rg-test-secret-7d1c";
/// A marker inside the local image: image bytes must never appear either.
pub const MARKER: &str = "FACE-BYTES-MARKER-91be";

/// A binary whose path `scripts/test` passes in `var`.
pub fn binary_from_env(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("RG_EMULATOR_REQUIRED").is_some()
            || std::env::var_os("CI").is_some() =>
        {
            panic!("{var} is not set; run `bash scripts/test`")
        }
        None => None,
    }
}

/// An example binary that `cargo test` built next to this test binary.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} was not built; cargo test builds examples",
        path.display()
    );
    path
}

/// What a command-line run printed and returned.
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

pub fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs an example binary as a user would, with throwaway credentials, and
/// checks that neither the credentials nor image bytes reach its output.
pub fn run_cli(bin: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Run {
    finish(command(bin, args, env).output().expect("run the example"))
}

/// Like [`run_cli`], but the run must end within `deadline`: it is killed
/// and the test fails otherwise. Also returns how long it took.
pub fn run_cli_within(
    bin: &PathBuf,
    args: &[&str],
    env: &[(&str, &str)],
    deadline: std::time::Duration,
) -> (Run, std::time::Duration) {
    use std::io::Read;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command(bin, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the example");
    // Drained while it runs, so a chatty run never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} still ran after {deadline:?} and was killed; stderr:\n{}",
                bin.display(),
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let out = std::process::Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    (finish(out), elapsed)
}

fn command(bin: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_REKOGNITION",
        "AWS_PROFILE",
        "AWS_CA_BUNDLE",
        "AWS_SESSION_TOKEN",
        "LOG_SIGNABLE_BODY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDRGTEST")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn finish(out: std::process::Output) -> Run {
    let (code, stdout, stderr) = finish_plain(out);
    let last = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("stdout's last line is not JSON ({e}): {stdout:?}\nstderr: {stderr}")
    });
    Run {
        code,
        json,
        stdout,
        stderr,
    }
}

/// Exit code, stdout and stderr, after checking that neither credentials
/// nor image bytes reached the output.
fn finish_plain(out: std::process::Output) -> (i32, String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for text in [&stdout, &stderr] {
        assert!(!text.contains(SECRET), "a credential leaked: {text}");
        assert!(!text.contains(MARKER), "image bytes leaked: {text}");
    }
    (out.status.code().expect("exit code"), stdout, stderr)
}

/// Like [`run_cli`], for an example whose output is not a JSON contract:
/// exit code, stdout and stderr.
pub fn run_example(bin: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    finish_plain(command(bin, args, env).output().expect("run the example"))
}

/// Gives the fixture's bucket every setting the audit wants.
pub async fn configure_well(f: &Fixture) {
    enable_versioning(&f.s3, &f.bucket).await;
    use aws_sdk_s3::types::{
        PublicAccessBlockConfiguration, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    f.s3.put_bucket_encryption()
        .bucket(&f.bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id(&f.kms_key)
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketEncryption");
    let b = &f.bucket;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{b}","arn:aws:s3:::{b}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},
        {{"Sid":"KmsUploadsOnly","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{b}/*","Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"aws:kms"}}}}}}]}}"#
    );
    f.s3.put_bucket_policy()
        .bucket(b)
        .policy(policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    f.s3.put_public_access_block()
        .bucket(b)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("PutPublicAccessBlock");
    put_inventory_configuration(f).await;
}

/// An enabled daily CSV inventory of all versions with EncryptionStatus
/// and BucketKeyStatus, delivered to the bucket itself under `inventory/`.
pub async fn put_inventory_configuration(f: &Fixture) {
    f.s3.put_bucket_inventory_configuration()
        .bucket(&f.bucket)
        .id("photos-audit")
        .inventory_configuration(super::inventory::configuration(&format!(
            "arn:aws:s3:::{}",
            f.bucket
        )))
        .send()
        .await
        .expect("PutBucketInventoryConfiguration");
}

use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy};

// The wire recorder and guards over the emulator's clients, shared by the
// emulator tests of every feature.

/// Counts requests that actually went out and got an answer.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    transmitted: Arc<AtomicUsize>,
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "test wire recorder"
    }
    fn read_after_transmit(
        &self,
        _ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.transmitted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Wire {
    pub fn transmitted(&self) -> usize {
        self.transmitted.load(Ordering::SeqCst)
    }
}

impl Fixture {
    /// A guard over backends built from the emulator config, with a wire
    /// recorder on the Rekognition client.
    pub fn guard(&self, policy: Policy, rekognition_endpoint: Option<&str>) -> (Guard, Wire) {
        let (guard, _s3, rekognition) = self.recorded_guard(policy, rekognition_endpoint);
        (guard, rekognition)
    }

    /// Like [`Fixture::guard`], with wire recorders on both clients (S3's
    /// counts HeadObject requests).
    pub fn recorded_guard(
        &self,
        policy: Policy,
        rekognition_endpoint: Option<&str>,
    ) -> (Guard, Wire, Wire) {
        let (s3_wire, wire) = (Wire::default(), Wire::default());
        let mut rekognition =
            aws_sdk_rekognition::config::Builder::from(&self.sdk).interceptor(wire.clone());
        if let Some(endpoint) = rekognition_endpoint {
            rekognition = rekognition.endpoint_url(endpoint);
        }
        let s3 = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(true)
            .interceptor(s3_wire.clone());
        let aws = AwsBackend::builder()
            .s3_client(aws_sdk_s3::Client::from_conf(s3.build()))
            .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition.build()))
            .ca_bundle_pem(self.emu.ca.clone())
            .trust_native_roots(false)
            .build()
            .expect("backend");
        let guard = Guard::new(
            PhotoStore::new(aws.clone(), policy),
            aws.clone(),
            OptOutEvidence::attested("emulator test account").unwrap(),
        );
        (guard, s3_wire, wire)
    }
}

impl Fixture {
    pub fn backend(&self) -> AwsBackend {
        AwsBackend::builder()
            .sdk_config(&self.sdk)
            .endpoint_url(&self.emu.endpoint)
            .ca_bundle_pem(self.emu.ca.clone())
            .trust_native_roots(false)
            .build()
            .expect("backend")
    }
}

/// Rekognition as moto lacks it (DetectFaces for the enrollment gate):
/// an HTTPS stand-in on loopback answering DetectFaces with one good face
/// and CompareFaces with a match.
pub async fn rekognition_stand_in() -> super::fault_server::FaultServer {
    use super::fault_server::{Fault, FaultServer, Request, Response, Script};
    FaultServer::start(Fault::Script(Script(std::sync::Arc::new(
        |r: &Request| match r.operation().as_deref() {
            Some("DetectFaces") => Response::detect_faces(&[super::answers::Face::GOOD]),
            Some("CompareFaces") => Response::compare_match(99.9),
            _ => Response::status(400),
        },
    ))))
    .await
}
