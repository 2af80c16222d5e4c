//! Shared by the tests against HTTPS fault servers on loopback: the AWS
//! backend over real TLS trusting only the fault servers' CA, the
//! standard answers, and the checks of what a run leaked.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::fault_server::{ca_pem, Fault, FaultServer, Response};
use crate::support::{self, KEY};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryPartition;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_smithy_types::timeout::TimeoutConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{
    BackendErrorKind, Error, FaceImage, KmsKeyArn, PhotoStore, Policy, S3ObjectRef, Service,
};

pub const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";

pub const ACCESS_KEY: &str = "AKIDFAULTTEST0001";

pub const SECRET_KEY: &str = "fault-secret-key-4e1d";

pub const SESSION_TOKEN: &str = "fault-session-token-a9c3";

pub const IMAGE_MARKER: &[u8] = b"FACE-BYTES-FAULT-MARKER-0f3b";

/// Short timeouts keep the suite fast; the defaults are proven end to end
/// by `compare_faces_cli_faults`.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_millis(700))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

/// The SDK's standard retry mode (three attempts), with a short initial
/// backoff: the default (up to 1 s, then up to 2 s, jittered) could use up
/// the 3 s operation timeout above before the third attempt, making the
/// attempt counts these tests assert depend on chance.
pub fn quick_retries() -> aws_smithy_types::retry::RetryConfig {
    aws_smithy_types::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(20))
}

/// A retry partition of its own for each client: the SDK shares its retry
/// token bucket across every client of a partition (by default, per
/// service) in the process, and these tests spend retries on purpose, so
/// sharing would make one test's retry count depend on the others.
pub fn own_retry_partition() -> RetryPartition {
    static N: AtomicUsize = AtomicUsize::new(0);
    RetryPartition::new(format!("fault-test-{}", N.fetch_add(1, Ordering::Relaxed)))
}

/// How the clients are set up; [`Setup::default`] is a working one.
pub struct Setup {
    /// Whether the clients trust the fault servers' throwaway CA.
    pub trust_fault_ca: bool,
    /// FIPS endpoints, which the SDK cannot combine with a custom endpoint.
    pub use_fips: bool,
    /// A credential provider that finds no credentials.
    pub no_credentials: bool,
}

/// Finds no credentials, as the default chain on a machine without any.
#[derive(Debug)]
pub struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials in the environment, profile or instance metadata",
            ),
        ))
    }
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            trust_fault_ca: true,
            use_fips: false,
            no_credentials: false,
        }
    }
}

pub fn backend(s3: &FaultServer, rekognition: &FaultServer, setup: &Setup) -> AwsBackend {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        // FIPS in a region that has FIPS endpoints (the guard refuses FIPS
        // elsewhere before the SDK resolves anything).
        .region(Region::new(if setup.use_fips {
            "us-east-1"
        } else {
            "eu-west-1"
        }))
        .use_fips(setup.use_fips)
        .credentials_provider(if setup.no_credentials {
            SharedCredentialsProvider::new(NoCredentials)
        } else {
            SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                Some(SESSION_TOKEN.into()),
                None,
                "fault-test",
            ))
        })
        .build();
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .endpoint_url(&s3.endpoint)
        .force_path_style(true)
        .retry_partition(own_retry_partition())
        .retry_config(quick_retries())
        .build();
    let rekognition = aws_sdk_rekognition::config::Builder::from(&sdk)
        .endpoint_url(&rekognition.endpoint)
        .retry_partition(own_retry_partition())
        .retry_config(quick_retries())
        .build();
    let builder = AwsBackend::builder()
        .s3_client(aws_sdk_s3::Client::from_conf(s3))
        .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition))
        .timeouts(timeouts());
    let builder = if setup.trust_fault_ca {
        builder.ca_bundle_pem(ca_pem()).trust_native_roots(false)
    } else {
        // The system's roots only, which never hold the throwaway CA.
        builder
    };
    builder.build().expect("backend")
}

pub fn live_photo() -> FaceImage {
    let mut bytes = b"\xFF\xD8\xFF\xE0".to_vec();
    bytes.extend_from_slice(IMAGE_MARKER);
    bytes.extend_from_slice(&[0x5a; 64]);
    FaceImage::from_vec(bytes).unwrap()
}

pub fn good_s3() -> Fault {
    Fault::Respond(Response::sse_kms_head(KEY, VERSION))
}

pub fn good_rekognition() -> Fault {
    Fault::Respond(Response::compare_match(99.9))
}

/// What one guarded comparison did.
pub struct Run {
    pub result: Result<rekognition_guard::Decision, Error>,
    pub s3_connections: usize,
    pub s3_requests: Vec<String>,
    pub rekognition_requests: Vec<String>,
}

/// Compares the reference photo in S3 (pinned version) with a live photo,
/// with each service played by a fault server.
pub async fn run(s3: Fault, rekognition: Fault) -> Run {
    run_with(s3, rekognition, Setup::default()).await
}

pub async fn run_with(s3: Fault, rekognition: Fault, setup: Setup) -> Run {
    support::capture::start();
    let s3 = FaultServer::start(s3).await;
    let rekognition = FaultServer::start(rekognition).await;
    let aws = backend(&s3, &rekognition, &setup);
    let guard = support::canned::uncached_guard(
        aws,
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
    );
    let reference = S3ObjectRef::parse(&format!(
        "s3://library-photos/members/ada.jpg?versionId={VERSION}"
    ))
    .unwrap();
    let result = guard.compare(reference, live_photo()).await;
    let run = Run {
        result,
        s3_connections: s3.connections(),
        s3_requests: s3.requests(),
        rekognition_requests: rekognition.requests(),
    };
    if let Err(e) = &run.result {
        for text in [format!("{e}"), format!("{e:?}")] {
            assert_no_secrets("the error", &text);
        }
    }
    assert_no_secrets("the captured logs", &support::capture::logged());
    run
}

pub fn assert_no_secrets(what: &str, text: &str) {
    support::capture::assert_clean(
        what,
        text,
        &[
            IMAGE_MARKER,
            SECRET_KEY.as_bytes(),
            SESSION_TOKEN.as_bytes(),
        ],
    );
}

/// Asserts a typed backend error of `kind` from `service`, no approval.
#[track_caller]
pub fn assert_backend_error(run: &Run, service: Service, kinds: &[BackendErrorKind]) {
    match &run.result {
        Err(Error::Backend(b)) => {
            assert_eq!(b.service(), service, "{b:?}");
            assert!(
                kinds.contains(&b.kind()),
                "expected one of {kinds:?}: {b:?}"
            );
        }
        other => panic!("expected a {service} backend error, got {other:?}"),
    }
}

/// A re-encryption of `object` under `KEY` against a canned S3 answering
/// by `script`; the requests it read.
pub async fn reencrypt_against(
    object: &str,
    remediation: rekognition_guard::inventory::Remediation,
    script: impl Fn(&support::fault_server::Request) -> Response + Send + Sync + 'static,
) -> (
    Result<rekognition_guard::inventory::Reencrypted, Error>,
    Vec<support::fault_server::Request>,
) {
    use support::fault_server::{Request, Script};

    let seen: std::sync::Arc<std::sync::Mutex<Vec<Request>>> = Default::default();
    let recorded = seen.clone();
    let script = Script(std::sync::Arc::new(move |request: &Request| {
        recorded.lock().unwrap().push(request.clone());
        script(request)
    }));
    let s3 = FaultServer::start(Fault::Script(script)).await;
    let rekognition = FaultServer::start(good_rekognition()).await;
    let store = PhotoStore::new(
        backend(&s3, &rekognition, &Setup::default()),
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
    );
    let object = S3ObjectRef::parse(object).unwrap();
    let result = store
        .reencrypt(&object, remediation, &KmsKeyArn::parse(KEY).unwrap())
        .await;
    let requests = seen.lock().unwrap().clone();
    (result, requests)
}

/// S3 answers for erasure over TLS: one version of `key` listed (or
/// `listed` keys), versioning `Enabled` with `mfa_delete`, deletions
/// answered by `delete`.
pub fn erasure_s3(
    listed: Vec<String>,
    mfa_delete: Option<&'static str>,
    delete: Response,
) -> Fault {
    use support::fault_server::{Request, Script};
    let listing = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>library-photos</Name><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>{}</ListVersionsResult>"#,
        listed
            .iter()
            .map(|k| format!("<Version><Key>{k}</Key><VersionId>{VERSION}</VersionId><IsLatest>true</IsLatest><Size>10</Size></Version>"))
            .collect::<String>()
    );
    let versioning = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status>{}</VersioningConfiguration>"#,
        mfa_delete
            .map(|m| format!("<MfaDelete>{m}</MfaDelete>"))
            .unwrap_or_default()
    );
    let xml = |body: &str| {
        Response::status(200)
            .header("content-type", "application/xml")
            .body(body.to_owned())
    };
    Fault::Script(Script(std::sync::Arc::new(move |r: &Request| {
        let query = r.target.split_once('?').map_or("", |(_, q)| q);
        match r.method.as_str() {
            "GET" if query.starts_with("versions") => xml(&listing),
            "GET" if query.starts_with("versioning") => xml(&versioning),
            "DELETE" => delete.clone(),
            // Object Lock settings: none configured.
            "GET" if query.starts_with("retention") || query.starts_with("legal-hold") => {
                Response::status(404)
                    .header("content-type", "application/xml")
                    .body("<Error><Code>NoSuchObjectLockConfiguration</Code><Message>none</Message></Error>")
            }
            // The bucket audit's other reads: denied (unverifiable).
            _ => Response::status(403)
                .header("content-type", "application/xml")
                .body("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
        }
    })))
}
